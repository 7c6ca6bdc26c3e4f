use super::*;
use crate::time::{HOUR_MS, MINUTE_MS};

fn slo(objective: f64) -> Slo {
    Slo {
        id: "checkout".into(),
        name: "Checkout".into(),
        description: None,
        selector: SloSelector::Group("checkout".into()),
        objective,
        window: SloWindow::Rolling30d,
        sli: Sli::Availability,
        exclude_maintenance: true,
        alerts: true,
        version: 1,
        created_at: 0,
        updated_at: 0,
    }
}

#[test]
fn the_json_shape_is_flat() {
    let s = slo(99.9);
    let v = serde_json::to_value(&s).unwrap();
    assert_eq!(v["group"], "checkout");
    assert_eq!(v["window"], "30d");
    assert_eq!(v["sli"]["type"], "availability");
    let back: Slo = serde_json::from_value(v).unwrap();
    assert_eq!(back, s);
}

#[test]
fn page_1h_fires_at_once_on_a_full_outage_after_a_clean_hour() {
    let s = slo(99.9);
    let mut series = SloSeries::default();
    let t0 = 1_000 * HOUR_MS;
    for m in 0..60 {
        series.add(t0 + m * MINUTE_MS, SliEvent::Good);
    }
    let now = t0 + 60 * MINUTE_MS;
    series.add(now, SliEvent::Bad);
    let v = evaluate(&s, &series, now);
    assert!(v[0].firing, "{v:?}");
    let mut state = SloAlertState::default();
    assert_eq!(state.step(&v, now, false).len(), 2);
    assert!(state.step(&v, now, false).is_empty());
}

#[test]
fn a_calendar_month_is_its_own_length() {
    // 2026-02-10T00:00:00Z
    let at = 1_770_681_600_000;
    let (start, end) = month_bounds(at);
    assert_eq!(end - start, 28 * crate::time::DAY_MS);
}

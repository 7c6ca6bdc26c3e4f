//! Tests of the SLO arithmetic with synthetic histories (plain epoch ms, no clock): the shape,
//! detection times and budget spent at detection against the Google SRE Workbook (`detection`),
//! the budget figures (`budget`), how checks count (`events`), and the buckets (`series`).

use super::*;
use crate::time::{DAY_MS, HOUR_MS, MINUTE_MS};

mod budget;
mod detection;
mod events;
mod series;

/// 2026-11-01T00:17:00Z: a minute that is not on an hour, so the oldest hour of a long window
/// is read in part.
pub(super) const T: i64 = 1_793_492_220_000;

pub(super) fn slo(objective: f64) -> Slo {
    slo_over(objective, SloWindow::Rolling30d)
}

pub(super) fn slo_over(objective: f64, window: SloWindow) -> Slo {
    Slo {
        id: "checkout".into(),
        name: "Checkout".into(),
        description: None,
        selector: SloSelector::Group("checkout".into()),
        objective,
        window,
        sli: Sli::Availability,
        exclude_maintenance: true,
        alerts: true,
        version: 1,
        created_at: 0,
        updated_at: 0,
    }
}

/// `bad` of `rate` checks failing in the minute starting at `at`.
pub(super) fn minute(series: &mut SloSeries, at: i64, rate: u64, bad: u64) {
    series.add_counts(
        at,
        SliCounts {
            good: rate - bad,
            total: rate,
            excluded: 0,
        },
    );
}

/// A clean history of `rate` checks a minute over the `minutes` minutes before `until`.
pub(super) fn clean(series: &mut SloSeries, until: i64, minutes: i64, rate: u64) {
    for m in (1..=minutes).rev() {
        minute(series, until - m * MINUTE_MS, rate, 0);
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
    assert_eq!(end - start, 28 * DAY_MS);
}

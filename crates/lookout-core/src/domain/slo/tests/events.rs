//! How a check counts: availability, latency (a failed check is not an event), and checks in a
//! maintenance window of the target (left out and counted in `excluded`, unless the SLO says
//! otherwise).

use super::*;
use crate::domain::result::{CheckResult, ErrorKind, Outcome};
use crate::domain::target::{Target, TargetKind};
use serde_json::json;

/// A target with a maintenance window from `T` for an hour.
fn target() -> Target {
    serde_json::from_value::<Target>(json!({"id":"api-1","group":"checkout","kind":"server",
        "url":"http://h/","maintenance":[{"start":"2026-11-01T00:17:00Z",
        "end":"2026-11-01T01:17:00Z"}]}))
    .unwrap()
}

fn result(ok: bool, latency_ms: u64, at: i64) -> CheckResult {
    CheckResult {
        target_id: "api-1".into(),
        kind: TargetKind::Server,
        at,
        outcome: if ok { Outcome::Up } else { Outcome::Failed },
        status_code: ok.then_some(200),
        latency_ms,
        connect_ms: None,
        ttfb_ms: None,
        cert_days_left: None,
        bytes: 0,
        attempts: 1,
        error: (!ok).then_some(ErrorKind::Connect),
        message: None,
    }
}

#[test]
fn a_latency_sli_counts_successful_checks_by_their_latency_only() {
    let s = Slo {
        sli: Sli::Latency { threshold_ms: 300 },
        ..slo(99.0)
    };
    let t = target();
    let before = T - HOUR_MS;
    assert_eq!(s.event(&t, &result(true, 300, before)), SliEvent::Good);
    assert_eq!(s.event(&t, &result(true, 301, before)), SliEvent::Bad);
    assert_eq!(s.event(&t, &result(false, 5, before)), SliEvent::NotValid);
    let mut series = SloSeries::default();
    for (ok, ms) in [(true, 100), (true, 900), (false, 10), (false, 10)] {
        series.add(before, s.event(&t, &result(ok, ms, before)));
    }
    let st = status(&s, &series, before + MINUTE_MS);
    assert_eq!((st.events, st.good, st.excluded), (2, 1, 0));
    assert_eq!(st.sli, Some(50.0));
}

#[test]
fn an_availability_sli_counts_every_check() {
    let s = slo(99.9);
    let t = target();
    assert_eq!(s.event(&t, &result(true, 9_000, T - 1)), SliEvent::Good);
    assert_eq!(s.event(&t, &result(false, 5, T - 1)), SliEvent::Bad);
}

#[test]
fn checks_in_a_maintenance_window_are_left_out_when_the_slo_says_so() {
    let t = target();
    let excluding = slo(99.9);
    let counting = Slo {
        exclude_maintenance: false,
        ..slo(99.9)
    };
    // Before the window, in it (its start inclusive), and after it.
    for (at, inside) in [
        (T - MINUTE_MS, false),
        (T, true),
        (T + 30 * MINUTE_MS, true),
        (T + HOUR_MS + MINUTE_MS, false),
    ] {
        let failed = result(false, 5, at);
        let expected = if inside {
            SliEvent::Excluded
        } else {
            SliEvent::Bad
        };
        assert_eq!(excluding.event(&t, &failed), expected, "at {at}");
        assert_eq!(counting.event(&t, &failed), SliEvent::Bad, "at {at}");
    }
    // An hour of failures inside the window, a clean hour before it.
    let mut left_out = SloSeries::default();
    let mut counted = SloSeries::default();
    for m in -60..60 {
        let r = result(m < 0, 5, T + m * MINUTE_MS);
        left_out.add(r.at, excluding.event(&t, &r));
        counted.add(r.at, counting.event(&t, &r));
    }
    let now = T + HOUR_MS;
    let st = status(&excluding, &left_out, now);
    assert_eq!(
        (st.events, st.good, st.excluded, st.budget.bad),
        (60, 60, 60, 0)
    );
    assert_eq!(st.sli, Some(100.0));
    assert!(evaluate(&excluding, &left_out, now)
        .iter()
        .all(|v| !v.firing));
    let st = status(&counting, &counted, now);
    assert_eq!(
        (st.events, st.good, st.excluded, st.budget.bad),
        (120, 60, 0, 60)
    );
    assert!(evaluate(&counting, &counted, now)[0].firing);
}

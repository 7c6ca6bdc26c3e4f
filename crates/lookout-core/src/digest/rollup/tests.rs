use super::*;
use crate::domain::{ErrorKind, Outcome};

fn result(id: &str, at: i64, ok: bool, latency: u64) -> CheckResult {
    CheckResult {
        target_id: id.into(),
        kind: TargetKind::Server,
        at,
        outcome: if ok { Outcome::Up } else { Outcome::Failed },
        status_code: ok.then_some(200),
        latency_ms: latency,
        connect_ms: None,
        ttfb_ms: None,
        cert_days_left: None,
        bytes: 100,
        attempts: 1,
        error: (!ok).then_some(ErrorKind::Timeout),
        message: None,
    }
}

#[test]
fn an_hour_rolls_up_counts_latency_percentiles_and_flips() {
    let h = 10 * HOUR_MS;
    // 20 checks a minute apart, latency 1..=20 ms, checks 5 and 6 failed.
    let rs: Vec<CheckResult> = (0..20)
        .map(|i| result("a", h + i * 60_000, !(i == 5 || i == 6), i as u64 + 1))
        .chain([result("a", h + HOUR_MS, true, 999), result("b", h, true, 7)])
        .collect();
    let refs: Vec<&CheckResult> = rs.iter().rev().collect();
    let r = Rollup::of_hour("a", TargetKind::Server, h, &refs);
    assert_eq!((r.checks, r.failures, r.flips, r.bytes), (20, 2, 2, 2000));
    assert_eq!(r.errors.get("timeout"), Some(&2));
    let l = r.latency.unwrap();
    // The 18 successful latencies are 1..=5 and 8..=20.
    assert_eq!((l.min, l.max), (1, 20));
    assert_eq!(l.p50, 11, "nearest rank 9 of 18");
    assert_eq!(l.p95, 20, "nearest rank 18 of 18");
    assert!((l.mean - (210.0 - 13.0) / 18.0).abs() < 1e-9);
    assert_eq!(r.uptime_percent(), Some(90.0));
    // Same results in another order: the same rollup.
    let again: Vec<&CheckResult> = rs.iter().collect();
    assert_eq!(Rollup::of_hour("a", TargetKind::Server, h, &again), r);
}

#[test]
fn a_day_rollup_reaching_past_the_window_end_is_not_counted_whole() {
    let now = 400 * DAY_MS + 2 * HOUR_MS;
    let hour = Rollup {
        checks: 60,
        failures: 6,
        ..Rollup::empty(
            "a",
            TargetKind::Server,
            Period::Hour,
            400 * DAY_MS + HOUR_MS,
        )
    };
    // A day rollup of today (the day in progress): its hours count, not the whole day.
    let today = Rollup {
        checks: 1440,
        failures: 1440,
        ..Rollup::empty("a", TargetKind::Server, Period::Day, 400 * DAY_MS)
    };
    let u = uptime(now, &[hour], &[today]);
    assert!(u.iter().all(|w| (w.checks, w.failures) == (60, 6)), "{u:?}");
}

#[test]
fn overall_takes_the_typical_targets_percentiles() {
    let mk = |id: &str, p95| Rollup {
        latency: Some(Latency {
            min: 1,
            mean: 10.0,
            p50: p95 / 2,
            p95,
            max: p95,
        }),
        checks: 60,
        failures: 1,
        ..Rollup::empty(id, TargetKind::Server, Period::Hour, 0)
    };
    let all = overall(
        TargetKind::Server,
        0,
        &[mk("a", 100), mk("b", 120), mk("c", 9000)],
    );
    assert_eq!(
        (all.target_id.as_str(), all.checks, all.failures),
        ("*", 180, 3)
    );
    let l = all.latency.unwrap();
    assert_eq!((l.p95, l.p50, l.max), (120, 60, 9000));
}

#[test]
fn nearest_rank_matches_the_definition() {
    let v: Vec<u64> = (1..=100).collect();
    assert_eq!(nearest_rank(&v, 95.0), 95);
    assert_eq!(nearest_rank(&v, 50.0), 50);
    assert_eq!(nearest_rank(&[7], 95.0), 7);
    assert_eq!(nearest_rank(&[1, 2, 3], 100.0), 3);
}

#[test]
fn a_target_without_results_gets_an_empty_rollup() {
    let out = roll_up_hour(&[("a".into(), TargetKind::Server)], 0, &[]);
    assert_eq!(out[0].checks, 0);
    assert_eq!(out[0].uptime_percent(), None);
}

#[test]
fn merge_adds_counts_and_bounds_percentiles() {
    let mk = |checks, failures, p50, p95| Rollup {
        latency: Some(Latency {
            min: p50 / 2,
            mean: p50 as f64,
            p50,
            p95,
            max: p95 * 2,
        }),
        checks,
        failures,
        ..Rollup::empty("a", TargetKind::Server, Period::Hour, 0)
    };
    let (a, b) = (mk(60, 0, 10, 20), mk(60, 30, 100, 300));
    let d = Rollup::merge("a", TargetKind::Server, Period::Day, 0, &[&a, &b]);
    assert_eq!((d.checks, d.failures), (120, 30));
    let l = d.latency.unwrap();
    assert_eq!((l.min, l.p95, l.max), (5, 300, 600));
    assert!((l.mean - (10.0 * 60.0 + 100.0 * 30.0) / 90.0).abs() < 1e-9);
    assert_eq!(l.p50, 10, "60 of 90 successes have p50 10");
}

#[test]
fn uptime_uses_day_rollups_where_they_exist_and_hours_elsewhere() {
    let now = 400 * DAY_MS + 2 * HOUR_MS;
    let hour = |start, checks, failures| Rollup {
        checks,
        failures,
        ..Rollup::empty("a", TargetKind::Server, Period::Hour, start)
    };
    // An hour of yesterday (whose day rollup exists), an hour of today, and the day rollups
    // of yesterday and of 100 days ago.
    let hours = vec![
        hour(399 * DAY_MS + 5 * HOUR_MS, 60, 60),
        hour(400 * DAY_MS + HOUR_MS, 60, 6),
    ];
    let days = vec![
        Rollup {
            period: Period::Day,
            ..hour(399 * DAY_MS, 1440, 0)
        },
        Rollup {
            period: Period::Day,
            ..hour(300 * DAY_MS, 1440, 144)
        },
    ];
    let u = uptime(now, &hours, &days);
    let by: BTreeMap<&str, &Uptime> = u.iter().map(|u| (u.window.as_str(), u)).collect();
    // 24 h: yesterday is not whole inside the window, so its hour counts.
    assert_eq!((by["24h"].checks, by["24h"].failures), (120, 66));
    assert_eq!(by["24h"].uptime_percent, Some(54.0 * 100.0 / 120.0));
    // 30 d: yesterday's day rollup counts instead of its hour.
    assert_eq!((by["30d"].checks, by["30d"].failures), (1500, 6));
    assert_eq!((by["365d"].checks, by["365d"].failures), (2940, 150));
    assert_eq!(uptime(now, &[], &[])[0].uptime_percent, None);
}

//! Flap detection on synthetic sequences: starts, holds, stops; no alert per change while it
//! flaps; a real outage after flapping still alerts; off per target.

use super::flap::{percent_state_change, FLAP_HIGH_PERCENT, FLAP_LOW_PERCENT};
use super::*;
use crate::domain::alert::{Alert, AlertKind};
use crate::domain::result::{CheckResult, ErrorKind, Outcome};
use crate::domain::target::{Target, TargetKind};
use serde_json::json;

fn server(flap_detection: bool) -> Target {
    serde_json::from_value::<Target>(json!({"id":"s","group":"g","kind":"server",
        "url":"http://h/","failure_threshold":1,"flap_detection":flap_detection}))
    .unwrap()
}

fn check(up: bool, at: i64) -> CheckResult {
    CheckResult {
        target_id: "s".into(),
        kind: TargetKind::Server,
        at,
        outcome: if up { Outcome::Up } else { Outcome::Failed },
        status_code: up.then_some(200),
        latency_ms: 10,
        connect_ms: None,
        ttfb_ms: None,
        cert_days_left: None,
        bytes: 100,
        attempts: 1,
        error: (!up).then_some(ErrorKind::Connect),
        message: None,
    }
}

/// Applies `ups` one a minute from `s`; the state and the alerts of each check.
fn feed(t: &Target, s: &mut TargetState, ups: &[bool]) -> Vec<Vec<Alert>> {
    ups.iter()
        .map(|&up| {
            let at = s.last_check.map_or(0, |l| l + 60_000);
            let (next, alerts) = next_state(s, &check(up, at), t);
            *s = next;
            alerts
        })
        .collect()
}

/// `n` checks alternating, starting with a failure.
fn alternating(n: usize) -> Vec<bool> {
    (0..n).map(|i| i % 2 == 1).collect()
}

fn kinds(alerts: &[Alert]) -> Vec<AlertKind> {
    alerts.iter().map(|a| a.kind).collect()
}

#[test]
fn the_percent_state_change_weighs_the_newest_change_most() {
    assert_eq!(percent_state_change(0), 0.0);
    assert!((percent_state_change((1 << 20) - 1) - 100.0).abs() < 1e-9);
    assert!(
        (percent_state_change(1) - 6.25).abs() < 1e-9,
        "newest: 1.25 / 20"
    );
    assert!(
        (percent_state_change(1 << 19) - 3.75).abs() < 1e-9,
        "oldest: 0.75 / 20"
    );
    // Eight changes in a row just now stay under the high threshold; nine reach it.
    assert!(percent_state_change(0xff) < FLAP_HIGH_PERCENT);
    assert!(percent_state_change(0x1ff) >= FLAP_HIGH_PERCENT);
    const { assert!(FLAP_LOW_PERCENT < FLAP_HIGH_PERCENT) };
}

#[test]
fn a_target_that_keeps_flipping_alerts_once_when_it_starts_flapping_and_then_holds() {
    let t = server(true);
    let mut s = TargetState::new("s");
    // Healthy first (no alert: first verdict), then alternating.
    feed(&t, &mut s, &[true]);
    let alerts = feed(&t, &mut s, &alternating(40));
    // Each of the first eight changes alerts as usual.
    for (i, a) in alerts.iter().take(8).enumerate() {
        assert_eq!(a.len(), 1, "change {i}: {a:?}");
        assert!(a[0].is_transition());
    }
    // The ninth starts flapping: one alert, and the status stays what it was.
    assert_eq!(kinds(&alerts[8]), vec![AlertKind::Flapping]);
    let held = if alerts[7][0].new_status == Status::Down {
        Status::Down
    } else {
        Status::Healthy
    };
    assert_eq!(alerts[8][0].new_status, held);
    // Then nothing, for the 31 changes after it.
    assert!(alerts[9..].iter().all(Vec::is_empty), "{:?}", &alerts[9..]);
    assert!(s.flapping);
    assert_eq!(s.status, held);
    assert_eq!(s.checks, 41, "checks are counted as usual");
}

#[test]
fn a_flapping_target_that_settles_up_stops_flapping_with_one_alert() {
    let t = server(true);
    let mut s = TargetState::new("s");
    feed(&t, &mut s, &[true]);
    feed(&t, &mut s, &alternating(30));
    assert!(s.flapping);
    let held = s.status;
    let alerts = feed(&t, &mut s, &[true; 21]);
    let fired: Vec<(usize, AlertKind)> = alerts
        .iter()
        .enumerate()
        .flat_map(|(i, a)| a.iter().map(move |a| (i, a.kind)))
        .collect();
    let stopped_at = fired[0].0;
    assert_eq!(fired[0].1, AlertKind::FlappingStopped);
    if held == Status::Down {
        // Held down, the checks agree on up: it stops at the third success in a row.
        assert_eq!(stopped_at, 2, "{fired:?}");
    } else {
        // Held up and the checks agree: nothing is hidden, so it stops once the weighted
        // changes fall below the low threshold, some checks later.
        assert!(stopped_at > 5, "{fired:?}");
    }
    let expected: Vec<AlertKind> = if held == Status::Down {
        vec![AlertKind::FlappingStopped, AlertKind::Recovery]
    } else {
        vec![AlertKind::FlappingStopped]
    };
    assert_eq!(kinds(&alerts[stopped_at]), expected);
    assert_eq!(fired.len(), expected.len(), "{fired:?}");
    assert!(!s.flapping);
    assert_eq!(s.status, Status::Healthy);
}

#[test]
fn a_real_outage_after_flapping_still_alerts() {
    let t = server(true);
    let mut s = TargetState::new("s");
    feed(&t, &mut s, &[true]);
    feed(&t, &mut s, &alternating(29));
    // Ends on a success: held status is whatever it was; now it fails for good.
    assert!(s.flapping);
    let held = s.status;
    let per_check = feed(&t, &mut s, &[false; 30]);
    assert_eq!(s.status, Status::Down);
    assert!(!s.flapping);
    // It shows within three failures in a row (FLAP_SETTLE_CHECKS), not after the change
    // rate has decayed (about 15 checks), and it does not start flapping again.
    let first = per_check.iter().position(|a| !a.is_empty()).unwrap();
    if held != Status::Down {
        // The alternation ended on a failure: that one and the next two are three in a row.
        assert_eq!(first, 1, "{per_check:?}");
        assert!(per_check[first][0].text.contains("its last checks agree"));
    }
    assert!(
        per_check[first + 1..].iter().all(|a| a.is_empty()),
        "{per_check:?}"
    );
    let alerts: Vec<Alert> = per_check.into_iter().flatten().collect();
    let k = kinds(&alerts);
    assert_eq!(k[0], AlertKind::FlappingStopped, "{k:?}");
    if alerts[0].new_status != Status::Down || k.len() > 1 {
        assert_eq!(
            k,
            vec![AlertKind::FlappingStopped, AlertKind::StatusChange],
            "the outage's own alert"
        );
        assert_eq!(alerts[1].new_status, Status::Down);
    }
}

#[test]
fn a_flapping_target_held_up_goes_down_after_its_failure_threshold_when_larger() {
    let t: Target = serde_json::from_value(json!({"id":"s","group":"g","kind":"server",
        "url":"http://h/","failure_threshold":5}))
    .unwrap();
    let mut s = TargetState::new("s");
    feed(&t, &mut s, &[true]);
    // Failing twice, then up: never down at threshold 5, so held up while it flaps.
    for _ in 0..8 {
        feed(&t, &mut s, &[false, false, true]);
    }
    assert!(s.flapping, "{s:?}");
    assert_eq!(s.status, Status::Healthy);
    let per_check = feed(&t, &mut s, &[false; 8]);
    let first = per_check.iter().position(|a| !a.is_empty()).unwrap();
    assert_eq!(
        first, 4,
        "down at the fifth failure in a row: {per_check:?}"
    );
    assert_eq!(
        kinds(&per_check[first]),
        vec![AlertKind::FlappingStopped, AlertKind::StatusChange]
    );
    assert_eq!(s.status, Status::Down);
}

#[test]
fn a_few_flips_alert_every_time() {
    let t = server(true);
    let mut s = TargetState::new("s");
    feed(&t, &mut s, &[true]);
    let alerts = feed(
        &t,
        &mut s,
        &[false, true, false, true, false, true, true, true],
    );
    let transitions = alerts
        .iter()
        .flatten()
        .filter(|a| a.is_transition())
        .count();
    assert_eq!(transitions, 6);
    assert!(!s.flapping);
}

#[test]
fn with_flap_detection_off_every_change_alerts() {
    let t = server(false);
    let mut s = TargetState::new("s");
    feed(&t, &mut s, &[true]);
    let alerts = feed(&t, &mut s, &alternating(40));
    assert!(alerts.iter().all(|a| a.len() == 1 && a[0].is_transition()));
    assert!(!s.flapping);
    // The definition keeps the default out of its JSON.
    let on = serde_json::to_value(server(true)).unwrap();
    assert!(on.get("flap_detection").is_none());
    let off = serde_json::to_value(server(false)).unwrap();
    assert_eq!(off["flap_detection"], json!(false));
}

#[test]
fn replaying_a_flapping_targets_results_gives_the_state_it_had() {
    let t = server(true);
    let mut s = TargetState::new("s");
    feed(&t, &mut s, &[true]);
    feed(&t, &mut s, &alternating(12));
    assert!(s.flapping);
    let snapshot = s.clone();
    let results: Vec<CheckResult> = alternating(6)
        .iter()
        .enumerate()
        .map(|(i, &up)| check(up, snapshot.last_check.unwrap() + (i as i64 + 1) * 60_000))
        .collect();
    let mut live = snapshot.clone();
    for r in &results {
        let (next, alerts) = next_state(&live, r, &t);
        assert!(alerts.is_empty(), "held while flapping");
        live = next;
    }
    assert_eq!(catch_up(&snapshot, &results, &t), live);
}

#[test]
fn a_replayed_start_of_flapping_is_left_to_the_next_live_check() {
    let t = server(true);
    let mut s = TargetState::new("s");
    feed(&t, &mut s, &[true]);
    feed(&t, &mut s, &alternating(8));
    assert!(!s.flapping);
    let at = s.last_check.unwrap() + 60_000;
    // The opposite of the last check: the ninth change.
    let replayed = catch_up(&s, &[check(s.flap_last == Some(Status::Down), at)], &t);
    assert!(!replayed.flapping, "its alert was not sent: not marked");
    let again = check(replayed.flap_last == Some(Status::Down), at + 60_000);
    let (next, alerts) = next_state(&replayed, &again, &t);
    assert!(next.flapping);
    assert_eq!(kinds(&alerts), vec![AlertKind::Flapping]);
}

//! Tests of the location verdicts and the quorum.

use super::*;
use crate::domain::result::{ErrorKind, Outcome};
use crate::domain::target::TargetKind;
use serde_json::json;

fn target(threshold: u32) -> Target {
    serde_json::from_value::<Target>(json!({"id":"s","group":"g","kind":"server",
        "url":"http://h/","failure_threshold":threshold}))
    .unwrap()
}

fn result(ok: bool, at: i64) -> CheckResult {
    CheckResult {
        target_id: "s".into(),
        kind: TargetKind::Server,
        at,
        outcome: if ok { Outcome::Up } else { Outcome::Failed },
        status_code: ok.then_some(200),
        latency_ms: 42,
        connect_ms: None,
        ttfb_ms: None,
        cert_days_left: None,
        bytes: 0,
        attempts: 1,
        error: (!ok).then_some(ErrorKind::Connect),
        message: (!ok).then(|| "connection refused".to_string()),
    }
}

fn verdict(location: &str, status: Status, at: i64) -> LocationVerdict {
    LocationVerdict {
        target_id: "s".into(),
        location: location.into(),
        status,
        since: 0,
        at,
        latency_ms: Some(10),
        error: None,
        consecutive_failures: 0,
        consecutive_successes: 0,
    }
}

#[test]
fn a_location_goes_down_after_its_own_failure_threshold() {
    let t = target(2);
    let v1 = LocationVerdict::observe(None, "eu-west-1", &result(true, 1_000), &t);
    assert_eq!((v1.status, v1.since), (Status::Healthy, 1_000));
    let v2 = LocationVerdict::observe(Some(&v1), "eu-west-1", &result(false, 2_000), &t);
    assert_eq!(v2.status, Status::Healthy, "one failure of two needed");
    assert_eq!(v2.error.as_deref(), Some("connection refused"));
    let v3 = LocationVerdict::observe(Some(&v2), "eu-west-1", &result(false, 3_000), &t);
    assert_eq!((v3.status, v3.since, v3.at), (Status::Down, 3_000, 3_000));
    let v4 = LocationVerdict::observe(Some(&v3), "eu-west-1", &result(true, 4_000), &t);
    assert_eq!(
        (v4.status, v4.since, v4.error),
        (Status::Healthy, 4_000, None)
    );
}

#[test]
fn half_of_the_reporting_locations_make_it_down_by_default() {
    let now = 100_000;
    let one = [
        verdict("a", Status::Down, now),
        verdict("b", Status::Healthy, now),
        verdict("c", Status::Healthy, now),
    ];
    let d = decide(&one, now, 60_000, Quorum::default());
    assert_eq!((d.status, d.needed), (Status::Healthy, 2));
    let two = [
        verdict("a", Status::Down, now),
        verdict("b", Status::Down, now),
        verdict("c", Status::Healthy, now),
    ];
    let d = decide(&two, now, 60_000, Quorum::default());
    assert_eq!(d.status, Status::Down);
    assert_eq!(d.failing, vec!["a", "b"]);
    assert_eq!(
        d.split().describe(d.status),
        "down from 2 of 3 locations (a, b); c sees it healthy"
    );
}

#[test]
fn a_stale_location_leaves_the_quorum() {
    let now = 1_000_000;
    let v = [
        verdict("a", Status::Down, now - 600_000),
        verdict("b", Status::Healthy, now),
        verdict("c", Status::Healthy, now),
    ];
    let d = decide(&v, now, 180_000, Quorum::Count(1));
    assert_eq!(d.status, Status::Healthy);
    assert_eq!(d.stale, vec!["a"]);
    assert_eq!(d.reporting(), 2);
    assert!(decide(&[], now, 1, Quorum::default()).status == Status::Unknown);
}

#[test]
fn quorum_counts_and_shares() {
    assert_eq!(Quorum::Count(3).needed(2), 2, "capped at those reporting");
    assert_eq!(Quorum::Count(0).needed(3), 1);
    assert_eq!(Quorum::Share(0.5).needed(3), 2);
    assert_eq!(Quorum::Share(0.5).needed(4), 2);
    assert_eq!(Quorum::Share(0.82).needed(15), 13);
    assert_eq!(Quorum::Share(1.0).needed(3), 3);
    assert_eq!(Quorum::default().needed(0), 0);
    let q: Quorum = serde_json::from_value(json!({"count": 2})).unwrap();
    assert_eq!(q, Quorum::Count(2));
    let q: Quorum = serde_json::from_value(json!({"share": 0.25})).unwrap();
    assert_eq!(q, Quorum::Share(0.25));
}

#[test]
fn blocked_and_degraded_follow_the_majority_of_their_side() {
    let now = 10;
    let v = [
        verdict("a", Status::Blocked, now),
        verdict("b", Status::Blocked, now),
        verdict("c", Status::Down, now),
    ];
    assert_eq!(
        decide(&v, now, 5, Quorum::default()).status,
        Status::Blocked
    );
    let v = [
        verdict("a", Status::Degraded, now),
        verdict("b", Status::Degraded, now),
        verdict("c", Status::Healthy, now),
    ];
    assert_eq!(
        decide(&v, now, 5, Quorum::default()).status,
        Status::Degraded
    );
}

#[test]
fn the_decided_status_drives_the_state_and_its_alert_names_the_locations() {
    let t = target(1);
    let state = crate::domain::state::TargetState::new("s");
    let (healthy, _) = crate::domain::next_state(&state, &result(true, 1_000), &t);
    let now = 2_000;
    let v = [
        verdict("eu-west-1", Status::Down, now),
        verdict("us-east-1", Status::Down, now),
        verdict("ap-south-1", Status::Healthy, now),
    ];
    let d = decide(&v, now, 60_000, Quorum::default());
    // The home location's own result was a success, yet two of three see it down.
    let (next, alerts) =
        crate::domain::state::next_state_decided(&healthy, &result(true, now), &t, &d);
    assert_eq!(next.status, Status::Down);
    assert_eq!(alerts.len(), 1);
    assert!(alerts[0]
        .text
        .contains("down from 2 of 3 locations (eu-west-1, us-east-1); ap-south-1 sees it healthy"));
    assert_eq!(
        alerts[0].locations.as_ref().unwrap().passing,
        vec!["ap-south-1"]
    );
    // Unknown keeps the status and raises nothing.
    let none = decide(&[], now, 1, Quorum::default());
    let (kept, alerts) =
        crate::domain::state::next_state_decided(&next, &result(false, 3_000), &t, &none);
    assert_eq!(kept.status, Status::Down);
    assert!(alerts.is_empty());
}

#[test]
fn locations_and_quorum_are_validated_with_their_field() {
    let base = json!({"id":"s","group":"g","kind":"server","url":"http://h/"});
    let with = |k: &str, v: serde_json::Value| {
        let mut b = base.clone();
        b[k] = v;
        Target::from_json(b)
    };
    assert!(with("locations", json!(["eu-west-1", "us-east-1"])).is_ok());
    assert_eq!(with("locations", json!([])).unwrap_err().field, "locations");
    assert_eq!(
        with("locations", json!(["eu-west-1", "EU"]))
            .unwrap_err()
            .field,
        "locations[1]"
    );
    assert_eq!(
        with("locations", json!(["a", "a"])).unwrap_err().field,
        "locations[1]"
    );
    assert_eq!(
        with("quorum", json!({"count": 0})).unwrap_err().field,
        "quorum.count"
    );
    assert_eq!(
        with("quorum", json!({"share": 1.5})).unwrap_err().field,
        "quorum.share"
    );
    let t = with("quorum", json!({"count": 2})).unwrap();
    assert_eq!(t.quorum(), Quorum::Count(2));
    assert!(t.probed_from("anywhere"));
    let t = with("locations", json!(["eu-west-1"])).unwrap();
    assert!(t.probed_from("eu-west-1") && !t.probed_from("us-east-1"));
}

//! Tests of the status state machine.

use super::*;
use crate::domain::alert::{Alert, AlertKind, Severity};
use crate::domain::result::{CheckResult, ErrorKind, Outcome};
use crate::domain::target::Target;
use crate::domain::target::TargetKind;
use serde_json::json;

fn server(threshold: u32, recovery: u32) -> Target {
    serde_json::from_value::<Target>(json!({"id":"s","group":"g","kind":"server",
        "url":"http://h/","failure_threshold":threshold,"recovery_threshold":recovery}))
    .unwrap()
}

fn result(outcome: Outcome, at: i64, latency_ms: u64) -> CheckResult {
    CheckResult {
        target_id: "s".into(),
        kind: TargetKind::Server,
        at,
        outcome,
        status_code: Some(200),
        latency_ms,
        connect_ms: None,
        ttfb_ms: None,
        cert_days_left: None,
        bytes: 100,
        attempts: 1,
        error: (outcome == Outcome::Failed).then_some(ErrorKind::Connect),
        message: None,
    }
}

fn run(t: &Target, outcomes: &[Outcome]) -> (TargetState, Vec<Alert>) {
    let mut s = TargetState::new("s");
    let mut all = Vec::new();
    for (i, o) in outcomes.iter().enumerate() {
        let (n, a) = next_state(&s, &result(*o, i as i64 * 1000, 10), t);
        s = n;
        all.extend(a);
    }
    (s, all)
}

#[test]
fn a_target_goes_down_exactly_at_the_failure_threshold_with_one_critical_alert() {
    let t = server(3, 1);
    let (s, alerts) = run(&t, &[Outcome::Up, Outcome::Failed, Outcome::Failed]);
    assert_eq!((s.status, alerts.len()), (Status::Healthy, 0));
    let (s, alerts) = run(
        &t,
        &[
            Outcome::Up,
            Outcome::Failed,
            Outcome::Failed,
            Outcome::Failed,
            Outcome::Failed,
        ],
    );
    assert_eq!(s.status, Status::Down);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].severity, Severity::Critical);
    assert_eq!(
        (alerts[0].old_status, alerts[0].new_status),
        (Status::Healthy, Status::Down)
    );
    assert_eq!(alerts[0].key, "s#down#3000");
}

#[test]
fn a_proxy_refusing_the_credentials_is_down_at_once_and_leaves_the_failover_order() {
    let t = server(3, 1);
    let (healthy, _) = run(&t, &[Outcome::Up]);
    let mut refused = result(Outcome::Failed, 5_000, 3);
    refused.error = Some(ErrorKind::ProxyAuth);
    let (s, alerts) = next_state(&healthy, &refused, &t);
    assert_eq!(
        s.status,
        Status::Down,
        "no failure_threshold for proxy_auth"
    );
    assert!(!s.status.eligible());
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let mut flake = refused.clone();
    flake.error = Some(ErrorKind::Proxy);
    assert_eq!(next_state(&healthy, &flake, &t).0.status, Status::Healthy);
}

#[test]
fn leaving_down_needs_the_recovery_threshold_and_raises_a_recovery_alert() {
    let t = server(1, 2);
    let (s, _) = run(&t, &[Outcome::Failed, Outcome::Up]);
    assert_eq!(s.status, Status::Down);
    let (s, alerts) = run(&t, &[Outcome::Failed, Outcome::Up, Outcome::Up]);
    assert_eq!(s.status, Status::Healthy);
    assert_eq!(alerts.last().unwrap().kind, AlertKind::Recovery);
    assert_eq!(alerts.len(), 2);
}

#[test]
fn slow_answers_degrade_and_block_statuses_block_at_once() {
    let t = server(3, 1);
    let (s, _) = next_state(&TargetState::new("s"), &result(Outcome::Up, 0, 5_000), &t);
    assert_eq!(s.status, Status::Degraded);
    let (s, alerts) = next_state(&s, &result(Outcome::Blocked, 1, 5), &t);
    assert_eq!(
        (s.status, alerts[0].severity),
        (Status::Blocked, Severity::Warning)
    );
}

#[test]
fn the_first_healthy_verdict_is_silent_but_counted() {
    let (s, alerts) = run(&server(3, 1), &[Outcome::Up, Outcome::Up]);
    assert_eq!((s.status, s.checks, s.failures), (Status::Healthy, 2, 0));
    assert!(alerts.is_empty());
    assert_eq!(s.uptime_percent(), Some(100.0));
}

#[test]
fn proxy_traffic_accumulates_cost_per_gb() {
    let t = serde_json::from_value::<Target>(json!({"id":"p","group":"g","kind":"proxy",
        "proxy_url":"http://h:1","cost_per_gb":4.0,"test_urls":["http://x/"]}))
    .unwrap();
    let mut r = result(Outcome::Up, 0, 10);
    r.bytes = 500_000_000;
    let (s, _) = next_state(&TargetState::new("p"), &r, &t);
    let (s, _) = next_state(&s, &r, &t);
    assert_eq!(s.traffic_bytes, 1_000_000_000);
    assert!((s.cost - 4.0).abs() < 1e-9);
    // The first check of the next day keeps the day before for the daily report.
    let mut next_day = r.clone();
    next_day.at = DAY_MS + 5;
    let (s, _) = next_state(&s, &next_day, &t);
    assert_eq!(s.traffic_of_day(0), (1_000_000_000, 4.0));
    assert_eq!(s.traffic_of_day(DAY_MS), (500_000_000, 2.0));
    assert_eq!(s.traffic_of_day(2 * DAY_MS), (0, 0.0));
}

#[test]
fn a_down_target_gets_a_reminder_every_period_and_only_then() {
    let t = serde_json::from_value::<Target>(json!({"id":"s","group":"g","kind":"server",
        "url":"http://h/","failure_threshold":1,"reminder_every_min":10}))
    .unwrap();
    let mut s = TargetState::new("s");
    let mut reminders = Vec::new();
    // One failed check a minute for 35 minutes.
    for minute in 0..=35 {
        let (n, a) = next_state(&s, &result(Outcome::Failed, minute * 60_000, 10), &t);
        s = n;
        reminders.extend(a.into_iter().filter(|a| a.kind == AlertKind::Reminder));
    }
    let at: Vec<i64> = reminders.iter().map(|a| a.at / 60_000).collect();
    assert_eq!(at, vec![10, 20, 30]);
    assert!(reminders.iter().all(|a| a.severity == Severity::Critical));
    assert_ne!(reminders[0].key, reminders[1].key);
}

#[test]
fn an_expiring_certificate_alerts_once_per_certificate() {
    let t = server(3, 1);
    let mut r = result(Outcome::Degraded, 0, 10);
    r.cert_days_left = Some(5);
    let (s, a) = next_state(&TargetState::new("s"), &r, &t);
    let cert: Vec<_> = a
        .iter()
        .filter(|a| a.kind == AlertKind::CertExpiring)
        .collect();
    assert_eq!(cert.len(), 1);
    assert!(
        cert[0].text.contains("expires in 5 day"),
        "{}",
        cert[0].text
    );
    // The same certificate (notAfter 5.6 days out) checked every hour until it expires:
    // whole days left flip at midnight and at its time of day, the alert stays one.
    let not_after = 5 * DAY_MS + 14 * 3_600_000;
    let mut s = s;
    for hour in 1..(5 * 24 + 14) {
        let at = hour * 3_600_000;
        r.at = at;
        r.cert_days_left = Some((not_after - at).div_euclid(DAY_MS));
        let (n, a) = next_state(&s, &r, &t);
        assert!(
            a.iter().all(|a| a.kind != AlertKind::CertExpiring),
            "hour {hour}"
        );
        s = n;
    }
    // Renewed for 90 days: no warning; later it nears expiry again and alerts again.
    r.at = 6 * DAY_MS;
    r.cert_days_left = Some(90);
    let (s, a) = next_state(&s, &r, &t);
    assert!(a.iter().all(|a| a.kind != AlertKind::CertExpiring));
    r.at = 86 * DAY_MS;
    r.cert_days_left = Some(10);
    let (_, a) = next_state(&s, &r, &t);
    assert_eq!(
        a.iter()
            .filter(|a| a.kind == AlertKind::CertExpiring)
            .count(),
        1
    );
}

#[test]
fn proxy_traffic_over_the_daily_limit_alerts_once_a_day() {
    let t = serde_json::from_value::<Target>(json!({"id":"p","group":"g","kind":"proxy",
        "proxy_url":"http://h:1","cost_per_gb":8.0,"traffic_alert_gb":1.0,
        "test_urls":["http://x/"]}))
    .unwrap();
    let mut s = TargetState::new("p");
    let mut alerts = Vec::new();
    // 0.4 GB every 6 hours for two days: 1.6 GB a day.
    for i in 0..8 {
        let mut r = result(Outcome::Up, i * DAY_MS / 4, 10);
        r.bytes = 400_000_000;
        let (n, a) = next_state(&s, &r, &t);
        s = n;
        alerts.extend(a.into_iter().filter(|a| a.kind == AlertKind::Traffic));
    }
    assert_eq!(alerts.len(), 2, "one per day");
    assert_eq!(alerts[0].at, 2 * DAY_MS / 4, "the check that crossed 1 GB");
    assert_eq!(s.day_traffic_bytes, 1_600_000_000);
    assert!((s.day_cost - 12.8).abs() < 1e-9 && (s.cost - 25.6).abs() < 1e-9);
}

#[test]
fn overrides_force_a_status_with_an_alert_or_reset_the_counters() {
    let t = server(3, 1);
    let (s, _) = run(&t, &[Outcome::Up, Outcome::Failed]);
    let (down, a) = apply_override(&s, Override::MarkDown, 5_000, &t);
    assert_eq!((down.status, a.len()), (Status::Down, 1));
    assert!(
        a[0].text.contains("marked down by an operator"),
        "{}",
        a[0].text
    );
    let (up, a) = apply_override(&down, Override::MarkHealthy, 6_000, &t);
    assert_eq!(
        (up.status, a[0].kind),
        (Status::Healthy, AlertKind::Recovery)
    );
    let (same, a) = apply_override(&up, Override::MarkHealthy, 7_000, &t);
    assert!(a.is_empty() && same.status == Status::Healthy);
    let (reset, a) = apply_override(&up, Override::ResetStats, 8_000, &t);
    assert!(a.is_empty());
    assert_eq!(
        (reset.checks, reset.failures, reset.status),
        (0, 0, Status::Healthy)
    );
}

#[test]
fn a_replayed_result_that_would_change_the_status_keeps_it_and_counts() {
    // A snapshot of a healthy target, then a failure that a lower threshold (the definition
    // changed since) would turn into `down`: the replay keeps `healthy` and its alert
    // bookkeeping; the next live check makes the change and raises the alert.
    let t = server(1, 1);
    let (healthy, _) = run(&t, &[Outcome::Up]);
    let failure = result(Outcome::Failed, 60_000, 10);
    let caught = catch_up(&healthy, std::slice::from_ref(&failure), &t);
    assert_eq!(caught.status, Status::Healthy);
    assert_eq!(caught.status_since, healthy.status_since);
    assert_eq!(caught.last_alert_at, healthy.last_alert_at);
    assert_eq!(
        (caught.checks, caught.failures, caught.consecutive_failures),
        (2, 1, 1)
    );
    assert_eq!(caught.last_check, Some(60_000));
    let (live, alerts) = next_state(&caught, &result(Outcome::Failed, 120_000, 10), &t);
    assert_eq!((live.status, alerts.len()), (Status::Down, 1));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn outcome() -> impl Strategy<Value = Outcome> {
        prop_oneof![
            Just(Outcome::Up),
            Just(Outcome::Slow),
            Just(Outcome::Degraded),
            Just(Outcome::Failed),
            Just(Outcome::Blocked),
        ]
    }

    fn replay(t: &Target, outcomes: &[Outcome]) -> Vec<(TargetState, Vec<Alert>)> {
        let mut s = TargetState::new("s");
        let mut out = Vec::new();
        for (i, o) in outcomes.iter().enumerate() {
            let (n, a) = next_state(&s, &result(*o, i as i64 * 60_000, 10), t);
            out.push((n.clone(), a));
            s = n;
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// `down` only after `failure_threshold` failures in a row; leaving `down` only after
        /// `recovery_threshold` successes in a row; counters never decrease; the same results
        /// give the same states and alerts; exactly one transition alert per status change
        /// (except a new target's first good verdict).
        #[test]
        fn the_state_machine_keeps_its_promises(
            failure in 1u32..6,
            recovery in 1u32..4,
            outcomes in proptest::collection::vec(outcome(), 1..60),
        ) {
            let t = server(failure, recovery);
            let steps = replay(&t, &outcomes);
            prop_assert_eq!(&steps, &replay(&t, &outcomes), "deterministic");
            let mut prev = TargetState::new("s");
            let (mut fails, mut oks) = (0u32, 0u32);
            for (i, (s, alerts)) in steps.iter().enumerate() {
                match outcomes[i] {
                    Outcome::Failed => { fails += 1; oks = 0; }
                    Outcome::Blocked => { fails = 0; oks = 0; }
                    _ => { oks += 1; fails = 0; }
                }
                if s.status == Status::Down && prev.status != Status::Down {
                    prop_assert!(fails >= failure, "down after {} failures", fails);
                }
                if prev.status == Status::Down && s.status != Status::Down {
                    prop_assert!(s.status == Status::Blocked || oks >= recovery,
                        "left down after {} successes", oks);
                }
                prop_assert!(s.checks == prev.checks + 1);
                prop_assert!(s.failures >= prev.failures);
                prop_assert!(s.traffic_bytes >= prev.traffic_bytes);
                let transitions = alerts.iter().filter(|a| a.is_transition()).count();
                let changed = s.status != prev.status;
                let silent_first = prev.status == Status::Unknown && s.status.eligible();
                prop_assert_eq!(transitions, usize::from(changed && !silent_first));
                prev = s.clone();
            }
        }

        /// What the storage keeps (a snapshot every `every` runs, the state item at every
        /// change or alert, the results in between) gives back the live state through
        /// `catch_up`, for servers and for proxies (traffic and cost), with reminders on.
        #[test]
        fn a_snapshot_caught_up_with_later_results_is_the_live_state(
            failure in 1u32..4,
            every in 1usize..15,
            steps in proptest::collection::vec((outcome(), 1u64..3_000, 0u64..5_000), 1..80),
        ) {
            for t in [
                serde_json::from_value::<Target>(json!({"id":"s","group":"g","kind":"server",
                    "url":"http://h/","failure_threshold":failure,"reminder_every_min":3,
                    "degraded_latency_ms":1_500})).unwrap(),
                serde_json::from_value::<Target>(json!({"id":"s","group":"g","kind":"proxy",
                    "proxy_url":"http://p:1","test_urls":["http://h/"],"cost_per_gb":3.5,"traffic_alert_gb":0.00005,
                    "failure_threshold":failure})).unwrap(),
            ] {
                let mut live = TargetState::new("s");
                let mut base = live.clone();
                let mut after_base: Vec<CheckResult> = Vec::new();
                for (i, (o, latency, bytes)) in steps.iter().enumerate() {
                    // Runs a minute apart, across a UTC midnight (the day counters roll).
                    let at = DAY_MS - 30 * 60_000 + i as i64 * 60_000;
                    let mut r = result(*o, at, *latency);
                    r.bytes = *bytes;
                    let (next, alerts) = next_state(&live, &r, &t);
                    let change = next.status != live.status || !alerts.is_empty();
                    live = next;
                    if change || i % every == 0 {
                        base = live.clone();
                        after_base.clear();
                    } else {
                        after_base.push(r);
                    }
                    prop_assert_eq!(&catch_up(&base, &after_base, &t), &live);
                }
            }
        }
    }
}

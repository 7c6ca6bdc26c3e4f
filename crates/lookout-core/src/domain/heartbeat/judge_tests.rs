//! Tests of [`super::evaluate`] (`judge.rs`): every rule, the clock's edges, pings out of order.

use super::*;
use crate::domain::result::{ErrorKind, Outcome};
use crate::domain::target::{HeartbeatCheck, Target, TargetKind};
use crate::time::{HOUR_MS, MINUTE_MS};
use serde_json::json;

/// Period 1 h, grace 5 min.
const PERIOD: i64 = HOUR_MS;
const GRACE: i64 = 5 * MINUTE_MS;

fn target() -> Target {
    serde_json::from_value(json!({"id":"job","group":"cron","kind":"heartbeat",
        "period_s":3600,"grace_s":300}))
    .unwrap()
}

fn check(t: &Target) -> HeartbeatCheck {
    t.heartbeat().unwrap().clone()
}

fn ping(at: i64, status: PingStatus) -> Ping {
    Ping {
        at,
        status,
        exit_code: None,
        message: None,
        body: None,
    }
}

fn record(pings: &[Ping]) -> PingRecord {
    let mut r = PingRecord::new("job");
    for p in pings {
        r.add(p.clone());
    }
    r
}

fn judge(pings: &[Ping], now: i64) -> Option<crate::domain::CheckResult> {
    let t = target();
    evaluate(&t, &check(&t), Some(&record(pings)), now)
}

const T0: i64 = 1_800_000_000_000;

#[test]
fn never_pinged_raises_nothing() {
    let t = target();
    assert_eq!(evaluate(&t, &check(&t), None, T0), None);
    // Only notes, or a first run still within its grace: nothing to judge either.
    assert_eq!(judge(&[ping(T0, PingStatus::Log)], T0 + 10 * PERIOD), None);
    assert_eq!(judge(&[ping(T0, PingStatus::Start)], T0 + GRACE), None);
}

#[test]
fn a_recent_ok_is_up_with_the_results_fields() {
    let r = judge(&[ping(T0, PingStatus::Ok)], T0 + 10 * MINUTE_MS).unwrap();
    assert_eq!(r.outcome, Outcome::Up);
    assert_eq!(r.target_id, "job");
    assert_eq!(r.kind, TargetKind::Server);
    assert_eq!(r.at, T0 + 10 * MINUTE_MS);
    assert_eq!((r.latency_ms, r.attempts, r.error), (0, 1, None));
    assert_eq!(r.message.as_deref(), Some("last ping 10 min ago"));
}

#[test]
fn late_only_after_period_plus_grace() {
    let pings = [ping(T0, PingStatus::Ok)];
    let edge = T0 + PERIOD + GRACE;
    assert_eq!(judge(&pings, edge).unwrap().outcome, Outcome::Up);
    let r = judge(&pings, edge + 1).unwrap();
    assert_eq!(r.outcome, Outcome::Failed);
    assert_eq!(r.error, Some(ErrorKind::Late));
    let r = judge(&pings, T0 + 2 * HOUR_MS + 5 * MINUTE_MS).unwrap();
    assert_eq!(
        r.message.as_deref(),
        Some("no ping for 2 h 5 min, expected every 1 h with 5 min grace")
    );
}

#[test]
fn a_fail_ping_is_reported_until_the_next_ok() {
    let mut fail = ping(T0, PingStatus::Fail);
    fail.message = Some("disk full".into());
    let r = judge(&[ping(T0 - HOUR_MS, PingStatus::Ok), fail.clone()], T0 + 1).unwrap();
    assert_eq!(r.outcome, Outcome::Failed);
    assert_eq!(r.error, Some(ErrorKind::Reported));
    assert_eq!(
        r.message.as_deref(),
        Some("the job reported failure: disk full")
    );
    let r = judge(
        &[fail.clone(), ping(T0 + 60_000, PingStatus::Ok)],
        T0 + 61_000,
    )
    .unwrap();
    assert_eq!(r.outcome, Outcome::Up);
    // A failure stays reported past period + grace (it is news the job gave).
    let r = judge(&[fail], T0 + 3 * PERIOD).unwrap();
    assert_eq!(r.error, Some(ErrorKind::Reported));
}

#[test]
fn a_non_zero_exit_code_is_a_failure_and_zero_is_not() {
    let mut p = ping(T0, PingStatus::Ok);
    p.exit_code = Some(3);
    let r = judge(&[p.clone()], T0 + 1).unwrap();
    assert_eq!(r.error, Some(ErrorKind::Reported));
    assert_eq!(
        r.message.as_deref(),
        Some("the job reported failure (exit code 3)")
    );
    p.exit_code = Some(0);
    assert_eq!(judge(&[p], T0 + 1).unwrap().outcome, Outcome::Up);
}

#[test]
fn a_fail_wins_a_tie_and_logs_change_nothing() {
    let pings = [ping(T0, PingStatus::Ok), ping(T0, PingStatus::Fail)];
    assert_eq!(
        judge(&pings, T0 + 1).unwrap().error,
        Some(ErrorKind::Reported)
    );
    let pings = [ping(T0, PingStatus::Ok), ping(T0 + 1000, PingStatus::Log)];
    assert_eq!(judge(&pings, T0 + 2000).unwrap().outcome, Outcome::Up);
}

#[test]
fn pings_out_of_order_are_judged_by_their_times() {
    // The fail arrives after the newer ok: the ok is still the newest news.
    let pings = [
        ping(T0 + 60_000, PingStatus::Ok),
        ping(T0, PingStatus::Fail),
        ping(T0 - 60_000, PingStatus::Start),
    ];
    let r = judge(&pings, T0 + 120_000).unwrap();
    assert_eq!(r.outcome, Outcome::Up);
    // An old start arriving late is not a run in progress.
    let pings = [
        ping(T0, PingStatus::Ok),
        ping(T0 - HOUR_MS, PingStatus::Start),
    ];
    assert_eq!(judge(&pings, T0 + 2 * GRACE).unwrap().outcome, Outcome::Up);
}

#[test]
fn a_run_started_and_not_finished_within_grace_is_late() {
    let pings = [
        ping(T0, PingStatus::Ok),
        ping(T0 + 10 * MINUTE_MS, PingStatus::Start),
    ];
    let start = T0 + 10 * MINUTE_MS;
    assert_eq!(judge(&pings, start + GRACE).unwrap().outcome, Outcome::Up);
    let r = judge(&pings, start + GRACE + 1).unwrap();
    assert_eq!(r.outcome, Outcome::Failed);
    assert_eq!(r.error, Some(ErrorKind::Late));
    let r = judge(&pings, start + 12 * MINUTE_MS).unwrap();
    assert_eq!(
        r.message.as_deref(),
        Some("the run started 12 min ago and has not finished; runs may last 5 min (grace)")
    );
    // A first run that never finishes is late too.
    let r = judge(&[ping(T0, PingStatus::Start)], T0 + GRACE + 1).unwrap();
    assert_eq!(r.error, Some(ErrorKind::Late));
}

#[test]
fn a_run_started_before_the_limit_has_its_grace_but_a_start_never_brings_a_late_target_up() {
    // Started 1 min before the limit: in time until start + grace.
    let start = T0 + PERIOD + GRACE - MINUTE_MS;
    let pings = [ping(T0, PingStatus::Ok), ping(start, PingStatus::Start)];
    assert_eq!(judge(&pings, start + GRACE).unwrap().outcome, Outcome::Up);
    assert_eq!(
        judge(&pings, start + GRACE + 1).unwrap().error,
        Some(ErrorKind::Late)
    );
    // Started after the limit: still late (only a finishing ping brings it up).
    let start = T0 + PERIOD + GRACE + MINUTE_MS;
    let pings = [ping(T0, PingStatus::Ok), ping(start, PingStatus::Start)];
    let r = judge(&pings, start + 1).unwrap();
    assert_eq!(r.error, Some(ErrorKind::Late));
    assert!(r.message.unwrap().starts_with("no ping for"));
    // A start after a fail does not clear the failure either.
    let pings = [
        ping(T0, PingStatus::Fail),
        ping(T0 + 1000, PingStatus::Start),
    ];
    assert_eq!(
        judge(&pings, T0 + 2000).unwrap().error,
        Some(ErrorKind::Reported)
    );
}

#[test]
fn the_run_time_is_measured_from_its_start_and_never_makes_it_slow() {
    let pings = [
        ping(T0, PingStatus::Start),
        ping(T0 + 1000, PingStatus::Log),
        ping(T0 + 4 * MINUTE_MS, PingStatus::Ok),
    ];
    let r = judge(&pings, T0 + 5 * MINUTE_MS).unwrap();
    // Four minutes is far above the default degraded_latency_ms (2 s): still up.
    assert_eq!(r.latency_ms, 240_000);
    assert_eq!(r.outcome, Outcome::Up);
    // The run in progress does not change the last run's time; an ok after an ok has none.
    let mut more = pings.to_vec();
    more.push(ping(T0 + 6 * MINUTE_MS, PingStatus::Start));
    assert_eq!(
        judge(&more, T0 + 7 * MINUTE_MS).unwrap().latency_ms,
        240_000
    );
    let pings = [ping(T0, PingStatus::Ok), ping(T0 + 1000, PingStatus::Ok)];
    assert_eq!(judge(&pings, T0 + 2000).unwrap().latency_ms, 0);
    // A start more than 72 h before its finish is not the same run (healthchecks.io's rule).
    let long = 72 * HOUR_MS;
    let pings = [ping(T0, PingStatus::Start), ping(T0 + long, PingStatus::Ok)];
    assert_eq!(judge(&pings, T0 + long).unwrap().latency_ms, long as u64);
    let pings = [
        ping(T0, PingStatus::Start),
        ping(T0 + long + 1, PingStatus::Ok),
    ];
    assert_eq!(judge(&pings, T0 + long + 1).unwrap().latency_ms, 0);
}

#[test]
fn durations_read_as_two_units() {
    assert_eq!(duration(0), "0 s");
    assert_eq!(duration(45_000), "45 s");
    assert_eq!(duration(HOUR_MS), "1 h");
    assert_eq!(duration(2 * HOUR_MS + 5 * MINUTE_MS + 7_000), "2 h 5 min");
    assert_eq!(duration(86_400_000 + 30_000), "1 d");
    assert_eq!(duration(-5), "0 s");
}

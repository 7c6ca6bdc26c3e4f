use std::time::{Duration, Instant};

use serde_json::json;

use super::*;
use crate::memory::{MemoryPublisher, MemoryStore};
use crate::ports::{Outbox, StateStore, TargetStore};
use crate::probe::Prober;
use crate::testing::{closed_port, serve, serve_abortable};
use lookout_core::domain::{Status, Target, TargetKind};

async fn store_with(targets: serde_json::Value) -> MemoryStore {
    let store = MemoryStore::default();
    for t in targets.as_array().unwrap() {
        let t: Target = serde_json::from_value(t.clone()).unwrap();
        store.create_target(&t.validate().unwrap()).await.unwrap();
    }
    store
}

fn forced(kind: TargetKind) -> ProbeRequest {
    ProbeRequest {
        kinds: vec![kind],
        force: true,
        window_s: 0,
        deadline_ms: None,
        event_id: None,
    }
}

/// A scheduled invocation of `kind` with a repeat window of `window_s` seconds.
fn scheduled(kind: TargetKind, window_s: u32) -> ProbeRequest {
    ProbeRequest {
        window_s,
        force: false,
        ..forced(kind)
    }
}

/// A prober that may probe loopback servers.
fn loopback_prober() -> Prober {
    Prober::with_options(crate::probe::ProbeOptions::allow_private()).unwrap()
}

/// One forced run of the server kind.
async fn run_forced(
    store: &MemoryStore,
    publisher: &MemoryPublisher,
    prober: &Prober,
) -> RunReport {
    run(
        store,
        publisher,
        prober,
        &forced(TargetKind::Server),
        &cfg(),
    )
    .await
    .unwrap()
}

/// Four probes at once.
fn cfg() -> RunConfig {
    RunConfig::new(4)
}

#[tokio::test]
async fn a_target_is_probed_again_only_when_its_interval_is_over() {
    let live = serve(200, "ok").await;
    let store = store_with(json!([
        {"id":"often","group":"api","kind":"server","url": live.clone(),"interval_s":1},
        {"id":"rarely","group":"api","kind":"server","url": live,"interval_s":3600},
    ]))
    .await;
    let publisher = MemoryPublisher::default();
    let prober = loopback_prober();
    let scheduled = scheduled(TargetKind::Server, 0);
    let first = run(&store, &publisher, &prober, &scheduled, &cfg())
        .await
        .unwrap();
    assert_eq!(first.runs[0].checked, 2, "never-checked targets are due");
    let again = run(&store, &publisher, &prober, &scheduled, &cfg())
        .await
        .unwrap();
    assert_eq!(again.runs[0].checked, 0, "nothing is due right away");
    // Due again after its interval, less a tenth of it as slack for schedule jitter.
    tokio::time::sleep(Duration::from_millis(950)).await;
    let second = run(&store, &publisher, &prober, &scheduled, &cfg())
        .await
        .unwrap();
    assert_eq!(
        second.runs[0].checked, 1,
        "only the 1-second target is due again"
    );
    let latest = store.latest(TargetKind::Server).await.unwrap();
    assert_eq!(
        (latest["often"].state.checks, latest["rarely"].state.checks),
        (2, 1)
    );
    let forced = run_forced(&store, &publisher, &prober).await;
    assert_eq!(
        forced.runs[0].checked, 2,
        "force probes every enabled target"
    );
}

#[tokio::test]
async fn a_dead_server_goes_down_on_the_third_run_with_one_published_alert() {
    let live = serve(200, "ok").await;
    let dead = closed_port().await;
    let store = store_with(json!([
        {"id":"live","group":"api","kind":"server","url": format!("{live}/health"),"timeout_ms":2000},
        {"id":"dead","group":"api","kind":"server","url": format!("{dead}/health"),"timeout_ms":2000},
    ]))
    .await;
    let publisher = MemoryPublisher::default();
    let prober = loopback_prober();
    for run_no in 1..=3 {
        let report = run_forced(&store, &publisher, &prober).await;
        let expected_alerts = if run_no == 3 { 1 } else { 0 };
        assert_eq!(
            report.alerts.len(),
            expected_alerts,
            "run {run_no}: {:?}",
            report.alerts
        );
        assert_eq!(report.runs[0].checked, 2);
    }
    let latest = store.latest(TargetKind::Server).await.unwrap();
    assert_eq!(latest["dead"].state.status, Status::Down);
    assert_eq!(latest["live"].state.status, Status::Healthy);
    assert_eq!(latest["live"].state.checks, 3);
    let sent = publisher.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].target_id.as_str(), sent[0].new_status),
        ("dead", Status::Down)
    );
    // State items are written on status change only: unknown→healthy and unknown→down, once each.
    let states = store.states();
    assert_eq!((states["live"].version, states["dead"].version), (1, 1));
    assert!(store.outbox().iter().all(|(_, published)| *published));
    assert_eq!(store.history_len(), 6);
    assert_eq!(store.runs().len(), 3);
}

#[tokio::test]
async fn an_alert_whose_publish_fails_stays_pending_and_goes_out_on_the_next_run() {
    let dead = closed_port().await;
    let store = store_with(json!([
        {"id":"dead","group":"api","kind":"server","url": dead,"failure_threshold":1,"timeout_ms":2000},
    ]))
    .await;
    let publisher = MemoryPublisher::default();
    let prober = loopback_prober();
    publisher.set_failing(true);
    let report = run_forced(&store, &publisher, &prober).await;
    assert_eq!(
        (
            report.runs[0].alerts_published,
            report.runs[0].alerts_pending
        ),
        (0, 1)
    );
    assert_eq!(store.pending_alerts(0).await.unwrap().len(), 1);
    publisher.set_failing(false);
    let report = run_forced(&store, &publisher, &prober).await;
    assert_eq!(report.retried_alerts, 1);
    assert!(report.alerts.is_empty(), "still down: no new alert");
    assert_eq!(publisher.sent().len(), 1);
    assert!(store.pending_alerts(0).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_change_made_elsewhere_is_rebased_on_not_stuck_and_still_alerts() {
    let (url, server) = serve_abortable(200, "ok").await;
    let store = store_with(json!([
        {"id":"s","group":"api","kind":"server","url": url,"failure_threshold":1,"timeout_ms":2000},
    ]))
    .await;
    let publisher = MemoryPublisher::default();
    let prober = loopback_prober();
    run_forced(&store, &publisher, &prober).await;
    // Another writer (the API, an overlapping run) moves the stored state to version 2.
    let stored = store.load_state("s").await.unwrap().unwrap();
    assert_eq!((stored.status, stored.version), (Status::Healthy, 1));
    store.commit_change(&stored, &[]).await.unwrap();
    server.abort();
    let report = run_forced(&store, &publisher, &prober).await;
    assert_eq!(
        report.alerts.len(),
        1,
        "the down alert is raised despite the stale snapshot"
    );
    let stored = store.load_state("s").await.unwrap().unwrap();
    assert_eq!((stored.status, stored.version), (Status::Down, 3));
    let latest = store.latest(TargetKind::Server).await.unwrap();
    assert_eq!(
        latest["s"].state.version, 3,
        "the snapshot carries the stored version again"
    );
}

#[tokio::test]
async fn an_invocation_retries_only_the_pending_alerts_of_its_own_kind() {
    let dead = closed_port().await;
    let store = store_with(json!([
        {"id":"dead","group":"api","kind":"server","url": dead,"failure_threshold":1,"timeout_ms":2000},
    ]))
    .await;
    let publisher = MemoryPublisher::default();
    let prober = loopback_prober();
    publisher.set_failing(true);
    run_forced(&store, &publisher, &prober).await;
    publisher.set_failing(false);
    // The proxy schedule fires at the same minute: it must not send the server's alert.
    let proxy_run = run(
        &store,
        &publisher,
        &prober,
        &forced(TargetKind::Proxy),
        &cfg(),
    )
    .await
    .unwrap();
    assert_eq!(proxy_run.retried_alerts, 0);
    assert!(publisher.sent().is_empty());
    let server_run = run_forced(&store, &publisher, &prober).await;
    assert_eq!(server_run.retried_alerts, 1);
    assert_eq!(publisher.sent().len(), 1);
}

#[tokio::test]
async fn sub_minute_targets_are_checked_again_inside_one_invocation() {
    let live = serve(200, "ok").await;
    let store = store_with(json!([
        {"id":"fast","group":"g","kind":"server","url": live, "interval_s": 1, "timeout_ms": 500},
        {"id":"minutely","group":"g","kind":"server","url": live, "timeout_ms": 500}
    ]))
    .await;
    let publisher = MemoryPublisher::default();
    let prober = loopback_prober();
    let request = scheduled(TargetKind::Server, 3);
    let started = Instant::now();
    let report = run(&store, &publisher, &prober, &request, &cfg())
        .await
        .unwrap();
    let checked: usize = report.runs.iter().map(|r| r.checked).sum();
    // Round one checks both; the 1 s target comes back about every second until the 3 s
    // window would be passed.
    assert!(report.runs.len() >= 3, "{:?}", report.runs);
    assert_eq!(checked, report.runs.len() + 1, "{:?}", report.runs);
    assert!(report.runs[1..].iter().all(|r| r.checked == 1));
    assert!(
        started.elapsed() < Duration::from_millis(3_500),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn only_believable_deadlines_are_used() {
    let now = 1_800_000_000_000;
    assert_eq!(
        usable_deadline(Some(now + 300_000), now),
        Some(now + 300_000)
    );
    assert_eq!(usable_deadline(Some(now - 1), now), None, "already past");
    assert_eq!(
        usable_deadline(Some(600_000), now),
        None,
        "not an epoch time"
    );
    assert_eq!(
        usable_deadline(Some(now + 901_000), now),
        None,
        "over 15 minutes"
    );
    assert_eq!(usable_deadline(None, now), None);
}

#[tokio::test]
async fn near_the_deadline_long_checks_are_skipped_and_reported() {
    let live = serve(200, "ok").await;
    let store = store_with(json!([
        {"id":"quick","group":"g","kind":"server","url": live, "timeout_ms": 500},
        {"id":"long","group":"g","kind":"server","url": live, "timeout_ms": 20000}
    ]))
    .await;
    let publisher = MemoryPublisher::default();
    let prober = loopback_prober();
    let mut request = forced(TargetKind::Server);
    // 2 s left after the finishing margin: the 500 ms check fits, the 20 s one does not.
    request.deadline_ms = Some(lookout_core::time::now_ms() + FINISH_MARGIN_MS as i64 + 2_000);
    let report = run(&store, &publisher, &prober, &request, &cfg())
        .await
        .unwrap();
    assert_eq!(report.skipped, vec!["long".to_string()]);
    assert_eq!((report.runs[0].checked, report.runs[0].skipped), (1, 1));
    let latest = store.latest(TargetKind::Server).await.unwrap();
    assert!(latest["quick"].result.is_some() && !latest.contains_key("long"));
}

#[tokio::test]
async fn probes_in_flight_never_exceed_the_concurrency() {
    use crate::testing::{Reply, TestServer};
    // Each answer takes 200 ms; the server notes when each request arrives.
    let arrivals = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = arrivals.clone();
    let s = TestServer::start(move |_| {
        seen.lock().unwrap().push(Instant::now());
        Reply::Delay(Duration::from_millis(200), Box::new(Reply::text(200, "ok")))
    })
    .await;
    let targets: Vec<_> = (0..12)
        .map(|i| json!({"id": format!("t{i}"), "group":"g","kind":"server","url": s.url}))
        .collect();
    let store = store_with(json!(targets)).await;
    let publisher = MemoryPublisher::default();
    let prober = loopback_prober();
    let started = Instant::now();
    let report = run_forced(&store, &publisher, &prober).await;
    assert_eq!(report.runs[0].checked, 12);
    // 12 checks of 200 ms, 4 at a time, cannot take less than 3 × 200 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(590),
        "{:?}",
        started.elapsed()
    );
    // And no 200 ms span ever saw more than 4 requests arrive.
    let mut at = arrivals.lock().unwrap().clone();
    at.sort();
    for (i, t) in at.iter().enumerate() {
        let within = at[i..]
            .iter()
            .take_while(|u| u.duration_since(*t) < Duration::from_millis(150))
            .count();
        assert!(within <= 4, "{within} requests within 150 ms");
    }
}

#[tokio::test]
async fn a_status_change_that_cannot_be_committed_is_retried_by_the_next_check_not_at_once() {
    let dead = closed_port().await;
    let store = store_with(json!([
        {"id":"flaky-db","group":"g","kind":"server","url": dead, "interval_s": 1,
         "timeout_ms": 300, "failure_threshold": 1}
    ]))
    .await;
    store.set_failing_commits(true);
    let publisher = MemoryPublisher::default();
    let prober = loopback_prober();
    let request = scheduled(TargetKind::Server, 3);
    let err = run(&store, &publisher, &prober, &request, &cfg())
        .await
        .unwrap_err();
    // One check (and one failed commit) a second, not a tight loop of them.
    let ProbeError::Uncommitted(n, message) = err else {
        panic!("{err}")
    };
    assert!((2..=4).contains(&n), "{n} commits tried: {message}");
    let latest = store.latest(TargetKind::Server).await.unwrap();
    let state = &latest["flaky-db"].state;
    assert_eq!(state.status, Status::Unknown, "the change is not pretended");
    assert!(
        state.last_check.is_some(),
        "checked, so not due again at once"
    );
    assert_eq!(
        state.last_alert_at, None,
        "nothing was sent, nothing counted as sent"
    );
    store.set_failing_commits(false);
    let request = forced(TargetKind::Server);
    let report = run(&store, &publisher, &prober, &request, &cfg())
        .await
        .unwrap();
    assert_eq!(report.runs[0].changes, 1, "the next check makes the change");
    assert_eq!(store.states()["flaky-db"].status, Status::Down);
}

#[tokio::test]
async fn a_repeat_round_never_starts_a_check_that_would_outlast_the_window() {
    let live = serve(200, "ok").await;
    let store = store_with(json!([
        {"id":"quick","group":"g","kind":"server","url": live, "interval_s": 1, "timeout_ms": 300},
        {"id":"patient","group":"g","kind":"server","url": live, "interval_s": 2, "timeout_ms": 5000}
    ]))
    .await;
    let publisher = MemoryPublisher::default();
    let prober = loopback_prober();
    let request = scheduled(TargetKind::Server, 3);
    let started = Instant::now();
    let report = run(&store, &publisher, &prober, &request, &cfg())
        .await
        .unwrap();
    let latest = store.latest(TargetKind::Server).await.unwrap();
    // "patient" is due again at about 1.8 s, but its check may take 5.5 s: it waits for the
    // next invocation instead of running past the 3 s window.
    assert_eq!(latest["patient"].state.checks, 1, "{:?}", report.runs);
    assert!(latest["quick"].state.checks >= 2);
    assert!(report.skipped.is_empty(), "deferred, not late");
    assert!(
        started.elapsed() < Duration::from_millis(3_500),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_run_takes_its_times_from_the_clock_it_is_given() {
    let live = serve(200, "ok").await;
    let store = store_with(json!([
        {"id":"s","group":"g","kind":"server","url": live, "timeout_ms": 2000},
    ]))
    .await;
    let publisher = MemoryPublisher::default();
    let prober = loopback_prober();
    // 2030-01-01T00:00Z, far from the system's time.
    let at = 1_893_456_000_000;
    let clock = crate::clock::ManualClock::at(at);
    let config = RunConfig {
        clock: std::sync::Arc::new(clock.clone()),
        ..cfg()
    };
    let report = run(
        &store,
        &publisher,
        &prober,
        &forced(TargetKind::Server),
        &config,
    )
    .await
    .unwrap();
    assert_eq!(report.runs[0].started_at, at);
    let latest = store.latest(TargetKind::Server).await.unwrap();
    assert_eq!(latest["s"].state.last_check, Some(at));
    // Not due again until the clock says its minute is over.
    let scheduled = scheduled(TargetKind::Server, 0);
    let again = run(&store, &publisher, &prober, &scheduled, &config)
        .await
        .unwrap();
    assert_eq!(again.runs[0].checked, 0);
    clock.advance(60_000);
    let later = run(&store, &publisher, &prober, &scheduled, &config)
        .await
        .unwrap();
    assert_eq!(later.runs[0].checked, 1);
}

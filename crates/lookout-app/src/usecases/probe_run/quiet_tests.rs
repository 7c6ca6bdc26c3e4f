//! A round that changes nothing writes no run record and no summary (only the history of its
//! checks); one that changes something writes both; the summary is rewritten at least every
//! `SUMMARY_REFRESH_MS`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::clock::ManualClock;
use crate::memory::{MemoryPublisher, MemoryStore};
use crate::ports::{StateStore, SummaryStore, TargetStore, SUMMARY_REFRESH_MS};
use crate::probe::{ProbeOptions, Prober};
use crate::testing::{Reply, TestServer};
use lookout_core::domain::{Target, TargetKind};

/// A scheduled (not forced) invocation of the server kind.
fn scheduled() -> ProbeRequest {
    ProbeRequest {
        force: false,
        ..ProbeRequest::forced(&[TargetKind::Server])
    }
}

/// The stored summary's time and its count of `status`.
async fn summary(store: &MemoryStore, status: &str) -> (i64, usize) {
    let s = store.summaries().await.unwrap();
    let s = s.iter().find(|s| s.kind == TargetKind::Server).unwrap();
    (s.at, s.by_status[status])
}

#[tokio::test]
async fn a_round_that_changes_nothing_writes_no_run_record_and_no_summary() {
    let failing = Arc::new(AtomicBool::new(false));
    let f = failing.clone();
    let server = TestServer::start(move |_| {
        if f.load(Ordering::SeqCst) {
            Reply::text(500, "down")
        } else {
            Reply::text(200, "ok")
        }
    })
    .await;
    let store = MemoryStore::default();
    for id in ["a", "b"] {
        let t = Target::from_json(json!({"id": id, "group": "g", "kind": "server",
            "url": format!("{}/{id}", server.url), "failure_threshold": 1}))
        .unwrap();
        store.create_target(&t).await.unwrap();
    }
    let publisher = MemoryPublisher::default();
    let prober = Prober::with_options(ProbeOptions::allow_private()).unwrap();
    let t0 = 1_893_456_000_000;
    let clock = ManualClock::at(t0);
    let config = RunConfig {
        clock: Arc::new(clock.clone()),
        ..RunConfig::new(4)
    };
    let request = scheduled();
    let once = || run(&store, &publisher, &prober, &request, &config);

    // First checks: unknown to healthy, a change: a record and a summary.
    assert_eq!(once().await.unwrap().runs[0].checked, 2);
    assert_eq!(store.runs().len(), 1);
    assert_eq!(summary(&store, "healthy").await, (t0, 2));

    // Healthy again, minute after minute: checked, nothing written but the history.
    let quiet_minutes = SUMMARY_REFRESH_MS / 60_000 - 1;
    for _ in 0..quiet_minutes {
        clock.advance(60_000);
        assert_eq!(once().await.unwrap().runs[0].checked, 2);
    }
    assert_eq!(
        store.runs().len(),
        1,
        "no run record while nothing changed: {:?}",
        store.runs()
    );
    assert_eq!(summary(&store, "healthy").await, (t0, 2));
    let latest = store.latest(TargetKind::Server).await.unwrap();
    assert_eq!(
        latest["a"].state.checks,
        1 + quiet_minutes as u64,
        "the quiet checks are kept"
    );

    // The stored summary is SUMMARY_REFRESH_MS old: rewritten, with its run record.
    clock.advance(60_000);
    once().await.unwrap();
    assert_eq!(store.runs().len(), 2);
    assert_eq!(
        summary(&store, "healthy").await,
        (t0 + SUMMARY_REFRESH_MS, 2)
    );

    // A status change: both written at once.
    failing.store(true, Ordering::SeqCst);
    clock.advance(60_000);
    let report = once().await.unwrap();
    assert_eq!(report.runs[0].changes, 2);
    assert_eq!(store.runs().len(), 3);
    assert_eq!(
        summary(&store, "down").await,
        (t0 + SUMMARY_REFRESH_MS + 60_000, 2)
    );

    // Down and staying down: quiet again.
    clock.advance(60_000);
    once().await.unwrap();
    assert_eq!(store.runs().len(), 3);
}

#[tokio::test]
async fn one_kinds_failing_round_does_not_stop_the_other_kinds_run() {
    let server = TestServer::start(|_| Reply::text(200, "ok")).await;
    let store = MemoryStore::default();
    let targets = [
        json!({"id": "s1", "group": "g", "kind": "server", "url": format!("{}/s", server.url)}),
        json!({"id": "p1", "group": "pool", "kind": "proxy", "proxy_url": server.url.clone(),
            "test_urls": [format!("{}/p", server.url)]}),
    ];
    for t in targets {
        store
            .create_target(&Target::from_json(t).unwrap())
            .await
            .unwrap();
    }
    let publisher = MemoryPublisher::default();
    let prober = Prober::with_options(ProbeOptions::allow_private()).unwrap();
    let config = RunConfig::new(4);
    // The server kind runs first in `{"kinds":["server","proxy"]}`; its records fail.
    store.set_failing_kind(Some(TargetKind::Server));
    let request = ProbeRequest::forced(&[TargetKind::Server, TargetKind::Proxy]);
    let answer = run(&store, &publisher, &prober, &request, &config).await;
    assert!(
        answer.is_err(),
        "the server kind's failure is the run's answer"
    );
    let proxies = store.latest(TargetKind::Proxy).await.unwrap();
    assert_eq!(
        proxies.get("p1").map(|l| l.state.checks),
        Some(1),
        "the proxy kind was checked and recorded all the same"
    );
    assert!(store.latest(TargetKind::Server).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_summary_refreshed_in_a_round_that_checked_nothing_names_the_last_recorded_run() {
    let server = TestServer::start(|_| Reply::text(200, "ok")).await;
    let store = MemoryStore::default();
    // Checked every 7 minutes: the 10-minute refresh falls on a minute with nothing due.
    let t = Target::from_json(json!({"id": "a", "group": "g", "kind": "server",
        "url": format!("{}/a", server.url), "interval_s": 420}))
    .unwrap();
    store.create_target(&t).await.unwrap();
    let publisher = MemoryPublisher::default();
    let prober = Prober::with_options(ProbeOptions::allow_private()).unwrap();
    let t0 = 1_893_456_000_000;
    let clock = ManualClock::at(t0);
    let config = RunConfig {
        clock: Arc::new(clock.clone()),
        ..RunConfig::new(4)
    };
    let request = scheduled();
    for _ in 0..=(SUMMARY_REFRESH_MS / 60_000) {
        run(&store, &publisher, &prober, &request, &config)
            .await
            .unwrap();
        clock.advance(60_000);
    }
    let runs = store.runs();
    assert_eq!(
        runs.len(),
        1,
        "only the first check changed anything: {runs:?}"
    );
    let summaries = store.summaries().await.unwrap();
    let s = summaries
        .iter()
        .find(|s| s.kind == TargetKind::Server)
        .unwrap();
    assert_eq!(s.at, t0 + SUMMARY_REFRESH_MS, "the refresh was written");
    assert_eq!(
        s.last_run.as_ref().map(|r| r.started_at),
        Some(runs[0].started_at),
        "it names the one run recorded"
    );
}

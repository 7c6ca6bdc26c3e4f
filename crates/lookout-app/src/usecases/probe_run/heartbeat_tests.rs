//! Heartbeat targets in the probe run, on a memory store and a manual clock stepping minutes:
//! judged from their pings, never probed, one alert per transition.

use std::sync::Arc;

use serde_json::json;

use crate::clock::{Clock as _, ManualClock};
use crate::memory::{MemoryPublisher, MemoryStore};
use crate::ports::{HeartbeatStore, LocationStore, StateStore, TargetStore};
use crate::probe::{ProbeOptions, Prober};
use crate::usecases::probe_run::{run, LocationSetup, ProbeRequest, RunConfig, RunReport};
use lookout_core::domain::heartbeat::{Ping, PingStatus};
use lookout_core::domain::{AlertKind, ErrorKind, Status, Target, TargetKind};

/// 2030-01-01T00:00:00Z.
const T0: i64 = 1_893_456_000_000;
const MINUTE: i64 = 60_000;

struct Stack {
    store: MemoryStore,
    publisher: MemoryPublisher,
    prober: Prober,
    clock: ManualClock,
    config: RunConfig,
}

/// A heartbeat target `job` (period 2 min, grace 1 min, checked every minute) on a memory
/// store, with a manual clock at [`T0`].
async fn stack() -> Stack {
    let store = MemoryStore::default();
    let t = Target::from_json(json!({"id":"job","group":"cron","kind":"heartbeat",
        "period_s":120,"grace_s":60}))
    .unwrap();
    store.create_target(&t).await.unwrap();
    let clock = ManualClock::at(T0);
    Stack {
        store,
        publisher: MemoryPublisher::default(),
        prober: Prober::with_options(ProbeOptions::allow_private()).unwrap(),
        config: RunConfig {
            clock: Arc::new(clock.clone()),
            ..RunConfig::new(4)
        },
        clock,
    }
}

impl Stack {
    /// One scheduled invocation of the server run, then the clock a minute on.
    async fn minute(&self) -> RunReport {
        let request = ProbeRequest {
            force: false,
            ..ProbeRequest::forced(&[TargetKind::Server])
        };
        let report = run(
            &self.store,
            &self.publisher,
            &self.prober,
            &request,
            &self.config,
        )
        .await
        .unwrap();
        self.clock.advance(MINUTE);
        report
    }

    /// A ping of `job` now (`exit_code` and `message` unset).
    async fn ping(&self, status: PingStatus) {
        let ping = Ping {
            at: self.clock.now_ms(),
            status,
            exit_code: None,
            message: Some(format!("{} ping", status.as_str())),
            body: None,
        };
        self.store.record_ping("job", ping).await.unwrap();
    }

    /// `job`'s stored status (`Unknown` before its first change).
    async fn status(&self) -> Status {
        self.store
            .load_state("job")
            .await
            .unwrap()
            .map_or(Status::Unknown, |s| s.status)
    }

    /// The alerts published so far about `job`: (kind, new status).
    fn sent(&self) -> Vec<(AlertKind, Status)> {
        self.publisher
            .sent()
            .iter()
            .filter(|a| a.target_id == "job")
            .map(|a| (a.kind, a.new_status))
            .collect()
    }
}

fn down() -> (AlertKind, Status) {
    (AlertKind::StatusChange, Status::Down)
}

fn recovered() -> (AlertKind, Status) {
    (AlertKind::Recovery, Status::Healthy)
}

#[tokio::test]
async fn pinged_then_silent_goes_down_once_past_period_and_grace_with_one_alert() {
    let s = stack().await;
    s.ping(PingStatus::Ok).await;
    // T0 .. T0 + 3 min: within period + grace (3 min; exactly at the limit is in time).
    for _ in 0..4 {
        let report = s.minute().await;
        assert_eq!(report.runs[0].checked, 1);
    }
    assert_eq!(s.status().await, Status::Healthy);
    assert!(s.sent().is_empty(), "{:?}", s.sent());
    // T0 + 4 min: late; then silent for ten more minutes: still one alert.
    for _ in 0..10 {
        s.minute().await;
    }
    assert_eq!(s.status().await, Status::Down);
    assert_eq!(s.sent(), vec![down()]);
    let alert = &s.publisher.sent()[0];
    assert!(alert.text.contains("no ping for 4 min"), "{}", alert.text);
    assert_eq!(latest_result(&s).await.error, Some(ErrorKind::Late));
}

#[tokio::test]
async fn a_fail_ping_is_down_next_round_and_the_next_ok_brings_it_up_with_one_recovery() {
    let s = stack().await;
    s.ping(PingStatus::Ok).await;
    s.minute().await;
    s.ping(PingStatus::Fail).await;
    s.minute().await;
    assert_eq!(s.status().await, Status::Down);
    assert_eq!(latest_result(&s).await.error, Some(ErrorKind::Reported));
    s.minute().await;
    assert_eq!(s.sent(), vec![down()]);
    s.ping(PingStatus::Ok).await;
    s.minute().await;
    s.minute().await;
    assert_eq!(s.status().await, Status::Healthy);
    assert_eq!(s.sent(), vec![down(), recovered()]);
}

#[tokio::test]
async fn a_start_without_a_finish_is_down_once_past_grace_and_its_finish_is_timed() {
    let s = stack().await;
    s.ping(PingStatus::Ok).await;
    s.minute().await;
    s.ping(PingStatus::Start).await; // T0 + 1 min: may run until T0 + 2 min.
    s.minute().await;
    s.minute().await;
    assert_eq!(s.status().await, Status::Healthy);
    s.minute().await; // T0 + 3 min: the run is 2 min old.
    assert_eq!(s.status().await, Status::Down);
    assert_eq!(s.sent(), vec![down()]);
    s.ping(PingStatus::Ok).await; // T0 + 4 min: the run took 3 min.
    s.minute().await;
    assert_eq!(s.status().await, Status::Healthy);
    assert_eq!(s.sent(), vec![down(), recovered()]);
    assert_eq!(latest_result(&s).await.latency_ms, 3 * MINUTE as u64);
}

#[tokio::test]
async fn never_pinged_raises_nothing_and_is_never_probed() {
    let s = stack().await;
    for _ in 0..10 {
        let report = s.minute().await;
        assert_eq!(report.runs[0].checked, 0);
    }
    assert_eq!(s.status().await, Status::Unknown);
    assert!(s.publisher.sent().is_empty());
    // One read of the ping records per round.
    assert_eq!(s.store.ping_records_calls(), 10);
}

#[tokio::test]
async fn a_round_without_due_heartbeats_reads_no_pings() {
    let s = stack().await;
    s.store.delete_target("job").await.unwrap();
    s.minute().await;
    assert_eq!(s.store.ping_records_calls(), 0);
}

#[tokio::test]
async fn a_store_error_reading_pings_skips_the_heartbeats_and_never_judges_them_down() {
    let s = stack().await;
    s.ping(PingStatus::Ok).await;
    s.minute().await;
    assert_eq!(s.status().await, Status::Healthy);
    s.store.set_failing_pings(true);
    // Long past period + grace, but the pings cannot be read: not judged.
    for _ in 0..6 {
        let report = s.minute().await;
        assert_eq!(report.runs[0].checked, 0);
    }
    assert_eq!(s.status().await, Status::Healthy);
    assert!(s.sent().is_empty());
    s.store.set_failing_pings(false);
    s.minute().await;
    assert_eq!(s.status().await, Status::Down);
    assert_eq!(s.sent(), vec![down()]);
}

#[tokio::test]
async fn a_remote_location_does_not_judge_heartbeats() {
    let mut s = stack().await;
    s.ping(PingStatus::Fail).await;
    s.config.locations = Some(LocationSetup {
        name: "eu".into(),
        home: "us".into(),
        all: vec!["us".into(), "eu".into()],
        grace_ms: 180_000,
    });
    let report = s.minute().await;
    assert_eq!(report.runs[0].checked, 0);
    assert_eq!(s.store.ping_records_calls(), 0);
    let verdicts = s.store.verdicts(TargetKind::Server).await.unwrap();
    assert!(!verdicts.contains_key("job"), "{verdicts:?}");
    // The home location judges it, alone.
    if let Some(l) = s.config.locations.as_mut() {
        l.name = "us".into();
    }
    s.minute().await;
    assert_eq!(s.status().await, Status::Down);
    assert_eq!(s.sent(), vec![down()]);
}

/// `job`'s latest result, from the snapshot and history.
async fn latest_result(s: &Stack) -> lookout_core::domain::CheckResult {
    let latest = s.store.latest(TargetKind::Server).await.unwrap();
    let l = &latest["job"];
    l.pending.last().or(l.result.as_ref()).cloned().unwrap()
}

use std::sync::Mutex;

use serde_json::json;

use super::*;
use crate::memory::{MemoryPublisher, MemoryStore};
use crate::ports::{RunStore, StoreError, TargetStore};
use crate::testing::{closed_port, serve};
use lookout_core::domain::Target;

/// The tasks sent, in order.
#[derive(Default)]
struct RecordingQueue(Mutex<Vec<ShardTask>>);

impl ShardQueue for RecordingQueue {
    async fn send_tasks(&self, tasks: &[ShardTask]) -> Result<(), StoreError> {
        self.0.lock().unwrap().extend_from_slice(tasks);
        Ok(())
    }
}

impl RecordingQueue {
    fn sent(&self) -> Vec<ShardTask> {
        self.0.lock().unwrap().clone()
    }
}

fn prober() -> Prober {
    Prober::with_options(crate::probe::ProbeOptions::allow_private()).unwrap()
}

/// `n` server targets in `n` groups, answering at `url`, failing after one bad check.
async fn store_with(n: usize, url: &str) -> MemoryStore {
    let store = MemoryStore::default();
    for i in 0..n {
        let t: Target = serde_json::from_value(json!({"id": format!("t{i:02}"),
            "group": format!("g{i:02}"), "kind": "server", "url": url, "failure_threshold": 1,
            "timeout_ms": 2000}))
        .unwrap();
        store.create_target(&t.validate().unwrap()).await.unwrap();
    }
    store
}

fn scheduled(id: &str) -> ProbeRequest {
    ProbeRequest {
        event_id: Some(id.into()),
        ..ProbeRequest::forced(&[TargetKind::Server])
    }
}

#[tokio::test]
async fn a_kind_over_the_budget_is_split_into_one_task_per_shard() {
    let live = serve(200, "ok").await;
    let store = store_with(25, &live).await;
    let queue = RecordingQueue::default();
    // No summary yet: one target assumed, the kind runs in process (and writes its summary).
    let first = dispatch(&store, &queue, &scheduled("e0"), 10)
        .await
        .unwrap();
    assert_eq!(first.in_process, [TargetKind::Server]);
    assert!(queue.sent().is_empty());
    let report = run(
        &store,
        &MemoryPublisher::default(),
        &prober(),
        &scheduled("e0"),
        &RunConfig::new(8),
    )
    .await
    .unwrap();
    assert_eq!(report.runs[0].checked, 25);

    let d = dispatch(&store, &queue, &scheduled("e1"), 10)
        .await
        .unwrap();
    assert!(d.in_process.is_empty());
    assert_eq!(d.fanned_out.len(), 1);
    assert_eq!(d.fanned_out[0].shards, 3);
    assert_eq!(store.shard_count(TargetKind::Server).await.unwrap(), 3);
    let tasks = queue.sent();
    assert_eq!(tasks, d.tasks);
    assert_eq!(
        tasks.iter().map(|t| t.shard).collect::<Vec<_>>(),
        Shard::all(3).collect::<Vec<_>>()
    );
    assert_eq!(
        tasks
            .iter()
            .map(|t| t.event_id.clone().unwrap())
            .collect::<Vec<_>>(),
        ["e1#server#0of3", "e1#server#1of3", "e1#server#2of3"]
    );
    assert!(tasks
        .iter()
        .all(|t| t.run_id == d.fanned_out[0].run_id && t.issued_at == tasks[0].issued_at));
    assert!(tasks.iter().all(|t| t.force && t.window_s == 0));
}

#[tokio::test]
async fn below_the_budget_nothing_is_sent_and_without_a_queue_nothing_fans_out() {
    let live = serve(200, "ok").await;
    let store = store_with(25, &live).await;
    let publisher = MemoryPublisher::default();
    let queue = RecordingQueue::default();
    let config = RunConfig::new(8);
    let done = run_or_dispatch(
        &store,
        &publisher,
        &prober(),
        Some(&queue),
        &scheduled("e0"),
        &config,
        DEFAULT_PER_SHARD,
    )
    .await
    .unwrap();
    assert_eq!(done.report.runs[0].checked, 25);
    assert!(done.fanned_out.is_empty());
    let again = dispatch(&store, &queue, &scheduled("e1"), DEFAULT_PER_SHARD)
        .await
        .unwrap();
    assert_eq!(again.in_process, [TargetKind::Server]);
    assert!(queue.sent().is_empty());
    assert_eq!(store.shard_count(TargetKind::Server).await.unwrap(), 1);

    // A budget of 10 with no queue: still one invocation.
    let alone = run_or_dispatch(
        &store,
        &publisher,
        &prober(),
        None::<&RecordingQueue>,
        &scheduled("e2"),
        &config,
        10,
    )
    .await
    .unwrap();
    assert_eq!(alone.report.runs[0].checked, 25);
    assert_eq!(store.shard_count(TargetKind::Server).await.unwrap(), 1);
}

/// What one invocation handles below the default budget.
const DEFAULT_PER_SHARD: usize = lookout_core::domain::shard::DEFAULT_TARGETS_PER_SHARD;

#[tokio::test]
async fn the_shards_check_every_target_once_and_add_up_on_one_record() {
    let live = serve(200, "ok").await;
    let dead = closed_port().await;
    let store = store_with(20, &live).await;
    for i in 20..25 {
        let t: Target = serde_json::from_value(json!({"id": format!("t{i:02}"),
            "group": format!("g{i:02}"), "kind": "server", "url": dead, "failure_threshold": 1,
            "timeout_ms": 2000}))
        .unwrap();
        store.create_target(&t.validate().unwrap()).await.unwrap();
    }
    let publisher = MemoryPublisher::default();
    let queue = RecordingQueue::default();
    let config = RunConfig::new(8);
    let p = prober();
    // The first run writes the summary; the second fans out.
    run_or_dispatch(
        &store,
        &publisher,
        &p,
        Some(&queue),
        &scheduled("e0"),
        &config,
        10,
    )
    .await
    .unwrap();
    let sent_before = publisher.sent().len();
    assert_eq!(sent_before, 5, "one alert per dead target, in process");
    let d = run_or_dispatch(
        &store,
        &publisher,
        &p,
        Some(&queue),
        &scheduled("e1"),
        &config,
        10,
    )
    .await
    .unwrap();
    assert_eq!(d.fanned_out[0].shards, 3);
    let mut checked = 0;
    let mut last = None;
    for task in queue.sent() {
        match run_shard(&store, &publisher, &p, &task, &config, None)
            .await
            .unwrap()
        {
            ShardOutcome::Ran { report, record } => {
                checked += report.runs.iter().map(|r| r.checked).sum::<usize>();
                last = Some(record);
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(checked, 25);
    let record = last.unwrap();
    assert_eq!(record.run_id, d.fanned_out[0].run_id);
    assert_eq!((record.checked, record.ok), (25, 20));
    assert_eq!((record.shards, record.shards_done), (Some(3), Some(3)));
    assert_eq!(
        publisher.sent().len(),
        sent_before,
        "no new transition, no new alert"
    );

    // A second delivery of a task that ran is not run again, and a stale one is dropped.
    let tasks = queue.sent();
    let again = run_shard(&store, &publisher, &p, &tasks[0], &config, None)
        .await
        .unwrap();
    assert!(matches!(again, ShardOutcome::NotRun { .. }), "{again:?}");
    let old = ShardTask {
        issued_at: tasks[0].issued_at - TASK_STALE_MS - 1,
        event_id: Some("old".into()),
        ..tasks[0].clone()
    };
    let stale = run_shard(&store, &publisher, &p, &old, &config, None)
        .await
        .unwrap();
    assert!(matches!(stale, ShardOutcome::Stale { .. }), "{stale:?}");
}

#[tokio::test]
async fn a_task_of_an_earlier_layout_is_dropped_unrun() {
    let live = serve(200, "ok").await;
    let store = store_with(25, &live).await;
    let publisher = MemoryPublisher::default();
    store.set_shard_count(TargetKind::Server, 3).await.unwrap();
    let config = RunConfig::new(8);
    let task = |of| ShardTask {
        kind: TargetKind::Server,
        shard: lookout_core::domain::Shard::new(0, of).unwrap(),
        event_id: Some(format!("e#server#0of{of}")),
        force: true,
        window_s: 0,
        run_id: "r1".into(),
        issued_at: config.clock.now_ms(),
    };
    // Sent when the kind had 2 shards; it has 3 now.
    let old = run_shard(&store, &publisher, &prober(), &task(2), &config, None)
        .await
        .unwrap();
    assert!(matches!(old, ShardOutcome::NotRun { .. }), "{old:?}");
    assert!(RunStore::runs(&store, TargetKind::Server, 10)
        .await
        .unwrap()
        .is_empty());
    let current = run_shard(&store, &publisher, &prober(), &task(3), &config, None)
        .await
        .unwrap();
    assert!(matches!(current, ShardOutcome::Ran { .. }), "{current:?}");
}

#[tokio::test]
async fn a_location_other_than_the_home_one_adds_no_run_record() {
    let live = serve(200, "ok").await;
    let store = store_with(25, &live).await;
    let publisher = MemoryPublisher::default();
    store.set_shard_count(TargetKind::Server, 3).await.unwrap();
    let config = RunConfig {
        locations: Some(crate::usecases::probe_run::LocationSetup {
            name: "us-east-1".into(),
            home: "eu-west-1".into(),
            all: vec!["eu-west-1".into(), "us-east-1".into()],
            grace_ms: 180_000,
        }),
        ..RunConfig::new(8)
    };
    let task = ShardTask {
        kind: TargetKind::Server,
        shard: lookout_core::domain::Shard::new(1, 3).unwrap(),
        event_id: None,
        force: true,
        window_s: 0,
        run_id: "r1".into(),
        issued_at: config.clock.now_ms(),
    };
    let out = run_shard(&store, &publisher, &prober(), &task, &config, None)
        .await
        .unwrap();
    assert!(matches!(out, ShardOutcome::Ran { .. }), "{out:?}");
    assert!(RunStore::runs(&store, TargetKind::Server, 10)
        .await
        .unwrap()
        .is_empty());
}

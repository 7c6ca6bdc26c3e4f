//! Fan-out end to end: the dispatcher sends shard tasks to a moto SQS queue, three workers
//! (`probe::local::Worker` through `QueuePoller`, what `probe --poll` runs) take them
//! concurrently against DynamoDB Local, alerts go to a moto SNS topic. Each test makes its own
//! table, topic and work queue (visibility 5 s, 3 receives, a dead-letter queue).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common;

use aws_sdk_sqs::types::QueueAttributeName;
use lookout_app::lease::LeaseTiming;
use lookout_app::ports::{KindSummary, RunRecord, RunStore, StateStore, SummaryStore, TargetStore};
use lookout_app::probe::{ProbeOptions, Prober};
use lookout_app::testing::closed_port;
use lookout_app::usecases::probe_run::fanout::run_or_dispatch;
use lookout_aws::dynamodb::DynamoStore;
use lookout_aws::sns::SnsPublisher;
use lookout_aws::sqs::{QueuePoller, SqsShardQueue};
use lookout_core::domain::{Status, Target, TargetKind};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A work queue with a short visibility timeout and a dead-letter queue after 3 receives.
async fn work_queue(sqs: &aws_sdk_sqs::Client) -> (String, String) {
    let name = common::unique("lookout-probe-work");
    let dlq = sqs
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone();
    let url = sqs
        .create_queue()
        .queue_name(&name)
        .attributes(QueueAttributeName::VisibilityTimeout, "5")
        .attributes(
            QueueAttributeName::RedrivePolicy,
            json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}).to_string(),
        )
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    (url, dlq)
}

/// A loopback server that answers 200 after `delay` (so a shard's run lasts that long).
async fn slow_server(delay: Duration) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                tokio::time::sleep(delay).await;
                let _ = s
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
            });
        }
    });
    format!("http://{addr}")
}

fn target(id: &str, url: &str) -> Target {
    serde_json::from_value::<Target>(json!({"id": id, "group": format!("group-{id}"),
        "kind": "server", "url": url, "failure_threshold": 1, "timeout_ms": 3000,
        "degraded_latency_ms": 30000}))
    .unwrap()
    .validate()
    .unwrap()
}

struct Stack {
    store: DynamoStore,
    publisher: SnsPublisher,
    queue: SqsShardQueue,
    poller: QueuePoller,
    sqs: aws_sdk_sqs::Client,
    alerts: String,
    dlq: String,
}

/// A table with 20 targets answering after `delay` and 5 refusing, a topic, a work queue, and
/// the kind's summary saying 25 targets (what the previous in-process run would have written).
async fn stack(delay: Duration) -> Stack {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let (topic, alerts, sqs) = common::fresh_topic(&aws).await;
    let (url, dlq) = work_queue(&sqs).await;
    let store = DynamoStore::new(ddb, table, 30);
    let live = slow_server(delay).await;
    let dead = closed_port().await;
    for i in 0..25 {
        let url = if i < 20 { &live } else { &dead };
        store
            .create_target(&target(&format!("t{i:02}"), url))
            .await
            .unwrap();
    }
    store
        .put_summary(&KindSummary {
            kind: TargetKind::Server,
            at: lookout_core::time::now_ms(),
            targets: 25,
            by_status: Default::default(),
            groups: Vec::new(),
            traffic_bytes: 0,
            cost: 0.0,
            last_run: None,
        })
        .await
        .unwrap();
    Stack {
        store,
        publisher: SnsPublisher::new(aws_sdk_sns::Client::new(&aws), topic),
        queue: SqsShardQueue::new(sqs.clone(), url.clone()),
        poller: QueuePoller::new(sqs.clone(), url).with_batch(1, 1),
        sqs,
        alerts,
        dlq,
    }
}

/// Runs, leases short (2 s, renewed every 0.5 s) so that a dead worker's shard is free again
/// before its task comes back (5 s).
fn config() -> probe::RunConfig {
    probe::RunConfig {
        lease: LeaseTiming {
            lease_ms: 2_000,
            every_ms: 500,
        },
        ..probe::RunConfig::new(16)
    }
}

fn prober() -> Prober {
    Prober::with_options(ProbeOptions::allow_private()).unwrap()
}

/// The run record `run_id` of the server kind, if written.
async fn record(store: &DynamoStore, run_id: &str) -> Option<RunRecord> {
    RunStore::runs(store, TargetKind::Server, 50)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.run_id == run_id)
}

/// Dispatches one forced run of the server kind at 10 targets per shard; its run id.
async fn dispatch(s: &Stack, event: &str) -> String {
    let request = probe::ProbeRequest {
        event_id: Some(event.into()),
        ..probe::ProbeRequest::forced(&[TargetKind::Server])
    };
    let out = run_or_dispatch(
        &s.store,
        &s.publisher,
        &prober(),
        Some(&s.queue),
        &request,
        &config(),
        10,
    )
    .await
    .unwrap();
    assert!(out.report.runs.is_empty(), "nothing ran in process");
    assert_eq!(out.fanned_out.len(), 1);
    assert_eq!(out.fanned_out[0].shards, 3, "25 targets at 10 per shard");
    out.fanned_out[0].run_id.clone()
}

/// Three workers polling until the run `run_id` has all 3 shards (at most `limit`).
async fn work_until_done(s: &Stack, run_id: &str, limit: Duration) -> RunRecord {
    let done = Arc::new(AtomicBool::new(false));
    let (prober, config) = (prober(), config());
    let worker = probe::local::Worker {
        store: &s.store,
        publisher: &s.publisher,
        prober: &prober,
        config: &config,
    };
    let poll = || async {
        let started = Instant::now();
        while !done.load(Ordering::SeqCst) && started.elapsed() < limit {
            let _ = worker.poll_once(&s.poller).await;
        }
    };
    let watch = async {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(r) = record(&s.store, run_id).await {
                if r.shards_done == Some(3) {
                    done.store(true, Ordering::SeqCst);
                    return Some(r);
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        done.store(true, Ordering::SeqCst);
        None
    };
    let (r, ..) = tokio::join!(watch, poll(), poll(), poll());
    r.unwrap_or_else(|| panic!("run {run_id}: not every shard reported within {limit:?}"))
}

/// The alert target ids on the topic's queue.
async fn alerted(s: &Stack) -> Vec<String> {
    let mut ids: Vec<String> = common::drain(&s.sqs, &s.alerts)
        .await
        .iter()
        .map(|e| {
            let alert: serde_json::Value =
                serde_json::from_str(e["Message"].as_str().unwrap()).unwrap();
            alert["target_id"].as_str().unwrap().to_string()
        })
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn three_workers_check_every_target_once_and_alert_once_per_failing_target() {
    let s = stack(Duration::from_millis(50)).await;
    let run_id = dispatch(&s, "tick-1").await;
    let r = work_until_done(&s, &run_id, Duration::from_secs(60)).await;
    assert_eq!((r.checked, r.ok), (25, 20));
    assert_eq!((r.shards, r.shards_done), (Some(3), Some(3)));

    // Every target checked (25 checks in all: each exactly once), the failing ones down.
    let latest = StateStore::latest(&s.store, TargetKind::Server)
        .await
        .unwrap();
    assert_eq!(latest.len(), 25);
    for (id, l) in &latest {
        assert!(l.state.last_check.is_some(), "{id} not checked");
        let want = if id.as_str() >= "t20" {
            Status::Down
        } else {
            Status::Healthy
        };
        assert_eq!(l.state.status, want, "{id}");
    }
    let ids = alerted(&s).await;
    assert_eq!(ids, ["t20", "t21", "t22", "t23", "t24"], "one alert each");
    assert_eq!(
        common::drain(&s.sqs, &s.dlq).await.len(),
        0,
        "nothing in the dead-letter queue"
    );
}

#[tokio::test]
async fn a_worker_that_dies_mid_shard_leaves_its_task_to_another_and_alerts_stay_one_each() {
    // Every check takes 1.5 s, so a worker dropped after 0.5 s dies mid-shard.
    let s = stack(Duration::from_millis(1_500)).await;
    let run_id = dispatch(&s, "tick-1").await;
    {
        let (prober, config) = (prober(), config());
        let doomed = probe::local::Worker {
            store: &s.store,
            publisher: &s.publisher,
            prober: &prober,
            config: &config,
        };
        let cut =
            tokio::time::timeout(Duration::from_millis(500), doomed.poll_once(&s.poller)).await;
        assert!(cut.is_err(), "the worker was still running its shard");
    }
    assert!(
        record(&s.store, &run_id).await.is_none(),
        "the dead worker reported nothing"
    );
    // Its task comes back after the visibility timeout (5 s), once its lease (2 s) ran out.
    let r = work_until_done(&s, &run_id, Duration::from_secs(60)).await;
    assert_eq!((r.checked, r.ok), (25, 20));
    assert_eq!(r.shards_done, Some(3));
    assert_eq!(
        alerted(&s).await,
        ["t20", "t21", "t22", "t23", "t24"],
        "one alert per transition, the dead worker's shard included"
    );
    assert_eq!(common::drain(&s.sqs, &s.dlq).await.len(), 0);
}

//! Heartbeat (push) targets on the local stack: ping records written through
//! `DynamoStore::record_ping` (concurrent pings of one target all kept), read by the probe run
//! in one BatchGetItem per round, judged (`lookout_core::domain::heartbeat::evaluate`), and the
//! alerts read back from the SQS queue subscribed to the SNS topic. The probe use case runs over
//! DynamoDB Local and moto with a manual clock stepping minutes.

use crate::common;

use std::sync::Arc;

use lookout_app::clock::{Clock as _, ManualClock};
use lookout_app::ports::{HeartbeatStore, StateStore, TargetStore};
use lookout_app::probe::{ProbeOptions, Prober};
use lookout_aws::dynamodb::DynamoStore;
use lookout_aws::sns::SnsPublisher;
use lookout_core::domain::heartbeat::{Ping, PingStatus, MAX_PINGS};
use lookout_core::domain::{ErrorKind, Status, Target, TargetKind};
use lookout_core::time::MINUTE_MS;
use probe::{run, ProbeRequest, RunConfig, RunReport};
use serde_json::{json, Value};

fn ping(at: i64, status: PingStatus, message: &str) -> Ping {
    Ping {
        at,
        status,
        exit_code: None,
        message: Some(message.into()),
        body: None,
    }
}

#[tokio::test]
async fn a_ping_record_that_does_not_decode_leaves_only_its_target_out() {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let store = DynamoStore::new(ddb.clone(), table.clone(), 30);
    let now = lookout_core::time::now_ms();
    store
        .record_ping("good", ping(now, PingStatus::Ok, "done"))
        .await
        .unwrap();
    ddb.put_item()
        .table_name(&table)
        .item(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("PING".into()),
        )
        .item(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("bad".into()),
        )
        .item(
            "version",
            aws_sdk_dynamodb::types::AttributeValue::N("1".into()),
        )
        .item(
            "z",
            aws_sdk_dynamodb::types::AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(
                b"not deflate".to_vec(),
            )),
        )
        .send()
        .await
        .unwrap();
    let ids = vec!["good".to_string(), "bad".to_string()];
    let records = store.ping_records(&ids).await.unwrap();
    assert_eq!(records.keys().collect::<Vec<_>>(), vec!["good"]);
}

#[tokio::test]
async fn concurrent_pings_of_one_target_are_all_kept() {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let store = DynamoStore::new(ddb, table, 30);
    let now = lookout_core::time::now_ms();
    let writes = (0..MAX_PINGS as i64).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .record_ping(
                    "nightly",
                    ping(now + i, PingStatus::Ok, &format!("run {i}")),
                )
                .await
        })
    });
    for w in futures::future::join_all(writes).await {
        w.expect("task").expect("record_ping");
    }
    let record = store.ping_record("nightly").await.unwrap().unwrap();
    assert_eq!(record.version, MAX_PINGS as u64, "one write per ping");
    let mut kept: Vec<i64> = record.pings.iter().map(|p| p.at - now).collect();
    kept.sort_unstable();
    assert_eq!(kept, (0..MAX_PINGS as i64).collect::<Vec<_>>());
    assert_eq!(record.last_ok_at, Some(now + MAX_PINGS as i64 - 1));
    // The run's batch read: the records that exist, by id; none for a target never pinged.
    let ids = vec!["nightly".to_string(), "never".to_string()];
    let records = store.ping_records(&ids).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records["nightly"], record);
    assert!(store.delete_ping_record("nightly").await.unwrap());
    assert_eq!(store.ping_record("nightly").await.unwrap(), None);
}

#[tokio::test]
async fn a_heartbeat_late_then_failing_then_back_alerts_once_per_change_through_sns() {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let (topic, queue, sqs) = common::fresh_topic(&aws).await;
    let store = DynamoStore::new(ddb, table, 30);
    let publisher = SnsPublisher::new(aws_sdk_sns::Client::new(&aws), topic);
    // Period 2 min, grace 1 min: late 3 min after the last ping.
    for id in ["backup", "never-pinged"] {
        let t = Target::from_json(json!({"id": id, "group": "cron", "kind": "heartbeat",
            "period_s": 120, "grace_s": 60, "token": format!("{id}-push-token-0123456789")}))
        .unwrap();
        store.create_target(&t).await.unwrap();
    }
    // Half an hour back: the store reads the history recorded up to the system clock's now,
    // and the run's fifteen minutes stay before it.
    let now = (lookout_core::time::now_ms() - 30 * MINUTE_MS) / MINUTE_MS * MINUTE_MS;
    let clock = ManualClock::at(now);
    let config = RunConfig {
        clock: Arc::new(clock.clone()),
        ..RunConfig::new(4)
    };
    let prober = Prober::with_options(ProbeOptions::allow_private()).unwrap();
    let request = ProbeRequest {
        force: false,
        ..ProbeRequest::forced(&[TargetKind::Server])
    };
    let minute = || async {
        let report: RunReport = run(&store, &publisher, &prober, &request, &config)
            .await
            .unwrap();
        clock.advance(MINUTE_MS);
        report
    };
    let status = || async {
        store
            .load_state("backup")
            .await
            .unwrap()
            .map_or(Status::Unknown, |s| s.status)
    };
    let pinged = |status: PingStatus, message: &str| {
        store.record_ping("backup", ping(clock.now_ms(), status, message))
    };

    pinged(PingStatus::Ok, "done").await.unwrap();
    for _ in 0..4 {
        let report = minute().await;
        assert_eq!(report.runs[0].checked, 1, "the pinged one only");
        assert!(report.alerts.is_empty());
    }
    assert_eq!(status().await, Status::Healthy);
    // Silent past period + grace: down once.
    let mut alerts = Vec::new();
    for _ in 0..5 {
        alerts.extend(minute().await.alerts);
    }
    assert_eq!(status().await, Status::Down);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    // Back with an ok ping, then a reported failure on the next round.
    pinged(PingStatus::Ok, "done").await.unwrap();
    minute().await;
    assert_eq!(status().await, Status::Healthy);
    pinged(PingStatus::Fail, "pg_dump: connection refused")
        .await
        .unwrap();
    minute().await;
    assert_eq!(status().await, Status::Down);
    let latest = store.latest(TargetKind::Server).await.unwrap();
    let l = &latest["backup"];
    let result = l.pending.last().or(l.result.as_ref()).unwrap();
    assert_eq!(result.error, Some(ErrorKind::Reported));
    assert!(!latest.contains_key("never-pinged"), "never judged");

    let mut sent: Vec<Value> = common::drain(&sqs, &queue)
        .await
        .iter()
        .map(|m| serde_json::from_str::<Value>(m["Message"].as_str().unwrap()).unwrap())
        .filter(|a| a["target_id"] == "backup" || a["target_id"] == "never-pinged")
        .collect();
    sent.sort_by_key(|a| a["at"].as_i64());
    let seen: Vec<(&str, &str)> = sent
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap(),
                a["new_status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("status_change", "down"),
            ("recovery", "healthy"),
            ("status_change", "down")
        ],
        "{sent:?}"
    );
    assert!(
        sent[0]["text"]
            .as_str()
            .unwrap()
            .contains("no ping for 4 min"),
        "{}",
        sent[0]["text"]
    );
    assert!(
        sent[2]["text"]
            .as_str()
            .unwrap()
            .contains("the job reported failure: pg_dump: connection refused"),
        "{}",
        sent[2]["text"]
    );
}

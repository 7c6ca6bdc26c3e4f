//! The storage layout of the probe's runs against DynamoDB Local: the snapshot is written only
//! when needed, each run adds only its packed results to the history, and the latest states
//! read back (snapshot, state items of targets that changed, history since) are the live ones.

use crate::common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use lookout_app::memory::MemoryPublisher;
use lookout_app::ports::{catch_up_all, HistoryStore, StateStore, TargetStore};
use lookout_app::probe::{ProbeOptions, Prober};
use lookout_app::testing::{Reply, TestServer};
use lookout_aws::dynamodb::DynamoStore;
use lookout_core::domain::{next_state, Status, Target, TargetKind, TargetState};
use serde_json::json;

/// `(chunk, at)` of every snapshot item of the server kind.
async fn snapshot_times(ddb: &aws_sdk_dynamodb::Client, table: &str) -> Vec<(String, i64)> {
    let got = ddb
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S("SNAP#server".into()))
        .send()
        .await
        .unwrap();
    got.items()
        .iter()
        .map(|i| {
            (
                i["sk"].as_s().unwrap().clone(),
                i["at"].as_n().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

/// The state the history alone gives: every recorded result of the target applied from a new
/// state (alerts dropped), for comparison with what the store answers.
fn from_history(target: &Target, history: &[lookout_core::domain::CheckResult]) -> TargetState {
    let mut s = TargetState::new(&target.id);
    for r in history.iter().filter(|r| r.target_id == target.id) {
        s = next_state(&s, r, target).0;
    }
    s
}

#[tokio::test]
async fn steady_runs_write_only_history_and_the_states_read_back_are_the_live_ones() {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let store = DynamoStore::new(ddb.clone(), table.clone(), 30);
    // Run n (from 1): /ok always answers 200; /breaks fails from run 3 on (down at the second
    // failure, run 4); /flaps fails on even runs (failure threshold 1: a change every run).
    let run = Arc::new(AtomicU64::new(0));
    let r = run.clone();
    let server = TestServer::start(move |req| {
        let n = r.load(Ordering::SeqCst);
        let fail = (req.path.starts_with("/breaks") && n >= 3)
            || (req.path.starts_with("/flaps") && n.is_multiple_of(2));
        if fail {
            Reply::text(500, "no")
        } else {
            Reply::text(200, "ok")
        }
    })
    .await;
    let mut defs = Vec::new();
    for i in 0..150 {
        let path = match i {
            0 => "breaks",
            1 => "flaps",
            _ => "ok",
        };
        let threshold = if i == 1 { 1 } else { 2 };
        defs.push(
            json!({"id": format!("t{i:03}"), "group": "g", "kind": "server",
            "url": format!("{}/{path}", server.url), "failure_threshold": threshold,
            "degraded_latency_ms": 30_000}),
        );
    }
    for d in &defs {
        let t: Target = serde_json::from_value(d.clone()).unwrap();
        store.create_target(&t.validate().unwrap()).await.unwrap();
    }
    let prober = Prober::with_options(ProbeOptions::allow_private()).unwrap();
    let publisher = MemoryPublisher::default();
    let request = probe::ProbeRequest::forced(&[TargetKind::Server]);
    let probe_run = |n: u64| {
        run.store(n, Ordering::SeqCst);
        let (store, publisher, prober, request) = (&store, &publisher, &prober, &request);
        async move {
            Box::pin(probe::run(
                store,
                publisher,
                prober,
                request,
                &probe::RunConfig::new(32),
            ))
            .await
            .unwrap()
        }
    };

    // The first run sees new targets: it writes the snapshot (two chunks of 100).
    probe_run(1).await;
    let first = snapshot_times(&ddb, &table).await;
    assert_eq!(first.len(), 2, "{first:?}");
    for n in 2..=6 {
        probe_run(n).await;
    }
    // Steady runs, status changes and alerts included, left the snapshot as it was.
    assert_eq!(snapshot_times(&ddb, &table).await, first);

    let targets = store.list_targets(Some(TargetKind::Server)).await.unwrap();
    let mut latest = store.latest(TargetKind::Server).await.unwrap();
    assert_eq!(latest.len(), 150);
    // What is pending: the results of runs 2 to 6 on top of the snapshot or the state item.
    assert!(latest["t100"].pending.len() == 5, "{:?}", latest["t100"]);
    catch_up_all(&mut latest, &targets);
    assert!(latest.values().all(|l| l.pending.is_empty()));
    let history = store
        .history(
            TargetKind::Server,
            lookout_core::time::now_ms() - 3_600_000,
            lookout_core::time::now_ms(),
            targets.len(),
        )
        .await
        .unwrap();
    assert_eq!(history.len(), 6 * 150);
    for t in &targets {
        let got = &latest[&t.id];
        let mut want = from_history(t, &history);
        // The version counts the state item's writes, which the history does not replay.
        want.version = got.state.version;
        assert_eq!(got.state, want, "{}", t.id);
        assert_eq!(got.result.as_ref().map(|r| r.at), want.last_check);
    }
    assert_eq!(latest["t000"].state.status, Status::Down);
    assert_eq!(latest["t000"].state.checks, 6);
    assert_eq!(latest["t000"].state.failures, 4);
    assert_eq!(latest["t001"].state.status, Status::Down);
    assert_eq!(latest["t100"].state.checks, 6);
    assert_eq!(latest["t100"].state.consecutive_successes, 6);
    // The flapping target changed in every run: each change wrote its state item, one version
    // each, and the store read it from there.
    assert_eq!(latest["t001"].state.version, 6);

    // A new target moves the shards: the next run writes the snapshot again.
    let extra: Target = serde_json::from_value(json!({"id": "t000a", "group": "g",
        "kind": "server", "url": format!("{}/ok", server.url)}))
    .unwrap();
    store
        .create_target(&extra.validate().unwrap())
        .await
        .unwrap();
    probe_run(7).await;
    let again = snapshot_times(&ddb, &table).await;
    assert_eq!(again.len(), 2);
    assert!(again.iter().all(|(_, at)| *at > first[0].1), "{again:?}");
    let latest = store.latest(TargetKind::Server).await.unwrap();
    assert!(latest.values().all(|l| l.pending.is_empty()));
    assert_eq!(latest["t100"].state.checks, 7);
    assert_eq!(latest["t000a"].state.checks, 1);

    // The history items are packed and deflated: about 40 bytes a result packed, not a JSON
    // object of 160, and stored in fewer.
    let hist = ddb
        .scan()
        .table_name(&table)
        .filter_expression("begins_with(pk, :h)")
        .expression_attribute_values(":h", AttributeValue::S("HIST#".into()))
        .send()
        .await
        .unwrap();
    let (bytes, stored, results) = hist.items().iter().fold((0, 0, 0), |(b, z, n), i| {
        let deflated = i["z"].as_b().unwrap().as_ref();
        let r = lookout_aws::dynamodb::packed::inflate(deflated).unwrap();
        let v: serde_json::Value = serde_json::from_str(&r).unwrap();
        (
            b + r.len(),
            z + deflated.len(),
            n + v.as_array().unwrap().len(),
        )
    });
    assert_eq!(results, 7 * 150 + 1);
    assert!(bytes / results < 50, "{} bytes per result", bytes / results);
    assert!(stored < bytes, "deflated {stored} of {bytes} bytes");
}

//! The DynamoDB adapter narrowed to a shard, against DynamoDB Local: bucket-range listings,
//! per-shard snapshots merged by the whole view, the fallback after a re-shard, merged
//! summaries, per-shard leases, the rewrite of legacy index keys and concurrent shard records.

use std::collections::{BTreeMap, HashSet};

use crate::common;

use aws_sdk_dynamodb::types::AttributeValue;
use lookout_app::ports::{
    HistoryStore, KindSummary, Latest, Lease, RunLease, RunRecord, RunStore, ShardLayout, Sharded,
    StateStore, SummaryStore, TargetStore,
};
use lookout_aws::dynamodb::DynamoStore;
use lookout_core::domain::{CheckResult, Outcome, Shard, Status, Target, TargetKind, TargetState};
use serde_json::json;

const KIND: TargetKind = TargetKind::Server;

async fn store() -> (DynamoStore, aws_sdk_dynamodb::Client, String) {
    let aws = common::aws().await;
    let (client, table) = common::fresh_table(&aws).await;
    (
        DynamoStore::new(client.clone(), table.clone(), 30),
        client,
        table,
    )
}

/// 300 targets in 60 groups of 5.
async fn store_with_groups() -> (DynamoStore, aws_sdk_dynamodb::Client, String) {
    let (store, client, table) = store().await;
    let creates = (0..300).map(|i| {
        let t: Target = serde_json::from_value::<Target>(json!({"id": format!("t{i:03}"),
            "group": format!("g{}", i / 5), "kind": "server", "url": "http://127.0.0.1:1/"}))
        .unwrap()
        .validate()
        .unwrap();
        let store = store.clone();
        async move { store.create_target(&t).await.unwrap() }
    });
    futures::future::join_all(creates).await;
    (store, client, table)
}

fn shard(i: u32, of: u32) -> Shard {
    Shard::new(i, of).unwrap()
}

/// An entry checked at `at` with `checks` checks and state `version`.
fn entry(id: &str, at: i64, checks: u64, version: u64) -> Latest {
    let mut s = TargetState::new(id);
    s.status = Status::Healthy;
    s.checks = checks;
    s.version = version;
    s.last_check = Some(at);
    let r = CheckResult {
        target_id: id.into(),
        kind: KIND,
        at,
        outcome: Outcome::Up,
        status_code: Some(200),
        latency_ms: 5,
        connect_ms: None,
        ttfb_ms: None,
        cert_days_left: None,
        bytes: 10,
        attempts: 1,
        error: None,
        message: None,
    };
    Latest::new(s, Some(r))
}

async fn ids_of(view: &DynamoStore) -> HashSet<String> {
    view.list_targets(Some(KIND))
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect()
}

#[tokio::test]
async fn a_narrowed_listing_is_exactly_its_shard() {
    let (store, _, _) = store_with_groups().await;
    let mut seen = HashSet::new();
    for s in Shard::all(3) {
        let view = store.for_shard(s);
        let listed = view.list_targets(Some(KIND)).await.unwrap();
        assert!(!listed.is_empty(), "{s:?}");
        for t in &listed {
            assert!(s.holds(t), "{} outside {s:?}", t.id);
            assert!(seen.insert(t.id.clone()), "{} listed twice", t.id);
        }
    }
    assert_eq!(seen.len(), 300);
    let whole = store.list_targets(Some(KIND)).await.unwrap();
    assert_eq!(whole.len(), 300);
    assert!(whole.windows(2).all(|w| w[0].id < w[1].id), "sorted by id");
}

#[tokio::test]
async fn shards_keep_their_own_snapshots_and_the_whole_view_merges_them() {
    let (store, _, _) = store_with_groups().await;
    assert_eq!(store.set_shard_count(KIND, 2).await.unwrap(), 1);
    assert_eq!(store.shard_count(KIND).await.unwrap(), 2);
    let now = lookout_core::time::now_ms();
    let mut sizes = Vec::new();
    for s in Shard::all(2) {
        let view = store.for_shard(s);
        let mine: Vec<Latest> = ids_of(&view)
            .await
            .iter()
            .map(|id| entry(id, now + i64::from(s.index), 7, 0))
            .collect();
        view.record_run(KIND, now + i64::from(s.index), &mine, true)
            .await
            .unwrap();
        sizes.push(mine.len());
    }
    let a = store.for_shard(shard(0, 2)).latest(KIND).await.unwrap();
    let b = store.for_shard(shard(1, 2)).latest(KIND).await.unwrap();
    assert_eq!(vec![a.len(), b.len()], sizes);
    assert!(a.keys().all(|id| !b.contains_key(id)), "no overlap");
    let whole = store.latest(KIND).await.unwrap();
    assert_eq!(whole.len(), 300);
    assert!(whole.values().all(|l| l.state.checks == 7));
    // The whole view's history reads both shards' results; a shard's, its own.
    let all = store.history(KIND, now - 1, now + 5, 300).await.unwrap();
    assert_eq!(all.len(), 300);
    let own = store
        .for_shard(shard(1, 2))
        .history(KIND, now - 1, now + 5, sizes[1])
        .await
        .unwrap();
    assert_eq!(own.len(), sizes[1]);
}

#[tokio::test]
async fn a_reshard_keeps_the_states_and_each_shard_then_writes_its_own_snapshot() {
    let (store, client, table) = store_with_groups().await;
    let now = lookout_core::time::now_ms() - 60_000;
    let all: Vec<Latest> = (0..300)
        .map(|i| entry(&format!("t{i:03}"), now, i, 2))
        .collect();
    store.record_run(KIND, now, &all, true).await.unwrap();
    store.set_shard_count(KIND, 3).await.unwrap();
    // The shards' runs come after the change (the layout records its time).
    let later = lookout_core::time::now_ms() + 1;
    let mut total = 0;
    for s in Shard::all(3) {
        let view = store.for_shard(s);
        let latest = view.latest(KIND).await.unwrap();
        assert_eq!(
            latest.keys().cloned().collect::<HashSet<_>>(),
            ids_of(&view).await
        );
        for (id, l) in &latest {
            assert_eq!(l.state.checks, id[1..].parse::<u64>().unwrap(), "{id}");
        }
        total += latest.len();
        // The next record (no snapshot asked) writes the shard's own snapshot.
        let next: Vec<Latest> = latest
            .values()
            .map(|l| entry(&l.state.target_id, later, l.state.checks + 1000, 2))
            .collect();
        view.record_run(KIND, later, &next, false).await.unwrap();
        let got = client
            .get_item()
            .table_name(&table)
            .key(
                "pk",
                AttributeValue::S(format!("SNAP#server#{}", s.label())),
            )
            .key("sk", AttributeValue::S("0000".into()))
            .send()
            .await
            .unwrap();
        assert!(got.item.is_some(), "{s:?} wrote its snapshot");
    }
    assert_eq!(total, 300);
    let whole = store.latest(KIND).await.unwrap();
    assert_eq!(whole.len(), 300);
    assert!(whole.values().all(|l| l.state.checks >= 1000));
    // Back to one shard: the whole view reads the shards' newer states, not its own old ones.
    assert_eq!(store.set_shard_count(KIND, 1).await.unwrap(), 3);
    let whole = store.latest(KIND).await.unwrap();
    assert_eq!(whole.len(), 300);
    assert!(whole.values().all(|l| l.state.checks >= 1000));
    assert!(store.set_shard_count(KIND, 0).await.is_err());
}

fn summary(at: i64, targets: usize, down: usize, group: &str) -> KindSummary {
    KindSummary {
        kind: KIND,
        at,
        targets,
        by_status: BTreeMap::from([("down".to_string(), down)]),
        groups: vec![lookout_core::domain::failover::GroupChoice {
            group: group.into(),
            kind: KIND,
            active: None,
            order: vec![],
            members: 1,
        }],
        traffic_bytes: 10,
        cost: 0.5,
        last_run: None,
    }
}

#[tokio::test]
async fn the_shards_summaries_are_merged() {
    let (store, _, _) = store().await;
    store.put_summary(&summary(1, 300, 9, "all")).await.unwrap();
    assert_eq!(store.summaries().await.unwrap()[0].targets, 300);
    store.set_shard_count(KIND, 3).await.unwrap();
    assert_eq!(store.summaries().await.unwrap()[0].targets, 300);
    for (i, g) in ["c", "a", "b"].iter().enumerate() {
        let i = i as u32;
        let s = summary(10 + i64::from(i), 100, 1 + i as usize, g);
        store.for_shard(shard(i, 3)).put_summary(&s).await.unwrap();
    }
    let merged = store.summaries().await.unwrap();
    assert_eq!(merged.len(), 1);
    let m = &merged[0];
    assert_eq!((m.at, m.targets, m.by_status["down"]), (12, 300, 6));
    assert_eq!((m.traffic_bytes, m.cost), (30, 1.5));
    let groups: Vec<&str> = m.groups.iter().map(|g| g.group.as_str()).collect();
    assert_eq!(groups, ["a", "b", "c"]);
    let own = store.for_shard(shard(1, 3)).summaries().await.unwrap();
    assert_eq!(own[0].groups[0].group, "a");
}

#[tokio::test]
async fn each_shard_holds_its_own_lease() {
    let (store, _, _) = store().await;
    let (a, b) = (store.for_shard(shard(0, 2)), store.for_shard(shard(1, 2)));
    let take = |s: &DynamoStore, holder: &'static str, ev: &'static str| {
        let s = s.clone();
        async move {
            s.acquire_lease(KIND, holder, 10, 100, Some(ev))
                .await
                .unwrap()
        }
    };
    assert_eq!(take(&a, "w0", "e#0of2").await, Lease::Acquired);
    assert_eq!(take(&b, "w1", "e#1of2").await, Lease::Acquired);
    assert_eq!(take(&store, "whole", "e").await, Lease::Acquired);
    assert_eq!(
        take(&a, "dup", "e#0of2").await,
        Lease::Busy { until_ms: 100 }
    );
    a.release_lease(KIND, "w0", Some("e#0of2")).await.unwrap();
    assert_eq!(take(&a, "dup", "e#0of2").await, Lease::AlreadyDone);
    assert!(b.renew_lease(KIND, "w1", 200).await.unwrap());
    assert!(!a.renew_lease(KIND, "w1", 200).await.unwrap());
    let leases = store.leases().await.unwrap();
    let shards: Vec<Option<Shard>> = leases.iter().map(|l| l.shard).collect();
    assert_eq!(shards, [None, Some(shard(0, 2)), Some(shard(1, 2))]);
    assert_eq!(leases[0].holder.as_deref(), Some("whole"));
    assert_eq!(leases[2].until_ms, 200);
    assert!(b.break_lease(KIND, 150).await.unwrap());
    let leases = store.leases().await.unwrap();
    assert_eq!(leases[2].holder, None);
    assert_eq!(leases[0].holder.as_deref(), Some("whole"));
    // The JSON of a whole lease has no `shard`.
    let v = serde_json::to_value(&leases[0]).unwrap();
    assert!(v.get("shard").is_none(), "{v}");
}

#[tokio::test]
async fn legacy_index_keys_are_rewritten_before_a_count_above_one() {
    let (store, client, table) = store_with_groups().await;
    // As written before shards: the index sort key is the id.
    for i in 0..300 {
        let id = format!("t{i:03}");
        client
            .update_item()
            .table_name(&table)
            .key("pk", AttributeValue::S(format!("TARGET#{id}")))
            .key("sk", AttributeValue::S("CONFIG".into()))
            .update_expression("SET gsi1sk = :id")
            .expression_attribute_values(":id", AttributeValue::S(id))
            .send()
            .await
            .unwrap();
    }
    let found: usize = futures::future::join_all(Shard::all(3).map(|s| {
        let view = store.for_shard(s);
        async move { view.list_targets(Some(KIND)).await }
    }))
    .await
    .into_iter()
    .map(|r| r.unwrap().len())
    .sum();
    assert!(found < 300, "legacy keys are out of the bucket ranges");
    assert_eq!(store.list_targets(Some(KIND)).await.unwrap().len(), 300);
    store.set_shard_count(KIND, 3).await.unwrap();
    let mut seen = HashSet::new();
    for s in Shard::all(3) {
        for id in ids_of(&store.for_shard(s)).await {
            assert!(seen.insert(id));
        }
    }
    assert_eq!(seen.len(), 300);
    let item = client
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S("TARGET#t007".into()))
        .key("sk", AttributeValue::S("CONFIG".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let sk = item["gsi1sk"].as_s().unwrap();
    assert!(sk.ends_with("#t007") && sk.len() == 9, "{sk}");
    assert_eq!(store.rewrite_legacy_index_keys(KIND).await.unwrap(), 0);
}

#[tokio::test]
async fn ten_concurrent_shards_add_up_in_one_run_record() {
    let (store, _, _) = store().await;
    let at = lookout_core::time::now_ms();
    let adds = (0..10u32).map(|i| {
        let view = store.for_shard(shard(i, 10));
        let r = RunRecord {
            run_id: "run-1".into(),
            kind: KIND,
            started_at: at,
            duration_ms: u64::from(i),
            checked: 100 + i as usize,
            ok: 90,
            changes: 1,
            alerts_published: 1,
            alerts_pending: 0,
            skipped: i as usize,
            shards: None,
            shards_done: None,
        };
        async move { view.add_shard_run(&r, 10).await.unwrap() }
    });
    let answers = futures::future::join_all(adds).await;
    let mut done: Vec<u32> = answers.iter().map(|r| r.shards_done.unwrap()).collect();
    done.sort_unstable();
    assert_eq!(done, (1..=10).collect::<Vec<_>>());
    let last = store.last_run(KIND).await.unwrap().unwrap();
    assert_eq!(last.shards, Some(10));
    assert_eq!(last.shards_done, Some(10));
    assert_eq!(last.checked, (100..110).sum::<usize>());
    assert_eq!((last.ok, last.changes, last.skipped), (900, 10, 45));
}

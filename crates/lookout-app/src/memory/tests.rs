//! The memory store narrowed to a shard: the same rules as the DynamoDB adapter
//! (tests/it/shard_store.rs checks those against DynamoDB Local).

use std::collections::{BTreeMap, HashSet};

use serde_json::json;

use super::MemoryStore;
use crate::ports::{
    KindSummary, Latest, Lease, LocationStore, RunLease, ShardLayout, Sharded, StateStore,
    StoreError, SummaryStore, TargetStore,
};
use lookout_core::domain::location::LocationVerdict;
use lookout_core::domain::{Shard, Status, Target, TargetKind, TargetState};

const KIND: TargetKind = TargetKind::Server;

/// 300 targets in 60 groups of 5.
async fn store_with_groups() -> MemoryStore {
    let store = MemoryStore::default();
    for i in 0..300 {
        let t: Target = serde_json::from_value(json!({"id": format!("t{i:03}"),
            "group": format!("g{}", i / 5), "kind": "server", "url": "http://h/"}))
        .unwrap();
        store.create_target(&t.validate().unwrap()).await.unwrap();
    }
    store
}

fn entry(id: &str, checks: u64, version: u64) -> Latest {
    let mut s = TargetState::new(id);
    s.checks = checks;
    s.version = version;
    s.status = Status::Healthy;
    Latest::new(s, None)
}

fn shard(i: u32, of: u32) -> Shard {
    Shard::new(i, of).unwrap()
}

#[tokio::test]
async fn a_narrowed_listing_holds_exactly_its_shard() {
    let store = store_with_groups().await;
    let mut seen = HashSet::new();
    for s in Shard::all(3) {
        let view = store.for_shard(s);
        assert_eq!(view.shard(), s);
        let listed = view.list_targets(Some(KIND)).await.unwrap();
        assert!(!listed.is_empty(), "{s:?}");
        for t in &listed {
            assert!(s.holds(t), "{} is not in {s:?}", t.id);
            assert!(seen.insert(t.id.clone()), "{} listed twice", t.id);
        }
    }
    assert_eq!(seen.len(), 300);
    assert_eq!(store.list_targets(Some(KIND)).await.unwrap().len(), 300);
    assert_eq!(store.shard(), Shard::WHOLE);
}

#[tokio::test]
async fn shards_keep_their_own_snapshots_and_the_whole_view_merges_them() {
    let store = store_with_groups().await;
    assert_eq!(store.set_shard_count(KIND, 2).await.unwrap(), 1);
    assert_eq!(store.shard_count(KIND).await.unwrap(), 2);
    for s in Shard::all(2) {
        let view = store.for_shard(s);
        let mine: Vec<Latest> = view
            .list_targets(Some(KIND))
            .await
            .unwrap()
            .iter()
            .map(|t| entry(&t.id, 7, 1))
            .collect();
        view.record_run(KIND, 1_000, &mine, true).await.unwrap();
        assert_eq!(view.latest(KIND).await.unwrap().len(), mine.len());
    }
    let a = store.for_shard(shard(0, 2)).latest(KIND).await.unwrap();
    let b = store.for_shard(shard(1, 2)).latest(KIND).await.unwrap();
    assert!(a.keys().all(|id| !b.contains_key(id)));
    let whole = store.latest(KIND).await.unwrap();
    assert_eq!(whole.len(), 300);
    assert!(whole.values().all(|l| l.state.checks == 7));
}

#[tokio::test]
async fn a_reshard_keeps_the_states_of_the_layout_before() {
    let store = store_with_groups().await;
    let all: Vec<Latest> = (0..300).map(|i| entry(&format!("t{i:03}"), i, 2)).collect();
    store.record_run(KIND, 1_000, &all, true).await.unwrap();
    // 1 → 3: each shard starts from the whole snapshot, its own targets only.
    store.set_shard_count(KIND, 3).await.unwrap();
    let mut total = 0;
    for s in Shard::all(3) {
        let view = store.for_shard(s);
        let ids: HashSet<String> = view
            .list_targets(Some(KIND))
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.id)
            .collect();
        let latest = view.latest(KIND).await.unwrap();
        assert_eq!(latest.keys().cloned().collect::<HashSet<_>>(), ids);
        for (id, l) in &latest {
            assert_eq!(l.state.checks, id[1..].parse::<u64>().unwrap(), "{id}");
        }
        total += latest.len();
    }
    assert_eq!(total, 300);
    assert_eq!(store.latest(KIND).await.unwrap().len(), 300);
    // Shard 0 moves on; 3 → 2: the new shards start from the three shards' states.
    let view = store.for_shard(shard(0, 3));
    let moved: Vec<Latest> = view
        .latest(KIND)
        .await
        .unwrap()
        .into_values()
        .map(|mut l| {
            l.state.checks += 1000;
            l.state.version += 1;
            l
        })
        .collect();
    view.record_run(KIND, 2_000, &moved, true).await.unwrap();
    assert_eq!(store.set_shard_count(KIND, 2).await.unwrap(), 3);
    let whole = store.latest(KIND).await.unwrap();
    assert_eq!(whole.len(), 300);
    let bumped = whole.values().filter(|l| l.state.checks >= 1000).count();
    assert_eq!(bumped, moved.len());
    // Back to 1: the whole view reads the shards, not its snapshot from before.
    assert_eq!(store.set_shard_count(KIND, 1).await.unwrap(), 2);
    let whole = store.latest(KIND).await.unwrap();
    assert_eq!(
        whole.values().filter(|l| l.state.checks >= 1000).count(),
        moved.len()
    );
    assert!(matches!(
        store.set_shard_count(KIND, 0).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(store.set_shard_count(KIND, 1025).await.is_err());
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
async fn summaries_of_the_shards_are_merged() {
    let store = MemoryStore::default();
    store.put_summary(&summary(1, 300, 9, "all")).await.unwrap();
    store.set_shard_count(KIND, 2).await.unwrap();
    // No shard wrote yet: the whole summary stands.
    assert_eq!(store.summaries().await.unwrap()[0].targets, 300);
    let a = store.for_shard(shard(0, 2));
    let b = store.for_shard(shard(1, 2));
    a.put_summary(&summary(5, 100, 1, "b")).await.unwrap();
    b.put_summary(&summary(7, 200, 2, "a")).await.unwrap();
    let merged = store.summaries().await.unwrap();
    assert_eq!(merged.len(), 1);
    let m = &merged[0];
    assert_eq!((m.at, m.targets, m.by_status["down"]), (7, 300, 3));
    assert_eq!((m.traffic_bytes, m.cost), (20, 1.0));
    let groups: Vec<&str> = m.groups.iter().map(|g| g.group.as_str()).collect();
    assert_eq!(groups, ["a", "b"]);
    assert_eq!(a.summaries().await.unwrap()[0].targets, 100);
}

#[tokio::test]
async fn each_shard_holds_its_own_lease() {
    let store = MemoryStore::default();
    let (a, b) = (store.for_shard(shard(0, 2)), store.for_shard(shard(1, 2)));
    let take = |s: &MemoryStore, holder: &'static str, ev: &'static str| {
        let s = s.for_shard(s.shard());
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
    assert_eq!(leases[2].until_ms, 200);
    assert!(b.break_lease(KIND, 150).await.unwrap());
    assert_eq!(store.leases().await.unwrap()[2].holder, None);
    assert_eq!(
        store.leases().await.unwrap()[0].holder.as_deref(),
        Some("whole")
    );
}

#[tokio::test]
async fn verdicts_are_kept_per_shard_and_merged_whole() {
    let store = MemoryStore::default();
    let verdict = |id: &str, location: &str| LocationVerdict {
        target_id: id.into(),
        location: location.into(),
        status: Status::Down,
        since: 1,
        at: 2,
        latency_ms: None,
        error: None,
        consecutive_failures: 1,
        consecutive_successes: 0,
    };
    let (a, b) = (store.for_shard(shard(0, 2)), store.for_shard(shard(1, 2)));
    a.put_verdicts(KIND, "eu", &[verdict("x", "eu")], 2)
        .await
        .unwrap();
    b.put_verdicts(KIND, "eu", &[verdict("y", "eu")], 2)
        .await
        .unwrap();
    b.put_verdicts(KIND, "us", &[verdict("y", "us")], 2)
        .await
        .unwrap();
    let of_a = a.verdicts(KIND).await.unwrap();
    assert_eq!(of_a.keys().collect::<Vec<_>>(), ["x"]);
    assert_eq!(b.verdicts(KIND).await.unwrap()["y"].len(), 2);
    let whole = store.verdicts(KIND).await.unwrap();
    assert_eq!((whole["x"].len(), whole["y"].len()), (1, 2));
    // A shard replaces only its own verdicts of the location.
    a.put_verdicts(KIND, "eu", &[], 3).await.unwrap();
    let whole = store.verdicts(KIND).await.unwrap();
    assert!(!whole.contains_key("x"));
    assert_eq!(whole["y"].len(), 2);
}

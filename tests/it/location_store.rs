//! The locations' verdicts and dead man's switches on DynamoDB Local (`LocationStore` of
//! `DynamoStore`).

use std::collections::HashMap;

use crate::common;

use lookout_app::ports::{LocationStore, Sharded};
use lookout_aws::dynamodb::DynamoStore;
use lookout_core::domain::location::{LocationHealth, LocationVerdict};
use lookout_core::domain::{Shard, Status, TargetKind};

const AT: i64 = 1_764_558_000_000;

async fn store() -> (aws_sdk_dynamodb::Client, String, DynamoStore) {
    let aws = common::aws().await;
    let (client, table) = common::fresh_table(&aws).await;
    let store = DynamoStore::new(client.clone(), table.clone(), 30);
    (client, table, store)
}

fn verdict(id: &str, location: &str, status: Status) -> LocationVerdict {
    LocationVerdict {
        target_id: id.into(),
        location: location.into(),
        status,
        since: AT - 60_000,
        at: AT,
        latency_ms: Some(42),
        error: (status == Status::Down).then(|| "connect: connection refused".to_string()),
        consecutive_failures: u32::from(status == Status::Down) * 3,
        consecutive_successes: u32::from(status == Status::Healthy) * 5,
    }
}

/// The verdicts by target, each target's list sorted by location (the store's order is none).
fn sorted(mut m: HashMap<String, Vec<LocationVerdict>>) -> HashMap<String, Vec<LocationVerdict>> {
    for list in m.values_mut() {
        list.sort_by(|a, b| a.location.cmp(&b.location));
    }
    m
}

/// The sort keys of partition `pk`, read from the table directly.
async fn sort_keys(client: &aws_sdk_dynamodb::Client, table: &str, pk: &str) -> Vec<String> {
    let out = client
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", aws_sdk_dynamodb::types::AttributeValue::S(pk.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    out.items()
        .iter()
        .map(|i| i["sk"].as_s().unwrap().clone())
        .collect()
}

#[tokio::test]
async fn two_locations_verdicts_are_put_and_read_together() {
    let (_, _, store) = store().await;
    let eu = vec![
        verdict("a", "eu-west-1", Status::Down),
        verdict("b", "eu-west-1", Status::Healthy),
    ];
    let us = vec![
        verdict("a", "us-east-1", Status::Healthy),
        verdict("b", "us-east-1", Status::Healthy),
    ];
    store
        .put_verdicts(TargetKind::Server, "eu-west-1", &eu, AT)
        .await
        .unwrap();
    store
        .put_verdicts(TargetKind::Server, "us-east-1", &us, AT)
        .await
        .unwrap();
    let got = sorted(store.verdicts(TargetKind::Server).await.unwrap());
    assert_eq!(got.len(), 2);
    assert_eq!(got["a"], vec![eu[0].clone(), us[0].clone()]);
    assert_eq!(got["b"], vec![eu[1].clone(), us[1].clone()]);
    assert!(
        store.verdicts(TargetKind::Proxy).await.unwrap().is_empty(),
        "another kind's partition"
    );
}

#[tokio::test]
async fn a_put_replaces_the_locations_verdicts_and_forgets_the_rest() {
    let (client, table, store) = store().await;
    let many: Vec<_> = (0..600)
        .map(|i| verdict(&format!("t{i:04}"), "eu-west-1", Status::Healthy))
        .collect();
    store
        .put_verdicts(TargetKind::Server, "eu-west-1", &many, AT)
        .await
        .unwrap();
    let other = vec![verdict("t0001", "us-east-1", Status::Down)];
    store
        .put_verdicts(TargetKind::Server, "us-east-1", &other, AT)
        .await
        .unwrap();
    assert_eq!(
        sort_keys(&client, &table, "VERDICT#server").await.len(),
        4,
        "three chunks of eu-west-1, one of us-east-1"
    );

    let fewer = vec![verdict("t0001", "eu-west-1", Status::Down)];
    store
        .put_verdicts(TargetKind::Server, "eu-west-1", &fewer, AT + 60_000)
        .await
        .unwrap();
    let got = sorted(store.verdicts(TargetKind::Server).await.unwrap());
    assert_eq!(got.len(), 1, "the other 599 targets are forgotten");
    assert_eq!(got["t0001"], vec![fewer[0].clone(), other[0].clone()]);
    assert_eq!(
        sort_keys(&client, &table, "VERDICT#server").await,
        vec!["eu-west-1#0000", "us-east-1#0000"],
        "the chunks past the new count are deleted"
    );

    store
        .put_verdicts(TargetKind::Server, "eu-west-1", &[], AT + 120_000)
        .await
        .unwrap();
    let got = store.verdicts(TargetKind::Server).await.unwrap();
    assert_eq!(got["t0001"], other, "no verdicts left from eu-west-1");
}

#[tokio::test]
async fn two_thousand_verdicts_round_trip_in_several_chunks() {
    let (client, table, store) = store().await;
    let statuses = [
        Status::Healthy,
        Status::Down,
        Status::Degraded,
        Status::Blocked,
    ];
    let many: Vec<_> = (0..2_000)
        .map(|i| {
            let mut v = verdict(&format!("target-{i:05}"), "ap-south-1", statuses[i % 4]);
            v.at = AT + i as i64;
            v.latency_ms = (i % 7 != 0).then_some(i as u64);
            v
        })
        .collect();
    store
        .put_verdicts(TargetKind::Proxy, "ap-south-1", &many, AT)
        .await
        .unwrap();
    let chunks = sort_keys(&client, &table, "VERDICT#proxy").await;
    assert!(chunks.len() >= 4, "{chunks:?}");
    let got = store.verdicts(TargetKind::Proxy).await.unwrap();
    assert_eq!(got.len(), 2_000);
    for v in &many {
        assert_eq!(got[&v.target_id], vec![v.clone()]);
    }
}

#[tokio::test]
async fn a_narrowed_stores_verdicts_are_separate_from_the_wholes() {
    let (client, table, store) = store().await;
    let shard = store.for_shard(Shard::new(1, 4).unwrap());
    let whole = vec![verdict("w", "eu-west-1", Status::Healthy)];
    let part = vec![verdict("s", "eu-west-1", Status::Down)];
    store
        .put_verdicts(TargetKind::Server, "eu-west-1", &whole, AT)
        .await
        .unwrap();
    shard
        .put_verdicts(TargetKind::Server, "eu-west-1", &part, AT)
        .await
        .unwrap();
    let w = store.verdicts(TargetKind::Server).await.unwrap();
    let s = shard.verdicts(TargetKind::Server).await.unwrap();
    assert_eq!(w.keys().collect::<Vec<_>>(), vec!["w"]);
    assert_eq!(s.keys().collect::<Vec<_>>(), vec!["s"]);
    assert_eq!(
        sort_keys(&client, &table, "VERDICT#server#1of4").await,
        vec!["eu-west-1#0000"]
    );
    // Forgetting in one leaves the other.
    shard
        .put_verdicts(TargetKind::Server, "eu-west-1", &[], AT + 1)
        .await
        .unwrap();
    assert!(shard.verdicts(TargetKind::Server).await.unwrap().is_empty());
    assert_eq!(store.verdicts(TargetKind::Server).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_heartbeat_only_moves_forward() {
    let (_, _, store) = store().await;
    assert!(!store.heartbeat("us-east-1", AT).await.unwrap());
    assert!(!store.heartbeat("eu-west-1", AT + 5).await.unwrap());
    assert!(!store.heartbeat("us-east-1", AT - 60_000).await.unwrap());
    assert!(!store.heartbeat("us-east-1", AT).await.unwrap());
    let health = store.location_health().await.unwrap();
    assert_eq!(
        health,
        vec![
            LocationHealth {
                location: "eu-west-1".into(),
                last_seen: AT + 5,
                silent: false
            },
            LocationHealth {
                location: "us-east-1".into(),
                last_seen: AT,
                silent: false
            },
        ],
        "sorted by name, the later time kept"
    );
    assert!(!store.heartbeat("us-east-1", AT + 60_000).await.unwrap());
    assert_eq!(
        store.location_health().await.unwrap()[1].last_seen,
        AT + 60_000
    );
}

#[tokio::test]
async fn one_of_eight_racing_callers_marks_a_location_silent_and_one_heartbeat_brings_it_back() {
    let (_, _, store) = store().await;
    store.heartbeat("eu-west-1", AT).await.unwrap();
    assert!(
        !store.mark_silent("eu-west-1", AT - 1).await.unwrap(),
        "a heartbeat it no longer has"
    );
    let marks = futures::future::join_all((0..8).map(|_| {
        let store = store.clone();
        async move { store.mark_silent("eu-west-1", AT).await.unwrap() }
    }))
    .await;
    assert_eq!(marks.iter().filter(|m| **m).count(), 1, "{marks:?}");
    assert!(
        !store.mark_silent("eu-west-1", AT).await.unwrap(),
        "already marked"
    );
    assert!(store.location_health().await.unwrap()[0].silent);

    // Concurrent heartbeats of later times: exactly one was the one that brought it back.
    let backs = futures::future::join_all((1..=4).map(|i| {
        let store = store.clone();
        async move { store.heartbeat("eu-west-1", AT + i * 1_000).await.unwrap() }
    }))
    .await;
    assert_eq!(backs.iter().filter(|b| **b).count(), 1, "{backs:?}");
    assert!(!store.heartbeat("eu-west-1", AT + 10_000).await.unwrap());
    let h = &store.location_health().await.unwrap()[0];
    assert_eq!((h.last_seen, h.silent), (AT + 10_000, false));

    // A location never seen is created marked, last seen 0, once.
    assert!(store.mark_silent("sa-east-1", 0).await.unwrap());
    assert!(!store.mark_silent("sa-east-1", 0).await.unwrap());
    let health = store.location_health().await.unwrap();
    assert_eq!(
        health[1],
        LocationHealth {
            location: "sa-east-1".into(),
            last_seen: 0,
            silent: true
        }
    );
    assert!(store.heartbeat("sa-east-1", AT).await.unwrap());
    assert!(!store.heartbeat("sa-east-1", AT + 1).await.unwrap());
}

#[tokio::test]
async fn after_a_re_shard_a_shard_reads_the_earlier_layouts_verdicts_until_it_writes_its_own() {
    use lookout_app::ports::ShardLayout;
    let (_client, _table, whole) = store().await;
    let kind = TargetKind::Server;
    let mut old = verdict("api", "us-east-1", Status::Down);
    old.at = 1_000;
    whole
        .put_verdicts(kind, "us-east-1", &[old.clone()], 1_000)
        .await
        .unwrap();
    whole.set_shard_count(kind, 2).await.unwrap();
    let shard = whole.for_shard(Shard::new(0, 2).unwrap());
    let got = shard.verdicts(kind).await.unwrap();
    assert_eq!(got["api"], vec![old], "read from the layout before");
    // Its own verdict, newer, is the one that counts from then on.
    let mut new = verdict("api", "us-east-1", Status::Healthy);
    new.at = 2_000;
    shard
        .put_verdicts(kind, "us-east-1", &[new.clone()], 2_000)
        .await
        .unwrap();
    let got = shard.verdicts(kind).await.unwrap();
    assert_eq!(
        got["api"],
        vec![new.clone()],
        "one verdict per location, the newest"
    );
    // The whole store reads the current layout's partitions: the shard's verdict.
    let got = whole.verdicts(kind).await.unwrap();
    assert_eq!(got["api"], vec![new]);
}

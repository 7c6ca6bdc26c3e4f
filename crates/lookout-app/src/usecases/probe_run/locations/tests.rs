//! Three locations on one memory store: the quorum decides, one alert per transition, the
//! dead man's switch.

use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::clock::ManualClock;
use crate::memory::{MemoryPublisher, MemoryStore};
use crate::ports::{StateStore, TargetStore};
use crate::probe::{ProbeOptions, Prober};
use crate::testing::serve;
use crate::usecases::probe_run::{run, ProbeRequest, RunConfig};
use lookout_core::domain::{AlertKind, Target, TargetKind};

const HOME: &str = "eu-west-1";
const ALL: [&str; 3] = ["eu-west-1", "us-east-1", "ap-south-1"];

fn setup(name: &str) -> LocationSetup {
    LocationSetup {
        name: name.into(),
        home: HOME.into(),
        all: ALL.iter().map(|s| s.to_string()).collect(),
        grace_ms: 180_000,
    }
}

fn config(name: &str, clock: &ManualClock) -> RunConfig {
    RunConfig {
        clock: Arc::new(clock.clone()),
        locations: Some(setup(name)),
        ..RunConfig::new(4)
    }
}

/// A location whose path to loopback targets works, or one whose path is broken: its address
/// guard refuses loopback, so every check of a loopback target fails there.
fn prober(path_works: bool) -> Prober {
    let options = if path_works {
        ProbeOptions::allow_private()
    } else {
        ProbeOptions::default()
    };
    Prober::with_options(options).unwrap()
}

async fn store_with(url: &str, extra: serde_json::Value) -> MemoryStore {
    let store = MemoryStore::default();
    let mut t = json!({"id":"api","group":"api","kind":"server","url": url,
        "failure_threshold": 1});
    for (k, v) in extra.as_object().unwrap() {
        t[k] = v.clone();
    }
    let t: Target = serde_json::from_value(t).unwrap();
    store.create_target(&t.validate().unwrap()).await.unwrap();
    store
}

/// One forced run of the server kind at location `name`.
async fn probe_from(
    store: &MemoryStore,
    publisher: &MemoryPublisher,
    name: &str,
    path_works: bool,
    clock: &ManualClock,
) {
    run(
        store,
        publisher,
        &prober(path_works),
        &ProbeRequest::forced(&[TargetKind::Server]),
        &config(name, clock),
    )
    .await
    .unwrap();
}

async fn status(store: &MemoryStore) -> Status {
    let latest = store.latest(TargetKind::Server).await.unwrap();
    latest
        .get("api")
        .map_or(Status::Unknown, |l| l.state.status)
}

fn transitions(publisher: &MemoryPublisher) -> Vec<Alert> {
    publisher
        .sent()
        .into_iter()
        .filter(|a| a.is_transition())
        .collect()
}

#[tokio::test]
async fn one_location_failing_does_not_flip_the_status_two_do_and_the_alert_names_them() {
    let url = serve(200, "ok").await;
    let store = store_with(&url, json!({})).await;
    let publisher = MemoryPublisher::default();
    let clock = ManualClock::at(1_800_000_000_000);
    // us-east-1's path is broken; the other two see the target.
    for (name, works) in [("us-east-1", false), ("ap-south-1", true), (HOME, true)] {
        probe_from(&store, &publisher, name, works, &clock).await;
    }
    assert_eq!(status(&store).await, Status::Healthy);
    clock.advance(60_000);
    for (name, works) in [("us-east-1", false), ("ap-south-1", true), (HOME, true)] {
        probe_from(&store, &publisher, name, works, &clock).await;
    }
    assert_eq!(status(&store).await, Status::Healthy, "1 of 3 is no quorum");
    assert!(transitions(&publisher).is_empty());
    // Now ap-south-1 breaks too: 2 of 3.
    clock.advance(60_000);
    for (name, works) in [("us-east-1", false), ("ap-south-1", false), (HOME, true)] {
        probe_from(&store, &publisher, name, works, &clock).await;
    }
    assert_eq!(status(&store).await, Status::Down);
    let sent = transitions(&publisher);
    assert_eq!(sent.len(), 1, "one alert: {sent:?}");
    assert!(
        sent[0].text.contains(
            "down from 2 of 3 locations (ap-south-1, us-east-1); eu-west-1 sees it healthy"
        ),
        "{}",
        sent[0].text
    );
    let split = sent[0].locations.clone().unwrap();
    assert_eq!(split.failing, vec!["ap-south-1", "us-east-1"]);
    // The same again raises nothing more; the locations that are not home raise nothing ever.
    clock.advance(60_000);
    for (name, works) in [("us-east-1", false), ("ap-south-1", false), (HOME, true)] {
        probe_from(&store, &publisher, name, works, &clock).await;
    }
    assert_eq!(transitions(&publisher).len(), 1);
    // Both paths mend: one recovery.
    clock.advance(60_000);
    for name in ["us-east-1", "ap-south-1", HOME] {
        probe_from(&store, &publisher, name, true, &clock).await;
    }
    assert_eq!(status(&store).await, Status::Healthy);
    let sent = transitions(&publisher);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].kind, AlertKind::Recovery);
}

#[tokio::test]
async fn a_location_that_stops_reporting_is_alerted_once_and_leaves_the_quorum() {
    let url = serve(200, "ok").await;
    let store = store_with(&url, json!({})).await;
    let publisher = MemoryPublisher::default();
    let clock = ManualClock::at(1_800_000_000_000);
    // us-east-1 and ap-south-1 both see it down, then us-east-1 stops reporting.
    probe_from(&store, &publisher, "us-east-1", false, &clock).await;
    probe_from(&store, &publisher, "ap-south-1", false, &clock).await;
    probe_from(&store, &publisher, HOME, true, &clock).await;
    assert_eq!(status(&store).await, Status::Down);
    for _ in 0..4 {
        clock.advance(60_000);
        probe_from(&store, &publisher, "ap-south-1", true, &clock).await;
        probe_from(&store, &publisher, HOME, true, &clock).await;
    }
    // us-east-1's down verdict is 4 minutes old: stale, out of the quorum.
    assert_eq!(status(&store).await, Status::Healthy);
    let silent: Vec<Alert> = publisher
        .sent()
        .into_iter()
        .filter(|a| a.key.starts_with("location#us-east-1#silent#"))
        .collect();
    assert_eq!(silent.len(), 1, "one alert for the silent location");
    let health = store.location_health().await.unwrap();
    let us = health.iter().find(|h| h.location == "us-east-1").unwrap();
    assert!(us.silent);
    // It reports again: one "back" alert, raised by that location itself.
    probe_from(&store, &publisher, "us-east-1", true, &clock).await;
    probe_from(&store, &publisher, "us-east-1", true, &clock).await;
    let back = publisher
        .sent()
        .into_iter()
        .filter(|a| a.key.starts_with("location#us-east-1#back#"))
        .count();
    assert_eq!(back, 1);
}

#[tokio::test]
async fn a_target_the_home_location_does_not_probe_is_decided_from_the_others() {
    let url = serve(200, "ok").await;
    let store = store_with(
        &url,
        json!({"locations": ["us-east-1", "ap-south-1"], "quorum": {"count": 1}}),
    )
    .await;
    let publisher = MemoryPublisher::default();
    let clock = ManualClock::at(1_800_000_000_000);
    probe_from(&store, &publisher, "us-east-1", true, &clock).await;
    probe_from(&store, &publisher, "ap-south-1", true, &clock).await;
    probe_from(&store, &publisher, HOME, false, &clock).await;
    assert_eq!(
        status(&store).await,
        Status::Healthy,
        "home's broken path does not count"
    );
    clock.advance(60_000);
    probe_from(&store, &publisher, "us-east-1", false, &clock).await;
    probe_from(&store, &publisher, HOME, true, &clock).await;
    assert_eq!(status(&store).await, Status::Down, "a count of 1 is enough");
    let verdicts = store.verdicts(TargetKind::Server).await.unwrap();
    let locations: Vec<&str> = verdicts["api"]
        .iter()
        .map(|v| v.location.as_str())
        .collect();
    assert!(
        !locations.contains(&HOME),
        "home keeps no verdict of it: {locations:?}"
    );
}

#[tokio::test]
async fn a_re_shard_keeps_the_locations_verdicts_and_raises_nothing() {
    use crate::ports::{Located, ShardLayout, Sharded};
    use lookout_core::domain::Shard;
    let url = serve(200, "ok").await;
    let store = MemoryStore::default();
    for (id, group) in [("api", "api"), ("web", "web"), ("db", "db")] {
        let t: Target = serde_json::from_value(json!({"id": id, "group": group,
            "kind": "server", "url": url, "failure_threshold": 3}))
        .unwrap();
        store.create_target(&t.validate().unwrap()).await.unwrap();
    }
    let publisher = MemoryPublisher::default();
    let clock = ManualClock::at(1_800_000_000_000);
    // Two of three locations fail every target, three times: down, one alert each.
    let minute = |shard: Shard| {
        let store = &store;
        let publisher = &publisher;
        let clock = &clock;
        async move {
            for (name, works) in [("us-east-1", false), ("ap-south-1", false), (HOME, true)] {
                let view = if name == HOME {
                    store.for_shard(shard)
                } else {
                    store.at_location(name).for_shard(shard)
                };
                let request = ProbeRequest::forced(&[TargetKind::Server]);
                run(
                    &view,
                    publisher,
                    &prober(works),
                    &request,
                    &config(name, clock),
                )
                .await
                .unwrap();
            }
        }
    };
    for _ in 0..3 {
        minute(Shard::WHOLE).await;
        clock.advance(60_000);
    }
    let latest = store.latest(TargetKind::Server).await.unwrap();
    assert!(latest.values().all(|l| l.state.status == Status::Down));
    assert_eq!(transitions(&publisher).len(), 3);
    // Split in two: each shard's first round finds no verdicts of its own and reads the
    // earlier layout's, so the failure counts carry on and nothing flips.
    store.set_shard_count(TargetKind::Server, 2).await.unwrap();
    for _ in 0..2 {
        for shard in Shard::all(2) {
            minute(shard).await;
        }
        clock.advance(60_000);
    }
    let latest = store.latest(TargetKind::Server).await.unwrap();
    assert!(
        latest.values().all(|l| l.state.status == Status::Down),
        "{:?}",
        latest.values().map(|l| l.state.status).collect::<Vec<_>>()
    );
    assert_eq!(
        transitions(&publisher).len(),
        3,
        "no alert from the re-shard"
    );
}

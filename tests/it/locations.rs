//! Three probe locations on the local stack: three probe runs with their own
//! `LOOKOUT_LOCATION`, on one DynamoDB Local table, alerts through moto SNS. One location's path
//! to the target is broken (`LOOKOUT_PROBE_RESOLVE` points its name at a loopback address where
//! nothing listens): one location failing does not flip the status, two do, and the one alert
//! names them; a location that stops reporting is alerted on once and leaves the quorum.

use std::collections::HashMap;
use std::sync::Arc;

use crate::common;

use lookout_app::clock::ManualClock;
use lookout_app::config::Settings;
use lookout_app::ports::{Located, LocationStore, StateStore, TargetStore};
use lookout_app::probe::Prober;
use lookout_app::testing::serve;
use lookout_aws::dynamodb::DynamoStore;
use lookout_aws::sns::SnsPublisher;
use lookout_core::domain::{Status, Target, TargetKind};
use serde_json::{json, Value};

const HOME: &str = "eu-west-1";
const HOST: &str = "app.lookout.test";

/// One location's probe: its settings from an environment, its store view and prober.
struct Location {
    store: DynamoStore,
    prober: Prober,
    config: probe::RunConfig,
}

/// The location `name` on `table`; `path_works` false points the target's name at a loopback
/// address where nothing listens.
fn location(base: &DynamoStore, name: &str, path_works: bool, clock: &ManualClock) -> Location {
    let pin = if path_works { "127.0.0.1" } else { "127.0.0.9" };
    let env: HashMap<&str, String> = HashMap::from([
        ("LOOKOUT_TABLE", "unused".to_string()),
        ("LOOKOUT_LOCATIONS", "eu-west-1,us-east-1,ap-south-1".into()),
        ("LOOKOUT_LOCATION", name.into()),
        ("LOOKOUT_ALLOW_PRIVATE_TARGETS", "true".into()),
        ("LOOKOUT_PROBE_RESOLVE", format!("{HOST}={pin}")),
    ]);
    let settings = Settings::from_lookup(|k| env.get(k).cloned()).unwrap();
    let setup = settings.locations.clone().unwrap();
    let store = if setup.is_home() {
        base.clone()
    } else {
        base.at_location(name)
    };
    Location {
        store,
        prober: Prober::with_options(settings.probe_options()).unwrap(),
        config: probe::RunConfig {
            clock: Arc::new(clock.clone()),
            locations: Some(setup),
            ..probe::RunConfig::new(4)
        },
    }
}

/// The three locations run at once (their own run leases), the home one's decision from the
/// verdicts stored so far.
async fn minute(locations: &[&Location], publisher: &SnsPublisher) {
    let request = probe::ProbeRequest::forced(&[TargetKind::Server]);
    let runs = locations
        .iter()
        .map(|l| probe::run(&l.store, publisher, &l.prober, &request, &l.config));
    for report in futures::future::join_all(runs).await {
        let report = report.unwrap();
        assert!(report.not_run.is_empty(), "{:?}", report.not_run);
    }
}

/// The alerts on the topic so far (SNS envelopes' messages).
async fn alerts(sqs: &aws_sdk_sqs::Client, queue: &str, seen: &mut Vec<Value>) -> Vec<Value> {
    for envelope in common::drain(sqs, queue).await {
        let message = envelope["Message"].as_str().unwrap();
        seen.push(serde_json::from_str(message).unwrap());
    }
    seen.clone()
}

async fn status(store: &DynamoStore) -> Status {
    let latest = store.latest(TargetKind::Server).await.unwrap();
    latest
        .get("app")
        .map_or(Status::Unknown, |l| l.state.status)
}

#[tokio::test]
async fn two_of_three_locations_flip_the_status_with_one_alert_naming_them() {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let (topic, queue, sqs) = common::fresh_topic(&aws).await;
    let base = DynamoStore::new(ddb, table, 30);
    let publisher = SnsPublisher::new(aws_sdk_sns::Client::new(&aws), topic);
    let live = serve(200, "ok").await;
    let port = live.rsplit(':').next().unwrap().trim_end_matches('/');
    let target: Target = serde_json::from_value(json!({"id":"app","group":"api","kind":"server",
        "url": format!("http://{HOST}:{port}/health"), "failure_threshold": 1,
        "timeout_ms": 3000, "degraded_latency_ms": 30000}))
    .unwrap();
    base.create_target(&target.validate().unwrap())
        .await
        .unwrap();
    // In the past: the store reads the history recorded up to the real time now.
    let clock = ManualClock::at(lookout_core::time::now_ms() - 30 * 60_000);
    let mut seen = Vec::new();

    // us-east-1's path is broken.
    let home = location(&base, HOME, true, &clock);
    let us_broken = location(&base, "us-east-1", false, &clock);
    let ap = location(&base, "ap-south-1", true, &clock);
    for _ in 0..2 {
        minute(&[&us_broken, &ap, &home], &publisher).await;
        clock.advance(60_000);
    }
    assert_eq!(status(&base).await, Status::Healthy, "1 of 3 is no quorum");
    assert!(alerts(&sqs, &queue, &mut seen).await.is_empty());

    // ap-south-1's breaks too. The home location decides from the verdicts it reads, so the
    // change may come one minute later than the verdicts.
    let ap_broken = location(&base, "ap-south-1", false, &clock);
    for _ in 0..3 {
        minute(&[&us_broken, &ap_broken, &home], &publisher).await;
        clock.advance(60_000);
    }
    assert_eq!(status(&base).await, Status::Down);
    let got = alerts(&sqs, &queue, &mut seen).await;
    assert_eq!(got.len(), 1, "exactly one alert: {got:?}");
    let text = got[0]["text"].as_str().unwrap();
    assert!(
        text.contains(
            "down from 2 of 3 locations (ap-south-1, us-east-1); eu-west-1 sees it healthy"
        ),
        "{text}"
    );
    assert_eq!(
        got[0]["locations"]["failing"],
        json!(["ap-south-1", "us-east-1"])
    );
    let verdicts = base.verdicts(TargetKind::Server).await.unwrap();
    assert_eq!(verdicts["app"].len(), 3, "one verdict per location");

    // ap-south-1 stops reporting: after the grace period (180 s) it is alerted on once and its
    // verdict, stale, leaves the quorum: us-east-1 failing is 1 of the 2 reporting, half, so
    // the target stays down (no flapping, no second alert).
    for _ in 0..5 {
        minute(&[&us_broken, &home], &publisher).await;
        clock.advance(60_000);
    }
    let got = alerts(&sqs, &queue, &mut seen).await;
    let kinds: Vec<&str> = got.iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["status_change", "location_silent"]);
    assert_eq!(status(&base).await, Status::Down);
    let health = base.location_health().await.unwrap();
    assert!(health
        .iter()
        .any(|h| h.location == "ap-south-1" && h.silent));
    let silent = got.iter().find(|a| a["kind"] == "location_silent").unwrap();
    assert!(
        silent["text"].as_str().unwrap().contains("ap-south-1"),
        "{silent}"
    );

    // It reports again, its path mended: one "back" alert, and 1 of 3 failing is healthy again,
    // one recovery.
    for _ in 0..2 {
        minute(&[&us_broken, &ap, &home], &publisher).await;
        clock.advance(60_000);
    }
    minute(&[&us_broken, &ap, &home], &publisher).await;
    let got = alerts(&sqs, &queue, &mut seen).await;
    let mut kinds: Vec<&str> = got.iter().map(|a| a["kind"].as_str().unwrap()).collect();
    // The "back" alert (ap-south-1's run) and the recovery (the home run's) come from runs at
    // the same minute, in either order.
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        vec![
            "location_back",
            "location_silent",
            "recovery",
            "status_change"
        ]
    );
    assert_eq!(status(&base).await, Status::Healthy);
}

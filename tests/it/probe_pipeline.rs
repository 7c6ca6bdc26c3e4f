//! The probe function with its real adapters: DynamoDB Local for state and outbox, moto SNS for
//! alerts (read back from a subscribed SQS queue), real loopback servers and a real proxy.py.

use crate::common;

use lookout_app::ports::{Outbox, StateStore, TargetStore};
use lookout_app::probe::Prober;
use lookout_app::testing::{closed_port, serve};
use lookout_aws::dynamodb::DynamoStore;
use lookout_aws::sns::SnsPublisher;
use lookout_core::domain::{ErrorKind, Outcome, Status, Target, TargetKind};
use serde_json::json;

fn target(v: serde_json::Value) -> Target {
    serde_json::from_value::<Target>(v)
        .unwrap()
        .validate()
        .unwrap()
}

#[tokio::test]
async fn three_runs_take_dead_targets_down_with_exactly_one_alert_each_on_the_topic() {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let (topic, queue, sqs) = common::fresh_topic(&aws).await;
    let store = DynamoStore::new(ddb, table, 30);
    let publisher = SnsPublisher::new(aws_sdk_sns::Client::new(&aws), topic);
    let proxy = common::forward_proxy("demo:secret").await;
    let live = serve(200, "ok").await;
    let dead = closed_port().await;
    let dead_proxy = closed_port().await.replace("http://", "");
    for t in [
        json!({"id":"live","group":"api","kind":"server","url": format!("{live}/health"),"timeout_ms":3000,"degraded_latency_ms":30000}),
        json!({"id":"dead","group":"api","kind":"server","url": dead,"timeout_ms":3000,"degraded_latency_ms":30000}),
        json!({"id":"px-live","group":"pool","kind":"proxy","proxy_url": format!("http://demo:secret@{}", proxy.addr),
               "cost_per_gb": 2.0, "test_urls":[format!("{live}/ip")],"timeout_ms":3000,"degraded_latency_ms":30000}),
        json!({"id":"px-dead","group":"pool","kind":"proxy","proxy_type":"vps","proxy_url": format!("http://demo:secret@{dead_proxy}"),
               "test_urls":[format!("{live}/ip")],"timeout_ms":3000,"degraded_latency_ms":30000}),
    ] {
        store.create_target(&target(t)).await.unwrap();
    }
    let prober = Prober::with_options(lookout_app::probe::ProbeOptions::allow_private()).unwrap();
    let all_now = probe::ProbeRequest::forced(&TargetKind::ALL);
    for _ in 0..3 {
        probe::run(
            &store,
            &publisher,
            &prober,
            &all_now,
            &probe::RunConfig::new(4),
        )
        .await
        .unwrap();
    }
    // A fourth run changes nothing and sends nothing.
    let report = probe::run(
        &store,
        &publisher,
        &prober,
        &all_now,
        &probe::RunConfig::new(4),
    )
    .await
    .unwrap();
    assert!(report.alerts.is_empty());

    let mut statuses = Vec::new();
    for kind in TargetKind::ALL {
        for (id, l) in store.latest(kind).await.unwrap() {
            statuses.push((id, l.state.status));
        }
    }
    statuses.sort();
    assert_eq!(
        statuses,
        vec![
            ("dead".to_string(), Status::Down),
            ("live".to_string(), Status::Healthy),
            ("px-dead".to_string(), Status::Down),
            ("px-live".to_string(), Status::Healthy),
        ]
    );
    let live_proxy = &store.latest(TargetKind::Proxy).await.unwrap()["px-live"].state;
    assert!(
        live_proxy.traffic_bytes > 0 && live_proxy.cost > 0.0,
        "{live_proxy:?}"
    );

    let messages = common::drain(&sqs, &queue).await;
    let mut down: Vec<String> = messages
        .iter()
        .map(|m| serde_json::from_str::<serde_json::Value>(m["Message"].as_str().unwrap()).unwrap())
        .map(|a| {
            format!(
                "{}:{}",
                a["target_id"].as_str().unwrap(),
                a["new_status"].as_str().unwrap()
            )
        })
        .collect();
    down.sort();
    assert_eq!(down, vec!["dead:down", "px-dead:down"]);
    for m in &messages {
        assert!(
            !m.to_string().contains("secret"),
            "credentials leaked into an alert: {m}"
        );
    }
    assert!(
        store
            .pending_alerts(lookout_core::time::now_ms())
            .await
            .unwrap()
            .is_empty(),
        "every alert is marked published"
    );
}

#[tokio::test]
async fn a_proxy_check_goes_through_basic_auth_and_tells_bad_credentials_from_a_dead_proxy() {
    let proxy = common::forward_proxy("demo:secret").await;
    let live = serve(200, "ok").await;
    let blocked = serve(403, "go away").await;
    let dead = closed_port().await.replace("http://", "");
    let prober = Prober::with_options(lookout_app::probe::ProbeOptions::allow_private()).unwrap();
    let check = |proxy_url: String, test_url: String| {
        target(
            json!({"id":"p","group":"pool","kind":"proxy","proxy_url": proxy_url,"test_urls":[test_url],"timeout_ms":3000,"degraded_latency_ms":30000}),
        )
    };
    let ok = prober
        .check(
            &check(
                format!("http://demo:secret@{}", proxy.addr),
                format!("{live}/ip"),
            ),
            0,
        )
        .await;
    assert_eq!(
        (ok.outcome, ok.status_code),
        (Outcome::Up, Some(200)),
        "{ok:?}"
    );
    assert!(ok.bytes > 0);

    let refused = prober
        .check(
            &check(
                format!("http://demo:wrong@{}", proxy.addr),
                format!("{live}/ip"),
            ),
            0,
        )
        .await;
    assert_eq!(
        (refused.outcome, refused.error),
        (Outcome::Failed, Some(ErrorKind::ProxyAuth)),
        "{refused:?}"
    );

    // For an https test URL the proxy answers the CONNECT; a 407 there is proxy_auth too, not
    // an unreachable proxy (the tunnel fails before any upstream is contacted).
    let https = prober
        .check(
            &check(
                format!("http://demo:wrong@{}", proxy.addr),
                "https://127.0.0.1:9/".into(),
            ),
            0,
        )
        .await;
    assert_eq!(
        (https.outcome, https.error),
        (Outcome::Failed, Some(ErrorKind::ProxyAuth)),
        "{https:?}"
    );

    let gone = prober
        .check(
            &check(format!("http://demo:secret@{dead}"), format!("{live}/ip")),
            0,
        )
        .await;
    assert_eq!(
        (gone.outcome, gone.error),
        (Outcome::Failed, Some(ErrorKind::Proxy)),
        "{gone:?}"
    );
    assert!(gone.message.as_deref().unwrap().contains("unreachable"));

    let upstream_refuses = prober
        .check(
            &check(
                format!("http://demo:secret@{}", proxy.addr),
                format!("{blocked}/"),
            ),
            0,
        )
        .await;
    assert_eq!(
        (upstream_refuses.outcome, upstream_refuses.status_code),
        (Outcome::Blocked, Some(403))
    );
    for r in [&ok, &refused, &gone, &upstream_refuses] {
        assert!(
            !format!("{r:?}").contains("secret"),
            "credentials leaked into a result: {r:?}"
        );
    }
}

#[tokio::test]
async fn a_probe_run_that_dies_blocks_its_kind_for_one_short_lease_not_until_its_deadline() {
    use lookout_app::ports::RunLease;
    use lookout_app::testing::{Reply, TestServer};
    use std::time::{Duration, Instant};
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let (topic, _queue, _sqs) = common::fresh_topic(&aws).await;
    let store = DynamoStore::new(ddb, table, 30);
    let publisher = SnsPublisher::new(aws_sdk_sns::Client::new(&aws), topic);
    // A server that takes 4 s to answer keeps the run busy.
    let slow = TestServer::start(|_| {
        Reply::Delay(Duration::from_secs(4), Box::new(Reply::text(200, "ok")))
    })
    .await;
    store
        .create_target(&target(
            json!({"id":"slow","group":"api","kind":"server","url": slow.url,
            "timeout_ms": 10_000, "degraded_latency_ms": 30_000}),
        ))
        .await
        .unwrap();
    let prober = Prober::with_options(lookout_app::probe::ProbeOptions::allow_private()).unwrap();
    // The production lease scaled down: 1.5 s renewed every 0.4 s; the deadline 5 minutes away.
    let config = probe::RunConfig {
        lease: lookout_app::lease::LeaseTiming {
            lease_ms: 1_500,
            every_ms: 400,
        },
        ..probe::RunConfig::new(4)
    };
    let started = lookout_core::time::now_ms();
    let request = probe::ProbeRequest {
        deadline_ms: Some(started + 300_000),
        ..probe::ProbeRequest::forced(&[TargetKind::Server])
    };
    // 2.5 s into the run (past its first lease's end) the process dies: the run's future is
    // dropped mid-probe, nothing is released.
    let lease = tokio::select! {
        r = probe::run(&store, &publisher, &prober, &request, &config) => panic!("the run ended early: {r:?}"),
        lease = async {
            tokio::time::sleep(Duration::from_millis(2_500)).await;
            store.leases().await.unwrap().remove(0)
        } => lease,
    };
    let died = Instant::now();
    let now = lookout_core::time::now_ms();
    assert!(lease.holder.is_some(), "{lease:?}");
    assert!(
        lease.until_ms > started + 1_500 && lease.until_ms <= now + 1_500,
        "a short lease, renewed while the run worked, not the deadline: {lease:?} at {now}"
    );
    // The next invocation is refused while the dead run's lease runs, and runs once it is over.
    let mut waited = None;
    for _ in 0..50 {
        let l = store.leases().await.unwrap().remove(0);
        if l.until_ms < lookout_core::time::now_ms() {
            waited = Some(died.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let waited = waited.expect("the lease ran out within 5 s");
    assert!(waited <= Duration::from_millis(2_000), "blocked {waited:?}");
    let next = probe::run(&store, &publisher, &prober, &request, &config)
        .await
        .unwrap();
    assert!(next.not_run.is_empty(), "{:?}", next.not_run);
    assert_eq!(next.runs[0].checked, 1);
}

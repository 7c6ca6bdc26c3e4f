//! The probe function with its real adapters: DynamoDB Local for state and outbox, moto SNS for
//! alerts (read back from a subscribed SQS queue), real loopback servers and a real proxy.py.

mod common;

use lookout::adapters::dynamodb::DynamoStore;
use lookout::adapters::sns::SnsPublisher;
use lookout::domain::{ErrorKind, Outcome, Status, Target, TargetKind};
use lookout::ports::{Outbox, StateStore, TargetStore};
use lookout::probe::Prober;
use lookout::testing::{closed_port, serve};
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
    let prober = Prober::with_options(lookout::probe::ProbeOptions::allow_private()).unwrap();
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
            .pending_alerts(lookout::time::now_ms())
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
    let prober = Prober::with_options(lookout::probe::ProbeOptions::allow_private()).unwrap();
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

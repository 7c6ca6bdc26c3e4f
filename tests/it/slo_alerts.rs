//! The end-to-end check on the local stack: an SLO over a loopback target that starts
//! failing pages within the short window and resolves after it recovers. The probe use case
//! runs over DynamoDB Local and moto SNS with a manual clock stepping minutes; the alerts are
//! read back from the SQS queue subscribed to the topic.

use crate::common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use lookout_app::clock::ManualClock;
use lookout_app::ports::{SloStore, TargetStore};
use lookout_app::probe::{ProbeOptions, Prober};
use lookout_app::testing::{Reply, TestServer};
use lookout_aws::dynamodb::DynamoStore;
use lookout_aws::sns::SnsPublisher;
use lookout_core::domain::slo::{Sli, Slo, SloSelector, SloWindow};
use lookout_core::domain::{AlertKind, Target, TargetKind};
use lookout_core::time::{DAY_MS, MINUTE_MS};
use probe::{run, ProbeRequest, RunConfig, RunReport};
use serde_json::{json, Value};

#[tokio::test]
async fn an_slo_over_a_failing_loopback_target_pages_within_the_short_window_and_resolves() {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let (topic, queue, sqs) = common::fresh_topic(&aws).await;
    let store = DynamoStore::new(ddb, table, 30);
    let publisher = SnsPublisher::new(aws_sdk_sns::Client::new(&aws), topic);
    let failing = Arc::new(AtomicBool::new(false));
    let f = failing.clone();
    let server = TestServer::start(move |_| {
        if f.load(Ordering::SeqCst) {
            Reply::text(500, "down")
        } else {
            Reply::text(200, "ok")
        }
    })
    .await;
    let target = Target::from_json(json!({"id": "checkout-api", "group": "checkout",
        "kind": "server", "url": format!("{}/health", server.url), "interval_s": 60,
        "timeout_ms": 2000}))
    .unwrap();
    store.create_target(&target).await.unwrap();
    let now = lookout_core::time::now_ms() / MINUTE_MS * MINUTE_MS;
    store
        .put_slo(&Slo {
            id: "checkout".into(),
            name: "Checkout API".into(),
            description: None,
            selector: SloSelector::Group("checkout".into()),
            objective: 99.9,
            window: SloWindow::Rolling30d,
            sli: Sli::Availability,
            exclude_maintenance: true,
            alerts: true,
            version: 1,
            created_at: now,
            updated_at: now,
        })
        .await
        .unwrap();
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
    let raised =
        |r: &RunReport, kind: AlertKind| r.alerts.iter().filter(|a| a.kind == kind).count();

    for _ in 0..10 {
        assert_eq!(raised(&minute().await, AlertKind::SloBurn), 0);
    }
    failing.store(true, Ordering::SeqCst);
    let mut paged_after = None;
    for round in 1..=5 {
        if raised(&minute().await, AlertKind::SloBurn) > 0 {
            paged_after = Some(round);
            break;
        }
    }
    assert_eq!(
        paged_after,
        Some(1),
        "paged within the 5-minute short window"
    );
    for _ in 0..2 {
        assert_eq!(
            raised(&minute().await, AlertKind::SloBurn),
            0,
            "no second page"
        );
    }
    failing.store(false, Ordering::SeqCst);
    let mut resolved_after = None;
    for round in 1..=31 {
        if raised(&minute().await, AlertKind::SloBurnResolved) > 0 {
            resolved_after = Some(round);
            break;
        }
    }
    assert_eq!(
        resolved_after,
        Some(30),
        "resolved once page_6h's 30-minute short window holds no failure"
    );

    let slo_alerts: Vec<Value> = common::drain(&sqs, &queue)
        .await
        .iter()
        .map(|m| serde_json::from_str::<Value>(m["Message"].as_str().unwrap()).unwrap())
        .filter(|a| a["kind"].as_str().unwrap().starts_with("slo_"))
        .collect();
    let mut seen: Vec<(&str, &str, &str)> = slo_alerts
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap(),
                a["slo"]["alert"].as_str().unwrap(),
                a["severity"].as_str().unwrap(),
            )
        })
        .collect();
    seen.sort_unstable();
    assert_eq!(
        seen,
        [
            ("slo_burn", "page", "critical"),
            ("slo_burn", "ticket", "warning"),
            ("slo_burn_resolved", "page", "info"),
        ]
    );
    let page = slo_alerts
        .iter()
        .find(|a| a["kind"] == "slo_burn" && a["slo"]["alert"] == "page")
        .unwrap();
    assert_eq!(page["target_name"], "Checkout API");
    assert_eq!(page["group"], "checkout");
    assert_eq!(page["targets"], json!(["checkout-api"]));
    assert!(page["subject"]
        .as_str()
        .unwrap()
        .starts_with("[CRITICAL] SLO Checkout API: error budget burning"));
    let record = store.slo_record("checkout").await.unwrap().unwrap();
    let counted = record.series.since(now, now + DAY_MS);
    assert_eq!(
        (counted.total, counted.good),
        (43, 40),
        "every check counted once"
    );
    assert_eq!(record.version, 43, "one write per round");
}

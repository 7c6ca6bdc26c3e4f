use lookout::adapters::memory::{MemoryPublisher, MemoryStore};
use lookout::domain::{Status, TargetKind};
use lookout::ports::{Outbox, StateStore, TargetStore};
use lookout::testing::{closed_port, serve};
use serde_json::json;

use super::*;

async fn store_with(targets: serde_json::Value) -> MemoryStore {
    let store = MemoryStore::default();
    for t in targets.as_array().unwrap() {
        let t: Target = serde_json::from_value(t.clone()).unwrap();
        store.create_target(&t.validate().unwrap()).await.unwrap();
    }
    store
}

#[test]
fn the_event_kind_selects_what_is_probed() {
    assert_eq!(
        kinds_of(&json!({"kind":"server"})).unwrap(),
        vec![TargetKind::Server]
    );
    assert_eq!(
        kinds_of(&json!({"kind":"proxy"})).unwrap(),
        vec![TargetKind::Proxy]
    );
    let scheduled: Value =
        serde_json::from_str(include_str!("../../../events/scheduled.json")).unwrap();
    assert_eq!(kinds_of(&scheduled).unwrap(), TargetKind::ALL.to_vec());
    assert!(matches!(
        kinds_of(&json!({"kind":"dns"})),
        Err(ProbeError::InvalidEvent(_))
    ));
}

#[tokio::test]
async fn a_dead_server_goes_down_on_the_third_run_with_one_published_alert() {
    let live = serve(200, "ok").await;
    let dead = closed_port().await;
    let store = store_with(json!([
        {"id":"live","group":"api","kind":"server","url": format!("{live}/health"),"timeout_ms":2000},
        {"id":"dead","group":"api","kind":"server","url": format!("{dead}/health"),"timeout_ms":2000},
    ]))
    .await;
    let publisher = MemoryPublisher::default();
    let prober = Prober::new().unwrap();
    for run_no in 1..=3 {
        let report = run(&store, &publisher, &prober, &[TargetKind::Server], 4)
            .await
            .unwrap();
        let expected_alerts = if run_no == 3 { 1 } else { 0 };
        assert_eq!(
            report.alerts.len(),
            expected_alerts,
            "run {run_no}: {:?}",
            report.alerts
        );
        assert_eq!(report.runs[0].checked, 2);
    }
    let latest = store.latest(TargetKind::Server).await.unwrap();
    assert_eq!(latest["dead"].state.status, Status::Down);
    assert_eq!(latest["live"].state.status, Status::Healthy);
    assert_eq!(latest["live"].state.checks, 3);
    let sent = publisher.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].target_id.as_str(), sent[0].new_status),
        ("dead", Status::Down)
    );
    // State items are written on status change only: unknown→healthy and unknown→down, once each.
    let states = store.states();
    assert_eq!((states["live"].version, states["dead"].version), (1, 1));
    assert!(store.outbox().iter().all(|(_, published)| *published));
    assert_eq!(store.history_len(), 6);
    assert_eq!(store.runs().len(), 3);
}

#[tokio::test]
async fn an_alert_whose_publish_fails_stays_pending_and_goes_out_on_the_next_run() {
    let dead = closed_port().await;
    let store = store_with(json!([
        {"id":"dead","group":"api","kind":"server","url": dead,"failure_threshold":1,"timeout_ms":2000},
    ]))
    .await;
    let publisher = MemoryPublisher::default();
    let prober = Prober::new().unwrap();
    publisher.set_failing(true);
    let report = run(&store, &publisher, &prober, &[TargetKind::Server], 4)
        .await
        .unwrap();
    assert_eq!(
        (
            report.runs[0].alerts_published,
            report.runs[0].alerts_pending
        ),
        (0, 1)
    );
    assert_eq!(store.pending_alerts(0).await.unwrap().len(), 1);
    publisher.set_failing(false);
    let report = run(&store, &publisher, &prober, &[TargetKind::Server], 4)
        .await
        .unwrap();
    assert_eq!(report.retried_alerts, 1);
    assert!(report.alerts.is_empty(), "still down: no new alert");
    assert_eq!(publisher.sent().len(), 1);
    assert!(store.pending_alerts(0).await.unwrap().is_empty());
}

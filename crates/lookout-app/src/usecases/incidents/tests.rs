use std::sync::Mutex;

use super::*;
use crate::memory::{MemoryPublisher, MemoryStore};
use crate::ports::{deliver, Outbox};
use lookout_core::domain::incident::IncidentSource;
use lookout_core::domain::{AlertKind, Severity, Status, TargetKind};

fn alert(kind: AlertKind, target: &str, new: Status, at: i64) -> Alert {
    Alert {
        key: format!("{target}#{}#{at}", new.as_str()),
        kind,
        severity: Severity::Critical,
        target_id: target.into(),
        target_name: target.into(),
        target_kind: TargetKind::Server,
        group: "g".into(),
        old_status: Status::Healthy,
        new_status: new,
        at,
        subject: format!("{target} is {}", new.as_str()),
        text: String::new(),
        targets: Vec::new(),
        changes: Vec::new(),
        tags: Vec::new(),
        locations: None,
        slo: None,
    }
}

fn down(target: &str, at: i64) -> Alert {
    alert(AlertKind::StatusChange, target, Status::Down, at)
}

fn back(target: &str, at: i64) -> Alert {
    alert(AlertKind::Recovery, target, Status::Healthy, at)
}

#[tokio::test]
async fn a_down_alert_opens_an_incident_its_recovery_resolves_it_and_each_change_is_noticed_once() {
    let (store, notices) = (MemoryStore::default(), MemoryPublisher::default());
    let d = down("web", 1_000);
    let written = record_alert(&store, &notices, &d).await.unwrap();
    assert_eq!(written.len(), 1);
    assert!(record_alert(&store, &notices, &d).await.unwrap().is_empty());
    let r = back("web", 2_000);
    record_alert(&store, &notices, &r).await.unwrap();
    let stored = store.incident("auto-web-1000").await.unwrap().unwrap();
    assert_eq!(stored.status, IncidentStatus::Resolved);
    assert_eq!(stored.version, 2);
    // Both again, after it closed: nothing is written, no second notice.
    assert!(record_alert(&store, &notices, &d).await.unwrap().is_empty());
    assert!(record_alert(&store, &notices, &r).await.unwrap().is_empty());
    let sent = notices.notices();
    assert_eq!(sent.len(), 2);
    assert!(
        sent[0].1.starts_with("Incident: web — investigating"),
        "{}",
        sent[0].1
    );
    assert!(sent[1].1.contains("web: healthy"), "{}", sent[1].1);
    assert!(
        sent[1].1.contains("Resolved 1970-01-01T00:00:02"),
        "{}",
        sent[1].1
    );
}

/// A store whose first read of the open incidents lets another writer in right after it, as a
/// concurrent delivery of another alert would.
struct Racing {
    inner: MemoryStore,
    race: Mutex<Option<Alert>>,
}

impl IncidentStore for Racing {
    async fn put_incident(&self, incident: &Incident) -> Result<(), StoreError> {
        self.inner.put_incident(incident).await
    }
    async fn incident(&self, id: &str) -> Result<Option<Incident>, StoreError> {
        self.inner.incident(id).await
    }
    async fn incidents(&self, since: i64, until: i64) -> Result<Vec<Incident>, StoreError> {
        self.inner.incidents(since, until).await
    }
    async fn open_incidents(&self) -> Result<Vec<Incident>, StoreError> {
        let open = self.inner.open_incidents().await?;
        let other = self.race.lock().unwrap().take();
        if let Some(other) = other {
            record_alert(&self.inner, &MemoryPublisher::default(), &other)
                .await
                .unwrap();
        }
        Ok(open)
    }
    async fn delete_incident(&self, id: &str) -> Result<bool, StoreError> {
        self.inner.delete_incident(id).await
    }
}

#[tokio::test]
async fn a_conflict_is_read_again_and_applied_again() {
    let store = Racing {
        inner: MemoryStore::default(),
        race: Mutex::new(None),
    };
    let notices = MemoryPublisher::default();
    record_alert(&store, &notices, &down("web", 1_000))
        .await
        .unwrap();
    // While the recovery of web is being recorded, a second failure of web (blocked) is
    // written to the same incident by another delivery.
    *store.race.lock().unwrap() = Some(alert(
        AlertKind::StatusChange,
        "web",
        Status::Blocked,
        1_500,
    ));
    let written = record_alert(&store, &notices, &back("web", 2_000))
        .await
        .unwrap();
    assert_eq!(written.len(), 1);
    let stored = store
        .inner
        .incident("auto-web-1000")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.version, 3, "opened, blocked, recovered");
    assert_eq!(stored.status, IncidentStatus::Resolved);
    assert_eq!(stored.updates.len(), 3);
    assert_eq!(notices.notices().len(), 2);
}

#[tokio::test]
async fn operator_incidents_and_other_alerts_are_not_touched() {
    let (store, notices) = (MemoryStore::default(), MemoryPublisher::default());
    let draft = lookout_core::domain::incident::IncidentDraft::parse(
        serde_json::json!({"title": "db", "targets": ["web"]}),
    )
    .unwrap();
    let op = Incident::from_draft(draft, "inc-1".into(), 10).unwrap();
    store.put_incident(&op).await.unwrap();
    record_alert(&store, &notices, &back("web", 20))
        .await
        .unwrap();
    record_alert(
        &store,
        &notices,
        &alert(AlertKind::Reminder, "web", Status::Down, 30),
    )
    .await
    .unwrap();
    assert_eq!(store.incident("inc-1").await.unwrap().unwrap(), op);
    assert_eq!(store.open_incidents().await.unwrap().len(), 1);
    assert_eq!(op.source, IncidentSource::Operator);
    assert!(notices.notices().is_empty());
}

#[tokio::test]
async fn a_delivery_whose_incidents_cannot_be_written_leaves_the_alert_pending_and_unpublished() {
    let (store, publisher) = (MemoryStore::default(), MemoryPublisher::default());
    let a = down("web", lookout_core::time::now_ms());
    store.enqueue(std::slice::from_ref(&a)).await.unwrap();
    store.set_failing_incidents(true);
    assert_eq!(
        deliver(&store, &publisher, &a).await,
        crate::ports::Delivery::Failed
    );
    assert!(publisher.sent().is_empty());
    assert_eq!(store.pending_alerts(0).await.unwrap().len(), 1);
    store.set_failing_incidents(false);
    assert!(deliver(&store, &publisher, &a).await.published());
    assert_eq!(store.open_incidents().await.unwrap().len(), 1);
    // A failed publish after the incident was written: the next delivery writes nothing more.
    let r = back("web", lookout_core::time::now_ms() + 1);
    store.enqueue(std::slice::from_ref(&r)).await.unwrap();
    publisher.set_failing(true);
    assert_eq!(
        deliver(&store, &publisher, &r).await,
        crate::ports::Delivery::Failed
    );
    publisher.set_failing(false);
    assert!(deliver(&store, &publisher, &r).await.published());
    let all = store.incidents(0, i64::MAX).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].version, 2);
    assert_eq!(all[0].status, IncidentStatus::Resolved);
    // The resolve's notice went out while the publisher was failing: notices are sent once,
    // after the write, and not again with the alert's retry.
    assert_eq!(publisher.notices().len(), 1);
}

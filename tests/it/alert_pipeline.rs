//! The alert pipeline end to end: the probe function with DynamoDB Local and moto SNS, alerts
//! read back from the SQS queue subscribed to the topic.

use crate::common;

use lookout_app::ports::{
    deliver, deliver_with, Delivery, DeliveryOptions, Outbox, StateStore, StoreError, TargetStore,
};
use lookout_app::probe::{ProbeOptions, Prober};
use lookout_app::testing::{closed_port, serve};
use lookout_aws::dynamodb::DynamoStore;
use lookout_aws::sns::SnsPublisher;
use lookout_core::domain::{Status, Target, TargetKind};
use probe::{run, ProbeRequest, RunConfig};
use serde_json::{json, Value};

struct Stack {
    store: DynamoStore,
    publisher: SnsPublisher,
    sqs: aws_sdk_sqs::Client,
    queue: String,
    aws: aws_config::SdkConfig,
}

async fn stack() -> Stack {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let (topic, queue, sqs) = common::fresh_topic(&aws).await;
    Stack {
        store: DynamoStore::new(ddb, table, 30),
        publisher: SnsPublisher::new(aws_sdk_sns::Client::new(&aws), topic),
        sqs,
        queue,
        aws,
    }
}

fn config() -> RunConfig {
    RunConfig::new(16)
}

fn prober() -> Prober {
    Prober::with_options(ProbeOptions::allow_private()).unwrap()
}

fn request(force: bool, event_id: Option<&str>) -> ProbeRequest {
    ProbeRequest {
        kinds: vec![TargetKind::Server],
        force,
        window_s: 0,
        deadline_ms: None,
        event_id: event_id.map(str::to_string),
    }
}

/// One forced run of the server kind, with the test configuration.
async fn run_now(s: &Stack) -> probe::RunReport {
    run(
        &s.store,
        &s.publisher,
        &prober(),
        &request(true, None),
        &config(),
    )
    .await
    .unwrap()
}

/// A server `web` in group `g` at `url`.
async fn add_web(s: &Stack, url: &str) {
    add(
        &s.store,
        json!({"id":"web","group":"g","kind":"server","url": url, "timeout_ms": 1000}),
    )
    .await;
}

async fn add(store: &DynamoStore, v: Value) {
    let t = Target::from_json(v).unwrap();
    store.create_target(&t).await.unwrap();
}

/// The alerts on the queue: (kind, target id, new status), sorted.
async fn received(s: &Stack) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = common::drain(&s.sqs, &s.queue)
        .await
        .iter()
        .map(|m| serde_json::from_str::<Value>(m["Message"].as_str().unwrap()).unwrap())
        .map(|a| {
            (
                a["kind"].as_str().unwrap().to_string(),
                a["target_id"].as_str().unwrap().to_string(),
                a["new_status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn inside_a_maintenance_window_state_changes_but_no_alert_goes_out() {
    let s = stack().await;
    let dead = closed_port().await;
    let now = lookout_core::time::now_ms();
    let window = json!([{"start": lookout_core::time::rfc3339(now - 60_000),
        "end": lookout_core::time::rfc3339(now + 3_600_000), "reason": "upgrade"}]);
    add(
        &s.store,
        json!({"id":"in-maint","group":"a","kind":"server","url": dead,
        "failure_threshold": 1, "timeout_ms": 1000, "maintenance": window}),
    )
    .await;
    add(
        &s.store,
        json!({"id":"outside","group":"b","kind":"server","url": dead,
        "failure_threshold": 1, "timeout_ms": 1000}),
    )
    .await;
    run_now(&s).await;
    assert_eq!(
        s.store
            .load_state("in-maint")
            .await
            .unwrap()
            .unwrap()
            .status,
        Status::Down
    );
    assert_eq!(
        received(&s).await,
        vec![("status_change".into(), "outside".into(), "down".into())],
        "only the target outside its window alerts"
    );
}

#[tokio::test]
async fn a_storm_of_changes_is_one_grouped_alert() {
    let s = stack().await;
    let dead = closed_port().await;
    for i in 0..12 {
        add(
            &s.store,
            json!({"id": format!("edge-{i:02}"), "group": format!("g{}", i % 3),
            "kind":"server","url": dead, "failure_threshold": 1, "timeout_ms": 1000}),
        )
        .await;
    }
    let report = run_now(&s).await;
    assert_eq!(report.runs[0].changes, 12);
    // The round wrote the kind's summary for GET /v1/summary.
    use lookout_app::ports::SummaryStore;
    let summaries = s.store.summaries().await.unwrap();
    assert_eq!(
        (summaries[0].targets, summaries[0].by_status["down"]),
        (12, 12)
    );
    let got = common::drain(&s.sqs, &s.queue).await;
    let bodies: Vec<Value> = got
        .iter()
        .map(|m| serde_json::from_str(m["Message"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert_eq!(bodies[0]["kind"], "storm");
    assert_eq!(bodies[0]["targets"].as_array().unwrap().len(), 12);
    assert_eq!(got[0]["MessageAttributes"]["kind"]["Value"], "storm");
    assert_eq!(got[0]["MessageAttributes"]["severity"]["Value"], "critical");
    // Every state change was still written.
    for i in 0..12 {
        let id = format!("edge-{i:02}");
        assert_eq!(
            s.store.load_state(&id).await.unwrap().unwrap().status,
            Status::Down
        );
    }
}

#[tokio::test]
async fn a_failed_publish_is_delivered_exactly_once_by_a_later_run() {
    let s = stack().await;
    let dead = closed_port().await;
    add(
        &s.store,
        json!({"id":"db","group":"g","kind":"server","url": dead,
        "failure_threshold": 1, "timeout_ms": 1000}),
    )
    .await;
    // A topic that does not exist: every publish fails.
    let broken = SnsPublisher::new(
        aws_sdk_sns::Client::new(&s.aws),
        "arn:aws:sns:us-east-1:123456789012:no-such-topic".to_string(),
    );
    let first = run(
        &s.store,
        &broken,
        &prober(),
        &request(true, None),
        &config(),
    )
    .await
    .unwrap();
    assert_eq!(
        (first.runs[0].alerts_published, first.runs[0].alerts_pending),
        (0, 1)
    );
    assert!(received(&s).await.is_empty());
    for _ in 0..2 {
        run_now(&s).await;
    }
    assert_eq!(
        received(&s).await,
        vec![("status_change".into(), "db".into(), "down".into())]
    );
    assert!(s.store.pending_alerts(0).await.unwrap().is_empty());
}

#[tokio::test]
async fn two_concurrent_invocations_make_one_run_and_one_set_of_alerts() {
    let s = stack().await;
    let dead = closed_port().await;
    let live = serve(200, "ok").await;
    for (id, url) in [("down-1", &dead), ("down-2", &dead), ("up-1", &live)] {
        add(
            &s.store,
            json!({"id": id, "group":"g","kind":"server","url": url,
            "failure_threshold": 1, "timeout_ms": 1000}),
        )
        .await;
    }
    let p = prober();
    let event = request(false, Some("evt-42"));
    let cfg = config();
    let (a, b) = tokio::join!(
        run(&s.store, &s.publisher, &p, &event, &cfg),
        run(&s.store, &s.publisher, &p, &event, &cfg)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let checked: usize = a.runs.iter().chain(&b.runs).map(|r| r.checked).sum();
    assert_eq!(checked, 3, "one run checked the targets: {a:?} {b:?}");
    let left_out: Vec<&String> = a.not_run.iter().chain(&b.not_run).collect();
    assert_eq!(left_out.len(), 1, "{left_out:?}");
    assert!(left_out[0].contains("lease") || left_out[0].contains("already handled"));
    // The same event delivered again later: handled once.
    let again = run(&s.store, &s.publisher, &p, &event, &config())
        .await
        .unwrap();
    assert!(
        again.not_run[0].contains("already handled"),
        "{:?}",
        again.not_run
    );
    assert_eq!(
        received(&s).await,
        vec![
            ("status_change".into(), "down-1".into(), "down".into()),
            ("status_change".into(), "down-2".into(), "down".into()),
        ]
    );
}

#[tokio::test]
async fn a_group_with_no_usable_server_left_raises_group_critical_once() {
    let s = stack().await;
    let dead = closed_port().await;
    for id in ["api-a", "api-b"] {
        add(
            &s.store,
            json!({"id": id, "group":"api","kind":"server","url": dead,
            "failure_threshold": 1, "timeout_ms": 1000}),
        )
        .await;
    }
    for _ in 0..2 {
        run_now(&s).await;
    }
    assert_eq!(
        received(&s).await,
        vec![
            ("group_critical".into(), "".into(), "down".into()),
            ("status_change".into(), "api-a".into(), "down".into()),
            ("status_change".into(), "api-b".into(), "down".into()),
        ]
    );
}

#[tokio::test]
async fn an_operator_override_reaches_the_next_run_and_the_status() {
    use lookout_core::domain::{apply_override, Override};
    let s = stack().await;
    let live = serve(200, "ok").await;
    add_web(&s, &live).await;
    run_now(&s).await;
    // What POST /v1/targets/web/actions/mark-down writes.
    let target = s.store.list_targets(None).await.unwrap().remove(0);
    let snapshot = s.store.latest(TargetKind::Server).await.unwrap()["web"]
        .state
        .clone();
    let (down, alerts) = apply_override(
        &snapshot,
        Override::MarkDown,
        lookout_core::time::now_ms(),
        &target,
    );
    s.store
        .commit_override(TargetKind::Server, &down, &alerts)
        .await
        .unwrap();
    assert_eq!(
        s.store.overrides(TargetKind::Server).await.unwrap().len(),
        1
    );
    // The next run starts from the override (down), sees the server answer and recovers.
    let report = run_now(&s).await;
    assert_eq!(report.runs[0].changes, 1, "{report:?}");
    assert_eq!(
        s.store.load_state("web").await.unwrap().unwrap().status,
        Status::Healthy
    );
    assert!(
        s.store
            .overrides(TargetKind::Server)
            .await
            .unwrap()
            .is_empty(),
        "taken into the snapshot"
    );
    assert_eq!(
        received(&s).await,
        vec![
            ("recovery".into(), "web".into(), "healthy".into()),
            ("status_change".into(), "web".into(), "down".into()),
        ]
    );
}

/// `n` alerts of distinct keys, as the digest or a grouped alert enqueues them.
fn alerts(n: usize) -> Vec<lookout_core::domain::Alert> {
    let now = lookout_core::time::now_ms();
    (0..n)
        .map(|i| lookout_core::domain::Alert {
            key: format!("t{i}#down#{now}"),
            kind: lookout_core::domain::AlertKind::StatusChange,
            severity: lookout_core::domain::Severity::Critical,
            target_id: format!("t{i}"),
            target_name: format!("t{i}"),
            target_kind: TargetKind::Server,
            group: "g".into(),
            old_status: Status::Healthy,
            new_status: Status::Down,
            at: now,
            subject: format!("t{i} is down"),
            text: "down".into(),
            targets: Vec::new(),
            changes: Vec::new(),
            tags: Vec::new(),
            locations: None,
            slo: None,
        })
        .collect()
}

/// The `alert_key` message attribute of every message on the queue, sorted.
async fn received_keys(s: &Stack) -> Vec<String> {
    let mut keys: Vec<String> = common::drain(&s.sqs, &s.queue)
        .await
        .iter()
        .map(|m| {
            let body: Value = serde_json::from_str(m["Message"].as_str().unwrap()).unwrap();
            let key = m["MessageAttributes"]["alert_key"]["Value"]
                .as_str()
                .unwrap_or_else(|| panic!("no alert_key attribute: {m}"))
                .to_string();
            assert_eq!(body["key"], key.as_str(), "the attribute is the body's key");
            key
        })
        .collect();
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_deliveries_over_the_same_pending_rows_publish_each_alert_once() {
    let s = stack().await;
    let raised = alerts(6);
    assert_eq!(s.store.enqueue(&raised).await.unwrap().len(), 6);
    // Two runs (say the digest and a probe run, or a duplicate invocation) read the same
    // pending rows and deliver them at the same time.
    let pass = |store: lookout_aws::dynamodb::DynamoStore, publisher: SnsPublisher| {
        tokio::spawn(async move {
            let pending = store.pending_alerts(0).await.unwrap();
            assert_eq!(pending.len(), 6, "both runs see every row pending");
            let mut published = 0;
            for a in &pending {
                published += usize::from(deliver(&store, &publisher, a).await.published());
            }
            published
        })
    };
    let (a, b) = tokio::join!(
        pass(s.store.clone(), s.publisher.clone()),
        pass(s.store.clone(), s.publisher.clone())
    );
    assert_eq!(a.unwrap() + b.unwrap(), 6);
    let mut want: Vec<String> = raised.iter().map(|a| a.key.clone()).collect();
    want.sort();
    assert_eq!(received_keys(&s).await, want, "each key once on the topic");
    assert!(s.store.pending_alerts(0).await.unwrap().is_empty());
}

/// The real DynamoDB outbox whose mark is dropped (as when the UpdateItem after the publish
/// fails, or the function times out before it): claims, releases and reads go through.
struct MarkDropped<'a>(&'a lookout_aws::dynamodb::DynamoStore);

impl Outbox for MarkDropped<'_> {
    async fn pending_alerts(
        &self,
        now_ms: i64,
    ) -> Result<Vec<lookout_core::domain::Alert>, StoreError> {
        self.0.pending_alerts(now_ms).await
    }
    async fn claim_alert(
        &self,
        alert: &lookout_core::domain::Alert,
        holder: &str,
        now_ms: i64,
        claim_until_ms: i64,
    ) -> Result<bool, StoreError> {
        self.0
            .claim_alert(alert, holder, now_ms, claim_until_ms)
            .await
    }
    async fn mark_published(
        &self,
        _alert: &lookout_core::domain::Alert,
        _holder: &str,
    ) -> Result<(), StoreError> {
        Err(StoreError::Backend("injected: UpdateItem dropped".into()))
    }
    async fn release_claim(
        &self,
        alert: &lookout_core::domain::Alert,
        holder: &str,
    ) -> Result<(), StoreError> {
        self.0.release_claim(alert, holder).await
    }
    async fn enqueue(
        &self,
        alerts: &[lookout_core::domain::Alert],
    ) -> Result<Vec<lookout_core::domain::Alert>, StoreError> {
        self.0.enqueue(alerts).await
    }
}

/// Incidents go to the real store (every delivered alert is recorded in them).
impl lookout_app::ports::IncidentStore for MarkDropped<'_> {
    async fn put_incident(
        &self,
        incident: &lookout_core::domain::incident::Incident,
    ) -> Result<(), StoreError> {
        self.0.put_incident(incident).await
    }
    async fn incident(
        &self,
        id: &str,
    ) -> Result<Option<lookout_core::domain::incident::Incident>, StoreError> {
        self.0.incident(id).await
    }
    async fn incidents(
        &self,
        since_ms: i64,
        until_ms: i64,
    ) -> Result<Vec<lookout_core::domain::incident::Incident>, StoreError> {
        self.0.incidents(since_ms, until_ms).await
    }
    async fn open_incidents(
        &self,
    ) -> Result<Vec<lookout_core::domain::incident::Incident>, StoreError> {
        self.0.open_incidents().await
    }
    async fn delete_incident(&self, id: &str) -> Result<bool, StoreError> {
        self.0.delete_incident(id).await
    }
}

#[tokio::test]
async fn a_published_alert_whose_mark_failed_is_not_published_again_while_its_claim_holds() {
    let s = stack().await;
    let a = alerts(1).remove(0);
    s.store.enqueue(std::slice::from_ref(&a)).await.unwrap();
    // A delivery publishes, then every attempt to mark the row fails.
    assert_eq!(
        deliver(&MarkDropped(&s.store), &s.publisher, &a).await,
        Delivery::PublishedUnmarked
    );
    assert_eq!(
        s.store.pending_alerts(0).await.unwrap(),
        vec![a.clone()],
        "not marked"
    );
    // The next probe runs of the kind retry pending alerts, and start while the claim holds:
    // they leave this one alone.
    for _ in 0..2 {
        let next = run_now(&s).await;
        assert_eq!(next.retried_alerts, 0, "{next:?}");
    }
    assert_eq!(
        received_keys(&s).await,
        vec![a.key.clone()],
        "published once"
    );
}

#[tokio::test]
async fn an_alert_whose_mark_was_lost_goes_out_again_once_its_claim_expires() {
    // The residual at-least-once case the README documents: the claim outlives a delivery
    // that died between publish and mark only for `claim_ms`.
    let s = stack().await;
    let a = alerts(1).remove(0);
    s.store.enqueue(std::slice::from_ref(&a)).await.unwrap();
    let short = DeliveryOptions {
        claim_ms: 1_500,
        // Under the claim, as the defaults are (a publish must not outlive its claim).
        publish_timeout_ms: 1_000,
        mark_attempts: 3,
        mark_backoff_ms: 20,
    };
    assert_eq!(
        deliver_with(&MarkDropped(&s.store), &s.publisher, &a, &short).await,
        Delivery::PublishedUnmarked
    );
    assert_eq!(
        deliver(&s.store, &s.publisher, &a).await,
        Delivery::Claimed,
        "the claim still holds"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1_600)).await;
    assert_eq!(
        deliver(&s.store, &s.publisher, &a).await,
        Delivery::Published
    );
    assert_eq!(
        deliver(&s.store, &s.publisher, &a).await,
        Delivery::Claimed,
        "published rows stay published"
    );
    assert_eq!(
        received_keys(&s).await,
        vec![a.key.clone(), a.key.clone()],
        "the repeat carries the same alert_key, for subscribers to drop"
    );
}

#[tokio::test]
async fn a_failed_publish_gives_the_claim_back_at_once() {
    let s = stack().await;
    let a = alerts(1).remove(0);
    s.store.enqueue(std::slice::from_ref(&a)).await.unwrap();
    let broken = SnsPublisher::new(
        aws_sdk_sns::Client::new(&s.aws),
        "arn:aws:sns:us-east-1:123456789012:no-such-topic".to_string(),
    );
    assert_eq!(deliver(&s.store, &broken, &a).await, Delivery::Failed);
    // No waiting for a claim to expire: the next run sends it.
    assert_eq!(
        deliver(&s.store, &s.publisher, &a).await,
        Delivery::Published
    );
    assert_eq!(received_keys(&s).await, vec![a.key.clone()]);
}

//! Incidents (issue 18) against the local stack: the DynamoDB adapter of `IncidentStore`
//! (conditional writes, listing windows, the TTL attribute once closed), a real probe run whose
//! storm of 12 dead loopback targets is ONE auto incident resolved when they come back (with a
//! notice of each change on a moto SNS topic), the incident routes over DynamoDB Local, and an
//! e-mail subscription through the API on moto SNS (protocol `email`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use lookout_app::ports::{IncidentStore, StoreError, TargetStore};
use lookout_app::probe::{ProbeOptions, Prober};
use lookout_app::testing::{Reply, TestServer};
use lookout_aws::dynamodb::{DynamoStore, PK, SK, TTL};
use lookout_aws::sns::{SnsIncidentNotices, SnsPublisher};
use lookout_core::domain::incident::{
    AffectedTarget, Incident, IncidentKind, IncidentSource, IncidentStatus, INCIDENT_TTL_DAYS,
};
use lookout_core::domain::{Status, Target, TargetKind};
use serde_json::{json, Value};

use crate::common;

const DAY: i64 = 86_400_000;

fn incident(id: &str, opened_at: i64, resolved_at: Option<i64>) -> Incident {
    Incident {
        id: id.into(),
        kind: IncidentKind::Incident,
        source: IncidentSource::Operator,
        title: format!("title of {id}"),
        status: if resolved_at.is_some() {
            IncidentStatus::Resolved
        } else {
            IncidentStatus::Investigating
        },
        targets: vec![AffectedTarget {
            id: "web".into(),
            name: "Web".into(),
            status: Status::Down,
        }],
        more_targets: 0,
        dropped_updates: 0,
        opened_at,
        resolved_at,
        starts_at: None,
        ends_at: None,
        updates: Vec::new(),
        postmortem: None,
        version: 1,
    }
}

async fn expires_at(ddb: &aws_sdk_dynamodb::Client, table: &str, id: &str) -> Option<i64> {
    let item = ddb
        .get_item()
        .table_name(table)
        .key(
            PK,
            aws_sdk_dynamodb::types::AttributeValue::S("INCIDENTS".into()),
        )
        .key(SK, aws_sdk_dynamodb::types::AttributeValue::S(id.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .expect("the incident's item");
    item.get(TTL).map(|v| v.as_n().unwrap().parse().unwrap())
}

#[tokio::test]
async fn the_dynamodb_adapter_writes_on_the_version_lists_windows_and_expires_closed_incidents() {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let store = DynamoStore::new(ddb.clone(), &table, 30);
    let now = 1_800_000_000_000;

    let mut open = incident("inc-open", now - 2 * DAY, None);
    store.put_incident(&open).await.unwrap();
    assert!(matches!(
        store.put_incident(&open).await,
        Err(StoreError::Conflict(_))
    ));
    open.version = 3;
    assert!(matches!(
        store.put_incident(&open).await,
        Err(StoreError::Conflict(_))
    ));
    open.version = 2;
    open.title = "<script>alert(1)</script>\" onmouseover=\"x &amp;".into();
    store.put_incident(&open).await.unwrap();
    assert_eq!(store.incident("inc-open").await.unwrap().unwrap(), open);
    assert_eq!(
        expires_at(&ddb, &table, "inc-open").await,
        None,
        "open: kept"
    );

    let old = incident("inc-old", now - 30 * DAY, Some(now - 20 * DAY));
    let recent = incident("inc-recent", now - DAY, Some(now - DAY / 2));
    store.put_incident(&old).await.unwrap();
    store.put_incident(&recent).await.unwrap();
    assert_eq!(
        expires_at(&ddb, &table, "inc-old").await,
        Some((now - 20 * DAY) / 1000 + i64::from(INCIDENT_TTL_DAYS) * 86_400)
    );

    let ids = |list: Vec<Incident>| list.into_iter().map(|i| i.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.incidents(now - 7 * DAY, now).await.unwrap()),
        vec!["inc-recent", "inc-open"],
        "newest first, the one closed before the window left out"
    );
    assert_eq!(
        ids(store
            .incidents(now - 40 * DAY, now - 25 * DAY)
            .await
            .unwrap()),
        vec!["inc-old"]
    );
    assert_eq!(ids(store.open_incidents().await.unwrap()), vec!["inc-open"]);

    assert!(store.delete_incident("inc-old").await.unwrap());
    assert!(!store.delete_incident("inc-old").await.unwrap());
    assert_eq!(store.incident("inc-old").await.unwrap(), None);
}

#[tokio::test]
async fn twelve_targets_dying_at_once_are_one_auto_incident_resolved_when_they_come_back() {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let (topic, _alerts, _) = common::fresh_topic(&aws).await;
    let (status_topic, status_queue, sqs) = common::fresh_topic(&aws).await;
    let store = DynamoStore::new(ddb, &table, 30);
    let sns = aws_sdk_sns::Client::new(&aws);
    let publisher = SnsPublisher::new(sns.clone(), topic)
        .with_notices(SnsIncidentNotices::new(sns, status_topic));
    let failing = Arc::new(AtomicBool::new(false));
    let flag = failing.clone();
    let server = TestServer::start(move |_| {
        if flag.load(Ordering::SeqCst) {
            Reply::text(503, "down")
        } else {
            Reply::text(200, "ok")
        }
    })
    .await;
    for i in 0..12 {
        let t: Target = serde_json::from_value::<Target>(json!({
            "id": format!("edge-{i:02}"), "name": format!("Edge {i}"), "group": format!("g{}", i % 3),
            "kind": "server", "url": format!("{}/t{i}", server.url),
            "failure_threshold": 1, "recovery_threshold": 1, "timeout_ms": 2000,
            "degraded_latency_ms": 30000
        }))
        .unwrap()
        .validate()
        .unwrap();
        store.create_target(&t).await.unwrap();
    }
    let prober = Prober::with_options(ProbeOptions::allow_private()).unwrap();
    let mut config = probe::RunConfig::new(16);
    config.storm_threshold = 10;
    let request = probe::ProbeRequest::forced(&[TargetKind::Server]);
    let run = || probe::run(&store, &publisher, &prober, &request, &config);

    run().await.unwrap();
    assert!(
        store.open_incidents().await.unwrap().is_empty(),
        "all healthy"
    );

    failing.store(true, Ordering::SeqCst);
    let report = run().await.unwrap();
    assert_eq!(report.runs[0].changes, 12);
    let open = store.open_incidents().await.unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    let auto = &open[0];
    assert_eq!(auto.source, IncidentSource::Auto);
    assert!(auto.id.starts_with("auto-edge-"), "{}", auto.id);
    let mut named: Vec<&str> = auto.targets.iter().map(|t| t.id.as_str()).collect();
    named.sort();
    let expected: Vec<String> = (0..12).map(|i| format!("edge-{i:02}")).collect();
    assert_eq!(
        named,
        expected.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert!(auto.targets.iter().all(|t| t.status == Status::Down));

    // A run that changes nothing changes no incident.
    run().await.unwrap();
    assert_eq!(store.incident(&auto.id).await.unwrap().unwrap().version, 1);

    failing.store(false, Ordering::SeqCst);
    run().await.unwrap();
    let closed = store.incident(&auto.id).await.unwrap().unwrap();
    assert_eq!(closed.status, IncidentStatus::Resolved);
    assert!(closed.resolved_at.is_some());
    assert!(closed.targets.iter().all(|t| t.status == Status::Healthy));
    assert_eq!(closed.version, 2);
    assert!(store.open_incidents().await.unwrap().is_empty());

    let notices = common::drain(&sqs, &status_queue).await;
    let texts: Vec<&str> = notices
        .iter()
        .map(|m| m["Message"].as_str().unwrap())
        .collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(
        texts.iter().any(|t| t.contains("— investigating")),
        "{texts:?}"
    );
    assert!(texts.iter().any(|t| t.contains("— resolved")), "{texts:?}");
    for m in &notices {
        assert_eq!(
            m["MessageAttributes"]["incident_id"]["Value"],
            json!(auto.id)
        );
    }
}

async fn api_app(subscriptions: SnsIncidentNotices) -> (DynamoStore, Arc<api::App<DynamoStore>>) {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let store = DynamoStore::new(ddb, &table, 30);
    let mut notify = api::NotifyDeps::local();
    notify.subscriptions = subscriptions;
    let app = Arc::new(api::App {
        notify,
        prober: Prober::new().unwrap(),
        admin_token: Some("admin".into()),
        ..api::App::local(store.clone())
    });
    (store, app)
}

#[tokio::test]
async fn the_incident_routes_work_over_the_table() {
    let (store, app) = api_app(SnsIncidentNotices::none()).await;
    let (status, body) = common::call(
        &app,
        "POST",
        "/v1/targets",
        &json!({"id": "db", "name": "Database", "kind": "server", "group": "g",
            "url": "http://127.0.0.1:18080/health"})
        .to_string(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = common::call(
        &app,
        "POST",
        "/v1/incidents",
        &json!({"kind": "maintenance", "title": "Database upgrade", "targets": ["db"],
            "starts_at": "2030-01-01T01:00:00Z", "ends_at": "2030-01-01T02:00:00Z",
            "body": "planned"})
        .to_string(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["incident"]["id"].as_str().unwrap().to_string();
    assert_eq!(body["incident"]["targets"][0]["name"], "Database");
    assert_eq!(body["incident"]["status"], "scheduled");

    let path = format!("/v1/incidents/{id}");
    let (status, body) = common::call(
        &app,
        "PATCH",
        &path,
        &json!({"version": 1, "update": {"status": "in_progress", "body": "started"}}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // The window announced now for 2030 shows in a listing of its days (and of every day from
    // its announcement on), not in one of days before it was announced.
    let (status, listed) = common::call(
        &app,
        "GET",
        "/v1/incidents?since=2029-12-31T00:00:00Z&until=2030-01-02T00:00:00Z&status=open",
        "",
    )
    .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["incidents"], json!([body["incident"]]));
    let (_, none) = common::call(
        &app,
        "GET",
        "/v1/incidents?since=2020-01-01T00:00:00Z&until=2020-02-01T00:00:00Z",
        "",
    )
    .await;
    assert_eq!(none["incidents"], json!([]));

    let (status, body) = common::call(
        &app,
        "PATCH",
        &path,
        &json!({"version": 1, "status": "completed"}).to_string(),
    )
    .await;
    assert_eq!((status, &body["error"]["code"]), (409, &json!("conflict")));
    let (status, body) = common::call(
        &app,
        "PATCH",
        &path,
        &json!({"status": "completed"}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let stored = store.incident(&id).await.unwrap().unwrap();
    assert_eq!(stored.status, IncidentStatus::Completed);
    assert_eq!(stored.updates.len(), 3);
    assert_eq!(stored.version, 3);

    // Completed now, before its window: it closed now, so it lists among the closed of today.
    let (status, body) = common::call(&app, "GET", "/v1/incidents?status=closed", "").await;
    assert_eq!(status, 200, "{body}");
    let (_, got) = common::call(&app, "GET", &path, "").await;
    assert_eq!(body["incidents"], json!([got["incident"]]));

    let (status, _) = common::call(&app, "DELETE", &path, "").await;
    assert_eq!(status, 204);
    let (status, _) = common::call(&app, "GET", &path, "").await;
    assert_eq!(status, 404);
    // An id longer than a sort key may be (1,024 bytes) is a 404, not the table's refusal.
    let long = format!("/v1/incidents/{}", "x".repeat(2_000));
    for method in ["GET", "DELETE"] {
        let (status, body) = common::call(&app, method, &long, "").await;
        assert_eq!(status, 404, "{method}: {body}");
    }
}

#[tokio::test]
async fn a_subscription_through_the_api_is_an_email_subscription_on_the_topic() {
    let aws = common::aws().await;
    let sns = aws_sdk_sns::Client::new(&aws);
    let topic = sns
        .create_topic()
        .name(common::unique("lookout-status"))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let (_, app) = api_app(SnsIncidentNotices::new(sns.clone(), topic.clone())).await;
    let url = common::serve_api(app).await;
    let http = reqwest::Client::new();
    let answer = http
        .post(format!("{url}/v1/subscriptions"))
        .json(&json!({"email": "reader@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 202);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body, json!({"status": "pending_confirmation"}));

    let bad = http
        .post(format!("{url}/v1/subscriptions"))
        .json(&json!({"email": "not an address"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 422);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["error"]["field"], "email");

    let subs = sns
        .list_subscriptions_by_topic()
        .topic_arn(&topic)
        .send()
        .await
        .unwrap();
    let subs = subs.subscriptions();
    assert_eq!(subs.len(), 1, "{subs:?}");
    assert_eq!(subs[0].protocol(), Some("email"));
    assert_eq!(subs[0].endpoint(), Some("reader@example.com"));
    // AWS lists an e-mail subscription as `PendingConfirmation` until its owner follows the
    // link SNS mails; moto confirms e-mail subscriptions at once (its attributes say
    // `PendingConfirmation: false`), so the emulator cannot show the pending state.

    // Asking again answers the same, and names nobody.
    let again = http
        .post(format!("{url}/v1/subscriptions"))
        .json(&json!({"email": "reader@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 202);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body, json!({"status": "pending_confirmation"}));
}

#[tokio::test]
async fn an_operators_post_and_patch_reach_the_subscribers_and_a_failed_notice_keeps_the_answer() {
    let aws = common::aws().await;
    let (status_topic, status_queue, sqs) = common::fresh_topic(&aws).await;
    let sns = aws_sdk_sns::Client::new(&aws);
    let (_, app) = api_app(SnsIncidentNotices::new(sns.clone(), status_topic)).await;
    let (status, body) = common::call(
        &app,
        "POST",
        "/v1/incidents",
        &json!({"title": "Database slow — بطيء", "body": "looking"}).to_string(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["incident"]["id"].as_str().unwrap().to_owned();
    let (status, body) = common::call(
        &app,
        "PATCH",
        &format!("/v1/incidents/{id}"),
        &json!({"update": {"status": "resolved", "body": "fixed"}}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let notices = common::drain(&sqs, &status_queue).await;
    let texts: Vec<&str> = notices
        .iter()
        .map(|m| m["Message"].as_str().unwrap())
        .collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(
        texts.iter().any(|t| t.contains("— investigating")),
        "{texts:?}"
    );
    assert!(texts.iter().any(|t| t.contains("— resolved")), "{texts:?}");
    for m in &notices {
        assert_eq!(m["MessageAttributes"]["incident_id"]["Value"], json!(id));
        let subject = m["Subject"].as_str().unwrap_or_default();
        assert!(subject.starts_with("Incident: Database slow"), "{subject}");
        assert!(
            subject.chars().all(|c| (' '..='~').contains(&c)),
            "{subject}"
        );
    }

    // A topic that does not exist: the notice fails, the incident is written all the same.
    let (_, app) = api_app(SnsIncidentNotices::new(
        sns,
        "arn:aws:sns:us-east-1:123456789012:lookout-no-such-topic",
    ))
    .await;
    let (status, body) = common::call(
        &app,
        "POST",
        "/v1/incidents",
        &json!({"title": "db"}).to_string(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["incident"]["id"].as_str().unwrap().to_owned();
    let (status, body) = common::call(
        &app,
        "PATCH",
        &format!("/v1/incidents/{id}"),
        &json!({"update": {"status": "identified"}}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

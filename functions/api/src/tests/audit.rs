//! The audit log (issue 19) through the API, against the memory store.

use lookout_app::ports::AuditLog as _;
use lookout_core::domain::audit::{Actor, AuditEntry, AuditOutcome};

use super::*;

/// What no answer and no stored entry may hold.
const SECRETS: &[&str] = &[
    "hunter2",
    "alice",
    "s3cret-2",
    "k-secret",
    "slack-secret-T0B0XyZ",
    "webhook-url-secret-path",
    "signing-secret-0123456789",
    TOKEN,
];

fn assert_no_secret(what: &str, text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "{what} leaked {s:?}: {text}");
    }
}

async fn send(app: &Arc<App<MemoryStore>>, method: &str, path: &str, body: Value) -> StatusCode {
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    handle(app, request(method, path, &body, Some(TOKEN)))
        .await
        .status()
}

async fn audit(app: &Arc<App<MemoryStore>>, query: &str) -> Value {
    let (status, body) = call(
        app,
        request("GET", &format!("/v1/audit{query}"), "", Some(TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The entries of `route` with `method`, oldest first.
fn entries_of<'a>(log: &'a [AuditEntry], method: &str, route: &str) -> Vec<&'a AuditEntry> {
    log.iter()
        .filter(|e| e.method == method && e.route == route)
        .collect()
}

#[tokio::test]
async fn admin_writes_name_actor_route_and_change_and_never_a_secret() {
    let app = app();
    let targets = json!({"targets": [
        {"id":"p1","group":"pool","kind":"proxy","proxy_url":"http://alice:hunter2@127.0.0.1:3128","test_urls":["http://127.0.0.1:1/"]},
        {"id":"s1","group":"api","kind":"server","url":"http://127.0.0.1:1/","headers":{"X-Api-Key":"k-secret"}}
    ]});
    assert_eq!(
        send(&app, "POST", "/v1/targets", targets).await,
        StatusCode::CREATED
    );
    let patch = json!({"version": 1, "group": "pool-b", "proxy_url": "http://alice:s3cret-2@127.0.0.1:3129"});
    assert_eq!(
        send(&app, "PATCH", "/v1/targets/p1", patch).await,
        StatusCode::OK
    );
    assert_eq!(
        send(&app, "DELETE", "/v1/targets/s1", Value::Null).await,
        StatusCode::OK
    );
    let slack = json!({"id": "ops", "name": "Ops", "kind": "slack",
        "config": {"webhook_url": "https://hooks.slack.com/services/T0/B0/slack-secret-T0B0XyZ"}});
    assert_eq!(
        send(&app, "POST", "/v1/channels", slack).await,
        StatusCode::CREATED
    );
    let hook = json!({"id": "hook", "name": "Hook", "kind": "webhook",
        "config": {"url": "https://example.com/hook/webhook-url-secret-path", "secret": "signing-secret-0123456789"}});
    assert_eq!(
        send(&app, "POST", "/v1/channels", hook).await,
        StatusCode::CREATED
    );
    let rename = json!({"version": 1, "name": "Ops room"});
    assert_eq!(
        send(&app, "PATCH", "/v1/channels/ops", rename).await,
        StatusCode::OK
    );
    assert_eq!(
        send(&app, "DELETE", "/v1/channels/hook", Value::Null).await,
        StatusCode::NO_CONTENT
    );

    let log = app.store.audit_log();
    assert_eq!(log.len(), 7, "one entry per write: {log:#?}");
    for e in &log {
        assert_eq!(e.actor.name, "admin");
        let id = e.actor.id.as_deref().unwrap_or_default();
        assert!(id.starts_with("sha256:") && id.len() == 19, "{id}");
        assert_eq!(
            e.outcome.result,
            lookout_core::domain::audit::AuditResult::Ok
        );
        assert!(e.at > 0 && e.id.len() == 32);
    }
    let created = entries_of(&log, "POST", "/v1/targets")[0];
    assert_eq!(created.objects, ["target:p1", "target:s1"]);
    assert!(created
        .changes
        .iter()
        .any(|c| c.object.as_deref() == Some("target:s1")
            && c.path == "group"
            && c.after == Some(json!("api"))));

    let patched = entries_of(&log, "PATCH", "/v1/targets/{id}")[0];
    assert_eq!(patched.objects, ["target:p1"]);
    let group = patched
        .changes
        .iter()
        .find(|c| c.path == "group")
        .expect("group changed");
    assert_eq!(
        (&group.before, &group.after),
        (&Some(json!("pool")), &Some(json!("pool-b")))
    );
    let url = patched
        .changes
        .iter()
        .find(|c| c.path.ends_with("proxy_url"))
        .expect("the proxy URL changed");
    assert!(url
        .after
        .as_ref()
        .unwrap()
        .as_str()
        .unwrap()
        .contains("127.0.0.1:3129"));
    assert!(
        !patched
            .changes
            .iter()
            .any(|c| c.path == "id" || c.path == "kind"),
        "only what changed"
    );

    let deleted = entries_of(&log, "DELETE", "/v1/targets/{id}")[0];
    assert_eq!(deleted.objects, ["target:s1"]);
    assert!(deleted
        .changes
        .iter()
        .all(|c| c.after.is_none() && c.before.is_some()));
    assert!(!deleted.changes.is_empty());

    let renamed = entries_of(&log, "PATCH", "/v1/channels/{id}")[0];
    assert_eq!(renamed.objects, ["channel:ops"]);
    assert_eq!(
        renamed
            .changes
            .iter()
            .find(|c| c.path == "name")
            .map(|c| &c.after),
        Some(&Some(json!("Ops room")))
    );
    assert_eq!(
        entries_of(&log, "DELETE", "/v1/channels/{id}")[0].objects,
        ["channel:hook"]
    );

    assert_no_secret("the stored entries", &serde_json::to_string(&log).unwrap());
    let answer = audit(&app, "").await;
    assert_eq!(answer["entries"].as_array().unwrap().len(), 7);
    assert_eq!(
        answer["entries"][0]["route"], "/v1/channels/{id}",
        "newest first"
    );
    assert_eq!(answer["next_cursor"], Value::Null);
    assert_no_secret("GET /v1/audit", &answer.to_string());
}

#[tokio::test]
async fn a_refused_write_is_recorded_as_refused_with_no_change() {
    let app = app();
    let bad = json!({"id": "x", "kind": "server", "group": "g", "url": "http://127.0.0.1:1/", "timeout_ms": "soon"});
    assert_eq!(
        send(&app, "POST", "/v1/targets", bad).await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let missing = json!({"version": 1, "name": "n"});
    assert_eq!(
        send(&app, "PATCH", "/v1/targets/nope", missing).await,
        StatusCode::NOT_FOUND
    );
    let log = app.store.audit_log();
    assert_eq!(log.len(), 2);
    let refused = serde_json::to_value(&log[0].outcome).unwrap();
    assert_eq!(
        refused,
        json!({"status": 422, "result": "refused", "code": "invalid_target"})
    );
    assert!(log[0].changes.is_empty() && log[0].objects.is_empty());
    assert_eq!(log[1].objects, ["target:nope"]);
    assert_eq!(
        log[1].outcome.result,
        lookout_core::domain::audit::AuditResult::Refused
    );
    assert_eq!(log[1].outcome.code.as_deref(), Some("not_found"));
    assert!(log[1].changes.is_empty());
}

#[tokio::test]
async fn a_check_now_is_recorded_as_an_admin_action_that_changes_nothing() {
    let app = app();
    let (status, _) = call(&app, request("POST", "/v1/checks", "{}", Some(TOKEN))).await;
    assert_eq!(status, StatusCode::OK);
    let log = app.store.audit_log();
    assert_eq!((log.len(), log[0].route.as_str()), (1, "/v1/checks"));
    assert!(log[0].changes.is_empty());
    // Reads are not recorded.
    call(&app, request("GET", "/v1/targets", "", Some(TOKEN))).await;
    audit(&app, "").await;
    assert_eq!(app.store.audit_log().len(), 1);
}

#[tokio::test]
async fn a_write_with_the_read_token_is_recorded_refused_by_read_and_one_without_a_token_is_not() {
    let app = app();
    let body =
        json!({"id":"s1","group":"g","kind":"server","url":"http://127.0.0.1:1/"}).to_string();
    let resp = handle(&app, request("POST", "/v1/targets", &body, Some(READ))).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = handle(&app, request("DELETE", "/v1/targets/s1", "", None)).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let log = app.store.audit_log();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].actor.name, "read");
    assert!(log[0]
        .actor
        .id
        .as_deref()
        .is_some_and(|id| id.starts_with("sha256:")));
    assert_eq!(log[0].outcome.status, 403);
    assert_eq!(log[0].route, "/v1/targets");
    assert_no_secret("a refused entry", &serde_json::to_string(&log[0]).unwrap());
    assert!(!serde_json::to_string(&log[0]).unwrap().contains(READ));
}

#[tokio::test]
async fn proxy_usage_reports_are_telemetry_and_leave_no_entry() {
    let app = app();
    let proxy = json!({"id":"p1","group":"pool","kind":"proxy",
        "proxy_url":"http://127.0.0.1:3128","test_urls":["http://127.0.0.1:1/"]});
    assert_eq!(
        send(&app, "POST", "/v1/targets", proxy).await,
        StatusCode::CREATED
    );
    for _ in 0..3 {
        let report = json!({"outcome": "ok", "bytes": 1000});
        assert_eq!(
            send(&app, "POST", "/v1/proxies/p1/usage", report).await,
            StatusCode::OK
        );
    }
    let log = app.store.audit_log();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].route, "/v1/targets");
}

fn stored(at: i64, id: &str, actor: &str, object: &str) -> AuditEntry {
    AuditEntry {
        id: id.into(),
        at,
        actor: Actor {
            name: actor.into(),
            id: Some(format!("sha256:{id}")),
        },
        method: "DELETE".into(),
        route: "/v1/targets/{id}".into(),
        objects: vec![object.into()],
        changes: vec![],
        cut: None,
        outcome: AuditOutcome::of_status(200, None),
    }
}

#[tokio::test]
async fn the_filters_and_the_cursor_select_and_page_the_entries() {
    let app = app();
    let day = 86_400_000;
    let base = lookout_core::time::now_ms() - 3 * day;
    for (i, (actor, object)) in [
        ("admin", "target:a"),
        ("admin", "channel:ops"),
        ("ci", "target:b"),
        ("admin", "target:a"),
        ("ci", "target:a"),
    ]
    .into_iter()
    .enumerate()
    {
        let e = stored(
            base + i as i64 * (day / 2),
            &format!("{i:032}"),
            actor,
            object,
        );
        app.store.record_audit(&e).await.unwrap();
    }
    let ids = |v: &Value| -> Vec<String> {
        v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap()[31..].to_string())
            .collect()
    };
    assert_eq!(ids(&audit(&app, "").await), ["4", "3", "2", "1", "0"]);
    assert_eq!(ids(&audit(&app, "?actor=ci").await), ["4", "2"]);
    assert_eq!(
        ids(&audit(&app, &format!("?actor=sha256:{:032}", 1)).await),
        ["1"]
    );
    assert_eq!(ids(&audit(&app, "?object=target:a").await), ["4", "3", "0"]);
    assert_eq!(ids(&audit(&app, "?object=channel").await), ["1"]);
    let rfc = lookout_core::time::rfc3339;
    let window = format!(
        "?since={}&until={}",
        rfc(base + day / 2),
        rfc(base + 3 * day / 2)
    );
    assert_eq!(ids(&audit(&app, &window).await), ["3", "2", "1"]);

    let first = audit(&app, "?limit=2").await;
    assert_eq!(ids(&first), ["4", "3"]);
    let cursor = first["next_cursor"].as_str().expect("a cursor").to_string();
    let second = audit(&app, &format!("?limit=2&cursor={cursor}")).await;
    assert_eq!(ids(&second), ["2", "1"]);
    let cursor = second["next_cursor"].as_str().unwrap().to_string();
    let last = audit(&app, &format!("?limit=2&cursor={cursor}")).await;
    assert_eq!(
        (ids(&last), &last["next_cursor"]),
        (vec!["0".to_string()], &Value::Null)
    );
}

#[tokio::test]
async fn the_audit_log_is_for_the_admin_token_and_bad_parameters_name_themselves() {
    let app = app();
    let (status, _) = call(&app, request("GET", "/v1/audit", "", Some(READ))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(&app, request("GET", "/v1/audit", "", None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for (query, field) in [
        ("?since=yesterday", "since"),
        ("?until=2026-13-01T00:00:00Z", "until"),
        ("?limit=0", "limit"),
        ("?limit=1001", "limit"),
        ("?cursor=abc", "cursor"),
        (
            "?since=2020-01-01T00:00:00Z&until=2026-01-01T00:00:00Z",
            "since",
        ),
        (
            "?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
            "since",
        ),
    ] {
        let (status, body) = call(
            &app,
            request("GET", &format!("/v1/audit{query}"), "", Some(TOKEN)),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{query}: {message}");
    }
    let long = "x".repeat(300);
    let (status, body) = call(
        &app,
        request("GET", &format!("/v1/audit?object={long}"), "", Some(TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn a_failing_audit_write_does_not_undo_the_admin_write() {
    let app = app();
    app.store.set_failing_audit(true);
    let body = json!({"id": "w", "kind": "server", "group": "g", "url": "http://127.0.0.1:1/"});
    assert_eq!(
        send(&app, "POST", "/v1/targets", body).await,
        StatusCode::CREATED
    );
    assert!(app.store.audit_log().is_empty());
    let (status, _) = call(&app, request("GET", "/v1/targets/w", "", Some(TOKEN))).await;
    assert_eq!(status, StatusCode::OK, "the target stays");
    app.store.set_failing_audit(false);
    assert_eq!(
        send(&app, "DELETE", "/v1/targets/w", Value::Null).await,
        StatusCode::OK
    );
    assert_eq!(app.store.audit_log().len(), 1);
}

#[tokio::test]
async fn overrides_leases_pages_and_incidents_are_recorded_with_their_object() {
    let app = app();
    let body = json!({"id": "w", "kind": "server", "group": "g", "url": "http://127.0.0.1:1/"});
    send(&app, "POST", "/v1/targets", body).await;
    assert_eq!(
        send(&app, "POST", "/v1/targets/w/actions/mark-down", Value::Null).await,
        StatusCode::OK
    );
    assert_eq!(
        send(&app, "DELETE", "/v1/leases/server", Value::Null).await,
        StatusCode::NO_CONTENT
    );
    let page = json!({"title": "Status", "groups": ["g"]});
    assert_eq!(
        send(&app, "PUT", "/v1/pages/main", page).await,
        StatusCode::CREATED
    );
    assert_eq!(
        send(&app, "DELETE", "/v1/pages/main", Value::Null).await,
        StatusCode::NO_CONTENT
    );
    let incident = json!({"title": "Down", "targets": ["w"], "body": "looking"});
    assert_eq!(
        send(&app, "POST", "/v1/incidents", incident).await,
        StatusCode::CREATED
    );
    let log = app.store.audit_log();
    let objects: Vec<&str> = log.iter().map(|e| e.objects[0].as_str()).collect();
    assert_eq!(
        &objects[..5],
        [
            "target:w",
            "target:w",
            "lease:server",
            "page:main",
            "page:main"
        ]
    );
    assert!(objects[5].starts_with("incident:inc-"), "{objects:?}");
    let action = &log[1];
    assert!(
        action
            .changes
            .iter()
            .any(|c| c.path == "status" && c.after == Some(json!("down"))),
        "{action:#?}"
    );
    let page_put = &log[3];
    assert!(page_put
        .changes
        .iter()
        .any(|c| c.path == "title" && c.before.is_none()));
    let page_deleted = &log[4];
    assert!(page_deleted
        .changes
        .iter()
        .any(|c| c.path == "title" && c.after.is_none()));
}

#[tokio::test]
async fn a_secret_changed_behind_its_mask_is_recorded_as_changed_without_its_value() {
    let app = app();
    let proxy = json!({"id":"p1","group":"pool","kind":"proxy","proxy_url":"http://alice:hunter2@127.0.0.1:3128","test_urls":["http://127.0.0.1:1/"]});
    send(&app, "POST", "/v1/targets", proxy).await;
    let patch = json!({"version": 1, "proxy_url": "http://alice:s3cret-2@127.0.0.1:3128"});
    assert_eq!(
        send(&app, "PATCH", "/v1/targets/p1", patch).await,
        StatusCode::OK
    );
    let slack = json!({"id": "ops", "name": "Ops", "kind": "slack",
        "config": {"webhook_url": "https://hooks.slack.com/services/T0/B0/slack-secret-T0B0XyZ"}});
    send(&app, "POST", "/v1/channels", slack).await;
    let new_hook = json!({"version": 1, "config": {"webhook_url": "https://hooks.slack.com/services/T0/B0/webhook-url-secret-path"}});
    assert_eq!(
        send(&app, "PATCH", "/v1/channels/ops", new_hook).await,
        StatusCode::OK
    );
    let log = app.store.audit_log();
    let masked = |e: &AuditEntry, path: &str| {
        e.changes.iter().any(|c| {
            c.path == path
                && c.before == Some(json!("***"))
                && c.after == Some(json!(crate::audit::SECRET_CHANGED))
        })
    };
    assert!(masked(&log[1], "proxy_url"), "{:#?}", log[1].changes);
    assert!(
        masked(&log[3], "config.webhook_url"),
        "{:#?}",
        log[3].changes
    );
    assert_no_secret("the stored entries", &serde_json::to_string(&log).unwrap());
}

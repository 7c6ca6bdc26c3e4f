//! The notification routes (issue 16): channels and deliveries, against the memory store and
//! loopback provider servers.

use std::sync::atomic::{AtomicU16, Ordering};

use lookout_app::ports::{ChannelStore, DeliveryLog};
use lookout_app::testing::{Reply, TestServer};
use lookout_core::domain::{Alert, AlertKind, Severity, Status, TargetKind};

use super::*;

/// An app whose provider base URLs (Telegram, PagerDuty, Opsgenie) are `base`.
fn app_with_providers(base: &str) -> Arc<App<MemoryStore>> {
    let mut settings = notify_settings();
    settings.endpoints = lookout_core::notify::Endpoints {
        telegram: base.into(),
        pagerduty: base.into(),
        opsgenie: base.into(),
    };
    Arc::new(App {
        notify: NotifyDeps {
            settings,
            ..NotifyDeps::local()
        },
        ..Arc::into_inner(app()).unwrap()
    })
}

/// A loopback provider that answers `status` and echoes what it was sent (path, authorization
/// header and body) in its answer, as careless providers and proxies do.
async fn echoing_provider(status: Arc<AtomicU16>) -> TestServer {
    TestServer::start(move |req| {
        let echo = json!({
            "ok": true,
            "path": req.path,
            "authorization": req.header("authorization").unwrap_or(""),
            "body": String::from_utf8_lossy(&req.body),
        });
        Reply::json(status.load(Ordering::SeqCst), &echo)
    })
    .await
}

/// The secret strings of every kind (what no answer may contain), and the channels holding
/// them, one per kind, posting to `base`.
fn channels_of_every_kind(base: &str) -> (Vec<&'static str>, Vec<Value>) {
    let secrets = vec![
        "slack-secret-T0B0XyZ",
        "4242:tg-secret-bot-token",
        "discord-secret-wh-token",
        "teams-secret-workflow-sig",
        "pdsecretroutingkeyABCDEF01234567",
        "og-secret-genie-api-key",
        "webhook-url-secret-path",
        "signing-secret-0123456789",
    ];
    let channels = vec![
        json!({"id": "ops-slack", "name": "Ops Slack", "kind": "slack",
               "config": {"webhook_url": format!("{base}/services/T0/B0/{}", secrets[0])}}),
        json!({"id": "pool-telegram", "name": "Pool", "kind": "telegram", "language": "fa",
               "config": {"bot_token": secrets[1], "chat_id": "-1001"},
               "route": {"min_severity": "warning", "tags": ["pool-a"]}}),
        json!({"id": "discord", "name": "Discord", "kind": "discord",
               "config": {"webhook_url": format!("{base}/api/webhooks/1/{}", secrets[2])}}),
        json!({"id": "teams", "name": "Teams", "kind": "teams", "language": "ar",
               "config": {"webhook_url": format!("{base}/workflows/{}", secrets[3])}}),
        json!({"id": "pager", "name": "PagerDuty", "kind": "pagerduty",
               "config": {"routing_key": secrets[4]},
               "route": {"kinds": ["status_change", "recovery"]}}),
        json!({"id": "genie", "name": "Opsgenie", "kind": "opsgenie",
               "config": {"api_key": secrets[5]}}),
        json!({"id": "mail", "name": "Mail", "kind": "email", "enabled": false,
               "config": {"to": ["ops@example.com"]}}),
        json!({"id": "hook", "name": "Webhook", "kind": "webhook",
               "config": {"url": format!("{base}/hook/{}", secrets[6]), "secret": secrets[7]}}),
    ];
    (secrets, channels)
}

/// Panics when `body` holds any of `secrets`.
fn assert_no_secret(what: &str, body: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!body.contains(s), "{what} leaked {s:?}: {body}");
    }
}

/// Answers a request: status, `Location`, body text.
async fn raw(app: &Arc<App<MemoryStore>>, req: Request) -> (StatusCode, Option<String>, String) {
    let resp = handle(app, req).await;
    let location = resp
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    let body = match resp.body() {
        Body::Empty => String::new(),
        Body::Text(t) => t.clone(),
        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    };
    (resp.status(), location, body)
}

fn alert(key: &str) -> Alert {
    Alert {
        key: key.into(),
        kind: AlertKind::StatusChange,
        severity: Severity::Critical,
        target_id: "web".into(),
        target_name: "Web".into(),
        target_kind: TargetKind::Server,
        group: "api".into(),
        old_status: Status::Healthy,
        new_status: Status::Down,
        at: 1_700_000_000_000,
        subject: "Web is down".into(),
        text: "connection refused".into(),
        targets: Vec::new(),
        changes: Vec::new(),
        tags: vec!["pool-a".into()],
        locations: None,
        slo: None,
    }
}

#[tokio::test]
async fn every_kind_of_channel_goes_through_create_read_list_patch_and_delete_without_showing_a_secret(
) {
    let provider = echoing_provider(Arc::new(AtomicU16::new(200))).await;
    let app = app_with_providers(&provider.url);
    let (secrets, channels) = channels_of_every_kind(&provider.url);
    let mut bodies = Vec::new();
    for c in &channels {
        let id = c["id"].as_str().unwrap();
        let (status, location, body) = raw(
            &app,
            request("POST", "/v1/channels", &c.to_string(), Some(TOKEN)),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{id}: {body}");
        assert_eq!(
            location.as_deref(),
            Some(format!("/v1/channels/{id}").as_str())
        );
        let created: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(created["channel"]["kind"], c["kind"], "{body}");
        assert_eq!(created["channel"]["version"], 1, "{body}");
        bodies.push(body);

        let (status, _, body) = raw(
            &app,
            request("GET", &format!("/v1/channels/{id}"), "", Some(TOKEN)),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let got: Value = serde_json::from_str(&body).unwrap();
        for (field, value) in got["channel"]["config"].as_object().unwrap() {
            if c["config"][field] != *value {
                assert_eq!(value, "***", "{id}.{field}: only secrets differ, masked");
            }
        }
        bodies.push(body);
    }
    let (status, _, body) = raw(&app, request("GET", "/v1/channels", "", Some(TOKEN))).await;
    assert_eq!(status, StatusCode::OK);
    let listed: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(listed["channels"].as_array().unwrap().len(), channels.len());
    bodies.push(body);

    // A patch that sends the masked config back keeps every secret.
    for c in &channels {
        let id = c["id"].as_str().unwrap();
        let shown: Value = serde_json::from_str(
            &raw(
                &app,
                request("GET", &format!("/v1/channels/{id}"), "", Some(TOKEN)),
            )
            .await
            .2,
        )
        .unwrap();
        let patch = json!({"version": 1, "name": "Renamed", "config": shown["channel"]["config"]});
        let (status, _, body) = raw(
            &app,
            request(
                "PATCH",
                &format!("/v1/channels/{id}"),
                &patch.to_string(),
                Some(TOKEN),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{id}: {body}");
        let patched: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (&patched["channel"]["name"], &patched["channel"]["version"]),
            (&json!("Renamed"), &json!(2))
        );
        bodies.push(body);
        let stored = app.store.channel(id).await.unwrap().unwrap();
        let mut want: lookout_core::notify::Channel = serde_json::from_value(c.clone()).unwrap();
        want.name = "Renamed".into();
        assert_eq!(stored.config, want.config, "{id}: the secrets are kept");
        assert_eq!((stored.route, stored.language), (want.route, want.language));
    }
    for body in &bodies {
        assert_no_secret("a channel answer", body, &secrets);
    }

    for c in &channels {
        let id = c["id"].as_str().unwrap();
        let path = format!("/v1/channels/{id}");
        let (status, _, body) = raw(&app, request("DELETE", &path, "", Some(TOKEN))).await;
        assert_eq!((status, body.as_str()), (StatusCode::NO_CONTENT, ""));
        let (status, b) = call(&app, request("DELETE", &path, "", Some(TOKEN))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{b}");
        let (status, b) = call(&app, request("GET", &path, "", Some(TOKEN))).await;
        assert_eq!(
            (status, &b["error"]["code"]),
            (StatusCode::NOT_FOUND, &json!("not_found"))
        );
    }
    assert!(app.store.channels().await.unwrap().is_empty());
    // Ids no channel can have are 404 without reaching the table.
    let long = "x".repeat(2_000);
    for id in [long.as_str(), "Ops%20Team", "%C3%A9"] {
        for method in ["GET", "DELETE", "PATCH"] {
            let path = format!("/v1/channels/{id}");
            let (status, _) = call(
                &app,
                request(method, &path, r#"{"version":1}"#, Some(TOKEN)),
            )
            .await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {id}");
        }
    }
}

#[tokio::test]
async fn channel_routes_need_the_admin_token() {
    let app = app();
    for (method, path) in [
        ("GET", "/v1/channels"),
        ("POST", "/v1/channels"),
        ("GET", "/v1/channels/x"),
        ("POST", "/v1/channels/x/test"),
        ("GET", "/v1/deliveries"),
        ("POST", "/v1/deliveries/x.00/retry"),
    ] {
        let (status, _) = call(&app, request(method, path, "{}", None)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
        let (status, _) = call(&app, request(method, path, "{}", Some(READ))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}");
    }
}

#[tokio::test]
async fn a_channel_that_does_not_validate_is_a_422_naming_the_field_without_quoting_a_secret() {
    let app = app();
    let ok = json!({"id": "ops", "name": "Ops", "kind": "slack",
                    "config": {"webhook_url": "https://hooks.slack.com/services/T/B/sekrit-XYZ"}});
    let with = |pointer: &str, value: Value| {
        let mut c = ok.clone();
        *c.pointer_mut(pointer).unwrap() = value;
        c
    };
    let cases = [
        (with("/id", json!("Ops Team!")), "id"),
        (with("/name", json!("n".repeat(201))), "name"),
        (with("/kind", json!("carrier-pigeon")), "kind"),
        (with("/config", json!({})), "config.webhook_url"),
        (
            with("/config", json!({"webhook_url": "ftp://sekrit-XYZ"})),
            "config.webhook_url",
        ),
        (
            with("/config", json!({"webhook_url": "***"})),
            "config.webhook_url",
        ),
        (with("/config", json!("sekrit-XYZ")), "config"),
        (
            json!({"id": "t", "name": "T", "kind": "telegram", "config": {"bot_token": "1:sekrit-XYZ"}}),
            "config.chat_id",
        ),
        (
            json!({"id": "w", "name": "W", "kind": "webhook",
                   "config": {"url": "https://example.com/sekrit-XYZ", "secret": "short"}}),
            "config.secret",
        ),
        (
            json!({"id": "m", "name": "M", "kind": "email", "config": {"to": []}}),
            "config.to",
        ),
        (
            json!({"id": "m", "name": "M", "kind": "email", "config": {"to": ["nobody"]}}),
            "config.to[0]",
        ),
        (
            with("/id", json!("ops")).tap_route(json!({"min_severity": "loud"})),
            "route.min_severity",
        ),
        (
            with("/id", json!("ops")).tap_route(json!({"colour": "red"})),
            "route.colour",
        ),
        (
            with("/id", json!("ops")).tap("language", json!("tlh")),
            "language",
        ),
        (
            with("/id", json!("ops")).tap("enabled", json!("yes")),
            "enabled",
        ),
        (with("/id", json!("ops")).tap("owner", json!("me")), "owner"),
    ];
    for (body, field) in cases {
        let (status, _, text) = raw(
            &app,
            request("POST", "/v1/channels", &body.to_string(), Some(TOKEN)),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {text}");
        let answer: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
        assert_no_secret("a 422", &text, &["sekrit-XYZ"]);
    }
    assert!(app.store.channels().await.unwrap().is_empty());
    let (status, b) = call(&app, request("POST", "/v1/channels", "{oops", Some(TOKEN))).await;
    assert_eq!(
        (status, &b["error"]["code"]),
        (StatusCode::BAD_REQUEST, &json!("bad_request"))
    );
}

/// Small builders for the validation cases.
trait Tap {
    fn tap(self, field: &str, value: Value) -> Value;
    fn tap_route(self, route: Value) -> Value;
}

impl Tap for Value {
    fn tap(mut self, field: &str, value: Value) -> Value {
        self[field] = value;
        self
    }
    fn tap_route(self, route: Value) -> Value {
        self.tap("route", route)
    }
}

#[tokio::test]
async fn a_second_channel_with_an_id_is_a_409_and_a_stale_or_missing_version_is_refused() {
    let app = app();
    let c = json!({"id": "ops", "name": "Ops", "kind": "pagerduty",
                   "config": {"routing_key": "pdkey0123456789abcdef0123456789a"}});
    let (status, _) = call(
        &app,
        request("POST", "/v1/channels", &c.to_string(), Some(TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, b) = call(
        &app,
        request("POST", "/v1/channels", &c.to_string(), Some(TOKEN)),
    )
    .await;
    assert_eq!(
        (status, &b["error"]["code"]),
        (StatusCode::CONFLICT, &json!("conflict"))
    );

    let patch = |body: Value| request("PATCH", "/v1/channels/ops", &body.to_string(), Some(TOKEN));
    let (status, b) = call(&app, patch(json!({"name": "x"}))).await;
    assert_eq!(
        (status, &b["error"]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("version"))
    );
    let (status, _) = call(&app, patch(json!({"version": 7, "name": "x"}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, b) = call(&app, patch(json!({"version": 1, "id": "other"}))).await;
    assert_eq!(
        (status, &b["error"]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("id"))
    );
    let (status, _) = call(
        &app,
        request(
            "PATCH",
            "/v1/channels/none",
            r#"{"version":1}"#,
            Some(TOKEN),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A merge patch of the route: `null` removes a member (RFC 7396).
    let (status, b) = call(
        &app,
        patch(json!({"version": 1, "route": {"min_severity": "critical"}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{b}");
    assert_eq!(b["channel"]["route"]["min_severity"], "critical");
    let (status, b) = call(
        &app,
        patch(json!({"version": 2, "route": {"min_severity": null}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{b}");
    assert_eq!(b["channel"]["route"], json!({}));
    assert_eq!(b["channel"]["config"]["routing_key"], "***");
}

#[tokio::test]
async fn a_kind_change_needs_a_whole_config_with_its_secrets() {
    let app = app();
    let c = json!({"id": "ops", "name": "Ops", "kind": "opsgenie",
                   "config": {"api_key": "og-key-abcdef"}});
    let (status, _) = call(
        &app,
        request("POST", "/v1/channels", &c.to_string(), Some(TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let patch = |body: Value| request("PATCH", "/v1/channels/ops", &body.to_string(), Some(TOKEN));
    let (status, b) = call(&app, patch(json!({"version": 1, "kind": "telegram"}))).await;
    assert_eq!(
        (status, &b["error"]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("config"))
    );
    // The old config is not merged in: the Opsgenie key does not become anything else.
    let (status, b) = call(
        &app,
        patch(json!({"version": 1, "kind": "telegram", "config": {"bot_token": "***", "chat_id": "1"}})),
    )
    .await;
    assert_eq!(
        (status, &b["error"]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("config.bot_token")),
        "{b}"
    );
    let (status, b) = call(
        &app,
        patch(json!({"version": 1, "kind": "telegram", "config": {"bot_token": "1:tg", "chat_id": "1"}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{b}");
    assert_eq!(b["channel"]["kind"], "telegram");
    assert_eq!(
        b["channel"]["config"],
        json!({"bot_token": "***", "chat_id": "1"})
    );
    let stored = app.store.channel("ops").await.unwrap().unwrap();
    assert_eq!(
        stored.config,
        lookout_core::notify::ChannelConfig::Telegram {
            bot_token: "1:tg".into(),
            chat_id: "1".into()
        }
    );
}

#[tokio::test]
async fn the_test_route_answers_what_each_provider_said_without_a_secret() {
    let status = Arc::new(AtomicU16::new(200));
    let provider = echoing_provider(status.clone()).await;
    let app = app_with_providers(&provider.url);
    let (secrets, channels) = channels_of_every_kind(&provider.url);
    for c in &channels {
        let (s, b) = call(
            &app,
            request("POST", "/v1/channels", &c.to_string(), Some(TOKEN)),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    for (answer_with, ok) in [(200, true), (500, false)] {
        status.store(answer_with, Ordering::SeqCst);
        for c in channels.iter().filter(|c| c["kind"] != "email") {
            let id = c["id"].as_str().unwrap();
            let (s, _, body) = raw(
                &app,
                request("POST", &format!("/v1/channels/{id}/test"), "", Some(TOKEN)),
            )
            .await;
            assert_eq!(s, StatusCode::OK, "{id}: {body}");
            assert_no_secret("a test answer", &body, &secrets);
            let b: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(
                (&b["channel"], &b["ok"]),
                (&json!(id), &json!(ok)),
                "{body}"
            );
            let answers = b["answers"].as_array().unwrap();
            assert!(!answers.is_empty(), "{body}");
            for a in answers {
                assert_eq!(a["status"], answer_with, "{id}: {body}");
                assert!(a["body"].is_string(), "{body}");
            }
        }
    }
    // The provider really got the secrets (the masks are only in the answers).
    let seen: Vec<String> = provider
        .requests()
        .iter()
        .map(|r| {
            let auth = r.header("authorization").unwrap_or("");
            format!("{} {auth} {}", r.path, String::from_utf8_lossy(&r.body))
        })
        .collect();
    for s in &secrets[..6] {
        assert!(
            seen.iter().any(|r| r.contains(s)),
            "{s} was not sent: {seen:?}"
        );
    }
    // E-mail without a configured sender: an error answer, not a failure of the route.
    let (s, b) = call(
        &app,
        request("POST", "/v1/channels/mail/test", "", Some(TOKEN)),
    )
    .await;
    assert_eq!((s, &b["ok"]), (StatusCode::OK, &json!(false)), "{b}");
    assert!(b["answers"][0]["error"].is_string(), "{b}");
    // No answer at all (nothing listens): an error answer, 200.
    let gone = closed_port().await;
    let hook = json!({"id": "gone", "name": "Gone", "kind": "webhook",
                      "config": {"url": format!("{gone}/hook/gone-secret-path"), "secret": "signing-secret-0123456789"}});
    call(
        &app,
        request("POST", "/v1/channels", &hook.to_string(), Some(TOKEN)),
    )
    .await;
    let (s, _, body) = raw(
        &app,
        request("POST", "/v1/channels/gone/test", "", Some(TOKEN)),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_no_secret(
        "a test error",
        &body,
        &["gone-secret-path", "signing-secret-0123456789"],
    );
    let b: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(b["ok"], false);
    assert!(b["answers"][0]["error"].is_string(), "{body}");
    let (s, _) = call(
        &app,
        request("POST", "/v1/channels/none/test", "", Some(TOKEN)),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_failed_delivery_is_listed_and_a_retry_against_a_provider_that_recovered_sends_it() {
    let status = Arc::new(AtomicU16::new(500));
    let provider = echoing_provider(status.clone()).await;
    let app = app_with_providers(&provider.url);
    let (secrets, channels) = channels_of_every_kind(&provider.url);
    let hook = channels.iter().find(|c| c["id"] == "hook").unwrap();
    let (s, b) = call(
        &app,
        request("POST", "/v1/channels", &hook.to_string(), Some(TOKEN)),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let channel = app.store.channel("hook").await.unwrap().unwrap();
    let notifier = crate::routes::channels::notifier(&app);
    for key in ["web#down#1", "web#down#2"] {
        let r = notifier.deliver(&channel, &alert(key)).await;
        assert!(
            matches!(
                r,
                lookout_app::usecases::notify::ChannelResult::Failed { .. }
            ),
            "{r:?}"
        );
    }

    // A provider that echoes the request in its refusal: PagerDuty's routing key travels in
    // the body, where the sender's own scrubbing (URL, path, headers) does not look.
    let pager = channels.iter().find(|c| c["id"] == "pager").unwrap();
    call(
        &app,
        request("POST", "/v1/channels", &pager.to_string(), Some(TOKEN)),
    )
    .await;
    let pd = app.store.channel("pager").await.unwrap().unwrap();
    notifier.deliver(&pd, &alert("web#down#0")).await;
    let (s, _, body) = raw(
        &app,
        request("GET", "/v1/deliveries?channel=pager", "", Some(TOKEN)),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("\"failed\""), "{body}");
    assert_no_secret("a delivery's error", &body, &secrets);

    let (s, _, body) = raw(
        &app,
        request(
            "GET",
            "/v1/deliveries?status=failed&channel=hook",
            "",
            Some(TOKEN),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_no_secret("the deliveries", &body, &secrets);
    let listed: Value = serde_json::from_str(&body).unwrap();
    let records = listed["deliveries"].as_array().unwrap();
    assert_eq!(records.len(), 2, "{body}");
    assert!(records
        .iter()
        .all(|r| r["status"] == "failed" && r["channel_id"] == "hook"));
    assert_eq!(
        records[0]["alert_key"], "web#down#2",
        "newest first: {body}"
    );
    let (_, page) = call(
        &app,
        request("GET", "/v1/deliveries?limit=1", "", Some(TOKEN)),
    )
    .await;
    assert_eq!(page["deliveries"].as_array().unwrap().len(), 1, "{page}");
    assert!(page["next_cursor"].is_string(), "{page}");
    let (_, none) = call(
        &app,
        request("GET", "/v1/deliveries?status=sent", "", Some(TOKEN)),
    )
    .await;
    assert_eq!(none["deliveries"], json!([]), "{none}");

    let id = records[0]["id"].as_str().unwrap().to_string();
    status.store(200, Ordering::SeqCst);
    let retry = format!("/v1/deliveries/{id}/retry");
    let (s, _, body) = raw(&app, request("POST", &retry, "", Some(TOKEN))).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_no_secret("a retry", &body, &secrets);
    let b: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (&b["delivery"]["id"], &b["delivery"]["status"]),
        (&json!(id), &json!("sent"))
    );
    let (s, b) = call(&app, request("POST", &retry, "", Some(TOKEN))).await;
    assert_eq!(
        (s, &b["error"]["code"]),
        (StatusCode::CONFLICT, &json!("conflict")),
        "{b}"
    );
    let (_, left) = call(
        &app,
        request(
            "GET",
            "/v1/deliveries?status=failed&channel=hook",
            "",
            Some(TOKEN),
        ),
    )
    .await;
    assert_eq!(left["deliveries"].as_array().unwrap().len(), 1, "{left}");

    let unknown = lookout_core::notify::delivery_id("hook", "web#down#9");
    let huge = lookout_core::notify::delivery_id("hook", &"k".repeat(2_000));
    let bad_channel = lookout_core::notify::delivery_id("Hook!", "web#down#1");
    for path in [
        format!("/v1/deliveries/{unknown}/retry"),
        format!("/v1/deliveries/{huge}/retry"),
        format!("/v1/deliveries/{bad_channel}/retry"),
        "/v1/deliveries/nonsense/retry".into(),
    ] {
        let (s, _) = call(&app, request("POST", &path, "", Some(TOKEN))).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
    }
    // A delivery whose channel was deleted cannot be sent again.
    let other = records[1]["id"].as_str().unwrap();
    app.store.delete_channel("hook").await.unwrap();
    let (s, _) = call(
        &app,
        request(
            "POST",
            &format!("/v1/deliveries/{other}/retry"),
            "",
            Some(TOKEN),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let still = app
        .store
        .delivery("hook", "web#down#1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(still.status, lookout_core::notify::DeliveryStatus::Failed);
}

#[tokio::test]
async fn a_delivery_left_sending_past_its_claim_is_sent_by_a_retry_and_one_under_its_claim_is_a_409(
) {
    let status = Arc::new(AtomicU16::new(200));
    let provider = echoing_provider(status).await;
    let app = app_with_providers(&provider.url);
    let (secrets, channels) = channels_of_every_kind(&provider.url);
    let hook = channels.iter().find(|c| c["id"] == "hook").unwrap();
    let (s, b) = call(
        &app,
        request("POST", "/v1/channels", &hook.to_string(), Some(TOKEN)),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let claim_ms = notify_settings().claim_ms;
    let now = lookout_core::time::now_ms();
    // Two senders stopped after their claim (an API function past API Gateway's limit, a
    // Lambda timeout): one whose claim has passed, one whose claim still holds.
    for (key, at) in [
        ("web#down#old", now - claim_ms - 1_000),
        ("web#down#new", now),
    ] {
        let claim = app
            .store
            .claim_delivery("hook", &alert(key), at, at + claim_ms, now / 1000 + 86_400)
            .await
            .unwrap();
        assert_eq!(claim, lookout_app::ports::Claim::Won);
    }
    let stale = lookout_core::notify::delivery_id("hook", "web#down#old");
    let (s, _, body) = raw(
        &app,
        request(
            "POST",
            &format!("/v1/deliveries/{stale}/retry"),
            "",
            Some(TOKEN),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_no_secret("a retry", &body, &secrets);
    let b: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(b["delivery"]["status"], "sent", "{body}");
    assert_eq!(provider.requests().len(), 1);

    let live = lookout_core::notify::delivery_id("hook", "web#down#new");
    let (s, b) = call(
        &app,
        request(
            "POST",
            &format!("/v1/deliveries/{live}/retry"),
            "",
            Some(TOKEN),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(
        provider.requests().len(),
        1,
        "nothing sent under a live claim"
    );
}

#[tokio::test]
async fn a_bad_status_limit_or_cursor_of_the_deliveries_is_a_400_naming_it() {
    let app = app();
    for (query, name) in [
        ("status=lost", "status"),
        ("status=", "status"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("cursor=", "cursor"),
        ("cursor=%E2%98%83", "cursor"),
        ("cursor=not-a-cursor", "cursor"),
        ("channel=Ops%20Team", "channel"),
    ] {
        let (s, b) = call(
            &app,
            request("GET", &format!("/v1/deliveries?{query}"), "", Some(TOKEN)),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{query}: {b}");
        let message = b["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(name), "{query}: {message}");
    }
}

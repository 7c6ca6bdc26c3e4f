use std::sync::Arc;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request};
use lookout_app::memory::MemoryStore;
use lookout_app::testing::{closed_port, serve};
use serde_json::{json, Value};

use super::*;

const TOKEN: &str = "local-admin-token";

const READ: &str = "read-token";

fn app() -> Arc<App<MemoryStore>> {
    Arc::new(App {
        admin_token: Some(TOKEN.into()),
        read_token: Some(READ.into()),
        notify: NotifyDeps {
            settings: notify_settings(),
            ..NotifyDeps::local()
        },
        ..App::local(MemoryStore::default())
    })
}

/// Notifier settings for the unit tests: quick retries.
fn notify_settings() -> lookout_app::usecases::notify::NotifySettings {
    lookout_app::usecases::notify::NotifySettings {
        endpoints: Default::default(),
        claim_ms: 60_000,
        record_ttl_s: 86_400,
        attempts: 2,
        backoff_ms: 1,
        max_wait_ms: 100,
        timeout_ms: 10_000,
    }
}

fn request(method: &str, path: &str, body: &str, token: Option<&str>) -> Request {
    let mut b = lambda_http::http::Request::builder()
        .method(method)
        .uri(format!("https://lookout.example{path}"));
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    b.body(Body::Text(body.to_string())).unwrap()
}

async fn call(app: &Arc<App<MemoryStore>>, req: Request) -> (StatusCode, Value) {
    let resp = handle(app, req).await;
    let status = resp.status();
    assert_eq!(resp.headers()["content-type"], "application/json");
    let body: Value = serde_json::from_slice(resp.body().as_ref()).expect("JSON body");
    (status, body)
}

fn fixture(name: &str) -> Request {
    let text = std::fs::read_to_string(format!(
        "{}/../../events/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    lambda_http::request::from_str(&text).expect("an API Gateway HTTP API event")
}

#[tokio::test]
async fn the_health_fixture_answers_ok() {
    let (status, body) = call(&app(), fixture("api-health.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn the_create_fixture_creates_a_target_then_conflicts() {
    let app = app();
    let (status, body) = call(&app, fixture("api-create-target.json")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["created"][0]["id"], "example-api");
    let (status, body) = call(&app, fixture("api-create-target.json")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );
}

#[tokio::test]
async fn admin_routes_refuse_a_missing_or_wrong_token() {
    let app = app();
    for token in [None, Some("wrong"), Some("local-admin-token-but-longer")] {
        let (status, body) = call(&app, request("GET", "/v1/targets", "", token)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    let no_token_configured = Arc::new(App {
        admin_token: None,
        ..Arc::into_inner(app).unwrap()
    });
    let (status, _) = call(
        &no_token_configured,
        request("GET", "/v1/targets", "", Some(TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_input_gets_the_right_status_and_a_json_error_naming_the_problem() {
    let app = app();
    let cases = [
        (
            "POST",
            "/v1/targets",
            "{not json",
            StatusCode::BAD_REQUEST,
            "bad_request",
            "JSON",
        ),
        (
            "POST",
            "/v1/targets",
            "",
            StatusCode::BAD_REQUEST,
            "bad_request",
            "empty",
        ),
        (
            "POST",
            "/v1/targets",
            r#"{"id":"a","group":"g","kind":"server","url":"ftp://x/"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_target",
            "url",
        ),
        (
            "POST",
            "/v1/targets",
            r#"[{"id":"a","group":"g","kind":"server"}]"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_target",
            "targets[0].definition: missing field `url`",
        ),
        (
            "POST",
            "/v1/targets",
            r#"{"targets":[{"id":"p","group":"g","kind":"proxy","proxy_url":"http://u:hunter2@h:1","test_urls":[]}]}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_target",
            "targets[0].test_urls",
        ),
        (
            "POST",
            "/v1/targets",
            r#"{"id":"a","group":"g","kind":"icmp"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_target",
            "unknown variant `icmp`",
        ),
        (
            "GET",
            "/v1/nope",
            "",
            StatusCode::NOT_FOUND,
            "not_found",
            "/v1/nope",
        ),
        (
            "DELETE",
            "/v1/status",
            "",
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "GET",
        ),
        (
            "POST",
            "/v1/checks",
            r#"{"ids":["missing"]}"#,
            StatusCode::NOT_FOUND,
            "not_found",
            "missing",
        ),
        (
            "POST",
            "/v1/checks",
            r#"{"kind":"icmp"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_target",
            "kind",
        ),
    ];
    for (method, path, body, want, code, mentions) in cases {
        let (status, answer) = call(&app, request(method, path, body, Some(TOKEN))).await;
        assert_eq!(status, want, "{method} {path} {body}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(mentions),
            "{message:?} should mention {mentions:?}"
        );
        assert!(
            !message.contains("hunter2"),
            "credentials leaked: {message}"
        );
    }
    let huge = "x".repeat(MAX_BODY_BYTES + 1);
    let (status, _) = call(&app, request("POST", "/v1/targets", &huge, Some(TOKEN))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        app.store.list_targets(None).await.unwrap().is_empty(),
        "nothing was created by bad input"
    );
}

#[tokio::test]
async fn status_and_target_listings_never_show_proxy_credentials() {
    let app = app();
    let body = json!({"targets": [
        {"id":"p1","group":"pool","kind":"proxy","proxy_url":"http://alice:hunter2@127.0.0.1:3128","test_urls":["http://127.0.0.1:1/"]},
        {"id":"s1","group":"api","kind":"server","url":"http://127.0.0.1:1/","headers":{"X-Api-Key":"k-secret"}}
    ]});
    let (status, created) = call(
        &app,
        request("POST", "/v1/targets", &body.to_string(), Some(TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    for (answer, shows_definition) in [
        (created, true),
        (
            call(&app, request("GET", "/v1/targets", "", Some(TOKEN)))
                .await
                .1,
            true,
        ),
        (
            call(&app, request("GET", "/v1/targets/p1", "", Some(TOKEN)))
                .await
                .1,
            true,
        ),
        (
            call(&app, request("GET", "/v1/status", "", None)).await.1,
            false,
        ),
    ] {
        let text = answer.to_string();
        assert!(
            !shows_definition || text.contains("127.0.0.1:3128"),
            "{text}"
        );
        assert!(
            !text.contains("hunter2") && !text.contains("alice") && !text.contains("k-secret"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn a_manual_check_probes_now_and_returns_results() {
    let app = app();
    let live = serve(200, "ok").await;
    let dead = closed_port().await;
    let body = json!([
        {"id":"live","group":"api","kind":"server","url": live,"timeout_ms":2000},
        {"id":"dead","group":"api","kind":"server","url": dead,"timeout_ms":2000}
    ]);
    call(
        &app,
        request("POST", "/v1/targets", &body.to_string(), Some(TOKEN)),
    )
    .await;
    let (status, answer) = call(
        &app,
        request("POST", "/v1/checks", r#"{"kind":"server"}"#, Some(TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let results = answer["results"].as_array().unwrap();
    let by_id = |id: &str| {
        results
            .iter()
            .find(|r| r["target_id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(
        (
            by_id("live")["outcome"].as_str(),
            by_id("live")["status_code"].as_u64()
        ),
        (Some("up"), Some(200))
    );
    assert_eq!(
        (
            by_id("dead")["outcome"].as_str(),
            by_id("dead")["error"].as_str()
        ),
        (Some("failed"), Some("connect"))
    );
}

#[tokio::test]
async fn the_summary_counts_every_target_as_unknown_before_any_run() {
    let app = app();
    let body = json!({"id":"s","group":"api","kind":"server","url":"http://127.0.0.1:1/"});
    call(
        &app,
        request("POST", "/v1/targets", &body.to_string(), Some(TOKEN)),
    )
    .await;
    let (status, s) = call(&app, request("GET", "/v1/summary", "", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (s["targets"].as_u64(), s["by_status"]["unknown"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(s["last_runs"]["server"], Value::Null);
}

#[tokio::test]
async fn overrides_go_through_the_state_machine_and_a_stale_version_is_409() {
    let app = app();
    let (status, _) = call(
        &app,
        request(
            "POST",
            "/v1/targets",
            r#"{"id":"db","group":"g","kind":"server","url":"http://127.0.0.1:9/"}"#,
            Some(TOKEN),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let act = |action: &str, body: &str| {
        request(
            "POST",
            &format!("/v1/targets/db/actions/{action}"),
            body,
            Some(TOKEN),
        )
    };
    let (status, body) = call(&app, act("mark-down", r#"{"version":0}"#)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (
            body["state"]["status"].as_str(),
            body["state"]["version"].as_u64()
        ),
        (Some("down"), Some(1))
    );
    assert_eq!(body["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.store.outbox().len(),
        1,
        "the alert waits in the outbox for the next run"
    );
    // Someone who read version 0 is too late.
    let (status, body) = call(&app, act("mark-healthy", r#"{"version":0}"#)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );
    let (_, shown) = call(&app, request("GET", "/v1/status", "", None)).await;
    assert_eq!(
        shown["targets"][0]["status"], "down",
        "the status shows the override at once"
    );
    assert_eq!(shown["targets"][0]["state"]["version"], 1);
    let (status, body) = call(&app, act("mark-healthy", r#"{"version":1}"#)).await;
    assert_eq!(
        (status, body["state"]["status"].as_str()),
        (StatusCode::OK, Some("healthy"))
    );
    let (status, body) = call(&app, act("reset-stats", "")).await;
    assert_eq!(
        (status, body["state"]["checks"].as_u64()),
        (StatusCode::OK, Some(0))
    );
    assert_eq!(
        call(&app, act("explode", "")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&app, act("mark-down", r#"{"versoin":1}"#)).await.0,
        StatusCode::BAD_REQUEST
    );
    let get = request("GET", "/v1/targets/db/actions/mark-down", "", Some(TOKEN));
    assert_eq!(call(&app, get).await.0, StatusCode::METHOD_NOT_ALLOWED);
    let anonymous = request("POST", "/v1/targets/db/actions/mark-down", "", None);
    assert_eq!(call(&app, anonymous).await.0, StatusCode::UNAUTHORIZED);
    let missing = request(
        "POST",
        "/v1/targets/nope/actions/mark-down",
        "",
        Some(TOKEN),
    );
    assert_eq!(call(&app, missing).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_status_shows_an_active_maintenance_window() {
    let app = app();
    let now = lookout_core::time::now_ms();
    let target = serde_json::json!({"id":"db","group":"g","kind":"server","url":"http://127.0.0.1:9/",
        "maintenance":[{"start": lookout_core::time::rfc3339(now - 60_000),
                        "end": lookout_core::time::rfc3339(now + 3_600_000), "reason":"disk swap"},
                       {"days":["mon"],"from":"01:00","to":"02:00","tz":"Asia/Tokyo"}]});
    let (status, _) = call(
        &app,
        request("POST", "/v1/targets", &target.to_string(), Some(TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, body) = call(&app, request("GET", "/v1/status", "", None)).await;
    assert_eq!(body["targets"][0]["maintenance"]["reason"], "disk swap");
    let bad = serde_json::json!({"id":"x","group":"g","kind":"server","url":"http://127.0.0.1:9/",
        "maintenance":[{"days":["mon"],"from":"01:00","to":"02:00","tz":"Nowhere/City"}]});
    let (status, body) = call(
        &app,
        request("POST", "/v1/targets", &bad.to_string(), Some(TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("maintenance[0]"),
        "{body}"
    );
}

async fn seed(app: &Arc<App<MemoryStore>>) {
    let body = serde_json::json!({"targets": [
        {"id":"api-a","group":"api","kind":"server","url":"http://127.0.0.1:9/","tags":["prod"]},
        {"id":"api-b","group":"api","kind":"server","url":"http://127.0.0.1:9/b","priority":2},
        {"id":"px-cheap","group":"pool","kind":"proxy","proxy_url":"http://u:s3cret@127.0.0.1:3128",
         "proxy_type":"vps","test_urls":["http://127.0.0.1:9/ip"]},
        {"id":"px-res","group":"pool","kind":"proxy","proxy_url":"socks5://v:pw2@127.0.0.1:1080",
         "proxy_type":"residential","cost_per_gb":8,"test_urls":["http://127.0.0.1:9/ip"]}
    ]});
    let (status, _) = call(
        app,
        request("POST", "/v1/targets", &body.to_string(), Some(TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    // Everything healthy, as a probe run would leave it.
    for kind in lookout_core::domain::TargetKind::ALL {
        let targets = app.store.list_targets(Some(kind)).await.unwrap();
        let snapshot: Vec<_> = targets
            .iter()
            .map(|t| {
                let mut s = lookout_core::domain::TargetState::new(&t.id);
                s.status = lookout_core::domain::Status::Healthy;
                s.checks = 10;
                lookout_app::ports::Latest::new(s, None)
            })
            .collect();
        app.store
            .record_run(kind, 1_000, &snapshot, true)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn tokens_open_their_routes_and_nothing_more() {
    let app = app();
    seed(&app).await;
    for (method, path, token, want) in [
        ("GET", "/v1/targets", Some(READ), StatusCode::OK),
        ("GET", "/v1/targets", Some(TOKEN), StatusCode::OK),
        ("GET", "/v1/targets", None, StatusCode::UNAUTHORIZED),
        ("GET", "/v1/targets", Some("nope"), StatusCode::UNAUTHORIZED),
        (
            "DELETE",
            "/v1/targets/api-a",
            Some(READ),
            StatusCode::FORBIDDEN,
        ),
        (
            "GET",
            "/v1/proxies/active?group=pool",
            Some(READ),
            StatusCode::FORBIDDEN,
        ),
        ("GET", "/v1/status", None, StatusCode::OK),
        ("GET", "/metrics", None, StatusCode::OK),
        ("GET", "/v1/runs", Some(READ), StatusCode::OK),
        ("GET", "/v1/system", Some(READ), StatusCode::OK),
    ] {
        let resp = handle(&app, request(method, path, "", token)).await;
        assert_eq!(resp.status(), want, "{method} {path} with {token:?}");
    }
    let private = Arc::new(App {
        public_status: false,
        ..Arc::into_inner(app).unwrap()
    });
    for (token, want) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some(READ), StatusCode::OK),
    ] {
        let resp = handle(&private, request("GET", "/v1/summary", "", token)).await;
        assert_eq!(resp.status(), want, "private summary with {token:?}");
    }
    // Every public route (the `public` router of routes/mod.rs) is closed without a token in
    // private mode, and open with the read token (an answer other than 401, a 404 for an
    // unknown target included).
    let subscribe = json!({"email": "reader@example.com"}).to_string();
    for (method, path, body) in [
        ("GET", "/", ""),
        ("GET", "/?lang=ar", ""),
        ("GET", "/metrics", ""),
        ("GET", "/v1/health", ""),
        ("GET", "/v1/status", ""),
        ("GET", "/v1/summary", ""),
        ("GET", "/v1/openapi.json", ""),
        ("GET", "/v1/targets/x/uptime", ""),
        ("GET", "/v1/incidents", ""),
        ("GET", "/v1/incidents/inc-0123456789abcdef", ""),
        ("POST", "/v1/subscriptions", subscribe.as_str()),
        ("GET", "/badges/targets/x/status.svg", ""),
        ("GET", "/badges/targets/x/uptime/30d.svg", ""),
        ("GET", "/badges/targets/x/latency.svg", ""),
        ("GET", "/badges/groups/g/status.svg", ""),
        ("GET", "/badges/groups/g/uptime/30d.svg", ""),
        ("GET", "/badges/groups/g/latency.svg", ""),
        ("GET", "/feed.atom", ""),
        ("GET", "/targets/x", ""),
    ] {
        let resp = handle(&private, request(method, path, body, None)).await;
        assert_eq!(
            resp.status(),
            StatusCode::UNAUTHORIZED,
            "private {method} {path} without a token"
        );
        let resp = handle(&private, request(method, path, body, Some(READ))).await;
        assert_ne!(
            resp.status(),
            StatusCode::UNAUTHORIZED,
            "private {method} {path} with the read token"
        );
    }
}

#[tokio::test]
async fn target_listings_filter_and_page_with_a_cursor() {
    let app = app();
    seed(&app).await;
    let ids = |v: &Value| -> Vec<String> {
        v["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, body) = call(
        &app,
        request("GET", "/v1/targets?kind=proxy", "", Some(READ)),
    )
    .await;
    assert_eq!(ids(&body), ["px-cheap", "px-res"]);
    assert!(!body.to_string().contains("s3cret"), "{body}");
    let (_, body) = call(
        &app,
        request("GET", "/v1/targets?tag=prod&status=healthy", "", Some(READ)),
    )
    .await;
    assert_eq!(ids(&body), ["api-a"]);
    let (_, first) = call(&app, request("GET", "/v1/targets?limit=3", "", Some(READ))).await;
    assert_eq!(ids(&first).len(), 3);
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let (_, rest) = call(
        &app,
        request(
            "GET",
            &format!("/v1/targets?limit=3&cursor={cursor}"),
            "",
            Some(READ),
        ),
    )
    .await;
    assert_eq!(ids(&rest), ["px-res"]);
    assert!(rest["next_cursor"].is_null());
    for bad in ["kind=icmp", "status=sad", "limit=0", "limit=9999"] {
        let (status, body) = call(
            &app,
            request("GET", &format!("/v1/targets?{bad}"), "", Some(READ)),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let (status, body) = call(&app, request("GET", "/v1/targets/api-b", "", Some(READ))).await;
    assert_eq!(
        (status, body["state"]["status"].as_str()),
        (StatusCode::OK, Some("healthy"))
    );
    assert_eq!(
        call(&app, request("GET", "/v1/targets/nope", "", Some(READ)))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn patch_and_delete_check_versions_and_fields() {
    let app = app();
    seed(&app).await;
    let patch = |body: &str| request("PATCH", "/v1/targets/api-a", body, Some(TOKEN));
    let (status, body) = call(&app, patch(r#"{"version":1,"interval_s":30,"tags":null}"#)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (
            body["target"]["interval_s"].as_u64(),
            body["target"]["version"].as_u64()
        ),
        (Some(30), Some(2))
    );
    assert!(
        body["target"]["tags"].as_array().unwrap().is_empty(),
        "null removes"
    );
    for (b, want) in [
        (r#"{"version":1,"interval_s":60}"#, StatusCode::CONFLICT),
        (r#"{"interval_s":60}"#, StatusCode::UNPROCESSABLE_ENTITY),
        (
            r#"{"version":2,"interval_s":0}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"version":2,"kind":"proxy"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"version":2,"intervall_s":5}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        ("{not json", StatusCode::BAD_REQUEST),
    ] {
        let (status, body) = call(&app, patch(b)).await;
        assert_eq!(status, want, "{b}: {body}");
    }
    let (_, body) = call(&app, patch(r#"{"version":2,"interval_s":0}"#)).await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("interval_s"),
        "{body}"
    );
    let missing = request("PATCH", "/v1/targets/nope", r#"{"version":1}"#, Some(TOKEN));
    assert_eq!(call(&app, missing).await.0, StatusCode::NOT_FOUND);
    let del = || request("DELETE", "/v1/targets/api-b", "", Some(TOKEN));
    assert_eq!(call(&app, del()).await.0, StatusCode::OK);
    assert_eq!(call(&app, del()).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_target_file_applies_as_configuration_as_code() {
    let app = app();
    seed(&app).await;
    let yaml = "targets:\n  - id: api-a\n    group: api\n    kind: server\n    url: http://127.0.0.1:9/\n    tags: [prod]\n  - id: api-c\n    group: api\n    kind: server\n    url: http://127.0.0.1:9/c\n    interval_s: 30\n";
    let (status, body) = call(
        &app,
        request("PUT", "/v1/targets?prune=true", yaml, Some(TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["created"], serde_json::json!(["api-c"]));
    assert_eq!(body["unchanged"], serde_json::json!(["api-a"]));
    assert_eq!(
        body["deleted"],
        serde_json::json!(["api-b", "px-cheap", "px-res"])
    );
    let json_file =
        r#"[{"id":"api-a","group":"api","kind":"server","url":"http://127.0.0.1:9/v2"}]"#;
    let (_, body) = call(&app, request("PUT", "/v1/targets", json_file, Some(TOKEN))).await;
    assert_eq!(body["updated"], serde_json::json!(["api-a"]));
    assert_eq!(
        body["deleted"],
        serde_json::json!([]),
        "no prune, nothing deleted"
    );
    for (b, want) in [
        ("targets: [ {id: x", StatusCode::BAD_REQUEST),
        (
            r#"[{"id":"x","group":"g","kind":"server","url":"ftp://h/"}]"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        assert_eq!(
            call(&app, request("PUT", "/v1/targets", b, Some(TOKEN)))
                .await
                .0,
            want,
            "{b}"
        );
    }
    let prune_bad = request("PUT", "/v1/targets?prune=maybe", json_file, Some(TOKEN));
    assert_eq!(call(&app, prune_bad).await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_active_proxy_comes_with_credentials_and_usage_counts_traffic() {
    let app = app();
    seed(&app).await;
    let (status, body) = call(
        &app,
        request("GET", "/v1/proxies/active?group=pool", "", Some(TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["active"]["id"], "px-cheap",
        "the VPS proxy is cheapest"
    );
    assert_eq!(
        body["active"]["proxy_url"],
        "http://u:s3cret@127.0.0.1:3128"
    );
    assert_eq!(body["order"][1]["id"], "px-res");
    assert_eq!(
        call(&app, request("GET", "/v1/proxies/active", "", Some(TOKEN)))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        call(
            &app,
            request("GET", "/v1/proxies/active?group=none", "", Some(TOKEN))
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    let usage = |id: &str, body: &str| {
        request(
            "POST",
            &format!("/v1/proxies/{id}/usage"),
            body,
            Some(TOKEN),
        )
    };
    let (status, body) = call(
        &app,
        usage(
            "px-res",
            r#"{"outcome":"ok","bytes":500000000,"latency_ms":120}"#,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["traffic_bytes"].as_u64(), Some(500_000_000));
    assert!((body["cost"].as_f64().unwrap() - 4.0).abs() < 1e-9);
    let (_, again) = call(
        &app,
        usage(
            "px-res",
            r#"{"outcome":"blocked","bytes":1000,"status_code":403}"#,
        ),
    )
    .await;
    assert_eq!(again["status"], "blocked");
    let (_, shown) = call(&app, request("GET", "/v1/targets/px-res", "", Some(READ))).await;
    assert_eq!(
        shown["state"]["status"], "blocked",
        "the status shows reported usage at once"
    );
    assert_eq!(
        call(&app, usage("px-res", r#"{"outcome":"meh"}"#)).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        call(&app, usage("api-a", r#"{"outcome":"ok"}"#)).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, body) = call(
        &app,
        request("GET", "/v1/groups/api/active", "", Some(READ)),
    )
    .await;
    assert_eq!(
        (status, body["choices"][0]["active"].as_str()),
        (StatusCode::OK, Some("api-b"))
    );
    assert_eq!(
        call(
            &app,
            request("GET", "/v1/groups/none/active", "", Some(READ))
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn runs_and_alerts_list_history_with_filters() {
    let app = app();
    seed(&app).await;
    call(
        &app,
        request(
            "POST",
            "/v1/targets/api-a/actions/mark-down",
            "",
            Some(TOKEN),
        ),
    )
    .await;
    let (status, body) = call(
        &app,
        request("GET", "/v1/alerts?severity=critical", "", Some(READ)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["alerts"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body["alerts"][0]["alert"]["target_id"], "api-a");
    assert_eq!(body["alerts"][0]["published"], false);
    let (_, none) = call(
        &app,
        request("GET", "/v1/alerts?kind=storm", "", Some(READ)),
    )
    .await;
    assert!(none["alerts"].as_array().unwrap().is_empty());
    for bad in [
        "since=yesterday",
        "since=2026-01-01T00:00:00Z&until=2026-03-01T00:00:00Z",
    ] {
        assert_eq!(
            call(
                &app,
                request("GET", &format!("/v1/alerts?{bad}"), "", Some(READ))
            )
            .await
            .0,
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }
    let run = lookout_app::ports::RunRecord {
        run_id: "r1".into(),
        kind: lookout_core::domain::TargetKind::Server,
        started_at: 5_000,
        duration_ms: 12,
        checked: 2,
        ok: 2,
        changes: 0,
        alerts_published: 0,
        alerts_pending: 0,
        skipped: 0,
        shards: None,
        shards_done: None,
    };
    app.store.put_run(&run).await.unwrap();
    let (_, body) = call(
        &app,
        request("GET", "/v1/runs?kind=server&limit=5", "", Some(READ)),
    )
    .await;
    assert_eq!(body["runs"][0]["run_id"], "r1");
}

#[tokio::test]
async fn metrics_parse_as_prometheus_text() {
    let app = app();
    seed(&app).await;
    let resp = handle(&app, request("GET", "/metrics", "", None)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = String::from_utf8(resp.body().to_vec()).unwrap();
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("valid exposition format");
    let sample = |name: &str, id: &str| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && s.labels.get("id") == Some(id))
            .map(|s| match s.value {
                prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => f64::NAN,
            })
    };
    assert_eq!(sample("lookout_target_up", "api-a"), Some(1.0));
    assert_eq!(sample("lookout_target_checks_total", "px-res"), Some(10.0));
    assert_eq!(sample("lookout_proxy_cost", "px-res"), Some(0.0));
    assert_eq!(
        sample("lookout_proxy_cost", "api-a"),
        None,
        "servers have no cost"
    );
    let healthy = scrape.samples.iter().find(|s| {
        s.metric == "lookout_target_status"
            && s.labels.get("id") == Some("api-b")
            && s.labels.get("status") == Some("healthy")
    });
    assert!(healthy.is_some());
    assert!(scrape.docs.contains_key("lookout_target_up"));
    assert!(!text.contains("s3cret"));
}

/// Two runs of history for the seeded servers, 10 and 5 minutes ago.
async fn with_history(app: &Arc<App<MemoryStore>>) -> i64 {
    let now = lookout_core::time::now_ms();
    let targets = app
        .store
        .list_targets(Some(lookout_core::domain::TargetKind::Server))
        .await
        .unwrap();
    for (i, at) in [now - 600_000, now - 300_000].into_iter().enumerate() {
        let snapshot: Vec<_> = targets
            .iter()
            .map(|t| {
                let mut s = lookout_core::domain::TargetState::new(&t.id);
                s.status = lookout_core::domain::Status::Healthy;
                s.checks = 1 + i as u64;
                let r = lookout_core::domain::CheckResult {
                    target_id: t.id.clone(),
                    kind: t.kind(),
                    at,
                    outcome: if i == 0 {
                        lookout_core::domain::Outcome::Failed
                    } else {
                        lookout_core::domain::Outcome::Up
                    },
                    status_code: Some(200),
                    latency_ms: 40 + 10 * i as u64,
                    connect_ms: None,
                    ttfb_ms: None,
                    cert_days_left: None,
                    bytes: 10,
                    attempts: 1,
                    error: None,
                    message: None,
                };
                lookout_app::ports::Latest::new(s, Some(r))
            })
            .collect();
        app.store
            .record_run(
                lookout_core::domain::TargetKind::Server,
                at,
                &snapshot,
                true,
            )
            .await
            .unwrap();
    }
    now
}

#[tokio::test]
async fn results_come_from_the_history_with_filters_and_a_cursor() {
    let app = app();
    seed(&app).await;
    with_history(&app).await;
    let (status, body) = call(&app, request("GET", "/v1/results?limit=3", "", Some(READ))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["results"].as_array().unwrap().len(), 3);
    let cursor = body["next_cursor"].as_str().unwrap().to_string();
    let (_, rest) = call(
        &app,
        request(
            "GET",
            &format!("/v1/results?limit=3&cursor={cursor}"),
            "",
            Some(READ),
        ),
    )
    .await;
    assert_eq!(rest["results"].as_array().unwrap().len(), 1);
    let (_, failed) = call(
        &app,
        request(
            "GET",
            "/v1/targets/api-a/results?status=failed",
            "",
            Some(READ),
        ),
    )
    .await;
    let failed = failed["results"].as_array().unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["target_id"], "api-a");
    for (path, want) in [
        ("/v1/targets/nope/results", StatusCode::NOT_FOUND),
        ("/v1/results?status=sideways", StatusCode::BAD_REQUEST),
        ("/v1/results?cursor=xyz", StatusCode::BAD_REQUEST),
        (
            "/v1/results?since=2026-01-01T00:00:00Z&until=2026-02-01T00:00:00Z",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        assert_eq!(
            call(&app, request("GET", path, "", Some(READ))).await.0,
            want,
            "{path}"
        );
    }
}

async fn page(app: &Arc<App<MemoryStore>>, path: &str) -> String {
    let resp = handle(app, request("GET", path, "", None)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/html; charset=utf-8");
    String::from_utf8(resp.body().to_vec()).unwrap()
}

#[tokio::test]
async fn the_status_page_shows_every_target_escaped_with_a_bar_in_three_languages() {
    let app = app();
    seed(&app).await;
    let evil = serde_json::json!({"id":"evil","name":"<script>alert(1)</script>","group":"api",
        "kind":"server","url":"http://127.0.0.1:9/"});
    call(
        &app,
        request("POST", "/v1/targets", &evil.to_string(), Some(TOKEN)),
    )
    .await;
    with_history(&app).await;
    let html = page(&app, "/").await;
    for id in ["api-a", "api-b", "px-cheap", "px-res", "evil"] {
        assert!(html.contains(&format!("data-id=\"{id}\"")), "{id} missing");
    }
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(
        !html.contains("<script>alert(1)"),
        "a target name is never markup"
    );
    // No uptime table yet: every row says "no data", never a percentage; the latest answer's
    // latency shows, and each row has its 90 days (one grey cell spanning them).
    let row = html
        .split("<li class=\"target\"")
        .find(|r| r.contains("data-id=\"api-a\""))
        .expect("api-a's row");
    assert!(row.contains("no data") && !row.contains('%'), "{row}");
    assert!(row.contains("50 ms"), "{row}");
    assert!(
        row.contains("<span class=\"bar\"><i style=\"grid-column:span 90\"></i></span>"),
        "{row}"
    );
    assert!(html.contains("dir=\"ltr\"") && !html.contains("s3cret"));
    let ar = page(&app, "/?lang=ar").await;
    assert!(ar.contains("dir=\"rtl\"") && ar.contains("حالة الخدمة"));
    let fa = page(&app, "/?lang=fa").await;
    assert!(fa.contains("dir=\"rtl\"") && fa.contains("وضعیت سرویس"));
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_the_router_serves() {
    let app = app();
    let (status, doc) = call(&app, request("GET", "/v1/openapi.json", "", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.0.3");
    let mut documented = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            documented.push((method.to_uppercase(), path.clone()));
            assert!(op["responses"]["400"].is_object() && op["operationId"].is_string());
            let params: Vec<&str> = op["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            let in_path: Vec<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .collect();
            assert_eq!(params, in_path, "{method} {path}");
        }
    }
    documented.sort();
    let mut routed: Vec<(String, String)> = crate::ROUTES
        .iter()
        .map(|(m, p, ..)| (m.to_string(), p.to_string()))
        .collect();
    routed.sort();
    assert_eq!(documented, routed);
    // And every documented route answers something other than 404 / 405 from the router.
    for (method, path) in routed {
        let concrete = path
            .replace("{id}", "x")
            .replace("{action}", "reset-stats")
            .replace("{group}", "g")
            .replace("{window}", "24h.svg")
            .replace("{kind}", "server")
            .replace("{slug}", "default");
        let resp = handle(&app, request(&method, &concrete, "", Some(TOKEN))).await;
        assert!(
            resp.status() != StatusCode::METHOD_NOT_ALLOWED,
            "{method} {concrete}"
        );
        // A badge's or a page's 404 is an SVG or HTML document (never the router's "no route").
        let json = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            == Some("application/json");
        if resp.status() == StatusCode::NOT_FOUND && json {
            let body: Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
            assert!(
                !body["error"]["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("no route"),
                "{method} {concrete}"
            );
        }
    }
}

#[tokio::test]
async fn the_system_route_reports_levels_against_thresholds() {
    let app = app();
    let (status, body) = call(&app, request("GET", "/v1/system", "", Some(READ))).await;
    assert_eq!(status, StatusCode::OK);
    for part in ["load", "memory", "process", "tmp"] {
        let level = body[part]["level"]
            .as_str()
            .unwrap_or_else(|| panic!("{part}: {body}"));
        assert!(
            ["ok", "warning", "critical"].contains(&level),
            "{part}: {level}"
        );
    }
    assert!(body["process_rss_bytes"].as_u64().unwrap() > 0);
    assert!(body["tmp"]["total_bytes"].as_u64().unwrap() > 0);
    use crate::routes::{level, LOAD_PER_CPU, USED_PERCENT};
    assert_eq!(
        [
            level(0.69, LOAD_PER_CPU),
            level(0.7, LOAD_PER_CPU),
            level(1.0, LOAD_PER_CPU)
        ],
        ["ok", "warning", "critical"]
    );
    assert_eq!(
        [
            level(79.9, USED_PERCENT),
            level(85.0, USED_PERCENT),
            level(95.0, USED_PERCENT)
        ],
        ["ok", "warning", "critical"]
    );
}

#[tokio::test]
async fn the_summary_is_read_from_the_summaries_the_probe_rounds_write() {
    use lookout_app::ports::SummaryStore;
    let app = app();
    seed(&app).await;
    let summary = lookout_app::ports::KindSummary {
        kind: lookout_core::domain::TargetKind::Proxy,
        at: 5_000,
        targets: 2,
        by_status: [("healthy".to_string(), 1), ("down".to_string(), 1)]
            .into_iter()
            .collect(),
        groups: Vec::new(),
        traffic_bytes: 1_000,
        cost: 0.25,
        last_run: None,
    };
    app.store.put_summary(&summary).await.unwrap();
    let (status, body) = call(&app, request("GET", "/v1/summary", "", None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (body["targets"].as_u64(), body["by_status"]["down"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(body["estimated_proxy_cost"].as_f64(), Some(0.25));
    assert_eq!(body["as_of"], lookout_core::time::rfc3339(5_000));
}

#[tokio::test]
async fn review_cases_encoded_names_huge_usage_redacted_round_trips_and_whole_file_validation() {
    let app = app();
    seed(&app).await;
    // A group name with a space and Arabic letters, percent-encoded in the path.
    let g = serde_json::json!({"id":"eu-1","group":"EU West غرب","kind":"server","url":"http://127.0.0.1:9/"});
    call(
        &app,
        request("POST", "/v1/targets", &g.to_string(), Some(TOKEN)),
    )
    .await;
    let path = "/v1/groups/EU%20West%20%D8%BA%D8%B1%D8%A8/active";
    assert_eq!(
        call(&app, request("GET", path, "", Some(READ))).await.0,
        StatusCode::OK
    );
    // Usage with the largest byte count, twice: no overflow.
    let huge = r#"{"outcome":"ok","bytes":18446744073709551615}"#;
    for _ in 0..2 {
        let (status, body) = call(
            &app,
            request("POST", "/v1/proxies/px-res/usage", huge, Some(TOKEN)),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // The listing (redacted) applied back changes nothing and keeps the credentials.
    let (_, listing) = call(
        &app,
        request("GET", "/v1/targets?kind=proxy", "", Some(READ)),
    )
    .await;
    let file = serde_json::json!({"targets": listing["targets"].as_array().unwrap().iter().map(|t| {
        let mut t = t.clone();
        t.as_object_mut().unwrap().remove("status");
        t
    }).collect::<Vec<_>>()});
    let (status, body) = call(
        &app,
        request("PUT", "/v1/targets", &file.to_string(), Some(TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["updated"], serde_json::json!([]), "{body}");
    let (_, active) = call(
        &app,
        request("GET", "/v1/proxies/active?group=pool", "", Some(TOKEN)),
    )
    .await;
    assert!(
        active.to_string().contains("s3cret"),
        "the stored password survives"
    );
    // A file whose second entry is invalid writes nothing, not even the first.
    let bad = serde_json::json!([
        {"id":"brand-new","group":"g","kind":"server","url":"http://127.0.0.1:9/"},
        {"id":"api-a","group":"api","kind":"proxy","proxy_url":"http://h:1","test_urls":["http://x/"]}
    ]);
    let (status, _) = call(
        &app,
        request("PUT", "/v1/targets", &bad.to_string(), Some(TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        call(
            &app,
            request("GET", "/v1/targets/brand-new", "", Some(READ))
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn head_is_a_get_without_the_body() {
    let app = app();
    for path in ["/", "/v1/health", "/v1/status"] {
        let resp = handle(&app, request("HEAD", path, "", None)).await;
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        assert!(resp.body().is_empty(), "{path}");
    }
    let resp = handle(&app, request("HEAD", "/v1/targets", "", None)).await;
    assert_eq!(
        resp.status(),
        StatusCode::UNAUTHORIZED,
        "HEAD needs what GET needs"
    );
}

#[tokio::test]
async fn the_lease_routes_list_each_kinds_holder_and_release_a_stuck_lease() {
    use lookout_app::ports::{Lease, RunLease};
    let app = app();
    let now = lookout_core::time::now_ms();
    let until = now + lookout_app::lease::LEASE_MS;
    assert_eq!(
        app.store
            .acquire_lease(
                lookout_core::domain::TargetKind::Server,
                "stuck-run",
                now,
                until,
                Some("ev-1")
            )
            .await
            .unwrap(),
        Lease::Acquired
    );
    let (status, body) = call(&app, request("GET", "/v1/leases", "", Some(TOKEN))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["leases"][0],
        json!({"kind": "server", "held": true, "holder": "stuck-run", "until_ms": until,
               "until": lookout_core::time::rfc3339(until), "done_event": null})
    );
    assert_eq!(
        body["leases"][1],
        json!({"kind": "proxy", "held": false, "holder": null, "until_ms": 0, "until": null,
               "done_event": null})
    );

    let resp = handle(
        &app,
        request("DELETE", "/v1/leases/server", "", Some(TOKEN)),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(resp.body().is_empty());
    let (_, body) = call(&app, request("GET", "/v1/leases", "", Some(TOKEN))).await;
    assert_eq!(
        (&body["leases"][0]["held"], &body["leases"][0]["holder"]),
        (&json!(false), &Value::Null)
    );
    assert_eq!(
        app.store
            .acquire_lease(
                lookout_core::domain::TargetKind::Server,
                "next-run",
                now + 1,
                until + 1,
                None
            )
            .await
            .unwrap(),
        Lease::Acquired,
        "the next run starts at once"
    );
    assert!(
        !app.store
            .renew_lease(
                lookout_core::domain::TargetKind::Server,
                "stuck-run",
                until + 60_000
            )
            .await
            .unwrap(),
        "the stuck run's heartbeat finds its lease lost"
    );
    // Nothing held is fine too.
    let resp = handle(&app, request("DELETE", "/v1/leases/proxy", "", Some(TOKEN))).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn the_lease_routes_need_the_admin_token_and_a_known_kind() {
    let app = app();
    for (method, path) in [("GET", "/v1/leases"), ("DELETE", "/v1/leases/server")] {
        let (status, _) = call(&app, request(method, path, "", Some(READ))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}");
        let (status, _) = call(&app, request(method, path, "", None)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
    }
    let (status, body) = call(&app, request("DELETE", "/v1/leases/db", "", Some(TOKEN))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "bad_request");
    assert_eq!(
        body["error"]["message"],
        "kind: must be server or proxy, got \"db\""
    );
    let (status, _) = call(&app, request("POST", "/v1/leases/server", "", Some(TOKEN))).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn the_openapi_document_gives_the_lease_release_a_204_and_the_kinds() {
    let doc = crate::openapi::document();
    let op = &doc["paths"]["/v1/leases/{kind}"]["delete"];
    assert!(op["responses"]["204"].is_object() && op["responses"]["200"].is_null());
    assert_eq!(
        op["parameters"][0]["schema"]["enum"],
        json!(["server", "proxy"])
    );
    assert!(doc["paths"]["/v1/leases"]["get"]["responses"]["403"].is_object());
}

/// A server definition with `extra` fields set.
fn server_with(id: &str, extra: Value) -> Value {
    let mut v = json!({"id": id, "group": "g", "kind": "server", "url": "http://127.0.0.1:9/"});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

#[tokio::test]
async fn a_value_of_the_wrong_type_is_a_422_naming_its_json_path_in_every_write_route() {
    let app = app();
    let cases = [
        (
            json!({"timeout_ms": "fast"}),
            "timeout_ms",
            "invalid type: string \"fast\", expected u64",
        ),
        (json!({"enabled": "yes"}), "enabled", "expected a boolean"),
        (json!({"tags": "prod"}), "tags", "expected a sequence"),
        (
            json!({"headers": {"X-A": 1}}),
            "headers.X-A",
            "expected a string",
        ),
        (json!({"interval_s": -5}), "interval_s", "-5"),
        (json!({"priority": 1.5}), "priority", "1.5"),
        (json!({"url": 42}), "url", "expected a string"),
        (
            json!({"expected_status": ["999-100"]}),
            "expected_status[0]",
            "999-100",
        ),
    ];
    for (extra, field, says) in &cases {
        let one = server_with("a", extra.clone());
        let list = json!([
            server_with("ok-0", json!({})),
            server_with("ok-1", json!({})),
            one
        ]);
        let wrapped = json!({ "targets": list });
        for (method, body, path) in [
            ("POST", one.clone(), field.to_string()),
            ("POST", list.clone(), format!("targets[2].{field}")),
            ("POST", wrapped.clone(), format!("targets[2].{field}")),
            ("PUT", wrapped.clone(), format!("targets[2].{field}")),
        ] {
            let (status, body) = call(
                &app,
                request(method, "/v1/targets", &body.to_string(), Some(TOKEN)),
            )
            .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{method} {body}");
            assert_eq!(body["error"]["code"], "invalid_target");
            assert_eq!(body["error"]["field"], path.as_str(), "{method} {body}");
            let message = body["error"]["message"].as_str().unwrap();
            assert!(message.starts_with(&format!("{path}: ")), "{message}");
            assert!(message.contains(says), "{message}");
        }
    }
    // The same file in YAML.
    let yaml = "targets:\n  - id: y\n    group: g\n    kind: server\n    url: http://127.0.0.1:9/\n    timeout_ms: fast\n";
    let (status, body) = call(&app, request("PUT", "/v1/targets", yaml, Some(TOKEN))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "targets[0].timeout_ms");
    // A merge patch.
    let create = server_with("p", json!({})).to_string();
    assert_eq!(
        call(&app, request("POST", "/v1/targets", &create, Some(TOKEN)))
            .await
            .0,
        StatusCode::CREATED
    );
    for (extra, field, says) in &cases {
        let mut patch = extra.clone();
        patch["version"] = json!(1);
        let (status, body) = call(
            &app,
            request("PATCH", "/v1/targets/p", &patch.to_string(), Some(TOKEN)),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{patch}: {body}");
        assert_eq!(body["error"]["field"], *field, "{patch}: {body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(says),
            "{body}"
        );
    }
    // Nothing was stored by any of them.
    let (_, listed) = call(&app, request("GET", "/v1/targets", "", Some(TOKEN))).await;
    assert_eq!(listed["targets"].as_array().unwrap().len(), 1, "{listed}");
}

#[tokio::test]
async fn dot_ids_and_connect_or_trace_checks_are_refused() {
    let app = app();
    for (def, field) in [
        (server_with(".", json!({})), "id"),
        (server_with("..", json!({})), "id"),
        (server_with("a", json!({"method": "CONNECT"})), "method"),
        (server_with("a", json!({"method": "TRACE"})), "method"),
    ] {
        let (status, body) = call(
            &app,
            request("POST", "/v1/targets", &def.to_string(), Some(TOKEN)),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{def}: {body}");
        assert_eq!(body["error"]["field"], field, "{def}: {body}");
    }
}

#[tokio::test]
async fn dry_run_validates_and_answers_what_would_happen_without_writing() {
    let app = app();
    seed(&app).await;
    let before = app.store.list_targets(None).await.unwrap();
    // POST: the would-be definitions, redacted, version 1.
    let new = json!([server_with(
        "new-a",
        json!({"headers": {"Authorization": "Bearer s3cret"}})
    )]);
    let (status, body) = call(
        &app,
        request(
            "POST",
            "/v1/targets?dry_run=true",
            &new.to_string(),
            Some(TOKEN),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["dry_run"], true);
    assert_eq!(body["created"][0]["id"], "new-a");
    assert_eq!(body["created"][0]["version"], 1);
    assert!(!body.to_string().contains("s3cret"), "{body}");
    // An id that exists is still a conflict, and bad input still a 422.
    let taken = json!([server_with("api-a", json!({}))]).to_string();
    let (status, _) = call(
        &app,
        request("POST", "/v1/targets?dry_run=true", &taken, Some(TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let bad = server_with("b", json!({"timeout_ms": "fast"})).to_string();
    let (status, _) = call(
        &app,
        request("POST", "/v1/targets?dry_run=true", &bad, Some(TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // PUT: created, updated, unchanged and pruned ids.
    let file = json!({"targets": [
        {"id":"api-a","group":"api","kind":"server","url":"http://127.0.0.1:9/","tags":["prod"]},
        {"id":"api-b","group":"api","kind":"server","url":"http://127.0.0.1:9/b2"},
        server_with("new-a", json!({}))
    ]});
    let (status, body) = call(
        &app,
        request(
            "PUT",
            "/v1/targets?prune=true&dry_run=true",
            &file.to_string(),
            Some(TOKEN),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["dry_run"], true);
    assert_eq!(body["created"], json!(["new-a"]));
    assert_eq!(body["updated"], json!(["api-b"]));
    assert_eq!(body["unchanged"], json!(["api-a"]));
    assert_eq!(body["deleted"], json!(["px-cheap", "px-res"]));
    let (status, _) = call(
        &app,
        request(
            "PUT",
            "/v1/targets?dry_run=yes",
            &file.to_string(),
            Some(TOKEN),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.store.list_targets(None).await.unwrap(),
        before,
        "nothing written"
    );
    // Without dry_run the same file does what the dry run said.
    let (_, real) = call(
        &app,
        request(
            "PUT",
            "/v1/targets?prune=true",
            &file.to_string(),
            Some(TOKEN),
        ),
    )
    .await;
    for list in ["created", "updated", "unchanged", "deleted"] {
        assert_eq!(real[list], body[list], "{list}");
    }
    assert!(real.get("dry_run").is_none(), "{real}");
}

/// The ids in `GET /v1/status`, with their names.
async fn status_ids(app: &Arc<App<MemoryStore>>) -> Vec<(String, String)> {
    let (status, body) = call(app, request("GET", "/v1/status", "", None)).await;
    assert_eq!(status, StatusCode::OK);
    body["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                t["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_instance_that_writes_a_target_shows_it_in_the_status_at_once() {
    let app = app();
    seed(&app).await;
    assert_eq!(
        status_ids(&app).await.len(),
        4,
        "the definitions are cached now"
    );
    // The index that lists definitions lags behind the writes, as DynamoDB's gsi1 may.
    app.store.freeze_listing(true);
    let new = server_with("fresh", json!({})).to_string();
    let (status, _) = call(&app, request("POST", "/v1/targets", &new, Some(TOKEN))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(
        status_ids(&app).await.iter().any(|(id, _)| id == "fresh"),
        "created, read at once"
    );
    let patch = r#"{"version":1,"name":"Fresh renamed"}"#;
    let (status, _) = call(
        &app,
        request("PATCH", "/v1/targets/fresh", patch, Some(TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(status_ids(&app)
        .await
        .contains(&("fresh".to_string(), "Fresh renamed".to_string())));
    let (status, _) = call(
        &app,
        request("DELETE", "/v1/targets/api-b", "", Some(TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let file = json!([server_with("from-file", json!({}))]).to_string();
    let (status, _) = call(&app, request("PUT", "/v1/targets", &file, Some(TOKEN))).await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<String> = status_ids(&app)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(ids, ["api-a", "fresh", "from-file", "px-cheap", "px-res"]);
    // Once the index catches up, the listing agrees.
    app.store.freeze_listing(false);
    app.defs.clear();
    let again: Vec<String> = status_ids(&app)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(again, ids);
}

#[tokio::test]
async fn secret_references_are_resolved_for_checks_and_the_active_proxy_and_never_shown() {
    use lookout_app::secrets::{MemorySecrets, SecretRef};
    let mem = std::sync::Arc::new(MemorySecrets::default());
    mem.set(SecretRef::Ssm("/lookout/px".into()), "r3f-pw");
    mem.set(SecretRef::Ssm("/lookout/tok".into()), "t0k-9");
    let app = Arc::new(App {
        secrets: lookout_app::secrets::Secrets::new(mem.clone()),
        ..Arc::into_inner(app()).unwrap()
    });
    seed(&app).await;
    let live = serve(200, "ok").await;
    let body = json!({"targets": [
        {"id":"px-ref","group":"pool","kind":"proxy","proxy_type":"vps","priority":1,
         "proxy_url":"http://u:{{ssm:/lookout/px}}@127.0.0.1:3128","test_urls":["http://127.0.0.1:9/ip"]},
        {"id":"api-ref","group":"api","kind":"server","url":live,
         "headers":{"Authorization":"Bearer {{ssm:/lookout/tok}}"}},
        {"id":"api-missing","group":"api","kind":"server","url":live,
         "headers":{"X-Token":"{{ssm:/lookout/gone}}"}}
    ]});
    let (status, b) = call(
        &app,
        request("POST", "/v1/targets", &body.to_string(), Some(TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    let (status, b) = call(
        &app,
        request(
            "POST",
            "/v1/checks",
            r#"{"ids":["api-ref","api-missing"]}"#,
            Some(TOKEN),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{b}");
    let by_id = |id: &str| {
        b["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["target_id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(by_id("api-ref")["outcome"], "up", "{b}");
    let missing = by_id("api-missing");
    assert_eq!(
        (missing["outcome"].as_str(), missing["error"].as_str()),
        (Some("failed"), Some("other"))
    );
    assert!(
        missing["message"]
            .as_str()
            .unwrap()
            .contains("{{ssm:/lookout/gone}}"),
        "{missing}"
    );
    // The active proxy hands out the resolved password; once it cannot be resolved, the
    // proxy is left out.
    let mut s = lookout_core::domain::TargetState::new("px-ref");
    s.status = lookout_core::domain::Status::Healthy;
    s.checks = 10;
    let kind = lookout_core::domain::TargetKind::Proxy;
    let mut all: Vec<_> = app
        .store
        .latest(kind)
        .await
        .unwrap()
        .into_values()
        .collect();
    all.push(lookout_app::ports::Latest::new(s, None));
    app.store.record_run(kind, 2_000, &all, true).await.unwrap();
    let (_, b) = call(
        &app,
        request("GET", "/v1/proxies/active?group=pool", "", Some(TOKEN)),
    )
    .await;
    assert_eq!(b["active"]["id"], "px-ref", "{b}");
    assert_eq!(b["active"]["proxy_url"], "http://u:r3f-pw@127.0.0.1:3128");
    // Every other answer shows neither the value nor more than the masked URL.
    let (_, shown) = call(&app, request("GET", "/v1/targets", "", Some(TOKEN))).await;
    let text = shown.to_string();
    assert!(
        !text.contains("r3f-pw") && !text.contains("t0k-9"),
        "{text}"
    );
    let other = Arc::new(App {
        secrets: lookout_app::secrets::Secrets::new(MemorySecrets::default()),
        store: Arc::into_inner(app).unwrap().store,
        ..Arc::into_inner(self::app()).unwrap()
    });
    let (_, b) = call(
        &other,
        request("GET", "/v1/proxies/active?group=pool", "", Some(TOKEN)),
    )
    .await;
    assert_eq!(b["active"]["id"], "px-cheap", "{b}");
}

#[tokio::test]
async fn a_body_that_is_not_utf8_is_a_400_naming_the_problem_not_a_500() {
    // API Gateway hands a binary body over base64-encoded (`Body::Binary`); `cargo lambda
    // watch` cannot pass one at all, so this is tested on the handler itself.
    let app = app();
    for (method, path) in [
        ("POST", "/v1/targets"),
        ("PUT", "/v1/targets"),
        ("POST", "/v1/checks"),
        ("PUT", "/v1/pages/default"),
        ("POST", "/v1/incidents"),
        ("PATCH", "/v1/incidents/inc-0123456789abcdef"),
        ("POST", "/v1/subscriptions"),
    ] {
        let req = lambda_http::http::Request::builder()
            .method(method)
            .uri(format!("https://lookout.example{path}"))
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Body::Binary(vec![0xff, 0xfe, b'{', 0x80]))
            .unwrap();
        let (status, body) = call(&app, req).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {path}: {body}");
        assert_eq!(
            body["error"]["code"], "bad_request",
            "{method} {path}: {body}"
        );
    }
}

mod audit;
mod cache;
mod digests;
mod incidents;
mod kinds;
mod locations;
mod notify;
mod push;
mod request_log;
mod results_jsonl;
mod slo_page;
mod slos;
mod status_page;
mod status_page_more;

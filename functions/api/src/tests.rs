use lambda_http::http::StatusCode;
use lambda_http::{Body, Request};
use lookout::adapters::memory::MemoryStore;
use lookout::testing::{closed_port, serve};
use serde_json::{json, Value};

use super::*;

const TOKEN: &str = "local-admin-token";

const READ: &str = "read-token";

fn app() -> App<MemoryStore> {
    App {
        store: MemoryStore::default(),
        prober: Prober::with_options(lookout::probe::ProbeOptions::allow_private()).unwrap(),
        admin_token: Some(TOKEN.into()),
        read_token: Some(READ.into()),
        public_status: true,
        concurrency: 4,
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

async fn call(app: &App<MemoryStore>, req: Request) -> (StatusCode, Value) {
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
    let no_token_configured = App {
        admin_token: None,
        ..app
    };
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
            r#"{"id":"a","group":"g","kind":"tcp"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_target",
            "unknown variant `tcp`",
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
            r#"{"kind":"tcp"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "tcp",
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
    for answer in [
        created,
        call(&app, request("GET", "/v1/targets", "", Some(TOKEN)))
            .await
            .1,
        call(&app, request("GET", "/v1/status", "", None)).await.1,
    ] {
        let text = answer.to_string();
        assert!(text.contains("127.0.0.1:3128"), "{text}");
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
    let now = lookout::time::now_ms();
    let target = serde_json::json!({"id":"db","group":"g","kind":"server","url":"http://127.0.0.1:9/",
        "maintenance":[{"start": lookout::time::rfc3339(now - 60_000),
                        "end": lookout::time::rfc3339(now + 3_600_000), "reason":"disk swap"},
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

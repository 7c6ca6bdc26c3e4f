//! Heartbeat targets through the API (issue 21), against the memory store: the push route
//! (signals, query, body, caps, refusals), the push token's lifecycle (made, shown once,
//! stored as its hash, rotated, kept by edits), the pings route and the ping record deleted
//! with its target.

use lookout_app::ports::{AuditLog as _, HeartbeatStore as _, TargetStore as _};
use lookout_app::testing::logs::LogCapture;
use lookout_core::domain::heartbeat::PingStatus;

use super::slos::schema;
use super::*;

/// A token of the push form the tests give themselves.
const GIVEN: &str = "given-push-token-0123456789abcdef";

async fn admin(
    app: &Arc<App<MemoryStore>>,
    method: &str,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    call(app, request(method, path, &body, Some(TOKEN))).await
}

/// Creates heartbeat `id` without a token; answers the token (from the push path answered).
async fn heartbeat(app: &Arc<App<MemoryStore>>, id: &str) -> String {
    let (status, body) = admin(
        app,
        "POST",
        "/v1/targets",
        json!({"id": id, "kind": "heartbeat", "group": "jobs", "period_s": 3600}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let path = body["created"][0]["push_path"].as_str().expect("push_path");
    path.strip_prefix("/v1/push/").unwrap().to_string()
}

/// A push request without a bearer token.
async fn push(
    app: &Arc<App<MemoryStore>>,
    method: &str,
    path: &str,
    body: &str,
) -> (StatusCode, Value) {
    call(app, request(method, path, body, None)).await
}

async fn record(
    app: &Arc<App<MemoryStore>>,
    id: &str,
) -> lookout_core::domain::heartbeat::PingRecord {
    app.store
        .ping_record(id)
        .await
        .unwrap()
        .expect("a ping record")
}

#[tokio::test]
async fn pings_by_path_query_and_exit_code_are_recorded_with_their_status() {
    let app = app();
    let token = heartbeat(&app, "backup").await;
    let doc = crate::openapi::document();
    let cases: &[(&str, String, PingStatus, Option<i32>)] = &[
        ("POST", format!("/v1/push/{token}"), PingStatus::Ok, None),
        ("GET", format!("/v1/push/{token}"), PingStatus::Ok, None),
        (
            "GET",
            format!("/v1/push/{token}/start"),
            PingStatus::Start,
            None,
        ),
        (
            "POST",
            format!("/v1/push/{token}/fail"),
            PingStatus::Fail,
            None,
        ),
        (
            "GET",
            format!("/v1/push/{token}/log"),
            PingStatus::Log,
            None,
        ),
        (
            "GET",
            format!("/v1/push/{token}/0"),
            PingStatus::Ok,
            Some(0),
        ),
        (
            "POST",
            format!("/v1/push/{token}/3"),
            PingStatus::Fail,
            Some(3),
        ),
        (
            "GET",
            format!("/v1/push/{token}/255"),
            PingStatus::Fail,
            Some(255),
        ),
        (
            "GET",
            format!("/v1/push/{token}?status=fail"),
            PingStatus::Fail,
            None,
        ),
        (
            "GET",
            format!("/v1/push/{token}?status=start"),
            PingStatus::Start,
            None,
        ),
        (
            "POST",
            format!("/v1/push/{token}?exit_code=2"),
            PingStatus::Fail,
            Some(2),
        ),
        (
            "GET",
            format!("/v1/push/{token}?exit_code=0"),
            PingStatus::Ok,
            Some(0),
        ),
        // The path's signal wins over the query.
        (
            "GET",
            format!("/v1/push/{token}/start?status=fail"),
            PingStatus::Start,
            None,
        ),
    ];
    for (method, path, want, exit) in cases {
        let (status, body) = push(&app, method, path, "").await;
        assert_eq!(status, StatusCode::OK, "{method} {path}: {body}");
        assert_eq!(body["ok"], true);
        assert_eq!(body["status"], want.as_str(), "{method} {path}");
        assert!(body["at"].as_str().unwrap().ends_with('Z'), "{body}");
        assert_eq!(body.as_object().unwrap().len(), 3, "no target id: {body}");
        let route = if path.matches('/').count() > 3 {
            "/v1/push/{token}/{signal}"
        } else {
            "/v1/push/{token}"
        };
        let declared = &doc["paths"][route][method.to_lowercase()]["responses"]["200"]["content"]
            ["application/json"]["schema"];
        schema::conforms(&doc, declared, &body, "").unwrap_or_else(|e| panic!("{path}: {e}"));
        let newest = record(&app, "backup").await.pings[0].clone();
        assert_eq!(
            (newest.status, newest.exit_code),
            (*want, *exit),
            "{method} {path}"
        );
    }
    // HEAD is a GET without the body, and is recorded too.
    let before = record(&app, "backup").await.version;
    let resp = handle(
        &app,
        request("HEAD", &format!("/v1/push/{token}/fail"), "", None),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.body().is_empty());
    assert_eq!(record(&app, "backup").await.version, before + 1);
    let r = record(&app, "backup").await;
    assert!(r.last_ok_at.is_some() && r.last_fail_at.is_some() && r.last_start_at.is_some());
}

#[tokio::test]
async fn the_message_and_body_are_kept_redacted_and_cut_and_a_large_body_is_a_413() {
    let app = app();
    let token = heartbeat(&app, "etl").await;
    let long = "é".repeat(300);
    let (status, _) = push(
        &app,
        "POST",
        &format!("/v1/push/{token}/fail?msg={long}"),
        "step 3 failed\npg_dump postgres://backup:hunter2-secret@db.internal/app: timeout\n",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let p = record(&app, "etl").await.pings[0].clone();
    assert_eq!(p.message.as_deref().map(|m| m.chars().count()), Some(200));
    let body = p.body.unwrap();
    assert!(body.starts_with("step 3 failed"), "{body}");
    assert!(
        !body.contains("sk-live-abcdef0123456789"),
        "redacted: {body}"
    );
    // The body is kept up to 4 KiB, cut at a character boundary.
    let big = "ü".repeat(50 * 1024);
    let (status, _) = push(&app, "POST", &format!("/v1/push/{token}"), &big).await;
    assert_eq!(status, StatusCode::OK);
    let kept = record(&app, "etl").await.pings[0].body.clone().unwrap();
    assert!(kept.len() <= 4096 && kept.len() >= 4094, "{}", kept.len());
    assert!(kept.chars().all(|c| c == 'ü'));
    // 100 KiB is taken, one byte more is a 413 and nothing is recorded.
    let at_cap = "x".repeat(100 * 1024);
    let (status, _) = push(&app, "POST", &format!("/v1/push/{token}"), &at_cap).await;
    assert_eq!(status, StatusCode::OK);
    let version = record(&app, "etl").await.version;
    let (status, body) = push(
        &app,
        "POST",
        &format!("/v1/push/{token}"),
        &format!("{at_cap}x"),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"]["code"], "payload_too_large");
    assert_eq!(record(&app, "etl").await.version, version);
}

#[tokio::test]
async fn unknown_and_malformed_tokens_are_the_same_404_a_paused_target_keeps_its_pings_and_bad_values_a_400(
) {
    let app = app();
    let token = heartbeat(&app, "nightly").await;
    let (_, unknown) = push(
        &app,
        "GET",
        "/v1/push/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "",
    )
    .await;
    let (status, malformed) = push(&app, "GET", "/v1/push/short", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(unknown, malformed);
    // A server target's id is not a token either.
    let (status, body) = push(&app, "POST", "/v1/push/nightly", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = admin(
        &app,
        "PATCH",
        "/v1/targets/nightly",
        json!({"version": 1, "enabled": false}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A disabled (paused) target keeps its pings: re-enabled, it is judged by the newest.
    let (status, disabled) = push(&app, "GET", &format!("/v1/push/{token}"), "").await;
    assert_eq!(status, StatusCode::OK, "{disabled}");
    assert!(!disabled.to_string().contains(&token));
    assert_eq!(
        app.store
            .ping_record("nightly")
            .await
            .unwrap()
            .unwrap()
            .pings
            .len(),
        1
    );
    for (path, field) in [
        (format!("/v1/push/{token}?status=done"), "status"),
        (format!("/v1/push/{token}?exit_code=256"), "exit_code"),
        (format!("/v1/push/{token}?exit_code=-1"), "exit_code"),
    ] {
        let (status, body) = push(&app, "GET", &path, "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with(field),
            "{body}"
        );
    }
    let (status, _) = push(&app, "GET", &format!("/v1/push/{token}/256"), "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = push(&app, "GET", &format!("/v1/push/{token}/finish"), "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Digits only, as the documented pattern says.
    let (status, _) = push(&app, "GET", &format!("/v1/push/{token}/+1"), "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = push(&app, "GET", &format!("/v1/push/{token}?exit_code=%2B1"), "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_push_route_needs_no_token_even_when_the_status_is_private() {
    let app = Arc::new(App {
        public_status: false,
        ..Arc::into_inner(app()).unwrap()
    });
    let token = heartbeat(&app, "private").await;
    let (status, _) = call(&app, request("GET", "/v1/status", "", None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = push(&app, "GET", &format!("/v1/push/{token}"), "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_made_token_is_shown_once_stored_as_its_hash_and_never_answered_audited_or_logged() {
    let app = app();
    let logs = LogCapture::start_json(tracing::Level::DEBUG);
    let mut req = request(
        "POST",
        "/v1/targets",
        &json!({"id": "cron", "kind": "heartbeat", "group": "jobs", "period_s": 600}).to_string(),
        Some(TOKEN),
    );
    req.headers_mut()
        .insert("host", "monitor.example.com".parse().unwrap());
    let (status, body) = call(&app, req).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let entry = &body["created"][0];
    let url = entry["push_url"].as_str().unwrap();
    let token = url
        .strip_prefix("https://monitor.example.com/v1/push/")
        .expect(url)
        .to_string();
    assert_eq!(token.len(), 43, "256 bits in base64url");
    assert!(lookout_core::domain::target::valid_push_token(&token));
    assert!(entry["push_url_note"]
        .as_str()
        .unwrap()
        .contains("only now"));
    assert_eq!(entry["token"], Value::Null);
    // Pushing works, through the request log that names the template only.
    let (status, _) = push(&app, "POST", &format!("/v1/push/{token}/start"), "").await;
    assert_eq!(status, StatusCode::OK);
    // Another heartbeat gets another token.
    assert_ne!(heartbeat(&app, "cron-2").await, token);
    // The store holds the hash only.
    let stored = app.store.get_target("cron").await.unwrap().unwrap();
    let h = stored.heartbeat().unwrap();
    assert_eq!(h.token, None);
    assert_eq!(
        h.token_sha256.as_deref(),
        Some(lookout_core::domain::target::push_token_hash(&token).as_str())
    );
    let everything = format!("{:?}", app.store.list_targets(None).await.unwrap());
    assert!(!everything.contains(&token));
    // Nor any answer after the first, nor the audit log, nor the log lines.
    let mut seen = String::new();
    for path in ["/v1/targets", "/v1/targets/cron", "/v1/status", "/v1/audit"] {
        let (status, body) = admin(&app, "GET", path, Value::Null).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        seen.push_str(&body.to_string());
    }
    let entries = app
        .store
        .audit_entries(&lookout_app::ports::AuditQuery::recent(
            lookout_core::time::now_ms() + 60_000,
        ))
        .await
        .unwrap();
    assert!(!entries.entries.is_empty());
    seen.push_str(&format!("{entries:?}"));
    assert!(seen.contains("cron"), "the answers were read");
    assert!(!seen.contains(&token), "the token leaked: {seen}");
    let lines = logs.text();
    assert!(lines.contains("/v1/push/{token}/{signal}"), "{lines}");
    assert!(!lines.contains(&token), "the log holds the token: {lines}");
}

#[tokio::test]
async fn a_given_token_is_used_as_is_and_edits_without_one_keep_it() {
    let app = app();
    let (status, body) = admin(
        &app,
        "POST",
        "/v1/targets",
        json!({"id": "given", "kind": "heartbeat", "group": "jobs", "period_s": 60, "token": GIVEN}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(!body.to_string().contains(GIVEN));
    assert_eq!(
        body["created"][0].get("push_url"),
        None,
        "the caller has it"
    );
    let ok = |app: Arc<App<MemoryStore>>| async move {
        push(&app, "GET", &format!("/v1/push/{GIVEN}"), "").await.0
    };
    assert_eq!(ok(app.clone()).await, StatusCode::OK);
    // Not even the token's hash is answered (a chosen token could be guessed from it).
    let (status, body) = admin(&app, "GET", "/v1/targets/given", Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let hash = lookout_core::domain::target::push_token_hash(GIVEN);
    assert!(!body.to_string().contains(&hash), "{body}");
    // A merge patch without the token keeps it.
    let (status, body) = admin(
        &app,
        "PATCH",
        "/v1/targets/given",
        json!({"version": 1, "name": "Nightly backup", "grace_s": 60}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ok(app.clone()).await, StatusCode::OK);
    // So does a target file that lists it without a token.
    let (status, body) = admin(
        &app,
        "PUT",
        "/v1/targets",
        json!([{"id": "given", "kind": "heartbeat", "group": "jobs", "period_s": 120}]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["updated"], json!(["given"]));
    assert_eq!(body.get("push_urls"), None);
    assert_eq!(ok(app.clone()).await, StatusCode::OK);
    // A target file creating a heartbeat without a token answers its URL once.
    let (status, body) = admin(
        &app,
        "PUT",
        "/v1/targets",
        json!([{"id": "given", "kind": "heartbeat", "group": "jobs", "period_s": 120},
               {"id": "filed", "kind": "heartbeat", "group": "jobs", "period_s": 120}]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let path = body["push_urls"]["filed"]["push_path"].as_str().unwrap();
    let (status, _) = push(&app, "GET", path, "").await;
    assert_eq!(status, StatusCode::OK);
    // A new token in a patch replaces the old one.
    let other = "another-push-token-abcdefghijklmnop";
    let (status, body) = admin(
        &app,
        "PATCH",
        "/v1/targets/given",
        json!({"version": 3, "token": other}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!body.to_string().contains(other));
    assert_eq!(ok(app.clone()).await, StatusCode::NOT_FOUND);
    let (status, _) = push(&app, "GET", &format!("/v1/push/{other}"), "").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn rotating_the_token_answers_the_new_url_once_and_the_old_one_stops() {
    let app = app();
    let old = heartbeat(&app, "rotate").await;
    let (status, body) = admin(&app, "POST", "/v1/targets/rotate/push-token", Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let doc = crate::openapi::document();
    let declared = &doc["paths"]["/v1/targets/{id}/push-token"]["post"]["responses"]["200"]
        ["content"]["application/json"]["schema"];
    schema::conforms(&doc, declared, &body, "").unwrap();
    let path = body["push_path"].as_str().unwrap();
    assert_eq!(body["push_url"], format!("https://lookout.example{path}"));
    assert_eq!(
        (body["id"].as_str(), body["version"].as_u64()),
        (Some("rotate"), Some(2))
    );
    let (status, _) = push(&app, "GET", path, "").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = push(&app, "GET", &format!("/v1/push/{old}"), "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Only the admin token; only heartbeats.
    let (status, _) = call(
        &app,
        request("POST", "/v1/targets/rotate/push-token", "", Some(READ)),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = admin(
        &app,
        "POST",
        "/v1/targets",
        json!({"id": "web", "kind": "server", "group": "g", "url": "http://127.0.0.1:9/"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for id in ["web", "missing"] {
        let (status, _) = admin(
            &app,
            "POST",
            &format!("/v1/targets/{id}/push-token"),
            Value::Null,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{id}");
    }
}

#[tokio::test]
async fn the_pings_route_answers_the_newest_first_and_deleting_the_target_deletes_them() {
    let app = app();
    let token = heartbeat(&app, "job").await;
    for signal in ["start", "log", "0"] {
        let (status, _) = push(
            &app,
            "POST",
            &format!("/v1/push/{token}/{signal}?msg=step-{signal}"),
            "",
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, body) = call(
        &app,
        request("GET", "/v1/targets/job/pings", "", Some(READ)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let doc = crate::openapi::document();
    let declared = &doc["paths"]["/v1/targets/{id}/pings"]["get"]["responses"]["200"]["content"]
        ["application/json"]["schema"];
    schema::conforms(&doc, declared, &body, "").unwrap();
    assert_eq!(body["target_id"], "job");
    let statuses: Vec<&str> = body["pings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["status"].as_str().unwrap())
        .collect();
    // Pings in one millisecond keep their arrival order among equals.
    assert_eq!(statuses.len(), 3);
    assert!(statuses.contains(&"start") && statuses.contains(&"ok"));
    assert!(body["last_ok_at"].as_str().is_some() && body["last_fail_at"].is_null());
    assert!(body["pings"][0]["at"].as_str().unwrap().ends_with('Z'));
    // Before the first ping: an empty record; a target of another kind: 404.
    heartbeat(&app, "quiet").await;
    let (status, body) = admin(&app, "GET", "/v1/targets/quiet/pings", Value::Null).await;
    assert_eq!((status, body["pings"].clone()), (StatusCode::OK, json!([])));
    let (status, _) = admin(
        &app,
        "POST",
        "/v1/targets",
        json!({"id": "web", "kind": "server", "group": "g", "url": "http://127.0.0.1:9/"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = admin(&app, "GET", "/v1/targets/web/pings", Value::Null).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Deleting the heartbeat deletes its record.
    assert!(app.store.ping_record("job").await.unwrap().is_some());
    let (status, _) = admin(&app, "DELETE", "/v1/targets/job", Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    assert!(app.store.ping_record("job").await.unwrap().is_none());
    let (status, _) = push(&app, "GET", &format!("/v1/push/{token}"), "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // So does a target file that prunes it.
    app.store
        .record_ping(
            "quiet",
            lookout_core::domain::heartbeat::Ping {
                at: 1,
                status: PingStatus::Ok,
                exit_code: None,
                message: None,
                body: None,
            },
        )
        .await
        .unwrap();
    let (status, body) = admin(
        &app,
        "PUT",
        "/v1/targets?prune=true",
        json!([{"id": "web", "kind": "server", "group": "g", "url": "http://127.0.0.1:9/"}]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["deleted"], json!(["quiet"]));
    assert!(app.store.ping_record("quiet").await.unwrap().is_none());
}

#[tokio::test]
async fn two_heartbeats_cannot_share_a_push_token() {
    let app = app();
    let job = |id: &str| json!({"id": id, "kind": "heartbeat", "group": "jobs", "period_s": 60, "token": GIVEN});
    let (status, body) = admin(&app, "POST", "/v1/targets", job("first")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Created alongside, in one list, through a target file, or patched in: 422 naming token.
    let (status, body) = admin(&app, "POST", "/v1/targets", job("second")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "token", "{body}");
    let (status, body) = admin(
        &app,
        "PUT",
        "/v1/targets",
        json!([job("first"), job("second")]),
    )
    .await;
    assert_eq!(body["error"]["field"], "token", "{status} {body}");
    let (status, body) = admin(
        &app,
        "POST",
        "/v1/targets",
        json!({"id": "third", "kind": "heartbeat", "group": "jobs", "period_s": 60}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = admin(
        &app,
        "PATCH",
        "/v1/targets/third",
        json!({"version": 1, "token": GIVEN}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "token", "{body}");
    // The same target listed again with its own token is no conflict.
    let (status, body) = admin(&app, "PUT", "/v1/targets", json!([job("first")])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn push_urls_carry_the_base_path_the_api_is_reached_under() {
    // Under `cargo lambda watch` (`make dev`) the API is at `/lambda-url/api`: a push URL
    // without it would point to no route.
    let app = Arc::new(App {
        base_path: "/lambda-url/api".into(),
        ..Arc::try_unwrap(app()).ok().unwrap()
    });
    let (status, body) = admin(
        &app,
        "POST",
        "/v1/targets",
        json!({"id": "based", "kind": "heartbeat", "group": "jobs", "period_s": 3600}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let entry = &body["created"][0];
    let path = entry["push_path"].as_str().unwrap();
    assert_eq!(
        entry["push_url"],
        format!("https://lookout.example/lambda-url/api{path}")
    );
    let (status, body) = admin(&app, "POST", "/v1/targets/based/push-token", Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let path = body["push_path"].as_str().unwrap();
    assert_eq!(
        body["push_url"],
        format!("https://lookout.example/lambda-url/api{path}")
    );
}

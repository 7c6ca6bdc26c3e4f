use std::sync::Arc;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request};
use lookout_app::memory::MemoryStore;
use lookout_app::ports::{DigestStore as _, RunStore as _};
use lookout_app::testing::{Reply, TestServer};
use serde_json::{json, Value};

use super::super::testkit::{app, Browser, ADMIN, READ};
use crate::App;

const PAGES: [&str; 7] = [
    "/console/alerts",
    "/console/runs",
    "/console/digests",
    "/console/dumps",
    "/console/channels",
    "/console/incidents",
    "/console/audit",
];

const HOSTILE: &str = "<img src=x onerror=alert(1)>";
const HOSTILE_TEXT: &str = "&#60;img src=x onerror=alert(1)&#62;";

/// `method path` on the API with the admin token; the answer's status and JSON.
async fn api(
    app: &Arc<App<MemoryStore>>,
    method: &str,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    let req: Request = lambda_http::http::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {ADMIN}"))
        .header("content-type", "application/json")
        .body(if body.is_null() {
            Body::Empty
        } else {
            Body::Text(body.to_string())
        })
        .unwrap();
    let resp = crate::handle(app, req).await;
    let status = resp.status();
    let json = match resp.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap_or(Value::Null),
        Body::Binary(b) => serde_json::from_slice(b).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    (status, json)
}

/// The `<form` tags of `body` but the sign-out one.
fn forms(body: &str) -> usize {
    body.matches("<form").count()
        - body.matches("<form id=\"logout\"").count()
        - body.matches("<form class=\"filters\"").count()
}

#[tokio::test]
async fn every_page_renders_for_admin_and_read_in_each_language() {
    let app = app();
    for token in [ADMIN, READ] {
        let mut b = Browser::signed_in(app.clone(), token).await;
        for lang in ["en", "ar", "fa"] {
            for p in PAGES {
                let page = b.get(&format!("{p}?lang={lang}")).await;
                assert_eq!(
                    page.status,
                    StatusCode::OK,
                    "{token} {p} {lang}: {}",
                    page.body
                );
                assert!(
                    page.body.contains(&format!("lang=\"{lang}\"")),
                    "{p} {lang}"
                );
                assert!(!page.body.contains(ADMIN) && !page.body.contains(READ));
            }
        }
    }
}

#[tokio::test]
async fn a_read_session_sees_no_forms_and_its_posts_are_403() {
    let app = app();
    let mut read = Browser::signed_in(app.clone(), READ).await;
    for p in PAGES {
        let page = read.get(p).await;
        assert_eq!(forms(&page.body), 0, "{p}: {}", page.body);
    }
    for p in [
        "/console/dumps",
        "/console/channels",
        "/console/runs",
        "/console/audit",
    ] {
        let page = read.get(p).await;
        assert!(
            page.body.contains("needs the admin token"),
            "{p}: {}",
            page.body
        );
    }
    for p in [
        "/console/dumps",
        "/console/dumps/20250101T000000Z/verify",
        "/console/dumps/20250101T000000Z/restore",
        "/console/dumps/20250101T000000Z/delete",
        "/console/leases/server/release",
        "/console/channels/hook/test",
        "/console/deliveries/hook.x/retry",
    ] {
        let page = read.submit(p, &[("table", "x-restore")]).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{p}");
    }
    // The admin sees the forms.
    let mut admin = Browser::signed_in(app, ADMIN).await;
    let runs = admin.get("/console/runs").await;
    assert!(
        runs.body.contains("data-action=\"release\""),
        "{}",
        runs.body
    );
    let p = admin.post("/console/leases/server/release", &[]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "no CSRF token");
    let p = admin.submit("/console/leases/server/release", &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(p.location.as_deref(), Some("/console/runs?done=saved"));
    let p = admin.submit("/console/leases/nope/release", &[]).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST, "{}", p.body);
}

#[tokio::test]
async fn without_a_bucket_the_dumps_page_says_so_calmly() {
    let mut b = Browser::signed_in(app(), ADMIN).await;
    let page = b.get("/console/dumps").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("class=\"unavailable muted\">dumps need LOOKOUT_BUCKET"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("data-action=\"dump-now\""));
    let p = b.submit("/console/dumps", &[]).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("dumps need LOOKOUT_BUCKET"), "{}", p.body);
}

#[tokio::test]
async fn alerts_are_listed_newest_first_filtered_and_link_to_their_target() {
    let b0 = Browser::new(app());
    for id in ["web", "api"] {
        b0.create_target(json!({"id": id, "name": format!("{id} {HOSTILE}"), "kind": "server", "group": "g", "url": "http://127.0.0.1:9/"})).await;
    }
    for id in ["web", "api"] {
        let (s, body) = api(
            &b0.app,
            "POST",
            &format!("/v1/targets/{id}/actions/mark-down"),
            Value::Null,
        )
        .await;
        assert!(s.is_success(), "{body}");
    }
    let mut b = Browser::signed_in(b0.app.clone(), READ).await;
    let all = b.get("/console/alerts").await;
    assert_eq!(all.status, StatusCode::OK);
    let (web, api_at) = (
        all.body.find("data-key=\"web#").unwrap(),
        all.body.find("data-key=\"api#").unwrap(),
    );
    assert!(api_at < web, "newest first: {}", all.body);
    assert!(all.body.contains("href=\"/console/targets/web\""));
    assert!(
        all.body.contains(&format!("web {HOSTILE_TEXT}")),
        "{}",
        all.body
    );
    assert!(!all.body.contains(HOSTILE));
    let one = b
        .get("/console/alerts?target=web&severity=critical&days=7")
        .await;
    assert!(
        one.body.contains("data-key=\"web#") && !one.body.contains("data-key=\"api#"),
        "{}",
        one.body
    );
    let none = b.get("/console/alerts?kind=storm").await;
    assert!(!none.body.contains("data-key=\"web#"));
}

#[tokio::test]
async fn runs_show_counts_and_durations() {
    let app = app();
    app.store
        .put_run(&lookout_app::ports::RunRecord {
            run_id: "run-42".into(),
            kind: lookout_core::domain::TargetKind::Proxy,
            started_at: 1_700_000_000_000,
            duration_ms: 1234,
            checked: 7,
            ok: 6,
            changes: 1,
            alerts_published: 1,
            alerts_pending: 0,
            skipped: 0,
            shards: Some(2),
            shards_done: Some(2),
        })
        .await
        .unwrap();
    let mut b = Browser::signed_in(app, READ).await;
    let page = b.get("/console/runs").await;
    assert!(page.body.contains("data-id=\"run-42\""), "{}", page.body);
    assert!(
        page.body.contains("1234 ms") && page.body.contains("2023-11-14 22:13 UTC"),
        "{}",
        page.body
    );
    let fa = b.get("/console/runs?lang=fa").await;
    assert!(fa.body.contains("۱۲۳۴ ms"), "{}", fa.body);
    let server = b.get("/console/runs?kind=server").await;
    assert!(!server.body.contains("data-id=\"run-42\""));
}

fn digest(start: i64, summary: &str) -> lookout_core::digest::report::Digest {
    serde_json::from_value(json!({
        "scope": "global", "start": start, "end": start + 3_600_000, "generated_at": start + 3_600_000,
        "summary": summary, "recommendations": ["Look at web"],
        "anomalies": [{"target_id": "web", "kind": "latency", "score": 4.0, "since": start,
            "until": start + 3_600_000, "observed": 900.0, "baseline": 100.0,
            "explanation": "p95 900 ms against 100 ms", "recommendation": "check the upstream"}],
        "checks": 60, "failures": 3, "uptime_percent": 95.0
    }))
    .unwrap()
}

#[tokio::test]
async fn digests_show_the_newest_in_full_and_page_back() {
    let app = app();
    let hour = 3_600_000;
    let base = 1_700_000_000_000 / hour * hour;
    let all: Vec<_> = (0..30)
        .map(|i| digest(base + i * hour, &format!("hour {i} {HOSTILE}")))
        .collect();
    app.store.put_digests(&all).await.unwrap();
    let mut b = Browser::signed_in(app, READ).await;
    let page = b.get("/console/digests").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let preview = &page.body[page.body.find("id=\"digest-preview\"").unwrap()..];
    let preview = &preview[..preview.find("</article>").unwrap()];
    assert!(
        preview.contains(&format!("hour 29 {HOSTILE_TEXT}")),
        "{preview}"
    );
    assert!(preview.contains("p95 900 ms against 100 ms") && preview.contains("Look at web"));
    assert_eq!(page.body.matches("<tr data-id=").count(), 24);
    let older = page.body.find("data-action=\"older\" href=\"").unwrap()
        + "data-action=\"older\" href=\"".len();
    let href = page.body[older..][..page.body[older..].find('"').unwrap()].replace("&#38;", "&");
    let next = b.get(&href).await;
    assert_eq!(
        next.body.matches("<tr data-id=").count(),
        6,
        "{href}: {}",
        next.body
    );
    assert!(next.body.contains("hour 5 ") && !next.body.contains("hour 6 "));
    let bad = b.get("/console/digests?target=a%20b").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("class=\"form-error\""));
}

#[tokio::test]
async fn incidents_show_status_targets_and_timeline_and_keep_hostile_titles_as_text() {
    let b0 = Browser::new(app());
    b0.create_target(json!({"id": "web", "name": "Web", "kind": "server", "group": "g", "url": "http://127.0.0.1:9/"})).await;
    let (s, body) = api(
        &b0.app,
        "POST",
        "/v1/incidents",
        json!({"title": HOSTILE, "targets": ["web"], "body": "looking <b>now</b>"}),
    )
    .await;
    assert!(s.is_success(), "{body}");
    for lang in ["en", "ar"] {
        let mut b = Browser::signed_in(b0.app.clone(), READ).await;
        let page = b.get(&format!("/console/incidents?lang={lang}")).await;
        assert!(page.body.contains(HOSTILE_TEXT), "{}", page.body);
        assert!(!page.body.contains(HOSTILE) && !page.body.contains("<b>now"));
        assert!(
            page.body.contains("looking &#60;b&#62;now"),
            "{}",
            page.body
        );
        assert!(page.body.contains("href=\"/console/targets/web\""));
        assert!(
            page.body.contains("data-status=\"investigating\""),
            "{}",
            page.body
        );
    }
    let mut b = Browser::signed_in(b0.app.clone(), READ).await;
    let closed = b.get("/console/incidents?status=closed").await;
    assert!(!closed.body.contains(HOSTILE_TEXT));
}

#[tokio::test]
async fn a_channel_test_shows_the_providers_answer_and_names_stay_text() {
    let receiver =
        TestServer::start(|_| Reply::json(200, &json!({"got": "it <i>really</i>"}))).await;
    let b0 = Browser::new(app());
    let (s, body) = api(
        &b0.app,
        "POST",
        "/v1/channels",
        json!({"id": "hook", "name": HOSTILE, "kind": "webhook",
               "config": {"url": format!("{}/hook/secret-path-123", receiver.url), "secret": "signing-secret-xyz"}}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let mut b = Browser::signed_in(b0.app.clone(), ADMIN).await;
    let page = b.get("/console/channels").await;
    assert!(
        page.body.contains(HOSTILE_TEXT) && !page.body.contains(HOSTILE),
        "{}",
        page.body
    );
    assert!(!page.body.contains("secret-path-123") && !page.body.contains("signing-secret-xyz"));
    assert!(
        page.body.contains("data-inline=\"test-hook\"")
            && page.body.contains("<output id=\"test-hook\"")
    );

    // The inline submit: a fragment with the provider's answer, escaped.
    let csrf = b.csrf.clone().unwrap();
    let req = lambda_http::http::Request::builder()
        .method("POST")
        .uri("http://127.0.0.1:9000/console/channels/hook/test")
        .header("host", "127.0.0.1:9000")
        .header(
            "cookie",
            format!("lookout_session={}", b.cookies["lookout_session"]),
        )
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-console-fragment", "1")
        .body(Body::Text(format!("_csrf={csrf}")))
        .unwrap();
    let resp = crate::handle(&b.app, req).await;
    let frag = String::from_utf8_lossy(resp.body()).into_owned();
    assert_eq!(resp.status(), StatusCode::OK, "{frag}");
    assert!(!frag.contains("<html"), "a fragment: {frag}");
    assert!(
        frag.contains("data-ok=\"true\"") && frag.contains("HTTP 200"),
        "{frag}"
    );
    assert!(frag.contains("&#60;i&#62;really"), "{frag}");
    assert_eq!(receiver.requests().len(), 1);
    // Without the script: the page, the answer in place.
    let p = b.submit("/console/channels/hook/test", &[]).await;
    assert_eq!(p.status, StatusCode::OK);
    let out = &p.body[p.body.find("<output id=\"test-hook\"").unwrap()..];
    assert!(
        out[..out.find("</output>").unwrap()].contains("HTTP 200"),
        "{}",
        p.body
    );
    // An unknown channel: the API's 404 message, not a crash.
    let p = b.submit("/console/channels/nope/test", &[]).await;
    assert!(p.body.contains("class=\"form-error\""), "{}", p.body);
}

#[tokio::test]
async fn a_failed_delivery_has_a_retry_button_that_sends_it_again() {
    use lookout_app::ports::{DeliveryLog as _, DeliveryOutcome};
    use lookout_core::notify::DeliveryStatus;

    let receiver = TestServer::start(|_| Reply::json(200, &json!({"ok": true}))).await;
    let b0 = Browser::new(app());
    b0.create_target(json!({"id": "web", "name": "Web", "kind": "server", "group": "g", "url": "http://127.0.0.1:9/"})).await;
    let (s, body) = api(
        &b0.app,
        "POST",
        "/v1/targets/web/actions/mark-down",
        Value::Null,
    )
    .await;
    assert!(s.is_success(), "{body}");
    let (s, body) = api(
        &b0.app,
        "POST",
        "/v1/channels",
        json!({"id": "hook", "kind": "webhook", "config": {"url": format!("{}/hook", receiver.url), "secret": "signing-secret-0123456789"}}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let alert = b0.app.store.outbox()[0].0.clone();
    let now = lookout_core::time::now_ms();
    b0.app
        .store
        .claim_delivery("hook", &alert, now, now + 60_000, now / 1000 + 86_400)
        .await
        .unwrap();
    let failed = DeliveryOutcome {
        status: DeliveryStatus::Failed,
        attempts: 3,
        provider_status: Some(502),
        last_error: Some("bad gateway <b>upstream</b>".into()),
    };
    b0.app
        .store
        .finish_delivery("hook", &alert.key, now + 60_000, &failed, now)
        .await
        .unwrap();
    let id = lookout_core::notify::delivery_id("hook", &alert.key);

    let mut read = Browser::signed_in(b0.app.clone(), READ).await;
    assert!(!read
        .get("/console/channels")
        .await
        .body
        .contains("data-action=\"retry\""));
    let mut b = Browser::signed_in(b0.app.clone(), ADMIN).await;
    let page = b.get("/console/channels?status=failed").await;
    let row = &page.body[page
        .body
        .find(&format!("<tr data-id=\"{id}\""))
        .expect(&page.body)..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(
        row.contains("data-action=\"retry\"") && row.contains("502"),
        "{row}"
    );
    assert!(row.contains("bad gateway &#60;b&#62;upstream"), "{row}");
    let p = b
        .submit(&format!("/console/deliveries/{id}/retry"), &[])
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(p.location.as_deref(), Some("/console/channels?done=sent"));
    assert_eq!(receiver.requests().len(), 1);
    let after = b.get("/console/channels?done=sent").await;
    assert!(after
        .body
        .contains("<p class=\"notice\" role=\"status\">Sent.</p>"));
    assert!(
        !after.body.contains("data-action=\"retry\""),
        "{}",
        after.body
    );
    // Sent now: a second retry is the API's 409, said in the page.
    let p = b
        .submit(&format!("/console/deliveries/{id}/retry"), &[])
        .await;
    assert!(
        p.body.contains("class=\"form-error\"") && p.body.contains("not failed"),
        "{}",
        p.body
    );
}

#[tokio::test]
async fn the_audit_log_lists_the_admins_writes_and_keeps_hostile_text_as_text() {
    let b0 = Browser::new(app());
    b0.create_target(json!({"id": "web", "name": HOSTILE, "kind": "server", "group": "g", "url": "http://127.0.0.1:9/"})).await;
    let mut b = Browser::signed_in(b0.app.clone(), ADMIN).await;
    let page = b.get("/console/audit?object=target").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("POST /v1/targets") && page.body.contains("target:web"),
        "{}",
        page.body
    );
    assert!(!page.body.contains(HOSTILE));
    let none = b.get("/console/audit?object=channel").await;
    assert!(!none.body.contains("<bdi>target:web</bdi>"));
    let bad = b.get("/console/audit?cursor=nope").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("class=\"form-error\""));
}

#[tokio::test]
async fn an_admin_posts_an_incident_and_a_refusal_is_shown_at_its_field() {
    let b0 = Browser::new(app());
    b0.create_target(json!({"id": "web", "name": "Web", "kind": "server", "group": "g", "url": "http://127.0.0.1:9/"})).await;
    let mut b = Browser::signed_in(b0.app.clone(), ADMIN).await;
    let page = b.get("/console/incidents").await;
    assert!(
        page.body.contains("<form id=\"incident-form\""),
        "{}",
        page.body
    );
    let p = b
        .submit(
            "/console/incidents",
            &[
                ("kind", "incident"),
                ("title", "DB slow"),
                ("targets", "ghost"),
                ("body", "looking"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.body);
    let field = &p.body[p.body.find("data-field=\"targets\"").unwrap()..];
    let field = &field[..field.find("</div>").unwrap()];
    assert!(
        field.contains("<p class=\"field-error\">targets[0]: no target ghost"),
        "{field}"
    );
    assert!(p
        .body
        .contains("<div class=\"field bad\" data-field=\"targets\""));
    assert!(
        p.body.contains("value=\"DB slow\""),
        "the form keeps what was typed"
    );
    let p = b
        .submit(
            "/console/incidents",
            &[
                ("kind", "incident"),
                ("title", "DB slow"),
                ("targets", "web"),
                ("body", "looking"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(
        p.location.as_deref(),
        Some("/console/incidents?done=created")
    );
    let list = b.get("/console/incidents?done=created").await;
    assert!(list.body.contains("<bdi>DB slow</bdi>") && list.body.contains("p class=\"notice\""));
    let p = b
        .submit(
            "/console/incidents",
            &[
                ("kind", "maintenance"),
                ("title", "upgrade"),
                ("starts_at", "2030-01-01T10:00"),
                ("ends_at", "2030-01-01T12:00"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
}

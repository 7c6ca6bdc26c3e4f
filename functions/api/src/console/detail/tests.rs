use std::sync::Arc;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request};
use lookout_app::memory::MemoryStore;
use lookout_app::ports::{StateStore as _, TargetStore as _};
use lookout_core::domain::{CheckResult, Outcome, Status, TargetKind, TargetState};
use serde_json::json;

use crate::console::testkit::{app, Browser, ADMIN, READ};
use crate::App;

/// Writes one probe run of every kind, as a run would: each listed target with `status` and,
/// when `latency` is given, a result at `at` (ms; `None`: a failed check) whose certificate has
/// 41 days left (none for the target `plain`, a plain HTTP one) and whose message is markup.
pub(crate) async fn run(
    app: &Arc<App<MemoryStore>>,
    at: i64,
    rows: &[(&str, Status, Option<Option<u64>>)],
) {
    for kind in TargetKind::ALL {
        let targets = app.store.list_targets(Some(kind)).await.unwrap();
        let snapshot: Vec<_> = targets
            .iter()
            .filter_map(|t| {
                let (_, status, latency) = rows.iter().find(|(id, _, _)| *id == t.id)?;
                let mut s = TargetState::new(&t.id);
                s.status = *status;
                s.checks = 5;
                let r = latency.map(|ms| CheckResult {
                    target_id: t.id.clone(),
                    kind: t.kind(),
                    at,
                    outcome: if ms.is_some() {
                        Outcome::Up
                    } else {
                        Outcome::Failed
                    },
                    status_code: ms.map(|_| 200),
                    latency_ms: ms.unwrap_or(0),
                    connect_ms: None,
                    ttfb_ms: None,
                    cert_days_left: (t.id != "plain").then_some(41),
                    bytes: 10,
                    attempts: 1,
                    error: None,
                    message: Some(if t.id == "tls" {
                        "subject CN=mail.example.com, issuer CN=Example CA".into()
                    } else {
                        "<i>checked</i>".into()
                    }),
                });
                Some(lookout_app::ports::Latest::new(s, r))
            })
            .collect();
        app.store
            .record_run(kind, at, &snapshot, true)
            .await
            .unwrap();
    }
}

/// `POST path` on the API with the admin token; the status.
pub(crate) async fn admin_post(app: &Arc<App<MemoryStore>>, path: &str) -> StatusCode {
    let req: Request = lambda_http::http::Request::builder()
        .method("POST")
        .uri(path)
        .header("authorization", format!("Bearer {ADMIN}"))
        .body(Body::Empty)
        .unwrap();
    crate::handle(app, req).await.status()
}

async fn two_targets() -> Browser {
    let b = Browser::new(app());
    b.create_target(
        json!({"id": "web", "name": "Web <b>front</b>", "kind": "server", "group": "api",
        "url": "https://user:pw-secret@127.0.0.1:9/x?token=abc"}),
    )
    .await;
    b.create_target(json!({"id": "p1", "kind": "proxy", "group": "pool",
        "proxy_url": "http://u:s3cret@127.0.0.1:9", "proxy_type": "vps", "test_urls": ["http://127.0.0.1:9/"]}))
        .await;
    let now = lookout_core::time::now_ms();
    for (i, ms) in [Some(40), None, Some(77)].into_iter().enumerate() {
        let at = now - 300_000 + i as i64 * 60_000;
        run(
            &b.app,
            at,
            &[
                ("web", Status::Healthy, Some(ms)),
                ("p1", Status::Healthy, Some(ms)),
            ],
        )
        .await;
    }
    b
}

/// The `data-action` values of a page's buttons and links, in order.
fn actions(body: &str) -> Vec<String> {
    body.split("data-action=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].to_string())
        .collect()
}

#[tokio::test]
async fn a_server_shows_its_state_results_chart_cert_and_masked_url() {
    let b0 = two_targets().await;
    let mut b = Browser::signed_in(b0.app.clone(), ADMIN).await;
    let p = b.get("/console/targets/web").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(
        p.body
            .contains("<h1><bdi>Web &#60;b&#62;front&#60;/b&#62;</bdi></h1>"),
        "{}",
        p.body
    );
    assert!(p.body.contains("data-status=\"healthy\""));
    // Newest first: 77 ms, the failure, then 40 ms.
    let rows: Vec<&str> = p
        .body
        .split("data-outcome=\"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect();
    assert_eq!(rows, ["up", "failed", "up"]);
    let first = p.body.find(">77<").unwrap();
    assert!(first < p.body.find(">40<").unwrap(), "newest first");
    assert!(
        p.body.contains("<polyline class=\"line\" points=\"0.0,"),
        "the chart: {}",
        p.body
    );
    assert!(p.body.contains("<circle class=\"fail\""));
    assert!(p.body.contains("data-cert-days=\"41\""));
    assert!(
        p.body.contains("&#60;i&#62;checked&#60;/i&#62;"),
        "messages stay text"
    );
    assert!(!p.body.contains("pw-secret") && !p.body.contains("token=abc"));
    assert!(p.body.contains("data-window=\"24h\""));
}

#[tokio::test]
async fn a_proxy_marked_down_shows_down_its_alert_and_no_credentials() {
    let b0 = two_targets().await;
    assert_eq!(
        admin_post(&b0.app, "/v1/targets/p1/actions/mark-down").await,
        StatusCode::OK
    );
    let mut b = Browser::signed_in(b0.app.clone(), READ).await;
    let p = b.get("/console/targets/p1?lang=fa").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.body.contains("dir=\"rtl\""));
    let utc = p.body.find(" UTC</bdi></td>").expect("a time");
    assert!(
        p.body[..utc].ends_with(|ch: char| ('\u{06F0}'..='\u{06F9}').contains(&ch)),
        "times in Persian digits"
    );
    assert!(p.body.contains("<h1><bdi>p1</bdi></h1>"));
    assert!(p.body.contains("data-status=\"down\""), "{}", p.body);
    assert!(p.body.contains("از کار افتاده"), "the status in Persian");
    assert!(
        p.body.contains("data-key=\"p1#down#"),
        "the alert: {}",
        p.body
    );
    assert!(p.body.contains("marked down by an operator"));
    assert!(!p.body.contains("s3cret"));
    assert!(p.body.contains("data-fact=\"proxy_url\""));
    assert!(
        p.body.contains("data-cert-days=\"41\""),
        "the certificate of the proxy's last result (41 days, as seeded): {}",
        p.body
    );
}

#[tokio::test]
async fn a_missing_or_odd_id_is_a_404_page() {
    let b0 = two_targets().await;
    let mut b = Browser::signed_in(b0.app.clone(), ADMIN).await;
    let p = b.get("/console/targets/nope").await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    assert!(p.body.contains("class=\"form-error\""));
    let p = b.get("/console/targets/%3Cscript%3E").await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    assert!(!p.body.contains("<script>"));
}

#[tokio::test]
async fn the_read_token_sees_no_forms_and_the_admin_every_action() {
    let b0 = two_targets().await;
    let mut read = Browser::signed_in(b0.app.clone(), READ).await;
    let p = read.get("/console/targets/web").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(actions(&p.body).is_empty(), "{:?}", actions(&p.body));
    assert!(!p.body.contains("check-result"));
    assert_eq!(p.body.matches("<form").count(), 1, "the sign-out form only");

    let mut admin = Browser::signed_in(b0.app.clone(), ADMIN).await;
    let p = admin.get("/console/targets/web").await;
    let mut got = actions(&p.body);
    got.sort();
    assert_eq!(
        got,
        [
            "check",
            "delete",
            "disable",
            "edit",
            "enable",
            "mark_down",
            "mark_healthy",
            "reset"
        ]
    );
    for (action, path) in [
        ("check", "/console/targets/web/check"),
        ("enable", "/console/targets/web/enable"),
        ("disable", "/console/targets/web/disable"),
        ("mark_down", "/console/targets/web/actions/mark_down"),
        ("mark_healthy", "/console/targets/web/actions/mark_healthy"),
        ("reset", "/console/targets/web/actions/reset"),
    ] {
        let form = format!("action=\"{path}\"");
        let at = p
            .body
            .find(&form)
            .unwrap_or_else(|| panic!("{action}: {}", p.body));
        let rest = &p.body[at..];
        let end = rest.find("</form>").unwrap();
        assert!(
            rest[..end].contains(&format!("data-action=\"{action}\"")),
            "{action}"
        );
        assert!(rest[..end].contains("name=\"_csrf\""), "{action}");
    }
    assert!(p.body.contains("data-inline=\"check-result\""));
    assert!(p
        .body
        .contains("<output id=\"check-result\" class=\"inline\""));
    assert!(p.body.contains("href=\"/console/targets/web/edit\""));
    assert!(p.body.contains("href=\"/console/targets/web/delete\""));
}

#[tokio::test]
async fn a_tls_check_shows_its_certificate_and_plain_http_shows_none() {
    let b = Browser::new(app());
    b.create_target(json!({"id": "tls", "kind": "tls", "group": "mail", "host": "mail.example.com", "port": 993}))
        .await;
    b.create_target(
        json!({"id": "plain", "kind": "server", "group": "web", "url": "http://127.0.0.1:9/"}),
    )
    .await;
    let now = lookout_core::time::now_ms();
    run(
        &b.app,
        now - 60_000,
        &[
            ("tls", Status::Healthy, Some(Some(12))),
            ("plain", Status::Healthy, Some(Some(5))),
        ],
    )
    .await;
    let mut b = Browser::signed_in(b.app.clone(), READ).await;
    let p = b.get("/console/targets/tls").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.body.contains("data-cert-days=\"41\""));
    assert!(p
        .body
        .contains("subject CN=mail.example.com, issuer CN=Example CA"));
    assert!(p.body.contains("data-fact=\"host\""));
    let p = b.get("/console/targets/plain").await;
    assert!(p.body.contains("data-cert=\"none\""), "{}", p.body);
    assert!(!p.body.contains("data-cert-days"));
}

#[tokio::test]
async fn a_heartbeat_shows_its_last_pings_as_text_and_not_its_token() {
    const TOKEN: &str = "console-push-token-0123456789abcdef";
    let b = Browser::new(app());
    b.create_target(
        json!({"id": "cron", "kind": "heartbeat", "group": "jobs", "period_s": 60, "token": TOKEN}),
    )
    .await;
    let req: Request = lambda_http::http::Request::builder()
        .method("POST")
        .uri(format!("/v1/push/{TOKEN}/fail"))
        .header("content-type", "text/plain")
        .body(Body::Text("<b>disk full</b>".into()))
        .unwrap();
    let status = crate::handle(&b.app, req).await.status();
    assert!(status.is_success(), "{status}");
    let mut b = Browser::signed_in(b.app.clone(), ADMIN).await;
    let p = b.get("/console/targets/cron").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.body.contains("<section class=\"pings\""), "{}", p.body);
    assert!(p.body.contains(">fail<"), "{}", p.body);
    assert!(!p.body.contains("<b>disk"));
    assert!(!p.body.contains(TOKEN));
}

//! Enable, disable, delete, check now, overrides.

use lambda_http::http::StatusCode;
use lambda_http::Body;
use lookout_app::ports::TargetStore as _;
use lookout_app::testing::{closed_port, serve};
use serde_json::json;

use super::{api, create};
use crate::console::testkit::{app, Browser, ADMIN};

#[tokio::test]
async fn enable_disable_and_delete_with_its_confirmation() {
    let mut b = Browser::signed_in(app(), ADMIN).await;
    create(&mut b, "server", "web").await;
    let p = b.submit("/console/targets/web/disable", &[]).await;
    assert_eq!(
        p.location.as_deref(),
        Some("/console/targets/web?done=disabled")
    );
    assert!(
        !b.app
            .store
            .get_target("web")
            .await
            .unwrap()
            .unwrap()
            .enabled
    );
    let p = b
        .submit("/console/targets/web/enable", &[("version", "2")])
        .await;
    assert_eq!(
        p.location.as_deref(),
        Some("/console/targets/web?done=enabled"),
        "{}",
        p.body
    );
    assert!(
        b.app
            .store
            .get_target("web")
            .await
            .unwrap()
            .unwrap()
            .enabled
    );
    let p = b
        .submit("/console/targets/web/disable", &[("version", "2")])
        .await;
    assert_eq!(
        p.status,
        StatusCode::CONFLICT,
        "a stale version is the API's 409"
    );
    let confirm = b.get("/console/targets/web/delete").await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains("<form id=\"delete-form\""));
    assert!(confirm.body.contains("data-action=\"confirm-delete\""));
    assert!(
        b.app.store.get_target("web").await.unwrap().is_some(),
        "the page deletes nothing"
    );
    let p = b.submit("/console/targets/web/delete", &[]).await;
    assert_eq!(p.location.as_deref(), Some("/console/targets?done=deleted"));
    assert!(b.app.store.get_target("web").await.unwrap().is_none());
    let p = b.submit("/console/targets/web/delete", &[]).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
}

/// `POST path` with the session's cookies and CSRF token, and `X-Console-Fragment: 1`.
async fn fragment(b: &Browser, path: &str) -> (StatusCode, String) {
    let jar: Vec<String> = b.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let req = lambda_http::http::Request::builder()
        .method("POST")
        .uri(format!("http://{}{path}", b.host))
        .header("host", &b.host)
        .header("cookie", jar.join("; "))
        .header("x-console-fragment", "1")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::Text(format!("_csrf={}", b.csrf.clone().unwrap())))
        .unwrap();
    let resp = crate::handle(&b.app, req).await;
    (
        resp.status(),
        String::from_utf8_lossy(resp.body().as_ref()).into_owned(),
    )
}

#[tokio::test]
async fn check_now_answers_a_fragment_or_a_page_and_stores_nothing() {
    let live = serve(200, "ok").await;
    let dead = closed_port().await;
    let b0 = Browser::new(app());
    b0.create_target(
        json!({"id":"live","group":"g","kind":"server","url": live,"timeout_ms":2000}),
    )
    .await;
    b0.create_target(
        json!({"id":"dead","group":"g","kind":"server","url": dead,"timeout_ms":2000}),
    )
    .await;
    let mut b = Browser::signed_in(b0.app.clone(), ADMIN).await;
    let (status, body) = fragment(&b, "/console/targets/live/check").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("data-outcome=\"up\""), "{body}");
    assert!(body.contains(" ms</span>"), "{body}");
    assert!(!body.contains("<html"), "a fragment, not a page");
    let (_, body) = fragment(&b, "/console/targets/dead/check").await;
    assert!(body.contains("data-outcome=\"failed\""), "{body}");
    assert!(
        body.contains("<dd class=\"error-kind\">connect</dd>"),
        "{body}"
    );
    let page = b.submit("/console/targets/dead/check", &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page
        .body
        .contains("<output id=\"check-result\" class=\"inline\">"));
    assert!(page.body.contains("data-outcome=\"failed\""));
    assert!(page.body.contains("href=\"/console/targets/dead\""));
    let (_, status) = api(&b, "GET", "/v1/status", None).await;
    let rows = status["targets"].as_array().unwrap();
    assert!(rows.iter().all(|r| r["status"] == "unknown"), "{status}");
}

async fn status_of(b: &Browser, id: &str) -> String {
    let (_, status) = api(b, "GET", "/v1/status", None).await;
    status["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .map(|r| r["status"].as_str().unwrap().to_string())
        .unwrap()
}

#[tokio::test]
async fn the_overrides_change_the_status_the_api_shows() {
    let mut b = Browser::signed_in(app(), ADMIN).await;
    create(&mut b, "proxy", "px").await;
    let p = b.submit("/console/targets/px/actions/mark_down", &[]).await;
    assert_eq!(
        p.location.as_deref(),
        Some("/console/targets/px?done=marked_down"),
        "{}",
        p.body
    );
    assert_eq!(status_of(&b, "px").await, "down");
    let p = b
        .submit("/console/targets/px/actions/mark_healthy", &[])
        .await;
    assert_eq!(
        p.location.as_deref(),
        Some("/console/targets/px?done=marked_healthy")
    );
    let healthy = status_of(&b, "px").await;
    assert!(["up", "healthy"].contains(&healthy.as_str()), "{healthy}");
    let p = b.submit("/console/targets/px/actions/reset", &[]).await;
    assert_eq!(
        p.location.as_deref(),
        Some("/console/targets/px?done=reset")
    );
    let p = b.submit("/console/targets/px/actions/explode", &[]).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
}

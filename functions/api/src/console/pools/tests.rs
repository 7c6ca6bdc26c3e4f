use lambda_http::http::StatusCode;
use lambda_http::{Body, Request};
use lookout_core::domain::Status;
use serde_json::json;

use crate::console::detail::tests::{admin_post, run};
use crate::console::testkit::{app, Browser, ADMIN, READ};

/// A pool of two proxies (a VPS at no cost, a residential one at 8 per GB, both healthy) and a
/// server group of two.
async fn pool() -> Browser {
    let b = Browser::new(app());
    b.create_target(
        json!({"id": "p-res", "name": "residential <i>one</i>", "kind": "proxy", "group": "pool",
        "proxy_url": "socks5://v:pw2@127.0.0.1:1080", "proxy_type": "residential", "cost_per_gb": 8,
        "test_urls": ["http://127.0.0.1:9/"]}),
    )
    .await;
    b.create_target(json!({"id": "p-cheap", "kind": "proxy", "group": "pool",
        "proxy_url": "http://u:s3cret@127.0.0.1:3128", "proxy_type": "vps",
        "test_urls": ["http://127.0.0.1:9/"]}))
        .await;
    for id in ["api-a", "api-b"] {
        b.create_target(
            json!({"id": id, "kind": "server", "group": "api", "url": "http://127.0.0.1:9/"}),
        )
        .await;
    }
    let now = lookout_core::time::now_ms();
    run(
        &b.app,
        now - 60_000,
        &[
            ("p-res", Status::Healthy, Some(Some(90))),
            ("p-cheap", Status::Healthy, Some(Some(30))),
            ("api-a", Status::Healthy, Some(Some(20))),
            ("api-b", Status::Down, Some(None)),
        ],
    )
    .await;
    b
}

/// The `data-id`s in the page's `ol.order`, and the `.active`'s `data-id`.
fn order_and_active(body: &str) -> (Vec<String>, Option<String>) {
    let ol = &body[body.find("<ol class=\"order\">").expect("ol.order")..];
    let ol = &ol[..ol.find("</ol>").unwrap()];
    let order = ol
        .split("<li data-id=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].to_string())
        .collect();
    let active = body.find("class=\"active\" data-id=\"").map(|at| {
        let rest = &body[at + "class=\"active\" data-id=\"".len()..];
        rest[..rest.find('"').unwrap()].to_string()
    });
    (order, active)
}

#[tokio::test]
async fn the_cheaper_proxy_is_active_until_marked_down_then_the_other_one() {
    let b0 = pool().await;
    let mut b = Browser::signed_in(b0.app.clone(), READ).await;
    let p = b.get("/console/pools").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(
        p.body
            .contains("<section class=\"pool card\" data-group=\"pool\">"),
        "{}",
        p.body
    );
    assert_eq!(
        order_and_active(&p.body),
        (
            vec!["p-cheap".to_string(), "p-res".to_string()],
            Some("p-cheap".to_string())
        )
    );
    // The table in cost order too.
    assert!(
        p.body.find("<tr data-id=\"p-cheap\"").unwrap()
            < p.body.find("<tr data-id=\"p-res\"").unwrap()
    );
    assert!(p.body.contains("residential &#60;i&#62;one&#60;/i&#62;"));
    assert!(!p.body.contains("s3cret") && !p.body.contains("pw2"));
    assert!(p.body.contains("data-rule=\"failover\""));

    assert_eq!(
        admin_post(&b0.app, "/v1/targets/p-cheap/actions/mark-down").await,
        StatusCode::OK
    );
    let p = b.get("/console/pools").await;
    assert_eq!(
        order_and_active(&p.body),
        (vec!["p-res".to_string()], Some("p-res".to_string()))
    );
    let skipped = &p.body[p.body.find("class=\"not-tried").expect("not tried")..];
    assert!(skipped[..skipped.find("</p>").unwrap()].contains("data-id=\"p-cheap\""));

    assert_eq!(
        admin_post(&b0.app, "/v1/targets/p-res/actions/mark-down").await,
        StatusCode::OK
    );
    let p = b.get("/console/pools?lang=ar").await;
    assert_eq!(order_and_active(&p.body), (vec![], None));
    assert!(p.body.contains("class=\"critical form-error\""));
    assert!(p.body.contains("dir=\"rtl\""));
}

#[tokio::test]
async fn traffic_reported_by_an_application_shows_as_the_days_traffic_and_cost() {
    let b0 = pool().await;
    let req: Request = lambda_http::http::Request::builder()
        .method("POST")
        .uri("/v1/proxies/p-res/usage")
        .header("authorization", format!("Bearer {ADMIN}"))
        .header("content-type", "application/json")
        .body(Body::Text(
            json!({"outcome": "ok", "bytes": 2_000_000_000u64, "latency_ms": 12, "status_code": 200}).to_string(),
        ))
        .unwrap();
    let resp = crate::handle(&b0.app, req).await;
    assert_eq!(resp.status(), StatusCode::OK, "{:?}", resp.body());
    let mut b = Browser::signed_in(b0.app.clone(), ADMIN).await;
    let p = b.get("/console/pools").await;
    let row = &p.body[p.body.find("<tr data-id=\"p-res\"").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains(">2.00 GB<"), "{row}");
    assert!(row.contains(">16.0000<"), "{row}");
    assert!(
        p.body.contains("data-total=\"day-cost\">16.0000<"),
        "{}",
        p.body
    );
    // The server group: primary api-a, api-b down and not a backup.
    let g = &p.body[p.body.find("data-group=\"api\"").expect("server group")..];
    assert!(g.contains("class=\"primary\" data-id=\"api-a\""));
    let ol = &g[..g.find("</ol>").unwrap()];
    assert!(!ol.contains("data-id=\"api-b\""));
}

use lambda_http::http::StatusCode;

use super::super::testkit::{app, Browser, ADMIN, READ};

#[tokio::test]
async fn placeholder_pages_render() {
    let mut b = Browser::signed_in(app(), ADMIN).await;
    for p in [
        "/console/alerts",
        "/console/runs",
        "/console/digests",
        "/console/dumps",
        "/console/channels",
        "/console/incidents",
    ] {
        let page = b.get(p).await;
        assert_eq!(page.status, StatusCode::OK, "{p}: {}", page.body);
    }
    let _ = READ;
}

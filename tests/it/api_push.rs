//! The push route of heartbeat targets over real HTTP on loopback and DynamoDB Local: a
//! heartbeat created through the API is stored with its token's hash only (no plain token in
//! any item of the table, which is what a dump copies), pings by GET, HEAD and POST land in
//! its `PING` record, concurrent pushes are all kept, deleting the target deletes the record,
//! and a table that does not answer is a 503 with `Retry-After`.

use std::sync::Arc;

use lookout_app::ports::{HeartbeatStore as _, TargetStore as _};
use lookout_aws::dynamodb::DynamoStore;
use serde_json::json;

use crate::common;

async fn app() -> (aws_sdk_dynamodb::Client, String, Arc<api::App<DynamoStore>>) {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let store = DynamoStore::new(ddb.clone(), &table, 30);
    let app = Arc::new(api::App {
        admin_token: Some("admin".into()),
        ..api::App::local(store)
    });
    (ddb, table, app)
}

/// Every item of the table as text (its Debug form).
async fn table_text(ddb: &aws_sdk_dynamodb::Client, table: &str) -> String {
    let items = ddb.scan().table_name(table).send().await.unwrap();
    format!("{:?}", items.items())
}

#[tokio::test]
async fn pings_over_http_land_in_the_ping_record_and_concurrent_pushes_are_all_kept() {
    let (ddb, table, app) = app().await;
    let (code, body) = common::call(
        &app,
        "POST",
        "/v1/targets",
        &json!({"id": "nightly", "kind": "heartbeat", "group": "jobs", "period_s": 3600})
            .to_string(),
    )
    .await;
    assert_eq!(code, 201, "{body}");
    let path = body["created"][0]["push_path"]
        .as_str()
        .unwrap()
        .to_string();
    let token = path.strip_prefix("/v1/push/").unwrap().to_string();
    assert_eq!(
        body["created"][0]["push_url"],
        format!("http://localhost{path}")
    );
    // The table holds the hash, never the token.
    let items = table_text(&ddb, &table).await;
    assert!(!items.contains(&token), "the plain token is stored");
    let hash = lookout_core::domain::target::push_token_hash(&token);
    let stored = app.store.list_targets(None).await.unwrap();
    assert_eq!(
        stored[0].heartbeat().unwrap().token_sha256.as_deref(),
        Some(hash.as_str())
    );

    let base = common::serve_api(app.clone()).await;
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{base}{path}/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let answer: serde_json::Value = r.json().await.unwrap();
    assert_eq!(answer["status"], "start");
    let r = http.head(format!("{base}{path}/log")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .post(format!("{base}{path}/fail?msg=disk%20full"))
        .body("tar: write error\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let record = app.store.ping_record("nightly").await.unwrap().unwrap();
    assert_eq!(record.version, 3);
    assert_eq!(record.pings[0].message.as_deref(), Some("disk full"));
    assert_eq!(record.pings[0].body.as_deref(), Some("tar: write error\n"));
    let r = http
        .post(format!("{base}{path}"))
        .body(vec![b'x'; 100 * 1024 + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let r = http
        .get(format!("{base}/v1/push/{}", "A".repeat(43)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // Ten jobs ping at once; a push that lost every conditional write is a 503 and is sent
    // again, as `curl --retry` does: every ping is kept.
    let sends = (0..10).map(|i| {
        let (http, url) = (http.clone(), format!("{base}{path}?msg=job-{i}"));
        async move {
            let mut retried = 0;
            loop {
                let r = http.post(&url).send().await.unwrap();
                match r.status().as_u16() {
                    200 => return retried,
                    503 => {
                        assert!(r.headers().contains_key("retry-after"));
                        retried += 1;
                        assert!(retried < 20, "job-{i} never got through");
                    }
                    other => panic!("job-{i}: {other}"),
                }
            }
        }
    });
    let retries: Vec<u32> = futures::future::join_all(sends).await;
    println!(
        "concurrent pushes: 10, sent again after a 503: {}",
        retries.iter().sum::<u32>()
    );
    let record = app.store.ping_record("nightly").await.unwrap().unwrap();
    assert_eq!(record.version, 13);
    let mut messages: Vec<String> = record
        .pings
        .iter()
        .filter_map(|p| p.message.clone())
        .collect();
    messages.sort();
    let mut want: Vec<String> = (0..10).map(|i| format!("job-{i}")).collect();
    want.sort();
    assert_eq!(messages, want);
    let (code, body) = common::call(&app, "GET", "/v1/targets/nightly/pings", "").await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["pings"].as_array().unwrap().len(), 10);
    assert!(!table_text(&ddb, &table).await.contains(&token));

    // Deleting the target deletes its record.
    let (code, _) = common::call(&app, "DELETE", "/v1/targets/nightly", "").await;
    assert_eq!(code, 200);
    assert!(app.store.ping_record("nightly").await.unwrap().is_none());
    let r = http.get(format!("{base}{path}")).send().await.unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn a_ping_the_table_cannot_take_is_a_503_with_retry_after() {
    let (ddb, table, app) = app().await;
    let (code, body) = common::call(
        &app,
        "POST",
        "/v1/targets",
        &json!({"id": "job", "kind": "heartbeat", "group": "jobs", "period_s": 60,
                "token": "it-push-token-0123456789abcdef"})
        .to_string(),
    )
    .await;
    assert_eq!(code, 201, "{body}");
    let (code, _) = common::call(&app, "GET", "/v1/push/it-push-token-0123456789abcdef", "").await;
    assert_eq!(code, 200);
    // The definitions are in the instance's cache; the table goes away.
    ddb.delete_table().table_name(&table).send().await.unwrap();
    let req = lambda_http::http::Request::builder()
        .method("POST")
        .uri("http://localhost/v1/push/it-push-token-0123456789abcdef/fail")
        .body(lambda_http::Body::from("out of disk"))
        .unwrap();
    let resp = Box::pin(api::handle(&app, req)).await;
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "5");
}

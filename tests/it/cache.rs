//! The API instances' answer caches against DynamoDB Local (issue 19): the definitions'
//! version item moves on with every definitions write, so that an instance sees a write made
//! through another at once; `GET /v1/status` pages over the table's listing.

use std::sync::Arc;

use crate::common;

use lookout_app::ports::TargetStore;
use lookout_aws::dynamodb::DynamoStore;
use serde_json::{json, Value};

fn instance(store: DynamoStore) -> Arc<api::App<DynamoStore>> {
    Arc::new(api::App {
        admin_token: Some("admin".into()),
        ..api::App::local(store)
    })
}

fn ids(status: &Value) -> Vec<String> {
    status["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

fn target(id: &str, group: &str) -> Value {
    json!({"id": id, "kind": "server", "group": group, "url": "http://127.0.0.1:9/"})
}

#[tokio::test]
async fn a_definitions_write_through_another_instance_is_seen_at_once() {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let store = DynamoStore::new(ddb, table, 30);
    assert_eq!(store.definitions_version().await.unwrap(), 0);
    let (a, b) = (instance(store.clone()), instance(store.clone()));
    let (code, body) =
        common::call(&a, "POST", "/v1/targets", &target("t1", "g").to_string()).await;
    assert_eq!(code, 201, "{body}");
    assert_eq!(store.definitions_version().await.unwrap(), 1);
    let (_, first) = common::call(&a, "GET", "/v1/status", "").await;
    assert_eq!(ids(&first), ["t1"]);
    let (_, again) = common::call(&a, "GET", "/v1/status", "").await;
    assert_eq!(again, first, "kept: the same answer");

    // Through the other instance: create, patch, delete each move the version on, and the
    // first instance's next answer shows the change (its caches are well within their ages).
    let (code, body) =
        common::call(&b, "POST", "/v1/targets", &target("t2", "h").to_string()).await;
    assert_eq!(code, 201, "{body}");
    assert_eq!(store.definitions_version().await.unwrap(), 2);
    let (_, status) = common::call(&a, "GET", "/v1/status", "").await;
    assert_eq!(ids(&status), ["t1", "t2"]);
    let (code, body) = common::call(
        &b,
        "PATCH",
        "/v1/targets/t2",
        r#"{"name":"renamed","version":1}"#,
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let (_, status) = common::call(&a, "GET", "/v1/status", "").await;
    assert_eq!(status["targets"][1]["name"], "renamed", "{status}");
    let (code, _) = common::call(&b, "DELETE", "/v1/targets/t2", "").await;
    assert_eq!(code, 200);
    assert_eq!(store.definitions_version().await.unwrap(), 4);
    let (_, status) = common::call(&a, "GET", "/v1/status", "").await;
    assert_eq!(ids(&status), ["t1"]);

    let (_, stats) = common::call(&a, "GET", "/v1/cache/stats", "").await;
    assert_eq!(stats["caches"]["status"]["hits"], 1, "{stats}");
    assert_eq!(stats["caches"]["status"]["misses"], 4, "{stats}");
}

#[tokio::test]
async fn status_pages_cover_every_target_of_the_table_once() {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let store = DynamoStore::new(ddb, table, 30);
    // Groups spread over many buckets, so that the listing's eight ranges all hold some.
    let all: Vec<String> = (0..120).map(|i| format!("t{i:03}")).collect();
    for (i, id) in all.iter().enumerate() {
        let t =
            lookout_core::domain::Target::from_json(target(id, &format!("g{}", i % 40))).unwrap();
        store.create_target(&t).await.unwrap();
    }
    let listed: Vec<String> = store
        .list_targets(None)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(
        listed, all,
        "the segmented listing: every definition once, by id"
    );
    let app = instance(store);
    let mut seen = Vec::new();
    let mut path = "/v1/status?limit=50&fields=id,status".to_string();
    let mut pages = 0;
    loop {
        let (code, page) = common::call(&app, "GET", &path, "").await;
        assert_eq!(code, 200, "{page}");
        pages += 1;
        for row in page["targets"].as_array().unwrap() {
            assert_eq!(row.as_object().unwrap().len(), 2, "{row}");
        }
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/status?limit=50&fields=id,status&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, all);
    let (code, body) = common::call(&app, "GET", "/v1/status?cursor=nope", "").await;
    assert_eq!(code, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("cursor"),
        "{body}"
    );
}

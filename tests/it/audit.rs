//! The audit log against DynamoDB Local and moto S3: entries written through the API and read
//! back with filters and a cursor across days, the TTL set from the retention, no secret
//! stored, and the entries kept by a dump and its restore.

use crate::common;

use std::sync::Arc;

use lookout_app::dump::{self, DumpOptions, Include, ItemType, RestoreOptions};
use lookout_app::ports::{AuditLog as _, AuditQuery};
use lookout_aws::dynamodb::DynamoStore;
use lookout_aws::s3::S3DumpStore;
use lookout_core::domain::audit::{Actor, AuditEntry, AuditOutcome};
use lookout_core::time::DAY_MS;
use serde_json::json;

fn entry(at: i64, id: &str, actor: &str, object: &str) -> AuditEntry {
    AuditEntry {
        id: id.into(),
        at,
        actor: Actor {
            name: actor.into(),
            id: None,
        },
        method: "DELETE".into(),
        route: "/v1/targets/{id}".into(),
        objects: vec![object.into()],
        changes: vec![],
        cut: None,
        outcome: AuditOutcome::of_status(200, None),
    }
}

fn ids(answer: &serde_json::Value) -> Vec<String> {
    answer["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn entries_written_through_the_api_read_back_with_filters_across_days_and_expire_by_the_retention(
) {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let store = DynamoStore::new(ddb.clone(), &table, 30).with_audit_retention(90);
    let app = Arc::new(api::App {
        admin_token: Some("admin".into()),
        ..api::App::local(store.clone())
    });
    let target = json!({"id": "p1", "group": "pool", "kind": "proxy",
        "proxy_url": "http://alice:hunter2@127.0.0.1:3128", "test_urls": ["http://127.0.0.1:1/"]});
    let (status, body) = common::call(&app, "POST", "/v1/targets", &target.to_string()).await;
    assert_eq!(status, 201, "{body}");
    let patch = json!({"version": 1, "group": "pool-b"});
    let (status, body) = common::call(&app, "PATCH", "/v1/targets/p1", &patch.to_string()).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = common::call(&app, "PATCH", "/v1/targets/p1", &patch.to_string()).await;
    assert_eq!(status, 409, "a stale version");

    // Two older entries, on two earlier days, through the store.
    let now = lookout_core::time::now_ms();
    let (yesterday, before) = (now - DAY_MS, now - 2 * DAY_MS);
    store
        .record_audit(&entry(yesterday, "y1", "ci", "channel:ops"))
        .await
        .unwrap();
    store
        .record_audit(&entry(before, "b1", "admin", "target:p1"))
        .await
        .unwrap();

    let (status, all) = common::call(&app, "GET", "/v1/audit", "").await;
    assert_eq!(status, 200, "{all}");
    let entries = all["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 5, "{all}");
    assert_eq!(
        entries[0]["outcome"]["result"], "refused",
        "newest first: {all}"
    );
    assert_eq!(entries[0]["outcome"]["code"], "conflict");
    assert_eq!(entries[1]["route"], "/v1/targets/{id}");
    assert!(entries[1]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["path"] == "group" && c["before"] == "pool" && c["after"] == "pool-b"));
    assert_eq!(ids(&all)[3..], ["y1", "b1"]);
    assert!(!all.to_string().contains("hunter2") && !all.to_string().contains("alice"));

    let rfc = lookout_core::time::rfc3339;
    let path = format!(
        "/v1/audit?since={}&until={}&object=target:p1",
        rfc(before - 1000),
        rfc(yesterday + 1000)
    );
    let (_, window) = common::call(&app, "GET", &path, "").await;
    assert_eq!(ids(&window), ["b1"], "{window}");
    let (_, ci) = common::call(&app, "GET", "/v1/audit?actor=ci", "").await;
    assert_eq!(ids(&ci), ["y1"]);

    // Pages of two, across the three days.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/audit?limit=2&cursor={c}"),
            None => "/v1/audit?limit=2".to_string(),
        };
        let (status, page) = common::call(&app, "GET", &path, "").await;
        assert_eq!(status, 200, "{page}");
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, ids(&all));

    // The TTL attribute: `at` + 90 days, in epoch seconds; the stored entry holds no secret.
    let mut rows = ddb.scan().table_name(&table).into_paginator().send();
    let mut audit_rows = 0;
    while let Some(page) = rows.next().await {
        for item in page.unwrap().items() {
            let pk = item["pk"].as_s().unwrap();
            if !pk.starts_with("AUDIT#") {
                continue;
            }
            audit_rows += 1;
            let stored: AuditEntry = serde_json::from_str(item["entry"].as_s().unwrap()).unwrap();
            assert_eq!(pk, &format!("AUDIT#{}", lookout_core::time::day(stored.at)));
            let ttl: i64 = item["expires_at"].as_n().unwrap().parse().unwrap();
            assert_eq!(ttl, stored.at / 1000 + 90 * 86_400, "{pk}");
            let text = item["entry"].as_s().unwrap();
            assert!(
                !text.contains("hunter2") && !text.contains("alice"),
                "{text}"
            );
        }
    }
    assert_eq!(audit_rows, 5);
}

#[tokio::test]
async fn a_dump_and_its_restore_keep_the_audit_entries() {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let (s3, bucket) = common::fresh_bucket(&aws).await;
    let source = DynamoStore::new(ddb.clone(), &table, 30);
    let now = lookout_core::time::now_ms();
    let written: Vec<AuditEntry> = (0..30)
        .map(|i| {
            entry(
                now - i * DAY_MS / 3,
                &format!("e{i:02}"),
                "admin",
                "target:web",
            )
        })
        .collect();
    for e in &written {
        source.record_audit(e).await.unwrap();
    }
    common::fill_table(&ddb, &table, 20, 0).await;
    let store = S3DumpStore::new(s3, &bucket);
    let options = DumpOptions {
        segments: 2,
        ..DumpOptions::default()
    };
    let manifest = dump::dump(&source, &store, &options, now).await.unwrap();
    assert_eq!(
        manifest.item_counts[&ItemType::Audit],
        30,
        "{:?}",
        manifest.item_counts
    );

    let target = format!("{table}-restore");
    dump::restore(
        &store,
        &source,
        &table,
        &lookout_core::time::compact(now),
        &RestoreOptions::new(&target),
    )
    .await
    .unwrap();
    let restored = DynamoStore::new(ddb.clone(), &target, 30);
    let query = AuditQuery {
        limit: 100,
        ..AuditQuery::recent(now)
    };
    let page = restored.audit_entries(&query).await.unwrap();
    // Written newest first.
    assert_eq!(page.entries, written);

    // `audit` alone is a dump of its own.
    let only = DumpOptions {
        segments: 1,
        include: Include::parse("audit").unwrap(),
        ..DumpOptions::default()
    };
    let manifest = dump::dump(&source, &store, &only, now + 1000)
        .await
        .unwrap();
    assert_eq!(manifest.item_count, 30);
}

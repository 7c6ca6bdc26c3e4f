//! The SLO routes of the API over DynamoDB Local: an SLO created through the API is stored as
//! `SLO`/`<id>`, its status is computed from the record the probe run keeps (`SLOREC`/`<id>`,
//! deflated), a patch is conditional on the version, every write is in the audit log, and a
//! delete takes the definition and the record.

use std::sync::Arc;

use lookout_app::ports::SloStore;
use lookout_aws::dynamodb::DynamoStore;
use lookout_core::domain::slo::{SliCounts, SloRecord};
use lookout_core::time::{HOUR_MS, MINUTE_MS};
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

#[tokio::test]
async fn an_slo_made_through_the_api_is_stored_reports_its_budget_from_its_record_and_is_deleted_with_it(
) {
    let (ddb, table, app) = app().await;
    let target = json!({"id": "pay-1", "kind": "server", "group": "checkout",
        "url": "http://127.0.0.1:18080/health"});
    let (code, body) = common::call(&app, "POST", "/v1/targets", &target.to_string()).await;
    assert_eq!(code, 201, "{body}");
    let slo = json!({"id": "checkout", "name": "Checkout API", "group": "checkout",
        "objective": 99.9, "window": "30d", "sli": {"type": "availability"}});
    let (code, body) = common::call(&app, "POST", "/v1/slos", &slo.to_string()).await;
    assert_eq!(code, 201, "{body}");
    assert_eq!(body["warnings"], json!([]));
    let (code, _) = common::call(&app, "POST", "/v1/slos", &slo.to_string()).await;
    assert_eq!(code, 409, "the id exists in the table");
    let items = ddb.scan().table_name(&table).send().await.unwrap();
    let stored = items.items().iter().any(|i| {
        i.get("pk").and_then(|v| v.as_s().ok()).map(String::as_str) == Some("SLO")
            && i.get("sk").and_then(|v| v.as_s().ok()).map(String::as_str) == Some("checkout")
    });
    assert!(stored, "SLO/checkout in {items:?}");

    // The record as the probe run keeps it: 99,000 checks two days ago with 40 bad, 1,000
    // ten minutes ago with 10 bad.
    let now = lookout_core::time::now_ms();
    let mut record = SloRecord::new("checkout");
    record.version = 1;
    record.series.add_counts(
        now - 48 * HOUR_MS,
        SliCounts {
            good: 98_960,
            total: 99_000,
            excluded: 0,
        },
    );
    record.series.add_counts(
        now - 10 * MINUTE_MS,
        SliCounts {
            good: 990,
            total: 1_000,
            excluded: 0,
        },
    );
    app.store.commit_slo_record(&record, &[]).await.unwrap();
    let (code, body) = common::call(&app, "GET", "/v1/slos/checkout", "").await;
    assert_eq!(code, 200, "{body}");
    let status = &body["slo"]["status"];
    assert_eq!(
        (&status["events"], &status["budget"]["bad"]),
        (&json!(100_000), &json!(50))
    );
    let spent = status["budget"]["spent_share"].as_f64().unwrap();
    assert!((spent - 0.5).abs() < 1e-9, "{spent}");
    let one_hour = status["burn_rates"][0]["rate"].as_f64().unwrap();
    assert!((one_hour - 10.0).abs() < 1e-9, "{one_hour}");

    let patch = json!({"version": 1, "objective": 99.5});
    let (code, body) = common::call(&app, "PATCH", "/v1/slos/checkout", &patch.to_string()).await;
    assert_eq!((code, &body["slo"]["version"]), (200, &json!(2)), "{body}");
    let (code, _) = common::call(&app, "PATCH", "/v1/slos/checkout", &patch.to_string()).await;
    assert_eq!(code, 409, "a stale version");
    let (code, list) = common::call(&app, "GET", "/v1/slos", "").await;
    assert_eq!(code, 200);
    assert_eq!(list["slos"][0]["objective"], 99.5);
    let spent = list["slos"][0]["status"]["budget"]["spent_share"]
        .as_f64()
        .unwrap();
    assert!(
        (spent - 0.1).abs() < 1e-9,
        "50 bad of 500 allowed at 99.5 %: {spent}"
    );

    let (code, _) = common::call(&app, "DELETE", "/v1/slos/checkout", "").await;
    assert_eq!(code, 204);
    let (code, _) = common::call(&app, "GET", "/v1/slos/checkout", "").await;
    assert_eq!(code, 404);
    assert!(app.store.slo_record("checkout").await.unwrap().is_none());

    let (code, audit) = common::call(&app, "GET", "/v1/audit", "").await;
    assert_eq!(code, 200, "{audit}");
    let mut slo_writes: Vec<(String, u64)> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["route"].as_str().unwrap_or("").starts_with("/v1/slos"))
        .map(|e| {
            (
                format!(
                    "{} {}",
                    e["method"].as_str().unwrap(),
                    e["route"].as_str().unwrap()
                ),
                e["outcome"]["status"].as_u64().unwrap(),
            )
        })
        .collect();
    // Entries of the same millisecond are in no set order.
    slo_writes.sort();
    assert_eq!(
        slo_writes,
        [
            ("DELETE /v1/slos/{id}".to_string(), 204),
            ("PATCH /v1/slos/{id}".to_string(), 200),
            ("PATCH /v1/slos/{id}".to_string(), 409),
            ("POST /v1/slos".to_string(), 201),
            ("POST /v1/slos".to_string(), 409),
        ]
    );
}

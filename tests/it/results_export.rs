//! Check results as JSON Lines against DynamoDB Local and moto's S3 (issue 19): a day's export
//! to `results/<day>.jsonl.gz` with its manifest (count, bytes, sha256), the same bytes when
//! the day is exported again, an empty day as an empty export; `GET /v1/results?format=jsonl`
//! streams every result of a window larger than one JSON page, and a table that fails in the
//! middle of the stream ends it with an `{"error"}` line.

use crate::common;

use std::io::Read as _;

use lookout_app::dump::results::{self, ResultsManifest};
use lookout_app::ports::{StateStore, TargetStore};
use lookout_aws::dynamodb::DynamoStore;
use lookout_aws::s3::S3DumpStore;
use lookout_core::domain::{Target, TargetKind};
use lookout_core::time::{DAY_MS, HOUR_MS};
use serde_json::{json, Value};
use sha2::Digest as _;
use tower::ServiceExt as _;

/// A result a minute for each of `ids` through the hours starting at `hours`; failures (every
/// fourth minute of `px`) carry a message naming a proxy URL with its password.
async fn record(store: &DynamoStore, kind: TargetKind, ids: &[&str], hours: &[i64]) {
    let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    for hour in hours {
        let runs = lookout_app::testing::minute_runs(&ids, kind, *hour, |id, m| {
            (id != "px" || m % 4 != 0).then_some(80 + (m as u64 % 7) * 10)
        });
        for (at, mut latest) in runs {
            for l in &mut latest {
                if let Some(r) = l.result.as_mut().filter(|r| r.error.is_some()) {
                    r.message = Some("connect via http://ops:hunter2@proxy.example:3128".into());
                }
            }
            store.record_run(kind, at, &latest, false).await.unwrap();
        }
    }
}

fn gunzip(body: &[u8]) -> Vec<Value> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(body)
        .read_to_string(&mut text)
        .unwrap();
    assert!(!text.contains("hunter2"), "no password in the export");
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn a_day_is_exported_to_s3_with_its_manifest_and_again_to_the_same_bytes() {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let (s3, bucket) = common::fresh_bucket(&aws).await;
    let store = DynamoStore::new(ddb, table, 30);
    let dumps = S3DumpStore::new(s3.clone(), &bucket);
    let now = lookout_core::time::now_ms();
    let day = results::default_day(now);
    let start = results::parse_day(&day).unwrap();
    let hours = [start + 9 * HOUR_MS, start + 10 * HOUR_MS];
    record(
        &store,
        TargetKind::Server,
        &["web-b", "web-a", "web-c"],
        &hours,
    )
    .await;
    record(&store, TargetKind::Proxy, &["px"], &hours).await;
    // The day after: not part of the export.
    record(&store, TargetKind::Server, &["web-a"], &[start + DAY_MS]).await;

    let m = results::export_day(&store, &dumps, &day, now)
        .await
        .unwrap();
    assert_eq!(m.format, "lookout-results/1");
    assert_eq!(m.count, 2 * 60 * 4);
    let key = format!("results/{day}.jsonl.gz");
    assert_eq!(m.key, key);
    let body = common::object_bytes(&s3, &bucket, &key).await;
    assert_eq!(body.len() as u64, m.bytes);
    assert_eq!(hex::encode(sha2::Sha256::digest(&body)), m.sha256);
    let lines = gunzip(&body);
    assert_eq!(lines.len() as u64, m.count);
    let order: Vec<(i64, String)> = lines
        .iter()
        .map(|l| {
            (
                l["at"].as_i64().unwrap(),
                l["target"].as_str().unwrap().into(),
            )
        })
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "by time, then target");
    assert_eq!(order[0], (hours[0] + 1_000, "px".to_string()));
    assert_eq!(lines.iter().filter(|l| l["kind"] == "proxy").count(), 120);
    let failed = lines.iter().find(|l| l["outcome"] == "failed").unwrap();
    assert!(
        failed["message"].as_str().unwrap().contains("***"),
        "{failed}"
    );
    let manifest: ResultsManifest = serde_json::from_slice(
        &common::object_bytes(&s3, &bucket, &format!("results/{day}.manifest.json")).await,
    )
    .unwrap();
    assert_eq!(manifest, m);

    // Again: both objects overwritten, the results object byte for byte the same.
    let again = results::export_day(&store, &dumps, &day, now + 60_000)
        .await
        .unwrap();
    assert_eq!(common::object_bytes(&s3, &bucket, &key).await, body);
    assert_eq!((again.count, &again.sha256), (m.count, &m.sha256));
    assert_ne!(again.created_at, m.created_at);

    // The same through `POST /v1/exports/results` (run here: no export function).
    let app = std::sync::Arc::new(api::App {
        admin_token: Some("admin".into()),
        dumps: Some(api::dumps::Dumps {
            store: dumps.clone(),
            table: store.clone(),
            options: Default::default(),
            retention: (7, 30),
            runner: None,
        }),
        ..api::App::local(store.clone())
    });
    let (status, answer) =
        common::call(&app, "POST", &format!("/v1/exports/results?day={day}"), "").await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(
        (answer["count"].as_u64(), answer["sha256"].as_str()),
        (Some(m.count), Some(m.sha256.as_str()))
    );
    assert_eq!(common::object_bytes(&s3, &bucket, &key).await, body);
    let (status, answer) =
        common::call(&app, "POST", "/v1/exports/results?day=yesterday", "").await;
    assert_eq!(status, 400, "{answer}");

    // A day without results: an empty export, count 0.
    let before = lookout_core::time::day(start - DAY_MS);
    let empty = results::export_day(&store, &dumps, &before, now)
        .await
        .unwrap();
    assert_eq!(empty.count, 0);
    let body = common::object_bytes(&s3, &bucket, &format!("results/{before}.jsonl.gz")).await;
    assert!(gunzip(&body).is_empty());
    assert_eq!(hex::encode(sha2::Sha256::digest(&body)), empty.sha256);
}

/// Ten server targets with two hours of a result a minute (1,200 results, more than the JSON
/// answer's largest page of 1,000), and the API over the table.
async fn stack() -> (
    aws_sdk_dynamodb::Client,
    String,
    std::sync::Arc<api::App<DynamoStore>>,
    i64,
) {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let store = DynamoStore::new(ddb.clone(), &table, 30);
    let ids: Vec<String> = (0..10).map(|i| format!("web-{i}")).collect();
    for id in &ids {
        let t: Target = serde_json::from_value(json!({"id": id, "group": "web", "kind": "server",
            "url": format!("https://{id}.example/health")}))
        .unwrap();
        store.create_target(&t.validate().unwrap()).await.unwrap();
    }
    let hour = (lookout_core::time::now_ms() - 3 * HOUR_MS).div_euclid(HOUR_MS) * HOUR_MS;
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    record(&store, TargetKind::Server, &refs, &[hour, hour + HOUR_MS]).await;
    let app = std::sync::Arc::new(api::App {
        admin_token: Some("admin".into()),
        ..api::App::local(store)
    });
    (ddb, table, app, hour)
}

fn request(path: &str) -> lambda_http::http::Request<http_body_util::Empty<hyper::body::Bytes>> {
    lambda_http::http::Request::builder()
        .uri(format!("http://localhost{path}"))
        .header("authorization", "Bearer admin")
        .body(http_body_util::Empty::new())
        .unwrap()
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[tokio::test]
async fn the_jsonl_route_streams_every_result_of_a_window_larger_than_a_page() {
    use http_body_util::BodyExt as _;
    let (_, _, app, hour) = stack().await;
    let window = format!(
        "since={}&until={}",
        lookout_core::time::rfc3339(hour),
        lookout_core::time::rfc3339(hour + 2 * HOUR_MS - 1)
    );
    let resp = Box::pin(
        api::router(app.clone()).oneshot(request(&format!("/v1/results?{window}&format=jsonl"))),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/x-ndjson");
    let mut body = resp.into_body();
    let mut chunks = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            chunks.push(String::from_utf8(data.to_vec()).unwrap());
        }
    }
    assert!(
        chunks.len() >= 2,
        "an hour at a time: {} chunks",
        chunks.len()
    );
    let lines = lines(&chunks.concat());
    assert_eq!(lines.len(), 1_200, "every result, beyond one page of 1,000");
    let keys: Vec<(i64, String)> = lines
        .iter()
        .map(|l| {
            (
                l["at"].as_i64().unwrap(),
                l["target"].as_str().unwrap().into(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(keys, sorted, "ordered, no result twice");

    // The JSON answer over the same window: two pages, the same results in the same order.
    let (status, first) =
        common::call(&app, "GET", &format!("/v1/results?{window}&limit=1000"), "").await;
    assert_eq!(status, 200, "{first}");
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = common::call(
        &app,
        "GET",
        &format!("/v1/results?{window}&limit=1000&cursor={cursor}"),
        "",
    )
    .await;
    let pages: Vec<Value> = first["results"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["results"].as_array().unwrap())
        .cloned()
        .collect();
    assert_eq!(pages.len(), 1_200);
    for (line, result) in lines.iter().zip(&pages) {
        let mut line = line.clone();
        line.as_object_mut().unwrap().remove("target");
        assert_eq!(&line, result);
    }

    // `limit` and a filter over the table.
    let resp = Box::pin(api::router(app.clone()).oneshot(request(&format!(
        "/v1/targets/web-3/results?{window}&limit=7&format=jsonl"
    ))))
    .await
    .unwrap();
    let text = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    let some = self::lines(&text);
    assert_eq!(some.len(), 7);
    assert!(some.iter().all(|l| l["target"] == "web-3"));
}

#[tokio::test]
async fn a_table_that_fails_mid_stream_ends_it_with_an_error_line() {
    use http_body_util::BodyExt as _;
    let (ddb, table, app, hour) = stack().await;
    let window = format!(
        "since={}&until={}",
        lookout_core::time::rfc3339(hour),
        lookout_core::time::rfc3339(hour + 2 * HOUR_MS - 1)
    );
    let resp = Box::pin(
        api::router(app.clone()).oneshot(request(&format!("/v1/results?{window}&format=jsonl"))),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = resp.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    let first = lines(std::str::from_utf8(&first).unwrap());
    assert_eq!(first.len(), 600, "the first hour");
    ddb.delete_table().table_name(&table).send().await.unwrap();
    let mut rest = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            rest.extend_from_slice(&data);
        }
    }
    let rest = lines(std::str::from_utf8(&rest).unwrap());
    assert_eq!(rest.len(), 1, "only the error line: {rest:?}");
    let error = &rest[0]["error"];
    assert!(
        error["code"].is_string() && error["message"].is_string(),
        "{rest:?}"
    );
    assert!(
        !error["message"].as_str().unwrap().contains(&table),
        "{rest:?}"
    );
}

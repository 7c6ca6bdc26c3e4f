//! The export function against DynamoDB Local and moto S3: every item lands in the dump with its
//! types, the manifest's checksums hold, and retention deletes what it should.

mod common;

use std::io::Read;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use lookout::adapters::dynamodb::{json_to_item, DynamoStore};
use lookout::adapters::s3::S3DumpStore;
use lookout::ports::DumpStore;
use sha2::Digest;

#[tokio::test]
async fn a_dump_holds_every_item_with_its_types_and_matches_its_manifest() {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let (s3, bucket) = common::fresh_bucket(&aws).await;
    let mut expected = Vec::new();
    for batch in 0..10 {
        let writes: Vec<WriteRequest> = (0..25)
            .map(|i| {
                let n = batch * 25 + i;
                let item = [
                    ("pk".to_string(), AttributeValue::S(format!("TARGET#t{n}"))),
                    ("sk".to_string(), AttributeValue::S("CONFIG".into())),
                    ("n".to_string(), AttributeValue::N(n.to_string())),
                    ("flag".to_string(), AttributeValue::Bool(n % 2 == 0)),
                    (
                        "tags".to_string(),
                        AttributeValue::Ss(vec!["a".into(), format!("t{n}")]),
                    ),
                ]
                .into_iter()
                .collect::<std::collections::HashMap<_, _>>();
                expected.push(item.clone());
                WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                    .build()
            })
            .collect();
        let out = ddb
            .batch_write_item()
            .request_items(&table, writes)
            .send()
            .await
            .unwrap();
        assert!(out.unprocessed_items().is_none_or(|u| u.is_empty()));
    }
    let store = DynamoStore::new(ddb, &table, 30);
    let dumps = S3DumpStore::new(s3.clone(), &bucket);
    let (folder, manifest) = export::export(&store, &dumps, 3, lookout::time::now_ms())
        .await
        .unwrap();
    assert_eq!(manifest.item_count, 250);
    assert_eq!(manifest.segments, 3);
    assert_eq!(manifest.key_schema[0]["name"], "pk");

    let mut found = Vec::new();
    for part in &manifest.parts {
        let body = s3
            .get_object()
            .bucket(&bucket)
            .key(&part.key)
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
        assert_eq!(
            hex::encode(sha2::Sha256::digest(&body)),
            part.sha256,
            "{}",
            part.key
        );
        let mut text = String::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_string(&mut text)
            .unwrap();
        for line in text.lines() {
            found.push(json_to_item(&serde_json::from_str(line).unwrap()).unwrap());
        }
    }
    let key =
        |i: &std::collections::HashMap<String, AttributeValue>| i["pk"].as_s().unwrap().clone();
    found.sort_by_key(key);
    expected.sort_by_key(key);
    assert_eq!(found.len(), 250);
    assert_eq!(
        found, expected,
        "types survive: numbers, booleans and string sets come back as they were"
    );
    let keys = dumps.list(&folder).await.unwrap();
    assert!(keys.contains(&format!("{folder}manifest.json")));
}

#[tokio::test]
async fn retention_deletes_dumps_past_the_age_or_count_limit_and_keeps_the_newest() {
    let aws = common::aws().await;
    let (s3, bucket) = common::fresh_bucket(&aws).await;
    let dumps = S3DumpStore::new(s3, &bucket);
    let day = 86_400_000;
    let now = 1_795_000_000_000;
    let table = "t";
    let folder = |age_ms: i64| {
        format!(
            "{}{}/",
            export::dumps_prefix(table),
            lookout::time::compact(now - age_ms)
        )
    };
    let put = |key: String| {
        let dumps = &dumps;
        async move {
            dumps
                .put(
                    &key,
                    b"x".to_vec(),
                    "application/octet-stream",
                    &base64_sha(b"x"),
                )
                .await
                .unwrap()
        }
    };
    // Complete dumps 0, 1, 2, 3 and 40 days old, each with a part and a manifest.
    for age in [0, 1, 2, 3, 40] {
        put(format!("{}part-00000.jsonl.gz", folder(age * day))).await;
        put(format!("{}manifest.json", folder(age * day))).await;
    }
    // Failed exports (a part, no manifest) 2 hours and 5 days old: they do not count as dumps;
    // the old one is deleted, the recent one may still be being written.
    for age_ms in [2 * 3_600_000, 5 * day] {
        put(format!("{}part-00000.jsonl.gz", folder(age_ms))).await;
    }
    put("dumps/other-table/20200101T000000Z/manifest.json".into()).await;

    // 30 days and at most 3 dumps: the 3-day and 40-day dumps and the 5-day failed export go.
    let mut deleted = export::apply_retention(&dumps, table, now, 30, 3)
        .await
        .unwrap();
    deleted.sort();
    let mut expected = vec![folder(40 * day), folder(5 * day), folder(3 * day)];
    expected.sort();
    assert_eq!(deleted, expected);
    let left = dumps.list("dumps/t/").await.unwrap();
    assert_eq!(
        left.len(),
        7,
        "3 complete dumps and the recent failed export: {left:?}"
    );
    assert_eq!(
        dumps.list("dumps/other-table/").await.unwrap().len(),
        1,
        "other tables' dumps are untouched"
    );

    // Even a retention of 0 days and 0 dumps keeps the newest complete dump.
    let deleted = export::apply_retention(&dumps, table, now + 400 * day, 0, 0)
        .await
        .unwrap();
    assert_eq!(deleted.len(), 3, "{deleted:?}");
    let left = dumps.list("dumps/t/").await.unwrap();
    assert_eq!(
        left,
        vec![
            format!("{}manifest.json", folder(0)),
            format!("{}part-00000.jsonl.gz", folder(0))
        ]
    );
}

fn base64_sha(body: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(body))
}

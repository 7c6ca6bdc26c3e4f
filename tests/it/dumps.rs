//! Dumps and restores against DynamoDB Local and moto S3: a dump holds every item with its
//! types and matches its manifest; 50,000 items restored into a new table are the same item set;
//! a large segment goes up in multipart parts; a corrupted part makes the restore refuse before
//! writing anything; a failure mid-dump leaves no manifest; retention deletes exactly the right
//! dumps; `DUMP_INCLUDE` keeps only the chosen item types; the API's dump routes.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};

use lookout_app::dump::{
    self, DumpError, DumpOptions, Include, ItemType, RestoreMode, RestoreOptions,
};
use lookout_app::ports::{DumpStore, ObjectStream, RestoreTarget, StoreError, UploadedPart};
use lookout_aws::dynamodb::DynamoStore;
use lookout_aws::s3::S3DumpStore;
use sha2::Digest;

fn options(segments: u32) -> DumpOptions {
    DumpOptions {
        segments,
        ..DumpOptions::default()
    }
}

#[tokio::test]
async fn fifty_thousand_items_restored_into_a_new_table_are_the_same_items_with_their_types() {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let (s3, bucket) = common::fresh_bucket(&aws).await;
    let clock = std::time::Instant::now();
    common::fill_table(&ddb, &table, 50_000, 0).await;
    let filled = clock.elapsed();
    let source = DynamoStore::new(ddb.clone(), &table, 30);
    let store = S3DumpStore::new(s3.clone(), &bucket);
    let now = lookout_core::time::now_ms();
    let clock = std::time::Instant::now();
    let manifest = dump::dump(&source, &store, &options(4), now).await.unwrap();
    let dumped = clock.elapsed();
    assert_eq!(manifest.item_count, 50_000);
    assert_eq!(manifest.parts.len(), 4, "one object per segment");
    assert_eq!(manifest.item_counts[&ItemType::Definitions], 10_000);
    assert_eq!(
        manifest.item_counts[&ItemType::History],
        20_000,
        "HIST# and RUN#"
    );
    assert_eq!(manifest.item_counts[&ItemType::Alerts], 10_000);
    assert_eq!(manifest.key_schema[0].name, "pk");
    assert_eq!(manifest.indexes[0].name, "gsi1");

    // Every part's bytes match the manifest.
    for part in &manifest.parts {
        let body = common::object_bytes(&s3, &bucket, &part.key).await;
        assert_eq!(body.len() as u64, part.bytes);
        assert_eq!(hex::encode(sha2::Sha256::digest(&body)), part.sha256);
    }

    let id = lookout_core::time::compact(now);
    let target = format!("{table}-restore");
    let clock = std::time::Instant::now();
    let report = dump::restore(&store, &source, &table, &id, &RestoreOptions::new(&target))
        .await
        .unwrap();
    let restored = clock.elapsed();
    assert!(report.created);
    assert_eq!((report.items_written, report.table_items), (50_000, 50_000));
    let before = common::table_fingerprint(&ddb, &table).await;
    let after = common::table_fingerprint(&ddb, &target).await;
    assert_eq!(before.0, 50_000);
    assert_eq!(
        before, after,
        "the restored table holds the identical item set"
    );
    let schema = source.describe(&target).await.unwrap().unwrap();
    assert_eq!(
        schema.indexes.len(),
        1,
        "the index is created from the manifest"
    );
    assert_eq!(schema.key_schema, manifest.key_schema);

    eprintln!(
        "50,000 items: filled in {filled:?}, dumped in {dumped:?}, restored in {:?}",
        restored
    );
}

#[tokio::test]
async fn a_large_segment_goes_up_in_multipart_parts_and_restores() {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let (s3, bucket) = common::fresh_bucket(&aws).await;
    // 8,000 items with 1 KiB of random text: about 8 MiB that gzip cannot shrink much, so one
    // segment needs two parts of at least 5 MiB (S3's minimum).
    common::fill_table(&ddb, &table, 8_000, 1024).await;
    let source = DynamoStore::new(ddb.clone(), &table, 30);
    let store = S3DumpStore::new(s3.clone(), &bucket);
    let now = lookout_core::time::now_ms();
    let opts = DumpOptions {
        segments: 1,
        part_bytes: 5 * 1024 * 1024,
        ..DumpOptions::default()
    };
    let manifest = dump::dump(&source, &store, &opts, now).await.unwrap();
    let part = &manifest.parts[0];
    assert!(part.bytes > 5 * 1024 * 1024, "{} bytes", part.bytes);
    let head = s3
        .head_object()
        .bucket(&bucket)
        .key(&part.key)
        .send()
        .await
        .unwrap();
    let etag = head.e_tag().unwrap_or_default().to_string();
    assert!(
        etag.trim_matches('"').ends_with("-2"),
        "a multipart ETag of 2 parts: {etag}"
    );
    assert_eq!(head.content_length(), Some(part.bytes as i64));

    let id = lookout_core::time::compact(now);
    let target = format!("{table}-restore");
    dump::restore(&store, &source, &table, &id, &RestoreOptions::new(&target))
        .await
        .unwrap();
    assert_eq!(
        common::table_fingerprint(&ddb, &table).await,
        common::table_fingerprint(&ddb, &target).await
    );
}

#[tokio::test]
async fn a_corrupted_part_makes_the_restore_refuse_before_writing_anything() {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let (s3, bucket) = common::fresh_bucket(&aws).await;
    common::fill_table(&ddb, &table, 500, 0).await;
    let source = DynamoStore::new(ddb.clone(), &table, 30);
    let store = S3DumpStore::new(s3.clone(), &bucket);
    let now = lookout_core::time::now_ms();
    let manifest = dump::dump(&source, &store, &options(2), now).await.unwrap();
    let id = lookout_core::time::compact(now);

    // Replace the second part by a valid gzip of one line less: it decompresses, but its bytes,
    // hash and count no longer match.
    let victim = &manifest.parts[1];
    let text = common::drop_first_line(&s3, &bucket, &victim.key).await;

    let target = format!("{table}-restore");
    let err = dump::restore(&store, &source, &table, &id, &RestoreOptions::new(&target))
        .await
        .unwrap_err();
    match &err {
        DumpError::Corrupt { message, .. } => assert!(message.contains(&victim.key), "{message}"),
        other => panic!("expected a corrupt dump, got {other:?}"),
    }
    assert_eq!(
        source.describe(&target).await.unwrap(),
        None,
        "nothing was written: not even the table was created"
    );
    // Into an existing table (upsert), nothing is written either.
    let mut upsert = RestoreOptions::new(&table);
    upsert.mode = RestoreMode::Upsert;
    let before = common::table_fingerprint(&ddb, &table).await;
    assert!(matches!(
        dump::restore(&store, &source, &table, &id, &upsert).await,
        Err(DumpError::Corrupt { .. })
    ));
    assert_eq!(common::table_fingerprint(&ddb, &table).await, before);

    // A part with as many items as the manifest says, one value changed: only the SHA-256
    // (and size) can tell.
    let edited = text.replacen("\"N\":\"", "\"N\":\"9", 1);
    assert_ne!(edited, text);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, edited.as_bytes()).unwrap();
    s3.put_object()
        .bucket(&bucket)
        .key(&victim.key)
        .body(gz.finish().unwrap().into())
        .send()
        .await
        .unwrap();
    let err = dump::restore(&store, &source, &table, &id, &RestoreOptions::new(&target))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, DumpError::Corrupt { message, .. } if message.contains("SHA-256")),
        "{err:?}"
    );
    assert_eq!(source.describe(&target).await.unwrap(), None);
}

/// A bucket that fails the `fail_at`-th object write (put or part upload).
struct FailingStore {
    inner: S3DumpStore,
    writes: AtomicUsize,
    fail_at: usize,
    /// Objects written completely (a put, or a finished multipart upload).
    done: AtomicUsize,
    /// Hold the failing write until the objects of the writes before it are complete.
    settle: bool,
}

impl FailingStore {
    fn new(inner: &S3DumpStore, fail_at: usize, settle: bool) -> Self {
        FailingStore {
            inner: inner.clone(),
            writes: AtomicUsize::new(0),
            fail_at,
            done: AtomicUsize::new(0),
            settle,
        }
    }

    /// Fails write number `fail_at`; with `settle`, only once the objects of the writes before
    /// it are complete (at most 10 s later), so that the dump fails with some of its parts
    /// written whatever the order its segments run in.
    async fn check(&self) -> Result<(), StoreError> {
        if self.writes.fetch_add(1, Ordering::SeqCst) + 1 != self.fail_at {
            return Ok(());
        }
        for _ in 0..500 {
            if !self.settle || self.done.load(Ordering::SeqCst) + 1 >= self.fail_at {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        Err(StoreError::Backend("injected failure".into()))
    }
}

impl DumpStore for FailingStore {
    async fn put(&self, key: &str, body: Vec<u8>, ct: &str, sha: &str) -> Result<(), StoreError> {
        self.check().await?;
        self.inner.put(key, body, ct, sha).await?;
        self.done.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key).await
    }
    async fn open(&self, key: &str) -> Result<ObjectStream, StoreError> {
        self.inner.open(key).await
    }
    async fn start_upload(&self, key: &str, ct: &str) -> Result<String, StoreError> {
        self.inner.start_upload(key, ct).await
    }
    async fn upload_part(
        &self,
        key: &str,
        upload: &str,
        n: i32,
        body: Vec<u8>,
        sha: &str,
    ) -> Result<UploadedPart, StoreError> {
        self.check().await?;
        self.inner.upload_part(key, upload, n, body, sha).await
    }
    async fn finish_upload(
        &self,
        key: &str,
        upload: &str,
        p: &[UploadedPart],
    ) -> Result<(), StoreError> {
        self.inner.finish_upload(key, upload, p).await?;
        self.done.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    async fn abort_upload(&self, key: &str, upload: &str) -> Result<(), StoreError> {
        self.inner.abort_upload(key, upload).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.inner.list(prefix).await
    }
    async fn delete(&self, keys: &[String]) -> Result<(), StoreError> {
        self.inner.delete(keys).await
    }
}

#[tokio::test]
async fn a_failure_in_the_middle_of_a_dump_leaves_no_manifest_and_no_listed_dump() {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let (s3, bucket) = common::fresh_bucket(&aws).await;
    // 512 bytes of random text per item, so that a multipart object gets several parts below.
    common::fill_table(&ddb, &table, 300, 512).await;
    let source = DynamoStore::new(ddb, &table, 30);
    let inner = S3DumpStore::new(s3.clone(), &bucket);
    // Four segments write four objects, then the manifest: fail the third write.
    let failing = FailingStore::new(&inner, 3, true);
    let now = lookout_core::time::now_ms();
    let err = dump::dump(&source, &failing, &options(4), now)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("injected failure"), "{err}");
    let id = lookout_core::time::compact(now);
    let keys = inner.list(&dump::folder(&table, &id)).await.unwrap();
    assert!(
        !keys.is_empty(),
        "some parts were written before the failure"
    );
    assert!(
        !keys.iter().any(|k| k.ends_with("manifest.json")),
        "{keys:?}"
    );
    let listing = dump::list(&inner, &table).await.unwrap();
    assert!(listing.dumps.is_empty());
    assert_eq!(listing.incomplete, vec![id.clone()]);
    assert!(matches!(
        dump::restore(
            &inner,
            &source,
            &table,
            &id,
            &RestoreOptions::new(format!("{table}-r"))
        )
        .await,
        Err(DumpError::NotFound(_))
    ));

    // The manifest write itself failing (the fifth write) also leaves none.
    let failing = FailingStore::new(&inner, 5, false);
    let later = now + 2_000;
    assert!(dump::dump(&source, &failing, &options(4), later)
        .await
        .is_err());
    let listing = dump::list(&inner, &table).await.unwrap();
    assert!(listing.dumps.is_empty());
    assert_eq!(listing.incomplete.len(), 2);

    // A part upload failing in the middle of a multipart object (parts of 1 KiB: S3 only
    // checks the 5 MiB minimum at completion) aborts the open uploads.
    let failing = FailingStore::new(&inner, 3, false);
    let multipart = DumpOptions {
        segments: 1,
        part_bytes: 1024,
        ..DumpOptions::default()
    };
    assert!(dump::dump(&source, &failing, &multipart, now + 4_000)
        .await
        .is_err());
    let open = s3
        .list_multipart_uploads()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert!(
        open.uploads().is_empty(),
        "no multipart upload is left open: {:?}",
        open.uploads()
    );
    assert!(dump::list(&inner, &table).await.unwrap().dumps.is_empty());
}

#[tokio::test]
async fn dump_include_keeps_only_the_chosen_item_types() {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let (s3, bucket) = common::fresh_bucket(&aws).await;
    common::fill_table(&ddb, &table, 100, 0).await;
    let source = DynamoStore::new(ddb.clone(), &table, 30);
    let store = S3DumpStore::new(s3, &bucket);
    let opts = DumpOptions {
        segments: 2,
        include: Include::parse("definitions,alerts").unwrap(),
        ..DumpOptions::default()
    };
    let now = lookout_core::time::now_ms();
    let manifest = dump::dump(&source, &store, &opts, now).await.unwrap();
    assert_eq!(
        manifest.include,
        vec![ItemType::Definitions, ItemType::Alerts]
    );
    assert_eq!(manifest.item_count, 40);
    assert_eq!(manifest.item_counts.len(), 2, "{:?}", manifest.item_counts);
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
    let mut pages = ddb.scan().table_name(&target).into_paginator().send();
    let mut seen = 0;
    while let Some(page) = pages.next().await {
        for item in page.unwrap().items() {
            let pk = item["pk"].as_s().unwrap();
            let sk = item["sk"].as_s().unwrap();
            assert!(
                pk.starts_with("ALERT#") || (pk.starts_with("TARGET#") && sk == "CONFIG"),
                "{pk}/{sk}"
            );
            seen += 1;
        }
    }
    assert_eq!(seen, 40);

    // The restored table now holds items: empty-only refuses, upsert writes over them.
    let id = lookout_core::time::compact(now);
    let again = dump::restore(&store, &source, &table, &id, &RestoreOptions::new(&target)).await;
    assert!(
        matches!(again, Err(DumpError::Refused(ref m)) if m.contains("not empty")),
        "{again:?}"
    );
    let mut upsert = RestoreOptions::new(&target);
    upsert.mode = RestoreMode::Upsert;
    let report = dump::restore(&store, &source, &table, &id, &upsert)
        .await
        .unwrap();
    assert!(!report.created);
    assert_eq!((report.items_written, report.table_items), (40, 40));
}

#[tokio::test]
async fn retention_deletes_dumps_past_the_age_or_count_limit_and_keeps_the_newest() {
    let aws = common::aws().await;
    let (s3, bucket) = common::fresh_bucket(&aws).await;
    let store = S3DumpStore::new(s3, &bucket);
    let day = 86_400_000;
    let now = 1_795_000_000_000;
    let table = "t";
    let id = |age_ms: i64| lookout_core::time::compact(now - age_ms);
    let put = |key: String| {
        let store = &store;
        async move {
            store
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
        put(format!(
            "{}part-00000.jsonl.gz",
            dump::folder(table, &id(age * day))
        ))
        .await;
        put(format!(
            "{}manifest.json",
            dump::folder(table, &id(age * day))
        ))
        .await;
    }
    // Failed exports (a part, no manifest) 2 hours and 5 days old: they do not count as dumps;
    // the old one is deleted, the recent one may still be being written.
    for age_ms in [2 * 3_600_000, 5 * day] {
        put(format!(
            "{}part-00000.jsonl.gz",
            dump::folder(table, &id(age_ms))
        ))
        .await;
    }
    put("dumps/other-table/20200101T000000Z/manifest.json".into()).await;

    // 30 days and at most 3 dumps: the 3-day and 40-day dumps and the 5-day failed export go.
    let mut deleted = dump::apply_retention(&store, table, now, 30, 3)
        .await
        .unwrap();
    deleted.sort();
    let mut expected = vec![id(40 * day), id(5 * day), id(3 * day)];
    expected.sort();
    assert_eq!(deleted, expected);
    let left = store.list("dumps/t/").await.unwrap();
    assert_eq!(
        left.len(),
        7,
        "3 complete dumps and the recent failed export: {left:?}"
    );
    assert_eq!(
        store.list("dumps/other-table/").await.unwrap().len(),
        1,
        "other tables' dumps are untouched"
    );
    // 7 days (the default) and 30 dumps: only age counts now; the 3 left are younger.
    assert!(dump::apply_retention(&store, table, now, 7, 30)
        .await
        .unwrap()
        .is_empty());

    // Even a retention of 0 days and 0 dumps keeps the newest complete dump.
    let deleted = dump::apply_retention(&store, table, now + 400 * day, 0, 0)
        .await
        .unwrap();
    assert_eq!(deleted.len(), 3, "{deleted:?}");
    let left = store.list("dumps/t/").await.unwrap();
    assert_eq!(
        left,
        vec![
            format!("{}manifest.json", dump::folder(table, &id(0))),
            format!("{}part-00000.jsonl.gz", dump::folder(table, &id(0)))
        ]
    );
}

fn base64_sha(body: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(body))
}

#[tokio::test]
async fn the_api_dumps_lists_restores_and_deletes() {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let (s3, bucket) = common::fresh_bucket(&aws).await;
    common::fill_table(&ddb, &table, 200, 0).await;
    let dynamo = DynamoStore::new(ddb.clone(), &table, 30);
    let app = std::sync::Arc::new(api::App {
        prober: lookout_app::probe::Prober::new().unwrap(),
        admin_token: Some("admin".into()),
        read_token: Some("reader".into()),
        dumps: Some(api::dumps::Dumps {
            store: S3DumpStore::new(s3, &bucket),
            table: dynamo.clone(),
            options: options(2),
            retention: (7, 30),
            runner: None,
        }),
        ..api::App::local(dynamo)
    });
    let (status, created) = common::call(&app, "POST", "/v1/dumps", "").await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["manifest"]["item_count"], 200);

    let (status, listing) = common::call(&app, "GET", "/v1/dumps", "").await;
    assert_eq!(status, 200);
    assert_eq!(listing["dumps"][0]["id"], id.as_str());
    assert_eq!(listing["dumps"][0]["item_count"], 200);
    let (status, stats) = common::call(&app, "GET", "/v1/dumps/stats", "").await;
    assert_eq!((status, stats["count"].as_u64()), (200, Some(1)));
    assert_eq!(stats["newest"], listing["dumps"][0]["started_at"]);
    let (status, manifest) = common::call(&app, "GET", &format!("/v1/dumps/{id}"), "").await;
    assert_eq!((status, manifest["item_count"].as_u64()), (200, Some(200)));

    // Bad input: a malformed id, an unknown field, a bad mode, a bad table name, no such dump.
    for (path, body, want) in [
        ("/v1/dumps/..%2F..%2Fx/restore", "{}", 400),
        (
            &format!("/v1/dumps/{id}/restore") as &str,
            r#"{"tabel":"x"}"#,
            400,
        ),
        (
            &format!("/v1/dumps/{id}/restore"),
            r#"{"mode":"overwrite"}"#,
            400,
        ),
        (
            &format!("/v1/dumps/{id}/restore"),
            r#"{"table":"a b"}"#,
            400,
        ),
        ("/v1/dumps/20000101T000000Z/restore", "{}", 404),
    ] {
        let (status, body) = common::call(&app, "POST", path, body).await;
        assert_eq!(status, want, "{path}: {body}");
        assert!(body["error"]["message"].is_string(), "{body}");
    }
    // The live table is not empty: the default mode refuses with 409.
    let (status, body) = common::call(&app, "POST", &format!("/v1/dumps/{id}/restore"), "").await;
    assert_eq!(status, 409, "{body}");

    let target = format!("{table}-restore");
    let (status, report) = common::call(
        &app,
        "POST",
        &format!("/v1/dumps/{id}/restore"),
        &format!(r#"{{"table":"{target}"}}"#),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (report["created"].as_bool(), report["table_items"].as_u64()),
        (Some(true), Some(200))
    );
    // The restored table is the live one as dumped, but for the audit entries the live one has
    // gained since (one per admin request above).
    assert_eq!(
        common::table_fingerprint_except(&ddb, &table, Some("AUDIT#")).await,
        common::table_fingerprint_except(&ddb, &target, Some("AUDIT#")).await
    );

    // The read token cannot touch dumps.
    let req = lambda_http::http::Request::builder()
        .uri("http://localhost/v1/dumps")
        .header("authorization", "Bearer reader")
        .body(lambda_http::Body::Empty)
        .unwrap();
    assert_eq!(
        Box::pin(api::handle(&app, req)).await.status().as_u16(),
        403
    );

    let (status, _) = common::call(&app, "DELETE", &format!("/v1/dumps/{id}"), "").await;
    assert_eq!(status, 200);
    let (status, _) = common::call(&app, "DELETE", &format!("/v1/dumps/{id}"), "").await;
    assert_eq!(status, 404);
    let (_, listing) = common::call(&app, "GET", "/v1/dumps", "").await;
    assert_eq!(listing["dumps"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn a_corrupt_manifest_is_listed_apart_and_verify_names_the_part_that_does_not_match() {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let (s3, bucket) = common::fresh_bucket(&aws).await;
    common::fill_table(&ddb, &table, 300, 0).await;
    let dynamo = DynamoStore::new(ddb.clone(), &table, 30);
    let store = S3DumpStore::new(s3.clone(), &bucket);
    let now = lookout_core::time::now_ms();
    // Three dumps a minute apart: intact, a part edited, the manifest broken.
    let mut ids = Vec::new();
    let mut manifests = Vec::new();
    for at in [now - 120_000, now - 60_000, now] {
        manifests.push(dump::dump(&dynamo, &store, &options(2), at).await.unwrap());
        ids.push(lookout_core::time::compact(at));
    }
    let (intact, edited, broken) = (&ids[0], &ids[1], &ids[2]);
    let app = std::sync::Arc::new(api::App {
        prober: lookout_app::probe::Prober::new().unwrap(),
        admin_token: Some("admin".into()),
        dumps: Some(api::dumps::Dumps {
            store: store.clone(),
            table: dynamo.clone(),
            options: options(2),
            retention: (7, 30),
            runner: None,
        }),
        ..api::App::local(dynamo)
    });

    let (status, report) =
        common::call(&app, "POST", &format!("/v1/dumps/{intact}/verify"), "").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["parts"].as_array().map(Vec::len), Some(2));
    assert!(report["parts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["ok"] == true));
    assert_eq!(report["item_count"], 300);

    // One line less in the second part of `edited`: a valid gzip whose bytes, hash and count
    // no longer match.
    let victim = &manifests[1].parts[1];
    common::drop_first_line(&s3, &bucket, &victim.key).await;
    let (status, report) =
        common::call(&app, "POST", &format!("/v1/dumps/{edited}/verify"), "").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["ok"], false, "{report}");
    let parts = report["parts"].as_array().unwrap();
    assert_eq!(parts[0]["ok"], true, "{report}");
    assert_eq!(parts[1]["key"], victim.key.as_str());
    assert_eq!(parts[1]["ok"], false);
    assert_eq!(parts[1]["items"].as_u64(), Some(victim.items - 1));
    let why = parts[1]["error"].as_str().unwrap();
    assert!(
        why.contains(&victim.key) && why.contains("SHA-256"),
        "{why}"
    );
    assert_eq!(report["problems"].as_array().map(Vec::len), Some(1));

    // A part gone from the bucket.
    let first = &manifests[1].parts[0];
    store
        .delete(std::slice::from_ref(&first.key))
        .await
        .unwrap();
    let (_, report) = common::call(&app, "POST", &format!("/v1/dumps/{edited}/verify"), "").await;
    assert_eq!(report["parts"][0]["ok"], false, "{report}");
    assert!(
        report["parts"][0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("missing")),
        "{report}"
    );

    // A manifest that does not parse: the listing shows the others and this one apart.
    let manifest_key = format!("{}manifest.json", dump::folder(&table, broken));
    store
        .put(
            &manifest_key,
            b"{not json".to_vec(),
            "application/json",
            &base64_sha(b"{not json"),
        )
        .await
        .unwrap();
    let (status, listing) = common::call(&app, "GET", "/v1/dumps", "").await;
    assert_eq!(status, 200, "{listing}");
    let listed: Vec<&str> = listing["dumps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [edited.as_str(), intact.as_str()]);
    assert_eq!(listing["corrupt"][0]["id"], broken.as_str(), "{listing}");
    assert!(
        listing["corrupt"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("manifest.json")),
        "{listing}"
    );
    let (status, stats) = common::call(&app, "GET", "/v1/dumps/stats", "").await;
    assert_eq!(status, 200, "{stats}");
    assert_eq!(
        (stats["count"].as_u64(), stats["corrupt"].as_u64()),
        (Some(2), Some(1))
    );
    let (status, body) =
        common::call(&app, "POST", &format!("/v1/dumps/{broken}/verify"), "").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("corrupt_dump")),
        "{body}"
    );
    let (status, _) = common::call(&app, "POST", "/v1/dumps/20000101T000000Z/verify", "").await;
    assert_eq!(status, 404);
}

//! A restore whose writes are throttled still writes every item: DynamoDB is replaced by
//! aws-smithy-mocks rules that leave part of each BatchWriteItem unprocessed (as DynamoDB does
//! when a partition is over its throughput), while the dump comes from moto S3. And when the
//! writes never get through, the restore stops with an error that counts the items not written
//! rather than dropping them.

use crate::common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemOutput;
use aws_sdk_dynamodb::operation::describe_table::DescribeTableOutput;
use aws_sdk_dynamodb::operation::describe_time_to_live::DescribeTimeToLiveOutput;
use aws_sdk_dynamodb::operation::scan::ScanOutput;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, KeySchemaElement, KeyType, ScalarAttributeType, Select, TableDescription,
    TableStatus, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use lookout_app::dump::{self, DumpError, DumpOptions, RestoreOptions};
use lookout_aws::dynamodb::DynamoStore;
use lookout_aws::s3::S3DumpStore;

const TABLE: &str = "throttled-table";

/// What the mocked table has stored: the keys written.
type Written = Arc<Mutex<HashSet<String>>>;

fn key_of(w: &WriteRequest) -> String {
    let item = w.put_request().expect("a put").item();
    format!(
        "{}/{}",
        item["pk"].as_s().unwrap(),
        item["sk"].as_s().unwrap()
    )
}

/// A DynamoDB client whose table exists (keys pk/sk) and is empty at first; BatchWriteItem
/// stores the items `accept` lets through and returns the others as unprocessed.
fn mocked(
    written: Written,
    accept: impl Fn(usize, usize) -> bool + Send + Sync + 'static,
) -> Client {
    let describe = mock!(Client::describe_table).then_output(|| {
        let key = |n: &str, t| {
            KeySchemaElement::builder()
                .attribute_name(n)
                .key_type(t)
                .build()
                .unwrap()
        };
        let attr = |n: &str| {
            AttributeDefinition::builder()
                .attribute_name(n)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap()
        };
        DescribeTableOutput::builder()
            .table(
                TableDescription::builder()
                    .table_name(TABLE)
                    .table_status(TableStatus::Active)
                    .key_schema(key("pk", KeyType::Hash))
                    .key_schema(key("sk", KeyType::Range))
                    .attribute_definitions(attr("pk"))
                    .attribute_definitions(attr("sk"))
                    .build(),
            )
            .build()
    });
    let ttl = mock!(Client::describe_time_to_live)
        .then_output(|| DescribeTimeToLiveOutput::builder().build());
    let stored = written.clone();
    let scan = mock!(Client::scan).then_compute_output(move |req| {
        let count = stored.lock().unwrap().len() as i32;
        if req.select() == Some(&Select::Count) {
            // The count of a full scan, all of it on segment 0.
            let n = if req.segment().unwrap_or(0) == 0 {
                count
            } else {
                0
            };
            ScanOutput::builder().count(n).scanned_count(n).build()
        } else {
            // `is_empty`: no item yet.
            ScanOutput::builder()
                .set_items(Some(Vec::new()))
                .count(0)
                .build()
        }
    });
    let calls = Arc::new(Mutex::new(0usize));
    let batch = mock!(Client::batch_write_item).then_compute_output(move |req| {
        let call = {
            let mut c = calls.lock().unwrap();
            *c += 1;
            *c
        };
        let writes = &req.request_items().expect("items")[TABLE];
        let mut left = Vec::new();
        for (i, w) in writes.iter().enumerate() {
            if accept(call, i) {
                written.lock().unwrap().insert(key_of(w));
            } else {
                left.push(w.clone());
            }
        }
        let mut out = BatchWriteItemOutput::builder();
        if !left.is_empty() {
            out = out.unprocessed_items(TABLE, left);
        }
        out.build()
    });
    mock_client!(
        aws_sdk_dynamodb,
        RuleMode::MatchAny,
        [&describe, &ttl, &scan, &batch]
    )
}

/// A real dump of `count` items in moto S3, from a DynamoDB Local table. Returns the store,
/// the source table's name, the dump's id and the keys dumped.
async fn real_dump(count: usize) -> (S3DumpStore, String, String, HashSet<String>) {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let (s3, bucket) = common::fresh_bucket(&aws).await;
    common::fill_table(&ddb, &table, count, 0).await;
    let store = S3DumpStore::new(s3, &bucket);
    let now = lookout_core::time::now_ms();
    let source = DynamoStore::new(ddb, &table, 30);
    dump::dump(&source, &store, &DumpOptions::default(), now)
        .await
        .unwrap();
    let keys = (0..count)
        .map(|n| {
            let item = common::sample_item(n, 0);
            format!(
                "{}/{}",
                item["pk"].as_s().unwrap(),
                item["sk"].as_s().unwrap()
            )
        })
        .collect();
    (store, table, lookout_core::time::compact(now), keys)
}

#[tokio::test]
async fn throttled_writes_are_sent_again_until_every_item_is_written() {
    let (store, source_table, id, keys) = real_dump(1_000).await;
    let written: Written = Arc::default();
    // Two calls in three leave every other item unprocessed.
    let client = mocked(written.clone(), |call, i| {
        call.is_multiple_of(3) || i.is_multiple_of(2)
    });
    let target = DynamoStore::new(client, TABLE, 30);
    let mut options = RestoreOptions::new(TABLE);
    options.backoff_ms = 1;
    let report = dump::restore(&store, &target, &source_table, &id, &options)
        .await
        .unwrap();
    assert_eq!(
        *written.lock().unwrap(),
        keys,
        "every dumped item was written"
    );
    assert_eq!(report.items_written, 1_000);
    assert_eq!(report.table_items, 1_000);
    assert!(report.retried_items > 0, "{report:?}");
    assert!(
        report.requests > 40,
        "1,000 items are 40 batches, plus retries: {report:?}"
    );
}

#[tokio::test]
async fn writes_that_never_get_through_stop_the_restore_with_the_count_not_written() {
    let (store, source_table, id, _) = real_dump(100).await;
    let written: Written = Arc::default();
    // Item 0 of every batch is always left unprocessed.
    let client = mocked(written.clone(), |_, i| i != 0);
    let target = DynamoStore::new(client, TABLE, 30);
    let mut options = RestoreOptions::new(TABLE);
    options.backoff_ms = 1;
    options.max_attempts = 4;
    options.concurrency = 1;
    let err = dump::restore(&store, &target, &source_table, &id, &options)
        .await
        .unwrap_err();
    match err {
        DumpError::Incomplete {
            not_written,
            attempts,
            ..
        } => assert_eq!((not_written, attempts), (1, 4)),
        other => panic!("expected an incomplete restore, got {other:?}"),
    }
}

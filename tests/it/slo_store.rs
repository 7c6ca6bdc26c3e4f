//! The SLO store on DynamoDB Local: definitions written on their version, listed and deleted
//! with their record; a record written with its alerts in one transaction (the outbox rows
//! pending), a stale version writing neither; the size of a record holding 32 days of checks;
//! a dump and restore keeps the SLOs and their records.

use crate::common;

use aws_sdk_dynamodb::types::AttributeValue;
use lookout_app::dump::{self, DumpOptions, RestoreOptions};
use lookout_app::ports::{Outbox, SloStore, StoreError};
use lookout_aws::dynamodb::DynamoStore;
use lookout_aws::s3::S3DumpStore;
use lookout_core::domain::slo::{
    evaluate, slo_alerts, status, AlertContext, Sli, SliCounts, SliEvent, Slo, SloRecord,
    SloSelector, SloSeries, SloWindow,
};
use lookout_core::domain::{Alert, TargetKind};
use lookout_core::time::{DAY_MS, HOUR_MS, MINUTE_MS};

fn slo(id: &str) -> Slo {
    Slo {
        id: id.into(),
        name: format!("SLO {id}"),
        description: Some("for the tests".into()),
        selector: SloSelector::Group("shop".into()),
        objective: 99.9,
        window: SloWindow::Rolling30d,
        sli: Sli::Availability,
        exclude_maintenance: true,
        alerts: true,
        version: 1,
        created_at: 1,
        updated_at: 1,
    }
}

async fn store() -> (aws_sdk_dynamodb::Client, String, DynamoStore) {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let store = DynamoStore::new(ddb.clone(), &table, 30);
    (ddb, table, store)
}

/// A clean hour and one failure ending at `now` (epoch ms): the record, stepped, and the alerts
/// (page and ticket) it raises.
fn burning(id: &str, now: i64) -> (SloRecord, Vec<Alert>) {
    let s = slo(id);
    let mut record = SloRecord::new(id);
    record.version = 1;
    for m in 1..=60 {
        record.series.add(now - m * MINUTE_MS, SliEvent::Good);
    }
    record.series.add(now, SliEvent::Bad);
    let verdicts = evaluate(&s, &record.series, now);
    let events = record.alerts.step(&verdicts, now, false);
    let st = status(&s, &record.series, now);
    let targets = vec!["web".to_string()];
    let ctx = AlertContext {
        target_kind: TargetKind::Server,
        targets: &targets,
        verdicts: &verdicts,
        status: &st,
    };
    let alerts = slo_alerts(&s, &ctx, &events);
    assert_eq!(alerts.len(), 2);
    (record, alerts)
}

#[tokio::test]
async fn slos_are_written_on_their_version_listed_and_deleted_with_their_record() {
    let (_, _, store) = store().await;
    let mut a = slo("a");
    store.put_slo(&a).await.unwrap();
    assert!(matches!(
        store.put_slo(&a).await,
        Err(StoreError::Conflict(_))
    ));
    a.version = 2;
    a.objective = 99.5;
    store.put_slo(&a).await.unwrap();
    assert!(matches!(
        store.put_slo(&a).await,
        Err(StoreError::Conflict(_))
    ));
    let mut skipped = slo("b");
    skipped.version = 3;
    assert!(
        matches!(store.put_slo(&skipped).await, Err(StoreError::Conflict(_))),
        "a version that skips one is refused"
    );
    store.put_slo(&slo("b")).await.unwrap();
    assert_eq!(store.slo("a").await.unwrap(), Some(a.clone()));
    let all = store.slos().await.unwrap();
    assert_eq!(
        all.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    let mut record = SloRecord::new("a");
    record.version = 1;
    record.series.add(1_000 * HOUR_MS, SliEvent::Good);
    store.commit_slo_record(&record, &[]).await.unwrap();
    assert_eq!(store.slo_record("a").await.unwrap(), Some(record));
    assert_eq!(store.slo_records().await.unwrap().len(), 1);
    assert!(store.delete_slo("a").await.unwrap());
    assert!(store.slo("a").await.unwrap().is_none());
    assert!(
        store.slo_record("a").await.unwrap().is_none(),
        "its record went with it"
    );
    assert!(!store.delete_slo("a").await.unwrap());
    assert_eq!(store.slos().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_record_and_its_alerts_are_written_in_one_transaction_and_a_stale_one_writes_neither() {
    let (_, _, store) = store().await;
    let now = lookout_core::time::now_ms() / MINUTE_MS * MINUTE_MS;
    let (record, alerts) = burning("checkout", now);
    let written = store.commit_slo_record(&record, &alerts).await.unwrap();
    assert_eq!(written, alerts);
    let pending = store.pending_alerts(now).await.unwrap();
    let mut keys: Vec<&str> = pending.iter().map(|a| a.key.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            format!("slo#checkout#page#{now}"),
            format!("slo#checkout#ticket#{now}")
        ]
    );
    assert!(
        pending.iter().all(|a| a.slo.is_some()),
        "the SLO's figures kept"
    );

    // Another writer's stale version 1, with an alert of its own: nothing of it is written.
    let mut stale = record.clone();
    stale.series.add(now, SliEvent::Bad);
    let mut other = alerts[0].clone();
    other.key = format!("slo#checkout#page#{}", now + 1);
    other.at = now + 1;
    let lost = store.commit_slo_record(&stale, &[other]).await;
    assert!(matches!(lost, Err(StoreError::Conflict(_))), "{lost:?}");
    assert_eq!(store.pending_alerts(now).await.unwrap().len(), 2);
    assert_eq!(
        store.slo_record("checkout").await.unwrap(),
        Some(record.clone())
    );

    // Version 2 without alerts (a plain conditional put), then the same again: refused.
    let mut next = record;
    next.version = 2;
    next.series.add(now + MINUTE_MS, SliEvent::Good);
    assert!(store
        .commit_slo_record(&next, &[])
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        store.commit_slo_record(&next, &[]).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.slo_record("checkout").await.unwrap(), Some(next));
}

#[tokio::test]
async fn a_record_of_32_days_of_checks_fits_a_few_kilobytes() {
    let (ddb, table, store) = store().await;
    let now = lookout_core::time::now_ms() / MINUTE_MS * MINUTE_MS;
    // 32 days of one-minute buckets of a group of 5 targets checked every minute, a failure
    // now and then; the record keeps what it reads (6 h of minutes, 32 days of hours).
    let mut series = SloSeries::default();
    let minutes = 32 * DAY_MS / MINUTE_MS;
    for m in 0..minutes {
        let bad = u64::from(m % 97 == 0) + u64::from(m % 331 == 0);
        series.add_counts(
            now - m * MINUTE_MS,
            SliCounts {
                good: 5 - bad,
                total: 5,
                excluded: u64::from(m % 1_000 == 0),
            },
        );
    }
    series.prune(now);
    let mut record = SloRecord::new("big");
    record.version = 1;
    record.series = series;
    let json = serde_json::to_string(&record).unwrap().len();
    store.commit_slo_record(&record, &[]).await.unwrap();
    assert_eq!(store.slo_record("big").await.unwrap(), Some(record.clone()));
    let item = ddb
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S("SLOREC".into()))
        .key("sk", AttributeValue::S("big".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let z = item["z"].as_b().unwrap().as_ref().len();
    // DynamoDB's item size: attribute names plus values (numbers about their digits).
    let size: usize = item
        .iter()
        .map(|(name, v)| {
            name.len()
                + match v {
                    AttributeValue::S(s) => s.len(),
                    AttributeValue::N(n) => n.len(),
                    AttributeValue::B(b) => b.as_ref().len(),
                    _ => 0,
                }
        })
        .sum();
    let wcu = size.div_ceil(1024);
    println!(
        "SLO record of 32 days: {} minute and {} hour buckets; JSON {json} bytes, deflated z \
         {z} bytes, item {size} bytes: {wcu} WCU per plain write, {} with alerts (transaction)",
        record.series.minutes.len(),
        record.series.hours.len(),
        2 * wcu
    );
    assert_eq!(record.series.minutes.len(), 365);
    assert_eq!(record.series.hours.len(), 32 * 24 + 1);
    assert!(z < json / 3, "deflate pays: {z} of {json}");
    assert!(size < 64 * 1024, "{size} bytes");
}

#[tokio::test]
async fn a_dump_and_restore_keeps_the_slos_and_their_records() {
    let aws = common::aws().await;
    let (ddb, table, source) = store().await;
    let (s3, bucket) = common::fresh_bucket(&aws).await;
    let now = lookout_core::time::now_ms() / MINUTE_MS * MINUTE_MS;
    for id in ["a", "b"] {
        source.put_slo(&slo(id)).await.unwrap();
    }
    let (record, alerts) = burning("a", now);
    source.commit_slo_record(&record, &alerts).await.unwrap();
    let objects = S3DumpStore::new(s3, &bucket);
    dump::dump(&source, &objects, &DumpOptions::default(), now)
        .await
        .unwrap();
    let target = format!("{table}-restore");
    dump::restore(
        &objects,
        &source,
        &table,
        &lookout_core::time::compact(now),
        &RestoreOptions::new(&target),
    )
    .await
    .unwrap();
    let restored = DynamoStore::new(ddb, &target, 30);
    assert_eq!(restored.slos().await.unwrap(), source.slos().await.unwrap());
    assert_eq!(restored.slo_record("a").await.unwrap(), Some(record));
}

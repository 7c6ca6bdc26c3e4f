//! [`HeartbeatStore`] over the table: one item per heartbeat target, `PING` / `<target id>`,
//! the [`PingRecord`]'s JSON deflated in `z` (bodies included, at most 10 pings of 4 KiB),
//! with its `version`. A ping is a read and a write conditional on that version, retried on a
//! conflict after a jittered pause (so that concurrent pings of one target spread out and are
//! all kept); the probe run reads the records of its heartbeat targets with BatchGetItem.

use std::collections::HashMap;
use std::time::Duration;

use backon::BackoffBuilder as _;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{corrupt, key_of, n, Item};
use super::keys::{PING_PK, PK, VERSION};
use super::packed::{deflate, inflate};
use super::DynamoStore;
use crate::store_error;
use lookout_app::ports::{HeartbeatStore, StoreError};
use lookout_app::retry::retry_policy;
use lookout_core::domain::heartbeat::{Ping, PingRecord};

/// Tries of one ping's read and conditional write before it reports the conflict: every try
/// but one may lose to another writer, so ten pings of one target at once are all kept.
const PING_WRITE_TRIES: u32 = 10;

/// The pause before the first retry of a ping's write (then doubling, jittered), and the
/// longest pause: ten retries wait under two seconds in all.
const PING_RETRY_BASE: Duration = Duration::from_millis(20);
const PING_RETRY_MAX: Duration = Duration::from_millis(400);

/// The item of `record`: its JSON deflated in `z`, with its version.
fn record_item(record: &PingRecord) -> Result<Item, StoreError> {
    let json = serde_json::to_string(record).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let z = deflate(&json).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let mut item = key_of(PING_PK, &record.target_id);
    item.insert(VERSION.into(), n(record.version));
    item.insert("z".into(), AttributeValue::B(Blob::new(z)));
    Ok(item)
}

/// The record an item of `PING` holds.
fn record_of(item: &Item) -> Result<PingRecord, StoreError> {
    let bytes = item
        .get("z")
        .and_then(|v| v.as_b().ok())
        .ok_or_else(|| corrupt(item, "ping record without z"))?;
    let json = inflate(bytes.as_ref()).map_err(|e| corrupt(item, e))?;
    let mut record: PingRecord = serde_json::from_str(&json).map_err(|e| corrupt(item, e))?;
    if let Some(v) = item.get(VERSION).and_then(|v| v.as_n().ok()) {
        record.version = v.parse().unwrap_or(record.version);
    }
    Ok(record)
}

impl HeartbeatStore for DynamoStore {
    async fn record_ping(&self, target_id: &str, ping: Ping) -> Result<PingRecord, StoreError> {
        let mut pauses = retry_policy(PING_RETRY_BASE, PING_RETRY_MAX, PING_WRITE_TRIES).build();
        loop {
            let mut record = self
                .ping_record(target_id)
                .await?
                .unwrap_or_else(|| PingRecord::new(target_id));
            record.add(ping.clone());
            record.version += 1;
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(record_item(&record)?));
            // Each expression names only what it uses (DynamoDB refuses an unused name).
            let put = if record.version <= 1 {
                put.condition_expression("attribute_not_exists(#k)")
                    .expression_attribute_names("#k", PK)
            } else {
                put.condition_expression("#v = :v")
                    .expression_attribute_names("#v", VERSION)
                    .expression_attribute_values(":v", n(record.version - 1))
            };
            match put.send().await.map_err(store_error) {
                Ok(_) => return Ok(record),
                Err(StoreError::Conflict(m)) => match pauses.next() {
                    Some(pause) => tokio::time::sleep(pause).await,
                    None => {
                        return Err(StoreError::Conflict(format!(
                            "ping record {target_id}: {PING_WRITE_TRIES} concurrent writes won: {m}"
                        )))
                    }
                },
                Err(e) => return Err(e),
            }
        }
    }

    async fn ping_record(&self, target_id: &str) -> Result<Option<PingRecord>, StoreError> {
        let item = self.get_consistent(PING_PK, target_id).await?;
        item.as_ref().map(record_of).transpose()
    }

    async fn ping_records(
        &self,
        target_ids: &[String],
    ) -> Result<HashMap<String, PingRecord>, StoreError> {
        let keys = target_ids.iter().map(|id| key_of(PING_PK, id)).collect();
        let items = self.batch_get(keys, true).await?;
        // A record that does not decode leaves its target unjudged (as if never pinged), not
        // every heartbeat of the round.
        Ok(items
            .iter()
            .filter_map(|i| match record_of(i) {
                Ok(r) => Some((r.target_id.clone(), r)),
                Err(e) => {
                    tracing::warn!(error = %e, "a ping record that does not decode is left out");
                    None
                }
            })
            .collect())
    }

    async fn delete_ping_record(&self, target_id: &str) -> Result<bool, StoreError> {
        self.delete_existing(PING_PK, target_id).await
    }
}

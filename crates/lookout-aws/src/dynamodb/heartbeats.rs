//! [`HeartbeatStore`] over the table: one item per heartbeat target, `PING` / `<target id>`,
//! the [`PingRecord`]'s JSON deflated in `z` (bodies included, at most 10 pings of 4 KiB),
//! with its `version`. A ping is a read and a write conditional on that version, retried on a
//! conflict; the probe run reads the records of its heartbeat targets with BatchGetItem.

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{corrupt, key_of, n, Item};
use super::keys::{PING_PK, PK, VERSION};
use super::packed::{deflate, inflate};
use super::DynamoStore;
use crate::store_error;
use lookout_app::ports::{HeartbeatStore, StoreError};
use lookout_core::domain::heartbeat::{Ping, PingRecord};

/// Tries of one ping's read and conditional write before it reports the conflict.
const PING_WRITE_TRIES: usize = 5;

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
        let mut last = None;
        for _ in 0..PING_WRITE_TRIES {
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
            // Each name only where the condition uses it (DynamoDB refuses unused names).
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
                Err(StoreError::Conflict(m)) => last = Some(m),
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict(format!(
            "ping record {target_id}: {PING_WRITE_TRIES} concurrent writes won: {}",
            last.unwrap_or_default()
        )))
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
        items
            .iter()
            .map(|i| record_of(i).map(|r| (r.target_id.clone(), r)))
            .collect()
    }

    async fn delete_ping_record(&self, target_id: &str) -> Result<bool, StoreError> {
        self.delete_existing(PING_PK, target_id).await
    }
}

//! [`SloStore`] over the table: one item per SLO, `SLO` / `<id>` (the definition's JSON in
//! `def`, with its `version`), and one per SLO record, `SLOREC` / `<id>` (the record's JSON
//! deflated in `z`, with its `version`). Writes are conditional on the version; a record is
//! written with the alerts it raised in one transaction.

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};

use super::item::{corrupt, item_of, key_of, n, s, Item};
use super::keys::{PK, SK, SLO_PK, SLO_RECORD_PK, VERSION};
use super::packed::{deflate, inflate};
use super::DynamoStore;
use crate::{build_error, store_error};
use lookout_app::ports::{SloStore, StoreError};
use lookout_core::domain::slo::{Slo, SloRecord};
use lookout_core::domain::Alert;

/// The item of `record`: its JSON deflated in `z`, with its version.
fn record_item(record: &SloRecord) -> Result<Item, StoreError> {
    let json = serde_json::to_string(record).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let z = deflate(&json).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let mut item = key_of(SLO_RECORD_PK, &record.slo_id);
    item.insert(VERSION.into(), n(record.version));
    item.insert("z".into(), AttributeValue::B(Blob::new(z)));
    Ok(item)
}

/// The record an item of `SLOREC` holds.
fn record_of(item: &Item) -> Result<SloRecord, StoreError> {
    let bytes = item
        .get("z")
        .and_then(|v| v.as_b().ok())
        .ok_or_else(|| corrupt(item, "SLO record without z"))?;
    let json = inflate(bytes.as_ref()).map_err(|e| corrupt(item, e))?;
    let mut record: SloRecord = serde_json::from_str(&json).map_err(|e| corrupt(item, e))?;
    if let Some(v) = item.get(VERSION).and_then(|v| v.as_n().ok()) {
        record.version = v.parse().unwrap_or(record.version);
    }
    Ok(record)
}

impl SloStore for DynamoStore {
    async fn put_slo(&self, slo: &Slo) -> Result<(), StoreError> {
        let item = item_of(vec![("def", super::item::to_json(slo)?)]);
        self.put_versioned(SLO_PK, &slo.id, slo.version, item).await
    }

    async fn slo(&self, id: &str) -> Result<Option<Slo>, StoreError> {
        self.get_def(SLO_PK, id).await
    }

    async fn slos(&self) -> Result<Vec<Slo>, StoreError> {
        self.all_defs(SLO_PK).await
    }

    async fn delete_slo(&self, id: &str) -> Result<bool, StoreError> {
        let record = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_of(SLO_RECORD_PK, id)))
            .send()
            .await;
        record.map_err(store_error)?;
        let gone = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_of(SLO_PK, id)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(store_error)?;
        Ok(gone.attributes.is_some_and(|a| !a.is_empty()))
    }

    async fn slo_record(&self, id: &str) -> Result<Option<SloRecord>, StoreError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_of(SLO_RECORD_PK, id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        got.item.as_ref().map(record_of).transpose()
    }

    async fn slo_records(&self) -> Result<Vec<SloRecord>, StoreError> {
        let items = self.query(None, SLO_RECORD_PK, true, None).await?;
        items.iter().map(record_of).collect()
    }

    async fn commit_slo_record(
        &self,
        record: &SloRecord,
        alerts: &[Alert],
    ) -> Result<Vec<Alert>, StoreError> {
        let mut item = record_item(record)?;
        item.insert(PK.into(), s(SLO_RECORD_PK));
        item.insert(SK.into(), s(&record.slo_id));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .expression_attribute_names("#k", PK);
        let put = if record.version <= 1 {
            put.condition_expression("attribute_not_exists(#k)")
        } else {
            put.condition_expression("attribute_exists(#k) AND #v = :v")
                .expression_attribute_names("#v", VERSION)
                .expression_attribute_values(":v", n(record.version - 1))
        };
        let put = put.build().map_err(build_error)?;
        if alerts.is_empty() {
            return if self.put_alone(put).await? {
                Ok(Vec::new())
            } else {
                Err(StoreError::Conflict(format!(
                    "SLO record {} is not at version {}",
                    record.slo_id,
                    record.version.saturating_sub(1)
                )))
            };
        }
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        for a in alerts {
            items.push(self.alert_insert(a)?);
        }
        let sent = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match sent.map_err(store_error) {
            Ok(_) => Ok(alerts.to_vec()),
            Err(StoreError::Conflict(m)) => Err(StoreError::Conflict(format!(
                "SLO record {} changed since version {}: {m}",
                record.slo_id,
                record.version.saturating_sub(1)
            ))),
            Err(e) => Err(e),
        }
    }
}

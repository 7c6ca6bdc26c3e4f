//! [`TableScan`] over the table: a parallel scan whose items leave the adapter in
//! attribute-value JSON ([`super::item_to_json`]), opaque to the dump that copies them.

use super::convert::{item_to_json, json_to_item};
use super::keys::item_type;
use super::DynamoStore;
use crate::store_error;
use lookout_app::ports::{
    Item, ItemType, RestoreTarget as _, ScanPage, StoreError, TableScan, TableSchema,
};

impl TableScan for DynamoStore {
    fn table_name(&self) -> &str {
        &self.table
    }

    async fn schema(&self) -> Result<TableSchema, StoreError> {
        self.describe(&self.table)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("table {} does not exist", self.table)))
    }

    async fn scan_page(
        &self,
        segment: u32,
        segments: u32,
        start: Option<Item>,
    ) -> Result<ScanPage, StoreError> {
        let start = start.map(|k| json_to_item(&k.0)).transpose()?;
        let page = self
            .client
            .scan()
            .table_name(&self.table)
            .segment(segment as i32)
            .total_segments(segments as i32)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(store_error)?;
        Ok(ScanPage {
            items: page.items().iter().map(|i| Item(item_to_json(i))).collect(),
            next: page.last_evaluated_key().map(|k| Item(item_to_json(k))),
        })
    }

    fn item_type(&self, item: &Item) -> ItemType {
        item_type(&item.0)
    }
}

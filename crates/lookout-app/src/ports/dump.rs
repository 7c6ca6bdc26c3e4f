//! Dumps: the whole-table copy (scan and restore, with items opaque to the application) and the
//! object storage that holds dumps.

use std::fmt;
use std::future::Future;

use serde::{Deserialize, Serialize};

use super::StoreError;

/// One stored item of the table, exactly as the table keeps it, opaque to the application: a
/// dump copies it to a line of JSON and a restore writes it back, neither looks inside. The
/// DynamoDB adapter fills it with the item in DynamoDB attribute-value JSON
/// (`{"pk":{"S":"TARGET#web"},"version":{"N":"3"}}`), so types survive the trip and the dump
/// format (`lookout-dump/2`) is byte for byte what it was; only the adapter knows that shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Item(pub serde_json::Value);

/// The kinds of items a dump can hold, chosen with `DUMP_INCLUDE`; the store that scans says
/// which kind an item is ([`TableScan::item_type`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemType {
    /// Target definitions.
    Definitions,
    /// Current state: per-target state, snapshots, summaries, overrides, leases.
    State,
    /// Check history and run records.
    History,
    /// Hourly rollups and digests.
    Rollups,
    /// Alerts and their outbox.
    Alerts,
    /// The audit log of admin writes.
    Audit,
}

impl ItemType {
    /// Every type, in order.
    pub const ALL: [ItemType; 6] = [
        ItemType::Definitions,
        ItemType::State,
        ItemType::History,
        ItemType::Rollups,
        ItemType::Alerts,
        ItemType::Audit,
    ];

    /// The name used in `DUMP_INCLUDE` and manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemType::Definitions => "definitions",
            ItemType::State => "state",
            ItemType::History => "history",
            ItemType::Rollups => "rollups",
            ItemType::Alerts => "alerts",
            ItemType::Audit => "audit",
        }
    }
}

impl fmt::Display for ItemType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One page of a parallel table scan: the items, and where to go on.
#[derive(Debug, Clone, Default)]
pub struct ScanPage {
    /// The items.
    pub items: Vec<Item>,
    /// Start key of the next page (an item holding only the key), `None` at the end of the
    /// segment.
    pub next: Option<Item>,
}

/// Reads the whole table for dumps.
pub trait TableScan {
    /// The table's name.
    fn table_name(&self) -> &str;
    /// The table's key schema, secondary indexes and TTL attribute, as a dump's manifest records
    /// them so that a restore can create the table again.
    fn schema(&self) -> impl Future<Output = Result<TableSchema, StoreError>> + Send;
    /// One page of segment `segment` of `segments`, from `start` (the previous page's `next`).
    fn scan_page(
        &self,
        segment: u32,
        segments: u32,
        start: Option<Item>,
    ) -> impl Future<Output = Result<ScanPage, StoreError>> + Send;
    /// Which kind of item `item` is, from its key; an item of no known shape is
    /// [`ItemType::State`], so that nothing is left out of a full dump.
    fn item_type(&self, item: &Item) -> ItemType;
}

/// Writes a dump back into a table (the same one or another).
pub trait RestoreTarget {
    /// The schema of `table`, `None` when it does not exist.
    fn describe(
        &self,
        table: &str,
    ) -> impl Future<Output = Result<Option<TableSchema>, StoreError>> + Send;
    /// Creates `table` with `schema` (on-demand capacity), waits until it is active and turns on
    /// its TTL.
    fn create(
        &self,
        table: &str,
        schema: &TableSchema,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Whether `table` holds no item.
    fn is_empty(&self, table: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The most items [`RestoreTarget::write_batch`] takes at once (DynamoDB: 25, the
    /// BatchWriteItem limit).
    fn batch_limit(&self) -> usize;
    /// Puts up to [`RestoreTarget::batch_limit`] items in one request; returns the items the
    /// backend left unprocessed (throttled), which the caller must send again.
    fn write_batch(
        &self,
        table: &str,
        items: &[Item],
    ) -> impl Future<Output = Result<Vec<Item>, StoreError>> + Send;
    /// Items in `table`, counted by a full scan.
    fn count(&self, table: &str) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// One key attribute of a table or index: `{"name":"pk","type":"S","role":"HASH"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAttribute {
    /// Attribute name.
    pub name: String,
    /// Scalar type: `S`, `N` or `B`.
    #[serde(rename = "type")]
    pub attr_type: String,
    /// `HASH` (partition key) or `RANGE` (sort key).
    pub role: String,
}

/// A global secondary index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexSchema {
    /// Index name.
    pub name: String,
    /// Its key attributes.
    pub key_schema: Vec<KeyAttribute>,
    /// Projection type: `ALL`, `KEYS_ONLY` or `INCLUDE`.
    pub projection: String,
    /// Attributes projected with `INCLUDE`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub non_key_attributes: Vec<String>,
}

/// What it takes to create a table again: keys, global secondary indexes and TTL attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSchema {
    /// Partition and sort key.
    pub key_schema: Vec<KeyAttribute>,
    /// Global secondary indexes.
    #[serde(default)]
    pub indexes: Vec<IndexSchema>,
    /// TTL attribute (epoch seconds), when TTL is on.
    #[serde(default)]
    pub ttl_attribute: Option<String>,
}

/// One part of a multipart upload, as [`DumpStore::finish_upload`] needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedPart {
    /// Part number, from 1.
    pub number: i32,
    /// The entity tag the store returned.
    pub etag: String,
    /// SHA-256 of the part, base64, as sent.
    pub sha256_b64: String,
}

/// The body of an object, in chunks as they arrive.
pub type ObjectStream = futures::stream::BoxStream<'static, Result<Vec<u8>, StoreError>>;

/// Object storage for dumps.
pub trait DumpStore {
    /// Writes an object; `sha256_b64` (SHA-256 of `body`, base64) is sent as the object's
    /// checksum so that the store verifies the upload.
    fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        sha256_b64: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// A whole small object (a manifest), `None` when there is no such key.
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;
    /// An object's body as a stream of chunks, so that a large object never sits in memory.
    fn open(&self, key: &str) -> impl Future<Output = Result<ObjectStream, StoreError>> + Send;
    /// Starts a multipart upload (SHA-256 checksums); returns its upload id.
    fn start_upload(
        &self,
        key: &str,
        content_type: &str,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;
    /// Uploads part `number` (1, 2, ... in order). The store may refuse a part under its minimum
    /// size but the last, or a number beyond its limit (S3: 5 MiB and 10,000; the S3 adapter
    /// answers [`StoreError::Invalid`] for the number).
    fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        number: i32,
        body: Vec<u8>,
        sha256_b64: &str,
    ) -> impl Future<Output = Result<UploadedPart, StoreError>> + Send;
    /// Completes the upload: the object appears only now.
    fn finish_upload(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[UploadedPart],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Abandons the upload and frees its parts.
    fn abort_upload(
        &self,
        key: &str,
        upload_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Keys under `prefix`, all pages.
    fn list(&self, prefix: &str) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
    /// Deletes the keys.
    fn delete(&self, keys: &[String]) -> impl Future<Output = Result<(), StoreError>> + Send;
}

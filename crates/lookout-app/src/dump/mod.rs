//! Dumps of the table to object storage, their listing and retention, and restores from them.
//!
//! Layout: `dumps/<table>/<id>/part-NNNNN.jsonl.gz`, one object per scan segment (gzip'd JSON
//! Lines, one item per line in DynamoDB attribute-value JSON so that types survive), and
//! `dumps/<table>/<id>/manifest.json`, written last. The id is the start time,
//! `YYYYMMDDTHHMMSSZ` (UTC). A folder without a manifest is an incomplete dump: it is never
//! listed nor restored, and retention deletes it after a day.
//!
//! Memory stays bounded whatever the table size: each segment holds one scan page and one part
//! of at most [`PART_BYTES`] compressed bytes before it is sent with S3 multipart upload
//! ([`write`]); a restore streams each object and holds at most `concurrency` batches of 25
//! items ([`restore`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ports::{DumpStore, IndexSchema, KeyAttribute, StoreError, TableSchema};

mod include;
mod listing;
pub mod restore;
pub mod results;
pub mod verify;
pub mod write;

pub use include::{Include, ItemType};
pub use listing::{apply_retention, delete, list, CorruptDump, DumpInfo, DumpStats, Listing};
pub use restore::{restore, RestoreMode, RestoreOptions, RestoreReport};
pub use verify::{verify, PartCheck, VerifyReport};
pub use write::{dump, DumpOptions};

/// Format name written in every manifest. Version 1 manifests (no indexes, no item types) are
/// still read.
pub const FORMAT: &str = "lookout-dump/2";

/// Compressed bytes per multipart part, and the size under which an object is sent in one
/// [`DumpStore::put`] (8 MiB: above the minimum part size of object stores, S3's 5 MiB, and
/// with S3's 10,000 parts an object may reach 80 GB).
pub const PART_BYTES: usize = 8 * 1024 * 1024;

/// Why a dump, listing or restore failed.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    /// Reading or writing the table or the bucket failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Compressing or decompressing failed.
    #[error("compression: {0}")]
    Io(#[from] std::io::Error),
    /// No complete dump has this id.
    #[error("no dump {0}")]
    NotFound(String),
    /// A part does not match its manifest, or the manifest cannot be read: nothing was written.
    #[error("dump {dump} is corrupt: {message}")]
    Corrupt {
        /// The dump's id.
        dump: String,
        /// What does not match.
        message: String,
    },
    /// The request cannot be carried out as asked (bad id or table name, a non-empty table for
    /// `empty-only`, a table whose keys differ from the dump's).
    #[error("{0}")]
    Refused(String),
    /// Some items could not be written after every retry; the count says how many.
    #[error("restore into {table} stopped: {not_written} items not written after {attempts} attempts: {last_error}")]
    Incomplete {
        /// The table written to.
        table: String,
        /// Items of the batch that failed.
        not_written: usize,
        /// Attempts made for that batch.
        attempts: u32,
        /// The last error or `unprocessed`.
        last_error: String,
    },
}

/// One object of a dump, as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartInfo {
    /// Object key.
    pub key: String,
    /// Items in the object.
    pub items: u64,
    /// Compressed size, bytes.
    pub bytes: u64,
    /// SHA-256 of the whole compressed object, hex.
    pub sha256: String,
}

/// `manifest.json` of a dump.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format name and version: [`FORMAT`].
    pub format: String,
    /// The table dumped.
    pub table: String,
    /// Partition and sort key: `[{"name":"pk","type":"S","role":"HASH"}, ...]`.
    pub key_schema: Vec<KeyAttribute>,
    /// Global secondary indexes, so that a restore into a new table creates them.
    #[serde(default)]
    pub indexes: Vec<IndexSchema>,
    /// TTL attribute (epoch seconds), when TTL was on.
    #[serde(default)]
    pub ttl_attribute: Option<String>,
    /// Item types dumped.
    #[serde(default = "all_types")]
    pub include: Vec<ItemType>,
    /// Scan segments (one object each).
    pub segments: u32,
    /// Start, RFC 3339.
    pub started_at: String,
    /// End, RFC 3339.
    pub finished_at: String,
    /// Items in all parts.
    pub item_count: u64,
    /// Items per type.
    #[serde(default)]
    pub item_counts: BTreeMap<ItemType, u64>,
    /// Compressed bytes in all parts.
    pub bytes: u64,
    /// The objects, by key.
    pub parts: Vec<PartInfo>,
}

fn all_types() -> Vec<ItemType> {
    ItemType::ALL.to_vec()
}

impl Manifest {
    /// The schema a restore creates a missing table with.
    pub fn schema(&self) -> TableSchema {
        TableSchema {
            key_schema: self.key_schema.clone(),
            indexes: self.indexes.clone(),
            ttl_attribute: self.ttl_attribute.clone(),
        }
    }
}

/// Folder of all dumps of `table`.
pub fn dumps_prefix(table: &str) -> String {
    format!("dumps/{table}/")
}

/// Folder of dump `id` of `table`.
pub fn folder(table: &str, id: &str) -> String {
    format!("{}{id}/", dumps_prefix(table))
}

/// Checks that `id` is a dump id (`YYYYMMDDTHHMMSSZ`), so that it cannot reach outside the
/// table's folder.
///
/// # Errors
/// [`DumpError::Refused`] naming the expected shape.
pub fn check_id(id: &str) -> Result<(), DumpError> {
    if id.len() == 16 && lookout_core::time::parse_compact(id).is_some() {
        Ok(())
    } else {
        Err(DumpError::Refused(format!(
            "dump id {:?} is not of the form YYYYMMDDTHHMMSSZ",
            id.chars().take(40).collect::<String>()
        )))
    }
}

/// Reads the manifest of dump `id`.
///
/// # Errors
/// [`DumpError::NotFound`] when there is none (no such dump, or an incomplete one),
/// [`DumpError::Corrupt`] when it cannot be parsed.
pub async fn read_manifest<D: DumpStore>(
    store: &D,
    table: &str,
    id: &str,
) -> Result<Manifest, DumpError> {
    check_id(id)?;
    let body = store
        .get(&format!("{}manifest.json", folder(table, id)))
        .await?
        .ok_or_else(|| DumpError::NotFound(id.to_string()))?;
    let manifest: Manifest = serde_json::from_slice(&body).map_err(|e| DumpError::Corrupt {
        dump: id.to_string(),
        message: format!("manifest.json: {e}"),
    })?;
    if !manifest.format.starts_with("lookout-dump/") {
        return Err(DumpError::Corrupt {
            dump: id.to_string(),
            message: format!("unknown format {:?}", manifest.format),
        });
    }
    Ok(manifest)
}

/// Dumps, then applies retention: what the daily schedule and `POST /v1/dumps` do. Returns
/// the new dump's id, its manifest and the ids retention deleted.
///
/// # Errors
/// See [`dump`] and [`apply_retention`]; retention does not run when the dump failed.
pub async fn dump_and_prune<T, D>(
    table: &T,
    store: &D,
    options: &DumpOptions,
    retention_days: u32,
    max_dumps: usize,
    now_ms: i64,
) -> Result<(String, Manifest, Vec<String>), DumpError>
where
    T: crate::ports::TableScan + Sync,
    D: DumpStore + Sync,
{
    let manifest = dump(table, store, options, now_ms).await?;
    let id = lookout_core::time::compact(now_ms);
    tracing::info!(%id, items = manifest.item_count, bytes = manifest.bytes, "dump written");
    let deleted =
        apply_retention(store, &manifest.table, now_ms, retention_days, max_dumps).await?;
    Ok((id, manifest, deleted))
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_timestamps() {
        assert!(check_id("20261122T030000Z").is_ok());
        for bad in [
            "",
            "../x",
            "20261122T030000Z/../../y",
            "latest",
            "2026-11-22",
        ] {
            assert!(matches!(check_id(bad), Err(DumpError::Refused(_))), "{bad}");
        }
    }

    #[test]
    fn version_1_manifests_are_still_read() {
        let v1 = r#"{"format":"lookout-dump/1","table":"t","key_schema":[{"name":"pk","type":"S","role":"HASH"}],
            "ttl_attribute":"expires_at","segments":1,"started_at":"a","finished_at":"b","item_count":0,"bytes":0,"parts":[]}"#;
        let m: Manifest = serde_json::from_str(v1).unwrap();
        assert_eq!(m.include, ItemType::ALL.to_vec());
        assert_eq!(m.ttl_attribute.as_deref(), Some("expires_at"));
        assert!(m.indexes.is_empty());
    }
}

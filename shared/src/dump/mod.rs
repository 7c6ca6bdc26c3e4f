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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use futures::StreamExt as _;
use serde::{Deserialize, Serialize};

use crate::ports::{DumpStore, IndexSchema, KeyAttribute, StoreError, TableSchema};

pub mod restore;
pub mod write;

pub use restore::{
    restore, verify, PartCheck, RestoreMode, RestoreOptions, RestoreReport, VerifyReport,
};
pub use write::{dump, DumpOptions};

/// Format name written in every manifest. Version 1 manifests (no indexes, no item types) are
/// still read.
pub const FORMAT: &str = "lookout-dump/2";

/// Compressed bytes per multipart part, and the size under which an object is sent in one
/// `PutObject` (8 MiB; S3 wants at least 5 MiB for every part but the last).
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

/// The kinds of items a dump can hold, chosen with `DUMP_INCLUDE`; see
/// [`crate::adapters::dynamodb::item_type`] for which keys fall in which.
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
}

impl ItemType {
    /// Every type, in order.
    pub const ALL: [ItemType; 5] = [
        ItemType::Definitions,
        ItemType::State,
        ItemType::History,
        ItemType::Rollups,
        ItemType::Alerts,
    ];

    /// The name used in `DUMP_INCLUDE` and manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemType::Definitions => "definitions",
            ItemType::State => "state",
            ItemType::History => "history",
            ItemType::Rollups => "rollups",
            ItemType::Alerts => "alerts",
        }
    }
}

impl fmt::Display for ItemType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which item types a dump holds (`DUMP_INCLUDE`, default all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include(BTreeSet<ItemType>);

impl Default for Include {
    fn default() -> Self {
        Include(ItemType::ALL.into_iter().collect())
    }
}

impl Include {
    /// Parses `all` or a comma-separated list such as `definitions,state`.
    ///
    /// # Errors
    /// A message naming the unknown type and the known ones.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() || text.eq_ignore_ascii_case("all") {
            return Ok(Include::default());
        }
        let mut set = BTreeSet::new();
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let found = ItemType::ALL
                .into_iter()
                .find(|t| t.as_str().eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    format!(
                        "unknown item type {name:?}; use all or a comma list of {}",
                        ItemType::ALL.map(ItemType::as_str).join(", ")
                    )
                })?;
            set.insert(found);
        }
        Ok(Include(set))
    }

    /// Whether items of `t` are dumped.
    pub fn contains(&self, t: ItemType) -> bool {
        self.0.contains(&t)
    }

    /// The types, in order.
    pub fn types(&self) -> Vec<ItemType> {
        self.0.iter().copied().collect()
    }
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

/// A complete dump, as listings show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DumpInfo {
    /// The dump's id, its start time `YYYYMMDDTHHMMSSZ`.
    pub id: String,
    /// Its folder: `dumps/<table>/<id>/`.
    pub folder: String,
    /// The table dumped.
    pub table: String,
    /// Start and end, RFC 3339.
    pub started_at: String,
    /// End, RFC 3339.
    pub finished_at: String,
    /// Items.
    pub item_count: u64,
    /// Items per type.
    pub item_counts: BTreeMap<ItemType, u64>,
    /// Compressed bytes of the parts (the manifest aside).
    pub bytes: u64,
    /// Objects.
    pub parts: usize,
    /// Item types dumped.
    pub include: Vec<ItemType>,
}

/// A dump whose manifest cannot be read: listed apart, never restored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CorruptDump {
    /// The dump's id.
    pub id: String,
    /// Its folder: `dumps/<table>/<id>/`.
    pub folder: String,
    /// Why its manifest cannot be read.
    pub reason: String,
}

/// The dumps of a table: complete ones newest first, the ids of incomplete folders, and the
/// dumps whose manifest cannot be read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Listing {
    /// Complete dumps, newest first.
    pub dumps: Vec<DumpInfo>,
    /// Ids of folders with no manifest (failed or running exports).
    pub incomplete: Vec<String>,
    /// Dumps with a manifest that cannot be read, newest first.
    pub corrupt: Vec<CorruptDump>,
}

/// Totals over a table's dumps (`GET /v1/dumps/stats`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DumpStats {
    /// Complete dumps.
    pub count: usize,
    /// Their compressed bytes.
    pub bytes: u64,
    /// Items in the newest.
    pub newest_items: Option<u64>,
    /// Start of the oldest, RFC 3339.
    pub oldest: Option<String>,
    /// Start of the newest, RFC 3339.
    pub newest: Option<String>,
    /// Incomplete folders.
    pub incomplete: usize,
    /// Dumps whose manifest cannot be read (not in `count` nor `bytes`).
    pub corrupt: usize,
}

impl Listing {
    /// Count, bytes, oldest and newest.
    pub fn stats(&self) -> DumpStats {
        DumpStats {
            count: self.dumps.len(),
            bytes: self.dumps.iter().map(|d| d.bytes).sum(),
            newest_items: self.dumps.first().map(|d| d.item_count),
            oldest: self.dumps.last().map(|d| d.started_at.clone()),
            newest: self.dumps.first().map(|d| d.started_at.clone()),
            incomplete: self.incomplete.len(),
            corrupt: self.corrupt.len(),
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
    if id.len() == 16 && crate::time::parse_compact(id).is_some() {
        Ok(())
    } else {
        Err(DumpError::Refused(format!(
            "dump id {:?} is not of the form YYYYMMDDTHHMMSSZ",
            id.chars().take(40).collect::<String>()
        )))
    }
}

/// Every key of `table`'s dumps, by id, with its start (ms).
async fn folders<D: DumpStore>(
    store: &D,
    table: &str,
) -> Result<BTreeMap<String, (i64, Vec<String>)>, DumpError> {
    let prefix = dumps_prefix(table);
    let mut by_id: BTreeMap<String, (i64, Vec<String>)> = BTreeMap::new();
    for key in store.list(&prefix).await? {
        let Some(id) = key[prefix.len()..].split('/').next() else {
            continue;
        };
        let Some(at) = crate::time::parse_compact(id) else {
            continue;
        };
        by_id
            .entry(id.to_string())
            .or_insert((at, Vec::new()))
            .1
            .push(key);
    }
    Ok(by_id)
}

fn is_complete(keys: &[String]) -> bool {
    keys.iter().any(|k| k.ends_with("/manifest.json"))
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

/// Lists `table`'s dumps, reading every manifest (8 at a time). A manifest that cannot be
/// parsed puts its dump in `corrupt` with the reason; the others are listed as usual.
///
/// # Errors
/// [`DumpError::Store`] when listing or reading fails.
pub async fn list<D: DumpStore + Sync>(store: &D, table: &str) -> Result<Listing, DumpError> {
    let all = folders(store, table).await?;
    let mut incomplete = Vec::new();
    let mut complete = Vec::new();
    for (id, (at, keys)) in all {
        if is_complete(&keys) {
            complete.push((at, id));
        } else {
            incomplete.push(id);
        }
    }
    complete.sort_by(|a, b| b.cmp(a));
    // `buffered` keeps the order: newest first.
    let read: Vec<(String, Result<DumpInfo, DumpError>)> = futures::stream::iter(complete)
        .map(|(_, id)| async move {
            let info = read_info(store, table, &id).await;
            (id, info)
        })
        .buffered(8)
        .collect()
        .await;
    let (mut dumps, mut corrupt) = (Vec::new(), Vec::new());
    for (id, info) in read {
        match info {
            Ok(info) => dumps.push(info),
            Err(DumpError::Corrupt { message, .. }) => corrupt.push(CorruptDump {
                folder: folder(table, &id),
                id,
                reason: message,
            }),
            // Deleted since the folder was listed (retention).
            Err(DumpError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Listing {
        dumps,
        incomplete,
        corrupt,
    })
}

/// The listing entry of dump `id`, from its manifest.
async fn read_info<D: DumpStore + Sync>(
    store: &D,
    table: &str,
    id: &str,
) -> Result<DumpInfo, DumpError> {
    let m = read_manifest(store, table, id).await?;
    Ok(DumpInfo {
        folder: folder(table, id),
        id: id.to_string(),
        table: m.table,
        started_at: m.started_at,
        finished_at: m.finished_at,
        item_count: m.item_count,
        item_counts: m.item_counts,
        bytes: m.bytes,
        parts: m.parts.len(),
        include: m.include,
    })
}

/// Deletes every object of dump `id` (complete or not). Returns whether there was anything.
///
/// # Errors
/// [`DumpError::Refused`] for a malformed id, [`DumpError::Store`] when listing or deleting
/// fails.
pub async fn delete<D: DumpStore>(store: &D, table: &str, id: &str) -> Result<bool, DumpError> {
    check_id(id)?;
    let keys = store.list(&folder(table, id)).await?;
    if keys.is_empty() {
        return Ok(false);
    }
    delete_folder(store, keys).await?;
    Ok(true)
}

/// Deletes one dump's keys, the manifest first, so that a delete cut short leaves an
/// incomplete dump, never a listed one with parts missing.
async fn delete_folder<D: DumpStore>(store: &D, keys: Vec<String>) -> Result<(), DumpError> {
    let (manifest, parts): (Vec<String>, Vec<String>) = keys
        .into_iter()
        .partition(|k| k.ends_with("/manifest.json"));
    store.delete(&manifest).await?;
    store.delete(&parts).await?;
    Ok(())
}

/// Deletes complete dumps of `table` older than `retention_days` or beyond the newest
/// `max_dumps` (the newest complete dump is always kept), and incomplete ones older than a day
/// (younger ones may still be being written). Returns the deleted ids.
///
/// # Errors
/// [`DumpError::Store`] when listing or deleting fails.
pub async fn apply_retention<D: DumpStore>(
    store: &D,
    table: &str,
    now_ms: i64,
    retention_days: u32,
    max_dumps: usize,
) -> Result<Vec<String>, DumpError> {
    let mut all: Vec<(String, (i64, Vec<String>))> =
        folders(store, table).await?.into_iter().collect();
    all.sort_by_key(|(_, (at, _))| std::cmp::Reverse(*at));
    let cutoff = now_ms - i64::from(retention_days) * 86_400_000;
    let mut deleted = Vec::new();
    let mut kept = 0;
    for (id, (at, keys)) in all {
        let drop = if is_complete(&keys) {
            kept += 1;
            kept > 1 && (kept > max_dumps || at < cutoff)
        } else {
            at < now_ms - 86_400_000
        };
        if drop {
            delete_folder(store, keys).await?;
            deleted.push(id);
        }
    }
    Ok(deleted)
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
    let id = crate::time::compact(now_ms);
    tracing::info!(%id, items = manifest.item_count, bytes = manifest.bytes, "dump written");
    let deleted =
        apply_retention(store, &manifest.table, now_ms, retention_days, max_dumps).await?;
    Ok((id, manifest, deleted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_parses_all_lists_and_names_unknown_types() {
        assert_eq!(Include::parse("all").unwrap(), Include::default());
        assert_eq!(Include::parse("").unwrap(), Include::default());
        let some = Include::parse("definitions, State").unwrap();
        assert_eq!(some.types(), vec![ItemType::Definitions, ItemType::State]);
        assert!(!some.contains(ItemType::History));
        let err = Include::parse("definitions,logs").unwrap_err();
        assert!(err.contains("\"logs\"") && err.contains("rollups"), "{err}");
    }

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

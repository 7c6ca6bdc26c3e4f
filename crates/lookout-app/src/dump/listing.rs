//! Listing the dumps of a table, deleting them and applying retention.

use std::collections::BTreeMap;

use futures::StreamExt as _;
use serde::Serialize;

use super::{check_id, dumps_prefix, folder, read_manifest, DumpError, ItemType};
use crate::ports::DumpStore;

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
        let Some(at) = lookout_core::time::parse_compact(id) else {
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

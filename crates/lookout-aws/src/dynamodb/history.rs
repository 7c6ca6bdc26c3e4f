//! [`HistoryStore`] over the table: packed history shards
//! `HIST#<kind>#<hour>#<shard>` / `<run time>`, each holding the results of up to [`CHUNK`]
//! targets checked in one run.

use futures::{StreamExt as _, TryStreamExt as _};

use super::item::{corrupt, from_attr, Item};
use super::keys::{history_pk, ms_key, SK};
use super::{packed, DynamoStore, CHUNK};
use lookout_app::ports::{HistoryStore, StoreError};
use lookout_core::domain::{CheckResult, TargetKind};
use lookout_core::time::{DAY_MS, HOUR_MS};

/// The results of a history item of `kind`, each with the state version it led to: packed
/// (`r`, the run time in the sort key) or, as written before, JSON (`results`, version 0).
fn history_of(item: &Item, kind: TargetKind) -> Result<Vec<(CheckResult, u64)>, StoreError> {
    match item.get("r").and_then(|v| v.as_s().ok()) {
        Some(text) => {
            let at = item
                .get(SK)
                .and_then(|v| v.as_s().ok())
                .and_then(|sk| sk.parse::<i64>().ok())
                .ok_or_else(|| corrupt(item, "sort key is not a run time"))?;
            packed::unpack_history(text, kind, at).map_err(|e| corrupt(item, e))
        }
        None => Ok(from_attr::<Vec<CheckResult>>(item, "results")?
            .into_iter()
            .map(|r| (r, 0))
            .collect()),
    }
}

impl DynamoStore {
    /// The results of `kind` recorded from `since_ms` to `until_ms` (epoch ms, at most 7 days
    /// apart) in history shards `0..shards` (at least one), each with the state version it led
    /// to, oldest first.
    pub(super) async fn history_entries(
        &self,
        kind: TargetKind,
        since_ms: i64,
        until_ms: i64,
        shards: usize,
    ) -> Result<Vec<(CheckResult, u64)>, StoreError> {
        let until_ms = until_ms.min(since_ms + 7 * DAY_MS);
        let mut keys = Vec::new();
        for h in since_ms.div_euclid(HOUR_MS)..=until_ms.div_euclid(HOUR_MS) {
            for i in 0..shards.max(1) {
                keys.push(history_pk(kind, h * HOUR_MS, i));
            }
        }
        let (from, to) = (ms_key(since_ms), ms_key(until_ms));
        let reads: Vec<_> = keys
            .into_iter()
            .map(|pk| {
                let (from, to) = (from.clone(), to.clone());
                async move {
                    let items = self.query_range(&pk, &from, &to).await?;
                    items
                        .iter()
                        .map(|item| history_of(item, kind))
                        .collect::<Result<Vec<_>, _>>()
                }
            })
            .collect();
        let mut all: Vec<(CheckResult, u64)> = futures::stream::iter(reads)
            .buffer_unordered(8)
            .try_collect::<Vec<_>>()
            .await?
            .into_iter()
            .flatten()
            .flatten()
            .collect();
        all.sort_by_key(|(r, _)| r.at);
        Ok(all)
    }
}

impl HistoryStore for DynamoStore {
    async fn history(
        &self,
        kind: TargetKind,
        since_ms: i64,
        until_ms: i64,
        targets: usize,
    ) -> Result<Vec<CheckResult>, StoreError> {
        Ok(self
            .history_entries(kind, since_ms, until_ms, targets.div_ceil(CHUNK))
            .await?
            .into_iter()
            .map(|(r, _)| r)
            .collect())
    }
}

//! [`HistoryStore`] over the table: packed history chunks
//! `HIST#<kind>#<hour>#<chunk>` (a shard's: `HIST#<kind>#<index>of<of>#<hour>#<chunk>`) /
//! `<run time>`, each holding the results of up to [`CHUNK`] targets checked in one run.

use futures::{StreamExt as _, TryStreamExt as _};

use super::item::{corrupt, from_attr, Item};
use super::keys::{ms_key, shard_history_pk, SK};
use super::{packed, DynamoStore, CHUNK};
use lookout_app::ports::{HistoryStore, StoreError};
use lookout_core::domain::{CheckResult, Shard, TargetKind};
use lookout_core::time::{DAY_MS, HOUR_MS};

/// The results of a history item of `kind`, each with the state version it led to: packed
/// and deflated (`z`; `r`, packed text, as written before; the run time in the sort key) or,
/// as written before that, JSON (`results`, version 0).
fn history_of(item: &Item, kind: TargetKind) -> Result<Vec<(CheckResult, u64)>, StoreError> {
    let inflated = match item.get("z").and_then(|v| v.as_b().ok()) {
        Some(z) => Some(packed::inflate(z.as_ref()).map_err(|e| corrupt(item, e))?),
        None => None,
    };
    let text = inflated.as_deref().or_else(|| {
        item.get("r")
            .and_then(|v| v.as_s().ok())
            .map(String::as_str)
    });
    match text {
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
    /// The results of `kind` recorded by `view` from `since_ms` to `until_ms` (epoch ms, at
    /// most 7 days apart) in history chunks `0..chunks` (at least one), each with the state
    /// version it led to, oldest first.
    pub(super) async fn history_entries(
        &self,
        kind: TargetKind,
        view: Shard,
        since_ms: i64,
        until_ms: i64,
        chunks: usize,
    ) -> Result<Vec<(CheckResult, u64)>, StoreError> {
        self.history_of_views(kind, &[(view, chunks)], since_ms, until_ms)
            .await
    }

    /// [`DynamoStore::history_entries`] of several views, each with its chunk count, merged
    /// oldest first.
    async fn history_of_views(
        &self,
        kind: TargetKind,
        views: &[(Shard, usize)],
        since_ms: i64,
        until_ms: i64,
    ) -> Result<Vec<(CheckResult, u64)>, StoreError> {
        let until_ms = until_ms.min(since_ms + 7 * DAY_MS);
        let mut keys = Vec::new();
        for h in since_ms.div_euclid(HOUR_MS)..=until_ms.div_euclid(HOUR_MS) {
            for (view, chunks) in views {
                for i in 0..(*chunks).max(1) {
                    keys.push(shard_history_pk(kind, *view, h * HOUR_MS, i));
                }
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

/// History chunks to read of each of `of` shards holding `targets` targets between them: twice
/// a shard's share (groups are not spread evenly), and never more than the whole would need.
fn chunks_per_shard(targets: usize, of: u32) -> usize {
    let whole = targets.div_ceil(CHUNK).max(1);
    if of <= 1 {
        return whole;
    }
    let share = targets.div_ceil(of as usize);
    ((share * 2).div_ceil(CHUNK) + 1).min(whole)
}

impl HistoryStore for DynamoStore {
    /// A narrowed view reads its own history (`targets`: the shard's). The whole view reads the
    /// history of every shard of the kind's layout (`targets`: the kind's; each shard is read
    /// for `chunks_per_shard` chunks), and, when the layout changed after `since_ms`, that of
    /// the layout before too.
    async fn history(
        &self,
        kind: TargetKind,
        since_ms: i64,
        until_ms: i64,
        targets: usize,
    ) -> Result<Vec<CheckResult>, StoreError> {
        let views: Vec<(Shard, usize)> = if self.shard.is_whole() {
            let layout = self.layout(kind).await?;
            let mut counts = vec![layout.of];
            if layout.changed_at > since_ms && layout.prev_of != layout.of {
                counts.push(layout.prev_of);
            }
            counts
                .into_iter()
                .flat_map(|of| Shard::all(of).map(move |s| (s, chunks_per_shard(targets, of))))
                .collect()
        } else {
            vec![(self.shard, targets.div_ceil(CHUNK))]
        };
        Ok(self
            .history_of_views(kind, &views, since_ms, until_ms)
            .await?
            .into_iter()
            .map(|(r, _)| r)
            .collect())
    }
}

//! [`ShardLayout`] over the table: one layout item `LAYOUT#<kind>` / `LAYOUT` per kind
//! (`of`, `prev_of`, `changed_at`), and the re-shard rules of the narrowed views.
//!
//! **Fallback after a re-shard.** A view (a shard, or the whole view of a kind of one shard)
//! whose own snapshot is missing, or older than the layout's `changed_at`, reads the newest
//! entry of each target (by state version, then latest check) among its own snapshot, the
//! snapshots of the layout `prev_of` names and the whole snapshot `SNAP#<kind>`, each with the
//! history recorded since it, and keeps its own targets (a narrowed listing): counters and
//! statuses survive a re-shard and a re-shard back. `prev_of` is the count before the change,
//! or, when that layout never wrote a snapshot (two changes without a run between), the one
//! before it. The view's next `record_run` then writes its own snapshot.
//!
//! **Definitions written before shards** have the index sort key `<id>`: a narrowed listing
//! (a range of buckets) does not find them. [`ShardLayout::set_shard_count`] rewrites the index
//! key of every such definition of the kind (one pass over the kind's index partition, one
//! conditional UpdateItem per legacy item) before it records a count above 1.

use std::collections::HashMap;

use futures::{StreamExt as _, TryStreamExt as _};

use super::item::{from_attr, key_of, n, s, Item};
use super::keys::{
    chunk_sk, is_bucketed_index_sk, layout_pk, shard_snapshot_pk, target_pk, targets_index_pk,
    targets_index_sk, CONFIG_SK, GSI_SK, LAYOUT_CHANGED, LAYOUT_OF, LAYOUT_PREV, LAYOUT_SK,
};
use super::DynamoStore;
use crate::{conditional, store_error};
use lookout_app::ports::{Latest, ShardLayout, StoreError};
use lookout_core::domain::shard::{target_bucket, BUCKETS};
use lookout_core::domain::{Shard, Target, TargetKind};

/// Requests in flight when reading or writing many shards' items.
pub(super) const SHARD_READS: usize = 8;

/// A kind's shard layout as stored (1 shard, never changed, when there is no item).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Layout {
    /// Shards now.
    pub(super) of: u32,
    /// The layout a view falls back to (see the module's doc).
    pub(super) prev_of: u32,
    /// When `of` last changed, epoch ms; 0 when never.
    pub(super) changed_at: i64,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            of: 1,
            prev_of: 1,
            changed_at: 0,
        }
    }
}

impl Layout {
    /// The layout a layout item holds (the default for an empty item; a count out of range
    /// reads as 1).
    pub(super) fn of_item(item: &Item) -> Layout {
        let num = |attr: &str| -> Option<i64> { item.get(attr)?.as_n().ok()?.parse().ok() };
        let count = |attr: &str| {
            num(attr)
                .and_then(|v| u32::try_from(v).ok())
                .filter(|v| (1..=BUCKETS).contains(v))
                .unwrap_or(1)
        };
        Layout {
            of: count(LAYOUT_OF),
            prev_of: count(LAYOUT_PREV),
            changed_at: num(LAYOUT_CHANGED).unwrap_or(0),
        }
    }
}

/// Keeps in `into` the newer entry of each target: by state version, then by its latest check
/// or result.
pub(super) fn merge_latest(
    into: &mut HashMap<String, Latest>,
    from: impl IntoIterator<Item = (String, Latest)>,
) {
    let rank = |l: &Latest| {
        let at = l.result.as_ref().map(|r| r.at).max(l.state.last_check);
        (l.state.version, at)
    };
    for (id, l) in from {
        match into.get(&id) {
            Some(have) if rank(have) >= rank(&l) => {}
            _ => {
                into.insert(id, l);
            }
        }
    }
}

impl DynamoStore {
    /// The layout of `kind` (strongly consistent: a worker sees the count it was handed).
    pub(super) async fn layout(&self, kind: TargetKind) -> Result<Layout, StoreError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_of(layout_pk(kind), LAYOUT_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?
            .item
            .unwrap_or_default();
        Ok(Layout::of_item(&item))
    }

    /// Whether some view of layout `of` wrote a snapshot of `kind` at or after `since_ms`.
    async fn layout_wrote(
        &self,
        kind: TargetKind,
        of: u32,
        since_ms: i64,
    ) -> Result<bool, StoreError> {
        let reads = Shard::all(of).map(|shard| async move {
            let got = self
                .client
                .get_item()
                .table_name(&self.table)
                .set_key(Some(key_of(shard_snapshot_pk(kind, shard), chunk_sk(0))))
                .projection_expression("#at")
                .expression_attribute_names("#at", "at")
                .send()
                .await
                .map_err(store_error)?;
            let at = got
                .item
                .as_ref()
                .and_then(|i| i.get("at")?.as_n().ok()?.parse::<i64>().ok());
            Ok::<_, StoreError>(at.is_some_and(|at| at >= since_ms))
        });
        let mut stream = futures::stream::iter(reads).buffer_unordered(SHARD_READS);
        while let Some(wrote) = stream.try_next().await? {
            if wrote {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Rewrites the index sort key of every definition of `kind` still keyed by its id (written
    /// before shards) to `<bucket>#<id>`; returns how many it rewrote. Each update is
    /// conditional on the old key, so a definition written meanwhile is left as written.
    pub async fn rewrite_legacy_index_keys(&self, kind: TargetKind) -> Result<usize, StoreError> {
        let items = self.query_index(&targets_index_pk(kind)).await?;
        // Owned items: futures borrowing them trip the higher-ranked lifetime inference once
        // the caller's future must be `Send` (as in `store.rs`).
        let legacy: Vec<Item> = items
            .into_iter()
            .filter(|i| {
                i.get(GSI_SK)
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|sk| !is_bucketed_index_sk(sk))
            })
            .collect();
        let updates = legacy.into_iter().map(|item| async move {
            // The group is never sealed: the definition as stored names it.
            let t: Target = from_attr(&item, "def")?;
            let old = item.get(GSI_SK).cloned().unwrap_or_else(|| s(""));
            let sent = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key_of(target_pk(&t.id), CONFIG_SK)))
                .update_expression("SET #sk = :new")
                .condition_expression("#sk = :old")
                .expression_attribute_names("#sk", GSI_SK)
                .expression_attribute_values(":new", s(targets_index_sk(target_bucket(&t), &t.id)))
                .expression_attribute_values(":old", old)
                .send()
                .await;
            Ok::<_, StoreError>(usize::from(conditional(sent)?.is_some()))
        });
        let done: Vec<usize> = futures::stream::iter(updates)
            .buffer_unordered(SHARD_READS)
            .try_collect()
            .await?;
        Ok(done.into_iter().sum())
    }
}

impl ShardLayout for DynamoStore {
    async fn shard_count(&self, kind: TargetKind) -> Result<u32, StoreError> {
        Ok(self.layout(kind).await?.of)
    }

    /// Records `of` (1 to [`BUCKETS`]), the layout to fall back to and the time of the change;
    /// for a count above 1, after rewriting the legacy index keys of the kind's definitions.
    /// Setting the count it has changes nothing.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for a count out of range; the store's errors.
    async fn set_shard_count(&self, kind: TargetKind, of: u32) -> Result<u32, StoreError> {
        if !(1..=BUCKETS).contains(&of) {
            return Err(StoreError::Invalid(format!(
                "a shard count is from 1 to {BUCKETS}, not {of}"
            )));
        }
        let layout = self.layout(kind).await?;
        if of == layout.of {
            return Ok(of);
        }
        if of > 1 {
            let rewritten = self.rewrite_legacy_index_keys(kind).await?;
            if rewritten > 0 {
                tracing::info!(
                    kind = kind.as_str(),
                    rewritten,
                    "definitions' index keys bucketed"
                );
            }
        }
        let wrote = layout.changed_at == 0
            || self
                .layout_wrote(kind, layout.of, layout.changed_at)
                .await?;
        let prev_of = if wrote { layout.of } else { layout.prev_of };
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_of(layout_pk(kind), LAYOUT_SK)))
            .update_expression("SET #of = :of, #prev = :prev, #at = :at")
            .expression_attribute_names("#of", LAYOUT_OF)
            .expression_attribute_names("#prev", LAYOUT_PREV)
            .expression_attribute_names("#at", LAYOUT_CHANGED)
            .expression_attribute_values(":of", n(of))
            .expression_attribute_values(":prev", n(prev_of))
            .expression_attribute_values(":at", n(lookout_core::time::now_ms()))
            .send()
            .await
            .map_err(store_error)?;
        Ok(layout.of)
    }
}

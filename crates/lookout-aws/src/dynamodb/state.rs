//! [`StateStore`] over the table: state items `TARGET#<id>` / `STATE`, the packed snapshot
//! `SNAP#<kind>` (a shard's: `SNAP#<kind>#<index>of<of>`), override rows `OVERRIDE#<kind>`, and
//! the history each run appends (read back in [`super::history`]). State items, overrides and
//! the outbox are shared by every view; snapshots and history are the view's.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

use super::item::{corrupt, from_attr, item_of, key_of, n, s, to_json, Item};
use futures::{StreamExt as _, TryStreamExt as _};

use super::keys::{
    chunk_sk, ms_key, override_pk, shard_history_pk, shard_snapshot_pk, target_pk, PK, SK,
    STATE_SK, TTL, VERSION,
};
use super::shards::{merge_latest, Layout, SHARD_READS};
use super::{packed, DynamoStore, CHUNK};
use crate::{build_error, conditional, store_error};
use lookout_app::ports::{Latest, Sharded, StateStore, StoreError, TargetStore};
use lookout_core::domain::{Alert, Shard, TargetKind, TargetState};
use lookout_core::time::HOUR_MS;

/// The entries of a snapshot item: packed and deflated (`pz`), or, as written before, packed
/// (`p`) or JSON (`latest`).
fn snapshot_of(item: &Item) -> Result<Vec<Latest>, StoreError> {
    if let Some(z) = item.get("pz").and_then(|v| v.as_b().ok()) {
        let text = packed::inflate(z.as_ref()).map_err(|e| corrupt(item, e))?;
        return packed::unpack_snapshot(&text).map_err(|e| corrupt(item, e));
    }
    match item.get("p").and_then(|v| v.as_s().ok()) {
        Some(text) => packed::unpack_snapshot(text).map_err(|e| corrupt(item, e)),
        None => from_attr(item, "latest"),
    }
}

/// A binary attribute of `bytes`.
fn blob(bytes: Vec<u8>) -> aws_sdk_dynamodb::types::AttributeValue {
    aws_sdk_dynamodb::types::AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(bytes))
}

/// `text` deflated, as a store error when it cannot be.
fn deflated(text: &str) -> Result<Vec<u8>, StoreError> {
    packed::deflate(text).map_err(|e| StoreError::Invalid(e.to_string()))
}

impl DynamoStore {
    /// The conditional put of the state item after `state` (its version bumped): the stored
    /// version must still be `state.version` (or absent for version 0).
    fn state_put(&self, state: &TargetState) -> Result<Put, StoreError> {
        let mut next = state.clone();
        next.version = state.version + 1;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(key_of(target_pk(&next.target_id), STATE_SK)))
            .item("status", s(next.status.as_str()))
            .item(VERSION, n(next.version))
            .item("state", to_json(&next)?)
            .expression_attribute_names("#v", VERSION);
        let put = if state.version == 0 {
            put.condition_expression("attribute_not_exists(#v)")
        } else {
            put.condition_expression("#v = :v")
                .expression_attribute_values(":v", n(state.version))
        };
        put.build().map_err(build_error)
    }

    /// The transaction item that writes `a`'s pending outbox row unless it exists.
    pub(super) fn alert_insert(&self, a: &Alert) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(self.alert_row(a)?))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// `put` (built for a transaction) sent alone as one conditional put, at half a
    /// transaction's write units. Answers whether its condition held.
    pub(super) async fn put_alone(&self, put: Put) -> Result<bool, StoreError> {
        let sent = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(put.item))
            .set_condition_expression(put.condition_expression)
            .set_expression_attribute_names(put.expression_attribute_names)
            .set_expression_attribute_values(put.expression_attribute_values)
            .send()
            .await;
        Ok(conditional(sent)?.is_some())
    }

    /// The state item (conditional on `state.version`), its alert rows and, for an override,
    /// the `OVERRIDE#<kind>` row, in one transaction.
    async fn commit_state(
        &self,
        state: &TargetState,
        alerts: &[Alert],
        override_kind: Option<TargetKind>,
    ) -> Result<(), StoreError> {
        let put_state = self.state_put(state)?;
        let changed = || {
            format!(
                "state of {} changed since version {}",
                state.target_id, state.version
            )
        };
        if alerts.is_empty() && override_kind.is_none() {
            // One item: a conditional put costs half a transaction's write units (a storm's
            // state changes, whose alerts are grouped, come this way).
            return if self.put_alone(put_state).await? {
                Ok(())
            } else {
                Err(StoreError::Conflict(changed()))
            };
        }
        let mut items = vec![TransactWriteItem::builder().put(put_state).build()];
        for a in alerts {
            items.push(self.alert_insert(a)?);
        }
        if let Some(kind) = override_kind {
            let version = state.version + 1;
            let mut next = state.clone();
            next.version = version;
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(key_of(override_pk(kind), &next.target_id)))
                .item(VERSION, n(version))
                .item("state", to_json(&next)?)
                .build()
                .map_err(build_error)?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        let sent = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match sent.map_err(store_error) {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict(m)) => {
                Err(StoreError::Conflict(format!("{}: {m}", changed())))
            }
            Err(e) => Err(e),
        }
    }

    /// The state items of `ids` that exist (strongly consistent).
    async fn load_states(&self, ids: &[String]) -> Result<Vec<TargetState>, StoreError> {
        let keys: Vec<Item> = ids
            .iter()
            .map(|id| key_of(target_pk(id), STATE_SK))
            .collect();
        self.batch_get(keys, true)
            .await?
            .iter()
            .map(|item| from_attr(item, "state"))
            .collect()
    }
}

impl DynamoStore {
    /// The snapshot `view` keeps of `kind` with the history recorded since, and its oldest
    /// chunk's time; `None` when it has none. The history's results are returned pending;
    /// a target whose state version moved on gets its state item.
    async fn snapshot_latest(
        &self,
        kind: TargetKind,
        view: Shard,
    ) -> Result<Option<(HashMap<String, Latest>, i64)>, StoreError> {
        let items = self
            .query(None, &shard_snapshot_pk(kind, view), true, None)
            .await?;
        // Chunks are written one by one: while a run writes them, a target may sit in an old
        // chunk and a new one. Keep the newest entry of each target, with its chunk's time.
        let rank = |l: &Latest| (l.state.version, l.state.last_check);
        let mut out: HashMap<String, (Latest, i64)> = HashMap::new();
        let mut oldest = i64::MAX;
        for item in &items {
            let at = item
                .get("at")
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<i64>().ok())
                .unwrap_or(0);
            oldest = oldest.min(at);
            for l in snapshot_of(item)? {
                match out.get(&l.state.target_id) {
                    Some((have, _)) if rank(have) >= rank(&l) => {}
                    _ => {
                        out.insert(l.state.target_id.clone(), (l, at));
                    }
                }
            }
        }
        if out.is_empty() {
            return Ok(None);
        }
        // The results recorded since: the snapshot's shards, from its oldest chunk's hour (at
        // most a day back: the probe rewrites it every few minutes while it runs).
        let now = lookout_core::time::now_ms();
        let since = oldest.max(now - 25 * HOUR_MS);
        let mut moved = std::collections::BTreeSet::new();
        for (r, version) in self
            .history_entries(kind, view, since + 1, now, items.len())
            .await?
        {
            let (l, base) = out
                .entry(r.target_id.clone())
                .or_insert_with(|| (Latest::new(TargetState::new(&r.target_id), None), i64::MIN));
            if r.at <= *base {
                continue;
            }
            if version > l.state.version {
                moved.insert(r.target_id.clone());
            }
            l.result = Some(r.clone());
            l.pending.push(r);
        }
        // A status change or an alert since: the state item holds the state it led to.
        let moved: Vec<String> = moved.into_iter().collect();
        for stored in self.load_states(&moved).await? {
            if let Some((l, _)) = out.get_mut(&stored.target_id) {
                let kept_until = stored.last_check.unwrap_or(i64::MIN);
                l.pending.retain(|r| r.at > kept_until);
                l.state = stored;
            }
        }
        let latest = out.into_iter().map(|(id, (l, _))| (id, l)).collect();
        Ok(Some((latest, oldest)))
    }

    /// The latest states of this view's own targets under `layout`: its snapshot, or, without
    /// one written since the layout changed, the fallback of `shards.rs`.
    async fn view_latest(
        &self,
        kind: TargetKind,
        layout: Layout,
    ) -> Result<HashMap<String, Latest>, StoreError> {
        let own = self.snapshot_latest(kind, self.shard).await?;
        let mut found = match own {
            Some((latest, oldest)) if oldest >= layout.changed_at => return Ok(latest),
            Some((latest, _)) => latest,
            None if layout.changed_at == 0 => return Ok(HashMap::new()),
            None => HashMap::new(),
        };
        let prev = if self.shard.of == layout.of {
            layout.prev_of
        } else {
            1
        };
        let sources: Vec<Shard> = Shard::all(prev)
            .chain([Shard::WHOLE])
            .filter(|s| *s != self.shard)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let reads = sources
            .into_iter()
            .map(|s| async move { self.snapshot_latest(kind, s).await });
        let others: Vec<_> = futures::stream::iter(reads)
            .buffer_unordered(SHARD_READS)
            .try_collect()
            .await?;
        for (latest, _) in others.into_iter().flatten() {
            merge_latest(&mut found, latest);
        }
        if !self.shard.is_whole() {
            let mine: std::collections::HashSet<String> = self
                .list_targets(Some(kind))
                .await?
                .into_iter()
                .map(|t| t.id)
                .collect();
            found.retain(|id, _| mine.contains(id));
        }
        self.mark_fell_back(kind);
        Ok(found)
    }
}

impl StateStore for DynamoStore {
    /// A narrowed view's own states; the whole view's, or, for a kind split into more than one
    /// shard, the merge of its shards'. Either falls back to the snapshots of the layout before
    /// after a re-shard (see `shards.rs`).
    async fn latest(&self, kind: TargetKind) -> Result<HashMap<String, Latest>, StoreError> {
        let layout = self.layout(kind).await?;
        if !(self.shard.is_whole() && layout.of > 1) {
            return self.view_latest(kind, layout).await;
        }
        let reads = Shard::all(layout.of).map(|s| {
            let view = self.for_shard(s);
            async move { view.view_latest(kind, layout).await }
        });
        let parts: Vec<_> = futures::stream::iter(reads)
            .buffer_unordered(SHARD_READS)
            .try_collect()
            .await?;
        let mut out = HashMap::new();
        for part in parts {
            merge_latest(&mut out, part);
        }
        Ok(out)
    }

    async fn load_state(&self, target_id: &str) -> Result<Option<TargetState>, StoreError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_of(target_pk(target_id), STATE_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        got.item.as_ref().map(|i| from_attr(i, "state")).transpose()
    }

    async fn commit_change(&self, state: &TargetState, alerts: &[Alert]) -> Result<(), StoreError> {
        self.commit_state(state, alerts, None).await
    }

    async fn commit_override(
        &self,
        kind: TargetKind,
        state: &TargetState,
        alerts: &[Alert],
    ) -> Result<(), StoreError> {
        self.commit_state(state, alerts, Some(kind)).await
    }

    async fn overrides(&self, kind: TargetKind) -> Result<Vec<TargetState>, StoreError> {
        self.query(None, &override_pk(kind), true, None)
            .await?
            .iter()
            .map(|item| from_attr::<TargetState>(item, "state"))
            .collect()
    }

    async fn clear_override(
        &self,
        kind: TargetKind,
        target_id: &str,
        version: u64,
    ) -> Result<(), StoreError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_of(override_pk(kind), target_id)))
            .condition_expression("#v = :v")
            .expression_attribute_names("#v", VERSION)
            .expression_attribute_values(":v", n(version))
            .send()
            .await;
        match conditional(deleted)? {
            Some(_) => Ok(()),
            // Replaced by a newer override meanwhile: the next run takes that one.
            None => Ok(()),
        }
    }

    async fn record_run(
        &self,
        kind: TargetKind,
        run_at: i64,
        latest: &[Latest],
        snapshot: bool,
    ) -> Result<(), StoreError> {
        // A view that read another layout's snapshots writes its own now.
        let snapshot = self.take_fell_back(kind) || snapshot;
        let view = self.shard;
        let writes = latest
            .chunks(CHUNK)
            .enumerate()
            .map(|(i, chunk)| async move {
                if snapshot {
                    let snap = item_of(vec![
                        (PK, s(shard_snapshot_pk(kind, view))),
                        (SK, s(chunk_sk(i))),
                        ("at", n(run_at)),
                        (
                            "pz",
                            blob(deflated(
                                &packed::pack_snapshot(chunk)
                                    .map_err(|e| StoreError::Invalid(e.to_string()))?,
                            )?),
                        ),
                    ]);
                    self.put(snap).await?;
                }
                let results: Vec<_> = chunk
                    .iter()
                    .filter_map(|l| l.result.as_ref().map(|r| (r, l.state.version)))
                    .filter(|(r, _)| r.at == run_at)
                    .collect();
                if results.is_empty() {
                    return Ok(());
                }
                let hist = item_of(vec![
                    (PK, s(shard_history_pk(kind, view, run_at, i))),
                    (SK, s(ms_key(run_at))),
                    (
                        "z",
                        blob(deflated(
                            &packed::pack_history(results)
                                .map_err(|e| StoreError::Invalid(e.to_string()))?,
                        )?),
                    ),
                    (TTL, self.expires_at(run_at)),
                ]);
                self.put(hist).await
            });
        futures::future::try_join_all(writes).await?;
        if snapshot {
            self.drop_chunks_from(&shard_snapshot_pk(kind, view), latest.len().div_ceil(CHUNK))
                .await?;
        }
        Ok(())
    }
}

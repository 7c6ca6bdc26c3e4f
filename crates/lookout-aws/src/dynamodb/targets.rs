//! [`TargetStore`] over the table: definition items `TARGET#<id>` / `CONFIG`, listed by kind in
//! `gsi1`, their inline secrets sealed on write and opened on read.

use super::item::{from_attr, item_of, key_of, n, s, to_json, Item};
use super::keys::{
    shard_index_range, target_pk, targets_index_pk, targets_index_sk, CONFIG_SK, DEFS_VERSION_PK,
    DEFS_VERSION_SK, GSI, GSI_PK, GSI_SK, PK, SK, STATE_SK, VERSION,
};
use super::DynamoStore;
use crate::sealing::{SealError, Sealer};
use crate::{conditional, store_error};
use lookout_app::ports::{StoreError, TargetStore};
use lookout_core::domain::shard::target_bucket;
use lookout_core::domain::{Target, TargetKind};

fn seal_error(id: &str, e: SealError) -> StoreError {
    match e {
        SealError::NoKey(m) => StoreError::Refused(m),
        SealError::Kms(m) => StoreError::Backend(format!("kms: {m}")),
        SealError::Corrupt(m) => StoreError::Corrupt {
            key: format!("{}/{CONFIG_SK}", target_pk(id)),
            message: m,
        },
    }
}

/// A target's definition item: `TARGET#<id>` / `CONFIG`, listed by kind in `gsi1` under its
/// bucket ([`targets_index_sk`]).
fn target_item(t: &Target) -> Result<Item, StoreError> {
    Ok(item_of(vec![
        (PK, s(target_pk(&t.id))),
        (SK, s(CONFIG_SK)),
        (GSI_PK, s(targets_index_pk(t.kind()))),
        (GSI_SK, s(targets_index_sk(target_bucket(t), &t.id))),
        (VERSION, n(t.version)),
        ("def", to_json(t)?),
    ]))
}

impl DynamoStore {
    /// A definition item of `t`, its inline secrets sealed.
    async fn sealed_item(&self, t: &Target) -> Result<Item, StoreError> {
        let sealed = self
            .sealer
            .seal(t)
            .await
            .map_err(|e| seal_error(&t.id, e))?;
        target_item(&sealed)
    }

    /// The definition in `item`, its secrets opened.
    async fn definition(&self, item: &Item) -> Result<Target, StoreError> {
        let t: Target = from_attr(item, "def")?;
        let id = t.id.clone();
        self.sealer.open(t).await.map_err(|e| seal_error(&id, e))
    }

    /// The definition in `item` for a listing: one whose sealed secrets do not open (another
    /// key, a tampered value, KMS not answering) is listed with them masked (`***`) and a
    /// warning naming it, so that one definition cannot blind the probe runs and the status of
    /// every other target; its own checks then fail on the masked credentials.
    async fn listed_definition(&self, item: &Item) -> Result<Target, StoreError> {
        match self.definition(item).await {
            Ok(t) => Ok(t),
            Err(e)
                if matches!(&e, StoreError::Corrupt { .. })
                    || matches!(&e, StoreError::Backend(m) if m.starts_with("kms:")) =>
            {
                let t: Target = from_attr(item, "def")?;
                tracing::warn!(target_id = %t.id, error = %e,
                    "a definition's sealed secrets do not open; listed with them masked");
                let id = t.id.clone();
                Sealer::masked()
                    .open(t)
                    .await
                    .map_err(|e| seal_error(&id, e))
            }
            Err(e) => Err(e),
        }
    }
}

/// Queries a whole listing of one kind runs at once (8), each over one contiguous range of the
/// index sort keys ([`DynamoStore::list_kind`]).
const LIST_SEGMENTS: u32 = 8;

impl DynamoStore {
    /// Every definition of `kind` on the whole view, unsorted: [`LIST_SEGMENTS`] concurrent
    /// tasks, each querying one contiguous range of the kind's index partition and opening its
    /// definitions (so that 10,000 definitions are read and decoded on every core). The ranges
    /// split at bucket boundaries (`<bucket, 4 digits>`): `< b1`, `b1 ..= b2`, …, `>= b7`, so
    /// that together they cover every sort key, the legacy `<id>` ones included; a sort key
    /// equal to a boundary (a legacy id such as `0128`) is read twice and kept once.
    async fn list_kind(&self, kind: TargetKind) -> Result<Vec<Target>, StoreError> {
        use lookout_core::domain::shard::BUCKETS;
        let bounds: Vec<String> = (1..LIST_SEGMENTS)
            .map(|i| format!("{:04}", i * BUCKETS / LIST_SEGMENTS))
            .collect();
        let last = bounds.len();
        let tasks: Vec<_> = (0..=last)
            .map(|i| {
                let (condition, from, to) = match i {
                    0 => ("#k = :k AND #s < :a", bounds[0].clone(), None),
                    i if i == last => ("#k = :k AND #s >= :a", bounds[last - 1].clone(), None),
                    i => (
                        "#k = :k AND #s BETWEEN :a AND :b",
                        bounds[i - 1].clone(),
                        Some(bounds[i].clone()),
                    ),
                };
                let me = self.clone();
                tokio::spawn(async move {
                    let mut query = me
                        .client
                        .query()
                        .table_name(&me.table)
                        .index_name(GSI)
                        .key_condition_expression(condition)
                        .expression_attribute_names("#k", GSI_PK)
                        .expression_attribute_names("#s", GSI_SK)
                        // Only the definition: half the bytes to send and parse.
                        .projection_expression("#d")
                        .expression_attribute_names("#d", "def")
                        .expression_attribute_values(":k", s(targets_index_pk(kind)))
                        .expression_attribute_values(":a", s(from));
                    if let Some(to) = to {
                        query = query.expression_attribute_values(":b", s(to));
                    }
                    let items: Vec<Item> = query
                        .into_paginator()
                        .items()
                        .send()
                        .try_collect()
                        .await
                        .map_err(store_error)?;
                    let mut out = Vec::with_capacity(items.len());
                    for item in &items {
                        out.push(me.listed_definition(item).await?);
                    }
                    Ok::<_, StoreError>(out)
                })
            })
            .collect();
        let mut all: Vec<Target> = Vec::new();
        for task in tasks {
            let part = task
                .await
                .map_err(|e| StoreError::Backend(format!("listing task: {e}")))??;
            all.extend(part);
        }
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all.dedup_by(|a, b| a.id == b.id);
        Ok(all)
    }

    /// Adds one to the definitions' version item ([`DEFS_VERSION_PK`]) right after a
    /// definitions write. A bump that fails is logged and not returned: the write itself is
    /// done, and the API instances' caches still end at their maximum age.
    async fn bump_definitions_version(&self) {
        let bumped = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_of(DEFS_VERSION_PK, DEFS_VERSION_SK)))
            .update_expression("ADD #v :one")
            .expression_attribute_names("#v", VERSION)
            .expression_attribute_values(":one", n(1u64))
            .send()
            .await;
        if let Err(e) = bumped {
            tracing::warn!(error = %store_error(e),
                "the definitions' version was not bumped; other API instances see the write after their caches' maximum age");
        }
    }
}

impl TargetStore for DynamoStore {
    /// The whole view lists every definition of the kind(s), sorted by id, both kinds and
    /// [`LIST_SEGMENTS`] ranges of each at once ([`DynamoStore::list_kind`]). A narrowed view
    /// lists its shard's: one range query of the kind's index partition over the shard's
    /// buckets (definitions written before shards are found once
    /// [`lookout_app::ports::ShardLayout::set_shard_count`] rewrote their index keys).
    async fn list_targets(&self, kind: Option<TargetKind>) -> Result<Vec<Target>, StoreError> {
        let kinds: Vec<TargetKind> = kind.map_or(TargetKind::ALL.to_vec(), |k| vec![k]);
        let mut out = Vec::new();
        if self.shard.is_whole() {
            let (servers, proxies) = tokio::join!(
                async {
                    match kind {
                        Some(TargetKind::Proxy) => Ok(Vec::new()),
                        _ => self.list_kind(TargetKind::Server).await,
                    }
                },
                async {
                    match kind {
                        Some(TargetKind::Server) => Ok(Vec::new()),
                        _ => self.list_kind(TargetKind::Proxy).await,
                    }
                }
            );
            let mut out = servers?;
            out.extend(proxies?);
            out.sort_by(|a, b| a.id.cmp(&b.id));
            return Ok(out);
        }
        for k in kinds {
            let (from, to) = shard_index_range(self.shard);
            let items = self
                .query_index_range(&targets_index_pk(k), &from, &to)
                .await?;
            for item in items {
                let t = self.listed_definition(&item).await?;
                // A definition of the old index key (its id) may fall in the range by name.
                if self.shard.holds(&t) {
                    out.push(t);
                }
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    async fn create_target(&self, target: &Target) -> Result<Target, StoreError> {
        let mut t = target.clone();
        t.version = 1;
        let item = self.sealed_item(&t).await?;
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await;
        match conditional(put)? {
            Some(_) => {
                self.bump_definitions_version().await;
                Ok(t)
            }
            None => Err(StoreError::Conflict(format!("target {} exists", t.id))),
        }
    }

    async fn get_target(&self, id: &str) -> Result<Option<Target>, StoreError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_of(target_pk(id), CONFIG_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        match &got.item {
            Some(item) => Ok(Some(self.definition(item).await?)),
            None => Ok(None),
        }
    }

    async fn update_target(
        &self,
        target: &Target,
        expected_version: u64,
    ) -> Result<Target, StoreError> {
        let mut t = target.clone();
        t.version = expected_version + 1;
        let item = self.sealed_item(&t).await?;
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("#v = :v")
            .expression_attribute_names("#v", VERSION)
            .expression_attribute_values(":v", n(expected_version))
            .send()
            .await;
        match conditional(put)? {
            Some(_) => {
                self.bump_definitions_version().await;
                Ok(t)
            }
            None => Err(StoreError::Conflict(format!(
                "target {} is not at version {expected_version}",
                t.id
            ))),
        }
    }

    async fn delete_target(&self, id: &str) -> Result<bool, StoreError> {
        let deleted = self.delete_existing(&target_pk(id), CONFIG_SK).await?;
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_of(target_pk(id), STATE_SK)))
            .send()
            .await
            .map_err(store_error)?;
        if deleted {
            self.bump_definitions_version().await;
        }
        Ok(deleted)
    }

    /// One strongly consistent GetItem of the version item (0 when there is none yet).
    async fn definitions_version(&self) -> Result<u64, StoreError> {
        let got = self
            .get_consistent(DEFS_VERSION_PK, DEFS_VERSION_SK)
            .await?;
        Ok(got
            .as_ref()
            .and_then(|i| i.get(VERSION))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }
}

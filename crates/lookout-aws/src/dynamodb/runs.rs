//! [`RunStore`] and [`SummaryStore`] over the table: run records `RUN#<kind>` /
//! `<start>#<run id>` (with a TTL) and one summary item `SUMMARY#<kind>` / `SUMMARY` per kind,
//! plus `SUMMARY#<kind>` / `SUMMARY#<index>of<of>` per shard of a kind that fans out.

use super::item::{from_attr, item_of, key_of, n, s, to_json, Item};
use super::keys::{
    layout_pk, run_pk, run_sk, shard_of_sk, summary_pk, summary_sk, LAYOUT_SK, PK, SK, TTL,
};
use super::DynamoStore;
use lookout_app::ports::{KindSummary, RunRecord, RunStore, StoreError, SummaryStore};
use lookout_core::domain::{Shard, TargetKind};

impl RunStore for DynamoStore {
    async fn put_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        let item = item_of(vec![
            (PK, s(run_pk(run.kind))),
            (SK, s(run_sk(run.started_at, &run.run_id))),
            ("run", to_json(run)?),
            (TTL, self.expires_at(run.started_at)),
        ]);
        self.put(item).await
    }

    async fn add_shard_run(
        &self,
        shard_run: &RunRecord,
        shards: u32,
    ) -> Result<RunRecord, StoreError> {
        let base = RunRecord {
            shards: Some(shards),
            shards_done: Some(0),
            checked: 0,
            ok: 0,
            changes: 0,
            alerts_published: 0,
            alerts_pending: 0,
            skipped: 0,
            duration_ms: 0,
            ..shard_run.clone()
        };
        let adds: String = aggregated(shard_run)
            .iter()
            .map(|(attr, _)| format!(", #{attr} :{attr}"))
            .collect();
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_of(
                run_pk(shard_run.kind),
                run_sk(shard_run.started_at, &shard_run.run_id),
            )))
            .update_expression(format!(
                "SET #run = if_not_exists(#run, :base), #ttl = if_not_exists(#ttl, :ttl), \
                 #dur = :dur ADD #done :one{adds}"
            ))
            .expression_attribute_names("#run", "run")
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_names("#dur", AGG_DURATION)
            .expression_attribute_names("#done", AGG_DONE)
            .expression_attribute_values(":base", to_json(&base)?)
            .expression_attribute_values(":ttl", self.expires_at(shard_run.started_at))
            .expression_attribute_values(":dur", n(shard_run.duration_ms))
            .expression_attribute_values(":one", n(1))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew);
        for (attr, value) in aggregated(shard_run) {
            update = update
                .expression_attribute_names(format!("#{attr}"), attr)
                .expression_attribute_values(format!(":{attr}"), n(value));
        }
        let item = update
            .send()
            .await
            .map_err(crate::store_error)?
            .attributes
            .unwrap_or_default();
        record_of(&item)
    }

    async fn last_run(&self, kind: TargetKind) -> Result<Option<RunRecord>, StoreError> {
        Ok(RunStore::runs(self, kind, 1).await?.into_iter().next())
    }

    async fn runs(&self, kind: TargetKind, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        let limit = i32::try_from(limit.clamp(1, 1000)).unwrap_or(1000);
        self.query(None, &run_pk(kind), false, Some(limit))
            .await?
            .iter()
            .map(record_of)
            .collect()
    }
}

/// Attribute of an aggregated run record: shards reported.
const AGG_DONE: &str = "shards_done";
/// Attribute of an aggregated run record: the latest reporting shard's duration, ms.
const AGG_DURATION: &str = "agg_duration_ms";

/// The counts a shard adds to its run's record, as attribute names and values.
fn aggregated(r: &RunRecord) -> [(&'static str, usize); 6] {
    [
        ("agg_checked", r.checked),
        ("agg_ok", r.ok),
        ("agg_changes", r.changes),
        ("agg_published", r.alerts_published),
        ("agg_pending", r.alerts_pending),
        ("agg_skipped", r.skipped),
    ]
}

/// A run record item: the `run` JSON, with an aggregated run's counts laid over it.
fn record_of(item: &Item) -> Result<RunRecord, StoreError> {
    let mut r: RunRecord = from_attr(item, "run")?;
    let num = |attr: &str| -> Option<u64> { item.get(attr)?.as_n().ok()?.parse().ok() };
    if let Some(done) = num(AGG_DONE) {
        r.shards_done = Some(done as u32);
        r.duration_ms = num(AGG_DURATION).unwrap_or(0);
        let [checked, ok, changes, published, pending, skipped] =
            aggregated(&r).map(|(attr, _)| num(attr).unwrap_or(0) as usize);
        r.checked = checked;
        r.ok = ok;
        r.changes = changes;
        r.alerts_published = published;
        r.alerts_pending = pending;
        r.skipped = skipped;
    }
    Ok(r)
}

impl SummaryStore for DynamoStore {
    /// Writes the summary of this view: the whole one, or a shard's.
    async fn put_summary(&self, summary: &KindSummary) -> Result<(), StoreError> {
        let item = item_of(vec![
            (PK, s(summary_pk(summary.kind))),
            (SK, s(summary_sk(self.shard))),
            ("summary", to_json(summary)?),
        ]);
        self.put(item).await
    }

    /// A narrowed view's own summaries. The whole view's: one BatchGetItem of both kinds'
    /// whole summaries and layouts; for a kind split into more than one shard, one query of its
    /// summary partition, whose shards' summaries of the current count are merged
    /// ([`KindSummary::merge`]; the whole summary stands until a shard wrote its own).
    async fn summaries(&self) -> Result<Vec<KindSummary>, StoreError> {
        let mut keys: Vec<Item> = TargetKind::ALL
            .iter()
            .map(|k| key_of(summary_pk(*k), summary_sk(self.shard)))
            .collect();
        if self.shard.is_whole() {
            keys.extend(
                TargetKind::ALL
                    .iter()
                    .map(|k| key_of(layout_pk(*k), LAYOUT_SK)),
            );
        }
        let items = self.batch_get(keys, false).await?;
        let mut whole: Vec<KindSummary> = items
            .iter()
            .filter(|i| i.contains_key("summary"))
            .map(|i| from_attr(i, "summary"))
            .collect::<Result<_, _>>()?;
        if self.shard.is_whole() {
            for layout in items
                .iter()
                .filter(|i| i.contains_key(super::keys::LAYOUT_OF))
            {
                let Some(kind) = TargetKind::ALL
                    .into_iter()
                    .find(|k| layout.get(PK).and_then(|v| v.as_s().ok()) == Some(&layout_pk(*k)))
                else {
                    continue;
                };
                let of = super::shards::Layout::of_item(layout).of;
                if of <= 1 {
                    continue;
                }
                let parts: Vec<KindSummary> = self
                    .query(None, &summary_pk(kind), true, None)
                    .await?
                    .iter()
                    .filter(|i| {
                        i.get(SK)
                            .and_then(|v| v.as_s().ok())
                            .and_then(|sk| shard_of_sk(sk))
                            .is_some_and(|s: Shard| !s.is_whole() && s.of == of)
                    })
                    .map(|i| from_attr(i, "summary"))
                    .collect::<Result<_, _>>()?;
                if let Some(merged) = KindSummary::merge(parts) {
                    whole.retain(|s| s.kind != kind);
                    whole.push(merged);
                }
            }
        }
        whole.sort_by_key(|s| s.kind);
        Ok(whole)
    }
}

//! [`RunStore`] and [`SummaryStore`] over the table: run records `RUN#<kind>` /
//! `<start>#<run id>` (with a TTL) and one summary item `SUMMARY#<kind>` / `SUMMARY` per kind.

use super::item::{from_attr, item_of, key_of, s, to_json, Item};
use super::keys::{run_pk, run_sk, summary_pk, PK, SK, SUMMARY_SK, TTL};
use super::DynamoStore;
use lookout_app::ports::{KindSummary, RunRecord, RunStore, StoreError, SummaryStore};
use lookout_core::domain::TargetKind;

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

    async fn last_run(&self, kind: TargetKind) -> Result<Option<RunRecord>, StoreError> {
        Ok(RunStore::runs(self, kind, 1).await?.into_iter().next())
    }

    async fn runs(&self, kind: TargetKind, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        let limit = i32::try_from(limit.clamp(1, 1000)).unwrap_or(1000);
        self.query(None, &run_pk(kind), false, Some(limit))
            .await?
            .iter()
            .map(|i| from_attr(i, "run"))
            .collect()
    }
}

impl SummaryStore for DynamoStore {
    async fn put_summary(&self, summary: &KindSummary) -> Result<(), StoreError> {
        let item = item_of(vec![
            (PK, s(summary_pk(summary.kind))),
            (SK, s(SUMMARY_SK)),
            ("summary", to_json(summary)?),
        ]);
        self.put(item).await
    }

    async fn summaries(&self) -> Result<Vec<KindSummary>, StoreError> {
        let keys: Vec<Item> = TargetKind::ALL
            .iter()
            .map(|k| key_of(summary_pk(*k), SUMMARY_SK))
            .collect();
        let mut out: Vec<KindSummary> = self
            .batch_get(keys, false)
            .await?
            .iter()
            .map(|i| from_attr(i, "summary"))
            .collect::<Result<_, _>>()?;
        out.sort_by_key(|s| s.kind);
        Ok(out)
    }
}

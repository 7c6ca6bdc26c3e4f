//! [`RunStore`] and [`SummaryStore`] in memory (summaries per kind and shard of the view).

use super::MemoryStore;
use crate::ports::{KindSummary, RunRecord, RunStore, StoreError, SummaryStore};
use lookout_core::domain::{Shard, TargetKind};

impl RunStore for MemoryStore {
    async fn put_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        self.lock().runs.push(run.clone());
        Ok(())
    }

    async fn add_shard_run(
        &self,
        shard_run: &RunRecord,
        shards: u32,
    ) -> Result<RunRecord, StoreError> {
        let mut t = self.lock();
        let at = t
            .runs
            .iter()
            .position(|r| r.run_id == shard_run.run_id && r.kind == shard_run.kind);
        let i = at.unwrap_or_else(|| {
            t.runs.push(RunRecord {
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
            });
            t.runs.len() - 1
        });
        let r = &mut t.runs[i];
        r.checked += shard_run.checked;
        r.ok += shard_run.ok;
        r.changes += shard_run.changes;
        r.alerts_published += shard_run.alerts_published;
        r.alerts_pending += shard_run.alerts_pending;
        r.skipped += shard_run.skipped;
        r.duration_ms = shard_run.duration_ms;
        r.shards_done = Some(r.shards_done.unwrap_or(0) + 1);
        Ok(r.clone())
    }

    async fn last_run(&self, kind: TargetKind) -> Result<Option<RunRecord>, StoreError> {
        Ok(RunStore::runs(self, kind, 1).await?.into_iter().next())
    }

    async fn runs(&self, kind: TargetKind, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        Ok(self
            .lock()
            .runs
            .iter()
            .rev()
            .filter(|r| r.kind == kind)
            .take(limit.max(1))
            .cloned()
            .collect())
    }
}

impl SummaryStore for MemoryStore {
    async fn put_summary(&self, summary: &KindSummary) -> Result<(), StoreError> {
        self.lock()
            .summaries
            .insert((summary.kind, self.shard), summary.clone());
        Ok(())
    }

    /// A narrowed view's own summaries; the whole view's, or, for a kind split into more than
    /// one shard, the merge of its shards' ([`KindSummary::merge`]; the whole one until a shard
    /// wrote its own).
    async fn summaries(&self) -> Result<Vec<KindSummary>, StoreError> {
        let t = self.lock();
        let mut out = Vec::new();
        for kind in TargetKind::ALL {
            let of = if self.shard.is_whole() {
                t.layout(kind).of
            } else {
                self.shard.of
            };
            let pick = |s: &Shard| {
                if self.shard.is_whole() {
                    s.of == of && of > 1
                } else {
                    *s == self.shard
                }
            };
            let parts: Vec<KindSummary> = t
                .summaries
                .iter()
                .filter(|((k, s), _)| *k == kind && pick(s))
                .map(|(_, v)| v.clone())
                .collect();
            let merged = KindSummary::merge(parts).or_else(|| {
                self.shard
                    .is_whole()
                    .then(|| t.summaries.get(&(kind, Shard::WHOLE)).cloned())
                    .flatten()
            });
            out.extend(merged);
        }
        Ok(out)
    }
}

//! [`RunStore`] and [`SummaryStore`] in memory.

use super::MemoryStore;
use crate::ports::{KindSummary, RunRecord, RunStore, StoreError, SummaryStore};
use lookout_core::domain::TargetKind;

impl RunStore for MemoryStore {
    async fn put_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        self.lock().runs.push(run.clone());
        Ok(())
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
        self.lock().summaries.insert(summary.kind, summary.clone());
        Ok(())
    }

    async fn summaries(&self) -> Result<Vec<KindSummary>, StoreError> {
        Ok(self.lock().summaries.values().cloned().collect())
    }
}

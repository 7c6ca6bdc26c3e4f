//! [`StateStore`] and [`HistoryStore`] in memory: every state, snapshot and result kept. A view
//! narrowed to a shard keeps its own snapshot and reads its own history; the whole view reads
//! every shard's (see `shards.rs`).

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use super::MemoryStore;
use crate::ports::{HistoryStore, Latest, StateStore, StoreError};
use lookout_core::domain::{Alert, CheckResult, TargetKind, TargetState};

impl StateStore for MemoryStore {
    async fn latest(&self, kind: TargetKind) -> Result<HashMap<String, Latest>, StoreError> {
        Ok(self.lock().latest_of(kind, self.shard))
    }

    async fn load_state(&self, target_id: &str) -> Result<Option<TargetState>, StoreError> {
        Ok(self.lock().states.get(target_id).cloned())
    }

    async fn commit_change(&self, state: &TargetState, alerts: &[Alert]) -> Result<(), StoreError> {
        if self.s.failing_commits.load(Ordering::SeqCst) {
            return Err(StoreError::Backend("commits are failing".into()));
        }
        let mut t = self.lock();
        let stored = t.states.get(&state.target_id).map_or(0, |s| s.version);
        if stored != state.version {
            return Err(StoreError::Conflict(format!(
                "state of {} is at version {stored}",
                state.target_id
            )));
        }
        if alerts
            .iter()
            .any(|a| t.outbox.iter().any(|(o, _)| o.key == a.key && o.at == a.at))
        {
            return Err(StoreError::Conflict("alert exists".into()));
        }
        let mut next = state.clone();
        next.version += 1;
        t.states.insert(next.target_id.clone(), next);
        t.outbox.extend(alerts.iter().map(|a| (a.clone(), false)));
        Ok(())
    }

    async fn commit_override(
        &self,
        kind: TargetKind,
        state: &TargetState,
        alerts: &[Alert],
    ) -> Result<(), StoreError> {
        self.commit_change(state, alerts).await?;
        let mut written = state.clone();
        written.version += 1;
        self.lock()
            .overrides
            .insert((kind, state.target_id.clone()), written);
        Ok(())
    }

    async fn overrides(&self, kind: TargetKind) -> Result<Vec<TargetState>, StoreError> {
        Ok(self
            .lock()
            .overrides
            .iter()
            .filter(|((k, _), _)| *k == kind)
            .map(|(_, s)| s.clone())
            .collect())
    }

    async fn clear_override(
        &self,
        kind: TargetKind,
        target_id: &str,
        version: u64,
    ) -> Result<(), StoreError> {
        let mut t = self.lock();
        let key = (kind, target_id.to_string());
        if t.overrides.get(&key).is_some_and(|s| s.version == version) {
            t.overrides.remove(&key);
        }
        Ok(())
    }

    async fn record_run(
        &self,
        kind: TargetKind,
        run_at: i64,
        latest: &[Latest],
        _snapshot: bool,
    ) -> Result<(), StoreError> {
        if *self
            .s
            .failing_kind
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            == Some(kind)
        {
            return Err(StoreError::Unavailable(format!(
                "{} run records are failing",
                kind.as_str()
            )));
        }
        let mut t = self.lock();
        let generation = t.layout(kind).generation;
        t.snapshots
            .insert((kind, self.shard), (generation, latest.to_vec()));
        for l in latest
            .iter()
            .filter(|l| l.result.as_ref().is_some_and(|r| r.at == run_at))
        {
            t.history.push((kind, self.shard, run_at, l.clone()));
        }
        Ok(())
    }
}

impl HistoryStore for MemoryStore {
    async fn history(
        &self,
        kind: TargetKind,
        since_ms: i64,
        until_ms: i64,
        _targets: usize,
    ) -> Result<Vec<CheckResult>, StoreError> {
        Ok(self
            .lock()
            .history
            .iter()
            .filter(|(k, s, at, _)| {
                *k == kind
                    && (self.shard.is_whole() || *s == self.shard)
                    && since_ms <= *at
                    && *at <= until_ms
            })
            .filter_map(|(_, _, _, l)| l.result.clone())
            .collect())
    }
}

//! [`DigestStore`] in memory.

use super::MemoryStore;
use crate::ports::{DigestStore, StoreError, TargetUptime};
use lookout_core::digest::report::Digest;
use lookout_core::digest::rollup::{Period, Rollup};
use lookout_core::domain::TargetKind;

fn rollup_scope(target_id: &str, kind: TargetKind) -> String {
    if target_id == "*" {
        format!("*{}", kind.as_str())
    } else {
        target_id.to_string()
    }
}

impl DigestStore for MemoryStore {
    async fn put_rollups(&self, rollups: &[Rollup]) -> Result<(), StoreError> {
        let mut t = self.lock();
        for r in rollups {
            let key = (rollup_scope(&r.target_id, r.kind), r.period, r.start);
            t.rollups.insert(key, r.clone());
        }
        Ok(())
    }

    async fn rollups(
        &self,
        target_id: &str,
        kind: TargetKind,
        period: Period,
        since_ms: i64,
        until_ms: i64,
    ) -> Result<Vec<Rollup>, StoreError> {
        let scope = rollup_scope(target_id, kind);
        Ok(self
            .lock()
            .rollups
            .range((scope.clone(), period, since_ms)..(scope, period, until_ms.max(since_ms)))
            .map(|(_, r)| r.clone())
            .collect())
    }

    async fn put_digests(&self, digests: &[Digest]) -> Result<(), StoreError> {
        let mut t = self.lock();
        for d in digests {
            t.digests.insert((d.scope.clone(), d.start), d.clone());
        }
        Ok(())
    }

    async fn digests(
        &self,
        scope: &str,
        before_ms: i64,
        limit: usize,
    ) -> Result<Vec<Digest>, StoreError> {
        Ok(self
            .lock()
            .digests
            .range((scope.to_string(), i64::MIN)..(scope.to_string(), before_ms))
            .rev()
            .take(limit)
            .map(|(_, d)| d.clone())
            .collect())
    }

    async fn put_uptime(&self, kind: TargetKind, table: &[TargetUptime]) -> Result<(), StoreError> {
        self.lock().uptime.insert(kind, table.to_vec());
        Ok(())
    }

    async fn uptime_table(&self, kind: TargetKind) -> Result<Vec<TargetUptime>, StoreError> {
        Ok(self.lock().uptime.get(&kind).cloned().unwrap_or_default())
    }
}

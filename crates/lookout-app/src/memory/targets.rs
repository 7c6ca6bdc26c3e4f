//! [`TargetStore`] in memory. A view narrowed to a shard lists only the shard's definitions.

use super::MemoryStore;
use crate::ports::{StoreError, TargetStore};
use lookout_core::domain::{Target, TargetKind};

impl TargetStore for MemoryStore {
    async fn list_targets(&self, kind: Option<TargetKind>) -> Result<Vec<Target>, StoreError> {
        let frozen = self
            .s
            .frozen_listing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let all = frozen.unwrap_or_else(|| self.lock().targets.values().cloned().collect());
        Ok(all
            .into_iter()
            .filter(|t| kind.is_none_or(|k| t.kind() == k))
            .filter(|t| self.shard.is_whole() || self.shard.holds(t))
            .collect())
    }

    async fn create_target(&self, target: &Target) -> Result<Target, StoreError> {
        let mut t = self.lock();
        if t.targets.contains_key(&target.id) {
            return Err(StoreError::Conflict(format!("target {} exists", target.id)));
        }
        let mut stored = target.clone();
        stored.version = 1;
        t.targets.insert(stored.id.clone(), stored.clone());
        t.defs_version += 1;
        Ok(stored)
    }

    async fn get_target(&self, id: &str) -> Result<Option<Target>, StoreError> {
        Ok(self.lock().targets.get(id).cloned())
    }

    async fn update_target(
        &self,
        target: &Target,
        expected_version: u64,
    ) -> Result<Target, StoreError> {
        let mut t = self.lock();
        if t.targets.get(&target.id).map(|s| s.version) != Some(expected_version) {
            return Err(StoreError::Conflict(format!(
                "target {} is not at version {expected_version}",
                target.id
            )));
        }
        let mut stored = target.clone();
        stored.version = expected_version + 1;
        t.targets.insert(stored.id.clone(), stored.clone());
        t.defs_version += 1;
        Ok(stored)
    }

    async fn delete_target(&self, id: &str) -> Result<bool, StoreError> {
        let mut t = self.lock();
        t.states.remove(id);
        let found = t.targets.remove(id).is_some();
        if found {
            t.defs_version += 1;
        }
        Ok(found)
    }

    async fn definitions_version(&self) -> Result<u64, StoreError> {
        Ok(self.lock().defs_version)
    }
}

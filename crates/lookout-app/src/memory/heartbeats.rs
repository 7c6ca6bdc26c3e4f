//! [`HeartbeatStore`] in memory.

use std::collections::HashMap;

use super::MemoryStore;
use crate::ports::{HeartbeatStore, StoreError};
use lookout_core::domain::heartbeat::{Ping, PingRecord};

impl HeartbeatStore for MemoryStore {
    async fn record_ping(&self, target_id: &str, ping: Ping) -> Result<PingRecord, StoreError> {
        let mut t = self.lock();
        let record = t
            .pings
            .entry(target_id.to_string())
            .or_insert_with(|| PingRecord::new(target_id));
        record.add(ping);
        record.version += 1;
        Ok(record.clone())
    }

    async fn ping_record(&self, target_id: &str) -> Result<Option<PingRecord>, StoreError> {
        Ok(self.lock().pings.get(target_id).cloned())
    }

    async fn ping_records(
        &self,
        target_ids: &[String],
    ) -> Result<HashMap<String, PingRecord>, StoreError> {
        let t = self.lock();
        Ok(target_ids
            .iter()
            .filter_map(|id| t.pings.get(id).map(|r| (id.clone(), r.clone())))
            .collect())
    }

    async fn delete_ping_record(&self, target_id: &str) -> Result<bool, StoreError> {
        Ok(self.lock().pings.remove(target_id).is_some())
    }
}

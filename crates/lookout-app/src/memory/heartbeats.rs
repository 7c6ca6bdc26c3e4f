//! [`HeartbeatStore`] in memory. `ping_records` counts its calls and fails while
//! [`MemoryStore::set_failing_pings`] says so.

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
        use std::sync::atomic::Ordering;
        self.s.ping_records_calls.fetch_add(1, Ordering::SeqCst);
        if self.s.failing_pings.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable(
                "ping records failing (test)".into(),
            ));
        }
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

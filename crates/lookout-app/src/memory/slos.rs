//! [`SloStore`] in memory, with the DynamoDB adapter's conditional writes.

use super::MemoryStore;
use crate::ports::{SloStore, StoreError};
use lookout_core::domain::slo::{Slo, SloRecord};
use lookout_core::domain::Alert;

/// `Ok` when `stored` (the stored version, 0 when absent) is `new - 1`.
fn check_version(what: &str, stored: u64, new: u64) -> Result<(), StoreError> {
    if new == 0 || stored != new - 1 {
        return Err(StoreError::Conflict(format!(
            "{what}: stored version {stored}, written {new}"
        )));
    }
    Ok(())
}

impl MemoryStore {
    /// `Err` while SLO records fail ([`MemoryStore::set_failing_slo_records`]).
    fn slo_records_up(&self) -> Result<(), StoreError> {
        if self
            .s
            .failing_slo_records
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            return Err(StoreError::Unavailable("SLO records failing (test)".into()));
        }
        Ok(())
    }
}

impl SloStore for MemoryStore {
    async fn put_slo(&self, slo: &Slo) -> Result<(), StoreError> {
        let mut t = self.lock();
        let stored = t.slos.get(&slo.id).map_or(0, |s| s.version);
        check_version(&format!("slo {}", slo.id), stored, slo.version)?;
        t.slos.insert(slo.id.clone(), slo.clone());
        Ok(())
    }

    async fn slo(&self, id: &str) -> Result<Option<Slo>, StoreError> {
        Ok(self.lock().slos.get(id).cloned())
    }

    async fn slos(&self) -> Result<Vec<Slo>, StoreError> {
        Ok(self.lock().slos.values().cloned().collect())
    }

    async fn delete_slo(&self, id: &str) -> Result<bool, StoreError> {
        let mut t = self.lock();
        t.slo_records.remove(id);
        Ok(t.slos.remove(id).is_some())
    }

    async fn slo_record(&self, id: &str) -> Result<Option<SloRecord>, StoreError> {
        self.s
            .slo_record_reads
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.slo_records_up()?;
        Ok(self.lock().slo_records.get(id).cloned())
    }

    async fn slo_records(&self) -> Result<Vec<SloRecord>, StoreError> {
        self.slo_records_up()?;
        Ok(self.lock().slo_records.values().cloned().collect())
    }

    async fn commit_slo_record(
        &self,
        record: &SloRecord,
        alerts: &[Alert],
    ) -> Result<Vec<Alert>, StoreError> {
        self.slo_records_up()?;
        let mut t = self.lock();
        let stored = t.slo_records.get(&record.slo_id).map_or(0, |r| r.version);
        check_version(
            &format!("slo record {}", record.slo_id),
            stored,
            record.version,
        )?;
        t.slo_records.insert(record.slo_id.clone(), record.clone());
        let mut new = Vec::new();
        for a in alerts {
            if !t.outbox.iter().any(|(o, _)| o.key == a.key && o.at == a.at) {
                t.outbox.push((a.clone(), false));
                new.push(a.clone());
            }
        }
        Ok(new)
    }
}

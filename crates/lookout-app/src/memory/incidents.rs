//! [`IncidentStore`] and [`StatusPageStore`] in memory, with the DynamoDB adapter's
//! conditional writes.

use super::MemoryStore;
use crate::ports::{IncidentStore, StatusPageStore, StoreError};
use lookout_core::domain::incident::{newest_first, Incident};
use lookout_core::domain::status_page::StatusPage;

/// `Ok` when `stored` (the stored version, 0 when absent) is `new - 1`.
fn check_version(what: &str, stored: u64, new: u64) -> Result<(), StoreError> {
    if new == 0 || stored != new - 1 {
        return Err(StoreError::Conflict(format!(
            "{what}: stored version {stored}, written {new}"
        )));
    }
    Ok(())
}

impl IncidentStore for MemoryStore {
    async fn put_incident(&self, incident: &Incident) -> Result<(), StoreError> {
        if let Some(e) = self.incidents_failure() {
            return Err(e);
        }
        let mut t = self.lock();
        let stored = t.incidents.get(&incident.id).map_or(0, |i| i.version);
        check_version(
            &format!("incident {}", incident.id),
            stored,
            incident.version,
        )?;
        t.incidents.insert(incident.id.clone(), incident.clone());
        Ok(())
    }

    async fn incident(&self, id: &str) -> Result<Option<Incident>, StoreError> {
        Ok(self.lock().incidents.get(id).cloned())
    }

    async fn incidents(&self, since_ms: i64, until_ms: i64) -> Result<Vec<Incident>, StoreError> {
        let mut out: Vec<Incident> = self
            .lock()
            .incidents
            .values()
            .filter(|i| i.open_between(since_ms, until_ms))
            .cloned()
            .collect();
        newest_first(&mut out);
        Ok(out)
    }

    async fn open_incidents(&self) -> Result<Vec<Incident>, StoreError> {
        let mut out: Vec<Incident> = self
            .lock()
            .incidents
            .values()
            .filter(|i| !i.status.is_closed())
            .cloned()
            .collect();
        newest_first(&mut out);
        Ok(out)
    }

    async fn delete_incident(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.lock().incidents.remove(id).is_some())
    }
}

impl StatusPageStore for MemoryStore {
    async fn put_status_page(&self, page: &StatusPage) -> Result<(), StoreError> {
        let mut t = self.lock();
        let stored = t.pages.get(&page.slug).map_or(0, |p| p.version);
        check_version(&format!("status page {}", page.slug), stored, page.version)?;
        t.pages.insert(page.slug.clone(), page.clone());
        Ok(())
    }

    async fn status_page(&self, slug: &str) -> Result<Option<StatusPage>, StoreError> {
        Ok(self.lock().pages.get(slug).cloned())
    }

    async fn status_pages(&self) -> Result<Vec<StatusPage>, StoreError> {
        Ok(self.lock().pages.values().cloned().collect())
    }

    async fn delete_status_page(&self, slug: &str) -> Result<bool, StoreError> {
        Ok(self.lock().pages.remove(slug).is_some())
    }
}

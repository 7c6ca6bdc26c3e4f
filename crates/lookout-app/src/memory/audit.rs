//! [`AuditLog`] in memory: every entry kept, read through [`AuditQuery::page`].

use std::sync::atomic::Ordering;

use super::MemoryStore;
use crate::ports::{AuditLog, AuditPage, AuditQuery, StoreError};
use lookout_core::domain::audit::AuditEntry;

impl MemoryStore {
    /// Makes every later audit write fail with an unavailable store (`true`, a retryable
    /// error), or succeed again.
    pub fn set_failing_audit(&self, failing: bool) {
        self.s.failing_audit.store(failing, Ordering::SeqCst);
    }

    /// Every stored audit entry, in the order written.
    pub fn audit_log(&self) -> Vec<AuditEntry> {
        self.s
            .audit
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl AuditLog for MemoryStore {
    async fn record_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        if self.s.failing_audit.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("audit writes are failing".into()));
        }
        self.s
            .audit
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(entry.clone());
        Ok(())
    }

    async fn audit_entries(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
        Ok(query.page(self.audit_log()))
    }
}

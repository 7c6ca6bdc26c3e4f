//! [`AlertLog`] and [`Outbox`] in memory, with the claims of the real outbox.

use super::MemoryStore;
use crate::ports::{AlertLog, AlertRecord, Outbox, StoreError};
use lookout_core::domain::Alert;

impl AlertLog for MemoryStore {
    async fn alerts(&self, since_ms: i64, until_ms: i64) -> Result<Vec<AlertRecord>, StoreError> {
        let mut out: Vec<AlertRecord> = self
            .lock()
            .outbox
            .iter()
            .filter(|(a, _)| since_ms <= a.at && a.at <= until_ms)
            .map(|(a, p)| AlertRecord {
                alert: a.clone(),
                published: *p,
            })
            .collect();
        out.sort_by_key(|r| r.alert.at);
        Ok(out)
    }
}

impl Outbox for MemoryStore {
    async fn pending_alerts(&self, _now_ms: i64) -> Result<Vec<Alert>, StoreError> {
        Ok(self
            .lock()
            .outbox
            .iter()
            .filter(|(_, p)| !p)
            .map(|(a, _)| a.clone())
            .collect())
    }

    async fn claim_alert(
        &self,
        alert: &Alert,
        holder: &str,
        now_ms: i64,
        claim_until_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut t = self.lock();
        let row = (alert.at, alert.key.clone());
        // The row's identity in DynamoDB: time and key.
        let pending = t
            .outbox
            .iter()
            .any(|(a, p)| !p && a.key == alert.key && a.at == alert.at);
        let free = t.claims.get(&row).is_none_or(|(_, until)| *until < now_ms);
        if !(pending && free) {
            return Ok(false);
        }
        t.claims.insert(row, (holder.to_string(), claim_until_ms));
        Ok(true)
    }

    async fn mark_published(&self, alert: &Alert, holder: &str) -> Result<(), StoreError> {
        let mut t = self.lock();
        let row = (alert.at, alert.key.clone());
        if t.claims.get(&row).is_none_or(|(h, _)| h != holder) {
            return Err(StoreError::Conflict(format!(
                "alert {} is not claimed by {holder}",
                alert.key
            )));
        }
        t.claims.remove(&row);
        for (a, p) in t.outbox.iter_mut() {
            if a.key == alert.key && a.at == alert.at {
                *p = true;
            }
        }
        Ok(())
    }

    async fn release_claim(&self, alert: &Alert, holder: &str) -> Result<(), StoreError> {
        let mut t = self.lock();
        let row = (alert.at, alert.key.clone());
        if t.claims.get(&row).is_some_and(|(h, _)| h == holder) {
            t.claims.remove(&row);
        }
        Ok(())
    }

    async fn enqueue(&self, alerts: &[Alert]) -> Result<Vec<Alert>, StoreError> {
        let mut t = self.lock();
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

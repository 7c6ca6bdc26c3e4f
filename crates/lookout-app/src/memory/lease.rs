//! [`RunLease`] in memory: one lease per kind and shard of the view ([`lookout_core::domain::Shard::WHOLE`] for the
//! whole view).

use super::MemoryStore;
use crate::ports::{Lease, LeaseInfo, RunLease, StoreError};
use lookout_core::domain::TargetKind;

impl crate::ports::Located for MemoryStore {
    fn at_location(&self, location: &str) -> Self {
        MemoryStore {
            s: self.s.clone(),
            shard: self.shard,
            location: Some(location.to_string()),
        }
    }
}

impl RunLease for MemoryStore {
    async fn acquire_lease(
        &self,
        kind: TargetKind,
        holder: &str,
        now_ms: i64,
        until_ms: i64,
        event_id: Option<&str>,
    ) -> Result<Lease, StoreError> {
        let mut t = self.lock();
        let lease = t
            .leases
            .entry((kind, self.shard, self.location.clone()))
            .or_default();
        if lease.until_ms >= now_ms {
            return Ok(Lease::Busy {
                until_ms: lease.until_ms,
            });
        }
        if event_id.is_some() && lease.done_event.as_deref() == event_id {
            return Ok(Lease::AlreadyDone);
        }
        lease.holder = holder.to_string();
        lease.until_ms = until_ms;
        Ok(Lease::Acquired)
    }

    async fn renew_lease(
        &self,
        kind: TargetKind,
        holder: &str,
        until_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut t = self.lock();
        match t.leases.get_mut(&(kind, self.shard, self.location.clone())) {
            Some(lease) if lease.holder == holder && lease.until_ms > 0 => {
                lease.until_ms = until_ms;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn release_lease(
        &self,
        kind: TargetKind,
        holder: &str,
        event_id: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut t = self.lock();
        let lease = t
            .leases
            .entry((kind, self.shard, self.location.clone()))
            .or_default();
        if lease.holder == holder {
            lease.until_ms = 0;
            if let Some(ev) = event_id {
                lease.done_event = Some(ev.to_string());
            }
        }
        Ok(())
    }

    async fn break_lease(&self, kind: TargetKind, now_ms: i64) -> Result<bool, StoreError> {
        let mut t = self.lock();
        let Some(lease) = t.leases.get_mut(&(kind, self.shard, self.location.clone())) else {
            return Ok(false);
        };
        let running = !lease.holder.is_empty() && lease.until_ms >= now_ms;
        lease.holder.clear();
        lease.until_ms = 0;
        Ok(running)
    }

    async fn leases(&self) -> Result<Vec<LeaseInfo>, StoreError> {
        let t = self.lock();
        let mut out: Vec<LeaseInfo> = t
            .leases
            .iter()
            .map(|((kind, shard, location), l)| LeaseInfo {
                kind: *kind,
                holder: (!l.holder.is_empty()).then(|| l.holder.clone()),
                until_ms: l.until_ms,
                done_event: l.done_event.clone(),
                shard: (!shard.is_whole()).then_some(*shard),
                location: location.clone(),
            })
            .collect();
        let order = |k: TargetKind| TargetKind::ALL.iter().position(|a| *a == k);
        out.sort_by_key(|l| (order(l.kind), l.location.clone(), l.shard));
        Ok(out)
    }
}

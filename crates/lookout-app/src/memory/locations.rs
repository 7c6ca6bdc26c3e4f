//! [`LocationStore`] in memory: the same rules as the DynamoDB adapter (a location's verdicts
//! replaced whole; heartbeats only move forward; one caller marks a location silent). Verdicts
//! are kept per shard of the view that wrote them: a narrowed view reads its shard's, the whole
//! view every shard's.

use std::collections::{BTreeMap, HashMap};

use super::MemoryStore;
use crate::ports::{LocationStore, StoreError};
use lookout_core::domain::location::{newest_per_location, LocationHealth, LocationVerdict};
use lookout_core::domain::{Shard, TargetKind};

/// Verdicts and heartbeats.
#[derive(Default)]
pub(super) struct LocationTables {
    /// (kind, shard of the view that wrote them, location) → that location's verdicts.
    verdicts: HashMap<(TargetKind, Shard, String), Vec<LocationVerdict>>,
    /// location → its dead man's switch.
    health: BTreeMap<String, LocationHealth>,
}

impl MemoryStore {
    fn locations(&self) -> std::sync::MutexGuard<'_, LocationTables> {
        self.s.locations.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl LocationStore for MemoryStore {
    async fn verdicts(
        &self,
        kind: TargetKind,
    ) -> Result<HashMap<String, Vec<LocationVerdict>>, StoreError> {
        let mut out: HashMap<String, Vec<LocationVerdict>> = HashMap::new();
        // As DynamoDB: a narrowed view reads its shard's verdicts and, after a re-shard, the
        // earlier layout's shards' too; the whole view reads every shard's. Either way the
        // newest verdict of a location counts.
        let layout = self.lock().layout(kind);
        let earlier: Vec<Shard> = if layout.prev_of != layout.of {
            Shard::all(layout.prev_of).collect()
        } else {
            Vec::new()
        };
        let t = self.locations();
        for ((k, s, _), list) in &t.verdicts {
            let wanted = self.shard.is_whole() || *s == self.shard || earlier.contains(s);
            if *k == kind && wanted {
                for v in list {
                    out.entry(v.target_id.clone()).or_default().push(v.clone());
                }
            }
        }
        for list in out.values_mut() {
            newest_per_location(list);
        }
        Ok(out)
    }

    async fn put_verdicts(
        &self,
        kind: TargetKind,
        location: &str,
        verdicts: &[LocationVerdict],
        _at_ms: i64,
    ) -> Result<(), StoreError> {
        self.locations()
            .verdicts
            .insert((kind, self.shard, location.to_string()), verdicts.to_vec());
        Ok(())
    }

    async fn heartbeat(&self, location: &str, at_ms: i64) -> Result<bool, StoreError> {
        let mut t = self.locations();
        let h = t
            .health
            .entry(location.to_string())
            .or_insert_with(|| LocationHealth {
                location: location.to_string(),
                last_seen: 0,
                silent: false,
            });
        // Only forward, as the DynamoDB adapter: an older or equal beat changes nothing.
        if at_ms <= h.last_seen && h.last_seen > 0 {
            return Ok(false);
        }
        h.last_seen = at_ms;
        Ok(std::mem::replace(&mut h.silent, false))
    }

    async fn location_health(&self) -> Result<Vec<LocationHealth>, StoreError> {
        Ok(self.locations().health.values().cloned().collect())
    }

    async fn mark_silent(&self, location: &str, last_seen: i64) -> Result<bool, StoreError> {
        let mut t = self.locations();
        let h = t
            .health
            .entry(location.to_string())
            .or_insert_with(|| LocationHealth {
                location: location.to_string(),
                last_seen: 0,
                silent: false,
            });
        if h.silent || h.last_seen != last_seen {
            return Ok(false);
        }
        h.silent = true;
        Ok(true)
    }
}

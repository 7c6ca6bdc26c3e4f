//! Probe locations: each location's verdicts of the targets, and each location's dead man's
//! switch (see [`lookout_core::domain::location`]).

use std::collections::HashMap;
use std::future::Future;

use super::StoreError;
use lookout_core::domain::location::{LocationHealth, LocationVerdict};
use lookout_core::domain::TargetKind;

/// Where the locations keep their verdicts and heartbeats. On a store narrowed to a shard
/// ([`super::Sharded::for_shard`]) the verdicts are that shard's; heartbeats are global.
pub trait LocationStore {
    /// Every location's verdicts of the targets of `kind`, by target id (each list in no
    /// particular order, one verdict per location). Eventually consistent: a verdict written a
    /// moment ago may be missing, and is then taken in the next round.
    fn verdicts(
        &self,
        kind: TargetKind,
    ) -> impl Future<Output = Result<HashMap<String, Vec<LocationVerdict>>, StoreError>> + Send;

    /// Replaces the verdicts `location` keeps for `kind` with `verdicts` (every target that
    /// location probes; targets left out are forgotten), stamped `at_ms`.
    fn put_verdicts(
        &self,
        kind: TargetKind,
        location: &str,
        verdicts: &[LocationVerdict],
        at_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records that `location`'s probe reported at `at_ms` (a later time only) and clears its
    /// `silent` mark. Returns `true` when the location had been marked silent (this call is the
    /// one that brought it back, so its caller raises the "back" alert, exactly once).
    fn heartbeat(
        &self,
        location: &str,
        at_ms: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Every location that ever reported, sorted by name.
    fn location_health(
        &self,
    ) -> impl Future<Output = Result<Vec<LocationHealth>, StoreError>> + Send;

    /// Marks `location` silent if it is not marked yet and its heartbeat is still `last_seen`
    /// (one conditional write; a location never seen is created marked, `last_seen` 0).
    /// Returns `true` when this call marked it: the caller raises the "silent" alert, and no
    /// other caller does.
    fn mark_silent(
        &self,
        location: &str,
        last_seen: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

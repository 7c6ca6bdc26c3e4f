//! The run lease of each kind.

use std::future::Future;

use serde::{Deserialize, Serialize};

use super::StoreError;
use lookout_core::domain::{Shard, TargetKind};

/// The answer to a lease request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lease {
    /// The caller holds the lease now.
    Acquired,
    /// Another run holds it until this time (epoch ms).
    Busy {
        /// When the other run's lease expires, epoch ms.
        until_ms: i64,
    },
    /// The event was already handled by a run that finished (a duplicate delivery).
    AlreadyDone,
}

/// The run lease of one kind as stored, for `GET /v1/leases`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseInfo {
    /// The kind.
    pub kind: TargetKind,
    /// The run holding (or last holding) the lease; `None` when none ever did or an operator
    /// released it.
    pub holder: Option<String>,
    /// When the lease ends, epoch ms; 0 when released. The lease is held while this is not
    /// before now.
    pub until_ms: i64,
    /// The event id the last finished run handled.
    pub done_event: Option<String>,
    /// The probe location whose lease it is, for a location other than the home one (each
    /// location runs its own rounds); `None` for the home location or a single one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The shard whose lease this is, for a run that fanned out (each shard's worker holds its
    /// own lease, [`crate::ports::Sharded`]); `None` for the kind's whole lease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
}

/// The run lease: one run per kind at a time, and each scheduled event handled once. A run
/// takes it for a short time ([`crate::lease::LEASE_MS`]) and renews it while it works
/// ([`crate::lease::hold_lease`]). On a store narrowed to a shard
/// ([`crate::ports::Sharded::for_shard`]) every method but [`RunLease::leases`] works on that
/// shard's own lease of the kind, so the shards of one run hold theirs in parallel and a second
/// task for the same shard is refused.
pub trait RunLease {
    /// Takes the lease of `kind` for `holder` until `until_ms` (a conditional write), unless
    /// another holder's lease is still running at `now_ms`, or `event_id` is the event the last
    /// finished run handled.
    fn acquire_lease(
        &self,
        kind: TargetKind,
        holder: &str,
        now_ms: i64,
        until_ms: i64,
        event_id: Option<&str>,
    ) -> impl Future<Output = Result<Lease, StoreError>> + Send;
    /// Extends `holder`'s lease of `kind` to `until_ms` (a conditional write on the holder).
    /// Returns `false`, writing nothing, when `holder` no longer holds it: another run took it
    /// after it expired, the holder released it, or an operator did.
    fn renew_lease(
        &self,
        kind: TargetKind,
        holder: &str,
        until_ms: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Ends `holder`'s lease (if it still holds it) and records `event_id` as handled.
    fn release_lease(
        &self,
        kind: TargetKind,
        holder: &str,
        event_id: Option<&str>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Ends the lease of `kind` whoever holds it (an operator's release of a stuck lease): the
    /// holder is removed, so its renewals fail from now on; the handled event is kept. Returns
    /// whether a lease was running at `now_ms`.
    fn break_lease(
        &self,
        kind: TargetKind,
        now_ms: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The stored lease of each kind that has one, in [`TargetKind::ALL`] order, each kind's
    /// whole lease first, then its shards' leases by shard (whichever view asks).
    fn leases(&self) -> impl Future<Output = Result<Vec<LeaseInfo>, StoreError>> + Send;
}

/// A store whose run leases belong to one probe location: with several locations deployed,
/// every location runs its own rounds of a kind at the same minute, so each takes its own
/// lease (the home location keeps the plain one).
pub trait Located: Sized {
    /// A view of the same table whose run leases are `location`'s. Narrowing it to a shard
    /// afterwards keeps the location.
    fn at_location(&self, location: &str) -> Self;
}

//! Rollups, digests and the uptime table the digest function writes.

use std::future::Future;

use serde::{Deserialize, Serialize};

use super::StoreError;
use lookout_core::domain::TargetKind;

/// A target's uptime windows as the digest last computed them, for the status page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetUptime {
    /// The target's id.
    pub target_id: String,
    /// 24 hours, 7, 30 and 365 days.
    pub windows: Vec<lookout_core::digest::rollup::Uptime>,
    /// The status page's uptime bar: up to [`lookout_core::digest::rollup::BAR_DAYS`] days,
    /// oldest first, the last being today so far. Days without a rollup are left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days: Vec<lookout_core::digest::rollup::DayCell>,
}

/// Rollups, digests and the uptime table the digest function writes.
pub trait DigestStore {
    /// Writes rollups, overwriting those of the same target, period and start (so computing an
    /// hour again is idempotent). Hours are kept [`lookout_core::digest::rollup::HOUR_ROLLUP_TTL_DAYS`]
    /// days, days [`lookout_core::digest::rollup::ROLLUP_TTL_DAYS`].
    fn put_rollups(
        &self,
        rollups: &[lookout_core::digest::rollup::Rollup],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The rollups of `period` of one target (`*` with `kind`: all targets of the kind
    /// together) that start from `since_ms` to before `until_ms`, oldest first.
    fn rollups(
        &self,
        target_id: &str,
        kind: TargetKind,
        period: lookout_core::digest::rollup::Period,
        since_ms: i64,
        until_ms: i64,
    ) -> impl Future<Output = Result<Vec<lookout_core::digest::rollup::Rollup>, StoreError>> + Send;
    /// Writes digests, overwriting those of the same scope and start. Kept
    /// [`lookout_core::digest::report::DIGEST_TTL_DAYS`] days.
    fn put_digests(
        &self,
        digests: &[lookout_core::digest::report::Digest],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The newest `limit` digests of `scope` (a target id or `global`) that start before
    /// `before_ms`, newest first.
    fn digests(
        &self,
        scope: &str,
        before_ms: i64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<lookout_core::digest::report::Digest>, StoreError>> + Send;
    /// Replaces the uptime table of `kind`.
    fn put_uptime(
        &self,
        kind: TargetKind,
        table: &[TargetUptime],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The uptime table of `kind` (empty before the first digest).
    fn uptime_table(
        &self,
        kind: TargetKind,
    ) -> impl Future<Output = Result<Vec<TargetUptime>, StoreError>> + Send;
}

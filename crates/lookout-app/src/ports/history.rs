//! Check results kept per run.

use std::future::Future;

use super::StoreError;
use lookout_core::domain::{CheckResult, TargetKind};

/// Check results kept by `record_run` (with a TTL).
pub trait HistoryStore {
    /// The results of `kind` checked from `since_ms` to `until_ms` (epoch ms, at most 7 days
    /// apart), oldest first. `targets` is how many targets the kind has: the history of an hour
    /// is kept in chunks of 100 of them.
    fn history(
        &self,
        kind: TargetKind,
        since_ms: i64,
        until_ms: i64,
        targets: usize,
    ) -> impl Future<Output = Result<Vec<CheckResult>, StoreError>> + Send;
}

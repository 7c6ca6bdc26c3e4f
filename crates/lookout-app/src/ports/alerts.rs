//! The alert history and the alert outbox.

use std::future::Future;

use serde::{Deserialize, Serialize};

use super::StoreError;
use lookout_core::domain::Alert;

/// An alert as the outbox keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRecord {
    /// The alert.
    pub alert: Alert,
    /// Whether it was published to the topic.
    pub published: bool,
}

/// The alert history.
pub trait AlertLog {
    /// Alerts raised from `since_ms` to `until_ms` (epoch ms, at most 31 days apart), oldest
    /// first.
    fn alerts(
        &self,
        since_ms: i64,
        until_ms: i64,
    ) -> impl Future<Output = Result<Vec<AlertRecord>, StoreError>> + Send;
}

/// The alert outbox: alerts written with their state change, published afterwards.
///
/// A row is `pending`, then `claimed` by one delivery (until its claim expires), then
/// `published`; see [`deliver`] for how the three make one publish per alert.
pub trait Outbox {
    /// Every alert not yet `published`, however old, oldest first: `pending` rows and `claimed`
    /// ones (whose delivery may still be under way, or whose claim expired). `now_ms` is for
    /// stores that window by time.
    fn pending_alerts(
        &self,
        now_ms: i64,
    ) -> impl Future<Output = Result<Vec<Alert>, StoreError>> + Send;
    /// Claims an alert's row for one delivery by `holder` until `claim_until_ms` (epoch ms), in
    /// one conditional write: the row must be `pending`, or `claimed` with a claim that expired
    /// before `now_ms`. Returns `false` (and writes nothing) when the row is published, another
    /// holder's claim still runs, or there is no such row.
    fn claim_alert(
        &self,
        alert: &Alert,
        holder: &str,
        now_ms: i64,
        claim_until_ms: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Marks an alert `published`, conditional on `holder` still holding its claim.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when `holder` does not hold the claim (it expired and another
    /// delivery took it, or the row is published or gone); [`StoreError::Backend`] when the
    /// write failed.
    fn mark_published(
        &self,
        alert: &Alert,
        holder: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Gives `holder`'s claim back: the row is `pending` again, for the next run. Does nothing
    /// when `holder` no longer holds the claim.
    fn release_claim(
        &self,
        alert: &Alert,
        holder: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Writes alerts that belong to no single state change (group critical, storm, daily
    /// report) as `pending` rows. An alert whose row exists (same `at` and key) is left alone, so
    /// computing it again never sends it twice. Returns the alerts that were new.
    fn enqueue(
        &self,
        alerts: &[Alert],
    ) -> impl Future<Output = Result<Vec<Alert>, StoreError>> + Send;
}

//! Incidents and scheduled maintenance ([`Incident`]) and the status pages' settings
//! ([`StatusPage`]).

use std::future::Future;

use super::StoreError;
use lookout_core::domain::incident::Incident;
use lookout_core::domain::status_page::StatusPage;

/// Incidents and maintenance windows, kept [`lookout_core::domain::incident::INCIDENT_TTL_DAYS`]
/// days after they close.
pub trait IncidentStore {
    /// Writes `incident` on the condition that the stored one has version
    /// `incident.version - 1` (no stored one when `incident.version` is 1).
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the stored version is another; the others as for any write.
    fn put_incident(
        &self,
        incident: &Incident,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// One incident by id.
    fn incident(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Incident>, StoreError>> + Send;
    /// The incidents and maintenance windows that were open at some time from `since_ms` to
    /// `until_ms` (epoch ms): opened before `until_ms` and not resolved before `since_ms`
    /// (a maintenance window by its `starts_at`/`ends_at` when it has them, so a window
    /// announced ahead shows). Newest `opened_at` first.
    fn incidents(
        &self,
        since_ms: i64,
        until_ms: i64,
    ) -> impl Future<Output = Result<Vec<Incident>, StoreError>> + Send;
    /// The incidents not resolved, of either source, newest first.
    fn open_incidents(&self) -> impl Future<Output = Result<Vec<Incident>, StoreError>> + Send;
    /// Deletes an incident; answers whether there was one.
    fn delete_incident(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// The status pages' settings.
pub trait StatusPageStore {
    /// Writes `page` on the condition that the stored one has version `page.version - 1`
    /// (no stored one when `page.version` is 1).
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the stored version is another.
    fn put_status_page(
        &self,
        page: &StatusPage,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// One page by slug.
    fn status_page(
        &self,
        slug: &str,
    ) -> impl Future<Output = Result<Option<StatusPage>, StoreError>> + Send;
    /// Every page, by slug.
    fn status_pages(&self) -> impl Future<Output = Result<Vec<StatusPage>, StoreError>> + Send;
    /// Deletes a page; answers whether there was one.
    fn delete_status_page(
        &self,
        slug: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

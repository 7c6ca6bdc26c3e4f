//! Service level objectives ([`Slo`]) and what is kept beside each ([`SloRecord`]: the SLI's
//! buckets and the firing alerts).

use std::future::Future;

use super::StoreError;
use lookout_core::domain::slo::{Slo, SloRecord};
use lookout_core::domain::Alert;

/// SLO definitions and records.
pub trait SloStore {
    /// Writes `slo` on the condition that the stored one has version `slo.version - 1` (no
    /// stored one when `slo.version` is 1).
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the stored version is another; the others as for any write.
    fn put_slo(&self, slo: &Slo) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// One SLO by id.
    fn slo(&self, id: &str) -> impl Future<Output = Result<Option<Slo>, StoreError>> + Send;
    /// Every SLO, by id.
    fn slos(&self) -> impl Future<Output = Result<Vec<Slo>, StoreError>> + Send;
    /// Deletes an SLO and its record; answers whether there was one.
    fn delete_slo(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The record of one SLO (`None` before its first check was counted).
    fn slo_record(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<SloRecord>, StoreError>> + Send;
    /// The records of every SLO that has one, by SLO id.
    fn slo_records(&self) -> impl Future<Output = Result<Vec<SloRecord>, StoreError>> + Send;
    /// Writes `record` on the condition that the stored one has version `record.version - 1`
    /// (none stored when it is 1) and, in the same write, `alerts` as pending outbox rows (as
    /// [`super::Outbox::enqueue`] would; a row that exists is left alone). So an alert is
    /// written exactly when the record that raised it is. Returns the alerts that were new.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the stored version is another (nothing is written); the
    /// others as for any write.
    fn commit_slo_record(
        &self,
        record: &SloRecord,
        alerts: &[Alert],
    ) -> impl Future<Output = Result<Vec<Alert>, StoreError>> + Send;
}

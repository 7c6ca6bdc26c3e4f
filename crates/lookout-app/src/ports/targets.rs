//! Target definitions.

use std::future::Future;

use super::StoreError;
use lookout_core::domain::{Target, TargetKind};

/// Target definitions.
pub trait TargetStore {
    /// Every target of `kind` (or of both kinds), enabled or not, sorted by id.
    fn list_targets(
        &self,
        kind: Option<TargetKind>,
    ) -> impl Future<Output = Result<Vec<Target>, StoreError>> + Send;

    /// Creates a target; [`StoreError::Conflict`] when its id exists. Returns it with version 1.
    fn create_target(
        &self,
        target: &Target,
    ) -> impl Future<Output = Result<Target, StoreError>> + Send;
    /// One target by id.
    fn get_target(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Target>, StoreError>> + Send;
    /// Replaces a target if its stored version is `expected_version`; returns it with the
    /// version bumped.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the stored version moved on or the target is gone.
    fn update_target(
        &self,
        target: &Target,
        expected_version: u64,
    ) -> impl Future<Output = Result<Target, StoreError>> + Send;
    /// Deletes a target's definition and state item; `false` when there was none.
    fn delete_target(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The definitions' version: a number that every definitions write through this port
    /// (create, update, delete, by any instance) moves on, `0` before the first. API instances
    /// read it (one small, strongly consistent read) to know whether what they cached from the
    /// definitions is still current. Opaque: compare it for equality only.
    fn definitions_version(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

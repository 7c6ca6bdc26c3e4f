//! Heartbeat (push) targets' pings ([`PingRecord`]): written by the push route, read by the
//! probe run that turns them into check results.

use std::collections::HashMap;
use std::future::Future;

use super::StoreError;
use lookout_core::domain::heartbeat::{Ping, PingRecord};

/// Ping records, one per heartbeat target.
pub trait HeartbeatStore {
    /// Adds `ping` to the record of `target_id` ([`PingRecord::add`]), creating it, and
    /// answers the record as written. Concurrent pings of one target are all kept: the write
    /// is conditional on the record's version and read again on a conflict.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when concurrent writers won every try (the adapter's tries
    /// are enough for ten pings of one target at once); the others
    /// as for any write.
    fn record_ping(
        &self,
        target_id: &str,
        ping: Ping,
    ) -> impl Future<Output = Result<PingRecord, StoreError>> + Send;
    /// The record of one target (`None` before its first ping).
    fn ping_record(
        &self,
        target_id: &str,
    ) -> impl Future<Output = Result<Option<PingRecord>, StoreError>> + Send;
    /// The records of these targets that have one, by target id.
    fn ping_records(
        &self,
        target_ids: &[String],
    ) -> impl Future<Output = Result<HashMap<String, PingRecord>, StoreError>> + Send;
    /// Deletes the record of a target (its definition was deleted); answers whether there was
    /// one.
    fn delete_ping_record(
        &self,
        target_id: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

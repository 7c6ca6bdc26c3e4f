//! Lookout's domain: what a target is, what a check found, how a status changes, which target of
//! a group is active, what an alert says, and the hourly rollups, anomaly detectors and digests
//! computed from check results.
//!
//! Pure code: no I/O, no async runtime, no AWS types (Cargo enforces it: this crate depends on
//! none of them). Everything here is tested with plain unit and property tests.
//! - [`domain`]: targets and their validation, check results, the status state machine,
//!   failover order, alerts, maintenance windows, storm grouping, secret references.
//! - [`digest`]: hourly rollups, anomaly detection, digests and the daily report.
//! - [`time`]: epoch-millisecond helpers and RFC 3339 formatting (jiff).
//! - [`redact`]: removal of credentials and tokens from any text that leaves the process.

pub mod digest;
pub mod domain;
pub mod notify;
pub mod redact;
pub mod time;

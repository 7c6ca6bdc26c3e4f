//! Lookout: serverless health monitoring of HTTP servers and forward-proxy pools.
//!
//! The crate is the part every Lambda function shares:
//! - [`domain`]: targets, check results, the status state machine, failover order and alerts;
//!   pure code, no I/O and no AWS types.
//! - [`probe`]: the probe engine that runs one check of a target over HTTP.
//! - [`usecases`]: the flows the functions run (the probe run, the digest run) against the ports
//!   and the [`clock`] (the time, settable in tests).
//! - [`ports`]: the narrow traits the functions depend on, and [`ports::deliver`] (the outbox).
//! - [`lease`]: short run leases renewed by a heartbeat.
//! - [`retry`]: the one retry policy (backon) for requests sent again after a pause.
//! - [`adapters`]: DynamoDB, SNS and S3 implementations of the ports (the only code that sees
//!   aws-sdk types) and in-memory fakes for unit tests.
//! - [`digest`]: hourly rollups, anomaly detection, digests and the daily report.
//! - [`dump`]: table dumps to object storage, their retention, and restores.
//! - [`secrets`]: secret references in definitions, resolved when a check runs.
//! - [`config`]: settings read once from the environment.

pub mod adapters;
pub mod client;
pub mod clock;
pub mod config;
pub mod digest;
pub mod domain;
pub mod dump;
pub mod lease;
pub mod ports;
pub mod probe;
pub mod redact;
pub mod retry;
pub mod secrets;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod time;
pub mod usecases;

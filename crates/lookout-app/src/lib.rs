//! Lookout's application layer: the ports the functions depend on, the use cases that combine
//! them, the probe engine, dumps and restores, run leases and settings.
//!
//! No AWS SDK here (Cargo enforces it): the adapters that implement the ports on DynamoDB, SNS,
//! S3 and the rest live in `lookout-aws`. The test kit (feature `testkit`, for dev-dependencies
//! only) adds in-memory adapters of every port ([`memory`]) and loopback servers ([`testing`]).
//! - [`ports`]: narrow traits over storage, publishing and secrets; [`ports::StoreError`].
//! - [`usecases`]: the probe run, the digest run, alert delivery through the outbox.
//! - [`clock`]: the clock port the use cases read the time from.
//! - [`probe`]: the probe engine (HTTP, proxies, TLS, the address guard).
//! - [`notify`]: the HTTP sender of notifications (Slack, Telegram, ...) and webhook signatures.
//! - [`secrets`]: secret references resolved when a check runs.
//! - [`dump`]: table dumps to object storage, their retention, verification and restores.
//! - [`lease`]: short run leases renewed by a heartbeat.
//! - [`retry`]: the one retry policy (backon) for batch writes and restores.
//! - [`config`]: settings read once from the environment.

pub mod clock;
pub mod config;
pub mod dump;
pub mod lease;
#[cfg(any(test, feature = "testkit"))]
pub mod memory;
pub mod narrative;
pub mod notify;
pub mod ports;
pub mod probe;
pub mod retry;
pub mod secrets;
#[cfg(any(test, feature = "testkit"))]
pub mod testing;
pub mod usecases;

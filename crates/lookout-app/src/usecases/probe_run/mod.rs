//! The probe run: probes the enabled targets of one kind (or both) that are due, applies the
//! status state machine, commits status changes with their alerts (outbox), publishes the
//! alerts, and records the snapshot, the history and a run record.
//!
//! - [`schedule`]: when a target is due, the repeat window, the deadline.
//! - [`run`]: one invocation: the run leases, the pending alerts, the rounds.
//! - `round`: one round of one kind; `commit`: a change and its alerts, rebased on a conflict;
//!   `summary`: the kind's summary after a round; `heartbeats`: heartbeat (push) targets judged
//!   from their ping records (one read per round), never probed.

use std::sync::Arc;

use serde::Serialize;

use crate::clock::{Clock, SystemClock};
use crate::ports::{RunRecord, RunStore, StoreError};
use lookout_core::domain::grouped::DEFAULT_STORM_THRESHOLD;
use lookout_core::domain::{Alert, TargetKind};

mod commit;
pub mod fanout;
mod heartbeats;
pub mod locations;
mod round;
pub mod run;
pub mod schedule;
mod slo;
mod summary;

pub use locations::{LocationSetup, DEFAULT_LOCATION_GRACE_S};
pub use run::run;
pub use schedule::{
    is_due, next_due_ms, usable_deadline, DEFAULT_WINDOW_S, DUE_SLACK_MS, FINISH_MARGIN_MS,
    MAX_LAMBDA_TIMEOUT_MS, SCHEDULE_PERIOD_S,
};

/// Every port a probe run uses, under one name: definitions, states and history, run records,
/// the outbox, the run lease, the summaries, the locations' verdicts and the status page's
/// incidents (each delivered alert is recorded in them) and the SLOs (each round's checks are
/// counted in them). Any type with all of them has it.
pub trait ProbeStore:
    crate::ports::TargetStore
    + crate::ports::StateStore
    + RunStore
    + crate::ports::Outbox
    + crate::ports::RunLease
    + crate::ports::SummaryStore
    + crate::ports::LocationStore
    + crate::ports::IncidentStore
    + crate::ports::SloStore
    + crate::ports::HeartbeatStore
    + Sync
{
}

impl<T> ProbeStore for T where
    T: crate::ports::TargetStore
        + crate::ports::StateStore
        + RunStore
        + crate::ports::Outbox
        + crate::ports::RunLease
        + crate::ports::SummaryStore
        + crate::ports::LocationStore
        + crate::ports::IncidentStore
        + crate::ports::SloStore
        + crate::ports::HeartbeatStore
        + Sync
{
}

/// Why a run failed. The function returns it to Lambda so retries and failure destinations
/// work.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The event is not one the probe function understands (not worth retrying).
    #[error("invalid event: {0}")]
    InvalidEvent(String),
    /// Storage failed (worth retrying).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Some status changes could not be committed (count, then `id: error` joined by `; `);
    /// they are retried by the next run.
    #[error("{0} status change(s) not committed: {1}")]
    Uncommitted(usize, String),
}

impl ProbeError {
    /// The error's type as Lambda reports it (`errorType`): `InvalidEvent`, `StoreError` or
    /// `Uncommitted`.
    pub fn error_type(&self) -> &'static str {
        match self {
            ProbeError::InvalidEvent(_) => "InvalidEvent",
            ProbeError::Store(_) => "StoreError",
            ProbeError::Uncommitted(..) => "Uncommitted",
        }
    }
}

/// What an invocation is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeRequest {
    /// Kinds to probe, in order.
    pub kinds: Vec<TargetKind>,
    /// Probe every enabled target, due or not (first round only).
    pub force: bool,
    /// Seconds during which targets with `interval_s` under a minute are checked again
    /// (event field `window_s`, 0 to 300; default [`DEFAULT_WINDOW_S`], or 0 with `force`).
    pub window_s: u32,
    /// The invocation's deadline (epoch ms), from the Lambda context; `None` for no limit.
    pub deadline_ms: Option<i64>,
    /// The event's `id` (EventBridge scheduled events carry one): a second delivery of the same
    /// id after its run finished is not run again.
    pub event_id: Option<String>,
}

impl ProbeRequest {
    /// Every enabled target of `kinds` now, one round (`force`, no repeat window, no deadline,
    /// no event id): what a manual run asks, and what the tests and benches use.
    pub fn forced(kinds: &[TargetKind]) -> Self {
        ProbeRequest {
            kinds: kinds.to_vec(),
            force: true,
            window_s: 0,
            deadline_ms: None,
            event_id: None,
        }
    }
}

/// What one invocation did.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// One record per kind and round (targets with `interval_s` under a minute are checked in
    /// several rounds of one invocation).
    pub runs: Vec<RunRecord>,
    /// Alerts from earlier runs that were still pending and are now published.
    pub retried_alerts: usize,
    /// The alerts raised by this invocation.
    pub alerts: Vec<Alert>,
    /// Ids of due targets that were not checked (or whose check was cut) because the
    /// invocation's deadline came first; the next invocation takes them.
    pub skipped: Vec<String>,
    /// Kinds this invocation left alone, and why: another run holds the kind's lease, or the
    /// event was already handled.
    pub not_run: Vec<String>,
    /// Store errors reading the SLOs or reading and writing their records (logged; the status
    /// work went on; see `probe_run::slo`).
    #[serde(skip_serializing_if = "is_zero")]
    pub slo_errors: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// How runs behave, from the settings.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Probes in flight at once.
    pub concurrency: usize,
    /// `STORM_THRESHOLD`: more status changes than this in one round of one kind are sent as
    /// one grouped alert.
    pub storm_threshold: usize,
    /// The run lease's length and heartbeat (default [`crate::lease::LEASE_MS`], renewed
    /// every [`crate::lease::HEARTBEAT_MS`]).
    pub lease: crate::lease::LeaseTiming,
    /// Resolves the targets' secret references before each check (`lookout_app::secrets::check`).
    pub secrets: crate::secrets::Secrets,
    /// Where the run reads the time (check times, due times, lease times).
    pub clock: Arc<dyn Clock>,
    /// The probe locations, when several are deployed (see [`locations`]); `None`: this run
    /// alone decides every status.
    pub locations: Option<LocationSetup>,
    /// Whether each round writes its own run record (default true). A shard worker's rounds do
    /// not: their counts go to the record of the run they belong to
    /// ([`crate::ports::RunStore::add_shard_run`]).
    pub record_runs: bool,
}

impl RunConfig {
    /// `concurrency` probes at once, the default storm threshold and lease timing, no secret
    /// resolver (a reference fails its check) and the system clock.
    pub fn new(concurrency: usize) -> Self {
        RunConfig {
            concurrency,
            storm_threshold: DEFAULT_STORM_THRESHOLD,
            lease: crate::lease::LeaseTiming::default(),
            secrets: crate::secrets::Secrets::none(),
            clock: SystemClock::shared(),
            locations: None,
            record_runs: true,
        }
    }
}

#[cfg(test)]
mod quiet_tests;
#[cfg(test)]
mod tests;

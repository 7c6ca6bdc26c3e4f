//! In-memory fakes of the ports, for unit tests of the domain and the handlers. They keep the
//! same rules as the real adapters: conditional create, versioned state writes, pending alerts.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::ports::{KindSummary, Latest, RunRecord, StoreError, TargetUptime};
use lookout_core::digest::report::Digest;
use lookout_core::digest::rollup::{Period, Rollup};
use lookout_core::domain::{Alert, Shard, Target, TargetKind, TargetState};

mod alerts;
mod audit;
mod digests;
mod heartbeats;
mod incidents;
mod lease;
mod locations;
mod narratives;
mod notify;
mod publisher;
mod runs;
mod shards;
mod slos;
mod state;
mod targets;
#[cfg(test)]
mod tests;

pub use notify::MemoryMail;
pub use publisher::MemoryPublisher;

#[derive(Default)]
struct Tables {
    targets: BTreeMap<String, Target>,
    /// Moved on by every definitions write ([`crate::ports::TargetStore::definitions_version`]).
    defs_version: u64,
    states: HashMap<String, TargetState>,
    /// (kind, shard) → that view's snapshot ([`Shard::WHOLE`]: the whole view's) and the
    /// layout generation it was written under.
    snapshots: HashMap<(TargetKind, Shard), (u64, Vec<Latest>)>,
    /// (kind, shard of the view that recorded it, run time, entry).
    history: Vec<(TargetKind, Shard, i64, Latest)>,
    runs: Vec<RunRecord>,
    /// (alert, published)
    outbox: Vec<(Alert, bool)>,
    /// (at, key) of an outbox row → (holder, claim until ms), while claimed.
    claims: HashMap<(i64, String), (String, i64)>,
    /// (kind, shard) → lease ([`Shard::WHOLE`]: the kind's whole lease).
    leases: BTreeMap<(TargetKind, Shard, Option<String>), LeaseRow>,
    overrides: HashMap<(TargetKind, String), TargetState>,
    /// (kind, shard) → summary ([`Shard::WHOLE`]: the whole view's).
    summaries: BTreeMap<(TargetKind, Shard), KindSummary>,
    /// kind → its shard layout, once set.
    layouts: HashMap<TargetKind, shards::Layout>,
    /// (target id or `*<kind>`, period, start) → rollup
    rollups: BTreeMap<(String, Period, i64), Rollup>,
    /// (scope, start) → digest
    digests: BTreeMap<(String, i64), Digest>,
    uptime: HashMap<TargetKind, Vec<TargetUptime>>,
    /// id → incident or maintenance window
    incidents: BTreeMap<String, lookout_core::domain::incident::Incident>,
    /// slug → status page
    pages: BTreeMap<String, lookout_core::domain::status_page::StatusPage>,
    /// id → SLO
    slos: BTreeMap<String, lookout_core::domain::slo::Slo>,
    pings: BTreeMap<String, lookout_core::domain::heartbeat::PingRecord>,
    /// SLO id → its record (buckets and firing alerts)
    slo_records: BTreeMap<String, lookout_core::domain::slo::SloRecord>,
}

#[derive(Default)]
struct LeaseRow {
    /// Empty when none holds it (never taken, or broken by an operator).
    holder: String,
    until_ms: i64,
    done_event: Option<String>,
}

/// Every table port in memory. [`crate::ports::Sharded::for_shard`] gives a view of the same
/// tables narrowed to a shard, with the DynamoDB adapter's rules (see `shards.rs`).
pub struct MemoryStore {
    s: Arc<Shared>,
    /// The shard this view is narrowed to.
    shard: Shard,
    /// The probe location whose run leases this view takes (`None`: the plain ones).
    location: Option<String>,
}

/// The tables every view of one [`MemoryStore`] shares.
#[derive(Default)]
struct Shared {
    t: Mutex<Tables>,
    failing_commits: AtomicBool,
    /// Incident writes fail while set (`incidents.rs`): as unavailable, a retryable error.
    failing_incidents: AtomicBool,
    /// Incident writes are refused while set (`incidents.rs`): as invalid, not retryable.
    refusing_incidents: AtomicBool,
    /// A stale listing of the definitions, while one is frozen.
    frozen_listing: Mutex<Option<Vec<Target>>>,
    /// Notification channels and delivery records (`notify.rs`).
    notify: Mutex<notify::NotifyTables>,
    /// Location verdicts and heartbeats (`locations.rs`).
    locations: Mutex<locations::LocationTables>,
    /// The audit log (`audit.rs`).
    audit: Mutex<Vec<lookout_core::domain::audit::AuditEntry>>,
    /// Audit writes fail while set (`audit.rs`): as unavailable, a retryable error.
    failing_audit: AtomicBool,
    /// A kind whose run records (results, snapshot) fail while set (`state.rs`): as unavailable.
    failing_kind: Mutex<Option<TargetKind>>,
    /// SLO record reads and writes fail while set (`slos.rs`): as unavailable.
    failing_slo_records: AtomicBool,
    /// Reads of one SLO record so far (`slos.rs`).
    slo_record_reads: std::sync::atomic::AtomicUsize,
    /// Ping record reads fail while set (`heartbeats.rs`): as unavailable.
    failing_pings: AtomicBool,
    /// Calls of `ping_records` so far (`heartbeats.rs`).
    ping_records_calls: std::sync::atomic::AtomicUsize,
    /// The narrative ledger (`narratives.rs`).
    narratives: Mutex<narratives::NarrativeTables>,
    /// Ledger calls fail while set (`narratives.rs`): as unavailable.
    failing_narratives: AtomicBool,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore {
            s: Arc::default(),
            shard: Shard::WHOLE,
            location: None,
        }
    }
}

impl MemoryStore {
    /// Makes every later status commit fail with a backend error (`true`), or succeed again.
    pub fn set_failing_commits(&self, failing: bool) {
        self.s.failing_commits.store(failing, Ordering::SeqCst);
    }

    /// Makes every later record of a run of `kind` (its results and snapshot) fail with an
    /// unavailable store (`Some`), or succeed again (`None`): one kind's table trouble.
    pub fn set_failing_kind(&self, kind: Option<TargetKind>) {
        *self
            .s
            .failing_kind
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = kind;
    }

    /// Makes every later read or write of an SLO record fail with an unavailable store
    /// (`true`), or succeed again.
    pub fn set_failing_slo_records(&self, failing: bool) {
        self.s.failing_slo_records.store(failing, Ordering::SeqCst);
    }

    /// Makes every later read of ping records fail with an unavailable store (`true`), or
    /// succeed again.
    pub fn set_failing_pings(&self, failing: bool) {
        self.s.failing_pings.store(failing, Ordering::SeqCst);
    }

    /// How many times [`crate::ports::HeartbeatStore::ping_records`] was called.
    pub fn ping_records_calls(&self) -> usize {
        self.s.ping_records_calls.load(Ordering::SeqCst)
    }

    /// How many times one SLO record was read ([`crate::ports::SloStore::slo_record`]).
    pub fn slo_record_reads(&self) -> usize {
        self.s.slo_record_reads.load(Ordering::SeqCst)
    }

    /// Makes every later incident write fail with an unavailable store (`true`, a retryable
    /// error), or succeed again.
    pub fn set_failing_incidents(&self, failing: bool) {
        self.s.failing_incidents.store(failing, Ordering::SeqCst);
    }

    /// Makes every later incident write be refused as invalid (`true`, an error not worth
    /// retrying, as DynamoDB's answer to an item over its size), or succeed again.
    pub fn set_refusing_incidents(&self, refusing: bool) {
        self.s.refusing_incidents.store(refusing, Ordering::SeqCst);
    }

    /// The error incident writes fail with now, if any.
    fn incidents_failure(&self) -> Option<StoreError> {
        if self.s.refusing_incidents.load(Ordering::SeqCst) {
            Some(StoreError::Invalid("incident writes are refused".into()))
        } else if self.s.failing_incidents.load(Ordering::SeqCst) {
            Some(StoreError::Unavailable(
                "incident writes are failing".into(),
            ))
        } else {
            None
        }
    }

    /// Freezes `list_targets` at the definitions stored now (`true`) until unfrozen (`false`),
    /// as DynamoDB's eventually consistent index (`gsi1`) may list definitions as they were a
    /// moment before a write. Reads by id stay current.
    pub fn freeze_listing(&self, frozen: bool) {
        let now = frozen.then(|| self.lock().targets.values().cloned().collect());
        *self
            .s
            .frozen_listing
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = now;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.s.t.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stored state items (written on status change only), by id.
    pub fn states(&self) -> HashMap<String, TargetState> {
        self.lock().states.clone()
    }

    /// Every outbox row with its published flag.
    pub fn outbox(&self) -> Vec<(Alert, bool)> {
        self.lock().outbox.clone()
    }

    /// Number of history rows (one per target per run in memory).
    pub fn history_len(&self) -> usize {
        self.lock().history.len()
    }

    /// Run records, oldest first.
    pub fn runs(&self) -> Vec<RunRecord> {
        self.lock().runs.clone()
    }
}

//! In-memory fakes of the ports, for unit tests of the domain and the handlers. They keep the
//! same rules as the real adapters: conditional create, versioned state writes, pending alerts.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::ports::{KindSummary, Latest, RunRecord, TargetUptime};
use lookout_core::digest::report::Digest;
use lookout_core::digest::rollup::{Period, Rollup};
use lookout_core::domain::{Alert, Target, TargetKind, TargetState};

mod alerts;
mod digests;
mod lease;
mod locations;
mod notify;
mod publisher;
mod runs;
mod state;
mod targets;

pub use notify::MemoryMail;
pub use publisher::MemoryPublisher;

#[derive(Default)]
struct Tables {
    targets: BTreeMap<String, Target>,
    states: HashMap<String, TargetState>,
    snapshots: HashMap<TargetKind, Vec<Latest>>,
    history: Vec<(TargetKind, i64, Latest)>,
    runs: Vec<RunRecord>,
    /// (alert, published)
    outbox: Vec<(Alert, bool)>,
    /// (at, key) of an outbox row → (holder, claim until ms), while claimed.
    claims: HashMap<(i64, String), (String, i64)>,
    leases: HashMap<TargetKind, LeaseRow>,
    overrides: HashMap<(TargetKind, String), TargetState>,
    summaries: BTreeMap<TargetKind, KindSummary>,
    /// (target id or `*<kind>`, period, start) → rollup
    rollups: BTreeMap<(String, Period, i64), Rollup>,
    /// (scope, start) → digest
    digests: BTreeMap<(String, i64), Digest>,
    uptime: HashMap<TargetKind, Vec<TargetUptime>>,
}

#[derive(Default)]
struct LeaseRow {
    /// Empty when none holds it (never taken, or broken by an operator).
    holder: String,
    until_ms: i64,
    done_event: Option<String>,
}

/// Every table port in memory.
#[derive(Default)]
pub struct MemoryStore {
    t: Mutex<Tables>,
    failing_commits: AtomicBool,
    /// A stale listing of the definitions, while one is frozen.
    frozen_listing: Mutex<Option<Vec<Target>>>,
    /// Notification channels and delivery records (`notify.rs`).
    notify: Mutex<notify::NotifyTables>,
    /// Location verdicts and heartbeats (`locations.rs`).
    locations: Mutex<locations::LocationTables>,
}

impl MemoryStore {
    /// Makes every later status commit fail with a backend error (`true`), or succeed again.
    pub fn set_failing_commits(&self, failing: bool) {
        self.failing_commits.store(failing, Ordering::SeqCst);
    }

    /// Freezes `list_targets` at the definitions stored now (`true`) until unfrozen (`false`),
    /// as DynamoDB's eventually consistent index (`gsi1`) may list definitions as they were a
    /// moment before a write. Reads by id stay current.
    pub fn freeze_listing(&self, frozen: bool) {
        let now = frozen.then(|| self.lock().targets.values().cloned().collect());
        *self
            .frozen_listing
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = now;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.t.lock().unwrap_or_else(|p| p.into_inner())
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

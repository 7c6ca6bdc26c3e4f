//! Target states: the latest state and result of every target, overrides, and the runs that record them.

use std::collections::HashMap;
use std::future::Future;

use serde::{Deserialize, Serialize};

use super::StoreError;
use lookout_core::domain::{Alert, CheckResult, Target, TargetKind, TargetState};

/// A target's latest state together with its latest check result, as the snapshot keeps them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Latest {
    /// The state after the latest result, or, while `pending` is not empty, the state the
    /// snapshot or the state item last kept, before those results.
    pub state: TargetState,
    /// The latest result.
    pub result: Option<CheckResult>,
    /// Results recorded after `state` was kept, oldest first: they changed neither status nor
    /// alerts, so the storage kept only them (see the DynamoDB layout). [`Latest::catch_up`]
    /// applies them. Never stored in a snapshot.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<CheckResult>,
}

impl Latest {
    /// An entry with nothing pending.
    pub fn new(state: TargetState, result: Option<CheckResult>) -> Self {
        Latest {
            state,
            result,
            pending: Vec::new(),
        }
    }

    /// Applies the pending results to the state ([`lookout_core::domain::state::catch_up`]) with the
    /// target's definition; without one (a deleted target) the state stays as kept. Either
    /// way nothing is pending afterwards.
    pub fn catch_up(&mut self, target: Option<&Target>) {
        if let (Some(t), false) = (target, self.pending.is_empty()) {
            self.state = lookout_core::domain::state::catch_up(&self.state, &self.pending, t);
        }
        self.pending.clear();
    }
}

/// How far back the results kept without a snapshot may reach before the probe rewrites the
/// snapshot, ms. It weighs the history read to catch up on every read of the latest states (at
/// most 10 runs of one-minute targets) against the snapshot's writes (every state every 10
/// minutes instead of every minute).
pub const SNAPSHOT_EVERY_MS: i64 = 10 * 60_000;

/// Applies [`Latest::catch_up`] to every entry, with the definitions of `targets`.
pub fn catch_up_all<'a>(
    latest: &mut HashMap<String, Latest>,
    targets: impl IntoIterator<Item = &'a Target>,
) {
    let by_id: HashMap<&str, &Target> = targets.into_iter().map(|t| (t.id.as_str(), t)).collect();
    for (id, l) in latest.iter_mut() {
        if !l.pending.is_empty() {
            l.catch_up(by_id.get(id.as_str()).copied());
        }
    }
}

/// States, snapshots, history and the alert outbox.
pub trait StateStore {
    /// The latest state and result of every target of `kind` that was ever checked, by id:
    /// one query on the snapshot plus the history recorded since. Entries may carry
    /// [`Latest::pending`] results: apply them with [`catch_up_all`] before using counters.
    fn latest(
        &self,
        kind: TargetKind,
    ) -> impl Future<Output = Result<HashMap<String, Latest>, StoreError>> + Send;

    /// The stored state item of a target (strongly consistent), `None` before its first change.
    fn load_state(
        &self,
        target_id: &str,
    ) -> impl Future<Output = Result<Option<TargetState>, StoreError>> + Send;

    /// Writes a status change: the new state item (conditional on `state.version`, which becomes
    /// `version + 1`) and its alerts as `pending` outbox rows, in one transaction.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the stored version moved on; nothing is written then.
    fn commit_change(
        &self,
        state: &TargetState,
        alerts: &[Alert],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Writes an operator's override like [`StateStore::commit_change`] (same condition, same
    /// transaction) plus an override row under `OVERRIDE#<kind>`, which the next probe run takes
    /// into its snapshot (the snapshot, not the state item, is what runs and the status read).
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the stored version moved on; nothing is written then.
    fn commit_override(
        &self,
        kind: TargetKind,
        state: &TargetState,
        alerts: &[Alert],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The override rows of `kind` not yet taken into a snapshot (states as written, version
    /// already bumped).
    fn overrides(
        &self,
        kind: TargetKind,
    ) -> impl Future<Output = Result<Vec<TargetState>, StoreError>> + Send;
    /// Deletes the override row of `target_id` if it still holds `version` (a newer override
    /// stays for the next run).
    fn clear_override(
        &self,
        kind: TargetKind,
        target_id: &str,
        version: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Appends the run's results (those of `latest` checked at `run_at`) to the history, with
    /// a TTL and each target's state `version`, and, when `snapshot` is true, overwrites the
    /// snapshot of `kind` with `latest`, which must then hold every target of the kind that the
    /// snapshot keeps.
    ///
    /// Without a snapshot, [`StateStore::latest`] answers the last snapshot (or, for a target
    /// whose version moved on, its state item) with the results recorded since as
    /// [`Latest::pending`]. The caller writes a snapshot whenever those results could not be
    /// replayed to the live state (see [`lookout_core::domain::state::catch_up`]) and often enough to
    /// keep them few. A store may always keep everything (the memory store does).
    fn record_run(
        &self,
        kind: TargetKind,
        run_at: i64,
        latest: &[Latest],
        snapshot: bool,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

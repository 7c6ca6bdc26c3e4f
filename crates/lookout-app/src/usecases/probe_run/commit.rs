//! Writing a round's changes: each state with its alerts in one commit; on a version conflict,
//! rebased on the stored state item and decided again.

use std::collections::HashMap;

use futures::StreamExt;

use crate::ports::{Latest, StateStore, StoreError};
use lookout_core::domain::location::QuorumDecision;
use lookout_core::domain::state::next_state_decided;
use lookout_core::domain::{next_state, Alert, CheckResult, Target, TargetState};

/// Status commits in flight at once at the end of a round.
const COMMIT_CONCURRENCY: usize = 16;

/// A check whose state must be written: a status change, or an alert without one (reminder,
/// certificate, traffic).
pub(super) struct Change<'a> {
    pub target: &'a Target,
    pub prev: TargetState,
    pub next: TargetState,
    pub alerts: Vec<Alert>,
    pub result: CheckResult,
    /// The locations' quorum behind `next` (several locations deployed), applied again on a
    /// rebase.
    pub decision: Option<QuorumDecision>,
}

/// What the commits of a round did.
pub(super) struct Committed {
    /// Status changes committed.
    pub status_changes: usize,
    /// Alerts written with them.
    pub alerts: Vec<Alert>,
    /// `id: error` of the changes that could not be committed.
    pub errors: Vec<String>,
}

/// The state machine plus maintenance: inside a maintenance window the state changes as usual
/// but no alert is raised. With a quorum `decision` (several locations), the status is the
/// quorum's ([`next_state_decided`]).
pub(super) fn decide(
    prev: &TargetState,
    result: &CheckResult,
    target: &Target,
    decision: Option<&QuorumDecision>,
) -> (TargetState, Vec<Alert>) {
    let (mut next, mut alerts) = match decision {
        Some(d) => next_state_decided(prev, result, target, d),
        None => next_state(prev, result, target),
    };
    if target.maintenance_at(result.at).is_some() && !alerts.is_empty() {
        alerts.clear();
        // Not sent, so not counted as sent: a certificate still expiring alerts after the window.
        next.last_alert_at = prev.last_alert_at;
        next.cert_alerted = prev.cert_alerted;
    }
    (next, alerts)
}

/// Commits `changes`, [`COMMIT_CONCURRENCY`] at once, and puts each target's resulting state
/// into `latest`. `storm` drops transition alerts from rebased decisions too.
///
/// A change that cannot be committed keeps the previous state, so that the next check makes the
/// same change again (the alert is raised late rather than lost); the check itself counts (last
/// check), so the target is not due again at once.
pub(super) async fn commit_all<S: StateStore + Sync>(
    store: &S,
    changes: Vec<Change<'_>>,
    storm: bool,
    latest: &mut HashMap<String, Latest>,
) -> Committed {
    let mut out = Committed {
        status_changes: 0,
        alerts: Vec::new(),
        errors: Vec::new(),
    };
    let mut commits = futures::stream::iter(changes)
        .map(|c| async move {
            let outcome = commit(store, &c, storm).await;
            (c, outcome)
        })
        .buffer_unordered(COMMIT_CONCURRENCY);
    while let Some((c, outcome)) = commits.next().await {
        let next = match outcome {
            Ok((committed, alerts)) => {
                out.status_changes += usize::from(committed.status != c.prev.status);
                out.alerts.extend(alerts);
                committed
            }
            Err(e) => {
                tracing::error!(target = %c.target.id, error = %e, "status change not committed");
                out.errors.push(format!("{}: {e}", c.target.id));
                let mut kept = c.prev.clone();
                kept.last_check = Some(c.result.at);
                kept
            }
        };
        latest.insert(c.target.id.clone(), Latest::new(next, Some(c.result)));
    }
    out
}

/// Writes one change with its alerts; on a version conflict rebases on the stored state and
/// decides again. `silence_transitions` (a storm) drops transition alerts from the rebased
/// decision too. Returns the state to keep (version bumped) and the alerts written.
async fn commit<S: StateStore + Sync>(
    store: &S,
    c: &Change<'_>,
    silence_transitions: bool,
) -> Result<(TargetState, Vec<Alert>), StoreError> {
    match store.commit_change(&c.next, &c.alerts).await {
        Ok(()) => {
            let mut committed = c.next.clone();
            committed.version += 1;
            Ok((committed, c.alerts.clone()))
        }
        // The stored state moved on (another run, the API, or a snapshot that fell behind).
        Err(StoreError::Conflict(_)) => rebase(store, c, silence_transitions).await,
        Err(e) => Err(e),
    }
}

/// After a version conflict: rebases the previous state on the stored state item
/// ([`TargetState::rebase_on`]; counters stay the snapshot's), applies the result again, and
/// commits when something is still to write.
async fn rebase<S: StateStore + Sync>(
    store: &S,
    c: &Change<'_>,
    silence_transitions: bool,
) -> Result<(TargetState, Vec<Alert>), StoreError> {
    let mut base = c.prev.clone();
    base.rebase_on(store.load_state(&c.target.id).await?.as_ref());
    let (next, mut alerts) = decide(&base, &c.result, c.target, c.decision.as_ref());
    if silence_transitions {
        alerts.retain(|a| !a.is_transition());
    }
    if next.status == base.status && alerts.is_empty() {
        // Someone else already made this change and raised its alert.
        return Ok((next, Vec::new()));
    }
    store.commit_change(&next, &alerts).await?;
    let mut committed = next;
    committed.version += 1;
    Ok((committed, alerts))
}

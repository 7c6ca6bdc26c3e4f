//! One round of one kind: probe the due targets, apply the state machine, commit the changes
//! with their alerts, raise the grouped alerts, publish, and record the run.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use lookout::domain::grouped::{group_alerts, storm_alert};
use lookout::domain::{next_state, Alert, CheckResult, Status, Target, TargetKind, TargetState};
use lookout::ports::{
    AlertPublisher, Latest, Outbox, RunRecord, RunStore, StateStore, StoreError, SummaryStore,
    TargetStore,
};
use lookout::probe::Prober;

use crate::{deliver, is_due, ProbeError};

/// Status commits in flight at once at the end of a round.
const COMMIT_CONCURRENCY: usize = 16;

pub(crate) struct Round<'a> {
    pub kind: TargetKind,
    pub targets: &'a [Target],
    pub force: bool,
    pub concurrency: usize,
    pub storm_threshold: usize,
    /// Resolves secret references before each check.
    pub secrets: &'a lookout::secrets::Secrets,
    /// The invocation's deadline less the finishing margin: a check that cannot end before it
    /// is skipped (and reported).
    pub hard_end: Option<Instant>,
    /// For repeat rounds, the end of the window: a check that cannot end before it waits for
    /// the next invocation (not reported: it is not late).
    pub window_end: Option<Instant>,
}

pub(crate) struct RoundOutput {
    pub record: RunRecord,
    pub alerts: Vec<Alert>,
    pub errors: Vec<String>,
    pub skipped: Vec<String>,
}

/// A check whose state must be written: a status change, or an alert without one (reminder,
/// certificate, traffic).
struct Change<'a> {
    target: &'a Target,
    prev: TargetState,
    next: TargetState,
    alerts: Vec<Alert>,
    result: CheckResult,
}

/// The state machine plus maintenance: inside a maintenance window the state changes as usual
/// but no alert is raised.
fn decide(prev: &TargetState, result: &CheckResult, target: &Target) -> (TargetState, Vec<Alert>) {
    let (mut next, mut alerts) = next_state(prev, result, target);
    if target.maintenance_at(result.at).is_some() && !alerts.is_empty() {
        alerts.clear();
        // Not sent, so not counted as sent: a certificate still expiring alerts after the window.
        next.last_alert_at = prev.last_alert_at;
        next.cert_alerted = prev.cert_alerted;
    }
    (next, alerts)
}

/// Probes the due targets with bounded concurrency and applies each result as it arrives; then
/// writes the changes (one grouped alert instead of many when more than `storm_threshold`
/// targets changed), raises group alerts, publishes, and writes the snapshot, the history and
/// the run record.
pub(crate) async fn run_round<S, P>(
    store: &S,
    publisher: &P,
    prober: &Prober,
    round: &Round<'_>,
    latest: &mut HashMap<String, Latest>,
    unsnapshotted: &mut Option<i64>,
) -> Result<RoundOutput, ProbeError>
where
    S: TargetStore + StateStore + RunStore + Outbox + SummaryStore + Sync,
    P: AlertPublisher + Sync,
{
    let started = Instant::now();
    let run_at = lookout::time::now_ms();
    let by_id: HashMap<&str, &Target> = round.targets.iter().map(|t| (t.id.as_str(), t)).collect();
    let kept: Vec<String> = sorted_ids(latest);
    // Operators' overrides since the last round replace the snapshot's state.
    let overrides = store.overrides(round.kind).await?;
    for o in &overrides {
        if let Some(l) = latest.get_mut(&o.target_id) {
            l.state = o.clone();
        } else {
            let l = Latest::new(o.clone(), None);
            latest.insert(o.target_id.clone(), l);
        }
    }
    let before: HashMap<String, Status> = latest
        .iter()
        .map(|(id, l)| (id.clone(), l.state.status))
        .collect();
    let mut skipped = Vec::new();
    let due: Vec<&Target> = round
        .targets
        .iter()
        .filter(|t| {
            t.enabled && (round.force || is_due(t, latest.get(&t.id).map(|l| &l.state), run_at))
        })
        .collect();
    let (hard_end, window_end, secrets) = (round.hard_end, round.window_end, round.secrets);
    // Whether a check may start now is decided when its turn comes (after queueing behind the
    // concurrency limit), against the time it can take at most.
    let mut results = futures::stream::iter(due)
        .map(|t| async move {
            let ends = Instant::now() + Duration::from_millis(lookout::probe::check_budget_ms(t));
            if hard_end.is_some_and(|h| ends > h) {
                return Err(Some(t.id.clone()));
            }
            if window_end.is_some_and(|w| ends > w) {
                return Err(None);
            }
            let check = lookout::secrets::check(prober, secrets, t, run_at);
            match hard_end {
                None => Ok(check.await),
                // A safety net: the check's own timeouts end it first.
                Some(h) => tokio::time::timeout_at(h.into(), check)
                    .await
                    .map_err(|_| Some(t.id.clone())),
            }
        })
        .buffer_unordered(round.concurrency.max(1));

    let mut changes = Vec::new();
    let mut checked = 0;
    let mut ok = 0;
    while let Some(result) = results.next().await {
        let result = match result {
            Ok(r) => r,
            Err(late) => {
                skipped.extend(late);
                continue;
            }
        };
        let Some(target) = by_id.get(result.target_id.as_str()).copied() else {
            continue;
        };
        checked += 1;
        ok += usize::from(result.ok());
        let prev = latest
            .get(&target.id)
            .map_or_else(|| TargetState::new(&target.id), |l| l.state.clone());
        let (next, alerts) = decide(&prev, &result, target);
        if next.status != prev.status || !alerts.is_empty() {
            changes.push(Change {
                target,
                prev,
                next,
                alerts,
                result,
            });
        } else {
            let l = Latest::new(next, Some(result));
            latest.insert(target.id.clone(), l);
        }
    }
    drop(results);

    let mut raised = Vec::new();
    // A storm: more transitions than the threshold become one alert, written first so that it
    // is never lost; the state changes then go without their own transition alerts.
    let transitions: Vec<Alert> = changes
        .iter()
        .flat_map(|c| c.alerts.iter().filter(|a| a.is_transition()).cloned())
        .collect();
    // Group alerts from the statuses decided (a change whose commit fails is retried by the
    // next run, and so is its group alert then).
    let mut after: HashMap<String, Status> = latest
        .iter()
        .map(|(id, l)| (id.clone(), l.state.status))
        .collect();
    after.extend(changes.iter().map(|c| (c.target.id.clone(), c.next.status)));
    let mut groups = if checked > 0 {
        group_alerts(round.kind, run_at, round.targets, &before, &after)
    } else {
        Vec::new()
    };
    let storm = transitions.len() > round.storm_threshold;
    if storm {
        let alert = storm_alert(round.kind, run_at, &transitions, &groups);
        groups.clear();
        tracing::warn!(
            kind = round.kind.as_str(),
            changes = transitions.len(),
            "alert storm grouped"
        );
        raised.extend(store.enqueue(&[alert]).await?);
        for c in &mut changes {
            c.alerts.retain(|a| !a.is_transition());
        }
    }
    let mut status_changes = 0;
    let mut errors = Vec::new();
    let mut commits = futures::stream::iter(changes)
        .map(|c| async move {
            let outcome = commit(store, &c, storm).await;
            (c, outcome)
        })
        .buffer_unordered(COMMIT_CONCURRENCY);
    while let Some((c, outcome)) = commits.next().await {
        let mut next;
        match outcome {
            Ok((committed, alerts)) => {
                status_changes += usize::from(committed.status != c.prev.status);
                next = committed;
                raised.extend(alerts);
            }
            Err(e) => {
                // Keep the old status so the next check makes the same change again: the alert
                // is raised late rather than lost. The check itself counts (last check,
                // counters), so the target is not due again at once.
                tracing::error!(target = %c.target.id, error = %e, "status change not committed");
                errors.push(format!("{}: {e}", c.target.id));
                // Nothing of this check was written: keep the previous state (so its alerts
                // are raised again by the next check), only not due again at once.
                next = c.prev.clone();
                next.last_check = Some(c.result.at);
            }
        }
        let l = Latest::new(next, Some(c.result));
        latest.insert(c.target.id.clone(), l);
    }
    drop(commits);

    // Keep disabled targets in the snapshot; forget deleted ones.
    latest.retain(|id, _| by_id.contains_key(id.as_str()));
    if !groups.is_empty() {
        raised.extend(store.enqueue(&groups).await?);
    }
    let mut published = 0;
    for alert in &raised {
        published += usize::from(deliver(store, publisher, alert).await.published());
    }
    let mut snapshot: Vec<Latest> = latest.values().cloned().collect();
    snapshot.sort_by(|a, b| a.state.target_id.cmp(&b.state.target_id));
    if checked > 0 || round.force || !overrides.is_empty() {
        // The stored states plus the history must give back these states (`catch_up`): when
        // they cannot (targets came or went, so shards moved; overrides; uncommitted changes)
        // or the results to replay reach back `SNAPSHOT_EVERY_MS`, the snapshot is rewritten.
        let write_snapshot = !overrides.is_empty()
            || !errors.is_empty()
            || kept != sorted_ids(latest)
            || unsnapshotted
                .is_some_and(|since| run_at - since >= lookout::ports::SNAPSHOT_EVERY_MS);
        store
            .record_run(round.kind, run_at, &snapshot, write_snapshot)
            .await?;
        if write_snapshot {
            *unsnapshotted = None;
        } else if unsnapshotted.is_none() && checked > 0 {
            *unsnapshotted = Some(run_at);
        }
        for o in &overrides {
            store
                .clear_override(round.kind, &o.target_id, o.version)
                .await?;
        }
    }
    let record = RunRecord {
        run_id: uuid::Uuid::new_v4().to_string(),
        kind: round.kind,
        started_at: run_at,
        duration_ms: started.elapsed().as_millis() as u64,
        checked,
        ok,
        changes: status_changes,
        alerts_published: published,
        alerts_pending: raised.len() - published,
        skipped: skipped.len(),
    };
    if checked > 0 || !skipped.is_empty() || round.force {
        store.put_run(&record).await?;
    }
    // Every round, so that deletions, overrides and reported usage show without a check.
    store
        .put_summary(&kind_summary(round, latest, &record))
        .await?;
    Ok(RoundOutput {
        record,
        alerts: raised,
        errors,
        skipped,
    })
}

/// The ids of `latest`, sorted.
fn sorted_ids(latest: &HashMap<String, Latest>) -> Vec<String> {
    let mut ids: Vec<String> = latest.keys().cloned().collect();
    ids.sort_unstable();
    ids
}

/// The summary of the kind after a round, for `GET /v1/summary`.
fn kind_summary(
    round: &Round<'_>,
    latest: &HashMap<String, Latest>,
    record: &RunRecord,
) -> lookout::ports::KindSummary {
    let states: HashMap<String, TargetState> = round
        .targets
        .iter()
        .map(|t| {
            let s = latest
                .get(&t.id)
                .map_or_else(|| TargetState::new(&t.id), |l| l.state.clone());
            (t.id.clone(), s)
        })
        .collect();
    let mut by_status: std::collections::BTreeMap<String, usize> = Status::ALL
        .iter()
        .map(|s| (s.as_str().to_string(), 0))
        .collect();
    for s in states.values() {
        *by_status.entry(s.status.as_str().to_string()).or_default() += 1;
    }
    lookout::ports::KindSummary {
        kind: round.kind,
        at: record.started_at,
        targets: round.targets.len(),
        by_status,
        groups: lookout::domain::failover::choose_all(round.targets, &states),
        traffic_bytes: states.values().map(|s| s.traffic_bytes).sum(),
        cost: states.values().map(|s| s.cost).sum(),
        last_run: Some(record.clone()),
    }
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
        Err(StoreError::Conflict(_)) => {
            rebase(store, &c.prev, &c.result, c.target, silence_transitions).await
        }
        Err(e) => Err(e),
    }
}

/// After a version conflict: takes status, `status_since` and `version` from the stored state
/// item (counters stay the snapshot's), applies the result again, and commits when something is
/// still to write.
async fn rebase<S: StateStore + Sync>(
    store: &S,
    prev: &TargetState,
    result: &CheckResult,
    target: &Target,
    silence_transitions: bool,
) -> Result<(TargetState, Vec<Alert>), StoreError> {
    let mut base = prev.clone();
    let stored = store.load_state(&target.id).await?;
    if let Some(stored) = stored {
        base.status = stored.status;
        base.status_since = stored.status_since;
        base.version = stored.version;
        base.last_alert_at = stored.last_alert_at;
        base.cert_alerted = stored.cert_alerted;
    } else {
        base.version = 0;
    }
    let (next, mut alerts) = decide(&base, result, target);
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

//! One round of one kind: probe the due targets, apply the state machine, commit the changes
//! with their alerts, raise the grouped alerts, publish, and record the run.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::StreamExt;

use crate::ports::{
    deliver, AlertPublisher, Latest, LocationStore, Outbox, RunRecord, RunStore, StateStore,
    SummaryStore, TargetStore,
};
use crate::probe::Prober;
use lookout_core::domain::grouped::{group_alerts, storm_alert};
use lookout_core::domain::location::QuorumDecision;
use lookout_core::domain::{Alert, CheckResult, Status, Target, TargetKind, TargetState};

use super::commit::{commit_all, decide, Change};
use super::heartbeats;
use super::locations::{remote_round, watch_locations, Quorums};
use super::schedule::is_due;
use super::slo::{SloCount, SloRun};
use super::summary::kind_summary;
use super::{ProbeError, RunConfig};

/// What a round works on.
pub(super) struct Round<'a> {
    pub kind: TargetKind,
    pub targets: &'a [Target],
    /// Probe every enabled target, due or not.
    pub force: bool,
    /// Concurrency, storm threshold, secrets and clock.
    pub config: &'a RunConfig,
    /// The invocation's deadline less the finishing margin: a check that cannot end before it
    /// is skipped (and reported).
    pub hard_end: Option<Instant>,
    /// For repeat rounds, the end of the window: a check that cannot end before it waits for
    /// the next invocation (not reported: it is not late).
    pub window_end: Option<Instant>,
}

/// What a round did.
pub(super) struct RoundOutput {
    pub record: RunRecord,
    /// Alerts written to the outbox (published or pending).
    pub alerts: Vec<Alert>,
    /// `id: error` of the changes that could not be committed.
    pub errors: Vec<String>,
    /// Ids of due targets not checked because the deadline came first.
    pub skipped: Vec<String>,
}

/// The checks of a round, decided but not yet written.
struct Checked<'a> {
    /// Checks whose state must be written (a status change or an alert).
    changes: Vec<Change<'a>>,
    checked: usize,
    ok: usize,
    skipped: Vec<String>,
    /// The checks counted in the SLOs (home location only).
    slo_counts: Vec<SloCount>,
}

/// Probes the due targets with bounded concurrency and applies each result as it arrives; then
/// writes the changes (one grouped alert instead of many when more than `storm_threshold`
/// targets changed), raises group alerts, publishes, and writes the history, the snapshot when
/// due, and the run record and the summary when they have something new to say (`stored`: the
/// kind's summary as stored, `None` when unknown; see `KindSummary::at`). A round that changes
/// nothing writes the history of its checks only. Every result applied is counted in the SLOs
/// (`slos`; see [`super::slo`]), whose alerts join the round's.
#[allow(clippy::too_many_arguments)]
pub(super) async fn run_round<S, P>(
    store: &S,
    publisher: &P,
    prober: &Prober,
    round: &Round<'_>,
    latest: &mut HashMap<String, Latest>,
    unsnapshotted: &mut Option<i64>,
    stored: &mut Option<crate::ports::KindSummary>,
    slos: &mut SloRun,
) -> Result<RoundOutput, ProbeError>
where
    S: crate::ports::SloStore
        + TargetStore
        + StateStore
        + RunStore
        + Outbox
        + SummaryStore
        + LocationStore
        + crate::ports::IncidentStore
        + crate::ports::HeartbeatStore
        + Sync,
    P: AlertPublisher + Sync,
{
    let mut quorums = match &round.config.locations {
        Some(setup) if !setup.is_home() => {
            return remote_round(store, publisher, prober, round, setup, latest).await
        }
        Some(setup) => Some(Quorums::load(store, round.kind, setup).await?),
        None => None,
    };
    let started = Instant::now();
    let run_at = round.config.clock.now_ms();
    let by_id: HashMap<&str, &Target> = round.targets.iter().map(|t| (t.id.as_str(), t)).collect();
    let kept = sorted_ids(latest);
    let overrides = apply_overrides(store, round.kind, latest, &by_id).await?;
    let before = statuses(latest);
    // Heartbeat targets are judged by their pings, never probed (see `heartbeats`).
    let (due_heartbeats, probed): (Vec<&Target>, Vec<&Target>) = round
        .targets
        .iter()
        .filter(|t| {
            t.enabled && (round.force || is_due(t, latest.get(&t.id).map(|l| &l.state), run_at))
        })
        .partition(|t| t.heartbeat().is_some());
    let pings = heartbeats::read_pings(store, &due_heartbeats).await;
    let mut checks = probe_due(
        prober,
        round,
        latest,
        run_at,
        probed,
        &by_id,
        quorums.as_mut(),
        slos,
    )
    .await;
    for (target, result) in
        pings.map_or_else(Vec::new, |p| heartbeats::judge(&due_heartbeats, &p, run_at))
    {
        checks.checked += 1;
        checks.ok += usize::from(result.ok());
        slos.count(target, &result, &mut checks.slo_counts);
        apply(&mut checks, latest, target, result, None);
    }
    // Group alerts from the statuses decided (a change whose commit fails is retried by the
    // next run, and so is its group alert then).
    let mut after = statuses(latest);
    after.extend(
        checks
            .changes
            .iter()
            .map(|c| (c.target.id.clone(), c.next.status)),
    );
    let mut groups = if checks.checked > 0 {
        group_alerts(round.kind, run_at, round.targets, &before, &after)
    } else {
        Vec::new()
    };
    let (mut raised, storm) =
        raise_storm(store, round, run_at, &mut checks.changes, &mut groups).await?;
    let committed = commit_all(store, checks.changes, storm, latest).await;
    raised.extend(committed.alerts);
    // Keep disabled targets in the snapshot; forget deleted ones.
    latest.retain(|id, _| by_id.contains_key(id.as_str()));
    if !groups.is_empty() {
        raised.extend(store.enqueue(&groups).await?);
    }
    raised.extend(
        slos.commit_round(store, round.kind, run_at, &checks.slo_counts)
            .await,
    );
    if let (Some(q), Some(setup)) = (quorums, &round.config.locations) {
        q.save(store, round.kind, round.targets, run_at).await?;
        raised.extend(watch_locations(store, setup, round.kind, run_at).await?);
    }
    let mut published = 0;
    for alert in &raised {
        published += usize::from(deliver(store, publisher, alert).await.published());
    }
    let write = SnapshotWrite {
        run_at,
        kept: &kept,
        overrides: &overrides,
        uncommitted: !committed.errors.is_empty(),
        checked: checks.checked,
    };
    record_snapshot(store, round, latest, &write, unsnapshotted).await?;
    let record = RunRecord {
        run_id: uuid::Uuid::new_v4().to_string(),
        kind: round.kind,
        started_at: run_at,
        duration_ms: started.elapsed().as_millis() as u64,
        checked: checks.checked,
        ok: checks.ok,
        changes: committed.status_changes,
        alerts_published: published,
        alerts_pending: raised.len() - published,
        skipped: checks.skipped.len(),
        shards: None,
        shards_done: None,
    };
    // The summary when it shows something new (deletions, overrides and statuses show without
    // waiting for a check), or when the stored one is `SUMMARY_REFRESH_MS` old; the run record
    // with it, or when the round did something worth keeping.
    let mut summary = kind_summary(round.kind, round.targets, latest, &record);
    let summary_due = record.changes > 0
        || !overrides.is_empty()
        || stored.as_ref().is_none_or(|s| {
            !summary.shows_the_same(s) || run_at - s.at >= crate::ports::SUMMARY_REFRESH_MS
        });
    let eventful = record.changes > 0
        || !raised.is_empty()
        || !checks.skipped.is_empty()
        || !committed.errors.is_empty()
        || !overrides.is_empty()
        || round.force;
    let worth_a_record = eventful || (checks.checked > 0 && summary_due);
    if !worth_a_record {
        // The summary names the last run that was recorded, never one that was not.
        summary.last_run = stored.as_ref().and_then(|s| s.last_run.clone());
    } else if round.config.record_runs {
        store.put_run(&record).await?;
    }
    if summary_due {
        store.put_summary(&summary).await?;
        *stored = Some(summary);
    }
    Ok(RoundOutput {
        record,
        alerts: raised,
        errors: committed.errors,
        skipped: checks.skipped,
    })
}

/// Operators' overrides since the last round replace the snapshot's state. Returns them (they
/// are cleared once the snapshot that holds them is written).
async fn apply_overrides<S: StateStore + Sync>(
    store: &S,
    kind: TargetKind,
    latest: &mut HashMap<String, Latest>,
    targets: &HashMap<&str, &Target>,
) -> Result<Vec<TargetState>, ProbeError> {
    // Only this run's targets: a worker of one shard leaves the others' overrides alone.
    let mut overrides = store.overrides(kind).await?;
    overrides.retain(|o| targets.contains_key(o.target_id.as_str()));
    for o in &overrides {
        if let Some(l) = latest.get_mut(&o.target_id) {
            l.state = o.clone();
        } else {
            latest.insert(o.target_id.clone(), Latest::new(o.clone(), None));
        }
    }
    Ok(overrides)
}

/// Checks the due targets `due` (heartbeats left out), at most `concurrency` at once, and
/// decides each result as it arrives. A result without a change goes into `latest` at once;
/// the changes are returned.
#[allow(clippy::too_many_arguments)]
async fn probe_due<'a>(
    prober: &Prober,
    round: &Round<'a>,
    latest: &mut HashMap<String, Latest>,
    run_at: i64,
    due: Vec<&'a Target>,
    by_id: &HashMap<&str, &'a Target>,
    mut quorums: Option<&mut Quorums<'_>>,
    slos: &SloRun,
) -> Checked<'a> {
    let here = round.config.locations.as_ref().map(|l| l.name.as_str());
    let (due, unprobed): (Vec<&Target>, Vec<&Target>) = due
        .into_iter()
        .partition(|t| here.is_none_or(|h| t.probed_from(h)));
    let mut results = futures::stream::iter(due)
        .map(|t| check_in_time(prober, round, t, run_at))
        .buffer_unordered(round.config.concurrency.max(1));
    let mut out = Checked {
        changes: Vec::new(),
        checked: 0,
        ok: 0,
        skipped: Vec::new(),
        slo_counts: Vec::new(),
    };
    while let Some(result) = results.next().await {
        let result = match result {
            Ok(r) => r,
            Err(late) => {
                out.skipped.extend(late);
                continue;
            }
        };
        let Some(target) = by_id.get(result.target_id.as_str()).copied() else {
            continue;
        };
        out.checked += 1;
        out.ok += usize::from(result.ok());
        let decision = quorums.as_mut().map(|q| q.observe(target, &result));
        slos.count(target, &result, &mut out.slo_counts);
        apply(&mut out, latest, target, result, decision);
    }
    drop(results);
    // Targets whose `locations` leave this (home) location out: decided from the others.
    if let Some(q) = quorums {
        for t in unprobed {
            if let Some((result, decision)) = q.decide_unprobed(t, run_at) {
                slos.count(t, &result, &mut out.slo_counts);
                apply(&mut out, latest, t, result, Some(decision));
            }
        }
    }
    out
}

/// Applies one result (with the locations' quorum, if any): a change is kept for the commit,
/// anything else goes into `latest` at once.
fn apply<'a>(
    out: &mut Checked<'a>,
    latest: &mut HashMap<String, Latest>,
    target: &'a Target,
    result: CheckResult,
    decision: Option<QuorumDecision>,
) {
    let prev = latest
        .get(&target.id)
        .map_or_else(|| TargetState::new(&target.id), |l| l.state.clone());
    let (next, alerts) = decide(&prev, &result, target, decision.as_ref());
    if next.status != prev.status || !alerts.is_empty() {
        out.changes.push(Change {
            target,
            prev,
            next,
            alerts,
            result,
            decision,
        });
    } else {
        latest.insert(target.id.clone(), Latest::new(next, Some(result)));
    }
}

/// One check, if it can still end in time. Whether it may start is decided when its turn comes
/// (after queueing behind the concurrency limit), against the time it can take at most.
/// `Err(Some(id))`: too late for the deadline (reported as skipped); `Err(None)`: it would
/// outlast the repeat window (left for the next invocation).
pub(super) async fn check_in_time(
    prober: &Prober,
    round: &Round<'_>,
    t: &Target,
    run_at: i64,
) -> Result<CheckResult, Option<String>> {
    let ends = Instant::now() + Duration::from_millis(crate::probe::check_budget_ms(t));
    if round.hard_end.is_some_and(|h| ends > h) {
        return Err(Some(t.id.clone()));
    }
    if round.window_end.is_some_and(|w| ends > w) {
        return Err(None);
    }
    let check = crate::secrets::check(prober, &round.config.secrets, t, run_at);
    match round.hard_end {
        None => Ok(check.await),
        // A safety net: the check's own timeouts end it first.
        Some(h) => tokio::time::timeout_at(h.into(), check)
            .await
            .map_err(|_| Some(t.id.clone())),
    }
}

/// A storm: more transitions than the threshold become one alert, written first so that it is
/// never lost; the state changes then go without their own transition alerts, and no group
/// alerts are raised. Returns the alerts written and whether it was a storm.
async fn raise_storm<S: Outbox + Sync>(
    store: &S,
    round: &Round<'_>,
    run_at: i64,
    changes: &mut [Change<'_>],
    groups: &mut Vec<Alert>,
) -> Result<(Vec<Alert>, bool), ProbeError> {
    let transitions: Vec<Alert> = changes
        .iter()
        .flat_map(|c| c.alerts.iter().filter(|a| a.is_transition()).cloned())
        .collect();
    if transitions.len() <= round.config.storm_threshold {
        return Ok((Vec::new(), false));
    }
    let alert = storm_alert(round.kind, run_at, &transitions, groups);
    groups.clear();
    tracing::warn!(
        kind = round.kind.as_str(),
        changes = transitions.len(),
        "alert storm grouped"
    );
    let raised = store.enqueue(&[alert]).await?;
    for c in changes.iter_mut() {
        c.alerts.retain(|a| !a.is_transition());
    }
    Ok((raised, true))
}

/// What decides whether a round rewrites the snapshot.
struct SnapshotWrite<'a> {
    run_at: i64,
    /// The snapshot's target ids before the round, sorted.
    kept: &'a [String],
    overrides: &'a [TargetState],
    /// Some change could not be committed.
    uncommitted: bool,
    checked: usize,
}

/// Records the round's results (and the snapshot when it must be rewritten), then clears the
/// overrides it took in. Nothing is written by a round that checked nothing, unless forced or
/// with overrides.
async fn record_snapshot<S: RunStore + StateStore + Sync>(
    store: &S,
    round: &Round<'_>,
    latest: &HashMap<String, Latest>,
    w: &SnapshotWrite<'_>,
    unsnapshotted: &mut Option<i64>,
) -> Result<(), ProbeError> {
    if w.checked == 0 && !round.force && w.overrides.is_empty() {
        return Ok(());
    }
    let mut snapshot: Vec<Latest> = latest.values().cloned().collect();
    snapshot.sort_by(|a, b| a.state.target_id.cmp(&b.state.target_id));
    // The stored states plus the history must give back these states (`catch_up`): when they
    // cannot (targets came or went, so shards moved; overrides; uncommitted changes) or the
    // results to replay reach back `SNAPSHOT_EVERY_MS`, the snapshot is rewritten.
    let write_snapshot = !w.overrides.is_empty()
        || w.uncommitted
        || w.kept != sorted_ids(latest)
        || unsnapshotted.is_some_and(|since| w.run_at - since >= crate::ports::SNAPSHOT_EVERY_MS);
    store
        .record_run(round.kind, w.run_at, &snapshot, write_snapshot)
        .await?;
    if write_snapshot {
        *unsnapshotted = None;
    } else if unsnapshotted.is_none() && w.checked > 0 {
        *unsnapshotted = Some(w.run_at);
    }
    for o in w.overrides {
        store
            .clear_override(round.kind, &o.target_id, o.version)
            .await?;
    }
    Ok(())
}

/// Each target's status in `latest`.
fn statuses(latest: &HashMap<String, Latest>) -> HashMap<String, Status> {
    latest
        .iter()
        .map(|(id, l)| (id.clone(), l.state.status))
        .collect()
}

/// The ids of `latest`, sorted.
fn sorted_ids(latest: &HashMap<String, Latest>) -> Vec<String> {
    let mut ids: Vec<String> = latest.keys().cloned().collect();
    ids.sort_unstable();
    ids
}

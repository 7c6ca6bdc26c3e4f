//! One invocation of the probe run: takes the run leases, retries the pending alerts, and runs
//! rounds of every leased kind until the repeat window or the deadline is over.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::ports::{
    deliver, AlertPublisher, Latest, Lease, LocationStore, Outbox, RunLease, RunStore, StateStore,
    SummaryStore, TargetStore,
};
use crate::probe::Prober;
use lookout_core::domain::{Target, TargetKind};

use super::round::{run_round, Round, RoundOutput};
use super::schedule::{next_due_ms, FINISH_MARGIN_MS, SCHEDULE_PERIOD_S};
use super::{ProbeError, ProbeRequest, ProbeStore, RunConfig, RunReport};

/// Runs one invocation. For each kind in `kinds` it takes the run lease (a kind whose lease
/// another run holds, or whose event was already handled, is left out and said so in
/// `not_run`), retries that kind's pending alerts, then
/// probes the due targets; targets with `interval_s` under [`SCHEDULE_PERIOD_S`] get further
/// rounds until `window_s` is over. Nothing is started that could not finish before
/// `deadline_ms` less [`FINISH_MARGIN_MS`]; those targets are reported as skipped.
///
/// The leases are short ([`RunConfig::lease`], a minute) and renewed by a heartbeat while the
/// run works ([`crate::lease::hold_lease`]), never past the deadline (or, without one, the
/// window plus the longest check and the finishing margin): a run that dies blocks its kind for
/// at most one lease. They are released at the end, with the event id recorded as handled.
/// Times come from [`RunConfig::clock`].
///
/// # Errors
/// [`ProbeError::Store`] when targets, snapshot or records cannot be read or written;
/// [`ProbeError::Uncommitted`] when status changes could not be committed (after everything
/// else was recorded).
pub async fn run<S, P>(
    store: &S,
    publisher: &P,
    prober: &Prober,
    request: &ProbeRequest,
    config: &RunConfig,
) -> Result<RunReport, ProbeError>
where
    S: ProbeStore,
    P: AlertPublisher + Sync,
{
    let now = config.clock.now_ms();
    let holder = uuid::Uuid::new_v4().to_string();
    // The longest this run may take: no lease is held or renewed past it.
    let hard_until = request.deadline_ms.unwrap_or_else(|| {
        now + (i64::from(request.window_s)
            + lookout_core::domain::target::MAX_CHECK_MS as i64 / 1000)
            * 1000
            + FINISH_MARGIN_MS as i64
    });
    let until = config.lease.until(now, Some(hard_until));
    let event = request.event_id.as_deref();
    let (leased, not_run) =
        acquire_leases(store, &request.kinds, &holder, (now, until), event).await?;
    let leased_request = ProbeRequest {
        kinds: leased.clone(),
        ..request.clone()
    };
    let (outcome, beat) = crate::lease::hold_lease(
        store,
        &leased,
        &holder,
        now,
        Some(hard_until),
        &config.lease,
        // Boxed: the rounds' future is large, and callers nest it (a shard worker, a batch).
        Box::pin(run_leased(
            store,
            publisher,
            prober,
            &leased_request,
            config,
        )),
    )
    .await;
    if !beat.lost.is_empty() {
        tracing::warn!(kinds = ?beat.lost, "this run lost its lease while it worked; another run may have probed the same kinds");
    }
    // A run that failed does not mark its event handled: a retry of it may run.
    let handled = if outcome.is_ok() { event } else { None };
    for &kind in &leased {
        if let Err(e) = store.release_lease(kind, &holder, handled).await {
            // It expires on its own; the next run waits until then.
            tracing::warn!(kind = kind.as_str(), error = %e, "run lease not released");
        }
    }
    let mut report = outcome?;
    report.not_run = not_run;
    Ok(report)
}

/// Takes the run lease of each kind from `now` to `until` (epoch ms). Returns the kinds leased
/// and, for the others, why not; on a store error releases what it took.
async fn acquire_leases<S: RunLease + Sync>(
    store: &S,
    kinds: &[TargetKind],
    holder: &str,
    (now, until): (i64, i64),
    event: Option<&str>,
) -> Result<(Vec<TargetKind>, Vec<String>), ProbeError> {
    let mut leased = Vec::new();
    let mut not_run = Vec::new();
    for &kind in kinds {
        let answer = match store.acquire_lease(kind, holder, now, until, event).await {
            Ok(a) => a,
            Err(e) => {
                for &taken in &leased {
                    let _ = store.release_lease(taken, holder, None).await;
                }
                return Err(e.into());
            }
        };
        match answer {
            Lease::Acquired => leased.push(kind),
            Lease::Busy { until_ms } => not_run.push(format!(
                "{}: another run holds the lease until {}; this invocation leaves it alone",
                kind.as_str(),
                lookout_core::time::rfc3339(until_ms)
            )),
            Lease::AlreadyDone => not_run.push(format!(
                "{}: event {} was already handled (a duplicate delivery)",
                kind.as_str(),
                event.unwrap_or("-")
            )),
        }
    }
    for line in &not_run {
        tracing::warn!("{line}");
    }
    Ok((leased, not_run))
}

/// One kind's targets and snapshot, carried from round to round.
struct KindRun {
    kind: TargetKind,
    targets: Vec<Target>,
    latest: HashMap<String, Latest>,
    /// When the oldest result the store kept without a snapshot was taken (epoch ms).
    unsnapshotted: Option<i64>,
    /// The kind's summary as stored (read once per invocation, then the one this run wrote);
    /// `None` when there is none or it could not be read (the round writes one).
    summary: Option<crate::ports::KindSummary>,
}

/// The rounds of the leased kinds (the lease is held by the caller).
async fn run_leased<S, P>(
    store: &S,
    publisher: &P,
    prober: &Prober,
    request: &ProbeRequest,
    config: &RunConfig,
) -> Result<RunReport, ProbeError>
where
    S: TargetStore
        + StateStore
        + RunStore
        + Outbox
        + SummaryStore
        + LocationStore
        + crate::ports::IncidentStore
        + crate::ports::SloStore
        + crate::ports::HeartbeatStore
        + Sync,
    P: AlertPublisher + Sync,
{
    let started = Instant::now();
    // A location other than the home one keeps no state of its own but its verdicts, and
    // leaves pending alerts to the home location.
    let remote = config.locations.as_ref().is_some_and(|l| !l.is_home());
    let mut report = RunReport {
        runs: Vec::new(),
        retried_alerts: if remote {
            0
        } else {
            retry_pending(store, publisher, &request.kinds, config).await?
        },
        alerts: Vec::new(),
        skipped: Vec::new(),
        not_run: Vec::new(),
        slo_errors: 0,
    };
    let hard_end = request.deadline_ms.map(|d| {
        let left = d - config.clock.now_ms() - FINISH_MARGIN_MS as i64;
        started + Duration::from_millis(left.max(0) as u64)
    });
    let window_end = started + Duration::from_secs(u64::from(request.window_s));
    let mut kinds = load_kinds(store, &request.kinds, remote).await?;
    let targets = kinds.iter().flat_map(|k| k.targets.iter());
    let mut slos = super::slo::SloRun::load(store, remote, targets).await;
    let mut failures = Vec::new();
    let mut force = request.force;
    let mut first_round = true;
    // One kind's round that fails (the table not answering, say) does not stop the other
    // kinds' (one invocation runs them all): it is logged, its kind sits out the rest of the
    // window, and the first such error is the run's answer once the others are done.
    let mut round_error: Option<ProbeError> = None;
    let mut failed_kinds: Vec<TargetKind> = Vec::new();
    loop {
        for k in kinds.iter_mut() {
            if failed_kinds.contains(&k.kind) {
                continue;
            }
            let round = Round {
                kind: k.kind,
                targets: &k.targets,
                force,
                config,
                hard_end,
                window_end: (!first_round).then_some(window_end),
            };
            let out = Box::pin(run_round(
                store,
                publisher,
                prober,
                &round,
                &mut k.latest,
                &mut k.unsnapshotted,
                &mut k.summary,
                &mut slos,
            ))
            .await;
            let out = match out {
                Ok(out) => out,
                Err(e) => {
                    tracing::error!(kind = k.kind.as_str(), error = %e, "probe round failed; the other kinds go on");
                    failed_kinds.push(k.kind);
                    round_error.get_or_insert(e);
                    continue;
                }
            };
            log_round(k.kind, &out);
            if out.record.checked > 0 || report.runs.iter().all(|r| r.kind != k.kind) {
                report.runs.push(out.record);
            }
            report.alerts.extend(out.alerts);
            report.skipped.extend(out.skipped);
            failures.extend(out.errors);
        }
        force = false;
        first_round = false;
        let Some(wait) = next_round_wait(&kinds, config.clock.now_ms(), window_end, hard_end)
        else {
            break;
        };
        tokio::time::sleep(wait).await;
    }
    slos.finish();
    report.slo_errors = slos.errors;
    if let Some(e) = round_error {
        return Err(e);
    }
    if !failures.is_empty() {
        return Err(ProbeError::Uncommitted(failures.len(), failures.join("; ")));
    }
    Ok(report)
}

/// Logs what a round did, and the targets it had to skip.
fn log_round(kind: TargetKind, out: &RoundOutput) {
    tracing::info!(
        kind = kind.as_str(),
        checked = out.record.checked,
        ok = out.record.ok,
        changes = out.record.changes,
        skipped = out.skipped.len(),
        "run done"
    );
    if !out.skipped.is_empty() {
        tracing::warn!(kind = kind.as_str(), targets = ?out.skipped, "skipped: deadline");
    }
}

/// Publishes the pending alerts of `kinds` again; returns how many went out. Only this
/// invocation's kinds: the server and proxy schedules fire at the same minute, and each must
/// not send the other's pending alerts a second time.
async fn retry_pending<S, P>(
    store: &S,
    publisher: &P,
    kinds: &[TargetKind],
    config: &RunConfig,
) -> Result<usize, ProbeError>
where
    S: Outbox + crate::ports::IncidentStore + Sync,
    P: AlertPublisher + Sync,
{
    if kinds.is_empty() {
        return Ok(0);
    }
    let mut retried = 0;
    let pending = store.pending_alerts(config.clock.now_ms()).await?;
    for alert in pending.iter().filter(|a| kinds.contains(&a.target_kind)) {
        retried += usize::from(deliver(store, publisher, alert).await.published());
    }
    Ok(retried)
}

/// Reads each kind's targets and snapshot, with the results kept since the snapshot replayed.
async fn load_kinds<S>(
    store: &S,
    kinds: &[TargetKind],
    remote: bool,
) -> Result<Vec<KindRun>, ProbeError>
where
    S: TargetStore + StateStore + SummaryStore + Sync,
{
    let mut loaded = Vec::new();
    // One read of both kinds' summaries: a round that changes nothing shown leaves them be.
    let mut summaries = if remote {
        Vec::new()
    } else {
        store.summaries().await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "summaries not read; this run writes them");
            Vec::new()
        })
    };
    for &kind in kinds {
        let targets = store.list_targets(Some(kind)).await?;
        let mut latest = if remote {
            HashMap::new()
        } else {
            store.latest(kind).await?
        };
        // Results the store kept without a snapshot: replayed here, and counted from the
        // oldest so that the snapshot is rewritten once they reach back far enough.
        let unsnapshotted = latest
            .values()
            .filter_map(|l| l.pending.first().map(|r| r.at))
            .min();
        crate::ports::catch_up_all(&mut latest, &targets);
        loaded.push(KindRun {
            kind,
            targets,
            latest,
            unsnapshotted,
            summary: summaries
                .iter()
                .position(|s| s.kind == kind)
                .map(|i| summaries.swap_remove(i)),
        });
    }
    Ok(loaded)
}

/// How long to wait for the next round: until the earliest sub-minute target is due again, if
/// its check still ends inside the window and before the deadline; `None` when no round is left.
fn next_round_wait(
    kinds: &[KindRun],
    now_ms: i64,
    window_end: Instant,
    hard_end: Option<Instant>,
) -> Option<Duration> {
    let (due_ms, check_ms) = kinds
        .iter()
        .flat_map(|k| {
            k.targets
                .iter()
                .filter(|t| t.enabled && t.interval_s < SCHEDULE_PERIOD_S)
                .map(|t| {
                    let last = k.latest.get(&t.id).and_then(|l| l.state.last_check);
                    let due = last.map_or(now_ms, |l| next_due_ms(t, l));
                    (due, crate::probe::check_budget_ms(t))
                })
        })
        .min()?;
    let wait = Duration::from_millis((due_ms - now_ms).max(0) as u64);
    let ends = Instant::now() + wait + Duration::from_millis(check_ms);
    (ends <= window_end && hard_end.is_none_or(|h| ends <= h)).then_some(wait)
}

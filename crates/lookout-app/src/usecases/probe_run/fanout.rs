//! Fan-out: one scheduled probe run split into shard tasks that worker invocations of the same
//! probe function take from an SQS queue.
//!
//! - [`dispatch`] (the scheduled invocation): for each kind, the shard count follows the number
//!   of targets ([`shard_count`] of the kind's summary and the per-worker budget,
//!   `LOOKOUT_SHARD_TARGETS`), so the dispatcher reads one summary item, never the
//!   definitions. A kind that needs one shard and was never split runs in this invocation as
//!   before ([`run`]); any other kind gets its layout recorded ([`ShardLayout`]) and one
//!   [`ShardTask`] per shard on the queue ([`ShardQueue`]).
//! - [`run_shard`] (a worker invocation, one task): the run of the store narrowed to the task's
//!   shard ([`Sharded::for_shard`]: its own definitions, snapshot, history, summary and lease),
//!   then its counts added to the run's one record ([`RunStore::add_shard_run`]: the
//!   dispatcher's run id and issue time, so every shard lands on the same record).
//! - [`run_or_dispatch`]: what the scheduled handler calls; without a queue a run never fans
//!   out.
//!
//! # Why an SQS queue
//! Of the engine's three ways to hand work to other invocations, the queue gives the most with
//! nothing home-made:
//! - per-shard retries: a worker that fails or dies leaves its message on the queue, which
//!   comes back after the visibility timeout (six times the function's timeout, AWS's guidance
//!   for Lambda consumers) and, after `maxReceiveCount` receives, goes to a dead-letter queue
//!   that is alarmed;
//! - the event source mapping's `ScalingConfig.MaximumConcurrency` caps the workers (the
//!   table's and the targets' load stays bounded however many shards there are), and
//!   `ReportBatchItemFailures` lets a batch give back only the failed tasks;
//! - locally it is the same queue on moto, consumed by N `probe --poll` processes
//!   ([`crate`]'s `QueuePoller` in `lookout-aws`): the tests run the production path. A Step
//!   Functions Map state has no emulator in the local stack, and asynchronous invokes retry
//!   twice inside Lambda with no local equivalent and no concurrency cap of their own.
//!
//! # Exactly one alert per transition
//! Each shard takes its own run lease (per kind and shard), so a task delivered twice runs
//! once: a second delivery while it runs finds the lease held, one after it finished finds its
//! event id (`<event id>#<kind>#<shard label>`) handled. A group's targets share a shard
//! ([`lookout_core::domain::shard`]), so group alerts see the whole group. Status changes and
//! their alerts are committed with a condition on the state item's version and published
//! through the outbox, shared by every shard, as without fan-out.
//!
//! A task older than [`TASK_STALE_MS`] is dropped unrun: the dispatches after it have covered
//! its shard, and running it late would only hold the shard's lease against the current task.

use std::time::Instant;

use serde::Serialize;

use crate::ports::{
    AlertPublisher, RunRecord, ShardLayout, ShardQueue, ShardTask, Sharded, SummaryStore,
};
use crate::probe::Prober;
use lookout_core::domain::shard::shard_count;
use lookout_core::domain::{Shard, TargetKind};

use super::schedule::SCHEDULE_PERIOD_S;
use super::{run, ProbeError, ProbeRequest, ProbeStore, RunConfig, RunReport};

/// A shard task this much older than its issue is dropped unrun, ms: two schedule periods
/// (by then the next dispatch has sent the shard again).
pub const TASK_STALE_MS: i64 = 2 * SCHEDULE_PERIOD_S as i64 * 1000;

/// What [`dispatch`] decided.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Dispatch {
    /// Kinds to run in this invocation (one shard, never split).
    pub in_process: Vec<TargetKind>,
    /// Kinds handed to workers: their shard count and run id.
    pub fanned_out: Vec<FannedOut>,
    /// Every task sent, in order.
    #[serde(skip)]
    pub tasks: Vec<ShardTask>,
}

/// One kind [`dispatch`] split into shards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FannedOut {
    /// The kind.
    pub kind: TargetKind,
    /// How many shards (tasks sent).
    pub shards: u32,
    /// The run the workers add their counts to.
    pub run_id: String,
}

/// Decides, for each kind of `request`, whether it runs here or on workers, and sends the
/// workers' tasks to `queue`.
///
/// The count of a kind is [`shard_count`] of its targets (from the whole store's summaries,
/// [`SummaryStore::summaries`], field `targets`; 1 when the kind has no summary yet) at
/// `per_shard` targets per worker. Count 1 with a layout of 1 (the kind was never split): in
/// process. Otherwise the layout is set to the count (when it differs) and one task per
/// shard is sent: run id a new UUID, `issued_at` now, event id `<event id>#<kind>#<label>`
/// when the request has one.
///
/// # Errors
/// [`ProbeError::Store`] when the summaries or the layout cannot be read or written, or a task
/// cannot be sent (the tasks before it were; a retry of the event sends them again, and their
/// shards' leases refuse what already ran).
pub async fn dispatch<S, Q>(
    store: &S,
    queue: &Q,
    request: &ProbeRequest,
    per_shard: usize,
) -> Result<Dispatch, ProbeError>
where
    S: SummaryStore + ShardLayout + Sync,
    Q: ShardQueue + Sync,
{
    let summaries = store.summaries().await?;
    let mut out = Dispatch::default();
    for &kind in &request.kinds {
        let targets = summaries
            .iter()
            .find(|s| s.kind == kind)
            .map_or(1, |s| s.targets);
        let count = shard_count(targets, per_shard);
        let layout = store.shard_count(kind).await?;
        if count == 1 && layout == 1 {
            out.in_process.push(kind);
            continue;
        }
        if layout != count {
            store.set_shard_count(kind, count).await?;
            tracing::info!(
                kind = kind.as_str(),
                targets,
                from = layout,
                to = count,
                "shard layout changed"
            );
        }
        let run_id = uuid::Uuid::new_v4().to_string();
        let issued_at = lookout_core::time::now_ms();
        let tasks: Vec<ShardTask> = Shard::all(count)
            .map(|shard| ShardTask {
                kind,
                shard,
                event_id: request
                    .event_id
                    .as_ref()
                    .map(|e| format!("{e}#{}#{}", kind.as_str(), shard.label())),
                force: request.force,
                window_s: request.window_s,
                run_id: run_id.clone(),
                issued_at,
            })
            .collect();
        queue.send_tasks(&tasks).await?;
        tracing::info!(kind = kind.as_str(), targets, shards = count, run_id = %run_id, "run fanned out");
        out.fanned_out.push(FannedOut {
            kind,
            shards: count,
            run_id,
        });
        out.tasks.extend(tasks);
    }
    Ok(out)
}

/// What a scheduled invocation did: the run of the kinds it kept, and the kinds it handed to
/// workers.
#[derive(Debug, Clone, Serialize)]
pub struct Dispatched {
    /// The in-process run (empty when every kind fanned out).
    #[serde(flatten)]
    pub report: RunReport,
    /// The kinds handed to workers.
    pub fanned_out: Vec<FannedOut>,
}

/// The scheduled invocation: with a `queue`, [`dispatch`] and then [`run`] of the kinds kept
/// in process; without one, [`run`] of every kind (a run never fans out).
///
/// # Errors
/// See [`dispatch`] and [`run`].
pub async fn run_or_dispatch<S, P, Q>(
    store: &S,
    publisher: &P,
    prober: &Prober,
    queue: Option<&Q>,
    request: &ProbeRequest,
    config: &RunConfig,
    per_shard: usize,
) -> Result<Dispatched, ProbeError>
where
    S: ProbeStore + ShardLayout,
    P: AlertPublisher + Sync,
    Q: ShardQueue + Sync,
{
    let Some(queue) = queue else {
        let report = run(store, publisher, prober, request, config).await?;
        return Ok(Dispatched {
            report,
            fanned_out: Vec::new(),
        });
    };
    let d = dispatch(store, queue, request, per_shard).await?;
    let report = if d.in_process.is_empty() {
        RunReport {
            runs: Vec::new(),
            retried_alerts: 0,
            alerts: Vec::new(),
            skipped: Vec::new(),
            not_run: Vec::new(),
            slo_errors: 0,
        }
    } else {
        let kept = ProbeRequest {
            kinds: d.in_process.clone(),
            ..request.clone()
        };
        run(store, publisher, prober, &kept, config).await?
    };
    Ok(Dispatched {
        report,
        fanned_out: d.fanned_out,
    })
}

/// What [`run_shard`] did with a task.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ShardOutcome {
    /// The shard ran.
    Ran {
        /// The shard's run.
        report: RunReport,
        /// The run's record after this shard's counts were added (`shards_done` so far).
        record: RunRecord,
    },
    /// The shard did not run: another worker holds its lease, or its event was already
    /// handled (a second delivery). Done: the queue must not bring it back.
    NotRun {
        /// Why (the run's `not_run`).
        reasons: Vec<String>,
    },
    /// Older than [`TASK_STALE_MS`]: dropped unrun (later dispatches covered the shard).
    Stale {
        /// How old it was, ms.
        age_ms: i64,
    },
}

/// Runs one shard task: [`run`] of `store` narrowed to the task's shard (kind, force, window
/// and event id from the task; `deadline_ms` the invocation's, epoch ms, already checked with
/// `usable_deadline`), then adds the shard's counts (its rounds summed; `duration_ms` the
/// shard's wall time) to the run's record ([`RunStore::add_shard_run`] with the task's run id
/// and `started_at` = `issued_at`).
///
/// # Errors
/// [`ProbeError`] from the run (nothing is added to the record then; the task comes back and
/// runs again, its shard's lease and event id keeping it to one run), or
/// [`ProbeError::Store`] when the record cannot be updated.
pub async fn run_shard<S, P>(
    store: &S,
    publisher: &P,
    prober: &Prober,
    task: &ShardTask,
    config: &RunConfig,
    deadline_ms: Option<i64>,
) -> Result<ShardOutcome, ProbeError>
where
    S: ProbeStore + Sharded + ShardLayout,
    P: AlertPublisher + Sync,
{
    let age_ms = config.clock.now_ms() - task.issued_at;
    if age_ms > TASK_STALE_MS {
        tracing::warn!(kind = task.kind.as_str(), shard = %task.shard.label(), run_id = %task.run_id,
            age_ms, "shard task too old; dropped unrun");
        return Ok(ShardOutcome::Stale { age_ms });
    }
    // A task of an earlier layout (the kind was re-sharded since it was sent) would probe
    // targets that another shard now holds under another lease: dropped, the next dispatch
    // covers them.
    let of = store.shard_count(task.kind).await?;
    if of != task.shard.of {
        tracing::warn!(kind = task.kind.as_str(), shard = %task.shard.label(), layout = of,
            run_id = %task.run_id, "shard task of an earlier layout; dropped unrun");
        return Ok(ShardOutcome::NotRun {
            reasons: vec![format!(
                "{}: the kind is split into {of} shards now, not {}",
                task.kind.as_str(),
                task.shard.of
            )],
        });
    }
    let started = Instant::now();
    let narrowed = store.for_shard(task.shard);
    let request = ProbeRequest {
        kinds: vec![task.kind],
        force: task.force,
        window_s: task.window_s,
        deadline_ms,
        event_id: task.event_id.clone(),
    };
    // The shard's rounds add to the run's one record (below) instead of writing their own.
    let config = RunConfig {
        record_runs: false,
        ..config.clone()
    };
    let report = run(&narrowed, publisher, prober, &request, &config).await?;
    let rounds: Vec<&RunRecord> = report.runs.iter().filter(|r| r.kind == task.kind).collect();
    if rounds.is_empty() {
        return Ok(ShardOutcome::NotRun {
            reasons: report.not_run,
        });
    }
    let shard_run = shard_record(task, &rounds, started.elapsed().as_millis() as u64);
    // A location other than the home one keeps no run records (its counts are not the run's).
    if config.locations.as_ref().is_some_and(|l| !l.is_home()) {
        return Ok(ShardOutcome::Ran {
            report,
            record: shard_run,
        });
    }
    let record = store.add_shard_run(&shard_run, task.shard.of).await?;
    tracing::info!(kind = task.kind.as_str(), shard = %task.shard.label(), run_id = %task.run_id,
        checked = shard_run.checked, shards_done = record.shards_done.unwrap_or(0),
        shards = task.shard.of, "shard done");
    Ok(ShardOutcome::Ran { report, record })
}

/// One shard's record: its rounds' counts summed, under the run's id and start.
fn shard_record(task: &ShardTask, rounds: &[&RunRecord], duration_ms: u64) -> RunRecord {
    let sum = |f: fn(&RunRecord) -> usize| rounds.iter().map(|r| f(r)).sum();
    RunRecord {
        run_id: task.run_id.clone(),
        kind: task.kind,
        started_at: task.issued_at,
        duration_ms,
        checked: sum(|r| r.checked),
        ok: sum(|r| r.ok),
        changes: sum(|r| r.changes),
        alerts_published: sum(|r| r.alerts_published),
        alerts_pending: sum(|r| r.alerts_pending),
        skipped: sum(|r| r.skipped),
        shards: Some(task.shard.of),
        shards_done: None,
    }
}

#[cfg(test)]
mod tests;

//! The SLO step of a round: the home location's checks counted in the SLOs that select their
//! targets, each SLO's record written once per round with the burn-rate alerts it raised.
//!
//! Per invocation ([`SloRun::load`]): the SLOs are read once (none: nothing else happens, no
//! record is read); each record is read the first time a round needs it and then kept in memory
//! with its version. Per round ([`SloRun::commit_round`]), for each SLO that got events: the
//! events are added to the record's buckets, old buckets pruned, the rules evaluated
//! ([`evaluate`]) and the alert state stepped, the alerts built ([`slo_alerts`]) and the record
//! written with them in one conditional write ([`SloStore::commit_slo_record`]). A version
//! conflict (another kind's round or another shard wrote the record) reads the record again and
//! adds this round's events to it, up to [`MAX_TRIES`] times. So every check is counted once and
//! each alert is raised once, whoever writes.
//!
//! A store error reading or writing a record never fails the round's status work: it is logged
//! and counted ([`SloRun::errors`]), and the events are kept in memory and added by the
//! invocation's next round that writes the record (another kind's round, or a repeat round). At
//! the end of the invocation the events still unwritten are lost (logged): at most the checks of
//! one invocation. A write whose answer was lost although it went through (a timeout) has its
//! events added again by the next write: they count twice.

use std::collections::{BTreeSet, HashMap};

use futures::StreamExt;

use crate::ports::{SloStore, StoreError};
use lookout_core::domain::slo::{
    evaluate, silenced, slo_alerts, status, AlertContext, SliEvent, Slo, SloRecord,
};
use lookout_core::domain::{Alert, CheckResult, Target, TargetKind};

/// Writes of one record tried in one round (the first and the retries after a conflict).
pub(super) const MAX_TRIES: usize = 5;

/// Checks counted in one SLO: (check time, epoch ms; event).
type Events = Vec<(i64, SliEvent)>;

/// SLO records written at once at the end of a round.
const SLO_CONCURRENCY: usize = 16;

/// One check counted in one SLO.
#[derive(Debug, Clone, Copy)]
pub(super) struct SloCount {
    /// The SLO's index in [`SloRun`].
    slo: usize,
    /// When the check was made, epoch ms.
    at: i64,
    event: SliEvent,
}

/// The SLOs of one invocation, their records as last read or written, and the events not yet
/// written.
#[derive(Default)]
pub(super) struct SloRun {
    slos: Vec<Slo>,
    /// Target id → the target (its maintenance windows) and the SLOs (indices) that count it:
    /// the targets of the invocation's kinds (a shard's: its shard's).
    counted: HashMap<String, (Target, Vec<usize>)>,
    /// For each SLO, the ids of the targets it counts that this invocation knows, sorted.
    members: Vec<Vec<String>>,
    /// SLO id → its record as stored (the version the next write is conditional on).
    records: HashMap<String, SloRecord>,
    /// SLO id → events counted but not written (a store error), for the next round.
    unwritten: HashMap<String, Events>,
    /// Store errors reading or writing records (and SLOs), this invocation.
    pub errors: usize,
}

impl SloRun {
    /// The SLOs, read once, and which of `targets` (the invocation's) each counts. A location
    /// other than the home one (`remote`) counts nothing and reads nothing; a store error
    /// reading the SLOs is logged and counted, and the invocation counts nothing.
    pub async fn load<'t, S: SloStore + Sync>(
        store: &S,
        remote: bool,
        targets: impl Iterator<Item = &'t Target>,
    ) -> SloRun {
        if remote {
            return SloRun::default();
        }
        let slos = match store.slos().await {
            Ok(slos) => slos,
            Err(e) => {
                tracing::error!(error = %e, "SLOs not read; this invocation counts no check in them");
                return SloRun {
                    errors: 1,
                    ..SloRun::default()
                };
            }
        };
        let mut run = SloRun {
            members: vec![Vec::new(); slos.len()],
            ..SloRun::default()
        };
        if slos.is_empty() {
            return run;
        }
        for t in targets {
            let counting: Vec<usize> = (0..slos.len()).filter(|&i| slos[i].selects(t)).collect();
            for &i in &counting {
                run.members[i].push(t.id.clone());
            }
            if !counting.is_empty() {
                run.counted.insert(t.id.clone(), (t.clone(), counting));
            }
        }
        for m in &mut run.members {
            m.sort_unstable();
        }
        run.slos = slos;
        run
    }

    /// Counts `result`, a check of `target`, in every SLO that selects it (into `out`).
    pub fn count(&self, target: &Target, result: &CheckResult, out: &mut Vec<SloCount>) {
        let Some((_, slos)) = self.counted.get(&target.id) else {
            return;
        };
        for &slo in slos {
            let event = self.slos[slo].event(target, result);
            if event != SliEvent::NotValid {
                out.push(SloCount {
                    slo,
                    at: result.at,
                    event,
                });
            }
        }
    }

    /// Writes the round's `counts` (a round of `kind` at `run_at`, epoch ms) to the records of
    /// their SLOs, with the events an earlier round could not write, [`SLO_CONCURRENCY`]
    /// records at once; returns the alerts written to the outbox (to deliver).
    pub async fn commit_round<S: SloStore + Sync>(
        &mut self,
        store: &S,
        kind: TargetKind,
        run_at: i64,
        counts: &[SloCount],
    ) -> Vec<Alert> {
        if self.slos.is_empty() {
            return Vec::new();
        }
        let mut todo: BTreeSet<usize> = counts.iter().map(|c| c.slo).collect();
        todo.extend(
            (0..self.slos.len()).filter(|&i| self.unwritten.contains_key(&self.slos[i].id)),
        );
        let jobs: Vec<(usize, Option<SloRecord>, Events)> = todo
            .into_iter()
            .map(|i| {
                let id = &self.slos[i].id;
                let mut events = self.unwritten.remove(id).unwrap_or_default();
                events.extend(
                    counts
                        .iter()
                        .filter(|c| c.slo == i)
                        .map(|c| (c.at, c.event)),
                );
                (i, self.records.remove(id), events)
            })
            .collect();
        let this = &*self;
        let done: Vec<_> = futures::stream::iter(jobs)
            .map(|(i, cached, events)| async move {
                let job = Job {
                    slo: &this.slos[i],
                    members: &this.members[i],
                    targets: this.members[i]
                        .iter()
                        .filter_map(|id| this.counted.get(id).map(|(t, _)| t))
                        .collect(),
                    kind,
                    run_at,
                    events: &events,
                };
                let (kept, outcome) = commit_one(store, &job, cached).await;
                (i, kept, outcome, events)
            })
            .buffer_unordered(SLO_CONCURRENCY)
            .collect()
            .await;
        let mut raised = Vec::new();
        for (i, kept, outcome, events) in done {
            let id = self.slos[i].id.clone();
            if let Some(record) = kept {
                self.records.insert(id.clone(), record);
            }
            match outcome {
                Ok(alerts) => raised.extend(alerts),
                Err(e) => {
                    self.errors += 1;
                    tracing::error!(slo = %id, events = events.len(), error = %e,
                        "SLO record not written; its events wait for the next round");
                    self.unwritten.insert(id, events);
                }
            }
        }
        raised
    }

    /// Logs the events no round of the invocation could write (they are lost).
    pub fn finish(&self) {
        for (id, events) in &self.unwritten {
            tracing::error!(slo = %id, events = events.len(), "SLO events lost: their record could not be written in this invocation");
        }
    }
}

/// One SLO's write of a round.
struct Job<'a> {
    slo: &'a Slo,
    /// The ids of its targets (listed in its alerts).
    members: &'a [String],
    /// Its targets this invocation knows (their maintenance windows silence its alerts).
    targets: Vec<&'a Target>,
    kind: TargetKind,
    run_at: i64,
    events: &'a [(i64, SliEvent)],
}

/// Adds the job's events to its SLO's record (`cached`, or read), steps its alerts and writes
/// both; on a conflict reads the record again and starts over ([`MAX_TRIES`] in all). Returns
/// the record as now stored (to keep; `None` when unknown) and the alerts written.
async fn commit_one<S: SloStore + Sync>(
    store: &S,
    job: &Job<'_>,
    mut cached: Option<SloRecord>,
) -> (Option<SloRecord>, Result<Vec<Alert>, StoreError>) {
    let slo = job.slo;
    for _ in 0..MAX_TRIES {
        let had_one = cached.is_some();
        let stored = match cached.take() {
            Some(r) => Some(r),
            None => match store.slo_record(&slo.id).await {
                Ok(r) => r,
                Err(e) => return (None, Err(e)),
            },
        };
        let mut next = stored.unwrap_or_else(|| SloRecord::new(&slo.id));
        next.version += 1;
        for &(at, event) in job.events {
            next.series.add(at, event);
        }
        // Never back in time: a round that started before the last writer's steps at its time.
        let at = next.step_time(job.run_at);
        next.evaluated_at = at;
        next.series.prune(at);
        let verdicts = evaluate(slo, &next.series, at);
        let quiet = silenced(slo, &job.targets, at);
        let changes = next.alerts.step(&verdicts, at, quiet);
        let alerts = if changes.is_empty() {
            Vec::new()
        } else {
            let st = status(slo, &next.series, at);
            let ctx = AlertContext {
                target_kind: job.kind,
                targets: job.members,
                verdicts: &verdicts,
                status: &st,
            };
            slo_alerts(slo, &ctx, &changes)
        };
        match store.commit_slo_record(&next, &alerts).await {
            Ok(written) => return (Some(next), Ok(written)),
            // Another round wrote it since: read it again. A record that had been read and is
            // gone now was deleted with its SLO: nothing to count in any more.
            Err(StoreError::Conflict(_)) => match store.slo_record(&slo.id).await {
                Ok(Some(r)) => cached = Some(r),
                Ok(None) if had_one => {
                    tracing::warn!(slo = %slo.id, "SLO record deleted while counting; its events are dropped");
                    return (None, Ok(Vec::new()));
                }
                Ok(None) => {}
                Err(e) => return (None, Err(e)),
            },
            Err(e) => return (None, Err(e)),
        }
    }
    let e = StoreError::Conflict(format!(
        "SLO record {}: still conflicting after {MAX_TRIES} tries",
        slo.id
    ));
    (None, Err(e))
}

#[cfg(test)]
#[path = "slo_tests.rs"]
mod tests;

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

use crate::ports::{SloStore, StoreError};
use lookout_core::domain::slo::{
    evaluate, silenced, slo_alerts, status, AlertContext, SliEvent, Slo, SloRecord,
};
use lookout_core::domain::{Alert, CheckResult, Target, TargetKind};

/// Writes of one record tried in one round (the first and the retries after a conflict).
pub(super) const MAX_TRIES: usize = 5;

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
    unwritten: HashMap<String, Vec<(i64, SliEvent)>>,
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
    /// their SLOs, with the events an earlier round could not write; returns the alerts written
    /// to the outbox (to deliver).
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
        let mut raised = Vec::new();
        for i in todo {
            let id = self.slos[i].id.clone();
            let mut events = self.unwritten.remove(&id).unwrap_or_default();
            events.extend(
                counts
                    .iter()
                    .filter(|c| c.slo == i)
                    .map(|c| (c.at, c.event)),
            );
            match self.commit_one(store, i, kind, run_at, &events).await {
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

    /// Adds `events` to SLO `i`'s record, steps its alerts and writes both; on a conflict reads
    /// the record again and starts over ([`MAX_TRIES`] in all).
    async fn commit_one<S: SloStore + Sync>(
        &mut self,
        store: &S,
        i: usize,
        kind: TargetKind,
        run_at: i64,
        events: &[(i64, SliEvent)],
    ) -> Result<Vec<Alert>, StoreError> {
        let slo = &self.slos[i];
        for _ in 0..MAX_TRIES {
            let cached = self.records.remove(&slo.id);
            let had_one = cached.is_some();
            let stored = match cached {
                Some(r) => Some(r),
                None => store.slo_record(&slo.id).await?,
            };
            let mut next = stored.unwrap_or_else(|| SloRecord::new(&slo.id));
            next.version += 1;
            for &(at, event) in events {
                next.series.add(at, event);
            }
            next.series.prune(run_at);
            let verdicts = evaluate(slo, &next.series, run_at);
            let targets: Vec<&Target> = self.members[i]
                .iter()
                .filter_map(|id| self.counted.get(id).map(|(t, _)| t))
                .collect();
            let changes = next
                .alerts
                .step(&verdicts, run_at, silenced(slo, &targets, run_at));
            let alerts = if changes.is_empty() {
                Vec::new()
            } else {
                let st = status(slo, &next.series, run_at);
                let ctx = AlertContext {
                    target_kind: kind,
                    targets: &self.members[i],
                    verdicts: &verdicts,
                    status: &st,
                };
                slo_alerts(slo, &ctx, &changes)
            };
            match store.commit_slo_record(&next, &alerts).await {
                Ok(written) => {
                    self.records.insert(slo.id.clone(), next);
                    return Ok(written);
                }
                // Another round wrote it since: read it again. A record that had been read and
                // is gone now was deleted with its SLO: nothing to count in any more.
                Err(StoreError::Conflict(_)) => match store.slo_record(&slo.id).await? {
                    Some(r) => {
                        self.records.insert(slo.id.clone(), r);
                    }
                    None if had_one => {
                        tracing::warn!(slo = %slo.id, "SLO record deleted while counting; its events are dropped");
                        return Ok(Vec::new());
                    }
                    None => {}
                },
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict(format!(
            "SLO record {}: still conflicting after {MAX_TRIES} tries",
            slo.id
        )))
    }

    /// Logs the events no round of the invocation could write (they are lost).
    pub fn finish(&self) {
        for (id, events) in &self.unwritten {
            tracing::error!(slo = %id, events = events.len(), "SLO events lost: their record could not be written in this invocation");
        }
    }
}

#[cfg(test)]
#[path = "slo_tests.rs"]
mod tests;

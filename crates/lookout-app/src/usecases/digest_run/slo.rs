//! The hourly digest's SLO lines: each SLO's status at the time of the run from its record,
//! a line for those worth a word (`lookout_core::digest::slo::worth_a_line`), alerts firing
//! and most spent first.

use std::collections::HashMap;

use crate::ports::{AlertPublisher, IncidentStore, Outbox, SloStore, StoreError};
use lookout_core::digest::slo::{reading_order, slo_line, SloLine};
use lookout_core::domain::slo::alerts::{slo_alerts, AlertContext};
use lookout_core::domain::slo::{evaluate, status, Slo, SloEvent, SloRecord};
use lookout_core::domain::TargetKind;

/// Resolves the alerts of SLOs that stopped burning while no probe round counted a check of
/// them (their targets disabled, deleted or out of the group or tag): a probe round steps only
/// the SLOs it counted checks in, so without this an alert would stay firing. Each such SLO is
/// stepped at `now` (epoch ms) with no new events; when that only resolves alerts, the record
/// and the resolves are written in one conditional write (a probe round that wrote meanwhile
/// wins; it steps the SLO itself) and published. Returns how many alerts were resolved.
///
/// # Errors
/// [`StoreError`] when the SLOs or their records cannot be read; a failed write is logged.
pub(super) async fn settle_firing<S, P>(
    store: &S,
    publisher: &P,
    now: i64,
) -> Result<usize, StoreError>
where
    S: SloStore + Outbox + IncidentStore + Sync,
    P: AlertPublisher + Sync,
{
    let slos = store.slos().await?;
    if slos.is_empty() {
        return Ok(0);
    }
    let mut resolved = 0;
    for record in store.slo_records().await? {
        let Some(slo) = slos.iter().find(|s| s.id == record.slo_id) else {
            continue;
        };
        if record.alerts.firing.is_empty() {
            continue;
        }
        let mut next = record.clone();
        next.version += 1;
        let at = next.step_time(now);
        next.evaluated_at = at;
        next.series.prune(at);
        let verdicts = evaluate(slo, &next.series, at);
        let changes = next.alerts.step(&verdicts, at, false);
        // Only resolves: an alert that starts is a probe round's to raise, with its checks.
        if changes.is_empty() || changes.iter().any(|c| matches!(c, SloEvent::Fired { .. })) {
            continue;
        }
        let st = status(slo, &next.series, at);
        let ctx = AlertContext {
            target_kind: TargetKind::Server,
            targets: &[],
            verdicts: &verdicts,
            status: &st,
        };
        let alerts = slo_alerts(slo, &ctx, &changes);
        match store.commit_slo_record(&next, &alerts).await {
            Ok(written) => {
                resolved += changes.len();
                for alert in &written {
                    crate::ports::deliver(store, publisher, alert).await;
                }
            }
            Err(e) => {
                tracing::warn!(slo = %slo.id, error = %e, "SLO alerts not settled; the next run tries again")
            }
        }
    }
    Ok(resolved)
}

/// The lines of the SLOs worth a word at `now` (epoch ms), with their definitions. An SLO
/// without a record yet (no check counted) has no events and gets no line.
///
/// # Errors
/// [`StoreError`] when the SLOs or their records cannot be read.
pub(super) async fn lines<S: SloStore + Sync>(
    store: &S,
    now: i64,
) -> Result<Vec<(Slo, SloLine)>, StoreError> {
    let slos = store.slos().await?;
    if slos.is_empty() {
        return Ok(Vec::new());
    }
    let records: HashMap<String, SloRecord> = store
        .slo_records()
        .await?
        .into_iter()
        .map(|r| (r.slo_id.clone(), r))
        .collect();
    let mut out: Vec<(Slo, SloLine)> = Vec::new();
    for slo in slos {
        let Some(record) = records.get(&slo.id) else {
            continue;
        };
        let firing: Vec<String> = record.alerts.firing.keys().cloned().collect();
        if let Some(line) = slo_line(&slo, &status(&slo, &record.series, now), &firing) {
            out.push((slo, line));
        }
    }
    out.sort_by(|a, b| reading_order(&a.1, &b.1));
    Ok(out)
}

#[cfg(test)]
mod tests;

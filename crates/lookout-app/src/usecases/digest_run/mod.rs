//! The digest run, hourly: rolls up the hour that just ended for every target, looks for
//! anomalies against each target's last 7 days, writes a digest per target and one over all,
//! refreshes the status page's uptime table, and after the last hour of a UTC day writes the
//! day's rollups and raises the daily report through the outbox and the publisher.
//!
//! A run for an hour can be made again: the same rollups and digests are overwritten, and the
//! daily report is not sent twice (the outbox holds it).
//!
//! - `kind`: one kind's rollups, anomalies, digests and uptime table.
//! - `narrate`: the narratives (a language model's retelling, when one is configured): which
//!   digests get one, at most one call per scope and hour, the monthly token budget.
//! - `slo`: the SLO lines of the global digest (and of the daily reports): budget spent, the
//!   date it runs out, alerts firing.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::ports::{
    AlertPublisher, DigestStore, HistoryStore, IncidentStore, Latest, NarrativeLedger, Outbox,
    SloStore, StateStore, StoreError, TargetStore,
};
use crate::usecases::event::Field;
use lookout_core::digest::report::{global_digest, Digest, Summariser};
use lookout_core::digest::rollup::{Period, Rollup, HOUR_MS};
use lookout_core::digest::slo::{add_to_digest, SloLine, MAX_LINES};
use lookout_core::domain::grouped::daily_report;
use lookout_core::domain::{Alert, Target, TargetKind};

mod kind;
pub mod narrate;
mod slo;

/// Hours of baseline each target's hour is judged against (7 days).
pub const BASELINE_HOURS: i64 = 7 * 24;

/// Targets digested at once (each needs one query for its baseline).
pub const CONCURRENCY: usize = 16;

/// What one invocation is asked to digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigestRequest {
    /// Start of the hour, epoch ms.
    pub hour: i64,
}

/// Why an event's `hour` was refused; every message starts `hour:`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HourError {
    /// The field is not text.
    #[error("hour: expected text like \"2026-11-21T14\"")]
    NotText,
    /// The text is not `YYYY-MM-DDTHH`.
    #[error("hour: {0:?} is not an hour like \"2026-11-21T14\"")]
    NotAnHour(String),
    /// The hour lies after the hour in progress.
    #[error("hour: {0} has not started yet")]
    NotStarted(String),
}

impl DigestRequest {
    /// The hour an event's `hour` field asks for at `now` (epoch ms): `"YYYY-MM-DDTHH"` (UTC,
    /// not in the future; the hour in progress is digested so far, as the demo does, and
    /// digested again in full by the scheduled run after it ends), or, without the field (the
    /// scheduled event), the last complete hour.
    ///
    /// # Errors
    /// [`HourError`], whose message starts `hour:` and names what is wrong with it.
    pub fn for_hour(hour: &Field<String>, now: i64) -> Result<Self, HourError> {
        let last = Period::Hour.start_of(now) - HOUR_MS;
        let text = match hour {
            Field::Absent => return Ok(DigestRequest { hour: last }),
            Field::Valid(text) => text,
            Field::Invalid(_) => return Err(HourError::NotText),
        };
        let ms = parse_hour(text).ok_or_else(|| HourError::NotAnHour(text.clone()))?;
        if ms > last + HOUR_MS {
            return Err(HourError::NotStarted(text.clone()));
        }
        Ok(DigestRequest { hour: ms })
    }
}

/// `YYYY-MM-DDTHH` (UTC) to epoch ms.
pub fn parse_hour(text: &str) -> Option<i64> {
    if text.len() != 13 || !text.is_ascii() {
        return None;
    }
    let compact = format!(
        "{}{}{}T{}0000Z",
        &text[0..4],
        &text[5..7],
        &text[8..10],
        &text[11..13]
    );
    let ms = lookout_core::time::parse_compact(&compact)?;
    (lookout_core::time::hour(ms) == text).then_some(ms)
}

/// What one invocation did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DigestReport {
    /// Start of the hour digested, RFC 3339.
    pub hour: String,
    /// Targets digested.
    pub targets: usize,
    /// Rollups written (hourly and, after a day's last hour, daily; all-targets ones included).
    pub rollups: usize,
    /// Anomalies found (all-targets ones included).
    pub anomalies: usize,
    /// The global digest.
    pub global: Digest,
    /// Daily reports raised now (empty outside the day's last hour, or when already sent).
    pub daily_reports: Vec<Alert>,
    /// Wall time, ms.
    pub duration_ms: u64,
}

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    /// The event could not be read.
    #[error("{0}")]
    BadRequest(String),
    /// A read or write failed; a run for the same hour can be made again.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl DigestError {
    /// The error's type as Lambda reports it (`errorType`): `BadRequest` or `StoreError`.
    pub fn error_type(&self) -> &'static str {
        match self {
            DigestError::BadRequest(_) => "BadRequest",
            DigestError::Store(_) => "StoreError",
        }
    }
}

/// Digests the hour starting at `hour` at `now` (both epoch ms). See the module doc. The SLOs
/// worth a word get a line in the global digest (and in the daily reports of the kinds they
/// select), their status taken at `now`; SLOs that cannot be read only leave the lines out.
///
/// Narratives, when the summariser is enabled, come last (`narrate`): the built-in digests,
/// the incidents and the daily reports are done first, and the digests that got a narrative
/// (and the global one, with the counts) are written again.
///
/// # Errors
/// [`DigestError::Store`] when targets, history or rollups cannot be read, or rollups and
/// digests cannot be written. A daily report that cannot be published stays pending in the
/// outbox (the probe's next run sends it).
pub async fn run<S, P, M>(
    store: &S,
    publisher: &P,
    summariser: &M,
    hour: i64,
    now: i64,
) -> Result<DigestReport, DigestError>
where
    S: TargetStore
        + StateStore
        + HistoryStore
        + DigestStore
        + Outbox
        + IncidentStore
        + SloStore
        + NarrativeLedger
        + Sync,
    P: AlertPublisher + Sync,
    M: Summariser + Sync,
{
    let started = std::time::Instant::now();
    let all_targets = store.list_targets(None).await?;
    let span = kind::Span::new(hour, now);
    let mut kinds = Vec::new();
    for kind in TargetKind::ALL {
        let targets: Vec<&Target> = all_targets.iter().filter(|t| t.kind() == kind).collect();
        if !targets.is_empty() {
            kinds.push(kind::digest_kind(store, kind, &targets, &span).await?);
        }
    }
    let mut rollups_written: usize = kinds.iter().map(|k| k.rollups_written).sum();
    let day_rollups: Vec<Rollup> = kinds
        .iter()
        .flat_map(|k| k.judged.iter().filter_map(|j| j.day.clone()))
        .collect();
    if !day_rollups.is_empty() {
        store.put_rollups(&day_rollups).await?;
        rollups_written += day_rollups.len();
    }
    let digests: Vec<Digest> = kinds
        .iter()
        .flat_map(|k| k.judged.iter().map(|j| j.digest.clone()))
        .collect();
    let overall_anomalies = kinds
        .iter_mut()
        .flat_map(|k| k.anomalies.drain(..))
        .collect();
    let mut global = global_digest(hour, &digests, overall_anomalies, now);
    match slo::settle_firing(store, publisher, now).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(count = n, "SLO alerts resolved with no check counted"),
        Err(e) => tracing::warn!(error = %e, "SLO alerts not settled; the next run tries again"),
    }
    let mut slo_lines = match slo::lines(store, now).await {
        Ok(lines) => lines,
        Err(e) => {
            tracing::warn!(error = %e, "SLOs not read; the digest goes without their lines");
            Vec::new()
        }
    };
    add_to_digest(
        &mut global,
        slo_lines.iter().map(|(_, l)| l.clone()).collect(),
    );
    slo_lines.truncate(MAX_LINES);
    let targets = digests.len();
    // Quiet targets' digests are not stored (`Digest::is_notable`).
    let mut writes: Vec<Digest> = digests.into_iter().filter(Digest::is_notable).collect();
    let anomalies = global.anomalies.len();
    writes.push(global.clone());
    // The built-in digests are stored before any narrative is asked for: a slow model, or a
    // run cut short while it waits, never keeps them from the table.
    store.put_digests(&writes).await?;
    // Auto incidents whose recovery never came (or whose targets were deleted) and maintenance
    // windows whose times passed: closed or moved on from the states just read (`now` was
    // taken before they were read, so an incident changed since is left alone).
    let current: HashMap<String, lookout_core::domain::Status> = kinds
        .iter()
        .flat_map(|k| k.latest.iter())
        .filter(|(id, _)| all_targets.iter().any(|t| &t.id == *id))
        .map(|(id, l)| (id.clone(), l.state.status))
        .collect();
    match crate::usecases::incidents::settle_incidents(store, publisher, &current, now).await {
        Ok(settled) if !settled.is_empty() => {
            tracing::info!(count = settled.len(), "incidents settled");
        }
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(error = %e, "open incidents not settled; the next run tries again")
        }
    }
    let daily_reports = if span.day_ends {
        let states: HashMap<TargetKind, HashMap<String, Latest>> =
            kinds.into_iter().map(|k| (k.kind, k.latest)).collect();
        raise_daily_reports(
            store,
            publisher,
            &all_targets,
            &states,
            &day_rollups,
            &slo_lines,
            span.day_start,
        )
        .await?
    } else {
        Vec::new()
    };
    if summariser.enabled() {
        writes.pop();
        let counts = narrate::narrate(store, summariser, &mut global, &mut writes, now).await;
        global.narration = Some(counts);
        // Written again: the global digest (with its counts) and the digests that got one.
        let mut narrated: Vec<Digest> = writes
            .into_iter()
            .filter(|d| d.narrative.is_some())
            .collect();
        narrated.push(global.clone());
        store.put_digests(&narrated).await?;
    }
    Ok(DigestReport {
        hour: lookout_core::time::rfc3339(hour),
        targets,
        rollups: rollups_written,
        anomalies,
        global,
        daily_reports,
        duration_ms: started.elapsed().as_millis() as u64,
    })
}

/// After a day's last hour: one daily report per kind (its targets' states and the day's
/// uptime, then the lines of the SLOs that select one of its targets), written to the outbox
/// and published. A report the outbox already holds is not raised again. Returns the reports
/// raised now.
async fn raise_daily_reports<S, P>(
    store: &S,
    publisher: &P,
    all_targets: &[Target],
    states: &HashMap<TargetKind, HashMap<String, Latest>>,
    day_rollups: &[Rollup],
    slo_lines: &[(lookout_core::domain::slo::Slo, SloLine)],
    day_start: i64,
) -> Result<Vec<Alert>, DigestError>
where
    S: Outbox + IncidentStore + Sync,
    P: AlertPublisher + Sync,
{
    let day_uptime: HashMap<&str, Option<f64>> = day_rollups
        .iter()
        .map(|r| (r.target_id.as_str(), r.uptime_percent()))
        .collect();
    let mut raised = Vec::new();
    for kind in TargetKind::ALL {
        let Some(latest) = states.get(&kind) else {
            continue;
        };
        let entries: Vec<_> = all_targets
            .iter()
            .filter(|t| t.kind() == kind)
            .filter_map(|t| {
                let state = &latest.get(&t.id)?.state;
                Some((t, state, day_uptime.get(t.id.as_str()).copied().flatten()))
            })
            .collect();
        if entries.is_empty() {
            continue;
        }
        let mut report = daily_report(kind, day_start, &entries);
        for (slo, line) in slo_lines {
            if entries.iter().any(|(t, _, _)| slo.selects(t)) {
                report.text.push(' ');
                report.text.push_str(&line.text);
            }
        }
        for alert in store.enqueue(&[report]).await? {
            crate::ports::deliver(store, publisher, &alert).await;
            raised.push(alert);
        }
    }
    Ok(raised)
}

#[cfg(test)]
mod tests;

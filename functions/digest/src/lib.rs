//! The digest function, scheduled hourly: rolls up the hour that just ended for every target,
//! looks for anomalies against each target's last 7 days, writes a digest per target and one
//! over all, refreshes the status page's uptime table, and after the last hour of a UTC day
//! writes the day's rollups and raises the daily report through the outbox and SNS.
//!
//! Events: an EventBridge scheduled event (or `{}`) digests the last complete hour;
//! `{"hour":"2026-11-21T14"}` digests that hour again (idempotent: the same rollups and digests
//! are overwritten, the daily report is not sent twice).

use std::collections::HashMap;

use futures::{StreamExt as _, TryStreamExt as _};
use lookout::digest::anomaly::{detect, Anomaly, Thresholds};
use lookout::digest::report::{global_digest, target_digest, Digest, Summariser};
use lookout::digest::rollup::{
    overall, roll_up_hour, uptime, Period, Rollup, Uptime, DAY_MS, HOUR_MS,
};
use lookout::domain::grouped::daily_report;
use lookout::domain::{Alert, Target, TargetKind};
use lookout::ports::{
    AlertPublisher, DigestStore, HistoryStore, Latest, Outbox, StateStore, StoreError, TargetStore,
    TargetUptime,
};
use serde::{Deserialize, Serialize};

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

impl DigestRequest {
    /// Reads an event at `now` (epoch ms): `{"hour":"YYYY-MM-DDTHH"}` (UTC, not in the future;
    /// the hour in progress is digested so far, as the demo does, and digested again in full
    /// by the scheduled run after it ends), or anything else (the scheduled event) for the last
    /// complete hour.
    ///
    /// # Errors
    /// A message naming what is wrong with `hour`.
    pub fn from_event(event: &serde_json::Value, now: i64) -> Result<Self, String> {
        let last = Period::Hour.start_of(now) - HOUR_MS;
        let Some(h) = event.get("hour") else {
            return Ok(DigestRequest { hour: last });
        };
        let text = h
            .as_str()
            .ok_or("hour: expected text like \"2026-11-21T14\"")?;
        let ms = parse_hour(text)
            .ok_or_else(|| format!("hour: {text:?} is not an hour like \"2026-11-21T14\""))?;
        if ms > last + HOUR_MS {
            return Err(format!("hour: {text} has not started yet"));
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
    let ms = lookout::time::parse_compact(&compact)?;
    (lookout::time::hour(ms) == text).then_some(ms)
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

impl From<DigestError> for lambda_runtime::Diagnostic {
    fn from(e: DigestError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: match e {
                DigestError::BadRequest(_) => "BadRequest",
                DigestError::Store(_) => "StoreError",
            }
            .into(),
            error_message: e.to_string(),
        }
    }
}

/// One target's part of the run.
struct Judged {
    target_id: String,
    digest: Digest,
    /// Its day rollup, after a day's last hour.
    day: Option<Rollup>,
}

/// Digests the hour starting at `hour` at `now` (both epoch ms). See the module doc.
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
    S: TargetStore + StateStore + HistoryStore + DigestStore + Outbox + Sync,
    P: AlertPublisher + Sync,
    M: Summariser + Sync,
{
    let started = std::time::Instant::now();
    let thresholds = Thresholds::default();
    let all_targets = store.list_targets(None).await?;
    let mut judged: Vec<Judged> = Vec::new();
    let mut overall_anomalies: Vec<Anomaly> = Vec::new();
    let mut rollups_written = 0;
    let mut states: HashMap<TargetKind, HashMap<String, Latest>> = HashMap::new();
    // Day rollups and the daily report only once the day's last hour is over.
    let day_ends = (hour + HOUR_MS).rem_euclid(DAY_MS) == 0 && hour + HOUR_MS <= now;
    let day_start = Period::Day.start_of(hour);
    for kind in TargetKind::ALL {
        let targets: Vec<&Target> = all_targets.iter().filter(|t| t.kind() == kind).collect();
        if targets.is_empty() {
            continue;
        }
        let mut latest = store.latest(kind).await?;
        lookout::ports::catch_up_all(&mut latest, targets.iter().copied());
        let results = store
            .history(kind, hour, hour + HOUR_MS - 1, targets.len())
            .await?;
        // Disabled targets count only if they were checked in the hour.
        let checked: std::collections::HashSet<&str> =
            results.iter().map(|r| r.target_id.as_str()).collect();
        let ids: Vec<(String, TargetKind)> = targets
            .iter()
            .filter(|t| t.enabled || checked.contains(t.id.as_str()))
            .map(|t| (t.id.clone(), kind))
            .collect();
        let hourly = roll_up_hour(&ids, hour, &results);
        let all = overall(kind, hour, &hourly);
        let mut writes = hourly.clone();
        writes.push(all.clone());
        store.put_rollups(&writes).await?;
        rollups_written += writes.len();
        // All targets of the kind together.
        let mut series = store
            .rollups(
                "*",
                kind,
                Period::Hour,
                hour - BASELINE_HOURS * HOUR_MS,
                hour,
            )
            .await?;
        series.push(all);
        for mut a in detect(&series, &thresholds) {
            a.explanation = format!("{}: {}", kind.plural(), a.explanation);
            overall_anomalies.push(a);
        }
        if day_ends {
            let day: Vec<&Rollup> = series.iter().filter(|r| r.start >= day_start).collect();
            let merged = Rollup::merge("*", kind, Period::Day, day_start, &day);
            store.put_rollups(&[merged]).await?;
            rollups_written += 1;
        }
        let names: HashMap<&str, &str> = targets
            .iter()
            .map(|t| (t.id.as_str(), t.name.as_str()))
            .collect();
        let latest_ref = &latest;
        let thresholds = &thresholds;
        // Uptime windows: 24 h and 7 d from the hours read for the baseline; 30 and 365 d from
        // the day rollups, read again after a day ends (or for a target the table lacks),
        // otherwise kept from the last run.
        let previous: HashMap<String, Vec<Uptime>> = store
            .uptime_table(kind)
            .await?
            .into_iter()
            .map(|t| (t.target_id, t.windows))
            .collect();
        let previous = &previous;
        let until = hour + HOUR_MS;
        let one = |current: Rollup| {
            let name = names
                .get(current.target_id.as_str())
                .copied()
                .unwrap_or_default()
                .to_string();
            async move {
                let mut series = store
                    .rollups(
                        &current.target_id,
                        kind,
                        Period::Hour,
                        hour - BASELINE_HOURS * HOUR_MS,
                        hour,
                    )
                    .await?;
                let baseline_len = series.len();
                series.push(current.clone());
                let anomalies = detect(&series, thresholds);
                let state = latest_ref.get(&current.target_id).map(|l| &l.state);
                let name = if name.is_empty() {
                    current.target_id.clone()
                } else {
                    name
                };
                let mut digest = target_digest(
                    &name,
                    &current,
                    &series[..baseline_len],
                    anomalies,
                    state,
                    Vec::new(),
                    now,
                );
                let day = day_ends.then(|| {
                    let hours: Vec<&Rollup> =
                        series.iter().filter(|r| r.start >= day_start).collect();
                    Rollup::merge(&current.target_id, kind, Period::Day, day_start, &hours)
                });
                let kept = previous.get(&current.target_id).filter(|_| !day_ends);
                // Days before today; today counts from its hours in `series`.
                let mut days = Vec::new();
                if kept.is_none() {
                    days = store
                        .rollups(
                            &current.target_id,
                            kind,
                            Period::Day,
                            until - 365 * DAY_MS,
                            day_start,
                        )
                        .await?;
                }
                let mut windows = uptime(until, &series, &days);
                for w in windows
                    .iter_mut()
                    .filter(|w| w.window == "30d" || w.window == "365d")
                {
                    if let Some(o) = kept.and_then(|old| old.iter().find(|o| o.window == w.window))
                    {
                        *w = o.clone();
                    }
                }
                digest.uptime = windows;
                digest.narrative = summariser.summarise(&digest).await.ok();
                Ok::<_, StoreError>(Judged {
                    target_id: current.target_id.clone(),
                    digest,
                    day,
                })
            }
        };
        let mut done: Vec<Judged> = futures::stream::iter(hourly.into_iter().map(one))
            .buffer_unordered(CONCURRENCY)
            .try_collect()
            .await?;
        done.sort_by(|a, b| a.target_id.cmp(&b.target_id));
        let table: Vec<TargetUptime> = done
            .iter()
            .map(|j| TargetUptime {
                target_id: j.target_id.clone(),
                windows: j.digest.uptime.clone(),
            })
            .collect();
        store.put_uptime(kind, &table).await?;
        judged.extend(done);
        states.insert(kind, latest);
    }

    let day_rollups: Vec<Rollup> = judged.iter().filter_map(|j| j.day.clone()).collect();
    if !day_rollups.is_empty() {
        store.put_rollups(&day_rollups).await?;
        rollups_written += day_rollups.len();
    }
    let digests: Vec<Digest> = judged.iter().map(|j| j.digest.clone()).collect();
    let mut global = global_digest(hour, &digests, overall_anomalies, now);
    global.narrative = summariser.summarise(&global).await.ok();
    let anomalies = global.anomalies.len();
    // Quiet targets' digests are not stored (`Digest::is_notable`).
    let mut writes: Vec<Digest> = digests.into_iter().filter(Digest::is_notable).collect();
    writes.push(global.clone());
    store.put_digests(&writes).await?;

    let mut daily_reports = Vec::new();
    if day_ends {
        let day_uptime: HashMap<&str, Option<f64>> = day_rollups
            .iter()
            .map(|r| (r.target_id.as_str(), r.uptime_percent()))
            .collect();
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
            let report = daily_report(kind, day_start, &entries);
            for alert in store.enqueue(&[report]).await? {
                lookout::ports::deliver(store, publisher, &alert).await;
                daily_reports.push(alert);
            }
        }
    }
    Ok(DigestReport {
        hour: lookout::time::rfc3339(hour),
        targets: judged.len(),
        rollups: rollups_written,
        anomalies,
        global,
        daily_reports,
        duration_ms: started.elapsed().as_millis() as u64,
    })
}

/// The production wiring, built once per cold start.
pub struct Deps {
    /// The table.
    pub store: lookout::adapters::dynamodb::DynamoStore,
    /// The topic.
    pub publisher: lookout::adapters::sns::SnsPublisher,
}

impl Deps {
    /// Reads the settings and builds the clients from the environment.
    ///
    /// # Errors
    /// A message naming the missing setting.
    pub async fn from_env() -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let settings = lookout::config::Settings::from_env()?;
        let aws = lookout::adapters::aws_config().await;
        Ok(Deps {
            // The digest never needs a secret: sealed values read as `***`, so it needs no key.
            store: lookout::adapters::dynamodb::DynamoStore::from_settings(&aws, &settings)
                .with_sealer(lookout::adapters::sealing::Sealer::masked()),
            publisher: lookout::adapters::sns::SnsPublisher::from_config(
                &aws,
                settings.require_topic()?,
            ),
        })
    }

    /// Handles one event.
    ///
    /// # Errors
    /// See [`run`] and [`DigestRequest::from_event`].
    pub async fn handle(&self, event: serde_json::Value) -> Result<DigestReport, DigestError> {
        let now = lookout::time::now_ms();
        let request = DigestRequest::from_event(&event, now).map_err(DigestError::BadRequest)?;
        let report = run(
            &self.store,
            &self.publisher,
            &lookout::digest::report::NoSummariser,
            request.hour,
            now,
        )
        .await?;
        tracing::info!(
            hour = %report.hour,
            targets = report.targets,
            anomalies = report.anomalies,
            duration_ms = report.duration_ms,
            "digest done"
        );
        Ok(report)
    }
}

#[cfg(test)]
mod tests;

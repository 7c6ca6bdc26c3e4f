//! Digests: what an hour looked like, per target and over all targets, in plain words with
//! concrete recommendations. Built from the hour's rollups, the baseline rollups and the
//! anomalies found; stored as `DIGEST#<scope>` / `<period start>` and served by the API.

use std::collections::BTreeMap;
use std::future::Future;

use serde::{Deserialize, Serialize};

use super::anomaly::{Anomaly, AnomalyKind};
use super::narrative::{NarrationCounts, NarrationPolicy, Narrative, Summary};
use super::rollup::{Latency, Rollup, Uptime};
use crate::domain::{Status, TargetKind, TargetState};

/// Scope of the digest over all targets.
pub const GLOBAL: &str = "global";

/// Digests are kept this many days (TTL).
pub const DIGEST_TTL_DAYS: u32 = 90;

/// One target's line in the global digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetLine {
    /// The target's id.
    pub id: String,
    /// `server` or `proxy`.
    pub kind: TargetKind,
    /// Status at the time of the digest.
    pub status: Status,
    /// Uptime over the hour, percent (`None` without checks).
    pub uptime_percent: Option<f64>,
    /// Checks in the hour.
    pub checks: u64,
    /// Failures in the hour.
    pub failures: u64,
}

/// A digest of one hour: of one target (`scope` = its id) or of all (`scope` = [`GLOBAL`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Digest {
    /// A target id, or [`GLOBAL`].
    pub scope: String,
    /// Start of the hour covered, epoch ms.
    pub start: i64,
    /// End of the hour covered (exclusive), epoch ms.
    pub end: i64,
    /// When it was computed, epoch ms.
    pub generated_at: i64,
    /// The summary in plain words.
    pub summary: String,
    /// What to check or do, most urgent first (empty when all is well).
    pub recommendations: Vec<String>,
    /// Anomalies found in the hour.
    pub anomalies: Vec<Anomaly>,
    /// Checks in the hour.
    pub checks: u64,
    /// Failures in the hour.
    pub failures: u64,
    /// Uptime over the hour, percent (`None` without checks).
    pub uptime_percent: Option<f64>,
    /// Latency of the hour's successful checks (a target's digest only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<Latency>,
    /// The target's usual hourly p95 (median over the baseline), ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_p95_ms: Option<u64>,
    /// The target's kind (a target's digest only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<TargetKind>,
    /// The target's status at the time of the digest (a target's digest only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Uptime over 24 hours, 7, 30 and 365 days (a target's digest only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uptime: Vec<Uptime>,
    /// Targets by status (the global digest only).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_status: BTreeMap<String, usize>,
    /// Targets counted (the global digest only).
    #[serde(default)]
    pub targets: usize,
    /// The targets with the lowest uptime in the hour, at most 5, only those under 100 % (the
    /// global digest only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub worst: Vec<TargetLine>,
    /// The SLOs worth a word (budget spent at least 25 %, a 6-hour burn rate above 1, or an
    /// alert firing), their sentences also at the end of `summary` (the global digest only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slos: Vec<super::slo::SloLine>,
    /// A language model's retelling, when a [`Summariser`] is configured and its call
    /// answered ([`Narrative`], marked `generated`). The built-in `summary` is always there and
    /// does not depend on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub narrative: Option<Narrative>,
    /// What the digest run did about narratives (the global digest only, when a summariser is
    /// configured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub narration: Option<NarrationCounts>,
}

/// An optional second summary of a digest (for example by a language model). The built-in
/// summary stands on its own; a summariser's answer goes into [`Digest::narrative`] and a
/// failure only leaves it out. The digest run decides which digests are narrated and rations
/// the calls (at most one per scope and hour, within the monthly token budget of
/// [`Summariser::policy`]).
pub trait Summariser {
    /// Whether calls are made at all ([`NoSummariser`]: no).
    fn enabled(&self) -> bool {
        true
    }

    /// Which digests are narrated and the monthly token budget.
    fn policy(&self) -> NarrationPolicy {
        NarrationPolicy::default()
    }

    /// The most tokens one call for `digest` can use (the prompt's estimate plus the answer's
    /// maximum), reserved from the monthly budget before the call.
    fn token_bound(&self, digest: &Digest) -> u64;

    /// A retelling of `digest`: one call, no retry.
    ///
    /// # Errors
    /// [`SummaryError`]: why there is none.
    fn summarise(
        &self,
        digest: &Digest,
    ) -> impl Future<Output = Result<Summary, SummaryError>> + Send;
}

/// Why a digest has no second summary. The texts never hold the API key or a target's secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SummaryError {
    /// No summariser is configured ([`NoSummariser`]).
    #[error("no summariser configured")]
    NotConfigured,
    /// The call failed (an HTTP error other than 429, an answer that is not a chat completion,
    /// a connection failure, an API key that could not be read), in words.
    #[error("failed: {0}")]
    Failed(String),
    /// The request never left: the address guard refused the URL, the API key could not be
    /// read, or the server could not be reached (DNS, connection, TLS). Counted as failed,
    /// charged no tokens.
    #[error("not sent: {0}")]
    NotSent(String),
    /// No answer within the timeout.
    #[error("timeout: {0}")]
    TimedOut(String),
    /// The model refused or answered no text.
    #[error("refused: {0}")]
    Refused(String),
    /// The server answered 429 (rate limit or quota).
    #[error("rate limited: {0}")]
    RateLimited(String),
}

/// The default: no second summary.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSummariser;

impl Summariser for NoSummariser {
    fn enabled(&self) -> bool {
        false
    }

    fn token_bound(&self, _digest: &Digest) -> u64 {
        0
    }

    async fn summarise(&self, _digest: &Digest) -> Result<Summary, SummaryError> {
        Err(SummaryError::NotConfigured)
    }
}

/// A summariser that may be configured: `None` makes no calls.
impl<T: Summariser + Sync> Summariser for Option<T> {
    fn enabled(&self) -> bool {
        self.as_ref().is_some_and(Summariser::enabled)
    }

    fn policy(&self) -> NarrationPolicy {
        self.as_ref().map(Summariser::policy).unwrap_or_default()
    }

    fn token_bound(&self, digest: &Digest) -> u64 {
        self.as_ref().map_or(0, |s| s.token_bound(digest))
    }

    async fn summarise(&self, digest: &Digest) -> Result<Summary, SummaryError> {
        match self {
            Some(s) => s.summarise(digest).await,
            None => Err(SummaryError::NotConfigured),
        }
    }
}

pub use crate::time::hhmm;

fn percent(p: Option<f64>) -> String {
    p.map_or_else(|| "n/a".into(), |p| format!("{p:.2}%"))
}

/// The median of the baseline hours' p95 latency, ms (`None` when no hour had latency).
pub fn baseline_p95(baseline: &[Rollup]) -> Option<u64> {
    let mut v: Vec<u64> = baseline
        .iter()
        .filter_map(|r| r.latency.map(|l| l.p95))
        .collect();
    v.sort_unstable();
    v.get(v.len().saturating_sub(1) / 2).copied()
}

/// The error kind with the most failures, if any failed.
pub fn dominant_error(r: &Rollup) -> Option<&str> {
    r.errors
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
        .map(|(k, _)| k.as_str())
}

impl Digest {
    /// Whether a target's digest has something to say: an anomaly, a failure, or a status
    /// other than `healthy`. Only those are stored (about one target in twenty in a normal
    /// hour): the quiet hours of a target are in its rollups and the global digest, and
    /// storing them was most of the digest's writes. The global digest is always stored.
    pub fn is_notable(&self) -> bool {
        self.scope == GLOBAL
            || !self.anomalies.is_empty()
            || self.failures > 0
            || self.status.is_some_and(|s| s != Status::Healthy)
    }
}

/// A target's digest of the hour of `rollup`: status, checks, uptime and latency against the
/// baseline, the anomalies' explanations, and recommendations (the anomalies' own, then one for
/// a target still `down` or `blocked`).
pub fn target_digest(
    name: &str,
    rollup: &Rollup,
    baseline: &[Rollup],
    anomalies: Vec<Anomaly>,
    state: Option<&TargetState>,
    uptime: Vec<Uptime>,
    now: i64,
) -> Digest {
    let usual = baseline_p95(baseline);
    let status = state.map(|s| s.status);
    let text = target_summary(name, rollup, usual, state, &anomalies);
    let recommendations = target_recommendations(rollup, &anomalies, state);
    Digest {
        scope: rollup.target_id.clone(),
        start: rollup.start,
        end: rollup.end(),
        generated_at: now,
        summary: text,
        recommendations,
        anomalies,
        checks: rollup.checks,
        failures: rollup.failures,
        uptime_percent: rollup.uptime_percent(),
        latency: rollup.latency,
        baseline_p95_ms: usual,
        kind: Some(rollup.kind),
        status,
        uptime,
        by_status: BTreeMap::new(),
        targets: 0,
        worst: Vec::new(),
        slos: Vec::new(),
        narrative: None,
        narration: None,
    }
}

/// A target digest's summary: name, kind and status, the hour, checks, uptime, p95 against
/// the `usual` p95 (ms), the dominant error, then the anomalies' explanations.
fn target_summary(
    name: &str,
    rollup: &Rollup,
    usual: Option<u64>,
    state: Option<&TargetState>,
    anomalies: &[Anomaly],
) -> String {
    let mut text = format!("{name} ({}", rollup.kind.as_str());
    if let Some(s) = state {
        text.push_str(&format!(", {}", s.status.as_str()));
        if matches!(s.status, Status::Down | Status::Blocked | Status::Degraded) {
            text.push_str(&format!(" since {}", crate::time::rfc3339(s.status_since)));
        }
    }
    text.push_str(&format!(
        "), {}–{} UTC: ",
        hhmm(rollup.start),
        hhmm(rollup.end())
    ));
    if rollup.checks == 0 {
        text.push_str("no checks in the hour.");
    } else {
        text.push_str(&format!(
            "{} of {} checks succeeded ({})",
            rollup.checks - rollup.failures,
            rollup.checks,
            percent(rollup.uptime_percent())
        ));
        if let Some(l) = rollup.latency {
            text.push_str(&format!(", p95 {} ms", l.p95));
            if let Some(u) = usual {
                text.push_str(&format!(" (usually {u} ms)"));
            }
        }
        if let Some(e) = dominant_error(rollup) {
            text.push_str(&format!(", failures mostly {e}"));
        }
        text.push('.');
    }
    if anomalies.is_empty() {
        if rollup.checks > 0 {
            text.push_str(" Nothing unusual.");
        }
    } else {
        for a in anomalies {
            text.push(' ');
            text.push_str(&a.explanation);
            if !a.explanation.ends_with('.') {
                text.push('.');
            }
        }
    }
    text
}

/// A target digest's recommendations: the anomalies' own (each once), then one for a target
/// still `down` or `blocked`.
fn target_recommendations(
    rollup: &Rollup,
    anomalies: &[Anomaly],
    state: Option<&TargetState>,
) -> Vec<String> {
    let mut recommendations: Vec<String> = Vec::new();
    for a in anomalies {
        if !recommendations.contains(&a.recommendation) {
            recommendations.push(a.recommendation.clone());
        }
    }
    if let Some(s) = state.filter(|s| matches!(s.status, Status::Down | Status::Blocked)) {
        let advice = dominant_error(rollup).map_or(
            "Check the target's logs and the last changes made to it.",
            super::anomaly::advice,
        );
        let line = format!(
            "{} is {} since {}: {advice}",
            rollup.target_id,
            s.status.as_str(),
            crate::time::rfc3339(s.status_since)
        );
        recommendations.push(line);
    }
    recommendations
}

/// The global digest of the hour starting at `start`: targets by status, checks and uptime over
/// all, every anomaly (those across all targets, id `*`, first), flapping targets, the worst
/// targets by uptime, open incidents, and the recommendations of the target digests (each
/// prefixed with the target's id, most anomalous first, at most 10).
pub fn global_digest(start: i64, targets: &[Digest], overall: Vec<Anomaly>, now: i64) -> Digest {
    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    for d in targets {
        let s = d.status.unwrap_or(Status::Unknown);
        *by_status.entry(s.as_str().to_string()).or_default() += 1;
    }
    let checks: u64 = targets.iter().map(|d| d.checks).sum();
    let failures: u64 = targets.iter().map(|d| d.failures).sum();
    let uptime = (checks > 0).then(|| (checks - failures) as f64 * 100.0 / checks as f64);
    let mut anomalies = overall;
    let mut per_target: Vec<&Anomaly> = targets.iter().flat_map(|d| &d.anomalies).collect();
    per_target.sort_by(|a, b| b.score.total_cmp(&a.score));
    anomalies.extend(per_target.iter().map(|a| (*a).clone()));
    let counts = Status::ALL
        .iter()
        .filter_map(|s| {
            by_status
                .get(s.as_str())
                .map(|n| format!("{n} {}", s.as_str()))
        })
        .collect::<Vec<_>>()
        .join(", ");
    let mut text = format!(
        "Lookout digest for {} {}–{} UTC: {} target(s) ({counts}); {} of {checks} checks \
         succeeded ({}).",
        crate::time::day(start),
        hhmm(start),
        hhmm(start + super::rollup::HOUR_MS),
        targets.len(),
        checks - failures,
        percent(uptime)
    );
    let across: Vec<&Anomaly> = anomalies.iter().filter(|a| a.target_id == "*").collect();
    for a in &across {
        text.push_str(&format!(" Across all targets: {}", a.explanation));
        if !a.explanation.ends_with('.') {
            text.push('.');
        }
    }
    text.push_str(&anomalies_sentence(&per_target));
    text.push_str(&open_incidents_sentence(targets));
    let recommendations = global_recommendations(&across, targets);
    Digest {
        scope: GLOBAL.into(),
        start,
        end: start + super::rollup::HOUR_MS,
        generated_at: now,
        summary: text,
        recommendations,
        anomalies,
        checks,
        failures,
        uptime_percent: uptime,
        latency: None,
        baseline_p95_ms: None,
        kind: None,
        status: None,
        uptime: Vec::new(),
        by_status,
        targets: targets.len(),
        worst: worst_targets(targets),
        slos: Vec::new(),
        narrative: None,
        narration: None,
    }
}

/// ` No anomalies.`, or their count and the first five (most anomalous first) in words.
fn anomalies_sentence(per_target: &[&Anomaly]) -> String {
    if per_target.is_empty() {
        return " No anomalies.".to_string();
    }
    let named: Vec<String> = per_target
        .iter()
        .take(5)
        .map(|a| {
            let what = match a.kind {
                AnomalyKind::Latency => {
                    format!("latency {:.1}× usual", a.observed / a.baseline.max(1.0))
                }
                AnomalyKind::ErrorRate => format!("{:.1}% failed", a.observed * 100.0),
                AnomalyKind::Flapping => "flapping".to_string(),
            };
            format!("{} {what}", a.target_id)
        })
        .collect();
    format!(
        " {} anomal{}: {}{}.",
        per_target.len(),
        if per_target.len() == 1 { "y" } else { "ies" },
        named.join(", "),
        if per_target.len() > 5 { ", …" } else { "" }
    )
}

/// ` Open incidents: ...` naming the targets `down` or `blocked`, or nothing.
fn open_incidents_sentence(targets: &[Digest]) -> String {
    let open: Vec<String> = targets
        .iter()
        .filter(|d| matches!(d.status, Some(Status::Down | Status::Blocked)))
        .map(|d| format!("{} {}", d.scope, d.status.map_or("", |s| s.as_str())))
        .collect();
    if open.is_empty() {
        String::new()
    } else {
        format!(" Open incidents: {}.", open.join(", "))
    }
}

/// The five targets with the lowest uptime under 100% (ties by id).
fn worst_targets(targets: &[Digest]) -> Vec<TargetLine> {
    let mut worst: Vec<TargetLine> = targets
        .iter()
        .filter(|d| d.uptime_percent.is_some_and(|u| u < 100.0))
        .map(|d| TargetLine {
            id: d.scope.clone(),
            kind: d.kind.unwrap_or(TargetKind::Server),
            status: d.status.unwrap_or(Status::Unknown),
            uptime_percent: d.uptime_percent,
            checks: d.checks,
            failures: d.failures,
        })
        .collect();
    worst.sort_by(|a, b| {
        a.uptime_percent
            .unwrap_or(100.0)
            .total_cmp(&b.uptime_percent.unwrap_or(100.0))
            .then_with(|| a.id.cmp(&b.id))
    });
    worst.truncate(5);
    worst
}

/// The global recommendations: those of the anomalies across all targets, then the target
/// digests' own (prefixed with the target's id; down or blocked first, then most anomalous),
/// each once, at most 10.
fn global_recommendations(across: &[&Anomaly], targets: &[Digest]) -> Vec<String> {
    let mut recommendations: Vec<String> =
        across.iter().map(|a| a.recommendation.clone()).collect();
    let mut ranked: Vec<&Digest> = targets
        .iter()
        .filter(|d| !d.recommendations.is_empty())
        .collect();
    ranked.sort_by(|a, b| {
        let score = |d: &Digest| d.anomalies.iter().map(|a| a.score).fold(0.0, f64::max);
        let down = |d: &Digest| matches!(d.status, Some(Status::Down | Status::Blocked));
        down(b)
            .cmp(&down(a))
            .then_with(|| score(b).total_cmp(&score(a)))
            .then_with(|| a.scope.cmp(&b.scope))
    });
    for d in ranked {
        for r in &d.recommendations {
            let line = if r.starts_with(&d.scope) {
                r.clone()
            } else {
                format!("{}: {r}", d.scope)
            };
            if recommendations.len() < 10 && !recommendations.contains(&line) {
                recommendations.push(line);
            }
        }
    }
    recommendations
}

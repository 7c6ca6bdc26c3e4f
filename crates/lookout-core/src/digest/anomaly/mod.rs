//! Anomaly detection on hourly rollups: latency against the target's own baseline, error-rate
//! spikes against its baseline rate, and flapping.
//!
//! [`detect`] judges the last hour of a series of one target's hourly rollups against the hours
//! before it (the baseline, up to 7 days). Hours without checks (gaps) are left out of the
//! baseline; the baseline must hold at least [`Thresholds::min_baseline_hours`] hours with checks
//! (24 by default: one day, so that a target added this morning is not judged against a handful
//! of hours), otherwise nothing is reported.
//!
//! - **Latency** ([`AnomalyKind::Latency`]): the hour's p95 against the baseline's hourly p95
//!   values with the modified z-score of Iglewicz and Hoaglin (1993, "How to Detect and Handle
//!   Outliers", ASQC Basic References in Quality Control vol. 16): `M = 0.6745 (x − median) /
//!   MAD`, where MAD is the median absolute deviation from the median; they recommend flagging
//!   `M > 3.5`. Median and MAD are robust: a few slow hours in the baseline do not move them.
//!   The MAD is floored (at 5 % of the median and at 1 ms) so that a perfectly flat baseline
//!   does not make every millisecond of wobble an outlier, and the hour must also be at least
//!   1.5 times the baseline median, so that only slowdowns that matter in practice count. Only
//!   slower than usual is reported. When the baseline holds the hour of day judged on at least
//!   3 days, the baseline is seasonal: the median is that of the same hour of day and its two
//!   neighbours over all days (about 21 values in 7 days, so that it is not the noisy median of
//!   7), so a target that is always slower during office hours is judged against its office
//!   hours; the MAD is then that of each baseline hour's deviation from the median of its own
//!   hour of day. On the synthetic evaluation in the tests (a third of the targets 20 to 80 %
//!   slower from 09:00 to 17:59 UTC), the seasonal baseline finds more of the slowdowns for a few
//!   more false alarms than the overall median; [`Thresholds::seasonal_min_days`] = 0 turns it
//!   off.
//! - **Error rate** ([`AnomalyKind::ErrorRate`]): the hour's failure rate `p` against the
//!   baseline's pooled rate `p0` (all failures over all checks of the baseline hours, floored at
//!   0.1 % so that a perfect baseline is not degenerate), scored with the one-sided binomial
//!   z-score `(p − p0) / sqrt(p0 (1 − p0) / n)` (the normal approximation to the binomial; e.g.
//!   NIST/SEMATECH e-Handbook of Statistical Methods, section 7.2.4, "Does the proportion of
//!   defectives meet requirements?"). The approximation is poor for few failures, so the hour
//!   must also have at least 3 failures, a rate of at least 5 % and at least 3 times the
//!   baseline rate: one failed check of a target with a perfect record pages nobody. The
//!   anomaly's `baseline` is the pooled rate before the floor. With 12 checks an hour, 3
//!   failures are 25 %: smaller spikes of such targets are not seen.
//! - **Flapping** ([`AnomalyKind::Flapping`]): after Nagios' flap detection (Nagios Core
//!   documentation, "Detection and Handling of State Flapping"): the percent state change of the
//!   hour, `flips / (checks − 1)` (unweighted over the hour's checks, where Nagios weights the
//!   last 21 checks), must reach 20 % (Nagios' default high flap threshold), with
//!   at least 4 changes, and the changes must be more than twice the target's median changes
//!   per hour. Not judged for target `*` (the caller counts flapping targets itself).
//!
//! Each anomaly has a window: it ends with the hour judged and starts with the first hour of
//! the unbroken run of hours before it that are anomalous of the same kind. The baseline is
//! first all hours before the hour judged; when earlier hours turn out to be part of the run,
//! the baseline is computed again once from the hours before the run, and the run is walked
//! back again against it, so that the anomaly is not judged against itself.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::rollup::{Rollup, HOUR_MS};
use crate::time::{day, hhmm};

mod error_rate;
mod flapping;
mod latency;

pub use error_rate::advice;

/// What kind of anomaly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    /// Latency (hourly p95) far above the target's baseline.
    Latency,
    /// Failure rate far above the target's baseline rate.
    ErrorRate,
    /// Too many changes between success and failure in the window.
    Flapping,
}

impl AnomalyKind {
    /// The three kinds, in the order [`detect`] reports them.
    pub const ALL: [AnomalyKind; 3] = [
        AnomalyKind::Latency,
        AnomalyKind::ErrorRate,
        AnomalyKind::Flapping,
    ];
}

/// One anomaly found in the hour judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    /// The target's id; `*` for all targets together.
    pub target_id: String,
    /// What kind.
    pub kind: AnomalyKind,
    /// How far from normal, in the detector's unit (see [`AnomalyKind`]); larger is worse.
    pub score: f64,
    /// Window start, epoch ms: the first hour of the run of anomalous hours ending with the hour
    /// judged.
    pub since: i64,
    /// Window end (exclusive), epoch ms: the end of the hour judged.
    pub until: i64,
    /// The observed value: p95 latency in ms, failure rate 0 to 1, or changes in the hour.
    pub observed: f64,
    /// The baseline it is compared with, same unit.
    pub baseline: f64,
    /// Plain words: what was seen against what is usual.
    pub explanation: String,
    /// What to check or do.
    pub recommendation: String,
}

/// Detector settings. The defaults and their reasons are in the module documentation.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// Fewest baseline hours with checks (and, for latency, with a p95) to judge at all.
    pub min_baseline_hours: usize,
    /// Latency: the modified z-score above which the hour is an outlier (Iglewicz and Hoaglin:
    /// 3.5).
    pub latency_z: f64,
    /// Latency: the hour's p95 must also be at least this many times the baseline median.
    pub latency_min_ratio: f64,
    /// Latency: the MAD is at least this fraction of the baseline median.
    pub latency_mad_floor_ratio: f64,
    /// Latency: the MAD is at least this many ms.
    pub latency_mad_floor_ms: f64,
    /// Latency: a seasonal (same hour of day) baseline is used when the baseline holds the hour
    /// of day judged on at least this many days; 0 turns the seasonal baseline off.
    pub seasonal_min_days: usize,
    /// Error rate: the one-sided binomial z-score the hour must reach.
    pub error_z: f64,
    /// Error rate: fewest failures in the hour.
    pub error_min_failures: u64,
    /// Error rate: lowest failure rate of the hour, 0 to 1.
    pub error_min_rate: f64,
    /// Error rate: the hour's rate must be at least this many times the baseline rate.
    pub error_min_ratio: f64,
    /// Error rate: the baseline rate used in the score is at least this (a prior, so that a
    /// perfect baseline is not degenerate).
    pub error_rate_floor: f64,
    /// Flapping: fewest changes between up and down in the hour.
    pub flap_min_flips: u64,
    /// Flapping: lowest state change, `flips / (checks − 1)`, 0 to 1.
    pub flap_min_change: f64,
    /// Flapping: the changes must be more than this many times the baseline's median changes
    /// per hour.
    pub flap_min_ratio: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            min_baseline_hours: 24,
            latency_z: 3.5,
            latency_min_ratio: 1.5,
            latency_mad_floor_ratio: 0.05,
            latency_mad_floor_ms: 1.0,
            seasonal_min_days: 3,
            error_z: 3.0,
            error_min_failures: 3,
            error_min_rate: 0.05,
            error_min_ratio: 3.0,
            error_rate_floor: 0.001,
            flap_min_flips: 4,
            flap_min_change: 0.2,
            flap_min_ratio: 2.0,
        }
    }
}

/// The anomalies of the last hour of `series` (hourly rollups of one target, oldest first,
/// the hours before it being the baseline), at most one per kind, in the order of
/// [`AnomalyKind::ALL`]. Empty when the last hour has no checks or the baseline has fewer than
/// [`Thresholds::min_baseline_hours`] hours with checks.
pub fn detect(series: &[Rollup], thresholds: &Thresholds) -> Vec<Anomaly> {
    let Some(last) = series.last() else {
        return Vec::new();
    };
    if last.checks == 0 {
        return Vec::new();
    }
    let base: Vec<&Rollup> = series
        .iter()
        .filter(|r| r.checks > 0 && r.start < last.start)
        .collect();
    if base.len() < thresholds.min_baseline_hours.max(1) {
        return Vec::new();
    }
    let mut by_start: BTreeMap<i64, &Rollup> = BTreeMap::new();
    for r in series.iter().filter(|r| r.start < last.start) {
        by_start.insert(r.start, r);
    }
    AnomalyKind::ALL
        .iter()
        .filter(|k| !(**k == AnomalyKind::Flapping && last.target_id == "*"))
        .filter_map(|&kind| detect_kind(kind, last, &base, &by_start, thresholds))
        .collect()
}

/// What a detector found in one hour.
#[derive(Debug, Clone, Copy)]
struct Verdict {
    /// The detector's score (z-score, or percent state change for flapping).
    score: f64,
    /// The hour's value.
    observed: f64,
    /// The usual value it is judged against.
    baseline: f64,
    /// Latency: the baseline is that of the same hour of day.
    seasonal: bool,
}

fn detect_kind(
    kind: AnomalyKind,
    last: &Rollup,
    base: &[&Rollup],
    by_start: &BTreeMap<i64, &Rollup>,
    t: &Thresholds,
) -> Option<Anomaly> {
    let mut verdict = judge(kind, last, base, t)?;
    let mut since = run_start(kind, last, by_start, base, t);
    if since < last.start {
        // The hours before were anomalous too: judge again against the hours before the run.
        let before: Vec<&Rollup> = base.iter().copied().filter(|r| r.start < since).collect();
        if before.len() >= t.min_baseline_hours {
            if let Some(v) = judge(kind, last, &before, t) {
                verdict = v;
                since = since.min(run_start(kind, last, by_start, &before, t));
            }
        }
    }
    Some(anomaly(kind, last, since, verdict))
}

/// The start of the unbroken run of hours ending with `last` that are anomalous of `kind`
/// against `base`.
fn run_start(
    kind: AnomalyKind,
    last: &Rollup,
    by_start: &BTreeMap<i64, &Rollup>,
    base: &[&Rollup],
    t: &Thresholds,
) -> i64 {
    let mut since = last.start;
    while let Some(prev) = by_start.get(&(since - HOUR_MS)) {
        if prev.checks == 0 || judge(kind, prev, base, t).is_none() {
            break;
        }
        since = prev.start;
    }
    since
}

fn judge(kind: AnomalyKind, hour: &Rollup, base: &[&Rollup], t: &Thresholds) -> Option<Verdict> {
    if hour.checks == 0 || base.len() < t.min_baseline_hours.max(1) {
        return None;
    }
    match kind {
        AnomalyKind::Latency => latency::judge(hour, base, t),
        AnomalyKind::ErrorRate => error_rate::judge(hour, base, t),
        AnomalyKind::Flapping => flapping::judge(hour, base, t),
    }
}

/// The median of `values` (any order; the mean of the two middle values for an even count);
/// 0 when empty.
fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// `HH:MM UTC` of `at`, with the date in front when `at` falls on an earlier day than
/// `judged` (the start of the hour judged).
fn clock(at: i64, judged: i64) -> String {
    let hhmm = hhmm(at);
    if day(at) == day(judged) {
        format!("{hhmm} UTC")
    } else {
        format!("{} {hhmm} UTC", day(at))
    }
}

/// The anomaly of `kind` found in the hour `last`, anomalous since `since`, with its explanation
/// and recommendation in plain words.
fn anomaly(kind: AnomalyKind, last: &Rollup, since: i64, v: Verdict) -> Anomaly {
    let from = clock(since, last.start);
    let (explanation, recommendation) = match kind {
        AnomalyKind::Latency => latency::explain(last, &from, v),
        AnomalyKind::ErrorRate => error_rate::explain(last, &from, v),
        AnomalyKind::Flapping => flapping::explain(last, since, &from, v),
    };
    Anomaly {
        target_id: last.target_id.clone(),
        kind,
        score: v.score,
        since,
        until: last.end(),
        observed: v.observed,
        baseline: v.baseline,
        explanation,
        recommendation,
    }
}

#[cfg(test)]
mod tests;

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
use crate::domain::TargetKind;
use crate::time::{day, rfc3339};

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
    score: f64,
    observed: f64,
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
        AnomalyKind::Latency => judge_latency(hour, base, t),
        AnomalyKind::ErrorRate => judge_error_rate(hour, base, t),
        AnomalyKind::Flapping => judge_flapping(hour, base, t),
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

/// Hour of day (UTC, 0 to 23) of an epoch-ms instant.
fn hour_of_day(ms: i64) -> i64 {
    ms.div_euclid(HOUR_MS).rem_euclid(24)
}

/// The latency baseline for the hour starting at `start`: (median p95, MAD, seasonal).
fn latency_baseline(start: i64, base: &[&Rollup], t: &Thresholds) -> Option<(f64, f64, bool)> {
    let values: Vec<(i64, f64)> = base
        .iter()
        .filter_map(|r| r.latency.map(|l| (hour_of_day(r.start), l.p95 as f64)))
        .collect();
    if values.len() < t.min_baseline_hours.max(1) {
        return None;
    }
    if t.seasonal_min_days > 0 {
        let mut buckets: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
        for (h, x) in &values {
            buckets.entry(*h).or_default().push(*x);
        }
        let hod = hour_of_day(start);
        if buckets.get(&hod).map_or(0, Vec::len) >= t.seasonal_min_days {
            // The level of an hour of day: the median of it and its neighbours (3 hours).
            let level = |h: i64| -> Option<f64> {
                if buckets.get(&h).map_or(0, Vec::len) < t.seasonal_min_days {
                    return None;
                }
                let near: Vec<f64> = [-1, 0, 1]
                    .iter()
                    .filter_map(|d| buckets.get(&(h + d).rem_euclid(24)))
                    .flatten()
                    .copied()
                    .collect();
                Some(median(&near))
            };
            let levels: BTreeMap<i64, f64> =
                (0..24).filter_map(|h| level(h).map(|l| (h, l))).collect();
            let deviations: Vec<f64> = values
                .iter()
                .filter_map(|(h, x)| levels.get(h).map(|m| (x - m).abs()))
                .collect();
            return Some((levels[&hod], median(&deviations), true));
        }
    }
    let all: Vec<f64> = values.iter().map(|v| v.1).collect();
    let m = median(&all);
    let deviations: Vec<f64> = all.iter().map(|x| (x - m).abs()).collect();
    Some((m, median(&deviations), false))
}

fn judge_latency(hour: &Rollup, base: &[&Rollup], t: &Thresholds) -> Option<Verdict> {
    let x = hour.latency?.p95 as f64;
    let (m, mad, seasonal) = latency_baseline(hour.start, base, t)?;
    let mad = mad
        .max(t.latency_mad_floor_ratio * m)
        .max(t.latency_mad_floor_ms)
        .max(f64::MIN_POSITIVE);
    let z = 0.6745 * (x - m) / mad;
    (z > t.latency_z && x >= t.latency_min_ratio * m).then_some(Verdict {
        score: z,
        observed: x,
        baseline: m,
        seasonal,
    })
}

fn judge_error_rate(hour: &Rollup, base: &[&Rollup], t: &Thresholds) -> Option<Verdict> {
    let (failures, checks) = base
        .iter()
        .fold((0u64, 0u64), |(f, n), r| (f + r.failures, n + r.checks));
    if checks == 0 {
        return None;
    }
    let usual = failures as f64 / checks as f64;
    let p0 = usual.max(t.error_rate_floor);
    let n = hour.checks as f64;
    let p = hour.failures as f64 / n;
    if p <= p0 || p0 >= 1.0 {
        return None;
    }
    let z = (p - p0) / (p0 * (1.0 - p0) / n).sqrt();
    let spike = hour.failures >= t.error_min_failures
        && p >= t.error_min_rate
        && p >= t.error_min_ratio * p0
        && z >= t.error_z;
    spike.then_some(Verdict {
        score: z,
        observed: p,
        baseline: usual,
        seasonal: false,
    })
}

fn judge_flapping(hour: &Rollup, base: &[&Rollup], t: &Thresholds) -> Option<Verdict> {
    if hour.checks < 2 {
        return None;
    }
    let change = hour.flips as f64 / (hour.checks - 1) as f64;
    let flips: Vec<f64> = base.iter().map(|r| r.flips as f64).collect();
    let usual = median(&flips);
    let flapping = hour.flips >= t.flap_min_flips
        && change >= t.flap_min_change
        && hour.flips as f64 > t.flap_min_ratio * usual;
    flapping.then_some(Verdict {
        score: change * 100.0,
        observed: hour.flips as f64,
        baseline: usual,
        seasonal: false,
    })
}

/// `HH:MM UTC` of `at`, with the date in front when `at` falls on an earlier day than
/// `judged` (the start of the hour judged).
fn clock(at: i64, judged: i64) -> String {
    let text = rfc3339(at);
    let hhmm = text.get(11..16).unwrap_or(&text);
    if day(at) == day(judged) {
        format!("{hhmm} UTC")
    } else {
        format!("{} {hhmm} UTC", day(at))
    }
}

/// A rate 0 to 1 as a percentage for text: `12.0%`, `0.25%`, `0%`.
fn percent(rate: f64) -> String {
    let p = rate * 100.0;
    if p == 0.0 {
        "0%".into()
    } else if p < 1.0 {
        format!("{p:.2}%")
    } else {
        format!("{p:.1}%")
    }
}

/// The most common error kind of the hour's failures, with its share of them.
fn dominant_error(hour: &Rollup) -> Option<(&str, f64)> {
    let total: u64 = hour.errors.values().sum();
    let mut best: Option<(&str, u64)> = None;
    for (k, v) in &hour.errors {
        if *v > 0 && best.is_none_or(|(_, b)| *v > b) {
            best = Some((k.as_str(), *v));
        }
    }
    best.map(|(k, v)| (k, v as f64 / total as f64))
}

/// What to check for failures of the error kind `error`.
pub fn advice(error: &str) -> &'static str {
    match error {
        "timeout" => {
            "Checks time out: check the upstream's load (CPU, memory, connection pool) and any \
             slow dependency (database, external API)."
        }
        "connect" => {
            "Connections are refused or reset: check that the process is running and listening \
             on its port, and the firewall or security group rules."
        }
        "dns" => {
            "The host name does not resolve: check the DNS records and the domain's registration."
        }
        "tls" => {
            "The TLS handshake fails: check the certificate and TLS settings of the server or \
             of the load balancer in front of it."
        }
        "cert" => {
            "The certificate is refused: check its expiry, that it covers the host name and that \
             the chain is complete."
        }
        "status" => {
            "The server answers with unexpected statuses: check the last deploy and the server's \
             logs for 5xx errors."
        }
        "blocked" => {
            "The upstream is refusing the probe: rotate the proxy or IP address, or check for \
             rate limiting."
        }
        "proxy" => "The proxy fails to relay: check the proxy service and its upstream link.",
        "proxy_auth" => {
            "The proxy refuses the credentials (407): check the proxy's user name, password and \
             subscription."
        }
        "assertion" => {
            "The answer's content changed: check what the page or API returns now (a deploy, an \
             error page served with status 200) and update the assertion if the change is meant."
        }
        "forbidden" => {
            "The address guard refuses the destination: check the target's URL and what its host \
             name resolves to (a private or loopback address)."
        }
        _ => "Check the target's logs and the checks' error messages for the cause.",
    }
}

fn anomaly(kind: AnomalyKind, last: &Rollup, since: i64, v: Verdict) -> Anomaly {
    let until = last.end();
    let from = clock(since, last.start);
    let all = last.target_id == "*";
    let (explanation, recommendation) = match kind {
        AnomalyKind::Latency => {
            let ratio = v.observed / v.baseline.max(f64::MIN_POSITIVE);
            let explanation =
                format!(
                "p95 latency {ratio:.1} times its baseline since {from}: {:.0} ms against {:.0} \
                 ms usually{}",
                v.observed,
                v.baseline,
                if v.seasonal { " at this hour of day" } else { "" }
            );
            let recommendation = if all {
                "Many targets are slower at once: look for a shared cause (the monitor's network \
                 or region, a shared dependency or provider)."
                    .to_string()
            } else if last.kind == TargetKind::Proxy {
                "Check the proxy's load and bandwidth and the route to the test URL; rotate to \
                 other exits if only this proxy is slow."
                    .to_string()
            } else {
                "Check the upstream's load (CPU, memory, connections) and its slow dependencies \
                 (database queries, external APIs), and whether a deploy or traffic peak started \
                 then."
                    .to_string()
            };
            (explanation, recommendation)
        }
        AnomalyKind::ErrorRate => {
            let dominant = dominant_error(last);
            let mostly = match dominant {
                Some((k, share)) if share > 0.5 => format!(", mostly {k}"),
                Some((k, _)) => format!(", most often {k}"),
                None => String::new(),
            };
            let explanation = format!(
                "{} of checks failed against {} usually ({} of {}) since {from}{mostly}",
                percent(v.observed),
                percent(v.baseline),
                last.failures,
                last.checks
            );
            let advice = dominant.map_or(advice(""), |(k, _)| advice(k));
            let recommendation = if all {
                format!(
                    "Many targets fail at once: look for a shared cause (the monitor's network, a \
                     DNS or cloud provider, a shared dependency). {advice}"
                )
            } else {
                advice.to_string()
            };
            (explanation, recommendation)
        }
        AnomalyKind::Flapping => {
            let mut explanation = format!(
                "flapping: {} changes between up and down in {} checks ({:.0}% state change) in \
                 the hour from {} against {:.0} in a usual hour",
                last.flips,
                last.checks,
                v.score,
                clock(last.start, last.start),
                v.baseline
            );
            if since < last.start {
                explanation.push_str(&format!(", flapping since {from}"));
            }
            let mut recommendation = "The target keeps going up and down: look for an \
                intermittent cause (one bad instance behind a load balancer, a restart loop, a \
                timeout close to the usual latency, a flaky network path)."
                .to_string();
            if let Some((k, _)) = dominant_error(last) {
                recommendation.push_str(&format!(" Failures are mostly {k}: {}", advice(k)));
            }
            (explanation, recommendation)
        }
    };
    Anomaly {
        target_id: last.target_id.clone(),
        kind,
        score: v.score,
        since,
        until,
        observed: v.observed,
        baseline: v.baseline,
        explanation,
        recommendation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::rollup::{Latency, Period};

    /// 2026-11-18 00:00 UTC.
    const DAY0: i64 = 1_795_046_400_000;

    fn latency(p95: u64) -> Latency {
        Latency {
            min: p95 / 3,
            mean: p95 as f64 / 2.0,
            p50: p95 / 2,
            p95,
            max: p95 + p95 / 3,
        }
    }

    /// An hour of target `a` starting `i` hours after [`DAY0`].
    fn hour(i: i64, checks: u64, failures: u64, p95: Option<u64>, flips: u64) -> Rollup {
        let mut r = Rollup::empty("a", TargetKind::Server, Period::Hour, DAY0 + i * HOUR_MS);
        r.checks = checks;
        r.failures = failures;
        r.latency = if failures < checks {
            p95.map(latency)
        } else {
            None
        };
        r.flips = flips;
        if failures > 0 {
            r.errors.insert("timeout".into(), failures);
        }
        r
    }

    /// `hours` healthy hours of 60 checks with p95 `p95` ms, then nothing judged yet.
    fn flat(hours: i64, p95: u64) -> Vec<Rollup> {
        (0..hours).map(|i| hour(i, 60, 0, Some(p95), 0)).collect()
    }

    fn kinds(found: &[Anomaly]) -> Vec<AnomalyKind> {
        found.iter().map(|a| a.kind).collect()
    }

    fn clock_of(ms: i64) -> String {
        rfc3339(ms)[11..16].to_string()
    }

    #[test]
    fn a_latency_spike_over_a_flat_baseline_is_flagged() {
        let mut s = flat(168, 200);
        s.push(hour(168, 60, 0, Some(640), 0));
        let found = detect(&s, &Thresholds::default());
        assert_eq!(kinds(&found), vec![AnomalyKind::Latency]);
        let a = &found[0];
        assert_eq!((a.observed, a.baseline), (640.0, 200.0));
        assert!(a.score > 3.5, "{}", a.score);
        assert_eq!((a.since, a.until), (s[168].start, s[168].end()));
        assert_eq!(
            a.explanation,
            format!(
                "p95 latency 3.2 times its baseline since {} UTC: 640 ms against 200 ms usually \
                 at this hour of day",
                clock_of(a.since)
            )
        );
        assert!(a.recommendation.contains("load"), "{}", a.recommendation);
        assert_eq!(a.target_id, "a");
    }

    #[test]
    fn a_wobble_over_a_flat_baseline_or_a_small_slowdown_is_not_flagged() {
        for p95 in [201, 205, 220, 290] {
            let mut s = flat(168, 200);
            s.push(hour(168, 60, 0, Some(p95), 0));
            assert!(detect(&s, &Thresholds::default()).is_empty(), "{p95}");
        }
        // A 1 ms baseline: the 1 ms floor of the MAD and the ratio keep 2 ms quiet.
        let mut s = flat(168, 1);
        s.push(hour(168, 60, 0, Some(2), 0));
        assert!(detect(&s, &Thresholds::default()).is_empty());
    }

    #[test]
    fn normal_noise_is_not_flagged() {
        let mut rng = fastrand::Rng::with_seed(7);
        let noisy = |rng: &mut fastrand::Rng| (200.0 * (0.8 + 0.4 * rng.f64())) as u64;
        let mut s: Vec<Rollup> = (0..168)
            .map(|i| {
                let fails = u64::from(rng.u8(..100) == 0);
                hour(i, 60, fails, Some(noisy(&mut rng)), 2 * fails)
            })
            .collect();
        let worst = s.iter().filter_map(|r| r.latency).map(|l| l.p95).max();
        s.push(hour(168, 60, 1, worst, 2));
        assert!(detect(&s, &Thresholds::default()).is_empty());
    }

    #[test]
    fn faster_than_usual_is_not_flagged() {
        let mut s = flat(168, 200);
        s.push(hour(168, 60, 0, Some(20), 0));
        assert!(detect(&s, &Thresholds::default()).is_empty());
    }

    #[test]
    fn one_or_two_failures_over_a_perfect_baseline_are_not_flagged() {
        for failures in [1, 2] {
            let mut s = flat(168, 200);
            s.push(hour(168, 60, failures, Some(200), 2));
            assert!(detect(&s, &Thresholds::default()).is_empty(), "{failures}");
        }
        // One failure of 12 checks is 8 %, still one check.
        let mut s: Vec<Rollup> = (0..168).map(|i| hour(i, 12, 0, Some(200), 0)).collect();
        s.push(hour(168, 12, 1, Some(200), 2));
        assert!(detect(&s, &Thresholds::default()).is_empty());
    }

    #[test]
    fn an_error_spike_is_flagged_with_the_dominant_error_and_advice() {
        let mut s: Vec<Rollup> = (0..168)
            .map(|i| hour(i, 60, u64::from(i % 12 == 0), Some(200), 0))
            .collect();
        let mut last = hour(168, 60, 8, Some(200), 2);
        last.errors = BTreeMap::from([("timeout".into(), 6), ("connect".into(), 2)]);
        s.push(last);
        let found = detect(&s, &Thresholds::default());
        assert_eq!(kinds(&found), vec![AnomalyKind::ErrorRate]);
        let a = &found[0];
        let usual = 14.0 / (168.0 * 60.0);
        assert!((a.baseline - usual).abs() < 1e-12);
        assert!((a.observed - 8.0 / 60.0).abs() < 1e-12);
        let expected_z = (8.0 / 60.0 - usual) / (usual * (1.0 - usual) / 60.0).sqrt();
        assert!((a.score - expected_z).abs() < 1e-9);
        assert_eq!(
            a.explanation,
            format!(
                "13.3% of checks failed against 0.14% usually (8 of 60) since {} UTC, mostly \
                 timeout",
                clock_of(a.since)
            )
        );
        assert_eq!(a.recommendation, advice("timeout"));
        assert!(a.recommendation.contains("load"));
    }

    #[test]
    fn an_error_spike_over_a_perfect_baseline_uses_the_floor() {
        let mut s = flat(48, 200);
        let mut last = hour(48, 60, 3, Some(200), 2);
        last.errors = BTreeMap::from([("dns".into(), 3)]);
        s.push(last);
        let found = detect(&s, &Thresholds::default());
        assert_eq!(kinds(&found), vec![AnomalyKind::ErrorRate]);
        assert_eq!(found[0].baseline, 0.0);
        assert!(found[0].score.is_finite() && found[0].score > 3.0);
        assert!(found[0].explanation.contains("against 0% usually"));
        assert!(found[0].recommendation.contains("DNS records"));
    }

    #[test]
    fn a_usual_error_rate_is_not_a_spike() {
        // A target failing 10 % of its checks every hour.
        let mut s: Vec<Rollup> = (0..168).map(|i| hour(i, 60, 6, Some(200), 4)).collect();
        s.push(hour(168, 60, 9, Some(200), 4));
        assert!(detect(&s, &Thresholds::default()).is_empty());
        // A target that always fails: nothing above 100 %.
        let mut s: Vec<Rollup> = (0..168).map(|i| hour(i, 60, 60, None, 0)).collect();
        s.push(hour(168, 60, 60, None, 0));
        assert!(detect(&s, &Thresholds::default()).is_empty());
    }

    #[test]
    fn flapping_is_flagged_against_a_quiet_baseline() {
        let mut s: Vec<Rollup> = (0..168)
            .map(|i| {
                hour(
                    i,
                    60,
                    u64::from(i % 24 == 0),
                    Some(200),
                    2 * u64::from(i % 24 == 0),
                )
            })
            .collect();
        let mut last = hour(168, 60, 7, Some(200), 14);
        last.errors = BTreeMap::from([("connect".into(), 7)]);
        s.push(last);
        let found = detect(&s, &Thresholds::default());
        assert_eq!(
            kinds(&found),
            vec![AnomalyKind::ErrorRate, AnomalyKind::Flapping]
        );
        let a = &found[1];
        assert_eq!((a.observed, a.baseline), (14.0, 0.0));
        assert!((a.score - 1400.0 / 59.0).abs() < 1e-9);
        assert_eq!(
            a.explanation,
            format!(
                "flapping: 14 changes between up and down in 60 checks (24% state change) in the \
                 hour from {} UTC against 0 in a usual hour",
                clock_of(s[168].start)
            )
        );
        assert!(a.recommendation.contains("port"), "{}", a.recommendation);
    }

    #[test]
    fn few_changes_a_low_state_change_or_usual_flapping_are_not_flagged() {
        // 3 changes: below the minimum.
        let mut s = flat(48, 200);
        s.push(hour(48, 12, 2, Some(200), 3));
        assert!(!kinds(&detect(&s, &Thresholds::default())).contains(&AnomalyKind::Flapping));
        // 10 changes in 60 checks: 17 % state change.
        let mut s = flat(48, 200);
        s.push(hour(48, 60, 2, Some(200), 10));
        assert!(!kinds(&detect(&s, &Thresholds::default())).contains(&AnomalyKind::Flapping));
        // A target that usually changes 12 times an hour.
        let mut s: Vec<Rollup> = (0..48).map(|i| hour(i, 60, 6, Some(200), 12)).collect();
        s.push(hour(48, 60, 8, Some(200), 16));
        assert!(detect(&s, &Thresholds::default()).is_empty());
    }

    #[test]
    fn all_targets_together_are_not_judged_for_flapping() {
        let mut s = flat(48, 200);
        s.push(hour(48, 60, 0, Some(200), 30));
        for r in &mut s {
            r.target_id = "*".into();
        }
        assert!(detect(&s, &Thresholds::default()).is_empty());
        // But for latency, with a shared-cause recommendation.
        s[48].latency = Some(latency(900));
        let found = detect(&s, &Thresholds::default());
        assert_eq!(kinds(&found), vec![AnomalyKind::Latency]);
        assert_eq!(found[0].target_id, "*");
        assert!(found[0].recommendation.contains("shared cause"));
    }

    #[test]
    fn the_window_spans_the_run_of_anomalous_hours() {
        // Hours 150 and 151 are already slow and failing; hour 152 is judged.
        let mut s = flat(150, 200);
        for i in 150..=152 {
            s.push(hour(i, 60, 12, Some(700 + i as u64), 2));
        }
        let found = detect(&s, &Thresholds::default());
        assert_eq!(
            kinds(&found),
            vec![AnomalyKind::Latency, AnomalyKind::ErrorRate]
        );
        for a in &found {
            assert_eq!(a.since, s[150].start, "{:?}", a.kind);
            assert_eq!(a.until, s[152].end());
            assert!(a
                .explanation
                .contains(&format!("since {} UTC", clock_of(s[150].start))));
        }
        // The baseline excludes the run: the hours before it had no failures.
        assert_eq!(found[1].baseline, 0.0);
        assert_eq!(found[0].baseline, 200.0);
    }

    #[test]
    fn a_window_from_the_day_before_shows_its_date() {
        // Judged hour 00:00 on day 8; the run started at 22:00 on day 7.
        let mut s = flat(190, 200);
        for i in 190..=192 {
            s.push(hour(i, 60, 0, Some(800), 0));
        }
        let found = detect(&s, &Thresholds::default());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].since, s[190].start);
        let text = rfc3339(s[190].start);
        assert!(
            found[0]
                .explanation
                .contains(&format!("since {} 22:00 UTC", &text[..10])),
            "{}",
            found[0].explanation
        );
    }

    #[test]
    fn flapping_since_an_earlier_hour() {
        let mut s = flat(100, 200);
        s.push(hour(100, 60, 20, Some(200), 20));
        s.push(hour(101, 60, 20, Some(200), 25));
        let found = detect(&s, &Thresholds::default());
        let f = found
            .iter()
            .find(|a| a.kind == AnomalyKind::Flapping)
            .unwrap();
        assert_eq!(f.since, s[100].start);
        assert!(f
            .explanation
            .ends_with(&format!("flapping since {} UTC", clock_of(s[100].start))));
    }

    #[test]
    fn a_thin_baseline_gives_nothing() {
        let mut s = flat(23, 200);
        s.push(hour(23, 60, 30, Some(2000), 20));
        assert!(detect(&s, &Thresholds::default()).is_empty());
        // Hours without checks do not count towards the baseline.
        let mut s: Vec<Rollup> = (0..100)
            .map(|i| hour(i, if i % 5 == 0 { 60 } else { 0 }, 0, Some(200), 0))
            .collect();
        s.push(hour(100, 60, 30, Some(2000), 20));
        assert!(detect(&s, &Thresholds::default()).is_empty());
        // 24 hours are enough.
        let mut s = flat(24, 200);
        s.push(hour(24, 60, 30, Some(2000), 20));
        assert_eq!(detect(&s, &Thresholds::default()).len(), 3);
    }

    #[test]
    fn gaps_are_skipped_and_break_the_window() {
        // Every third hour missing, every seventh without checks.
        let mut s: Vec<Rollup> = (0..166)
            .filter(|i| i % 3 != 1)
            .map(|i| hour(i, if i % 7 == 0 { 0 } else { 60 }, 0, Some(200), 0))
            .collect();
        // Hour 166 is slow, hour 167 missing, hour 168 slow: the window is the last hour.
        s.push(hour(166, 60, 0, Some(900), 0));
        s.push(hour(168, 60, 0, Some(900), 0));
        let found = detect(&s, &Thresholds::default());
        assert_eq!(kinds(&found), vec![AnomalyKind::Latency]);
        assert_eq!(found[0].since, DAY0 + 168 * HOUR_MS);
        // The same with hour 167 present but without checks.
        s.insert(s.len() - 1, hour(167, 0, 0, None, 0));
        let found = detect(&s, &Thresholds::default());
        assert_eq!(found[0].since, DAY0 + 168 * HOUR_MS);
    }

    #[test]
    fn odd_series_do_not_panic() {
        let t = Thresholds::default();
        assert!(detect(&[], &t).is_empty());
        assert!(detect(&[hour(0, 60, 0, Some(1), 0)], &t).is_empty());
        let zero: Vec<Rollup> = (0..169).map(|i| hour(i, 0, 0, None, 0)).collect();
        assert!(detect(&zero, &t).is_empty());
        // Latency never known (all failed, or no latency reported).
        let mut none: Vec<Rollup> = (0..168).map(|i| hour(i, 60, 0, None, 0)).collect();
        none.push(hour(168, 60, 0, None, 0));
        assert!(detect(&none, &t).is_empty());
        // Latency known only in the hour judged, or only in the baseline.
        none[168].latency = Some(latency(5000));
        assert!(detect(&none, &t).is_empty());
        let mut s = flat(168, 0);
        s.push(hour(168, 60, 0, None, 0));
        assert!(detect(&s, &t).is_empty());
        // 0 ms baseline and a 1-check hour.
        let mut s = flat(168, 0);
        s.push(hour(168, 1, 1, None, 0));
        let found = detect(&s, &t);
        assert!(found.iter().all(|a| a.score.is_finite()));
        // Out of order and duplicate hours.
        let mut s = flat(60, 200);
        s.reverse();
        s.push(hour(30, 60, 0, Some(200), 0));
        s.push(hour(61, 60, 0, Some(900), 0));
        assert_eq!(kinds(&detect(&s, &t)), vec![AnomalyKind::Latency]);
    }

    #[test]
    fn the_seasonal_baseline_follows_the_hour_of_day() {
        // 7 days at 300 ms from 09:00 to 17:59 UTC and 200 ms otherwise.
        let p95 = |i: i64| {
            if (9..18).contains(&(i % 24)) {
                300
            } else {
                200
            }
        };
        let s: Vec<Rollup> = (0..168).map(|i| hour(i, 60, 0, Some(p95(i)), 0)).collect();
        let judge_at = |i: i64, ms: u64, t: &Thresholds| {
            let mut s = s.clone();
            s.push(hour(i, 60, 0, Some(ms), 0));
            kinds(&detect(&s, t))
        };
        let t = Thresholds::default();
        // 420 ms at 13:00 is 1.4 times the usual 300 ms of that hour: not an anomaly ...
        assert!(judge_at(168 + 13, 420, &t).is_empty());
        // ... but 2.1 times the 200 ms of 03:00.
        assert_eq!(judge_at(168 + 3, 420, &t), vec![AnomalyKind::Latency]);
        // Without the seasonal baseline, 13:00 is judged against the overall median, 200 ms.
        let flat_t = Thresholds {
            seasonal_min_days: 0,
            ..Thresholds::default()
        };
        assert_eq!(judge_at(168 + 13, 420, &flat_t), vec![AnomalyKind::Latency]);
        // With fewer than 3 days of the hour, the overall median is used.
        let mut short: Vec<Rollup> = s[120..].to_vec();
        short.push(hour(168 + 13, 60, 0, Some(420), 0));
        let found = detect(&short, &t);
        assert_eq!(kinds(&found), vec![AnomalyKind::Latency]);
        assert!(!found[0].explanation.contains("at this hour of day"));
        // 900 ms at 13:00 says it is judged against that hour.
        let mut s2 = s.clone();
        s2.push(hour(168 + 13, 60, 0, Some(900), 0));
        let found = detect(&s2, &t);
        assert_eq!(found[0].baseline, 300.0);
        assert!(found[0].explanation.ends_with("at this hour of day"));
    }

    #[test]
    fn kinds_serialize_in_snake_case() {
        assert_eq!(
            serde_json::to_string(&AnomalyKind::ErrorRate).unwrap(),
            "\"error_rate\""
        );
        assert_eq!(
            serde_json::from_str::<AnomalyKind>("\"flapping\"").unwrap(),
            AnomalyKind::Flapping
        );
    }

    // ---- Evaluation on synthetic series ----

    /// A normal deviate (Box-Muller).
    fn normal(rng: &mut fastrand::Rng) -> f64 {
        let u1 = rng.f64().max(1e-12);
        let u2 = rng.f64();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// Draws from Binomial(n, p).
    fn binomial(rng: &mut fastrand::Rng, n: usize, p: f64) -> usize {
        (0..n).filter(|_| rng.f64() < p).count()
    }

    /// How the checks of one simulated hour fail.
    enum Pattern {
        /// Only the target's usual isolated failures.
        Usual,
        /// Exactly one failure (and the usual ones: none for a perfect target).
        One,
        /// An outage: `failures` failed checks in one or two unbroken blocks, of error kind
        /// `error`.
        Outage {
            failures: usize,
            blocks: usize,
            error: &'static str,
        },
        /// Up and down: exactly `flips` changes at random places.
        Flap { flips: usize, error: &'static str },
    }

    /// One simulated hour: per-check outcomes, rolled up.
    fn sim_hour(
        rng: &mut fastrand::Rng,
        start: i64,
        n: usize,
        fail_rate: f64,
        p95: f64,
        pattern: &Pattern,
    ) -> Rollup {
        const USUAL: [&str; 3] = ["timeout", "connect", "other"];
        let mut failed: Vec<Option<&str>> = (0..n)
            .map(|_| (rng.f64() < fail_rate).then(|| USUAL[rng.usize(..USUAL.len())]))
            .collect();
        match pattern {
            Pattern::Usual => {}
            Pattern::One => failed[rng.usize(..n)] = Some("timeout"),
            Pattern::Outage {
                failures,
                blocks,
                error,
            } => {
                let part = n / blocks;
                let mut left = (*failures).min(n);
                for b in 0..*blocks {
                    let len = if b + 1 == *blocks {
                        left
                    } else {
                        left / (blocks - b)
                    }
                    .min(part);
                    left -= len;
                    let at = b * part + rng.usize(..=part - len);
                    for f in &mut failed[at..at + len] {
                        *f = Some(error);
                    }
                }
            }
            Pattern::Flap { flips, error } => {
                let mut at: Vec<usize> = (1..n).collect();
                rng.shuffle(&mut at);
                let mut changes = vec![false; n];
                for i in at.into_iter().take(*flips) {
                    changes[i] = true;
                }
                let mut down = false;
                for i in 0..n {
                    down ^= changes[i];
                    failed[i] = down.then_some(*error);
                }
            }
        }
        let mut r = Rollup::empty("t", TargetKind::Server, Period::Hour, start);
        r.checks = n as u64;
        for (i, f) in failed.iter().enumerate() {
            if let Some(e) = f {
                r.failures += 1;
                *r.errors.entry((*e).to_string()).or_default() += 1;
            }
            if i > 0 && failed[i].is_some() != failed[i - 1].is_some() {
                r.flips += 1;
            }
        }
        if r.failures < r.checks {
            r.latency = Some(latency(p95.round().max(1.0) as u64));
        }
        r
    }

    /// One synthetic target: 168 hours of baseline and the hour judged, what was injected,
    /// and the truth per kind ([`AnomalyKind::ALL`] order).
    struct Case {
        series: Vec<Rollup>,
        scenario: &'static str,
        checks: usize,
        truth: [bool; 3],
    }

    fn synthetic(rng: &mut fastrand::Rng) -> Case {
        let n = if rng.usize(..6) == 0 { 12 } else { 60 };
        let mut base_ms = 20.0 * 40f64.powf(rng.f64());
        // Hourly p95 noise: log-normal, sigma 0.15 to 0.25; more with 12 checks (the p95 of
        // 12 checks is their maximum).
        let sigma = (0.15 + 0.10 * rng.f64()) * if n == 12 { 1.3 } else { 1.0 };
        // A third of the targets is slower in office hours, by 20 to 40 %.
        let swing = if rng.usize(..3) == 0 {
            0.2 + 0.6 * rng.f64()
        } else {
            0.0
        };
        let mut fail_rate = if rng.usize(..5) == 0 {
            0.0
        } else {
            0.01 * rng.f64()
        };
        let gappy = rng.usize(..10) == 0;
        let judged = DAY0 + 7 * 24 * HOUR_MS + rng.i64(0..24) * HOUR_MS;
        let run = 1 + rng.usize(..3);
        let error = ["timeout", "connect", "status", "dns", "blocked"][rng.usize(..5)];
        let roll = rng.usize(..100);
        let mut truth = [false; 3];
        let mut usual_flips = 0;
        // What the hours of the final run get (`factor` on latency, `pattern` of failures), and
        // for the "faster" and "slow-ish" negatives, what the judged hour alone gets.
        let (scenario, factor, pattern): (&str, f64, Pattern) = match roll {
            0..=39 => ("normal", 1.0, Pattern::Usual),
            40..=51 => {
                truth[0] = true;
                ("latency x2-5", 2.0 + 3.0 * rng.f64(), Pattern::Usual)
            }
            52..=63 => {
                truth[1] = true;
                let rate = 0.08 + 0.32 * rng.f64();
                let failures = binomial(rng, n, rate);
                // Two separate outages in 12 checks would be 4 changes in 11: flapping.
                let blocks = if n == 12 { 1 } else { 1 + rng.usize(..2) };
                let p = Pattern::Outage {
                    failures,
                    blocks,
                    error,
                };
                ("errors 8-40%", 1.0, p)
            }
            64..=73 => {
                truth[2] = true;
                // Percent state change 22 to 60 %, at least 4 changes; about half the checks
                // fail, so it is an error-rate spike too.
                let change = 0.22 + 0.38 * rng.f64();
                let flips = ((change * (n - 1) as f64).round() as usize).max(4);
                truth[1] = true;
                ("flapping", 1.0, Pattern::Flap { flips, error })
            }
            74..=79 => ("slow-ish x1.2", 1.2, Pattern::Usual),
            80..=85 => {
                fail_rate = 0.0;
                ("one failure", 1.0, Pattern::One)
            }
            86..=89 => {
                base_ms = 2000.0 + 3000.0 * rng.f64();
                ("always slow", 1.0, Pattern::Usual)
            }
            90..=94 => ("faster", 0.3 + 0.3 * rng.f64(), Pattern::Usual),
            _ => {
                usual_flips = 6 + rng.usize(..(n / 5).max(2));
                ("usually flaps", 1.0, Pattern::Usual)
            }
        };
        let single = matches!(scenario, "slow-ish x1.2" | "one failure" | "faster");
        let mut series = Vec::new();
        for i in (0..=168).rev() {
            let start = judged - i * HOUR_MS;
            if gappy && i > 4 && rng.usize(..20) == 0 {
                continue; // a missing hour
            }
            if gappy && (100..106).contains(&i) {
                series.push(Rollup::empty("t", TargetKind::Server, Period::Hour, start));
                continue; // checks paused
            }
            let hod = hour_of_day(start);
            let seasonal = if (9..18).contains(&hod) {
                1.0 + swing
            } else {
                1.0
            };
            let mut p95 = base_ms * seasonal * (sigma * normal(rng)).exp();
            let injected = if single { i == 0 } else { (i as usize) < run };
            if injected {
                p95 *= factor;
            }
            let usual = if usual_flips > 0 {
                let jitter = rng.usize(..5);
                Pattern::Flap {
                    flips: (usual_flips + jitter).saturating_sub(2).min(n - 1),
                    error: "timeout",
                }
            } else {
                Pattern::Usual
            };
            let p = if injected { &pattern } else { &usual };
            series.push(sim_hour(rng, start, n, fail_rate, p95, p));
        }
        Case {
            series,
            scenario,
            checks: n,
            truth,
        }
    }

    #[derive(Default, Clone, Copy)]
    struct Counts {
        tp: u32,
        fp: u32,
        fn_: u32,
        tn: u32,
    }

    impl Counts {
        fn add(&mut self, truth: bool, found: bool) {
            match (truth, found) {
                (true, true) => self.tp += 1,
                (false, true) => self.fp += 1,
                (true, false) => self.fn_ += 1,
                (false, false) => self.tn += 1,
            }
        }
        fn precision(&self) -> f64 {
            f64::from(self.tp) / f64::from((self.tp + self.fp).max(1))
        }
        fn recall(&self) -> f64 {
            f64::from(self.tp) / f64::from((self.tp + self.fn_).max(1))
        }
    }

    /// 300 synthetic targets with known anomalies and hard negatives: precision and recall per
    /// kind (run with `--nocapture` to see the table).
    #[test]
    fn synthetic_evaluation_has_precision_and_recall_of_at_least_0_9() {
        let mut rng = fastrand::Rng::with_seed(20_261_118);
        let t = Thresholds::default();
        let mut counts = [Counts::default(); 3];
        let mut by_checks: BTreeMap<(usize, usize), Counts> = BTreeMap::new();
        let mut by_scenario: BTreeMap<&str, (u32, [u32; 3])> = BTreeMap::new();
        let mut misses = Vec::new();
        for target in 0..300 {
            let case = synthetic(&mut rng);
            let found = detect(&case.series, &t);
            let entry = by_scenario.entry(case.scenario).or_default();
            entry.0 += 1;
            for (k, kind) in AnomalyKind::ALL.iter().enumerate() {
                let hit = found.iter().any(|a| a.kind == *kind);
                counts[k].add(case.truth[k], hit);
                by_checks
                    .entry((k, case.checks))
                    .or_default()
                    .add(case.truth[k], hit);
                entry.1[k] += u32::from(hit);
                if hit != case.truth[k] {
                    let last = case.series.last().unwrap();
                    misses.push(format!(
                        "target {target} ({}, {} checks): {:?} {} (failures {}, flips {}, p95 \
                         {:?}) {:?}",
                        case.scenario,
                        case.checks,
                        kind,
                        if hit { "false positive" } else { "missed" },
                        last.failures,
                        last.flips,
                        last.latency.map(|l| l.p95),
                        found
                            .iter()
                            .find(|a| a.kind == *kind)
                            .map(|a| &a.explanation),
                    ));
                }
            }
        }
        println!("kind        TP  FP  FN   TN  precision  recall  (recall, 60 / 12 checks)");
        let mut all = Counts::default();
        for (k, kind) in AnomalyKind::ALL.iter().enumerate() {
            let c = counts[k];
            all.tp += c.tp;
            all.fp += c.fp;
            all.fn_ += c.fn_;
            all.tn += c.tn;
            let r = |n| by_checks.get(&(k, n)).map_or(0.0, Counts::recall);
            println!(
                "{:<10} {:>3} {:>3} {:>3} {:>4}  {:>9.3}  {:>6.3}  ({:.3} / {:.3})",
                format!("{kind:?}"),
                c.tp,
                c.fp,
                c.fn_,
                c.tn,
                c.precision(),
                c.recall(),
                r(60),
                r(12)
            );
        }
        println!(
            "{:<10} {:>3} {:>3} {:>3} {:>4}  {:>9.3}  {:>6.3}",
            "overall",
            all.tp,
            all.fp,
            all.fn_,
            all.tn,
            all.precision(),
            all.recall()
        );
        println!("scenario          targets  flagged latency / error rate / flapping");
        for (s, (n, hits)) in &by_scenario {
            println!(
                "{s:<16} {n:>8}  {:>4} / {:>4} / {:>4}",
                hits[0], hits[1], hits[2]
            );
        }
        for m in &misses {
            println!("{m}");
        }
        for (k, kind) in AnomalyKind::ALL.iter().enumerate() {
            let c = counts[k];
            assert!(
                c.precision() >= 0.9 && c.recall() >= 0.9,
                "{kind:?}: precision {:.3}, recall {:.3}",
                c.precision(),
                c.recall()
            );
        }
    }
}

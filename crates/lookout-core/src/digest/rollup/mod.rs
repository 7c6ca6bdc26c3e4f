//! Hourly and daily rollups of check results: what long uptime history and anomaly baselines
//! are computed from, at one small item per target and hour instead of sixty results.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::{CheckResult, TargetKind};

pub use crate::time::{DAY_MS, HOUR_MS};

/// How long a rollup spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    /// One UTC hour.
    Hour,
    /// One UTC day (merged from its hours).
    Day,
}

impl Period {
    /// Its length, ms.
    pub fn ms(self) -> i64 {
        match self {
            Period::Hour => HOUR_MS,
            Period::Day => DAY_MS,
        }
    }

    /// The start of the period that holds `at` (epoch ms, UTC).
    pub fn start_of(self, at: i64) -> i64 {
        at.div_euclid(self.ms()) * self.ms()
    }
}

/// Latency figures of the successful checks of a period, ms. Percentiles use the nearest-rank
/// method (the smallest value with at least p % of the values at or below it; NIST/SEMATECH
/// e-Handbook of Statistical Methods, section 7.2.6.2, "Percentiles").
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Fastest, ms.
    pub min: u64,
    /// Arithmetic mean, ms.
    pub mean: f64,
    /// Median (nearest rank), ms.
    pub p50: u64,
    /// 95th percentile (nearest rank), ms. In a daily rollup: the worst hourly p95, an upper
    /// bound of the day's.
    pub p95: u64,
    /// Slowest, ms.
    pub max: u64,
}

/// The nearest-rank `p`-th percentile (0 < p <= 100) of `sorted` (ascending, not empty).
pub fn nearest_rank(sorted: &[u64], p: f64) -> u64 {
    let n = sorted.len();
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    sorted[rank.clamp(1, n) - 1]
}

impl Latency {
    /// The figures of `values` (ms, any order); `None` when there are none.
    pub fn of(values: &mut [u64]) -> Option<Latency> {
        if values.is_empty() {
            return None;
        }
        values.sort_unstable();
        let sum: u128 = values.iter().map(|&v| u128::from(v)).sum();
        Some(Latency {
            min: values[0],
            mean: sum as f64 / values.len() as f64,
            p50: nearest_rank(values, 50.0),
            p95: nearest_rank(values, 95.0),
            max: values[values.len() - 1],
        })
    }
}

/// A target's checks over one hour or day. Stored as `ROLLUP#<target id>` /
/// `H#<YYYY-MM-DDTHH>` (kept [`HOUR_ROLLUP_TTL_DAYS`] days) or `D#<YYYY-MM-DD>` (kept
/// [`ROLLUP_TTL_DAYS`] days).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollup {
    /// The target's id (`*` for the sum over all targets).
    pub target_id: String,
    /// The target's kind.
    pub kind: TargetKind,
    /// Hour or day.
    pub period: Period,
    /// Start of the period, epoch ms (UTC).
    pub start: i64,
    /// Checks in the period.
    pub checks: u64,
    /// Checks that failed (`failed` or `blocked`).
    pub failures: u64,
    /// Latency of the successful checks; `None` when none succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<Latency>,
    /// Bytes received by the checks (proxy probe traffic).
    #[serde(default)]
    pub bytes: u64,
    /// Changes between success and failure from one check to the next inside the period.
    #[serde(default)]
    pub flips: u64,
    /// Failures by error kind (`connect`, `timeout`, `status` ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<String, u64>,
}

/// Day rollups are kept this many days (TTL), so that 365-day uptime can be answered.
pub const ROLLUP_TTL_DAYS: u32 = 400;

/// Hour rollups are kept this many days (TTL): the 7-day anomaly baseline and the hourly
/// uptime windows read at most 8 days back; older uptime counts from day rollups. Keeping the
/// hours 400 days made them most of the table (and of each daily dump's scan).
pub const HOUR_ROLLUP_TTL_DAYS: u32 = 35;

fn error_name(r: &CheckResult) -> String {
    r.error
        .and_then(|e| serde_json::to_value(e).ok())
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| {
            if r.outcome == crate::domain::Outcome::Blocked {
                "blocked".into()
            } else {
                "other".into()
            }
        })
}

impl Rollup {
    /// An empty rollup of `target_id` for the period starting at `start`.
    pub fn empty(target_id: &str, kind: TargetKind, period: Period, start: i64) -> Rollup {
        Rollup {
            target_id: target_id.to_string(),
            kind,
            period,
            start,
            checks: 0,
            failures: 0,
            latency: None,
            bytes: 0,
            flips: 0,
            errors: BTreeMap::new(),
        }
    }

    /// Uptime of the period in percent (successful checks over checks); `None` without checks.
    pub fn uptime_percent(&self) -> Option<f64> {
        (self.checks > 0).then(|| (self.checks - self.failures) as f64 * 100.0 / self.checks as f64)
    }

    /// Failure rate of the period, 0 to 1; `None` without checks.
    pub fn error_rate(&self) -> Option<f64> {
        (self.checks > 0).then(|| self.failures as f64 / self.checks as f64)
    }

    /// End of the period (exclusive), epoch ms.
    pub fn end(&self) -> i64 {
        self.start + self.period.ms()
    }

    /// The hourly rollup of one target from its results (any order) of the hour starting at
    /// `hour`; results outside the hour are ignored. The same results give the same rollup,
    /// so computing an hour again is idempotent.
    pub fn of_hour(
        target_id: &str,
        kind: TargetKind,
        hour: i64,
        results: &[&CheckResult],
    ) -> Rollup {
        let mut inside: Vec<&CheckResult> = results
            .iter()
            .copied()
            .filter(|r| r.at >= hour && r.at < hour + HOUR_MS && r.target_id == target_id)
            .collect();
        inside.sort_by_key(|r| r.at);
        let mut rollup = Rollup::empty(target_id, kind, Period::Hour, hour);
        let mut ok_latency = Vec::with_capacity(inside.len());
        let mut last_ok = None;
        for r in &inside {
            rollup.checks += 1;
            rollup.bytes = rollup.bytes.saturating_add(r.bytes);
            let ok = r.ok();
            if ok {
                ok_latency.push(r.latency_ms);
            } else {
                rollup.failures += 1;
                *rollup.errors.entry(error_name(r)).or_default() += 1;
            }
            if last_ok.is_some_and(|l| l != ok) {
                rollup.flips += 1;
            }
            last_ok = Some(ok);
        }
        rollup.latency = Latency::of(&mut ok_latency);
        rollup
    }

    /// Merges rollups of one target (or of many, for a sum over targets) into one of `period`
    /// starting at `start`: counts add up, min and max are kept, the mean is weighted by
    /// successful checks, p50 is the weighted median of the parts' p50 and p95 the worst part's
    /// p95 (an upper bound: exact percentiles cannot be merged from summaries).
    pub fn merge(
        target_id: &str,
        kind: TargetKind,
        period: Period,
        start: i64,
        parts: &[&Rollup],
    ) -> Rollup {
        let mut out = Rollup::empty(target_id, kind, period, start);
        let mut weighted = 0.0;
        let mut oks = 0u64;
        let mut p50s: Vec<(u64, u64)> = Vec::new();
        let (mut min, mut p95, mut max) = (u64::MAX, 0u64, 0u64);
        for p in parts {
            out.checks += p.checks;
            out.failures += p.failures;
            out.bytes = out.bytes.saturating_add(p.bytes);
            out.flips += p.flips;
            for (k, v) in &p.errors {
                *out.errors.entry(k.clone()).or_default() += v;
            }
            if let Some(l) = p.latency {
                let n = p.checks - p.failures;
                weighted += l.mean * n as f64;
                oks += n;
                p50s.push((l.p50, n.max(1)));
                min = min.min(l.min);
                p95 = p95.max(l.p95);
                max = max.max(l.max);
            }
        }
        if !p50s.is_empty() {
            p50s.sort_unstable();
            let total: u64 = p50s.iter().map(|p| p.1).sum();
            let mut seen = 0;
            let mut p50 = p50s[0].0;
            for (v, w) in &p50s {
                seen += w;
                if seen * 2 >= total {
                    p50 = *v;
                    break;
                }
            }
            out.latency = Some(Latency {
                min,
                mean: if oks > 0 { weighted / oks as f64 } else { 0.0 },
                p50,
                p95,
                max,
            });
        }
        out
    }
}

/// The rollup of all targets together for one hour (`target_id` `*`): counts and flips add
/// up, min and max are kept, the mean is weighted by successful checks, and p50 and p95 are the
/// medians of the targets' p50 and p95 (the typical target's latency, which one slow target
/// cannot move). `parts` are the targets' hourly rollups of that hour.
pub fn overall(kind: TargetKind, hour: i64, parts: &[Rollup]) -> Rollup {
    let refs: Vec<&Rollup> = parts.iter().collect();
    let mut out = Rollup::merge("*", kind, Period::Hour, hour, &refs);
    let median = |mut v: Vec<u64>| {
        v.sort_unstable();
        v.get(v.len().saturating_sub(1) / 2).copied()
    };
    if let Some(l) = out.latency.as_mut() {
        let with: Vec<&Latency> = parts.iter().filter_map(|p| p.latency.as_ref()).collect();
        l.p50 = median(with.iter().map(|x| x.p50).collect()).unwrap_or(l.p50);
        l.p95 = median(with.iter().map(|x| x.p95).collect()).unwrap_or(l.p95);
    }
    out
}

/// The hourly rollups of every target in `targets` (id and kind) from `results` of the hour
/// starting at `hour`; a target without results in the hour gets an empty rollup (0 checks), so
/// a target that stopped being checked shows as a gap, not as 100 % up.
pub fn roll_up_hour(
    targets: &[(String, TargetKind)],
    hour: i64,
    results: &[CheckResult],
) -> Vec<Rollup> {
    let mut by_target: BTreeMap<&str, Vec<&CheckResult>> = BTreeMap::new();
    for r in results {
        by_target.entry(r.target_id.as_str()).or_default().push(r);
    }
    targets
        .iter()
        .map(|(id, kind)| {
            let rs = by_target.get(id.as_str()).map(Vec::as_slice).unwrap_or(&[]);
            Rollup::of_hour(id, *kind, hour, rs)
        })
        .collect()
}

/// Uptime over a trailing window, from rollups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Uptime {
    /// Window name: `24h`, `7d`, `30d` or `365d`.
    pub window: String,
    /// Window start, epoch ms.
    pub since: i64,
    /// Checks counted.
    pub checks: u64,
    /// Failures counted.
    pub failures: u64,
    /// Uptime in percent; `None` when there were no checks.
    pub uptime_percent: Option<f64>,
}

/// One day of a target's uptime bar on the status page: the counts of its day rollup (today's
/// from its hourly rollups so far).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCell {
    /// The day's start (UTC midnight), epoch ms.
    pub start: i64,
    /// Checks that day.
    pub checks: u64,
    /// Failed checks that day.
    pub failures: u64,
}

/// Days in the status page's uptime bar (as Atlassian Statuspage and Upptime show).
pub const BAR_DAYS: usize = 90;

/// The trailing windows [`uptime`] answers, with their length in ms.
pub const UPTIME_WINDOWS: [(&str, i64); 4] = [
    ("24h", DAY_MS),
    ("7d", 7 * DAY_MS),
    ("30d", 30 * DAY_MS),
    ("365d", 365 * DAY_MS),
];

/// Uptime over each of [`UPTIME_WINDOWS`] ending at `until` (exclusive, epoch ms), from hourly
/// and daily rollups of one target (any order). A day counts from its daily rollup when the
/// whole day lies inside the window; otherwise its hours inside the window count.
pub fn uptime(until: i64, hours: &[Rollup], days: &[Rollup]) -> Vec<Uptime> {
    UPTIME_WINDOWS
        .iter()
        .map(|(name, len)| {
            let since = until - len;
            let whole: Vec<&Rollup> = days
                .iter()
                .filter(|d| d.start >= since && d.end() <= until)
                .collect();
            let counted: std::collections::BTreeSet<i64> = whole.iter().map(|d| d.start).collect();
            let parts = whole.into_iter().chain(hours.iter().filter(|h| {
                h.start >= since
                    && h.start < until
                    && !counted.contains(&Period::Day.start_of(h.start))
            }));
            let (mut checks, mut failures) = (0, 0);
            for r in parts {
                checks += r.checks;
                failures += r.failures;
            }
            Uptime {
                window: (*name).to_string(),
                since,
                checks,
                failures,
                uptime_percent: (checks > 0)
                    .then(|| (checks - failures) as f64 * 100.0 / checks as f64),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;

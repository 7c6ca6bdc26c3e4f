//! The latency detector: the hour's p95 against the baseline's, by the modified z-score
//! (median and MAD), seasonal by hour of day when the baseline allows.

use std::collections::BTreeMap;

use super::{median, Rollup, Thresholds, Verdict, HOUR_MS};
use crate::domain::TargetKind;

/// Hour of day (UTC, 0 to 23) of an epoch-ms instant.
pub(super) fn hour_of_day(ms: i64) -> i64 {
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

/// The verdict on `hour` against the baseline hours `base`, if it is anomalous.
pub(super) fn judge(hour: &Rollup, base: &[&Rollup], t: &Thresholds) -> Option<Verdict> {
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

/// Explanation and recommendation of a latency anomaly.
pub(super) fn explain(last: &Rollup, from: &str, v: Verdict) -> (String, String) {
    let all = last.target_id == "*";
    let ratio = v.observed / v.baseline.max(f64::MIN_POSITIVE);
    let explanation = format!(
        "p95 latency {ratio:.1} times its baseline since {from}: {:.0} ms against {:.0} \
         ms usually{}",
        v.observed,
        v.baseline,
        if v.seasonal {
            " at this hour of day"
        } else {
            ""
        }
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

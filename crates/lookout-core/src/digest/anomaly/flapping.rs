//! The flapping detector, after Nagios' flap detection: the hour's percent state change
//! against the target's usual changes per hour.

use super::error_rate::{advice, dominant_error};
use super::{clock, median, Rollup, Thresholds, Verdict};

/// The verdict on `hour` against the baseline hours `base`, if it is anomalous.
pub(super) fn judge(hour: &Rollup, base: &[&Rollup], t: &Thresholds) -> Option<Verdict> {
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

/// Explanation and recommendation of flapping, anomalous since `since` (`from` in words).
pub(super) fn explain(last: &Rollup, since: i64, from: &str, v: Verdict) -> (String, String) {
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

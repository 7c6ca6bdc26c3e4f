//! Anomaly detection on hourly rollups: latency against the target's own baseline, error-rate
//! spikes against its baseline rate, and flapping.
//!
//! STUB: the interface is fixed; the detectors are being written.

use serde::{Deserialize, Serialize};

use super::rollup::Rollup;

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

/// Detector settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {}
    }
}

/// The anomalies of the last hour of `series` (hourly rollups of one target, oldest first,
/// the hours before it being the baseline).
pub fn detect(series: &[Rollup], thresholds: &Thresholds) -> Vec<Anomaly> {
    let _ = (series, thresholds);
    Vec::new()
}

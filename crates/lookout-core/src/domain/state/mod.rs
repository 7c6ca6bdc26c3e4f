//! Target state and the status state machine.
//!
//! - this module: [`Status`], [`TargetState`] (what is known of a target between runs) and
//!   [`Override`];
//! - [`machine`]: [`next_state`] (one check result applied), [`catch_up`] (a snapshot brought up
//!   to date) and [`apply_override`];
//! - `alerts`: the alerts a change raises (status, reminder, certificate, traffic, flapping);
//! - [`flap`]: flap detection (percent state change over the last 21 checks).

use serde::{Deserialize, Serialize};

mod alerts;
pub mod flap;
pub mod machine;

pub use machine::{apply_override, catch_up, next_state, next_state_decided};

/// A target's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Not checked yet, or not enough results to decide.
    Unknown,
    /// Answers as expected.
    Healthy,
    /// Answers, but slower than `degraded_latency_ms`.
    Degraded,
    /// `failure_threshold` consecutive failures.
    Down,
    /// A proxy whose upstream refuses it.
    Blocked,
}

impl Status {
    /// All statuses, in display order.
    pub const ALL: [Status; 5] = [
        Status::Healthy,
        Status::Degraded,
        Status::Down,
        Status::Blocked,
        Status::Unknown,
    ];

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unknown => "unknown",
            Status::Healthy => "healthy",
            Status::Degraded => "degraded",
            Status::Down => "down",
            Status::Blocked => "blocked",
        }
    }

    /// Whether failover may pick a target in this status (`healthy` or `degraded`).
    pub fn eligible(self) -> bool {
        matches!(self, Status::Healthy | Status::Degraded)
    }
}

/// What Lookout knows about a target between runs. Time in epoch ms, latency in ms, traffic in
/// bytes, cost in the currency of the target's `cost_per_gb`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetState {
    /// The target's id.
    pub target_id: String,
    /// Current status.
    pub status: Status,
    /// When the status last changed.
    pub status_since: i64,
    /// Failures in a row (reset by a success).
    pub consecutive_failures: u32,
    /// Successes in a row (reset by a failure).
    pub consecutive_successes: u32,
    /// Last check time.
    #[serde(default)]
    pub last_check: Option<i64>,
    /// Last successful check time.
    #[serde(default)]
    pub last_success: Option<i64>,
    /// Latency of the last successful check, ms.
    #[serde(default)]
    pub last_latency_ms: Option<u64>,
    /// Exponentially weighted moving average of successful latencies (α = 0.3), ms.
    #[serde(default)]
    pub ewma_latency_ms: Option<f64>,
    /// Redacted message of the last failure.
    #[serde(default)]
    pub last_error: Option<String>,
    /// Checks counted.
    pub checks: u64,
    /// Failed or blocked checks counted.
    pub failures: u64,
    /// Bytes through the proxy, counted for proxies only.
    #[serde(default)]
    pub traffic_bytes: u64,
    /// Estimated cost of that traffic: bytes / 10^9 × `cost_per_gb`.
    #[serde(default)]
    pub cost: f64,
    /// Optimistic-locking version of the stored state item; 0 before the first write.
    #[serde(default)]
    pub version: u64,
    /// When the last alert about this target was raised (status change or reminder), epoch ms.
    #[serde(default)]
    pub last_alert_at: Option<i64>,
    /// Start of the UTC day the `day_*` counters cover, epoch ms.
    #[serde(default)]
    pub day_start: i64,
    /// Proxy bytes counted since `day_start`.
    #[serde(default)]
    pub day_traffic_bytes: u64,
    /// Estimated proxy cost since `day_start`.
    #[serde(default)]
    pub day_cost: f64,
    /// The day before: proxy bytes and estimated cost of the UTC day starting at
    /// `prev_day_start`, kept when the first check of a new day resets the `day_*` counters,
    /// so that the daily report (raised after midnight) still sees them.
    #[serde(default)]
    pub prev_day_start: i64,
    /// Proxy bytes of the day starting at `prev_day_start`.
    #[serde(default)]
    pub prev_day_traffic_bytes: u64,
    /// Estimated proxy cost of the day starting at `prev_day_start`.
    #[serde(default)]
    pub prev_day_cost: f64,
    /// The certificate expiry day (epoch ms of its UTC midnight) already alerted about.
    #[serde(default)]
    pub cert_alerted: Option<i64>,
    /// Flap detection ([`flap`]): bit 0 set when the newest check called for another state
    /// than the one before it, bit 19 the oldest of the 20 transitions kept.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub flap_changes: u32,
    /// The state the newest check alone called for (before thresholds), for flap detection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flap_last: Option<Status>,
    /// Whether the target is flapping ([`flap`]): its status is held as it was when flapping
    /// started, and no status alert is raised until it stops.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub flapping: bool,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

pub use crate::time::DAY_MS;

/// A manual override from an operator (the API's target actions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Override {
    /// Declare the target `healthy` now (clears the failure count).
    MarkHealthy,
    /// Declare the target `down` now.
    MarkDown,
    /// Zero the counters (checks, failures, traffic, cost, latency average); status stays.
    ResetStats,
}

/// Weight of the newest sample in the latency EWMA.
pub const EWMA_ALPHA: f64 = 0.3;

impl TargetState {
    /// The state of a target never checked.
    pub fn new(target_id: &str) -> Self {
        TargetState {
            target_id: target_id.to_string(),
            status: Status::Unknown,
            status_since: 0,
            consecutive_failures: 0,
            consecutive_successes: 0,
            last_check: None,
            last_success: None,
            last_latency_ms: None,
            ewma_latency_ms: None,
            last_error: None,
            checks: 0,
            failures: 0,
            traffic_bytes: 0,
            cost: 0.0,
            version: 0,
            last_alert_at: None,
            day_start: 0,
            day_traffic_bytes: 0,
            day_cost: 0.0,
            prev_day_start: 0,
            prev_day_traffic_bytes: 0,
            prev_day_cost: 0.0,
            cert_alerted: None,
            flap_changes: 0,
            flap_last: None,
            flapping: false,
        }
    }

    /// Proxy bytes and estimated cost of the UTC day starting at `day_start` (epoch ms), from
    /// the current or the previous day's counters; zero when neither covers that day.
    pub fn traffic_of_day(&self, day_start: i64) -> (u64, f64) {
        if self.day_start == day_start {
            (self.day_traffic_bytes, self.day_cost)
        } else if self.prev_day_start == day_start {
            (self.prev_day_traffic_bytes, self.prev_day_cost)
        } else {
            (0, 0.0)
        }
    }

    /// Share of successful checks, in percent; `None` before the first check.
    pub fn uptime_percent(&self) -> Option<f64> {
        (self.checks > 0).then(|| 100.0 * (self.checks - self.failures) as f64 / self.checks as f64)
    }
}

#[cfg(test)]
mod flap_tests;
#[cfg(test)]
mod tests;

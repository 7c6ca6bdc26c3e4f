//! Target state and the status state machine.

use serde::{Deserialize, Serialize};

use super::alert::{Alert, AlertKind, Severity};
use super::result::{CheckResult, Outcome};
use super::target::Target;

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
        }
    }

    /// Share of successful checks, in percent; `None` before the first check.
    pub fn uptime_percent(&self) -> Option<f64> {
        (self.checks > 0).then(|| 100.0 * (self.checks - self.failures) as f64 / self.checks as f64)
    }
}

/// Applies one check result to a target's state and returns the new state and the alerts the
/// change raises.
///
/// Rules: a success resets the failure count and makes the target `healthy`, or `degraded` when
/// the answer was slow; but a `down` target needs `recovery_threshold` successes in a row first.
/// A failure counts up and makes the target `down` at `failure_threshold`; before that the status
/// stays. A block status makes a proxy `blocked` at once. Every change of status raises one
/// alert, except the first verdict `healthy`/`degraded` of a target never seen before.
pub fn next_state(
    state: &TargetState,
    result: &CheckResult,
    target: &Target,
) -> (TargetState, Vec<Alert>) {
    let mut s = state.clone();
    s.checks += 1;
    s.last_check = Some(result.at);
    if target.proxy().is_some() {
        s.traffic_bytes += result.bytes;
        s.cost += result.bytes as f64 / 1e9 * target.cost_per_gb();
    }
    let wanted = match result.outcome {
        Outcome::Up | Outcome::Slow | Outcome::Degraded => {
            s.consecutive_successes += 1;
            s.consecutive_failures = 0;
            s.last_success = Some(result.at);
            s.last_latency_ms = Some(result.latency_ms);
            let l = result.latency_ms as f64;
            s.ewma_latency_ms = Some(match s.ewma_latency_ms {
                Some(prev) => EWMA_ALPHA * l + (1.0 - EWMA_ALPHA) * prev,
                None => l,
            });
            let up = if matches!(result.outcome, Outcome::Slow | Outcome::Degraded)
                || result.latency_ms > target.degraded_latency_ms
            {
                Status::Degraded
            } else {
                Status::Healthy
            };
            if state.status == Status::Down && s.consecutive_successes < target.recovery_threshold {
                Status::Down
            } else {
                up
            }
        }
        Outcome::Blocked => {
            s.failures += 1;
            s.consecutive_successes = 0;
            s.consecutive_failures = 0;
            s.last_error = result.message.clone();
            Status::Blocked
        }
        Outcome::Failed => {
            s.failures += 1;
            s.consecutive_successes = 0;
            s.consecutive_failures += 1;
            s.last_error = result.message.clone();
            if s.consecutive_failures >= target.failure_threshold {
                Status::Down
            } else {
                state.status
            }
        }
    };
    let mut alerts = Vec::new();
    if wanted != state.status {
        s.status = wanted;
        s.status_since = result.at;
        let first_good = state.status == Status::Unknown && wanted.eligible();
        if !first_good {
            alerts.push(status_alert(state.status, &s, result, target));
        }
    }
    (s, alerts)
}

fn status_alert(old: Status, s: &TargetState, result: &CheckResult, target: &Target) -> Alert {
    let recovery = matches!(old, Status::Down | Status::Blocked) && s.status.eligible();
    let (kind, severity) = match (recovery, s.status) {
        (true, _) => (AlertKind::Recovery, Severity::Info),
        (false, Status::Down) => (AlertKind::StatusChange, Severity::Critical),
        (false, Status::Blocked | Status::Degraded) => (AlertKind::StatusChange, Severity::Warning),
        (false, _) => (AlertKind::StatusChange, Severity::Info),
    };
    let why = match (&result.message, result.status_code) {
        (Some(m), _) => m.clone(),
        (None, Some(code)) => format!("HTTP {code} in {} ms", result.latency_ms),
        (None, None) => format!("{} ms", result.latency_ms),
    };
    let uptime = s
        .uptime_percent()
        .map_or_else(|| "n/a".into(), |u| format!("{u:.1}%"));
    // SNS subjects: under 100 characters, no line breaks; the name is cut, the status word kept.
    let subject = format!(
        "[{}] {} {} is {}",
        severity.as_str().to_uppercase(),
        target.kind().as_str(),
        crate::redact::clip(&target.name, 60),
        s.status.as_str()
    );
    let mut text = format!(
        "{} {} ({}, group {}) went from {} to {}: {}. Uptime {}.",
        target.kind().as_str(),
        target.name,
        target.id,
        target.group,
        old.as_str(),
        s.status.as_str(),
        why,
        uptime
    );
    if let Some(p) = target.proxy() {
        if p.cost_per_gb > 0.0 {
            text.push_str(&format!(
                " Estimated cost so far {:.4} for {} bytes.",
                s.cost, s.traffic_bytes
            ));
        }
    }
    Alert {
        key: format!("{}#{}#{}", target.id, s.status.as_str(), s.status_since),
        kind,
        severity,
        target_id: target.id.clone(),
        target_name: target.name.clone(),
        target_kind: target.kind(),
        group: target.group.clone(),
        old_status: old,
        new_status: s.status,
        at: result.at,
        subject,
        text: crate::redact::redact_text(&text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::result::ErrorKind;
    use crate::domain::target::TargetKind;
    use serde_json::json;

    fn server(threshold: u32, recovery: u32) -> Target {
        serde_json::from_value::<Target>(json!({"id":"s","group":"g","kind":"server",
            "url":"http://h/","failure_threshold":threshold,"recovery_threshold":recovery}))
        .unwrap()
    }

    fn result(outcome: Outcome, at: i64, latency_ms: u64) -> CheckResult {
        CheckResult {
            target_id: "s".into(),
            kind: TargetKind::Server,
            at,
            outcome,
            status_code: Some(200),
            latency_ms,
            connect_ms: None,
            ttfb_ms: None,
            cert_days_left: None,
            bytes: 100,
            attempts: 1,
            error: (outcome == Outcome::Failed).then_some(ErrorKind::Connect),
            message: None,
        }
    }

    fn run(t: &Target, outcomes: &[Outcome]) -> (TargetState, Vec<Alert>) {
        let mut s = TargetState::new("s");
        let mut all = Vec::new();
        for (i, o) in outcomes.iter().enumerate() {
            let (n, a) = next_state(&s, &result(*o, i as i64 * 1000, 10), t);
            s = n;
            all.extend(a);
        }
        (s, all)
    }

    #[test]
    fn a_target_goes_down_exactly_at_the_failure_threshold_with_one_critical_alert() {
        let t = server(3, 1);
        let (s, alerts) = run(&t, &[Outcome::Up, Outcome::Failed, Outcome::Failed]);
        assert_eq!((s.status, alerts.len()), (Status::Healthy, 0));
        let (s, alerts) = run(
            &t,
            &[
                Outcome::Up,
                Outcome::Failed,
                Outcome::Failed,
                Outcome::Failed,
                Outcome::Failed,
            ],
        );
        assert_eq!(s.status, Status::Down);
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert_eq!(alerts[0].severity, Severity::Critical);
        assert_eq!(
            (alerts[0].old_status, alerts[0].new_status),
            (Status::Healthy, Status::Down)
        );
        assert_eq!(alerts[0].key, "s#down#3000");
    }

    #[test]
    fn leaving_down_needs_the_recovery_threshold_and_raises_a_recovery_alert() {
        let t = server(1, 2);
        let (s, _) = run(&t, &[Outcome::Failed, Outcome::Up]);
        assert_eq!(s.status, Status::Down);
        let (s, alerts) = run(&t, &[Outcome::Failed, Outcome::Up, Outcome::Up]);
        assert_eq!(s.status, Status::Healthy);
        assert_eq!(alerts.last().unwrap().kind, AlertKind::Recovery);
        assert_eq!(alerts.len(), 2);
    }

    #[test]
    fn slow_answers_degrade_and_block_statuses_block_at_once() {
        let t = server(3, 1);
        let (s, _) = next_state(&TargetState::new("s"), &result(Outcome::Up, 0, 5_000), &t);
        assert_eq!(s.status, Status::Degraded);
        let (s, alerts) = next_state(&s, &result(Outcome::Blocked, 1, 5), &t);
        assert_eq!(
            (s.status, alerts[0].severity),
            (Status::Blocked, Severity::Warning)
        );
    }

    #[test]
    fn the_first_healthy_verdict_is_silent_but_counted() {
        let (s, alerts) = run(&server(3, 1), &[Outcome::Up, Outcome::Up]);
        assert_eq!((s.status, s.checks, s.failures), (Status::Healthy, 2, 0));
        assert!(alerts.is_empty());
        assert_eq!(s.uptime_percent(), Some(100.0));
    }

    #[test]
    fn proxy_traffic_accumulates_cost_per_gb() {
        let t = serde_json::from_value::<Target>(json!({"id":"p","group":"g","kind":"proxy",
            "proxy_url":"http://h:1","cost_per_gb":4.0,"test_urls":["http://x/"]}))
        .unwrap();
        let mut r = result(Outcome::Up, 0, 10);
        r.bytes = 500_000_000;
        let (s, _) = next_state(&TargetState::new("p"), &r, &t);
        let (s, _) = next_state(&s, &r, &t);
        assert_eq!(s.traffic_bytes, 1_000_000_000);
        assert!((s.cost - 4.0).abs() < 1e-9);
    }
}

//! Target state and the status state machine.

use serde::{Deserialize, Serialize};

use super::alert::{Alert, AlertKind, Severity};
use super::result::{CheckResult, ErrorKind, Outcome};
use super::target::{Check, Target};
use crate::time::MINUTE_MS;

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
    let today = result.at.div_euclid(DAY_MS) * DAY_MS;
    if s.day_start != today {
        s.prev_day_start = s.day_start;
        s.prev_day_traffic_bytes = s.day_traffic_bytes;
        s.prev_day_cost = s.day_cost;
        s.day_start = today;
        s.day_traffic_bytes = 0;
        s.day_cost = 0.0;
    }
    let mut extra = Vec::new();
    if let Some(p) = target.proxy() {
        let cost = result.bytes as f64 / 1e9 * p.cost_per_gb;
        s.traffic_bytes = s.traffic_bytes.saturating_add(result.bytes);
        s.cost += cost;
        let before = s.day_traffic_bytes;
        s.day_traffic_bytes = s.day_traffic_bytes.saturating_add(result.bytes);
        s.day_cost += cost;
        if let Some(gb) = p.traffic_alert_gb {
            let limit = (gb * 1e9) as u64;
            if before <= limit && s.day_traffic_bytes > limit {
                extra.push(traffic_alert(&s, result, target, gb));
            }
        }
    }
    if let (Some(days), Check::Server(sc)) = (result.cert_days_left, &target.check) {
        // Whole days left give the expiry to within a day: the same certificate is the one
        // alerted about when its estimate is within two days of that one's.
        let expiry_day = (result.at + days * DAY_MS).div_euclid(DAY_MS) * DAY_MS;
        let warn = sc.cert_expiry_warn_days > 0 && days < i64::from(sc.cert_expiry_warn_days);
        if !warn {
            s.cert_alerted = None;
        } else if s
            .cert_alerted
            .is_none_or(|seen| (expiry_day - seen).abs() > 2 * DAY_MS)
        {
            s.cert_alerted = Some(expiry_day);
            extra.push(cert_alert(&s, result, target, days, expiry_day));
        }
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
            // A proxy refusing our credentials is no flake: it refuses every request an
            // application would send, so it leaves the failover order at once.
            if s.consecutive_failures >= target.failure_threshold
                || result.error == Some(ErrorKind::ProxyAuth)
            {
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
            s.last_alert_at = Some(result.at);
        }
    } else if s.status == Status::Down && target.reminder_every_min > 0 {
        let every = i64::from(target.reminder_every_min) * MINUTE_MS;
        let since_alert = result.at - s.last_alert_at.unwrap_or(s.status_since);
        if since_alert >= every {
            alerts.push(reminder_alert(&s, result, target));
            s.last_alert_at = Some(result.at);
        }
    }
    alerts.extend(extra);
    (s, alerts)
}

/// Brings a snapshot's state up to date with the results recorded after it.
///
/// The storage writes a target's full state only when something must be kept exactly: a status
/// change or an alert (the state item, by `commit_change`), and the packed snapshot every few
/// minutes. In between, each run adds only its results to the history. Those results changed
/// nothing but counters, last check, latency average and the like, so applying them again with
/// [`next_state`] gives the state the run had, without its alerts.
///
/// A replayed result that would change the status or raise an alert (possible only when the
/// target's definition changed since, or its change failed to commit) keeps the status and the
/// alert bookkeeping (`status`, `status_since`, `last_alert_at`, `cert_alerted`) as they were:
/// the next live check makes that change and raises its alert, so it is late rather than lost.
pub fn catch_up(state: &TargetState, results: &[CheckResult], target: &Target) -> TargetState {
    let mut s = state.clone();
    for r in results {
        let (mut next, alerts) = next_state(&s, r, target);
        if next.status != s.status || !alerts.is_empty() {
            next.status = s.status;
            next.status_since = s.status_since;
            next.last_alert_at = s.last_alert_at;
            next.cert_alerted = s.cert_alerted;
        }
        s = next;
    }
    s
}

/// Applies an operator's override at `at_ms`, like a check result would: a forced status
/// raises the usual status alert (its text says it was manual); a reset raises none.
pub fn apply_override(
    state: &TargetState,
    action: Override,
    at_ms: i64,
    target: &Target,
) -> (TargetState, Vec<Alert>) {
    let mut s = state.clone();
    let wanted = match action {
        Override::ResetStats => {
            s.checks = 0;
            s.failures = 0;
            s.traffic_bytes = 0;
            s.cost = 0.0;
            s.day_traffic_bytes = 0;
            s.day_cost = 0.0;
            s.ewma_latency_ms = None;
            return (s, Vec::new());
        }
        Override::MarkHealthy => {
            s.consecutive_failures = 0;
            Status::Healthy
        }
        Override::MarkDown => {
            s.consecutive_successes = 0;
            Status::Down
        }
    };
    if wanted == state.status {
        return (s, Vec::new());
    }
    s.status = wanted;
    s.status_since = at_ms;
    s.last_alert_at = Some(at_ms);
    let note = CheckResult {
        target_id: target.id.clone(),
        kind: target.kind(),
        at: at_ms,
        outcome: if wanted == Status::Down {
            Outcome::Failed
        } else {
            Outcome::Up
        },
        status_code: None,
        latency_ms: 0,
        connect_ms: None,
        ttfb_ms: None,
        cert_days_left: None,
        bytes: 0,
        attempts: 0,
        error: None,
        message: Some(format!("marked {} by an operator", wanted.as_str())),
    };
    let alert = status_alert(state.status, &s, &note, target);
    (s, vec![alert])
}

/// An alert about one target that is not a status transition.
fn target_alert(
    (kind, severity): (AlertKind, Severity),
    key: String,
    s: &TargetState,
    result: &CheckResult,
    target: &Target,
    what: &str,
    text: String,
) -> Alert {
    Alert {
        key,
        kind,
        severity,
        target_id: target.id.clone(),
        target_name: target.name.clone(),
        target_kind: target.kind(),
        group: target.group.clone(),
        old_status: s.status,
        new_status: s.status,
        at: result.at,
        subject: format!(
            "[{}] {} {} {what}",
            severity.as_str().to_uppercase(),
            target.kind().as_str(),
            crate::redact::clip(&target.name, 50),
        ),
        text: crate::redact::redact_text(&text),
        targets: Vec::new(),
    }
}

fn reminder_alert(s: &TargetState, result: &CheckResult, target: &Target) -> Alert {
    let minutes = (result.at - s.status_since) / MINUTE_MS;
    let text = format!(
        "{} {} ({}, group {}) is still down, for {minutes} min now: {}.",
        target.kind().as_str(),
        target.name,
        target.id,
        target.group,
        result.message.as_deref().unwrap_or("no answer")
    );
    target_alert(
        (AlertKind::Reminder, Severity::Critical),
        format!(
            "{}#down#{}#reminder#{}",
            target.id, s.status_since, result.at
        ),
        s,
        result,
        target,
        "is still down",
        text,
    )
}

fn cert_alert(
    s: &TargetState,
    result: &CheckResult,
    target: &Target,
    days: i64,
    expiry_day: i64,
) -> Alert {
    let text = format!(
        "The certificate of {} ({}) expires in {days} day(s), on {}. Renew it.",
        target.name,
        target.id,
        crate::time::day(expiry_day)
    );
    let severity = if days < 3 {
        Severity::Critical
    } else {
        Severity::Warning
    };
    target_alert(
        (AlertKind::CertExpiring, severity),
        format!("{}#cert#{expiry_day}", target.id),
        s,
        result,
        target,
        &format!("certificate expires in {days} d"),
        text,
    )
}

fn traffic_alert(s: &TargetState, result: &CheckResult, target: &Target, gb: f64) -> Alert {
    let text = format!(
        "Proxy {} ({}, pool {}) moved {:.3} GB today, over its traffic_alert_gb of {gb}; \
         estimated cost today {:.4}.",
        target.name,
        target.id,
        target.group,
        s.day_traffic_bytes as f64 / 1e9,
        s.day_cost
    );
    target_alert(
        (AlertKind::Traffic, Severity::Warning),
        format!("{}#traffic#{}", target.id, s.day_start),
        s,
        result,
        target,
        &format!("over {gb} GB today"),
        text,
    )
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
        targets: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn a_proxy_refusing_the_credentials_is_down_at_once_and_leaves_the_failover_order() {
        let t = server(3, 1);
        let (healthy, _) = run(&t, &[Outcome::Up]);
        let mut refused = result(Outcome::Failed, 5_000, 3);
        refused.error = Some(ErrorKind::ProxyAuth);
        let (s, alerts) = next_state(&healthy, &refused, &t);
        assert_eq!(
            s.status,
            Status::Down,
            "no failure_threshold for proxy_auth"
        );
        assert!(!s.status.eligible());
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        let mut flake = refused.clone();
        flake.error = Some(ErrorKind::Proxy);
        assert_eq!(next_state(&healthy, &flake, &t).0.status, Status::Healthy);
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
        // The first check of the next day keeps the day before for the daily report.
        let mut next_day = r.clone();
        next_day.at = DAY_MS + 5;
        let (s, _) = next_state(&s, &next_day, &t);
        assert_eq!(s.traffic_of_day(0), (1_000_000_000, 4.0));
        assert_eq!(s.traffic_of_day(DAY_MS), (500_000_000, 2.0));
        assert_eq!(s.traffic_of_day(2 * DAY_MS), (0, 0.0));
    }

    #[test]
    fn a_down_target_gets_a_reminder_every_period_and_only_then() {
        let t = serde_json::from_value::<Target>(json!({"id":"s","group":"g","kind":"server",
            "url":"http://h/","failure_threshold":1,"reminder_every_min":10}))
        .unwrap();
        let mut s = TargetState::new("s");
        let mut reminders = Vec::new();
        // One failed check a minute for 35 minutes.
        for minute in 0..=35 {
            let (n, a) = next_state(&s, &result(Outcome::Failed, minute * 60_000, 10), &t);
            s = n;
            reminders.extend(a.into_iter().filter(|a| a.kind == AlertKind::Reminder));
        }
        let at: Vec<i64> = reminders.iter().map(|a| a.at / 60_000).collect();
        assert_eq!(at, vec![10, 20, 30]);
        assert!(reminders.iter().all(|a| a.severity == Severity::Critical));
        assert_ne!(reminders[0].key, reminders[1].key);
    }

    #[test]
    fn an_expiring_certificate_alerts_once_per_certificate() {
        let t = server(3, 1);
        let mut r = result(Outcome::Degraded, 0, 10);
        r.cert_days_left = Some(5);
        let (s, a) = next_state(&TargetState::new("s"), &r, &t);
        let cert: Vec<_> = a
            .iter()
            .filter(|a| a.kind == AlertKind::CertExpiring)
            .collect();
        assert_eq!(cert.len(), 1);
        assert!(
            cert[0].text.contains("expires in 5 day"),
            "{}",
            cert[0].text
        );
        // The same certificate (notAfter 5.6 days out) checked every hour until it expires:
        // whole days left flip at midnight and at its time of day, the alert stays one.
        let not_after = 5 * DAY_MS + 14 * 3_600_000;
        let mut s = s;
        for hour in 1..(5 * 24 + 14) {
            let at = hour * 3_600_000;
            r.at = at;
            r.cert_days_left = Some((not_after - at).div_euclid(DAY_MS));
            let (n, a) = next_state(&s, &r, &t);
            assert!(
                a.iter().all(|a| a.kind != AlertKind::CertExpiring),
                "hour {hour}"
            );
            s = n;
        }
        // Renewed for 90 days: no warning; later it nears expiry again and alerts again.
        r.at = 6 * DAY_MS;
        r.cert_days_left = Some(90);
        let (s, a) = next_state(&s, &r, &t);
        assert!(a.iter().all(|a| a.kind != AlertKind::CertExpiring));
        r.at = 86 * DAY_MS;
        r.cert_days_left = Some(10);
        let (_, a) = next_state(&s, &r, &t);
        assert_eq!(
            a.iter()
                .filter(|a| a.kind == AlertKind::CertExpiring)
                .count(),
            1
        );
    }

    #[test]
    fn proxy_traffic_over_the_daily_limit_alerts_once_a_day() {
        let t = serde_json::from_value::<Target>(json!({"id":"p","group":"g","kind":"proxy",
            "proxy_url":"http://h:1","cost_per_gb":8.0,"traffic_alert_gb":1.0,
            "test_urls":["http://x/"]}))
        .unwrap();
        let mut s = TargetState::new("p");
        let mut alerts = Vec::new();
        // 0.4 GB every 6 hours for two days: 1.6 GB a day.
        for i in 0..8 {
            let mut r = result(Outcome::Up, i * DAY_MS / 4, 10);
            r.bytes = 400_000_000;
            let (n, a) = next_state(&s, &r, &t);
            s = n;
            alerts.extend(a.into_iter().filter(|a| a.kind == AlertKind::Traffic));
        }
        assert_eq!(alerts.len(), 2, "one per day");
        assert_eq!(alerts[0].at, 2 * DAY_MS / 4, "the check that crossed 1 GB");
        assert_eq!(s.day_traffic_bytes, 1_600_000_000);
        assert!((s.day_cost - 12.8).abs() < 1e-9 && (s.cost - 25.6).abs() < 1e-9);
    }

    #[test]
    fn overrides_force_a_status_with_an_alert_or_reset_the_counters() {
        let t = server(3, 1);
        let (s, _) = run(&t, &[Outcome::Up, Outcome::Failed]);
        let (down, a) = apply_override(&s, Override::MarkDown, 5_000, &t);
        assert_eq!((down.status, a.len()), (Status::Down, 1));
        assert!(
            a[0].text.contains("marked down by an operator"),
            "{}",
            a[0].text
        );
        let (up, a) = apply_override(&down, Override::MarkHealthy, 6_000, &t);
        assert_eq!(
            (up.status, a[0].kind),
            (Status::Healthy, AlertKind::Recovery)
        );
        let (same, a) = apply_override(&up, Override::MarkHealthy, 7_000, &t);
        assert!(a.is_empty() && same.status == Status::Healthy);
        let (reset, a) = apply_override(&up, Override::ResetStats, 8_000, &t);
        assert!(a.is_empty());
        assert_eq!(
            (reset.checks, reset.failures, reset.status),
            (0, 0, Status::Healthy)
        );
    }

    #[test]
    fn a_replayed_result_that_would_change_the_status_keeps_it_and_counts() {
        // A snapshot of a healthy target, then a failure that a lower threshold (the definition
        // changed since) would turn into `down`: the replay keeps `healthy` and its alert
        // bookkeeping; the next live check makes the change and raises the alert.
        let t = server(1, 1);
        let (healthy, _) = run(&t, &[Outcome::Up]);
        let failure = result(Outcome::Failed, 60_000, 10);
        let caught = catch_up(&healthy, std::slice::from_ref(&failure), &t);
        assert_eq!(caught.status, Status::Healthy);
        assert_eq!(caught.status_since, healthy.status_since);
        assert_eq!(caught.last_alert_at, healthy.last_alert_at);
        assert_eq!(
            (caught.checks, caught.failures, caught.consecutive_failures),
            (2, 1, 1)
        );
        assert_eq!(caught.last_check, Some(60_000));
        let (live, alerts) = next_state(&caught, &result(Outcome::Failed, 120_000, 10), &t);
        assert_eq!((live.status, alerts.len()), (Status::Down, 1));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn outcome() -> impl Strategy<Value = Outcome> {
            prop_oneof![
                Just(Outcome::Up),
                Just(Outcome::Slow),
                Just(Outcome::Degraded),
                Just(Outcome::Failed),
                Just(Outcome::Blocked),
            ]
        }

        fn replay(t: &Target, outcomes: &[Outcome]) -> Vec<(TargetState, Vec<Alert>)> {
            let mut s = TargetState::new("s");
            let mut out = Vec::new();
            for (i, o) in outcomes.iter().enumerate() {
                let (n, a) = next_state(&s, &result(*o, i as i64 * 60_000, 10), t);
                out.push((n.clone(), a));
                s = n;
            }
            out
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(400))]

            /// `down` only after `failure_threshold` failures in a row; leaving `down` only after
            /// `recovery_threshold` successes in a row; counters never decrease; the same results
            /// give the same states and alerts; exactly one transition alert per status change
            /// (except a new target's first good verdict).
            #[test]
            fn the_state_machine_keeps_its_promises(
                failure in 1u32..6,
                recovery in 1u32..4,
                outcomes in proptest::collection::vec(outcome(), 1..60),
            ) {
                let t = server(failure, recovery);
                let steps = replay(&t, &outcomes);
                prop_assert_eq!(&steps, &replay(&t, &outcomes), "deterministic");
                let mut prev = TargetState::new("s");
                let (mut fails, mut oks) = (0u32, 0u32);
                for (i, (s, alerts)) in steps.iter().enumerate() {
                    match outcomes[i] {
                        Outcome::Failed => { fails += 1; oks = 0; }
                        Outcome::Blocked => { fails = 0; oks = 0; }
                        _ => { oks += 1; fails = 0; }
                    }
                    if s.status == Status::Down && prev.status != Status::Down {
                        prop_assert!(fails >= failure, "down after {} failures", fails);
                    }
                    if prev.status == Status::Down && s.status != Status::Down {
                        prop_assert!(s.status == Status::Blocked || oks >= recovery,
                            "left down after {} successes", oks);
                    }
                    prop_assert!(s.checks == prev.checks + 1);
                    prop_assert!(s.failures >= prev.failures);
                    prop_assert!(s.traffic_bytes >= prev.traffic_bytes);
                    let transitions = alerts.iter().filter(|a| a.is_transition()).count();
                    let changed = s.status != prev.status;
                    let silent_first = prev.status == Status::Unknown && s.status.eligible();
                    prop_assert_eq!(transitions, usize::from(changed && !silent_first));
                    prev = s.clone();
                }
            }

            /// What the storage keeps (a snapshot every `every` runs, the state item at every
            /// change or alert, the results in between) gives back the live state through
            /// `catch_up`, for servers and for proxies (traffic and cost), with reminders on.
            #[test]
            fn a_snapshot_caught_up_with_later_results_is_the_live_state(
                failure in 1u32..4,
                every in 1usize..15,
                steps in proptest::collection::vec((outcome(), 1u64..3_000, 0u64..5_000), 1..80),
            ) {
                for t in [
                    serde_json::from_value::<Target>(json!({"id":"s","group":"g","kind":"server",
                        "url":"http://h/","failure_threshold":failure,"reminder_every_min":3,
                        "degraded_latency_ms":1_500})).unwrap(),
                    serde_json::from_value::<Target>(json!({"id":"s","group":"g","kind":"proxy",
                        "proxy_url":"http://p:1","test_urls":["http://h/"],"cost_per_gb":3.5,"traffic_alert_gb":0.00005,
                        "failure_threshold":failure})).unwrap(),
                ] {
                    let mut live = TargetState::new("s");
                    let mut base = live.clone();
                    let mut after_base: Vec<CheckResult> = Vec::new();
                    for (i, (o, latency, bytes)) in steps.iter().enumerate() {
                        // Runs a minute apart, across a UTC midnight (the day counters roll).
                        let at = DAY_MS - 30 * 60_000 + i as i64 * 60_000;
                        let mut r = result(*o, at, *latency);
                        r.bytes = *bytes;
                        let (next, alerts) = next_state(&live, &r, &t);
                        let change = next.status != live.status || !alerts.is_empty();
                        live = next;
                        if change || i % every == 0 {
                            base = live.clone();
                            after_base.clear();
                        } else {
                            after_base.push(r);
                        }
                        prop_assert_eq!(&catch_up(&base, &after_base, &t), &live);
                    }
                }
            }
        }
    }
}

//! The status state machine: a check result or an operator's override applied to a target's
//! state, with the alerts the change raises.

use super::alerts::{cert_alert, flapping_alert, reminder_alert, status_alert, traffic_alert};
use super::flap::{self, Flap};
use super::{Override, Status, TargetState, DAY_MS, EWMA_ALPHA};
use crate::domain::alert::Alert;
use crate::domain::location::QuorumDecision;
use crate::domain::result::{CheckResult, ErrorKind, Outcome};
use crate::domain::target::Target;
use crate::time::MINUTE_MS;

/// Applies one check result to a target's state and returns the new state and the alerts the
/// change raises.
///
/// Rules: a success resets the failure count and makes the target `healthy`, or `degraded` when
/// the answer was slow; but a `down` target needs `recovery_threshold` successes in a row first.
/// A failure counts up and makes the target `down` at `failure_threshold`; before that the status
/// stays. A block status makes a proxy `blocked` at once. Every change of status raises one
/// alert, except the first verdict `healthy`/`degraded` of a target never seen before.
///
/// Flap detection ([`super::flap`], on unless the target's `flap_detection` is false): a target
/// whose checks change state at [`super::flap::FLAP_HIGH_PERCENT`] of its last 20 transitions
/// raises one `flapping` alert and keeps its status, with no status alert or reminder, until the
/// change rate falls below [`super::flap::FLAP_LOW_PERCENT`], or until its last checks agree on
/// another status ([`super::flap::FLAP_SETTLE_CHECKS`], or the thresholds when larger: a real
/// outage shows within them); then one `flapping_stopped` alert, and the status the checks call
/// for then, with its usual alert when it differs.
pub fn next_state(
    state: &TargetState,
    result: &CheckResult,
    target: &Target,
) -> (TargetState, Vec<Alert>) {
    step(state, result, target, None)
}

/// Like [`next_state`] (counters, latency, traffic, certificate and reminders from `result`),
/// but the status is the one the locations' quorum decided (`decision`; an `unknown` decision
/// keeps the status). A status change's alert names the locations: its text ends with
/// [`crate::domain::location::LocationSplit::describe`] and it carries the split in
/// [`Alert::locations`].
pub fn next_state_decided(
    state: &TargetState,
    result: &CheckResult,
    target: &Target,
    decision: &QuorumDecision,
) -> (TargetState, Vec<Alert>) {
    step(state, result, target, Some(decision))
}

/// One result applied; the status from `decision` when there is one.
fn step(
    state: &TargetState,
    result: &CheckResult,
    target: &Target,
    decision: Option<&QuorumDecision>,
) -> (TargetState, Vec<Alert>) {
    let mut s = state.clone();
    s.checks += 1;
    s.last_check = Some(result.at);
    roll_day(&mut s, result.at);
    let mut extra = Vec::new();
    extra.extend(count_traffic(&mut s, result, target));
    extra.extend(watch_certificate(&mut s, result, target));
    let mut wanted = verdict(state.status, &mut s, result, target);
    if let Some(d) = decision {
        wanted = if d.status == Status::Unknown {
            state.status
        } else {
            d.status
        };
    }
    let called = match decision {
        Some(d) if d.status != Status::Unknown => d.status,
        Some(_) => state.flap_last.unwrap_or(state.status),
        None => check_state(result, target),
    };
    let settle = target.failure_threshold.max(target.recovery_threshold);
    let flap = flap::observe(&mut s, called, target.flap_detection, settle);
    if matches!(flap, Flap::Started | Flap::Holding) {
        // Held while it flaps: no status change, no status alert, no reminder.
        wanted = state.status;
    }
    // With a quorum, the reason a transition gives is the locations' split, not this
    // location's own result (which may well be a success while two others fail).
    let reason = decision.map(|d| CheckResult {
        message: Some(d.split().describe(wanted)),
        ..result.clone()
    });
    let mut alerts = match flap {
        Flap::Started => {
            s.last_alert_at = Some(result.at);
            vec![flapping_alert(&s, result, target, true)]
        }
        Flap::Holding => Vec::new(),
        Flap::Steady | Flap::Stopped => {
            let mut out = Vec::new();
            if flap == Flap::Stopped {
                // The status it stops at, with its own alert when it differs from the held one.
                let mut stopped = s.clone();
                stopped.status = wanted;
                out.push(flapping_alert(&stopped, result, target, false));
                s.last_alert_at = Some(result.at);
            }
            out.extend(transition(
                state.status,
                wanted,
                &mut s,
                reason.as_ref().unwrap_or(result),
                target,
            ));
            out
        }
    };
    if let Some(d) = decision {
        for a in alerts.iter_mut().filter(|a| a.is_transition()) {
            a.locations = Some(d.split());
        }
    }
    alerts.extend(extra);
    (s, alerts)
}

/// Starts a new UTC day of traffic counters when `at` falls in another day than the current
/// one, keeping the day before.
fn roll_day(s: &mut TargetState, at: i64) {
    let today = at.div_euclid(DAY_MS) * DAY_MS;
    if s.day_start != today {
        s.prev_day_start = s.day_start;
        s.prev_day_traffic_bytes = s.day_traffic_bytes;
        s.prev_day_cost = s.day_cost;
        s.day_start = today;
        s.day_traffic_bytes = 0;
        s.day_cost = 0.0;
    }
}

/// Adds a proxy's traffic and cost; the traffic alert when the day's bytes cross the proxy's
/// `traffic_alert_gb`.
fn count_traffic(s: &mut TargetState, result: &CheckResult, target: &Target) -> Option<Alert> {
    let p = target.proxy()?;
    let cost = result.bytes as f64 / 1e9 * p.cost_per_gb;
    s.traffic_bytes = s.traffic_bytes.saturating_add(result.bytes);
    s.cost += cost;
    let before = s.day_traffic_bytes;
    s.day_traffic_bytes = s.day_traffic_bytes.saturating_add(result.bytes);
    s.day_cost += cost;
    let gb = p.traffic_alert_gb?;
    let limit = (gb * 1e9) as u64;
    (before <= limit && s.day_traffic_bytes > limit).then(|| traffic_alert(s, result, target, gb))
}

/// The certificate alert, once per certificate, when a server's or a TLS port's certificate
/// has fewer days left than its `cert_expiry_warn_days`.
fn watch_certificate(s: &mut TargetState, result: &CheckResult, target: &Target) -> Option<Alert> {
    let days = result.cert_days_left?;
    let warn_days = target.cert_expiry_warn_days();
    // Whole days left give the expiry to within a day: the same certificate is the one
    // alerted about when its estimate is within two days of that one's.
    let expiry_day = (result.at + days * DAY_MS).div_euclid(DAY_MS) * DAY_MS;
    let warn = warn_days > 0 && days < i64::from(warn_days);
    if !warn {
        s.cert_alerted = None;
        None
    } else if s
        .cert_alerted
        .is_none_or(|seen| (expiry_day - seen).abs() > 2 * DAY_MS)
    {
        s.cert_alerted = Some(expiry_day);
        Some(cert_alert(s, result, target, days, expiry_day))
    } else {
        None
    }
}

/// The state one check calls for on its own, before thresholds (what flap detection compares):
/// `healthy`, `degraded` (slow), `down` (failed) or `blocked`.
fn check_state(result: &CheckResult, target: &Target) -> Status {
    match result.outcome {
        Outcome::Up if !over_latency(result, target) => Status::Healthy,
        Outcome::Up | Outcome::Slow | Outcome::Degraded => Status::Degraded,
        Outcome::Blocked => Status::Blocked,
        Outcome::Failed => Status::Down,
    }
}

/// Whether an `up` result is slower than the target's `degraded_latency_ms`. Never for a
/// heartbeat target: its `latency_ms` is the job's run time, not an answer's, and a run that
/// takes too long is judged by its `grace_s` (`crate::domain::heartbeat::evaluate`).
fn over_latency(result: &CheckResult, target: &Target) -> bool {
    target.heartbeat().is_none() && result.latency_ms > target.degraded_latency_ms
}

/// Counts the result and returns the status it calls for, given the status `old` before it.
fn verdict(old: Status, s: &mut TargetState, result: &CheckResult, target: &Target) -> Status {
    match result.outcome {
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
                || over_latency(result, target)
            {
                Status::Degraded
            } else {
                Status::Healthy
            };
            if old == Status::Down && s.consecutive_successes < target.recovery_threshold {
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
                old
            }
        }
    }
}

/// Moves to `wanted` with its status alert (none for the first good verdict of a target never
/// seen), or, staying `down`, the reminder when one is due.
fn transition(
    old: Status,
    wanted: Status,
    s: &mut TargetState,
    result: &CheckResult,
    target: &Target,
) -> Vec<Alert> {
    let mut alerts = Vec::new();
    if wanted != old {
        s.status = wanted;
        s.status_since = result.at;
        let first_good = old == Status::Unknown && wanted.eligible();
        if !first_good {
            alerts.push(status_alert(old, s, result, target));
            s.last_alert_at = Some(result.at);
        }
    } else if s.status == Status::Down && target.reminder_every_min > 0 {
        let every = i64::from(target.reminder_every_min) * MINUTE_MS;
        let since_alert = result.at - s.last_alert_at.unwrap_or(s.status_since);
        if since_alert >= every {
            alerts.push(reminder_alert(s, result, target));
            s.last_alert_at = Some(result.at);
        }
    }
    alerts
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
/// alert bookkeeping (`status`, `status_since`, `last_alert_at`, `cert_alerted`, `flapping`) as
/// they were:
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
            next.flapping = s.flapping;
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

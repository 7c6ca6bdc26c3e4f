//! The alerts about one target that a state change raises: the status transition, reminders
//! while down, an expiring certificate and a proxy's daily traffic.

use super::{Status, TargetState};
use crate::domain::alert::{Alert, AlertKind, Severity};
use crate::domain::result::CheckResult;
use crate::domain::target::Target;
use crate::time::MINUTE_MS;

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
        changes: Vec::new(),
        tags: target.tags.clone(),
        locations: None,
        slo: None,
    }
}

pub(super) fn reminder_alert(s: &TargetState, result: &CheckResult, target: &Target) -> Alert {
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

pub(super) fn cert_alert(
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

pub(super) fn traffic_alert(
    s: &TargetState,
    result: &CheckResult,
    target: &Target,
    gb: f64,
) -> Alert {
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

pub(super) fn status_alert(
    old: Status,
    s: &TargetState,
    result: &CheckResult,
    target: &Target,
) -> Alert {
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
        changes: Vec::new(),
        tags: target.tags.clone(),
        locations: None,
        slo: None,
    }
}

/// The alert that a target started flapping (`started`) or stopped (see [`super::flap`]):
/// one of each instead of one per change while it flaps. Keyed by the target and the check
/// that started or stopped it.
pub(super) fn flapping_alert(
    s: &TargetState,
    result: &CheckResult,
    target: &Target,
    started: bool,
) -> Alert {
    let pct = super::flap::percent_state_change(s.flap_changes);
    let who = format!(
        "{} {} ({}, group {})",
        target.kind().as_str(),
        target.name,
        target.id,
        target.group
    );
    if started {
        let text = format!(
            "{who} is flapping: its checks changed state {pct:.0}% of the time over the last 21 \
             (weighted toward the newest). Its status stays {} and no alert is sent for each \
             change until it stops flapping (below {:.0}%).",
            s.status.as_str(),
            super::flap::FLAP_LOW_PERCENT
        );
        target_alert(
            (AlertKind::Flapping, Severity::Warning),
            format!("{}#flapping#{}", target.id, result.at),
            s,
            result,
            target,
            "is flapping",
            text,
        )
    } else {
        // A flap ended by checks that agree starts its change history again (0 %): the rate
        // then says nothing, so the text gives it only when it fell below the threshold.
        let why = if s.flap_changes == 0 {
            "its last checks agree".to_string()
        } else {
            format!("{pct:.0}% state change over the last 21 checks")
        };
        let text = format!(
            "{who} stopped flapping ({why}); its status is {} and each change alerts again.",
            s.status.as_str()
        );
        target_alert(
            (AlertKind::FlappingStopped, Severity::Info),
            format!("{}#flapping_stopped#{}", target.id, result.at),
            s,
            result,
            target,
            "stopped flapping",
            text,
        )
    }
}

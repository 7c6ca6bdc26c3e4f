//! Alerts as incidents, for the incident channels (PagerDuty, Opsgenie): which alerts open
//! (trigger) an incident, which close (resolve) it, and the incident key both sides share.
//!
//! Incident keys are stable per subject, so a trigger and the resolve that follows it carry the
//! same key, and repeated triggers (reminders, a second status change) land on the open
//! incident instead of opening another:
//!
//! | key | opened by | closed by |
//! | --- | --- | --- |
//! | `lookout/target/<target id>` | `status_change` to `down` or `blocked`, `reminder` | `recovery`, `status_change` to `healthy` |
//! | `lookout/group/<server\|proxy>/<group>` | `group_critical` | `group_recovered` |
//! | `lookout/cert/<target id>` | `cert_expiring` | (closed by hand once the certificate is renewed) |
//! | `lookout/traffic/<target id>` | `traffic` | (closed by hand) |
//! | `lookout/location/<location>` | `location_silent` | `location_back` |
//! | `lookout/flapping/<target id>` | `flapping` | `flapping_stopped` |
//! | `lookout/slo/<slo id>/<page\|ticket>` | `slo_burn` | `slo_burn_resolved` |
//!
//! A `storm` alert stands for the transitions and group alerts it replaced (`alert.changes`):
//! each one is mapped as if it had been sent on its own, so a storm's incidents close one by
//! one as their targets recover. `daily_report`, and status changes to `degraded` or `unknown`,
//! are no incident: nothing is sent.

use crate::domain::{Alert, AlertKind, Change, Severity, Status};
use crate::notify::channel::Language;

use super::message::Message;

/// Open or close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Open the incident, or add to the open one with the same key.
    Trigger,
    /// Close the incident with this key.
    Resolve,
}

/// One incident event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Incident {
    /// Open or close.
    pub action: Action,
    /// The incident key (PagerDuty `dedup_key`, Opsgenie `alias`).
    pub key: String,
    /// The words.
    pub message: Message,
    /// What is affected: the target id, or the group for group alerts.
    pub source: String,
    /// The group or pool.
    pub group: String,
    /// The alert kind (`status_change`, ...).
    pub class: &'static str,
    /// Alert fields for the provider's details (string values).
    pub details: Vec<(&'static str, String)>,
    /// The target's tags.
    pub tags: Vec<String>,
}

/// The incident key of a target.
pub(crate) fn target_key(target_id: &str) -> String {
    format!("lookout/target/{target_id}")
}

/// The incident key of an SLO's `page` or `ticket` alert.
pub(crate) fn slo_key(slo_id: &str, alert: &str) -> String {
    format!("lookout/slo/{slo_id}/{alert}")
}

/// The incident key of a probe location (its dead man's switch).
pub(crate) fn location_key(location: &str) -> String {
    format!("lookout/location/{location}")
}

/// The incident events of `alert`, in order; `Err(reason)` when it is no incident.
pub(crate) fn incidents(alert: &Alert, lang: Language) -> Result<Vec<Incident>, &'static str> {
    if alert.kind == AlertKind::Storm {
        if alert.changes.is_empty() {
            return Err("a storm alert without its list of changes opens no incident");
        }
        let out: Vec<Incident> = alert
            .changes
            .iter()
            .filter_map(|c| one(&change_alert(alert, c), lang).ok())
            .collect();
        if out.is_empty() {
            return Err("no change of this storm opens or closes an incident");
        }
        return Ok(out);
    }
    one(alert, lang).map(|i| vec![i])
}

/// Whether `alert` closes an incident: it is a resolve, or a storm with a change that is one.
/// Incident channels take such alerts whatever their route's severity and kinds (see
/// [`Route`](crate::notify::Route)).
pub(crate) fn resolves(alert: &Alert) -> bool {
    if alert.kind == AlertKind::Storm {
        alert
            .changes
            .iter()
            .any(|c| action(c.kind, c.new_status) == Ok(Action::Resolve))
    } else {
        action(alert.kind, alert.new_status) == Ok(Action::Resolve)
    }
}

/// Whether an alert of `kind` (to `new_status`) opens or closes its incident (the table of the
/// module's doc); `Err(reason)` when it is no incident.
fn action(kind: AlertKind, new_status: Status) -> Result<Action, &'static str> {
    use Action::{Resolve, Trigger};
    match kind {
        AlertKind::StatusChange => match new_status {
            Status::Down | Status::Blocked => Ok(Trigger),
            Status::Healthy => Ok(Resolve),
            Status::Degraded | Status::Unknown => {
                Err("a change to degraded or unknown opens no incident")
            }
        },
        AlertKind::Reminder
        | AlertKind::GroupCritical
        | AlertKind::CertExpiring
        | AlertKind::Traffic
        | AlertKind::LocationSilent
        | AlertKind::Flapping
        | AlertKind::SloBurn => Ok(Trigger),
        AlertKind::Recovery
        | AlertKind::GroupRecovered
        | AlertKind::LocationBack
        | AlertKind::FlappingStopped
        | AlertKind::SloBurnResolved => Ok(Resolve),
        AlertKind::DailyReport => Err("a daily report is no incident"),
        AlertKind::Storm => Err("a storm inside a storm"),
    }
}

fn one(alert: &Alert, lang: Language) -> Result<Incident, &'static str> {
    let group_key = || {
        format!(
            "lookout/group/{}/{}",
            alert.target_kind.as_str(),
            alert.group
        )
    };
    let action = action(alert.kind, alert.new_status)?;
    let slo = match (alert.kind.is_slo(), &alert.slo) {
        (true, None) => return Err("an SLO alert without its SLO opens no incident"),
        (_, slo) => slo.as_ref().map(|s| slo_key(&s.id, &s.alert)),
    };
    let key = match (alert.kind, action) {
        (AlertKind::SloBurn | AlertKind::SloBurnResolved, _) => slo.clone().unwrap_or_default(),
        (AlertKind::GroupCritical | AlertKind::GroupRecovered, _) => group_key(),
        (AlertKind::CertExpiring, _) => format!("lookout/cert/{}", alert.target_id),
        (AlertKind::Traffic, _) => format!("lookout/traffic/{}", alert.target_id),
        (AlertKind::LocationSilent | AlertKind::LocationBack, _) => location_key(&alert.group),
        (AlertKind::Flapping | AlertKind::FlappingStopped, _) => {
            format!("lookout/flapping/{}", alert.target_id)
        }
        _ => target_key(&alert.target_id),
    };
    let source = if alert.kind.is_location() {
        location_key(&alert.group)
    } else if let Some(key) = slo {
        key
    } else if alert.target_id.is_empty() {
        group_key()
    } else {
        alert.target_id.clone()
    };
    Ok(Incident {
        action,
        key,
        message: Message::of(alert, lang),
        source,
        group: alert.group.clone(),
        class: alert.kind.as_str(),
        details: vec![
            ("alert_key", alert.key.clone()),
            ("kind", alert.kind.as_str().into()),
            ("severity", alert.severity.as_str().into()),
            ("target_id", alert.target_id.clone()),
            ("target_name", alert.target_name.clone()),
            ("target_kind", alert.target_kind.as_str().into()),
            ("group", alert.group.clone()),
            ("old_status", alert.old_status.as_str().into()),
            ("new_status", alert.new_status.as_str().into()),
            ("at", crate::time::rfc3339(alert.at)),
            ("text", super::message::cut(&alert.text, 2000)),
        ]
        .into_iter()
        .chain(alert.slo.iter().flat_map(|s| {
            [
                ("slo_id", s.id.clone()),
                ("slo_alert", s.alert.clone()),
                ("slo_rules", s.rules.join(",")),
                ("burn_rate_long", format!("{:.2}", s.burn_long)),
                ("burn_rate_short", format!("{:.2}", s.burn_short)),
                ("budget_spent_share", format!("{:.4}", s.budget_spent_share)),
            ]
        }))
        .collect(),
        tags: alert.tags.clone(),
    })
}

/// One change of a storm as the alert it replaced (severity as the state machine and the group
/// alerts give it; the storm's time; a text naming the storm).
pub(crate) fn change_alert(storm: &Alert, c: &Change) -> Alert {
    let severity = match (c.kind, c.new_status) {
        (AlertKind::GroupCritical, _) | (AlertKind::StatusChange, Status::Down) => {
            Severity::Critical
        }
        (AlertKind::StatusChange, Status::Blocked | Status::Degraded) => Severity::Warning,
        _ => Severity::Info,
    };
    let who = if c.target_id.is_empty() {
        c.target_name.clone()
    } else {
        format!("{} ({})", c.target_name, c.target_id)
    };
    Alert {
        key: format!(
            "{}#{}",
            storm.key,
            if c.target_id.is_empty() {
                &c.group
            } else {
                &c.target_id
            }
        ),
        kind: c.kind,
        severity,
        target_id: c.target_id.clone(),
        target_name: c.target_name.clone(),
        target_kind: storm.target_kind,
        group: c.group.clone(),
        old_status: c.old_status,
        new_status: c.new_status,
        at: storm.at,
        subject: storm.subject.clone(),
        text: format!(
            "{who}: {} -> {}, one of the changes of storm alert {}.",
            c.old_status.as_str(),
            c.new_status.as_str(),
            storm.key
        ),
        targets: Vec::new(),
        changes: Vec::new(),
        tags: Vec::new(),
        locations: None,
        slo: None,
    }
}

#[cfg(test)]
#[path = "slo_tests.rs"]
mod slo_tests;

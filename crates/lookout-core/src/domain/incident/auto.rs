//! Incidents opened and closed from alerts (`source: auto`), pure: [`apply_alert`] takes the
//! open incidents and one alert and answers the incidents to write.
//!
//! The rules:
//! - a `status_change` to `down` or `blocked` opens an incident naming that target, unless an
//!   open auto incident names it already: then that one gets an update;
//! - a `storm` opens ONE incident naming every target of its `changes` that went bad and that no
//!   open auto incident names (cut at [`MAX_AFFECTED`], the rest counted in
//!   [`Incident::more_targets`]); the targets an open one names update it;
//! - a `recovery` (or any change of a named target to a status that is not bad) marks the target
//!   in the open incident(s) naming it and adds an update; an auto incident none of whose targets
//!   is still bad is `resolved`, with `resolved_at` the alert's time;
//! - [`settle`], from the hourly digest, resolves an auto incident whose targets are no longer
//!   bad in the current states (its recovery alert lost, or its targets deleted) and moves
//!   maintenance windows on by their times;
//! - every other kind (reminders, certificates, traffic, daily reports, locations, group
//!   alerts, SLO burn-rate alerts: a budget burning is no outage of a target) changes nothing,
//!   and operator incidents are never touched.
//!
//! Each update keeps the alert's key, so applying the same alert again is a no-op while the
//! incident it touched is open; the id of an incident an alert opens is derived from the alert
//! ([`auto_id`]), so a second opening of the same one is refused by the store's conditional
//! write (version 1 of an id that exists).

use super::{AffectedTarget, Incident, IncidentKind, IncidentSource, IncidentStatus};
use super::{IncidentUpdate, MAX_AFFECTED, MAX_AUTO_CHANGES, MAX_AUTO_UPDATES};
use crate::domain::{Alert, AlertKind, Status};

/// Whether a target in `status` counts as affected (`down` or `blocked`).
pub fn is_bad(status: Status) -> bool {
    matches!(status, Status::Down | Status::Blocked)
}

/// The id of the auto incident an alert at `at_ms` (epoch ms) opens, whose first target is
/// `first_target`: `auto-<first target id>-<at ms>`.
pub fn auto_id(first_target: &str, at_ms: i64) -> String {
    format!("auto-{first_target}-{at_ms}")
}

/// Whether `alert` can change an incident (a status change, a recovery or a storm): the others
/// need not read the open incidents.
pub fn concerns_incidents(alert: &Alert) -> bool {
    matches!(
        alert.kind,
        AlertKind::StatusChange | AlertKind::Recovery | AlertKind::Storm
    )
}

/// The transitions of targets an alert reports: the alert's own for a status change or a
/// recovery, its `changes` for a storm (group alerts left out), none for every other kind.
fn transitions(alert: &Alert) -> Vec<AffectedTarget> {
    let one = |id: &str, name: &str, status: Status| AffectedTarget {
        id: id.to_owned(),
        name: name.to_owned(),
        status,
    };
    match alert.kind {
        AlertKind::StatusChange | AlertKind::Recovery if !alert.target_id.is_empty() => {
            vec![one(&alert.target_id, &alert.target_name, alert.new_status)]
        }
        AlertKind::Storm => alert
            .changes
            .iter()
            .filter(|c| {
                matches!(c.kind, AlertKind::StatusChange | AlertKind::Recovery)
                    && !c.target_id.is_empty()
            })
            .map(|c| one(&c.target_id, &c.target_name, c.new_status))
            .collect(),
        _ => Vec::new(),
    }
}

/// The incidents `alert` changes, given the incidents open now (`open`, of either source; the
/// operator's are left alone), each with its `version` bumped (1 for a new one). Empty when the
/// alert changes nothing or was applied already. An open incident that has an update with the
/// alert's key is not written again, and the targets it names open no new incident, so applying
/// an alert again after only some of its writes went through writes the rest.
pub fn apply_alert(open: &[Incident], alert: &Alert) -> Vec<Incident> {
    let steps = transitions(alert);
    if steps.is_empty() {
        return Vec::new();
    }
    let has_key = |i: &Incident| {
        i.updates
            .iter()
            .any(|u| u.alert_key.as_deref() == Some(alert.key.as_str()))
    };
    // An incident that has an update with this alert's key took it already: it is left as it
    // is, but its targets count as named (so that no second incident opens for them).
    let mut touched: Vec<(Incident, bool, Vec<AffectedTarget>)> = open
        .iter()
        .filter(|i| i.source == IncidentSource::Auto && !i.status.is_closed())
        .map(|i| (i.clone(), has_key(i), Vec::new()))
        .collect();
    let mut opened: Vec<AffectedTarget> = Vec::new();
    for step in steps {
        let mut named = false;
        for (incident, took, changes) in &mut touched {
            if let Some(t) = incident.targets.iter_mut().find(|t| t.id == step.id) {
                named = true;
                if *took {
                    continue;
                }
                t.status = step.status;
                if !step.name.is_empty() {
                    t.name.clone_from(&step.name);
                }
                changes.retain(|c: &AffectedTarget| c.id != step.id);
                changes.push(step.clone());
            }
        }
        if !named {
            match opened.iter_mut().find(|t| t.id == step.id) {
                Some(t) => *t = step,
                None if is_bad(step.status) => opened.push(step),
                None => {}
            }
        }
    }
    let mut out: Vec<Incident> = touched
        .into_iter()
        .filter(|(_, took, changes)| !took && !changes.is_empty())
        .map(|(mut incident, _, changes)| {
            if !incident.targets.iter().any(|t| is_bad(t.status)) {
                incident.status = IncidentStatus::Resolved;
                incident.resolved_at = Some(alert.at);
            }
            incident.updates.push(IncidentUpdate {
                at: alert.at,
                status: incident.status,
                body: String::new(),
                changes,
                alert_key: Some(alert.key.clone()),
            });
            trim_updates(&mut incident);
            incident.version += 1;
            incident
        })
        .collect();
    // A storm's recoveries may bring back a target it also took down: only the bad ones open.
    opened.retain(|t| is_bad(t.status));
    if let Some(first) = opened.first().map(|t| t.id.clone()) {
        let more = opened.len().saturating_sub(MAX_AFFECTED);
        opened.truncate(MAX_AFFECTED);
        out.push(Incident {
            id: auto_id(&first, alert.at),
            kind: IncidentKind::Incident,
            source: IncidentSource::Auto,
            title: String::new(),
            status: IncidentStatus::Investigating,
            targets: opened.clone(),
            more_targets: u32::try_from(more).unwrap_or(u32::MAX),
            opened_at: alert.at,
            resolved_at: None,
            starts_at: None,
            ends_at: None,
            updates: vec![IncidentUpdate {
                at: alert.at,
                status: IncidentStatus::Investigating,
                body: String::new(),
                changes: opened,
                alert_key: Some(alert.key.clone()),
            }],
            postmortem: None,
            dropped_updates: 0,
            version: 1,
        });
    }
    out
}

/// Drops the oldest updates of `incident` beyond [`MAX_AUTO_UPDATES`], or beyond
/// [`MAX_AUTO_CHANGES`] target changes among those kept (the newest is always kept), and counts
/// them in [`Incident::dropped_updates`]: the bound that keeps an auto incident's item far
/// under DynamoDB's 400 KB.
pub fn trim_updates(incident: &mut Incident) {
    let mut keep = 0;
    let mut changes = 0;
    for u in incident.updates.iter().rev() {
        if keep == MAX_AUTO_UPDATES || (keep > 0 && changes + u.changes.len() > MAX_AUTO_CHANGES) {
            break;
        }
        keep += 1;
        changes += u.changes.len();
    }
    let drop = incident.updates.len() - keep;
    if drop > 0 {
        incident.updates.drain(..drop);
        incident.dropped_updates = incident
            .dropped_updates
            .saturating_add(u32::try_from(drop).unwrap_or(u32::MAX));
    }
}

/// The incidents the hourly pass closes or moves on at `now` (epoch ms, taken before `states`
/// were read), given the incidents open now (`open`) and the status of every target that
/// exists (`states`, by target id), each with its `version` bumped:
/// - an open auto incident none of whose targets is `down` or `blocked` in `states` (a target
///   missing from `states` no longer exists and counts as not bad) is `resolved` at `now`, with
///   an update (empty body, `changes` the targets' current statuses, `unknown` for one that no
///   longer exists): the recovery alert that should have closed it may have been lost, or its
///   targets deleted. One with an update after `now` is left alone (the states may be older
///   than the alert that made it);
/// - a maintenance window (of either source) whose `ends_at` has passed is `completed`, with
///   `resolved_at` its end; one `scheduled` whose `starts_at` has passed is `in_progress`.
///
/// Operator incidents of kind `incident` are never touched. Empty when nothing changes, so a
/// second pass at the same time writes nothing.
pub fn settle(
    open: &[Incident],
    states: &std::collections::HashMap<String, Status>,
    now: i64,
) -> Vec<Incident> {
    let mut out = Vec::new();
    for incident in open.iter().filter(|i| !i.status.is_closed()) {
        let mut i = incident.clone();
        let last_at = i.updates.last().map_or(i.opened_at, |u| u.at);
        match i.kind {
            IncidentKind::Incident if i.source == IncidentSource::Auto => {
                let current = |id: &str| states.get(id).copied().unwrap_or(Status::Unknown);
                // Changed after the states were read: they may not show that change yet.
                if last_at > now || i.targets.iter().any(|t| is_bad(current(&t.id))) {
                    continue;
                }
                let mut changes = Vec::new();
                for t in &mut i.targets {
                    t.status = current(&t.id);
                    changes.push(t.clone());
                }
                let at = now.max(last_at);
                i.status = IncidentStatus::Resolved;
                i.resolved_at = Some(at);
                i.updates.push(IncidentUpdate {
                    at,
                    status: IncidentStatus::Resolved,
                    body: String::new(),
                    changes,
                    alert_key: None,
                });
                trim_updates(&mut i);
            }
            IncidentKind::Maintenance => {
                let (to, at) = match (i.starts_at, i.ends_at) {
                    (_, Some(end)) if end <= now => (IncidentStatus::Completed, end.max(last_at)),
                    (Some(start), _) if start <= now && i.status == IncidentStatus::Scheduled => {
                        (IncidentStatus::InProgress, start.max(last_at))
                    }
                    _ => continue,
                };
                i.status = to;
                if to.is_closed() {
                    i.resolved_at = Some(at);
                }
                i.updates.push(IncidentUpdate {
                    at,
                    status: to,
                    body: String::new(),
                    changes: Vec::new(),
                    alert_key: None,
                });
            }
            IncidentKind::Incident => continue,
        }
        i.version += 1;
        out.push(i);
    }
    out
}

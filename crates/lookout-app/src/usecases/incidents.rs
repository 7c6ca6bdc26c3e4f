//! Incidents from alerts: [`record_alert`] applies one alert to the open incidents
//! ([`lookout_core::domain::incident::apply_alert`]), writes each change on the condition of its
//! version, and tells the status page's subscribers of each change it wrote
//! ([`IncidentNotices::notify`]).
//!
//! Exactly once in effect: the outbox delivery ([`crate::usecases::delivery::deliver_with`])
//! records an alert after it won the alert's claim and before it publishes it; when recording
//! fails the claim is given back and the alert stays pending for the next run, which records it
//! again. Applying an alert a second time writes only what the first did not (every update keeps
//! the alert's key; an incident the alert opened has an id derived from the alert, so a second
//! opening is refused by the conditional write and recognised here).

use crate::ports::{IncidentNotices, IncidentStore, StoreError};
use lookout_core::domain::incident::{apply_alert, concerns_incidents, Incident, IncidentStatus};
use lookout_core::domain::Alert;

/// A new id for an operator's incident: `inc-` and 16 random hex digits.
pub fn new_incident_id() -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string();
    format!("inc-{}", &hex[..16])
}

/// Attempts of [`record_alert`]: each conflict re-reads the open incidents and applies again.
pub const RECORD_ATTEMPTS: usize = 5;

/// Applies `alert` to the open incidents and writes the changes, re-reading and applying again
/// after a version conflict (at most [`RECORD_ATTEMPTS`] times). Each change is sent to
/// `notices` once, after its write won; a notice that fails is logged and not retried (the
/// incident is written; the page shows it). Answers the incidents written.
///
/// # Errors
/// The store's error when a read or write failed, or [`StoreError::Conflict`] when every attempt
/// met a conflict: the caller leaves the alert pending, and a later application writes what
/// this one did not.
pub async fn record_alert<S, N>(
    store: &S,
    notices: &N,
    alert: &Alert,
) -> Result<Vec<Incident>, StoreError>
where
    S: IncidentStore,
    N: IncidentNotices,
{
    let mut written = Vec::new();
    if !concerns_incidents(alert) {
        return Ok(written);
    }
    let mut last = String::new();
    for _ in 0..RECORD_ATTEMPTS {
        let open = store.open_incidents().await?;
        let changes = apply_alert(&open, alert);
        if changes.is_empty() {
            return Ok(written);
        }
        let mut conflicted = false;
        for incident in changes {
            match store.put_incident(&incident).await {
                Ok(()) => {
                    send(notices, &incident).await;
                    written.push(incident);
                }
                Err(StoreError::Conflict(m)) => {
                    if incident.version == 1 && opened_already(store, &incident, alert).await? {
                        continue;
                    }
                    last = m;
                    conflicted = true;
                }
                Err(e) => return Err(e),
            }
        }
        if !conflicted {
            return Ok(written);
        }
    }
    Err(StoreError::Conflict(format!(
        "incidents of alert {} still in conflict after {RECORD_ATTEMPTS} attempts: {last}",
        alert.key
    )))
}

/// The hourly pass over the open incidents ([`lookout_core::domain::incident::settle`]): resolves
/// the auto incidents none of whose targets is bad in `states` (the current status of every
/// target that exists, by id) and moves maintenance windows on by their times, at `now` (epoch
/// ms). Each change is written on the condition of its version and sent to `notices` once after
/// its write won; one that lost to a concurrent write is left for the next pass (logged).
/// Answers the incidents written.
///
/// # Errors
/// The store's error when the open incidents cannot be read, or a write failed for another
/// reason than a conflict.
pub async fn settle_incidents<S, N>(
    store: &S,
    notices: &N,
    states: &std::collections::HashMap<String, lookout_core::domain::Status>,
    now: i64,
) -> Result<Vec<Incident>, StoreError>
where
    S: IncidentStore,
    N: IncidentNotices,
{
    let open = store.open_incidents().await?;
    let mut written = Vec::new();
    for incident in lookout_core::domain::incident::settle(&open, states, now) {
        match store.put_incident(&incident).await {
            Ok(()) => {
                send(notices, &incident).await;
                written.push(incident);
            }
            Err(StoreError::Conflict(m)) => {
                tracing::info!(incident = %incident.id, error = %m, "incident changed meanwhile; left for the next pass");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(written)
}

/// Whether the incident `alert` opens exists already, opened by this alert (it was recorded
/// before and has closed since).
async fn opened_already<S: IncidentStore>(
    store: &S,
    incident: &Incident,
    alert: &Alert,
) -> Result<bool, StoreError> {
    Ok(store.incident(&incident.id).await?.is_some_and(|stored| {
        stored
            .updates
            .iter()
            .any(|u| u.alert_key.as_deref() == Some(alert.key.as_str()))
    }))
}

async fn send<N: IncidentNotices>(notices: &N, incident: &Incident) {
    if let Err(e) = notices.notify(incident, &notice_text(incident)).await {
        tracing::warn!(incident = %incident.id, error = %e, "incident notice not sent");
    }
}

/// The text of an incident notice, in English (e-mail subscribers get one language): the
/// title (or the targets), the status, the newest update, the time.
///
/// ```text
/// Incident: web, api (down) — investigating
/// web: down
/// api: down
/// Opened 2026-12-02T01:00:00Z.
/// ```
pub fn notice_text(incident: &Incident) -> String {
    let names: Vec<&str> = incident
        .targets
        .iter()
        .map(|t| {
            if t.name.is_empty() {
                t.id.as_str()
            } else {
                t.name.as_str()
            }
        })
        .collect();
    let mut subject = if incident.title.is_empty() {
        names.join(", ")
    } else {
        incident.title.clone()
    };
    if incident.more_targets > 0 {
        subject.push_str(&format!(" and {} more", incident.more_targets));
    }
    let what = match incident.kind {
        lookout_core::domain::incident::IncidentKind::Incident => "Incident",
        lookout_core::domain::incident::IncidentKind::Maintenance => "Maintenance",
    };
    let mut text = format!("{what}: {subject} — {}\n", incident.status.as_str());
    if let Some(u) = incident.updates.last() {
        if !u.body.is_empty() {
            text.push_str(&u.body);
            text.push('\n');
        }
        for c in &u.changes {
            let name = if c.name.is_empty() { &c.id } else { &c.name };
            text.push_str(&format!("{name}: {}\n", c.status.as_str()));
        }
    }
    let when = match (incident.status, incident.resolved_at) {
        (IncidentStatus::Resolved | IncidentStatus::Completed, Some(r)) => {
            format!("Resolved {}.", lookout_core::time::rfc3339(r))
        }
        _ => format!(
            "Opened {}.",
            lookout_core::time::rfc3339(incident.opened_at)
        ),
    };
    text.push_str(&when);
    text
}

#[cfg(test)]
mod tests;

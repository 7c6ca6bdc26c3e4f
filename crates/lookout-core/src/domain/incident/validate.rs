//! An operator's incidents: the body of `POST /v1/incidents` ([`IncidentDraft`]) and of
//! `PATCH /v1/incidents/{id}` ([`IncidentPatch`], a JSON merge patch, RFC 7396), parsed and
//! validated with the offending field's JSON path in every refusal (as
//! `domain/target/validate.rs` does for targets).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use super::{AffectedTarget, Incident, IncidentKind, IncidentSource, IncidentStatus};
use super::{IncidentUpdate, MAX_AFFECTED, MAX_BODY_CHARS, MAX_POSTMORTEM_CHARS, MAX_TITLE_CHARS};
use crate::domain::Status;

/// An incident draft or patch that is not acceptable, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct IncidentError {
    /// The offending field's JSON path, e.g. `title`, `targets[2]`, `update.body`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> IncidentError {
    IncidentError {
        field: field.into(),
        message: message.into(),
    }
}

/// Longest target id an incident may name, characters (target ids are shorter).
const MAX_TARGET_ID_CHARS: usize = 200;

/// The body of `POST /v1/incidents`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentDraft {
    /// `incident` (default) or `maintenance`.
    #[serde(default)]
    pub kind: IncidentKind,
    /// The title, 1 to [`MAX_TITLE_CHARS`] characters (plain text).
    pub title: String,
    /// The first status: `investigating` (the default), `identified`, `monitoring` or
    /// `resolved` for an incident; `scheduled` (the default), `in_progress` or `completed` for
    /// maintenance.
    #[serde(default)]
    pub status: Option<IncidentStatus>,
    /// The affected targets' ids, at most [`MAX_AFFECTED`], no repeats.
    #[serde(default)]
    pub targets: Vec<String>,
    /// The first update's text, at most [`MAX_BODY_CHARS`] characters.
    #[serde(default)]
    pub body: String,
    /// A maintenance window's start, RFC 3339 (required for maintenance, refused otherwise).
    #[serde(default)]
    pub starts_at: Option<String>,
    /// A maintenance window's end, RFC 3339, after its start (required for maintenance).
    #[serde(default)]
    pub ends_at: Option<String>,
    /// The postmortem, at most [`MAX_POSTMORTEM_CHARS`] characters.
    #[serde(default)]
    pub postmortem: Option<String>,
}

/// A new timeline entry in a patch: `{"status"?, "body"}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateDraft {
    /// The status from this entry on (default: unchanged).
    #[serde(default)]
    pub status: Option<IncidentStatus>,
    /// What the operator writes, at most [`MAX_BODY_CHARS`] characters.
    #[serde(default)]
    pub body: String,
}

/// The body of `PATCH /v1/incidents/{id}` without its `version`: a JSON merge patch of the
/// fields an operator may change. An absent field stays; `postmortem: null` removes it.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentPatch {
    /// A new title.
    #[serde(default)]
    pub title: Option<String>,
    /// A new status (a timeline entry is added for it, with `update.body` when given).
    #[serde(default)]
    pub status: Option<IncidentStatus>,
    /// The affected targets' ids, the whole list (targets kept keep what the incident saw).
    #[serde(default)]
    pub targets: Option<Vec<String>>,
    /// A maintenance window's new start, RFC 3339.
    #[serde(default)]
    pub starts_at: Option<String>,
    /// A maintenance window's new end, RFC 3339.
    #[serde(default)]
    pub ends_at: Option<String>,
    /// The postmortem: text to set, `null` to remove.
    #[serde(default, deserialize_with = "present")]
    pub postmortem: Option<Option<String>>,
    /// A new timeline entry.
    #[serde(default)]
    pub update: Option<UpdateDraft>,
}

/// A field that is present (even `null`) as `Some`, so that `null` can mean "remove".
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// `value` as `T`, a refusal naming the field's path (`.` for the whole body).
fn parse<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, IncidentError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let message = e.inner().to_string();
        let mut path = e.path().to_string();
        // A missing field is reported at its parent: name the field itself.
        if let Some(name) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
        {
            path = if path == "." {
                name.to_owned()
            } else {
                format!("{path}.{name}")
            };
        }
        invalid(path, message)
    })
}

impl IncidentDraft {
    /// The draft in a JSON body.
    ///
    /// # Errors
    /// A field of the wrong type, an unknown field or an unknown status, named.
    pub fn parse(value: serde_json::Value) -> Result<Self, IncidentError> {
        parse(value)
    }
}

impl IncidentPatch {
    /// The patch in a JSON body (without `version`).
    ///
    /// # Errors
    /// A field of the wrong type, an unknown field or an unknown status, named.
    pub fn parse(value: serde_json::Value) -> Result<Self, IncidentError> {
        parse(value)
    }
}

fn check_text(field: &str, text: &str, max: usize, required: bool) -> Result<(), IncidentError> {
    if required && text.trim().is_empty() {
        return Err(invalid(field, "required, not blank"));
    }
    let chars = text.chars().count();
    if chars > max {
        return Err(invalid(
            field,
            format!("at most {max} characters, not {chars}"),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(invalid(field, "control characters are not allowed"));
    }
    Ok(())
}

fn check_status(
    field: &str,
    kind: IncidentKind,
    status: IncidentStatus,
) -> Result<(), IncidentError> {
    use IncidentStatus::*;
    let ok = match kind {
        IncidentKind::Incident => {
            matches!(status, Investigating | Identified | Monitoring | Resolved)
        }
        IncidentKind::Maintenance => matches!(status, Scheduled | InProgress | Completed),
    };
    if ok {
        Ok(())
    } else {
        let allowed = match kind {
            IncidentKind::Incident => "investigating, identified, monitoring or resolved",
            IncidentKind::Maintenance => "scheduled, in_progress or completed",
        };
        Err(invalid(
            field,
            format!(
                "{} is not a status of {}: {allowed}",
                status.as_str(),
                kind_name(kind)
            ),
        ))
    }
}

fn kind_name(kind: IncidentKind) -> &'static str {
    match kind {
        IncidentKind::Incident => "an incident",
        IncidentKind::Maintenance => "maintenance",
    }
}

fn check_targets(ids: &[String]) -> Result<(), IncidentError> {
    if ids.len() > MAX_AFFECTED {
        return Err(invalid(
            "targets",
            format!("at most {MAX_AFFECTED} targets, not {}", ids.len()),
        ));
    }
    for (i, id) in ids.iter().enumerate() {
        let field = format!("targets[{i}]");
        if id.trim().is_empty() || id.chars().count() > MAX_TARGET_ID_CHARS {
            return Err(invalid(
                field,
                format!("a target id, 1 to {MAX_TARGET_ID_CHARS} characters"),
            ));
        }
        if ids[..i].contains(id) {
            return Err(invalid(field, format!("{id} is named twice")));
        }
    }
    Ok(())
}

fn parse_time(field: &str, raw: &str) -> Result<i64, IncidentError> {
    raw.parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|_| {
            invalid(
                field,
                "an RFC 3339 time with an offset, e.g. 2026-12-02T01:00:00Z",
            )
        })
}

/// The window of `kind`: both times for maintenance, the end after the start; none for an
/// incident.
fn check_window(
    kind: IncidentKind,
    starts_at: Option<i64>,
    ends_at: Option<i64>,
) -> Result<(), IncidentError> {
    match (kind, starts_at, ends_at) {
        (IncidentKind::Incident, Some(_), _) => Err(invalid("starts_at", "only for maintenance")),
        (IncidentKind::Incident, _, Some(_)) => Err(invalid("ends_at", "only for maintenance")),
        (IncidentKind::Incident, None, None) => Ok(()),
        (IncidentKind::Maintenance, None, _) => {
            Err(invalid("starts_at", "required for maintenance"))
        }
        (IncidentKind::Maintenance, _, None) => Err(invalid("ends_at", "required for maintenance")),
        (IncidentKind::Maintenance, Some(s), Some(e)) if e <= s => {
            Err(invalid("ends_at", "must be after starts_at"))
        }
        (IncidentKind::Maintenance, Some(_), Some(_)) => Ok(()),
    }
}

fn unnamed(id: &str) -> AffectedTarget {
    AffectedTarget {
        id: id.to_owned(),
        name: String::new(),
        status: Status::Unknown,
    }
}

impl Incident {
    /// An operator's new incident (or maintenance) from `draft`, with id `id`, opened at `now`
    /// (epoch ms), version 1, its first timeline entry the draft's status and body. Its targets
    /// carry no name and status `unknown` yet: the caller fills them from the definitions.
    ///
    /// # Errors
    /// The first rule the draft breaks, naming the field: a blank or long title, a status of the
    /// other kind, a repeated or blank target id, a long body or postmortem, a maintenance
    /// window missing a time or ending before it starts, a window on an incident.
    pub fn from_draft(
        draft: IncidentDraft,
        id: String,
        now: i64,
    ) -> Result<Incident, IncidentError> {
        check_text("title", &draft.title, MAX_TITLE_CHARS, true)?;
        let status = draft.status.unwrap_or(match draft.kind {
            IncidentKind::Incident => IncidentStatus::Investigating,
            IncidentKind::Maintenance => IncidentStatus::Scheduled,
        });
        check_status("status", draft.kind, status)?;
        check_targets(&draft.targets)?;
        check_text("body", &draft.body, MAX_BODY_CHARS, false)?;
        if let Some(p) = &draft.postmortem {
            check_text("postmortem", p, MAX_POSTMORTEM_CHARS, false)?;
        }
        let starts_at = draft
            .starts_at
            .as_deref()
            .map(|s| parse_time("starts_at", s))
            .transpose()?;
        let ends_at = draft
            .ends_at
            .as_deref()
            .map(|s| parse_time("ends_at", s))
            .transpose()?;
        check_window(draft.kind, starts_at, ends_at)?;
        Ok(Incident {
            id,
            kind: draft.kind,
            source: IncidentSource::Operator,
            title: draft.title.trim().to_owned(),
            status,
            targets: draft.targets.iter().map(|t| unnamed(t)).collect(),
            more_targets: 0,
            dropped_updates: 0,
            opened_at: now,
            resolved_at: status.is_closed().then_some(now),
            starts_at,
            ends_at,
            updates: vec![IncidentUpdate {
                at: now,
                status,
                body: draft.body,
                changes: Vec::new(),
                alert_key: None,
            }],
            postmortem: draft.postmortem,
            version: 1,
        })
    }

    /// Applies an operator's `patch` at `now` (epoch ms) and bumps the version. A new status
    /// (`status` or `update.status`) adds a timeline entry even without a body; `update` adds
    /// one with its body. Closing sets `resolved_at`, reopening clears it. Targets kept keep
    /// their name and status; new ones carry no name and status `unknown` (the caller fills
    /// them). Nothing changes when it fails.
    ///
    /// # Errors
    /// As [`Incident::from_draft`], with `update.status`/`update.body` for the entry, and
    /// `update.status` when it contradicts `status`.
    pub fn apply_patch(&mut self, patch: IncidentPatch, now: i64) -> Result<(), IncidentError> {
        let mut next = self.clone();
        if let Some(title) = patch.title {
            let required = self.source == IncidentSource::Operator;
            check_text("title", &title, MAX_TITLE_CHARS, required)?;
            next.title = title.trim().to_owned();
        }
        if let Some(s) = patch.status {
            check_status("status", self.kind, s)?;
        }
        if let Some(u) = &patch.update {
            if let Some(s) = u.status {
                check_status("update.status", self.kind, s)?;
                if patch.status.is_some_and(|p| p != s) {
                    return Err(invalid("update.status", "differs from status"));
                }
            }
            check_text("update.body", &u.body, MAX_BODY_CHARS, false)?;
        }
        if let Some(ids) = patch.targets {
            check_targets(&ids)?;
            next.targets = ids
                .iter()
                .map(|id| {
                    self.targets
                        .iter()
                        .find(|t| &t.id == id)
                        .cloned()
                        .unwrap_or_else(|| unnamed(id))
                })
                .collect();
        }
        if let Some(s) = &patch.starts_at {
            next.starts_at = Some(parse_time("starts_at", s)?);
        }
        if let Some(e) = &patch.ends_at {
            next.ends_at = Some(parse_time("ends_at", e)?);
        }
        if patch.starts_at.is_some() || patch.ends_at.is_some() {
            check_window(self.kind, next.starts_at, next.ends_at)?;
        }
        match patch.postmortem {
            Some(Some(p)) => {
                check_text("postmortem", &p, MAX_POSTMORTEM_CHARS, false)?;
                next.postmortem = Some(p);
            }
            Some(None) => next.postmortem = None,
            None => {}
        }
        let new_status = patch
            .update
            .as_ref()
            .and_then(|u| u.status)
            .or(patch.status)
            .unwrap_or(self.status);
        if new_status != self.status || patch.update.is_some() {
            next.updates.push(IncidentUpdate {
                at: now,
                status: new_status,
                body: patch.update.map(|u| u.body).unwrap_or_default(),
                changes: Vec::new(),
                alert_key: None,
            });
        }
        if new_status.is_closed() && !self.status.is_closed() {
            next.resolved_at = Some(now);
        } else if !new_status.is_closed() {
            next.resolved_at = None;
        }
        next.status = new_status;
        next.version = self.version + 1;
        *self = next;
        Ok(())
    }
}

/// A status page subscriber's e-mail address, trimmed: one `@`, a local part of at most 64
/// bytes, a domain with a dot, no spaces, control characters or `<>,;"`, at most 254 bytes
/// (RFC 5321 §4.5.3.1.3; the rules of the e-mail channels' addresses).
///
/// # Errors
/// [`IncidentError`] naming `email`.
pub fn subscriber_email(raw: &str) -> Result<String, IncidentError> {
    let a = raw.trim();
    let plausible = a.rsplit_once('@').is_some_and(|(local, domain)| {
        a.len() <= 254
            && !local.is_empty()
            && local.len() <= 64
            && !local.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !a
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "<>,;\"".contains(c))
    });
    if plausible {
        Ok(a.to_owned())
    } else {
        Err(invalid("email", "an e-mail address like name@example.com"))
    }
}

//! Incidents and scheduled maintenance as the status page shows them: opened and closed from
//! status changes (`source: auto`), or posted and updated by an operator through the admin API
//! (`source: operator`). The statuses are the ones Atlassian Statuspage, Instatus and OpenStatus
//! use: investigating, identified, monitoring, resolved.

use serde::{Deserialize, Serialize};

use super::Status;

mod auto;
mod validate;

pub use auto::{apply_alert, auto_id, concerns_incidents, is_bad, settle, trim_updates};
pub use validate::{subscriber_email, IncidentDraft, IncidentError, IncidentPatch, UpdateDraft};

/// Where an incident is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    /// The problem is known, its cause not yet.
    Investigating,
    /// The cause is known; a fix is under way.
    Identified,
    /// A fix is in; the operator watches that it holds.
    Monitoring,
    /// Over. A resolved incident takes no more status changes from probes.
    Resolved,
    /// A maintenance window not yet begun (`kind: maintenance` only).
    Scheduled,
    /// A maintenance window in progress (`kind: maintenance` only).
    InProgress,
    /// A maintenance window that ended (`kind: maintenance` only).
    Completed,
}

impl IncidentStatus {
    /// The status's name as written in the API (`investigating`, ..., `in_progress`).
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Investigating => "investigating",
            IncidentStatus::Identified => "identified",
            IncidentStatus::Monitoring => "monitoring",
            IncidentStatus::Resolved => "resolved",
            IncidentStatus::Scheduled => "scheduled",
            IncidentStatus::InProgress => "in_progress",
            IncidentStatus::Completed => "completed",
        }
    }

    /// Whether the incident or maintenance is over (`resolved`, `completed`).
    pub fn is_closed(self) -> bool {
        matches!(self, IncidentStatus::Resolved | IncidentStatus::Completed)
    }
}

/// An incident, or a maintenance window announced ahead of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    /// Something is broken.
    #[default]
    Incident,
    /// Planned work, with a window (`starts_at`, `ends_at`).
    Maintenance,
}

/// Who opened an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum IncidentSource {
    /// Opened and closed from targets' status changes by the probe runs' alerts.
    Auto,
    /// Posted and updated by an operator through `POST/PATCH /v1/incidents`.
    #[default]
    Operator,
}

/// One entry of an incident's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentUpdate {
    /// When, epoch ms.
    pub at: i64,
    /// The incident's status from this update on.
    pub status: IncidentStatus,
    /// What the operator wrote (plain text, at most [`MAX_BODY_CHARS`] characters). Empty for
    /// an update made from status changes: the page words it from `changes`.
    #[serde(default)]
    pub body: String,
    /// For an update made from an alert: the targets whose status changed, with the status
    /// they changed to, so that the page can say it in the reader's language.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<AffectedTarget>,
    /// The key of the alert this update was made from (makes applying an alert twice a no-op).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_key: Option<String>,
}

/// A target an incident affects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffectedTarget {
    /// The target's id.
    pub id: String,
    /// The target's name when the incident was written (the page prefers the current one).
    #[serde(default)]
    pub name: String,
    /// Its status as the incident last saw it (`down`, `blocked`, ... `healthy` once back).
    pub status: Status,
}

/// An incident or a maintenance window, with its timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// `auto-<first target id>-<opened at ms>` for one opened from status changes; a random
    /// `inc-<hex>` for one posted by an operator.
    pub id: String,
    #[serde(default)]
    pub kind: IncidentKind,
    #[serde(default)]
    pub source: IncidentSource,
    /// The operator's title (at most [`MAX_TITLE_CHARS`] characters). Empty for an incident
    /// opened from status changes: the page titles it from its targets in the reader's language.
    #[serde(default)]
    pub title: String,
    /// The current status (the newest update's).
    pub status: IncidentStatus,
    /// The targets it affects, in the order they were named.
    #[serde(default)]
    pub targets: Vec<AffectedTarget>,
    /// How many more targets a storm took down than `targets` names (it is cut at
    /// [`MAX_AFFECTED`]); 0 otherwise.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub more_targets: u32,
    /// When it was opened (or the maintenance announced), epoch ms.
    pub opened_at: i64,
    /// When it was resolved (or the maintenance completed), epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<i64>,
    /// A maintenance window's start, epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<i64>,
    /// A maintenance window's end, epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<i64>,
    /// The timeline, oldest first. An auto incident keeps the newest [`MAX_AUTO_UPDATES`] (and
    /// at most [`MAX_AUTO_CHANGES`] target changes among them); the older are dropped and
    /// counted in `dropped_updates`.
    #[serde(default)]
    pub updates: Vec<IncidentUpdate>,
    /// How many older updates were dropped from `updates` to keep the item small (the page may
    /// say "N earlier updates"); 0 when none were.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dropped_updates: u32,
    /// The postmortem (plain text, at most [`MAX_POSTMORTEM_CHARS`] characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postmortem: Option<String>,
    /// Bumped by every write; writes are conditional on it (1 for the first).
    #[serde(default)]
    pub version: u64,
}

impl Incident {
    /// Whether it was open at some time from `since_ms` to `until_ms` (epoch ms): opened (or
    /// its window starting) before `until_ms`, and not closed (resolved, or its window ended)
    /// before `since_ms`. A maintenance window announced ahead counts from its announcement.
    pub fn open_between(&self, since_ms: i64, until_ms: i64) -> bool {
        let opened = self
            .starts_at
            .map_or(self.opened_at, |s| s.min(self.opened_at));
        let closed = match (self.ends_at, self.resolved_at) {
            (Some(end), Some(r)) => end.min(r),
            (Some(end), None) => end,
            (None, Some(r)) => r,
            (None, None) => i64::MAX,
        };
        opened < until_ms && closed >= since_ms
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Newest `opened_at` first, then by id: the order the incident listings answer in.
pub fn newest_first(list: &mut [Incident]) {
    list.sort_by(|a, b| b.opened_at.cmp(&a.opened_at).then(a.id.cmp(&b.id)));
}

/// Longest title, characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest update body, characters.
pub const MAX_BODY_CHARS: usize = 5_000;
/// Longest postmortem, characters.
pub const MAX_POSTMORTEM_CHARS: usize = 50_000;
/// Most targets one incident names (a storm of more is cut here, the rest counted).
pub const MAX_AFFECTED: usize = 500;
/// Most updates an auto incident keeps (the newest); a flapping target would otherwise grow
/// the item towards DynamoDB's 400 KB item limit.
pub const MAX_AUTO_UPDATES: usize = 50;
/// Most target changes the kept updates of an auto incident hold in all (the newest update is
/// always kept; it holds at most [`MAX_AFFECTED`]).
pub const MAX_AUTO_CHANGES: usize = 1_000;
/// How long incidents are kept, days (the page's 90-day bars show them).
pub const INCIDENT_TTL_DAYS: u32 = 400;

#[cfg(test)]
mod settle_tests;
#[cfg(test)]
mod tests;

//! Alerts raised by the state machine, with a stable deduplication key.

use serde::{Deserialize, Serialize};

use super::state::Status;
use super::target::TargetKind;

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A target's status changed for the worse or sideways.
    StatusChange,
    /// A target left `down` or `blocked` for `healthy` or `degraded`.
    Recovery,
    /// No target of a group or pool is eligible any more (none `healthy` or `degraded`).
    GroupCritical,
    /// A group or pool that was critical has an eligible target again.
    GroupRecovered,
    /// A target is still `down`, `reminder_every_min` after the last alert about it.
    Reminder,
    /// A server's certificate expires within `cert_expiry_warn_days`.
    CertExpiring,
    /// A proxy's traffic today went over its `traffic_alert_gb`.
    Traffic,
    /// More than the storm threshold of targets changed status in one run: one alert lists them.
    Storm,
    /// The daily report: counts by status, traffic and cost of the day, best and worst target.
    DailyReport,
    /// A probe location has not reported for longer than its grace period (its dead man's
    /// switch): it is left out of every quorum until it reports again. `group` is the location.
    LocationSilent,
    /// A location that was declared silent reports again. `group` is the location.
    LocationBack,
    /// A target started flapping (its checks change state too often; see
    /// `domain::state::flap`): its status is held and no alert is sent per change.
    Flapping,
    /// A flapping target stopped flapping: each change alerts again.
    FlappingStopped,
    /// An SLO's error budget burns too fast: its `page` alert (critical: `page_1h` or
    /// `page_6h`) or its `ticket` alert (warning: `ticket_3d`) started firing (see
    /// `domain::slo::burn`). `target_name` is the SLO's name, `slo` says which rules and how fast.
    SloBurn,
    /// An SLO's `page` or `ticket` alert stopped firing: none of its rules fires any more.
    SloBurnResolved,
}

impl AlertKind {
    /// Every kind, in declaration order.
    pub const ALL: [AlertKind; 15] = [
        AlertKind::StatusChange,
        AlertKind::Recovery,
        AlertKind::GroupCritical,
        AlertKind::GroupRecovered,
        AlertKind::Reminder,
        AlertKind::CertExpiring,
        AlertKind::Traffic,
        AlertKind::Storm,
        AlertKind::DailyReport,
        AlertKind::LocationSilent,
        AlertKind::LocationBack,
        AlertKind::Flapping,
        AlertKind::FlappingStopped,
        AlertKind::SloBurn,
        AlertKind::SloBurnResolved,
    ];

    /// Whether the alert is about a probe location rather than a target
    /// (`location_silent`, `location_back`): its `group` is the location's name.
    pub fn is_location(self) -> bool {
        matches!(self, AlertKind::LocationSilent | AlertKind::LocationBack)
    }

    /// Whether the alert is about an SLO (`slo_burn`, `slo_burn_resolved`): its `slo` says
    /// which, `target_name` is the SLO's name and `target_id` is empty.
    pub fn is_slo(self) -> bool {
        matches!(self, AlertKind::SloBurn | AlertKind::SloBurnResolved)
    }

    /// The snake_case name used in message attributes.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::StatusChange => "status_change",
            AlertKind::Recovery => "recovery",
            AlertKind::GroupCritical => "group_critical",
            AlertKind::GroupRecovered => "group_recovered",
            AlertKind::Reminder => "reminder",
            AlertKind::CertExpiring => "cert_expiring",
            AlertKind::Traffic => "traffic",
            AlertKind::Storm => "storm",
            AlertKind::DailyReport => "daily_report",
            AlertKind::LocationSilent => "location_silent",
            AlertKind::LocationBack => "location_back",
            AlertKind::Flapping => "flapping",
            AlertKind::FlappingStopped => "flapping_stopped",
            AlertKind::SloBurn => "slo_burn",
            AlertKind::SloBurnResolved => "slo_burn_resolved",
        }
    }
}

/// How urgent an alert is; subscribers filter on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// For the record.
    Info,
    /// Needs a look.
    Warning,
    /// Needs action now.
    Critical,
}

impl Severity {
    /// `info`, `warning` or `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// An alert: the SNS message body is this struct as JSON. Alerts about a group, a storm or the
/// daily report have an empty `target_id` and list what they cover in `targets`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Deduplication key, the same for the same event however often it is computed:
    /// `<target id>#<new status>#<status_since ms>`.
    pub key: String,
    /// What it is about.
    pub kind: AlertKind,
    /// How urgent.
    pub severity: Severity,
    /// The target's id.
    pub target_id: String,
    /// The target's name.
    pub target_name: String,
    /// `server` or `proxy`.
    pub target_kind: TargetKind,
    /// The target's group or pool.
    pub group: String,
    /// Status before.
    pub old_status: Status,
    /// Status after.
    pub new_status: Status,
    /// When it happened, epoch ms.
    pub at: i64,
    /// One short line for e-mail subjects (at most 100 characters, the SNS limit).
    pub subject: String,
    /// Human text with the reason, redacted.
    pub text: String,
    /// The targets a grouped alert covers (storm, group critical), by id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// What a storm alert replaced: one entry per transition and group alert it groups (empty
    /// for every other alert). Incident channels (PagerDuty, Opsgenie) open and close one
    /// incident per entry, so a storm's incidents close when their targets recover.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    /// The target's tags (empty for grouped alerts): notification routes select by them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// For a target probed from several locations, which saw it failing and which did not
    /// (status changes and recoveries decided by the quorum); `None` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locations: Option<super::location::LocationSplit>,
    /// For an SLO's burn-rate alert (`slo_burn`, `slo_burn_resolved`), which SLO, which of its
    /// alerts and how fast its budget burns; `None` otherwise (and in alerts written before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<super::slo::SloAlert>,
}

/// One alert a storm replaced, in brief.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// `status_change`, `recovery`, `group_critical` or `group_recovered`.
    pub kind: AlertKind,
    /// The target's id; empty for a group alert.
    pub target_id: String,
    /// The target's name, or the group alert's name.
    pub target_name: String,
    /// The group or pool.
    pub group: String,
    /// Status before.
    pub old_status: Status,
    /// Status after.
    pub new_status: Status,
}

impl Change {
    /// The brief of `alert`.
    pub fn of(alert: &Alert) -> Change {
        Change {
            kind: alert.kind,
            target_id: alert.target_id.clone(),
            target_name: alert.target_name.clone(),
            group: alert.group.clone(),
            old_status: alert.old_status,
            new_status: alert.new_status,
        }
    }
}

impl Alert {
    /// Whether this alert reports a status transition of one target (what a storm groups).
    pub fn is_transition(&self) -> bool {
        matches!(self.kind, AlertKind::StatusChange | AlertKind::Recovery)
    }
}

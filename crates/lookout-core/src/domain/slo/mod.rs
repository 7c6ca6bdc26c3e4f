//! Service level objectives (SLOs) and their error budgets, with multiwindow, multi-burn-rate
//! alerts as the Google SRE Workbook recommends (chapter 5, "Alerting on SLOs").
//!
//! An SLO picks targets (one target, a group or a tag), counts their checks as good or bad
//! events (the SLI), and sets an objective over a window:
//! ```json
//! {"id": "checkout", "name": "Checkout API", "group": "checkout",
//!  "objective": 99.9, "window": "30d", "sli": {"type": "availability"}}
//! {"id": "api-fast", "name": "API under 300 ms", "target": "api-1",
//!  "objective": 99, "window": "calendar_month", "sli": {"type": "latency", "threshold_ms": 300}}
//! ```
//! - [`series`]: the SLI's good and valid checks in minute and hour buckets ([`SloSeries`]),
//!   what the probe run adds to and everything else reads.
//! - [`budget`]: the SLI over the window, the error budget, burn rates, the exhaustion date
//!   ([`SloStatus`]).
//! - [`burn`]: the three burn-rate rules ([`RULES`]) and their firing state
//!   ([`SloAlertState`]): one `page` and one `ticket` alert per SLO.
//! - [`alerts`]: the `slo_burn` and `slo_burn_resolved` alerts they raise ([`slo_alerts`]).

use serde::{Deserialize, Serialize};

use super::result::CheckResult;
use super::target::Target;

pub mod alerts;
pub mod budget;
pub mod burn;
pub mod series;
pub mod validate;

pub use alerts::{silenced, slo_alerts, AlertContext, SloAlert};
pub use budget::{status, BudgetFigures, SloStatus};
pub use burn::{evaluate, BurnRule, Firing, RuleVerdict, SloAlertState, SloEvent, ALERTS, RULES};
pub use series::{SliCounts, SloSeries};
pub use validate::{SloDraft, SloError, SloPatch};

/// Which targets an SLO counts. In JSON one of `"target"`, `"group"` or `"tag"` at the top
/// level of the SLO.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SloSelector {
    /// One target, by id.
    Target(String),
    /// Every target of a group or proxy pool, by name.
    Group(String),
    /// Every target carrying a tag.
    Tag(String),
}

impl SloSelector {
    /// Whether `target` is one this selector counts.
    pub fn selects(&self, target: &Target) -> bool {
        match self {
            SloSelector::Target(id) => target.id == *id,
            SloSelector::Group(g) => target.group == *g,
            SloSelector::Tag(t) => target.tags.iter().any(|x| x == t),
        }
    }

    /// `target`, `group` or `tag`.
    pub fn field(&self) -> &'static str {
        match self {
            SloSelector::Target(_) => "target",
            SloSelector::Group(_) => "group",
            SloSelector::Tag(_) => "tag",
        }
    }

    /// The id, group or tag it names.
    pub fn value(&self) -> &str {
        match self {
            SloSelector::Target(v) | SloSelector::Group(v) | SloSelector::Tag(v) => v,
        }
    }
}

/// The compliance window an SLO is measured over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SloWindow {
    /// The last 28 days, rolling.
    #[serde(rename = "28d")]
    Rolling28d,
    /// The last 30 days, rolling.
    #[serde(rename = "30d")]
    Rolling30d,
    /// The calendar month so far (UTC); the budget starts afresh on the 1st.
    #[serde(rename = "calendar_month")]
    CalendarMonth,
}

impl SloWindow {
    /// `28d`, `30d` or `calendar_month`.
    pub fn as_str(self) -> &'static str {
        match self {
            SloWindow::Rolling28d => "28d",
            SloWindow::Rolling30d => "30d",
            SloWindow::CalendarMonth => "calendar_month",
        }
    }

    /// The window at `now_ms` (epoch ms): `(start, end)`, epoch ms, `end` exclusive. A rolling
    /// window ends at `now_ms`; a calendar month runs from its first day 00:00 UTC to the next
    /// month's (its full length: the budget in minutes is the whole month's).
    pub fn bounds(self, now_ms: i64) -> (i64, i64) {
        use crate::time::DAY_MS;
        match self {
            SloWindow::Rolling28d => (now_ms - 28 * DAY_MS, now_ms),
            SloWindow::Rolling30d => (now_ms - 30 * DAY_MS, now_ms),
            SloWindow::CalendarMonth => month_bounds(now_ms),
        }
    }

    /// The window's whole length, ms (a calendar month: the length of the month holding `now_ms`).
    pub fn length_ms(self, now_ms: i64) -> i64 {
        let (start, end) = self.bounds(now_ms);
        end - start
    }
}

/// The UTC calendar month holding `at_ms`: its first instant and the next month's, epoch ms.
pub fn month_bounds(at_ms: i64) -> (i64, i64) {
    let ts = jiff::Timestamp::from_millisecond(at_ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let date = ts.to_zoned(jiff::tz::TimeZone::UTC).date();
    let first = date.first_of_month();
    let next = first
        .checked_add(jiff::Span::new().months(1))
        .unwrap_or(first);
    let ms = |d: jiff::civil::Date| {
        d.to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp().as_millisecond())
            .unwrap_or(0)
    };
    (ms(first), ms(next))
}

/// What counts as a good event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Sli {
    /// Successful checks / checks.
    Availability,
    /// Successful checks answered within `threshold_ms` / successful checks. A failed check is
    /// not a valid event of this SLI (pair it with an availability SLO).
    Latency {
        /// The latency a good check stays within (inclusive), ms.
        threshold_ms: u64,
    },
}

impl Sli {
    /// `availability` or `latency`.
    pub fn as_str(self) -> &'static str {
        match self {
            Sli::Availability => "availability",
            Sli::Latency { .. } => "latency",
        }
    }
}

/// How one check counts in an SLO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SliEvent {
    /// A valid event that met the objective.
    Good,
    /// A valid event that did not.
    Bad,
    /// Left out: inside a maintenance window of the target, with `exclude_maintenance`.
    Excluded,
    /// Not an event of this SLI (a failed check for a latency SLI).
    NotValid,
}

/// Most SLOs one installation keeps.
pub const MAX_SLOS: usize = 500;

/// An objective as a percentage must lie in this open-closed range: `(0, MAX_OBJECTIVE]`.
pub const MAX_OBJECTIVE: f64 = 99.999;

/// A service level objective. Stored as `SLO` / `<id>` (the definition) with its
/// [`SloRecord`](crate::domain::slo) series and firing state beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slo {
    /// Stable id: 1 to 64 characters of `a-z`, `0-9`, `-`, `_`, `.`.
    pub id: String,
    /// Human name (1 to 200 characters), shown on the status page and in alerts.
    pub name: String,
    /// Optional words for people (at most 1,000 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Which targets it counts.
    #[serde(flatten)]
    pub selector: SloSelector,
    /// The objective, percent of good events (for example 99.9), above 0 and at most
    /// [`MAX_OBJECTIVE`].
    pub objective: f64,
    /// The compliance window.
    pub window: SloWindow,
    /// What a good event is.
    pub sli: Sli,
    /// Checks made inside a maintenance window of their target are left out of the SLI
    /// (default true).
    #[serde(default = "yes")]
    pub exclude_maintenance: bool,
    /// Whether the burn-rate alerts are raised (default true).
    #[serde(default = "yes")]
    pub alerts: bool,
    /// Written with every change, 1 for the first version; writes are conditional on it.
    #[serde(default)]
    pub version: u64,
    /// When it was created, epoch ms.
    #[serde(default)]
    pub created_at: i64,
    /// When it last changed, epoch ms.
    #[serde(default)]
    pub updated_at: i64,
}

fn yes() -> bool {
    true
}

impl Slo {
    /// Whether it counts `target`'s checks.
    pub fn selects(&self, target: &Target) -> bool {
        self.selector.selects(target)
    }

    /// The error budget as a fraction of events: `1 - objective / 100` (0.001 for 99.9 %).
    pub fn budget_fraction(&self) -> f64 {
        1.0 - self.objective / 100.0
    }

    /// How `result`, a check of `target` (one this SLO selects), counts.
    pub fn event(&self, target: &Target, result: &CheckResult) -> SliEvent {
        if self.exclude_maintenance && target.maintenance_at(result.at).is_some() {
            return SliEvent::Excluded;
        }
        match self.sli {
            Sli::Availability if result.ok() => SliEvent::Good,
            Sli::Availability => SliEvent::Bad,
            Sli::Latency { .. } if !result.ok() => SliEvent::NotValid,
            Sli::Latency { threshold_ms } if result.latency_ms <= threshold_ms => SliEvent::Good,
            Sli::Latency { .. } => SliEvent::Bad,
        }
    }
}

/// What is kept per SLO beside its definition: the SLI's buckets and which burn-rate rules
/// are firing. Written on the condition of `version` (one writer wins each round), with the
/// alerts it raises in the same write, so each rule fires and resolves once.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SloRecord {
    /// The SLO's id.
    pub slo_id: String,
    /// 1 for the first write; each write is conditional on the stored one being `version - 1`.
    #[serde(default)]
    pub version: u64,
    /// Good and valid events in minute and hour buckets.
    #[serde(default)]
    pub series: SloSeries,
    /// The rules firing now.
    #[serde(default)]
    pub alerts: SloAlertState,
    /// The latest time the alerts were stepped at, epoch ms: a writer whose round started
    /// earlier (another shard, another kind) steps at this time rather than its own, so an
    /// alert never resolves before it fired and steps never go back in time.
    #[serde(default)]
    pub evaluated_at: i64,
}

impl SloRecord {
    /// The time to step the alerts at for a round at `run_at` (epoch ms): the later of the two.
    pub fn step_time(&self, run_at: i64) -> i64 {
        run_at.max(self.evaluated_at)
    }
}

impl SloRecord {
    /// An empty record of `slo_id` (version 0: not yet stored).
    pub fn new(slo_id: &str) -> SloRecord {
        SloRecord {
            slo_id: slo_id.to_string(),
            ..SloRecord::default()
        }
    }
}

#[cfg(test)]
mod tests;

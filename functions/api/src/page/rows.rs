//! The page's rows and groups, in the reader's language or none: one row per enabled target
//! (status, name, the 90-day uptime bar, the 30-day uptime), the groups ordered problems first,
//! and the totals at the top. The HTML view and the JSON version both read this model.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use askama::filters::Escaper as _;
use lookout_app::ports::{Latest, TargetUptime};
use lookout_core::digest::rollup::{DayCell, BAR_DAYS};
use lookout_core::domain::failover::choose_all;
use lookout_core::domain::location::LocationVerdict;
use lookout_core::domain::state::DAY_MS;
use lookout_core::domain::{Status, Target, TargetKind, TargetState};

use super::labels::{self, Labels};
use super::HtmlEntities;

/// The 30-day window the row's end shows, ms.
pub const WINDOW_30D_MS: i64 = 30 * DAY_MS;

/// Where a row sorts: problems first (down or blocked, degraded, not yet checked, in
/// maintenance, operational).
pub fn rank(status: Status, in_maintenance: bool) -> u8 {
    match (status, in_maintenance) {
        (_, true) => 3,
        (Status::Down | Status::Blocked, _) => 0,
        (Status::Degraded, _) => 1,
        (Status::Unknown, _) => 2,
        (Status::Healthy, _) => 4,
    }
}

/// A row's summary state, for the totals and the JSON (`operational`, `degraded`, `down`,
/// `maintenance`, `unknown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// Healthy, outside maintenance.
    Operational,
    /// Degraded, outside maintenance.
    Degraded,
    /// Down or blocked, outside maintenance.
    Down,
    /// In a maintenance window now.
    Maintenance,
    /// Not yet checked.
    Unknown,
}

impl Shown {
    /// The name in the JSON version.
    pub fn as_str(self) -> &'static str {
        match self {
            Shown::Operational => "operational",
            Shown::Degraded => "degraded",
            Shown::Down => "down",
            Shown::Maintenance => "maintenance",
            Shown::Unknown => "unknown",
        }
    }

    fn of(status: Status, in_maintenance: bool) -> Self {
        match (status, in_maintenance) {
            (_, true) => Shown::Maintenance,
            (Status::Healthy, _) => Shown::Operational,
            (Status::Degraded, _) => Shown::Degraded,
            (Status::Down | Status::Blocked, _) => Shown::Down,
            (Status::Unknown, _) => Shown::Unknown,
        }
    }
}

/// One target's row, in no language.
#[derive(Debug, Clone)]
pub struct RowData {
    /// The target's id.
    pub id: String,
    /// The target's name (a group's: its name).
    pub name: String,
    /// The target's status.
    pub status: Status,
    /// The reason of the maintenance window in force (empty without one), if any.
    pub maintenance: Option<String>,
    /// What the row shows (totals, JSON).
    pub shown: Shown,
    /// Uptime over the last 30 days in percent; `None` when the window has no checks.
    pub uptime_30d: Option<f64>,
    /// The start (epoch ms) of the first day with checks when the target is younger than the
    /// 30-day window: the value covers only the time since.
    pub young_since: Option<i64>,
    /// The latest check's latency (ms) when it answered; `None` for a target that never did.
    pub latency_ms: Option<u64>,
    /// [`BAR_DAYS`] days, oldest first, the last today (UTC days): the day's counts, `None`
    /// where no rollup has checks.
    pub days: Vec<(i64, Option<DayCell>)>,
    /// Each location's verdict (targets probed from several locations).
    pub locations: Vec<LocationVerdict>,
}

/// A group or pool, its rows problems first.
#[derive(Debug, Clone)]
pub struct GroupData {
    /// Servers or a proxy pool.
    pub kind: TargetKind,
    /// The target's name (a group's: its name).
    pub name: String,
    /// The active target's name in a group of several, `Some(None)` when none is usable.
    pub active: Option<Option<String>>,
    /// Problems first, then by name.
    pub rows: Vec<RowData>,
}

impl GroupData {
    /// The group's rank: its worst row's.
    pub fn rank(&self) -> u8 {
        self.rows
            .iter()
            .map(|r| rank(r.status, r.maintenance.is_some()))
            .min()
            .unwrap_or(4)
    }

    /// Whether a row is down, blocked or degraded (outside maintenance).
    pub fn has_problem(&self) -> bool {
        self.rank() <= 1
    }
}

/// Counts of the rows by what they show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Totals {
    /// Healthy, outside maintenance.
    pub operational: usize,
    /// Degraded.
    pub degraded: usize,
    /// Down or blocked.
    pub down: usize,
    /// In a maintenance window now.
    pub maintenance: usize,
    /// Not yet checked.
    pub unknown: usize,
}

impl Totals {
    fn add(&mut self, s: Shown) {
        *match s {
            Shown::Operational => &mut self.operational,
            Shown::Degraded => &mut self.degraded,
            Shown::Down => &mut self.down,
            Shown::Maintenance => &mut self.maintenance,
            Shown::Unknown => &mut self.unknown,
        } += 1;
    }

    /// The page's overall state: `down` when a row is, else `degraded`, else `operational`.
    pub fn overall(&self) -> Shown {
        if self.down > 0 {
            Shown::Down
        } else if self.degraded > 0 {
            Shown::Degraded
        } else {
            Shown::Operational
        }
    }
}

/// What the rows are made of.
pub struct Inputs<'a> {
    /// Now, epoch ms.
    pub now: i64,
    /// Every definition.
    pub targets: &'a [Target],
    /// The latest entry of each checked target.
    pub latest: &'a HashMap<String, Latest>,
    /// The state of every target.
    pub states: &'a HashMap<String, TargetState>,
    /// The digest's uptime table, by target id.
    pub uptime: &'a HashMap<String, TargetUptime>,
    /// Each location's verdict by target.
    pub verdicts: &'a HashMap<String, Vec<LocationVerdict>>,
    /// The groups a page shows, in its order; empty: every group.
    pub only: &'a [String],
}

/// The start (UTC midnight, epoch ms) of the day of `now`.
pub fn day_start(now: i64) -> i64 {
    now - now.rem_euclid(DAY_MS)
}

/// The groups (problems first, then in the page's order or by name) and the totals.
pub fn build(x: &Inputs<'_>) -> (Vec<GroupData>, Totals) {
    let choices = choose_all(x.targets, x.states);
    let mut by_group: BTreeMap<(TargetKind, &str), Vec<&Target>> = BTreeMap::new();
    for t in x.targets.iter().filter(|t| t.enabled) {
        if x.only.is_empty() || x.only.iter().any(|g| g == &t.group) {
            by_group
                .entry((t.kind(), t.group.as_str()))
                .or_default()
                .push(t);
        }
    }
    let mut totals = Totals::default();
    let mut groups: Vec<GroupData> = by_group
        .into_iter()
        .map(|((kind, group), members)| {
            let active = (members.len() > 1).then(|| {
                choices
                    .iter()
                    .find(|c| c.kind == kind && c.group == group)
                    .and_then(|c| c.active.as_deref())
                    .and_then(|id| members.iter().find(|t| t.id == id))
                    .map(|t| t.name.clone())
            });
            let mut rows: Vec<RowData> = members.iter().map(|t| row(x, t)).collect();
            rows.sort_by(|a, b| {
                rank(a.status, a.maintenance.is_some())
                    .cmp(&rank(b.status, b.maintenance.is_some()))
                    .then_with(|| a.name.cmp(&b.name))
                    .then_with(|| a.id.cmp(&b.id))
            });
            for r in &rows {
                totals.add(r.shown);
            }
            GroupData {
                kind,
                name: group.to_string(),
                active,
                rows,
            }
        })
        .collect();
    let order = |g: &GroupData| {
        x.only
            .iter()
            .position(|o| o == &g.name)
            .unwrap_or(usize::MAX)
    };
    groups.sort_by(|a, b| {
        a.rank()
            .cmp(&b.rank())
            .then_with(|| order(a).cmp(&order(b)))
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.kind.cmp(&b.kind))
    });
    (groups, totals)
}

fn row(x: &Inputs<'_>, t: &Target) -> RowData {
    let status = x.states.get(&t.id).map_or(Status::Unknown, |s| s.status);
    let maintenance = t
        .maintenance_at(x.now)
        .map(|w| w.reason.clone().unwrap_or_default());
    let table = x.uptime.get(&t.id);
    let window = table.and_then(|u| u.windows.iter().find(|w| w.window == "30d"));
    let uptime_30d = window
        .filter(|w| w.checks > 0)
        .and_then(|w| w.uptime_percent);
    let first_day = table
        .and_then(|u| u.days.iter().find(|d| d.checks > 0))
        .map(|d| d.start);
    let young_since = first_day.filter(|s| *s > x.now - WINDOW_30D_MS);
    let today = day_start(x.now);
    let by_start: HashMap<i64, DayCell> = table
        .map(|u| u.days.iter().map(|d| (d.start, *d)).collect())
        .unwrap_or_default();
    let days = (0..BAR_DAYS as i64)
        .rev()
        .map(|back| {
            let start = today - back * DAY_MS;
            (
                start,
                by_start.get(&start).copied().filter(|d| d.checks > 0),
            )
        })
        .collect();
    RowData {
        id: t.id.clone(),
        name: t.name.clone(),
        status,
        shown: Shown::of(status, maintenance.is_some()),
        maintenance,
        uptime_30d,
        young_since,
        latency_ms: x
            .latest
            .get(&t.id)
            .and_then(|l| l.result.as_ref())
            .filter(|r| r.ok())
            .map(|r| r.latency_ms),
        days,
        locations: x.verdicts.get(&t.id).cloned().unwrap_or_default(),
    }
}

/// A day's uptime in percent, `None` without checks.
pub fn day_uptime(d: &DayCell) -> Option<f64> {
    (d.checks > 0).then(|| 100.0 * (d.checks - d.failures.min(d.checks)) as f64 / d.checks as f64)
}

/// The colour class of a day: `g` at least 99.9 %, `l` at least 99 %, `a` at least 95 %, `r`
/// below, none (grey) without checks.
pub fn cell_class(uptime: Option<f64>) -> &'static str {
    match uptime {
        None => "",
        Some(u) if u >= 99.9 => "g",
        Some(u) if u >= 99.0 => "l",
        Some(u) if u >= 95.0 => "a",
        Some(_) => "r",
    }
}

/// The uptime bar's markup: the days oldest first as `<i>` cells of a 90-column grid (see
/// `page.css`), each cell's class its colour. A day that is not perfect (below 100 % or with
/// incidents) is a cell of its own with a `title`: its date in `tz`, uptime and incidents
/// count. Consecutive days of the same colour and no title are one cell spanning them
/// (`style="grid-column:span N"`), so that a quiet target's bar is a few bytes; the bar's mask
/// draws the gaps between days all the same. Only our own words, numbers and dates go in,
/// escaped all the same. `incidents(start)` counts the target's incidents open during the day
/// starting at `start`.
pub fn bar(
    l: &Labels,
    tz: &jiff::tz::TimeZone,
    days: &[(i64, Option<DayCell>)],
    incidents: impl Fn(i64) -> usize,
) -> String {
    let mut out = String::with_capacity(64);
    // The run of plain cells not yet written: its class and length.
    let mut run: Option<(&'static str, usize)> = None;
    let flush = |out: &mut String, run: &mut Option<(&'static str, usize)>| {
        if let Some((class, n)) = run.take() {
            cell(out, class, n, None);
        }
    };
    for (start, day) in days {
        let uptime = day.as_ref().and_then(day_uptime);
        let count = incidents(*start);
        let class = cell_class(uptime);
        if count > 0 || uptime.is_some_and(|u| u < 100.0) {
            flush(&mut out, &mut run);
            // The day's middle, so a zone a few hours off UTC names the same calendar day.
            let title = format!(
                "{} · {} {} · {} {}",
                labels::date(l, tz, start + DAY_MS / 2),
                l.uptime,
                uptime.map_or_else(|| l.no_data.to_string(), |u| format!("{u:.2}%")),
                l.digits(&count.to_string()),
                l.incidents_word
            );
            cell(&mut out, class, 1, Some(&title));
            continue;
        }
        match &mut run {
            Some((c, n)) if *c == class => *n += 1,
            _ => {
                flush(&mut out, &mut run);
                run = Some((class, 1));
            }
        }
    }
    flush(&mut out, &mut run);
    out
}

/// One cell of the bar: `class` (empty: grey), spanning `days`, with `title` if any.
fn cell(out: &mut String, class: &str, days: usize, title: Option<&str>) {
    out.push_str("<i");
    if !class.is_empty() {
        let _ = write!(out, " class={class}");
    }
    if days > 1 {
        let _ = write!(out, " style=\"grid-column:span {days}\"");
    }
    if let Some(title) = title {
        out.push_str(" title=\"");
        let _ = HtmlEntities.write_escaped_str(&mut *out, title);
        out.push('"');
    }
    out.push_str("></i>");
}

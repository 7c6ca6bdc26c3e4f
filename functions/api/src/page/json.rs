//! The JSON version of a page, for embedding (`GET /status.json`, `GET /p/{slug}/status.json`;
//! `Access-Control-Allow-Origin: *`): the page's words, the overall state, the totals, the
//! groups with their rows (each with its 90-day bar), the open incidents, the maintenance
//! announced and the service level objectives the page names. Times are RFC 3339 (UTC); a day is its UTC date `YYYY-MM-DD`. An incident's
//! `title` is the operator's, or the one the page makes from its targets in `?lang`'s words.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use utoipa::ToSchema;

use super::incidents;
use super::rows::{self, Totals};
use super::slos::SloJson;
use super::{PageData, Reader};
use lookout_core::domain::incident::Incident;

/// The JSON version of a status page.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusJson {
    pub page: PageInfo,
    /// `operational`, `degraded` (a row is) or `down` (a row is down or blocked).
    pub overall: String,
    pub totals: Totals,
    /// Problems first.
    pub groups: Vec<GroupJson>,
    /// Open incidents and maintenance in progress, newest first.
    pub incidents: Vec<IncidentJson>,
    /// Maintenance announced, not begun, soonest first.
    pub maintenance: Vec<IncidentJson>,
    /// Targets' own maintenance windows starting within 7 days, soonest first.
    pub windows: Vec<WindowJson>,
    /// The service level objectives the page names, in its order (empty when it names none).
    pub slos: Vec<SloJson>,
    /// When the answer was made, RFC 3339.
    pub updated_at: String,
}

/// A page's own words.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageInfo {
    pub slug: String,
    pub title: String,
    pub description: String,
    /// An `https://` URL, or null.
    pub logo_url: Option<String>,
    pub footer: String,
}

/// A group or pool.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupJson {
    pub name: String,
    /// `server` or `proxy`.
    pub kind: String,
    /// The active target's name in a group of several (null: one member, or none usable).
    pub active: Option<String>,
    /// Problems first.
    pub rows: Vec<RowJson>,
}

/// A target's row.
#[derive(Debug, Serialize, ToSchema)]
pub struct RowJson {
    pub id: String,
    pub name: String,
    /// The target's status: `healthy`, `degraded`, `down`, `blocked` or `unknown`.
    pub status: String,
    /// What the row shows: `operational`, `degraded`, `down`, `maintenance` or `unknown`.
    pub shown: String,
    /// Uptime over 30 days in percent; null when the window has no checks.
    pub uptime_30d: Option<f64>,
    /// The first day with checks (`YYYY-MM-DD`) when the target is younger than 30 days.
    pub since: Option<String>,
    /// The latest check's latency, ms; null when it did not answer.
    pub latency_ms: Option<u64>,
    /// The latest days (90 unless `?days` says fewer), oldest first, the last today.
    pub days: Vec<DayJson>,
}

/// One day of the uptime bar.
#[derive(Debug, Serialize, ToSchema)]
pub struct DayJson {
    /// The UTC day, `YYYY-MM-DD`.
    pub date: String,
    /// Percent, 3 decimals; null without checks.
    pub uptime_percent: Option<f64>,
    pub checks: u64,
}

/// An incident or announced maintenance.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentJson {
    pub id: String,
    /// `incident` or `maintenance`.
    pub kind: String,
    /// `investigating`, `identified`, `monitoring`, `resolved`, `scheduled`, `in_progress` or
    /// `completed`.
    pub status: String,
    pub title: String,
    pub targets: Vec<AffectedJson>,
    pub opened_at: String,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    /// Newest first.
    pub updates: Vec<UpdateJson>,
}

/// A target an incident names.
#[derive(Debug, Serialize, ToSchema)]
pub struct AffectedJson {
    pub id: String,
    pub name: String,
    pub status: String,
}

/// One update of an incident's timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct UpdateJson {
    pub at: String,
    pub status: String,
    /// The operator's text, or the changes in words.
    pub body: String,
}

/// A target's own maintenance window.
#[derive(Debug, Serialize, ToSchema)]
pub struct WindowJson {
    pub target: String,
    pub reason: String,
    pub starts_at: String,
    pub ends_at: String,
}

/// `v` to 3 decimals (a day's uptime needs no more; the answer stays small).
fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn day(ms: i64) -> String {
    lookout_core::time::rfc3339(ms).chars().take(10).collect()
}

impl PageData {
    /// The JSON version for `r` (its words in titles), with the latest `days` days of each
    /// row's bar.
    pub fn json(&self, r: &Reader, days: usize) -> StatusJson {
        let (groups, totals) = rows::build(&self.inputs());
        let shown: HashSet<&str> = groups
            .iter()
            .flat_map(|g| g.rows.iter().map(|r| r.id.as_str()))
            .collect();
        let current: HashMap<&str, &str> = self
            .targets
            .iter()
            .map(|t| (t.id.as_str(), t.name.as_str()))
            .collect();
        let split = incidents::split(&self.open, &self.recent, self.now);
        let incident = |i: &&Incident| {
            let v = incidents::view(r.l, &jiff::tz::TimeZone::UTC, i, &current);
            IncidentJson {
                id: i.id.clone(),
                kind: if v.maintenance {
                    "maintenance"
                } else {
                    "incident"
                }
                .into(),
                status: i.status.as_str().into(),
                title: v.title,
                targets: i
                    .targets
                    .iter()
                    .map(|t| AffectedJson {
                        id: t.id.clone(),
                        name: current
                            .get(t.id.as_str())
                            .map_or_else(|| t.name.clone(), |n| n.to_string()),
                        status: t.status.as_str().into(),
                    })
                    .collect(),
                opened_at: lookout_core::time::rfc3339(i.opened_at),
                starts_at: i.starts_at.map(lookout_core::time::rfc3339),
                ends_at: i.ends_at.map(lookout_core::time::rfc3339),
                updates: i
                    .updates
                    .iter()
                    .rev()
                    .zip(v.updates)
                    .map(|(u, w)| UpdateJson {
                        at: lookout_core::time::rfc3339(u.at),
                        status: u.status.as_str().into(),
                        body: w.body,
                    })
                    .collect(),
            }
        };
        let page_targets: Vec<&lookout_core::domain::Target> = self
            .targets
            .iter()
            .filter(|t| t.enabled && shown.contains(t.id.as_str()))
            .collect();
        let open_list: Vec<IncidentJson> = split
            .open
            .iter()
            .filter(|i| self.shows(i, &shown))
            .map(incident)
            .collect();
        let maintenance: Vec<IncidentJson> = split
            .upcoming
            .iter()
            .filter(|i| self.shows(i, &shown))
            .map(incident)
            .collect();
        let windows: Vec<WindowJson> =
            incidents::upcoming_windows(r.l, &r.tz, &page_targets, self.now)
                .into_iter()
                .map(|w| WindowJson {
                    target: w.target,
                    reason: w.reason,
                    starts_at: lookout_core::time::rfc3339(w.start),
                    ends_at: lookout_core::time::rfc3339(w.end),
                })
                .collect();
        StatusJson {
            page: PageInfo {
                slug: self.page.slug.clone(),
                title: if self.page.title.is_empty() {
                    r.l.title.to_string()
                } else {
                    self.page.title.clone()
                },
                description: self.page.description.clone(),
                logo_url: self
                    .page
                    .logo_url
                    .clone()
                    .filter(|u| u.starts_with("https://")),
                footer: self.page.footer.clone(),
            },
            overall: totals.overall().as_str().into(),
            totals,
            groups: groups
                .into_iter()
                .map(|g| GroupJson {
                    kind: g.kind.as_str().into(),
                    active: g.active.flatten(),
                    rows: g
                        .rows
                        .into_iter()
                        .map(|row| RowJson {
                            status: row.status.as_str().into(),
                            shown: row.shown.as_str().into(),
                            uptime_30d: row.uptime_30d,
                            since: row
                                .young_since
                                .filter(|_| row.uptime_30d.is_some())
                                .map(day),
                            latency_ms: row.latency_ms,
                            days: row.days[row.days.len().saturating_sub(days)..]
                                .iter()
                                .map(|(start, cell)| DayJson {
                                    date: day(*start),
                                    uptime_percent: cell
                                        .as_ref()
                                        .and_then(rows::day_uptime)
                                        .map(round3),
                                    checks: cell.map_or(0, |c| c.checks),
                                })
                                .collect(),
                            id: row.id,
                            name: row.name,
                        })
                        .collect(),
                    name: g.name,
                })
                .collect(),
            incidents: open_list,
            maintenance,
            windows,
            slos: self.slos.iter().map(SloJson::of).collect(),
            updated_at: lookout_core::time::rfc3339(self.now),
        }
    }
}

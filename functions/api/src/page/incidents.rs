//! Incidents and maintenance as the page shows them, in the reader's language and time zone:
//! the open ones under the banner, the maintenance announced ahead (incidents of kind
//! `maintenance` not yet begun, and targets' own maintenance windows starting within
//! [`UPCOMING_MS`]), and the incidents closed within [`PAST_MS`] at the bottom. An incident
//! opened from status changes has no title: it is titled from its targets
//! ([`Labels::auto_title`]), and its updates are worded from their `changes`.

use std::collections::HashMap;

use lookout_core::domain::incident::{Incident, IncidentKind, IncidentUpdate};
use lookout_core::domain::maintenance::MaintenanceWindow;
use lookout_core::domain::state::DAY_MS;
use lookout_core::domain::{Status, Target};

use super::labels::{self, Labels};

/// How far ahead targets' own maintenance windows are announced, ms (7 days).
pub const UPCOMING_MS: i64 = 7 * DAY_MS;
/// How far back closed incidents are listed at the bottom, ms (14 days).
pub const PAST_MS: i64 = 14 * DAY_MS;
/// Most names an incident's title and affected line spell out before `and N more`.
pub const NAMES_SHOWN: usize = 3;
/// Most names the affected line of an incident spells out.
pub const AFFECTED_SHOWN: usize = 20;

/// One update of a timeline, worded.
pub struct UpdateView {
    /// In the reader's zone and digits.
    pub at: String,
    /// RFC 3339 (the `datetime` attribute).
    pub at_iso: String,
    pub status: &'static str,
    pub body: String,
}

/// One incident or maintenance, worded.
pub struct IncidentView {
    pub id: String,
    pub maintenance: bool,
    pub title: String,
    /// The status in words and as named in the API (`investigating`, ...; a CSS class).
    pub status: &'static str,
    pub status_key: &'static str,
    /// The affected targets' names as a list (empty when none).
    pub affected: String,
    /// A maintenance window, `from ... to ...` in the reader's zone.
    pub window: Option<String>,
    /// Newest first.
    pub updates: Vec<UpdateView>,
    pub postmortem: Option<String>,
}

/// A target's own maintenance window starting within [`UPCOMING_MS`].
pub struct WindowView {
    pub target: String,
    pub reason: String,
    /// `from ... to ...` in the reader's zone.
    pub window: String,
    /// Epoch ms (for the JSON version).
    pub start: i64,
    pub end: i64,
}

/// The incidents split the way the page shows them.
pub struct Split<'a> {
    /// Open incidents and maintenance in progress, newest first.
    pub open: Vec<&'a Incident>,
    /// Maintenance announced, not begun, soonest first.
    pub upcoming: Vec<&'a Incident>,
    /// Closed within [`PAST_MS`], newest first.
    pub past: Vec<&'a Incident>,
}

/// Splits `open` (every incident not resolved) and `recent` (those open at some time over the
/// bar's 90 days) into what the page shows, at `now`. An incident in both is taken once.
pub fn split<'a>(open: &'a [Incident], recent: &'a [Incident], now: i64) -> Split<'a> {
    let mut seen = std::collections::HashSet::new();
    let mut all: Vec<&Incident> = open
        .iter()
        .chain(recent)
        .filter(|i| seen.insert(i.id.as_str()))
        .collect();
    all.sort_by(|a, b| b.opened_at.cmp(&a.opened_at).then(a.id.cmp(&b.id)));
    let not_begun = |i: &Incident| {
        i.kind == IncidentKind::Maintenance
            && !i.status.is_closed()
            && i.starts_at.is_some_and(|s| s > now)
    };
    let mut upcoming: Vec<&Incident> = all.iter().copied().filter(|i| not_begun(i)).collect();
    upcoming.sort_by_key(|i| i.starts_at);
    Split {
        open: all
            .iter()
            .copied()
            .filter(|i| !i.status.is_closed() && !not_begun(i))
            .filter(|i| i.ends_at.is_none_or(|e| e > now))
            .collect(),
        upcoming,
        past: all
            .iter()
            .copied()
            .filter(|i| i.status.is_closed() || i.ends_at.is_some_and(|e| e <= now))
            .filter(|i| closed_at(i).is_some_and(|c| c >= now - PAST_MS))
            .collect(),
    }
}

/// When an incident closed: resolved, or its window ended.
fn closed_at(i: &Incident) -> Option<i64> {
    match (i.resolved_at, i.ends_at) {
        (Some(r), Some(e)) => Some(r.min(e)),
        (r, e) => r.or(e),
    }
}

/// The names of `ids`, the current ones where the target still exists.
fn names<'a>(
    affected: impl Iterator<Item = (&'a str, &'a str)>,
    current: &HashMap<&str, &str>,
) -> Vec<String> {
    affected
        .map(|(id, name)| {
            current
                .get(id)
                .map(|n| n.to_string())
                .unwrap_or_else(|| if name.is_empty() { id } else { name }.to_string())
        })
        .collect()
}

/// The title of `i` in the words of `l`: the operator's, or one made from its targets.
pub fn title(l: &Labels, i: &Incident, current: &HashMap<&str, &str>) -> String {
    if !i.title.trim().is_empty() {
        return i.title.clone();
    }
    let names = names(
        i.targets.iter().map(|t| (t.id.as_str(), t.name.as_str())),
        current,
    );
    if names.is_empty() {
        return l.incident_status(i.status).to_string();
    }
    // The status the affected targets share, if they share one (the worst otherwise).
    let first = i.targets.first().map(|t| t.status);
    let common = first.filter(|s| i.targets.iter().all(|t| t.status == *s));
    l.auto_title(&names, common.or(first).filter(|_| common.is_some()))
}

/// An update's text: the operator's, or its changes worded (`api-1, api-2: down · web: operational`).
fn body(l: &Labels, u: &IncidentUpdate, current: &HashMap<&str, &str>) -> String {
    if !u.body.trim().is_empty() {
        return u.body.clone();
    }
    let mut by_status: Vec<(Status, Vec<(&str, &str)>)> = Vec::new();
    for c in &u.changes {
        match by_status.iter_mut().find(|(s, _)| *s == c.status) {
            Some((_, list)) => list.push((c.id.as_str(), c.name.as_str())),
            None => by_status.push((c.status, vec![(c.id.as_str(), c.name.as_str())])),
        }
    }
    by_status
        .into_iter()
        .map(|(s, list)| {
            let n = names(list.into_iter(), current);
            format!("{}: {}", l.name_list(&n, AFFECTED_SHOWN), l.status(s))
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// `from ... to ...` in the reader's zone.
fn window(l: &Labels, tz: &jiff::tz::TimeZone, start: i64, end: Option<i64>) -> String {
    let mut s = format!("{} {}", l.starts, labels::time(l, tz, start));
    if let Some(end) = end {
        s.push_str(&format!(" {} {}", l.ends, labels::time(l, tz, end)));
    }
    s
}

/// `i` worded for the reader.
pub fn view(
    l: &Labels,
    tz: &jiff::tz::TimeZone,
    i: &Incident,
    current: &HashMap<&str, &str>,
) -> IncidentView {
    let affected = names(
        i.targets.iter().map(|t| (t.id.as_str(), t.name.as_str())),
        current,
    );
    IncidentView {
        id: i.id.clone(),
        maintenance: i.kind == IncidentKind::Maintenance,
        title: title(l, i, current),
        status: l.incident_status(i.status),
        status_key: i.status.as_str(),
        affected: l.name_list(&affected, AFFECTED_SHOWN),
        window: i.starts_at.map(|s| window(l, tz, s, i.ends_at)),
        updates: i
            .updates
            .iter()
            .rev()
            .map(|u| UpdateView {
                at: labels::time(l, tz, u.at),
                at_iso: lookout_core::time::rfc3339(u.at),
                status: l.incident_status(u.status),
                body: body(l, u, current),
            })
            .collect(),
        postmortem: i.postmortem.clone().filter(|p| !p.trim().is_empty()),
    }
}

/// The spans (epoch ms, end exclusive) during which each target had an incident open (kind
/// `incident` only), for the bar's per-day counts.
pub fn spans(list: &[&Incident], now: i64) -> HashMap<String, Vec<(i64, i64)>> {
    let mut out: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
    for i in list.iter().filter(|i| i.kind == IncidentKind::Incident) {
        let end = closed_at(i).unwrap_or(now).max(i.opened_at + 1);
        for t in &i.targets {
            out.entry(t.id.clone())
                .or_default()
                .push((i.opened_at, end));
        }
    }
    out
}

/// How many of `spans` overlap the day starting at `start`.
pub fn count_on(spans: Option<&Vec<(i64, i64)>>, start: i64) -> usize {
    spans.map_or(0, |s| {
        s.iter()
            .filter(|(a, b)| *a < start + DAY_MS && *b > start)
            .count()
    })
}

/// `HH:MM` as minutes past midnight.
fn minutes(hhmm: &str) -> Option<i64> {
    let (h, m) = hhmm.split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// The next start (epoch ms) of `w` after `now` and before `now + horizon`, with its end.
pub fn next_window(w: &MaintenanceWindow, now: i64, horizon: i64) -> Option<(i64, i64)> {
    let parse = |s: &str| {
        s.parse::<jiff::Timestamp>()
            .ok()
            .map(|t| t.as_millisecond())
    };
    if let (Some(s), Some(e)) = (&w.start, &w.end) {
        let (s, e) = (parse(s)?, parse(e)?);
        return (s > now && s <= now + horizon).then_some((s, e));
    }
    let (from, to) = (minutes(w.from.as_deref()?)?, minutes(w.to.as_deref()?)?);
    let tz = match &w.tz {
        Some(name) => jiff::tz::TimeZone::get(name).ok()?,
        None => jiff::tz::TimeZone::UTC,
    };
    let today = jiff::Timestamp::from_millisecond(now)
        .ok()?
        .to_zoned(tz.clone())
        .date();
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    for ahead in 0..=8 {
        let day = today.checked_add(jiff::Span::new().days(ahead)).ok()?;
        let name = DAYS[day.weekday().to_monday_zero_offset() as usize];
        if !w.days.iter().any(|d| d == name) {
            continue;
        }
        let start = day.to_zoned(tz.clone()).ok()?.timestamp().as_millisecond() + from * 60_000;
        let len = if to > from {
            to - from
        } else {
            to + 24 * 60 - from
        };
        if start > now && start <= now + horizon {
            return Some((start, start + len * 60_000));
        }
    }
    None
}

/// Targets' own maintenance windows starting within [`UPCOMING_MS`], soonest first.
pub fn upcoming_windows(
    l: &Labels,
    tz: &jiff::tz::TimeZone,
    targets: &[&Target],
    now: i64,
) -> Vec<WindowView> {
    let mut out: Vec<WindowView> = targets
        .iter()
        .flat_map(|t| {
            t.maintenance.iter().filter_map(move |w| {
                next_window(w, now, UPCOMING_MS).map(|(start, end)| (t, w, start, end))
            })
        })
        .map(|(t, w, start, end)| WindowView {
            target: t.name.clone(),
            reason: w.reason.clone().unwrap_or_default(),
            window: window(l, tz, start, Some(end)),
            start,
            end,
        })
        .collect();
    out.sort_by(|a, b| a.start.cmp(&b.start).then(a.target.cmp(&b.target)));
    out
}

//! `GET /feed.atom`: an Atom feed (RFC 4287) of the incidents and maintenance windows open at
//! some time in the last 90 days ([`FEED_DAYS`]), newest opened first. One entry per incident:
//! id `urn:lookout:incident:<id>`, its title (the operator's as given; for one opened from status
//! changes, its targets and what they went to, in the reader's language), `updated` its newest
//! update, `<content type="text">` the timeline (newest first) and the postmortem, and a link
//! to the status page.
//!
//! The markup is the askama template `templates/feed.atom`, whose escaper writes `&`, `<`, `>`,
//! `"` and `'` as entities, so every title and update stays text.

use std::collections::HashMap;
use std::fmt::Write as _;

use askama::Template;
use lookout_app::ports::{IncidentStore, StateStore, TargetStore};
use lookout_core::domain::incident::{Incident, IncidentKind};
use lookout_core::time::{rfc3339, DAY_MS};

use crate::target_page::labels::Labels;
use crate::ApiError;

/// How far back the feed reaches, days (the status page's uptime bars span as long).
pub const FEED_DAYS: i64 = 90;

/// The most entries the feed lists (the newest).
pub const MAX_ENTRIES: usize = 200;

/// One entry.
struct Entry {
    id: String,
    title: String,
    /// RFC 3339.
    updated: String,
    /// RFC 3339: when it was opened or announced.
    published: String,
    /// `incident` or `maintenance`.
    kind: &'static str,
    kind_label: &'static str,
    content: String,
}

/// The feed: `templates/feed.atom`.
#[derive(Template)]
#[template(path = "feed.atom", config = "templates/askama.toml")]
struct FeedView {
    l: &'static Labels,
    /// RFC 3339: the newest entry's `updated`, or now without entries.
    updated: String,
    self_href: String,
    page_href: String,
    entries: Vec<Entry>,
}

/// The time of an incident's newest update (its opening without updates), epoch ms.
fn last_update(i: &Incident) -> i64 {
    i.updates
        .iter()
        .map(|u| u.at)
        .max()
        .unwrap_or(i.opened_at)
        .max(i.opened_at)
}

/// The timeline as text: one line per update, newest first (`<time> — <status>: <text>`),
/// then the postmortem. An update made from status changes names its targets and what they
/// went to.
pub fn timeline<'a>(
    l: &Labels,
    i: &'a Incident,
    name: impl Fn(&'a str) -> Option<&'a str>,
    time: impl Fn(i64) -> String,
) -> Vec<String> {
    let mut lines = Vec::with_capacity(i.updates.len());
    for u in i.updates.iter().rev() {
        let mut line = format!("{} — {}", time(u.at), l.incident_status(u.status));
        if !u.body.is_empty() {
            let _ = write!(line, ": {}", u.body);
        } else if !u.changes.is_empty() {
            let changes: Vec<String> = u
                .changes
                .iter()
                .map(|c| {
                    let shown =
                        name(&c.id).unwrap_or(if c.name.is_empty() { &c.id } else { &c.name });
                    format!("{shown} {}", l.change_word(c.status))
                })
                .collect();
            let _ = write!(line, ": {}", changes.join(", "));
        }
        lines.push(line);
    }
    lines
}

/// The feed in the words of `l`, read at `now` (epoch ms). `lang` is the query's, kept in the
/// self link.
///
/// # Errors
/// [`ApiError`] when the incidents or targets cannot be read.
pub async fn feed<S: IncidentStore + TargetStore + StateStore>(
    store: &S,
    cache: &crate::routes::DefsCache,
    incidents: &crate::routes::IncidentsCache,
    l: &'static Labels,
    lang: Option<&str>,
    now: i64,
) -> Result<String, ApiError> {
    // The definitions through the API's cache (the names the page shows now).
    let (incidents, loaded) = tokio::join!(
        incidents.between(store, now - FEED_DAYS * DAY_MS, now),
        crate::routes::load_cached(store, cache)
    );
    let (incidents, (targets, ..)) = (incidents?, loaded?);
    let names: HashMap<&str, &str> = targets
        .iter()
        .filter(|t| !t.name.is_empty())
        .map(|t| (t.id.as_str(), t.name.as_str()))
        .collect();
    let name = |id: &str| names.get(id).copied();
    let mut list: Vec<&Incident> = incidents.iter().collect();
    list.sort_by(|a, b| b.opened_at.cmp(&a.opened_at).then(a.id.cmp(&b.id)));
    list.truncate(MAX_ENTRIES);
    let entries: Vec<Entry> = list
        .iter()
        .map(|i| {
            let mut content = timeline(l, i, name, rfc3339).join("\n");
            if let Some(pm) = i.postmortem.as_deref().filter(|p| !p.is_empty()) {
                let _ = write!(content, "\n\n{}:\n{pm}", l.postmortem);
            }
            let (kind, kind_label) = match i.kind {
                IncidentKind::Incident => ("incident", l.incident),
                IncidentKind::Maintenance => ("maintenance", l.maintenance),
            };
            Entry {
                id: i.id.clone(),
                title: l.incident_title(i, name),
                updated: rfc3339(last_update(i)),
                published: rfc3339(i.opened_at),
                kind,
                kind_label,
                content,
            }
        })
        .collect();
    let updated = list
        .iter()
        .map(|i| last_update(i))
        .max()
        .map_or_else(|| rfc3339(now), rfc3339);
    let query = lang
        .map(|_| format!("?lang={}", l.code))
        .unwrap_or_default();
    FeedView {
        l,
        updated,
        self_href: format!("/feed.atom{query}"),
        page_href: format!("/{query}"),
        entries,
    }
    .render()
    .map_err(|e| {
        tracing::error!(error = %e, "feed template");
        ApiError::Internal("the feed could not be rendered".into())
    })
}

#[cfg(test)]
mod tests;

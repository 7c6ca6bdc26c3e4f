//! The HTML view of a page: the words, rows and incidents the template `page.html` prints.

use std::collections::{HashMap, HashSet};

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use lookout_core::domain::{Status, TargetKind};

use super::incidents::{self, IncidentView, WindowView};
use super::labels::{self, Labels};
use super::rows::{self, GroupData, Shown, Totals};
use super::slos::SloView;
use super::{html_response, PageData, Reader};
use crate::error::ApiError;

/// Healthy groups start closed when the page has more rows than this.
pub const OPEN_ROWS: usize = 20;

/// One location's view of a target: its name, latest latency and status.
struct LocationCell {
    name: String,
    /// `123 ms`, or `–`.
    latency: String,
    /// A CSS class (`healthy`, `down`, ...) and the word.
    class: &'static str,
    status: &'static str,
}

/// One row.
struct RowView {
    id: String,
    name: String,
    /// Lower-case name and group, what the search box matches.
    search: String,
    /// A CSS class of the status (`operational`, `degraded`, `down`, `maintenance`, `unknown`).
    class: &'static str,
    status: &'static str,
    /// The bar's cells (see [`rows::bar`]): our own markup.
    bar: String,
    /// The 30-day uptime (`99.95%`) or the words for no data, and `since <date>` for a young
    /// target.
    pct: String,
    young: Option<String>,
    /// `123 ms`, or empty for a target that never answered.
    latency: String,
    maintenance: Option<String>,
    locations: Vec<LocationCell>,
}

struct GroupView {
    name: String,
    /// `Proxy pool` for a pool.
    kind: Option<&'static str>,
    open: bool,
    problem: bool,
    /// Counts in words (`12 operational · 1 down`).
    summary: String,
    active: Option<String>,
    rows: Vec<RowView>,
}

/// The page: `templates/page.html`, escaped with [`super::HtmlEntities`].
#[derive(Template)]
#[template(path = "page.html", config = "templates/askama.toml")]
struct PageView<'a> {
    l: &'static Labels,
    title: &'a str,
    description: &'a str,
    logo: Option<&'a str>,
    footer: &'a str,
    /// `?lang=..&tz=..` for each language link.
    links: [(String, &'static str); 3],
    /// `operational`, `degraded` or `down`, and the banner's words.
    overall: &'static str,
    banner: &'static str,
    /// (CSS class, count in the reader's digits, word), the non-zero ones.
    totals: Vec<(&'static str, String, &'static str)>,
    open: Vec<IncidentView>,
    upcoming: Vec<IncidentView>,
    windows: Vec<WindowView>,
    /// The service level objectives the page names.
    slos: Vec<SloView>,
    past: Vec<IncidentView>,
    groups: Vec<GroupView>,
    tz_label: String,
    updated: String,
    updated_iso: String,
}

/// The page without data: `404` in the reader's words.
#[derive(Template)]
#[template(path = "not_found.html", config = "templates/askama.toml")]
struct NotFoundView {
    l: &'static Labels,
}

/// Totals in words, the non-zero ones (all operational: that one, even at zero).
fn totals_words(l: &Labels, t: &Totals) -> Vec<(&'static str, String, &'static str)> {
    let all = [
        ("operational", t.operational, l.totals[0]),
        ("degraded", t.degraded, l.totals[1]),
        ("down", t.down, l.totals[2]),
        ("maintenance", t.maintenance, l.totals[3]),
        ("unknown", t.unknown, l.totals[4]),
    ];
    all.into_iter()
        .filter(|(c, n, _)| *n > 0 || *c == "operational")
        .map(|(c, n, w)| (c, l.digits(&n.to_string()), w))
        .collect()
}

fn status_class(s: Status) -> &'static str {
    match s {
        Status::Healthy => "operational",
        Status::Degraded => "degraded",
        Status::Down | Status::Blocked => "down",
        Status::Unknown => "unknown",
    }
}

impl PageData {
    fn view<'a>(&'a self, r: &Reader) -> PageView<'a> {
        let l = r.l;
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
        let recent: Vec<&lookout_core::domain::incident::Incident> = self.recent.iter().collect();
        let spans = incidents::spans(&recent, self.now);
        let words = |list: &[&lookout_core::domain::incident::Incident]| {
            list.iter()
                .filter(|i| self.shows(i, &shown))
                .map(|i| incidents::view(l, &r.tz, i, &current))
                .collect::<Vec<_>>()
        };
        let page_targets: Vec<&lookout_core::domain::Target> = self
            .targets
            .iter()
            .filter(|t| t.enabled && shown.contains(t.id.as_str()))
            .collect();
        let row_count: usize = groups.iter().map(|g| g.rows.len()).sum();
        let overall = totals.overall();
        PageView {
            l,
            title: if self.page.title.is_empty() {
                l.title
            } else {
                &self.page.title
            },
            description: &self.page.description,
            logo: self
                .page
                .logo_url
                .as_deref()
                .filter(|u| u.starts_with("https://")),
            footer: &self.page.footer,
            links: [
                (r.link("en"), "English"),
                (r.link("ar"), "العربية"),
                (r.link("fa"), "فارسی"),
            ],
            overall: overall.as_str(),
            banner: match overall {
                Shown::Down => l.some_down,
                Shown::Degraded => l.some_degraded,
                _ => l.all_ok,
            },
            totals: totals_words(l, &totals),
            open: words(&split.open),
            upcoming: words(&split.upcoming),
            windows: incidents::upcoming_windows(l, &r.tz, &page_targets, self.now),
            slos: self.slos.iter().map(|d| SloView::of(l, d)).collect(),
            past: words(&split.past),
            groups: groups
                .into_iter()
                .map(|g| group_view(l, r, g, row_count, &spans))
                .collect(),
            tz_label: format!("{} {}", l.times_in, r.tz_name),
            updated: labels::time(l, &r.tz, self.now),
            updated_iso: lookout_core::time::rfc3339(self.now),
        }
    }
}

fn group_view(
    l: &'static Labels,
    r: &Reader,
    g: GroupData,
    row_count: usize,
    spans: &HashMap<String, Vec<(i64, i64)>>,
) -> GroupView {
    let problem = g.has_problem();
    let mut counts = Totals::default();
    for row in &g.rows {
        match row.shown {
            Shown::Operational => counts.operational += 1,
            Shown::Degraded => counts.degraded += 1,
            Shown::Down => counts.down += 1,
            Shown::Maintenance => counts.maintenance += 1,
            Shown::Unknown => counts.unknown += 1,
        }
    }
    let summary = totals_words(l, &counts)
        .into_iter()
        .filter(|(_, n, _)| *n != l.digits("0"))
        .map(|(_, n, w)| format!("{n} {w}"))
        .collect::<Vec<_>>()
        .join(" · ");
    GroupView {
        kind: (g.kind == TargetKind::Proxy).then_some(l.proxies),
        open: problem || row_count <= OPEN_ROWS,
        problem,
        summary,
        active: g
            .active
            .map(|a| a.unwrap_or_else(|| l.none_usable.to_string())),
        rows: g
            .rows
            .into_iter()
            .map(|row| {
                let spans = spans.get(&row.id);
                RowView {
                    search: format!("{} {}", row.name, g.name).to_lowercase(),
                    class: if row.maintenance.is_some() {
                        "maintenance"
                    } else {
                        status_class(row.status)
                    },
                    status: if row.maintenance.is_some() {
                        l.maintenance
                    } else {
                        l.status(row.status)
                    },
                    bar: rows::bar(l, &r.tz, &row.days, |start| {
                        incidents::count_on(spans, start)
                    }),
                    pct: row
                        .uptime_30d
                        .map_or_else(|| l.no_data.to_string(), |u| format!("{u:.2}%")),
                    young: row
                        .young_since
                        .filter(|_| row.uptime_30d.is_some())
                        .map(|s| format!("{} {}", l.since, labels::date(l, &r.tz, s))),
                    latency: row
                        .latency_ms
                        .map(|ms| format!("{ms} ms"))
                        .unwrap_or_default(),
                    maintenance: row.maintenance,
                    locations: row
                        .locations
                        .iter()
                        .map(|v| LocationCell {
                            name: v.location.clone(),
                            latency: v
                                .latency_ms
                                .map_or_else(|| "–".to_string(), |ms| format!("{ms} ms")),
                            class: status_class(v.status),
                            status: l.status(v.status),
                        })
                        .collect(),
                    id: row.id,
                    name: row.name,
                }
            })
            .collect(),
        name: g.name,
    }
}

/// The page of `data` for `reader`: 200 HTML.
///
/// # Errors
/// 500 when the template fails to render.
pub fn html_page(data: &PageData, reader: &Reader) -> Result<Response, ApiError> {
    let html = data.view(reader).render().map_err(ApiError::internal)?;
    Ok(html_response(StatusCode::OK, html))
}

/// 404 HTML: no such page.
///
/// # Errors
/// 500 when the template fails to render.
pub fn not_found_page(reader: &Reader) -> Result<Response, ApiError> {
    let html = NotFoundView { l: reader.l }
        .render()
        .map_err(ApiError::internal)?;
    Ok(html_response(StatusCode::NOT_FOUND, html))
}

//! `GET /targets/{id}`: one target's public page, rendered on the server. Its name, status and
//! group; its response time (p50 and p95) over the last 24 hours per hour and over the last 30
//! days per day, from the rollups the digest writes, as inline SVG charts (axes in ms, a
//! legend; "no data" without any); each location's latest latency when it is probed from
//! several; the incidents of the last 30 days that name it; and for an HTTPS server the days
//! until its certificate expires (the latest check's). Words in English, Arabic and Persian
//! (`?lang=ar|fa`, right to left), times in `?tz=` (an IANA zone, default UTC, labelled).
//!
//! A TCP, TLS, DNS or heartbeat target's page says what is checked instead ([`checked`]:
//! `host:port`, STARTTLS, the query, the period and the last pings).
//!
//! A disabled target still has its page. The page shows no URL (a URL can carry credentials).
//! The markup is `templates/target.html` (with `target.css`), escaped by
//! [`crate::page::HtmlEntities`], so no name, group or incident text becomes markup.

pub mod chart;
pub mod checked;
pub mod labels;

use std::collections::HashMap;

use askama::Template;
use jiff::tz::TimeZone;
use lookout_app::ports::{
    DigestStore, HeartbeatStore, IncidentStore, LocationStore, StateStore, TargetStore,
};
use lookout_core::digest::rollup::{Period, Rollup, DAY_MS, HOUR_MS};
use lookout_core::domain::{Status, Target};

use self::chart::Chart;
use self::labels::Labels;
use crate::ApiError;

/// Incidents of this many days are listed.
pub const INCIDENT_DAYS: i64 = 30;

pub use crate::page::time_zone;

/// `ms` (epoch) in `tz` with the jiff `strftime` format `fmt`; empty when out of range.
pub fn local(ms: i64, tz: &TimeZone, fmt: &str) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_zoned(tz.clone()).strftime(fmt).to_string())
        .unwrap_or_default()
}

/// One location's latest view of the target.
struct LocationRow {
    name: String,
    status: &'static str,
    colour: &'static str,
    /// `123 ms`, or `–`.
    latency: String,
}

/// One incident naming the target.
struct IncidentRow {
    title: String,
    /// The incident's status in words.
    status: &'static str,
    /// Opened (or the window's start), in the reader's zone.
    at: String,
    /// The timeline, newest first, times in the reader's zone.
    lines: Vec<String>,
    maintenance: bool,
}

/// A chart with its heading; `None` draws "no data".
struct ChartSection {
    /// The heading's element id.
    anchor: &'static str,
    heading: &'static str,
    chart: Option<Chart>,
}

/// The page: `templates/target.html`.
#[derive(Template)]
#[template(path = "target.html", config = "templates/askama.toml")]
struct TargetView<'a> {
    l: &'static Labels,
    /// `?lang=xx` to keep on links, or empty.
    lang_query: String,
    name: &'a str,
    group: &'a str,
    status: &'static str,
    colour: &'static str,
    /// The 24-hour and the 30-day chart.
    charts: Vec<ChartSection>,
    locations: Vec<LocationRow>,
    /// The certificate's remaining days in words (HTTPS servers with a check).
    cert: Option<String>,
    cert_warn: bool,
    /// What a TCP, TLS, DNS or heartbeat target checks ([`checked`]).
    checked: Option<checked::Checked>,
    incidents: Vec<IncidentRow>,
    tz: String,
}

/// The page of an unknown target: `templates/target_missing.html`.
#[derive(Template)]
#[template(path = "target_missing.html", config = "templates/askama.toml")]
struct MissingView {
    l: &'static Labels,
    lang_query: String,
}

/// The colour of a status (CSS), as the status page shows it.
fn colour(s: Status) -> &'static str {
    match s {
        Status::Healthy => "#1a7f37",
        Status::Degraded => "#b08800",
        Status::Down => "#cf222e",
        Status::Blocked => "#8250df",
        Status::Unknown => "#6e7781",
    }
}

fn render<T: Template>(view: &T) -> Result<String, ApiError> {
    view.render().map_err(|e| {
        tracing::error!(error = %e, "target page template");
        ApiError::Internal("the page could not be rendered".into())
    })
}

/// The 404 page of an unknown target.
///
/// # Errors
/// 500 when the template fails.
pub fn missing(l: &'static Labels, lang: Option<&str>) -> Result<String, ApiError> {
    render(&MissingView {
        l,
        lang_query: lang
            .map(|_| format!("?lang={}", l.code))
            .unwrap_or_default(),
    })
}

/// The page of target `id` at `now` (epoch ms): `None` when there is no such target.
///
/// # Errors
/// [`ApiError`] when the store cannot be read.
pub async fn page<S>(
    store: &S,
    cache: &crate::routes::DefsCache,
    id: &str,
    l: &'static Labels,
    lang: Option<&str>,
    (tz, tz_name): (TimeZone, String),
    now: i64,
) -> Result<Option<String>, ApiError>
where
    S: TargetStore
        + StateStore
        + DigestStore
        + LocationStore
        + IncidentStore
        + HeartbeatStore
        + Sync,
{
    let (targets, latest, states) = crate::routes::load_cached(store, cache).await?;
    let Some(t) = targets.iter().find(|t| t.id == id) else {
        return Ok(None);
    };
    let kind = t.kind();
    let until = Period::Hour.start_of(now) + HOUR_MS;
    let today = Period::Day.start_of(now);
    let month_from = today - 29 * DAY_MS;
    let pings = async {
        match t.heartbeat() {
            Some(_) => store.ping_record(&t.id).await,
            None => Ok(None),
        }
    };
    let (hours, days, incidents, verdicts, pings) = tokio::join!(
        store.rollups(&t.id, kind, Period::Hour, until - DAY_MS, until),
        store.rollups(&t.id, kind, Period::Day, month_from, today),
        store.incidents(now - INCIDENT_DAYS * DAY_MS, now),
        crate::routes::locations::verdicts_all(store),
        pings,
    );
    let (hours, mut days, incidents, verdicts, pings) =
        (hours?, days?, incidents?, verdicts?, pings?);
    // Today so far, from its hours (today's day rollup is written after the day ends).
    let today_hours: Vec<&Rollup> = hours.iter().filter(|h| h.start >= today).collect();
    if !today_hours.is_empty() {
        days.push(Rollup::merge(&t.id, kind, Period::Day, today, &today_hours));
    }
    let hour_ticks: Vec<(i64, String)> = (0..=24)
        .map(|h| until - DAY_MS + h * HOUR_MS)
        .filter(|&at| {
            local(at, &tz, "%H")
                .parse::<u32>()
                .is_ok_and(|hour| hour % 6 == 0)
        })
        .map(|at| (at, local(at, &tz, "%H:%M")))
        .collect();
    let day_ticks: Vec<(i64, String)> = (0..30)
        .step_by(7)
        .map(|d| {
            let at = month_from + d * DAY_MS + DAY_MS / 2;
            (at, local(month_from + d * DAY_MS, &TimeZone::UTC, "%m-%d"))
        })
        .collect();
    let status = states.get(&t.id).map_or(Status::Unknown, |s| s.status);
    let names: HashMap<&str, &str> = targets
        .iter()
        .filter(|t| !t.name.is_empty())
        .map(|t| (t.id.as_str(), t.name.as_str()))
        .collect();
    let name_of = |id: &str| names.get(id).copied();
    let mut naming: Vec<_> = incidents
        .iter()
        .filter(|i| i.targets.iter().any(|a| a.id == t.id))
        .collect();
    naming.sort_by(|a, b| b.opened_at.cmp(&a.opened_at).then(a.id.cmp(&b.id)));
    let incidents = naming
        .into_iter()
        .map(|i| IncidentRow {
            title: l.incident_title(i, name_of),
            status: l.incident_status(i.status),
            at: local(i.starts_at.unwrap_or(i.opened_at), &tz, "%Y-%m-%d %H:%M"),
            lines: crate::feed::timeline(l, i, name_of, |ms| local(ms, &tz, "%Y-%m-%d %H:%M")),
            maintenance: i.kind == lookout_core::domain::incident::IncidentKind::Maintenance,
        })
        .collect();
    let locations = verdicts
        .get(&t.id)
        .filter(|v| v.len() > 1)
        .map(|v| {
            v.iter()
                .map(|v| LocationRow {
                    name: v.location.clone(),
                    status: l.status_word(v.status),
                    colour: colour(v.status),
                    latency: v
                        .latency_ms
                        .filter(|_| v.error.is_none())
                        .map_or_else(|| "–".to_string(), |ms| format!("{ms} {}", l.ms)),
                })
                .collect()
        })
        .unwrap_or_default();
    let cert_days = https(t)
        .then(|| latest.get(&t.id)?.result.as_ref()?.cert_days_left)
        .flatten();
    let view = TargetView {
        l,
        lang_query: lang
            .map(|_| format!("?lang={}", l.code))
            .unwrap_or_default(),
        name: if t.name.is_empty() { &t.id } else { &t.name },
        group: &t.group,
        status: if t.enabled {
            l.status_word(status)
        } else {
            l.paused
        },
        colour: if t.enabled {
            colour(status)
        } else {
            colour(Status::Unknown)
        },
        charts: vec![
            ChartSection {
                anchor: "h24",
                heading: l.chart_24h,
                chart: Chart::new(&hours, HOUR_MS, until - DAY_MS, until, hour_ticks, l.ms),
            },
            ChartSection {
                anchor: "h30",
                heading: l.chart_30d,
                chart: Chart::new(&days, DAY_MS, month_from, today + DAY_MS, day_ticks, l.ms),
            },
        ],
        locations,
        cert: cert_days.map(|d| l.cert(d)),
        cert_warn: cert_days.is_some_and(|d| d < 14),
        checked: checked::checked(t, l, pings.as_ref(), &tz),
        incidents,
        tz: tz_name,
    };
    render(&view).map(Some)
}

/// Whether `t` sees a certificate: a server checked over HTTPS, or a TLS port.
fn https(t: &Target) -> bool {
    match &t.check {
        lookout_core::domain::target::Check::Server(s) => s
            .url
            .trim_start()
            .get(..6)
            .is_some_and(|p| p.eq_ignore_ascii_case("https:")),
        lookout_core::domain::target::Check::Tls(_) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests;

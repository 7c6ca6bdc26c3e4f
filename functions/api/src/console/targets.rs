//! `GET /console/targets?q=&kind=&group=&status=`: every target with its status, group, kind,
//! latency (EWMA, ms) and uptime, filtered by kind (a run, `server` or `proxy`, or a check kind),
//! group and status, and searched by id, name or group (case-insensitive); from `GET /v1/status`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::Value;

use super::session::Session;
use super::view::{html, Chrome};
use crate::extract::Query;
use crate::routes::AppState;
use crate::Store;

/// The list's routes.
pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new().route("/console/targets", get(list::<S>))
}

/// The list's filters, each optional.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Filters {
    /// Search in id, name and group.
    pub q: Option<String>,
    /// `server`, `proxy`, `tcp`, `tls`, `dns` or `heartbeat`.
    pub kind: Option<String>,
    /// One group.
    pub group: Option<String>,
    /// `up`, `degraded`, `down`, `unknown`... as `GET /v1/status` spells it.
    pub status: Option<String>,
}

/// One row of the list.
#[derive(Debug, Clone)]
pub struct Row {
    /// The target's id.
    pub id: String,
    /// Its name (the id when it has none).
    pub name: String,
    /// Its check kind (`server`, `proxy`, `tcp`...).
    pub kind: String,
    /// Its group.
    pub group: String,
    /// Its status word as the API spells it (`up`, `down`, `degraded`, `unknown`...).
    pub status: String,
    /// The CSS class of the status (the status page's: `operational`, `degraded`, `down`).
    pub class: &'static str,
    /// The EWMA latency, `123 ms`, or empty.
    pub latency: String,
    /// The uptime, `99.95 %`, or empty.
    pub uptime: String,
    /// Whether the target is enabled.
    pub enabled: bool,
}

/// The status page's CSS class of a status word.
pub fn status_class(status: &str) -> &'static str {
    match status {
        "up" | "healthy" | "operational" => "operational",
        "degraded" => "degraded",
        "down" | "blocked" | "unhealthy" => "down",
        "maintenance" => "maintenance",
        _ => "unknown",
    }
}

/// A status word of the API (`healthy`, `degraded`, `down`, `blocked`, `unknown`; `up`) in the
/// reader's language (the API's word when not known).
pub fn status_word(c: &Chrome, status: &str) -> String {
    match status {
        "healthy" => c.t("healthy", "سليم", "سالم").into(),
        "blocked" => c.t("blocked", "محجوب", "مسدود").into(),
        "up" => c.t("up", "يعمل", "فعال").into(),
        "degraded" => c.t("degraded", "متدهور", "کُند").into(),
        "down" => c.t("down", "متوقف", "از کار افتاده").into(),
        "unknown" => c.t("unknown", "غير معروف", "نامعلوم").into(),
        other => other.to_string(),
    }
}

impl Row {
    /// The row of one `GET /v1/status` row.
    pub fn of(v: &Value) -> Row {
        let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
        let status = v["status"].as_str().unwrap_or("unknown").to_string();
        let kind = v["check_kind"]
            .as_str()
            .or(v["kind"].as_str())
            .unwrap_or("")
            .to_string();
        Row {
            name: v["name"]
                .as_str()
                .filter(|n| !n.is_empty())
                .map_or_else(|| s("id"), str::to_string),
            id: s("id"),
            kind,
            group: s("group"),
            class: status_class(&status),
            status,
            latency: v["ewma_latency_ms"]
                .as_f64()
                .map(|ms| format!("{} ms", ms.round()))
                .unwrap_or_default(),
            uptime: v["uptime_percent"]
                .as_f64()
                .map(|p| format!("{p:.2} %"))
                .unwrap_or_default(),
            enabled: v["enabled"].as_bool().unwrap_or(true),
        }
    }

    /// Whether the row passes `f`.
    pub fn matches(&self, f: &Filters) -> bool {
        let q = f.q.as_deref().map(str::trim).unwrap_or("").to_lowercase();
        let kind_ok = match f.kind.as_deref().filter(|k| !k.is_empty()) {
            None => true,
            // `server` is the server run: every kind but proxies.
            Some("server") => self.kind != "proxy",
            Some(k) => self.kind == k,
        };
        kind_ok
            && f.group
                .as_deref()
                .filter(|g| !g.is_empty())
                .is_none_or(|g| self.group == g)
            && f.status
                .as_deref()
                .filter(|s| !s.is_empty())
                .is_none_or(|s| self.status == s)
            && (q.is_empty()
                || self.id.to_lowercase().contains(&q)
                || self.name.to_lowercase().contains(&q)
                || self.group.to_lowercase().contains(&q))
    }
}

/// `templates/console/targets.html`.
#[derive(askama::Template)]
#[template(path = "console/targets.html")]
struct ListPage<'a> {
    c: &'a Chrome,
    rows: Vec<Row>,
    total: usize,
    groups: Vec<String>,
    statuses: Vec<String>,
    f: &'a Filters,
}

impl ListPage<'_> {
    fn word(&self, status: &str) -> String {
        status_word(self.c, status)
    }
    fn sel(&self, have: &Option<String>, value: &str) -> bool {
        have.as_deref() == Some(value)
    }
}

/// `GET /console/targets`.
pub async fn list<S: Store>(
    State(app): State<AppState<S>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Extension(c): axum::Extension<Chrome>,
    Query(f): Query<Filters>,
) -> Response {
    let status = match super::api(&app, &session).get_ok("/v1/status").await {
        Ok(v) => v,
        Err(r) => return c.refused(&r),
    };
    let all: Vec<Row> = status["targets"]
        .as_array()
        .map(|rows| rows.iter().map(Row::of).collect())
        .unwrap_or_default();
    let mut groups: Vec<String> = all.iter().map(|r| r.group.clone()).collect();
    groups.sort();
    groups.dedup();
    let mut statuses: Vec<String> = all.iter().map(|r| r.status.clone()).collect();
    statuses.sort();
    statuses.dedup();
    let total = all.len();
    let rows = all.into_iter().filter(|r| r.matches(&f)).collect();
    html(
        StatusCode::OK,
        &ListPage {
            c: &c,
            rows,
            total,
            groups,
            statuses,
            f: &f,
        },
    )
}

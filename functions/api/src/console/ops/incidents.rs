//! `GET /console/incidents?status=open|closed`: incidents and maintenance windows of the last
//! 90 days (`GET /v1/incidents`), newest first: kind, status, affected targets (each linking to
//! its detail) and the timeline of updates.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use lookout_core::domain::incident::IncidentStatus;
use serde_json::Value;

use super::super::session::Session;
use super::super::view::{html, Chrome};
use crate::extract::Query;
use crate::routes::AppState;
use crate::Store;

/// The page's filter.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Filters {
    /// `open` or `closed`.
    pub status: Option<String>,
}

/// One affected target.
#[derive(Debug)]
pub struct Affected {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its status word.
    pub status: String,
    /// The status page's CSS class of it.
    pub class: &'static str,
}

/// One update of the timeline.
#[derive(Debug)]
pub struct Update {
    /// When, in the reader's language.
    pub at: String,
    /// The incident's status it set, in words.
    pub status: String,
    /// The operator's or the probe's words.
    pub body: String,
}

/// One incident.
#[derive(Debug)]
pub struct IncidentRow {
    /// Its id.
    pub id: String,
    /// `incident` or `maintenance`.
    pub kind: String,
    /// `auto` or `operator`.
    pub source: String,
    /// Its title.
    pub title: String,
    /// Its status as the API spells it.
    pub status: String,
    /// Its status in words.
    pub status_word: String,
    /// The targets it affects.
    pub targets: Vec<Affected>,
    /// Opened (or the window's start), in the reader's language.
    pub opened: String,
    /// Resolved (or the window's end), or empty.
    pub closed: String,
    /// The timeline, oldest first.
    pub updates: Vec<Update>,
}

#[derive(askama::Template)]
#[template(path = "console/ops_incidents.html")]
struct IncidentsPage<'a> {
    c: &'a Chrome,
    rows: Vec<IncidentRow>,
    f: &'a Filters,
    error: Option<String>,
}

impl IncidentsPage<'_> {
    fn sel(&self, value: &str) -> bool {
        self.f.status.as_deref() == Some(value)
    }
}

/// `GET /console/incidents`.
pub async fn page<S: Store>(
    State(app): State<AppState<S>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Extension(c): axum::Extension<Chrome>,
    Query(f): Query<Filters>,
) -> Response {
    let path = format!(
        "/v1/incidents{}",
        super::query(&[("status", f.status.as_deref())])
    );
    let (rows, error) = match super::super::api(&app, &session).get_ok(&path).await {
        Ok(v) => (
            v["incidents"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| row(&c, i))
                .collect(),
            None,
        ),
        Err(r) => (Vec::new(), Some(r.message)),
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    html(
        status,
        &IncidentsPage {
            c: &c,
            rows,
            f: &f,
            error,
        },
    )
}

/// An incident status in the reader's words (the status page's), the API's word when unknown.
fn incident_word(c: &Chrome, v: &Value) -> String {
    match serde_json::from_value::<IncidentStatus>(v.clone()) {
        Ok(s) => crate::page::labels::labels(Some(c.code()))
            .incident_status(s)
            .to_string(),
        Err(_) => v.as_str().unwrap_or("").to_string(),
    }
}

fn row(c: &Chrome, v: &Value) -> IncidentRow {
    let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
    let t = |k: &str| super::when(c, v[k].as_i64().unwrap_or(0));
    IncidentRow {
        id: s("id"),
        kind: s("kind"),
        source: s("source"),
        title: s("title"),
        status: s("status"),
        status_word: incident_word(c, &v["status"]),
        targets: v["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| {
                let status = a["status"].as_str().unwrap_or("").to_string();
                Affected {
                    id: a["id"].as_str().unwrap_or("").to_string(),
                    name: a["name"].as_str().unwrap_or("").to_string(),
                    class: super::super::targets::status_class(&status),
                    status: super::super::targets::status_word(c, &status),
                }
            })
            .collect(),
        opened: if v["starts_at"].is_i64() {
            t("starts_at")
        } else {
            t("opened_at")
        },
        closed: if v["ends_at"].is_i64() {
            t("ends_at")
        } else {
            t("resolved_at")
        },
        updates: v["updates"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|u| Update {
                at: super::when(c, u["at"].as_i64().unwrap_or(0)),
                status: incident_word(c, &u["status"]),
                body: u["body"].as_str().unwrap_or("").to_string(),
            })
            .collect(),
    }
}

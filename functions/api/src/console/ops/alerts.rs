//! `GET /console/alerts?target=&kind=&severity=&days=`: the alerts raised in the last `days`
//! (1, 7 or 31; default 1), newest first, from `GET /v1/alerts` (`kind` and `severity` are its
//! filters; `target` is applied here, to the alert's target or the targets a grouped alert
//! covers). Each row is `tr[data-key]` and links to its target's detail.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::super::session::Session;
use super::super::view::{html, Chrome};
use crate::extract::Query;
use crate::routes::AppState;
use crate::Store;

/// The page's filters, each optional.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Filters {
    /// A target id (the alert's target, or one a grouped alert covers).
    pub target: Option<String>,
    /// An alert kind (`status_change`, `recovery`, `storm`...).
    pub kind: Option<String>,
    /// `info`, `warning` or `critical`.
    pub severity: Option<String>,
    /// The window, days: `1`, `7` or `31`.
    pub days: Option<String>,
}

/// One alert row.
#[derive(Debug)]
pub struct AlertRow {
    /// The alert's deduplication key.
    pub key: String,
    /// When, in the reader's language.
    pub at: String,
    /// Its kind.
    pub kind: String,
    /// Its severity.
    pub severity: String,
    /// The target's id (empty for a grouped alert).
    pub target_id: String,
    /// The target's name (or the group's).
    pub target_name: String,
    /// `old → new` status words.
    pub change: String,
    /// The subject line.
    pub subject: String,
    /// Whether it was published to the topic.
    pub published: bool,
}

/// The kinds an alert may have, for the filter (`status_change`, `recovery`...).
pub fn kinds() -> Vec<&'static str> {
    lookout_core::domain::AlertKind::ALL
        .iter()
        .map(|k| k.as_str())
        .collect()
}

#[derive(askama::Template)]
#[template(path = "console/ops_alerts.html")]
struct AlertsPage<'a> {
    c: &'a Chrome,
    rows: Vec<AlertRow>,
    f: &'a Filters,
    error: Option<String>,
}

impl AlertsPage<'_> {
    fn sel(&self, have: &Option<String>, value: &str) -> bool {
        have.as_deref() == Some(value)
    }
}

/// `GET /console/alerts`.
pub async fn page<S: Store>(
    State(app): State<AppState<S>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Extension(c): axum::Extension<Chrome>,
    Query(f): Query<Filters>,
) -> Response {
    let days: i64 = match f.days.as_deref() {
        Some("7") => 7,
        Some("31") => 31,
        _ => 1,
    };
    let now = lookout_core::time::now_ms();
    let since = lookout_core::time::rfc3339(now - days * lookout_core::time::DAY_MS);
    let path = format!(
        "/v1/alerts{}",
        super::query(&[
            ("since", Some(&since)),
            ("kind", f.kind.as_deref()),
            ("severity", f.severity.as_deref()),
        ])
    );
    let (rows, error) = match super::super::api(&app, &session).get_ok(&path).await {
        Ok(v) => (rows(&c, &v, f.target.as_deref()), None),
        Err(r) => (Vec::new(), Some(r.message)),
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    html(
        status,
        &AlertsPage {
            c: &c,
            rows,
            f: &f,
            error,
        },
    )
}

/// The rows of a `GET /v1/alerts` answer, newest first, only those about `target` when given.
fn rows(c: &Chrome, v: &Value, target: Option<&str>) -> Vec<AlertRow> {
    let target = target.map(str::trim).filter(|t| !t.is_empty());
    let mut out: Vec<AlertRow> = v["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| {
            target.is_none_or(|t| {
                let a = &r["alert"];
                a["target_id"].as_str() == Some(t)
                    || a["targets"]
                        .as_array()
                        .is_some_and(|ts| ts.iter().any(|x| x.as_str() == Some(t)))
            })
        })
        .map(|r| {
            let a = &r["alert"];
            let s = |k: &str| a[k].as_str().unwrap_or("").to_string();
            let word = |k: &str| super::super::targets::status_word(c, a[k].as_str().unwrap_or(""));
            AlertRow {
                key: s("key"),
                at: super::when(c, a["at"].as_i64().unwrap_or(0)),
                kind: s("kind"),
                severity: s("severity"),
                target_id: s("target_id"),
                target_name: s("target_name"),
                change: format!("{} → {}", word("old_status"), word("new_status")),
                subject: s("subject"),
                published: r["published"].as_bool().unwrap_or(false),
            }
        })
        .collect();
    out.reverse();
    out
}

//! `GET /console/digests?target=&before=`: the hourly digests, global or of one target
//! (`GET /v1/digests`), newest first, 24 a page (`before` pages back, from the API's
//! `next_before`); the newest of the page shown in full (its summary, the narrative when there
//! is one, marked as generated ([`super::super::narrative`]), the run's narration counts on a
//! global digest, recommendations and anomalies). With a language model configured, the
//! month's tokens of the budget head the page.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::super::narrative::{narration_line, tokens_line, NarrativeView};
use super::super::session::Session;
use super::super::view::{html, Chrome};
use crate::extract::Query;
use crate::routes::AppState;
use crate::Store;

/// The page's query.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Filters {
    /// A target id; none for the global digests.
    pub target: Option<String>,
    /// RFC 3339: only digests that start before it.
    pub before: Option<String>,
}

/// One anomaly of a digest.
#[derive(Debug)]
pub struct AnomalyRow {
    /// The target's id (`*` for all together).
    pub target: String,
    /// Its kind.
    pub kind: String,
    /// What was seen against what is usual.
    pub explanation: String,
    /// What to check or do.
    pub recommendation: String,
}

/// One digest.
#[derive(Debug)]
pub struct DigestRow {
    /// The hour's start, epoch ms (the row's `data-id`).
    pub id: i64,
    /// The hour's start, in the reader's language.
    pub start: String,
    /// The summary in plain words.
    pub summary: String,
    /// A language model's retelling, when one.
    pub narrative: Option<NarrativeView>,
    /// What to check or do.
    pub recommendations: Vec<String>,
    /// The anomalies of the hour.
    pub anomalies: Vec<AnomalyRow>,
    /// Checks in the hour.
    pub checks: String,
    /// Failures in the hour.
    pub failures: String,
    /// Uptime over the hour, `99.95 %`, or empty.
    pub uptime: String,
}

#[derive(askama::Template)]
#[template(path = "console/ops_digests.html")]
struct DigestsPage<'a> {
    c: &'a Chrome,
    digests: Vec<DigestRow>,
    target: String,
    scope: String,
    older: Option<String>,
    error: Option<String>,
    /// The newest digest's narration counts in one line (a global digest, a model configured).
    narration: Option<String>,
    /// The month's tokens of the budget (a model configured).
    tokens: Option<String>,
}

/// `GET /console/digests`.
pub async fn page<S: Store>(
    State(app): State<AppState<S>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Extension(c): axum::Extension<Chrome>,
    Query(f): Query<Filters>,
) -> Response {
    let target = f.target.as_deref().map(str::trim).unwrap_or("").to_string();
    let path = format!(
        "/v1/digests{}",
        super::query(&[("target", Some(&target)), ("before", f.before.as_deref())])
    );
    let mut narration = None;
    let mut tokens = None;
    let (digests, scope, older, error) = match super::super::api(&app, &session).get_ok(&path).await
    {
        Ok(v) => {
            let older = v["next_before"].as_str().map(|b| {
                format!(
                    "/digests{}",
                    super::query(&[("target", Some(&target)), ("before", Some(b))])
                )
            });
            narration = v["digests"]
                .get(0)
                .and_then(|d| narration_line(&c, d));
            tokens = tokens_line(&c, &v["narratives"]);
            let rows = v["digests"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| row(&c, d))
                .collect();
            let scope = v["scope"].as_str().unwrap_or("").to_string();
            (rows, scope, older, None)
        }
        Err(r) => (Vec::new(), String::new(), None, Some(r.message)),
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    html(
        status,
        &DigestsPage {
            c: &c,
            digests,
            target,
            scope,
            older,
            error,
            narration,
            tokens,
        },
    )
}

fn row(c: &Chrome, d: &Value) -> DigestRow {
    let strings = |k: &str| -> Vec<String> {
        d[k].as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    DigestRow {
        id: d["start"].as_i64().unwrap_or(0),
        start: super::when(c, d["start"].as_i64().unwrap_or(0)),
        summary: d["summary"].as_str().unwrap_or("").to_string(),
        narrative: NarrativeView::of(c, d),
        recommendations: strings("recommendations"),
        anomalies: d["anomalies"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| {
                let s = |k: &str| a[k].as_str().unwrap_or("").to_string();
                AnomalyRow {
                    target: s("target_id"),
                    kind: s("kind"),
                    explanation: s("explanation"),
                    recommendation: s("recommendation"),
                }
            })
            .collect(),
        checks: super::num(c, d["checks"].as_u64().unwrap_or(0)),
        failures: super::num(c, d["failures"].as_u64().unwrap_or(0)),
        uptime: d["uptime_percent"]
            .as_f64()
            .map(|p| format!("{p:.2} %"))
            .unwrap_or_default(),
    }
}

//! `GET /console/runs?kind=`: the newest probe runs (`GET /v1/runs`: counts and durations) and,
//! for an admin, each kind's run lease (`GET /v1/leases`) with a release button
//! (`POST /console/leases/{kind}/release` -> `DELETE /v1/leases/{kind}`, then 303 back with
//! `?done=saved`).

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::Value;

use super::super::session::Session;
use super::super::view::{html, Chrome};
use crate::extract::{Path, Query};
use crate::routes::AppState;
use crate::Store;

/// The page's filter.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Filters {
    /// `server` or `proxy`.
    pub kind: Option<String>,
}

/// One run row.
#[derive(Debug)]
pub struct RunRow {
    /// The run's id.
    pub id: String,
    /// `server` or `proxy`.
    pub kind: String,
    /// Its start, in the reader's language.
    pub started: String,
    /// Its wall time, `1234 ms`.
    pub duration: String,
    /// Targets checked.
    pub checked: String,
    /// Of those, up or slow.
    pub ok: String,
    /// Status changes.
    pub changes: String,
    /// Alerts published / pending.
    pub alerts: String,
    /// Targets skipped for the deadline.
    pub skipped: String,
    /// `done/shards` of a fanned-out run, else empty.
    pub shards: String,
}

/// One lease row.
#[derive(Debug)]
pub struct LeaseRow {
    /// `server` or `proxy`.
    pub kind: String,
    /// Whether a run holds it now.
    pub held: bool,
    /// The holder's run id, or empty.
    pub holder: String,
    /// Until, in the reader's language (empty when released).
    pub until: String,
}

#[derive(askama::Template)]
#[template(path = "console/ops_runs.html")]
struct RunsPage<'a> {
    c: &'a Chrome,
    runs: Vec<RunRow>,
    leases: Vec<LeaseRow>,
    lease_note: Option<String>,
    f: &'a Filters,
    error: Option<String>,
}

impl RunsPage<'_> {
    fn sel(&self, value: &str) -> bool {
        self.f.kind.as_deref() == Some(value)
    }
}

/// `GET /console/runs`.
pub async fn page<S: Store>(
    State(app): State<AppState<S>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Extension(c): axum::Extension<Chrome>,
    Query(f): Query<Filters>,
) -> Response {
    let api = super::super::api(&app, &session);
    let path = format!(
        "/v1/runs{}",
        super::query(&[("kind", f.kind.as_deref()), ("limit", Some("50"))])
    );
    let (runs, error) = match api.get_ok(&path).await {
        Ok(v) => (run_rows(&c, &v), None),
        Err(r) => (Vec::new(), Some(r.message)),
    };
    let (leases, lease_note) = if c.can_write() {
        match api.get_ok("/v1/leases").await {
            Ok(v) => (lease_rows(&c, &v), None),
            Err(r) => (Vec::new(), Some(r.message)),
        }
    } else {
        (Vec::new(), Some(super::admin_only(&c).to_string()))
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    html(
        status,
        &RunsPage {
            c: &c,
            runs,
            leases,
            lease_note,
            f: &f,
            error,
        },
    )
}

fn run_rows(c: &Chrome, v: &Value) -> Vec<RunRow> {
    v["runs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let n = |k: &str| super::num(c, r[k].as_u64().unwrap_or(0));
            RunRow {
                id: r["run_id"].as_str().unwrap_or("").to_string(),
                kind: r["kind"].as_str().unwrap_or("").to_string(),
                started: super::when(c, r["started_at"].as_i64().unwrap_or(0)),
                duration: format!("{} ms", n("duration_ms")),
                checked: n("checked"),
                ok: n("ok"),
                changes: n("changes"),
                alerts: format!("{} / {}", n("alerts_published"), n("alerts_pending")),
                skipped: n("skipped"),
                shards: match (r["shards_done"].as_u64(), r["shards"].as_u64()) {
                    (Some(d), Some(s)) => format!("{}/{}", super::num(c, d), super::num(c, s)),
                    _ => String::new(),
                },
            }
        })
        .collect()
}

fn lease_rows(c: &Chrome, v: &Value) -> Vec<LeaseRow> {
    v["leases"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| LeaseRow {
            kind: l["kind"].as_str().unwrap_or("").to_string(),
            held: l["held"].as_bool().unwrap_or(false),
            holder: l["holder"].as_str().unwrap_or("").to_string(),
            until: super::when(c, l["until_ms"].as_i64().unwrap_or(0)),
        })
        .collect()
}

/// `POST /console/leases/{kind}/release` (admin): 303 back to the runs with `?done=saved`, or
/// the API's refusal (400 for a kind that is neither `server` nor `proxy`).
pub async fn release<S: Store>(
    State(app): State<AppState<S>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Extension(c): axum::Extension<Chrome>,
    Path(kind): Path<String>,
) -> Response {
    let answer = super::super::api(&app, &session)
        .call(
            Method::DELETE,
            &format!("/v1/leases/{}", super::segment(&kind)),
            None,
        )
        .await;
    match answer.refusal() {
        None => c.redirect("/runs", Some("saved")),
        Some(r) => c.refused(&r),
    }
}

//! `GET /console/audit?actor=&object=&cursor=`: the audit log of the last 30 days
//! (`GET /v1/audit`, admin token only), newest first, 100 a page (`cursor` from the API's
//! `next_cursor`): when, who (name and token fingerprint), what (method and route), the
//! objects, the outcome and the changed paths. A read session sees a sentence saying the admin
//! token is needed.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::super::session::Session;
use super::super::view::{html, Chrome};
use crate::extract::Query;
use crate::routes::AppState;
use crate::Store;

/// The page's filters.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Filters {
    /// An actor's name (`admin`) or token fingerprint.
    pub actor: Option<String>,
    /// An object (`target:web-1`) or kind of object (`target`).
    pub object: Option<String>,
    /// The API's `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One audit entry.
#[derive(Debug)]
pub struct EntryRow {
    /// Its id.
    pub id: String,
    /// When, in the reader's language.
    pub at: String,
    /// The actor's name and fingerprint.
    pub actor: String,
    /// `POST /v1/targets`...
    pub request: String,
    /// The objects it names, comma-separated.
    pub objects: String,
    /// `201 ok`, `409 refused`...
    pub outcome: String,
    /// The JSON paths that changed, comma-separated.
    pub changes: String,
}

#[derive(askama::Template)]
#[template(path = "console/ops_audit.html")]
struct AuditPage<'a> {
    c: &'a Chrome,
    unavailable: Option<String>,
    rows: Vec<EntryRow>,
    f: &'a Filters,
    older: Option<String>,
    error: Option<String>,
}

/// `GET /console/audit`.
pub async fn page<S: Store>(
    State(app): State<AppState<S>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Extension(c): axum::Extension<Chrome>,
    Query(f): Query<Filters>,
) -> Response {
    let mut page = AuditPage {
        c: &c,
        unavailable: None,
        rows: Vec::new(),
        f: &f,
        older: None,
        error: None,
    };
    if !c.can_write() {
        page.unavailable = Some(super::admin_only(&c).to_string());
        return html(StatusCode::OK, &page);
    }
    let filters = [
        ("actor", f.actor.as_deref()),
        ("object", f.object.as_deref()),
    ];
    let mut pairs = filters.to_vec();
    pairs.push(("cursor", f.cursor.as_deref()));
    let path = format!("/v1/audit{}", super::query(&pairs));
    match super::super::api(&app, &session).get_ok(&path).await {
        Ok(v) => {
            page.rows = v["entries"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| row(&c, e))
                .collect();
            page.older = v["next_cursor"].as_str().map(|next| {
                let mut pairs = filters.to_vec();
                pairs.push(("cursor", Some(next)));
                format!("/audit{}", super::query(&pairs))
            });
        }
        Err(r) => page.error = Some(r.message),
    }
    let status = if page.error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    html(status, &page)
}

fn row(c: &Chrome, e: &Value) -> EntryRow {
    let list = |v: &Value, f: &dyn Fn(&Value) -> Option<String>| -> String {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(f)
            .collect::<Vec<_>>()
            .join(", ")
    };
    EntryRow {
        id: e["id"].as_str().unwrap_or("").to_string(),
        at: super::when(c, e["at"].as_i64().unwrap_or(0)),
        actor: format!(
            "{} {}",
            e["actor"]["name"].as_str().unwrap_or(""),
            e["actor"]["id"].as_str().unwrap_or("")
        ),
        request: format!(
            "{} {}",
            e["method"].as_str().unwrap_or(""),
            e["route"].as_str().unwrap_or("")
        ),
        objects: list(&e["objects"], &|o| o.as_str().map(str::to_string)),
        outcome: format!(
            "{} {}",
            e["outcome"]["status"].as_u64().unwrap_or(0),
            e["outcome"]["result"].as_str().unwrap_or("")
        ),
        changes: list(&e["changes"], &|ch| ch["path"].as_str().map(str::to_string)),
    }
}

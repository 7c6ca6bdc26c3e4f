//! `GET /v1/audit`: the audit log of admin writes, newest first (recorded by
//! [`crate::audit::record`]).

use axum::extract::State;
use lookout_app::ports::{
    AuditCursor, AuditQuery, DEFAULT_AUDIT_LIMIT, DEFAULT_AUDIT_SPAN_DAYS, MAX_AUDIT_LIMIT,
    MAX_AUDIT_SPAN_DAYS,
};
use lookout_core::time::DAY_MS;
use serde::Deserialize;
use serde_json::json;

use super::{params, AppState};
use crate::extract::Query;
use crate::{ApiError, Json, Store};

/// Longest `actor` or `object` filter, in characters.
const MAX_FILTER_CHARS: usize = 256;

/// Query of `GET /v1/audit`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct AuditParams {
    /// Oldest entry's time, RFC 3339 (default 30 days before `until`; at most 400 days before
    /// it).
    #[param(value_type = String, format = DateTime)]
    pub since: Option<String>,
    /// Newest entry's time, RFC 3339 (default now).
    #[param(value_type = String, format = DateTime)]
    pub until: Option<String>,
    /// Only entries of this actor: its name (`admin`) or token fingerprint (`sha256:…`).
    #[param(value_type = String)]
    pub actor: Option<String>,
    /// Only entries naming this object (`target:web-1`) or kind of object (`target`).
    #[param(value_type = String)]
    pub object: Option<String>,
    /// Entries in the page, 1 to 1000 (default 100).
    #[param(value_type = u32, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(value_type = String)]
    pub cursor: Option<String>,
}

/// A filter's text: `None` when absent or empty; 400 naming `name` when longer than
/// [`MAX_FILTER_CHARS`].
fn filter(value: Option<String>, name: &str) -> Result<Option<String>, ApiError> {
    match value.filter(|v| !v.is_empty()) {
        Some(v) if v.chars().count() > MAX_FILTER_CHARS => Err(ApiError::bad_request(format!(
            "{name} must be at most {MAX_FILTER_CHARS} characters"
        ))),
        v => Ok(v),
    }
}

/// The audit log, newest first
///
/// Each admin write (POST, PUT, PATCH, DELETE on an admin route): `id`, `at` (epoch ms),
/// `actor` (`name` and the token's fingerprint `id`, never the token), `method`, `route` (the
/// template), `objects` (`target:web-1`, …), `changes` (each JSON path that changed with
/// `before` and `after`, secrets redacted), `cut` (what was left out to keep the entry under
/// 32 KiB), `outcome` (`status`, `result` `ok`/`refused`/`failed`, the error `code`).
/// `{"entries":[...],"next_cursor"}`; `next_cursor` continues the listing.
#[utoipa::path(get, path = "/v1/audit", tag = "admin", params(AuditParams),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn audit<S: Store>(
    State(app): State<AppState<S>>,
    Query(q): Query<AuditParams>,
) -> Result<Json, ApiError> {
    let until =
        params::time(q.until.as_deref(), "until")?.unwrap_or_else(lookout_core::time::now_ms);
    let since = params::time(q.since.as_deref(), "since")?
        .unwrap_or(until - DEFAULT_AUDIT_SPAN_DAYS * DAY_MS);
    if since > until || until - since > MAX_AUDIT_SPAN_DAYS * DAY_MS {
        return Err(ApiError::bad_request(format!(
            "since must be before until, at most {MAX_AUDIT_SPAN_DAYS} days apart"
        )));
    }
    let cursor = q
        .cursor
        .as_deref()
        .map(|c| {
            AuditCursor::parse(c).ok_or_else(|| {
                ApiError::bad_request("cursor must be the next_cursor of a previous page")
            })
        })
        .transpose()?;
    let query = AuditQuery {
        since,
        until,
        actor: filter(q.actor, "actor")?,
        object: filter(q.object, "object")?,
        limit: params::limit(q.limit.as_deref(), DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT)?,
        cursor,
    };
    let page = app.store.audit_entries(&query).await?;
    Ok(Json::ok(json!({
        "entries": page.entries,
        "next_cursor": page.next_cursor.map(|c| c.to_string()),
    })))
}

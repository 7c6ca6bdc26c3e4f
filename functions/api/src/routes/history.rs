//! History: check results (`GET /v1/results`, `GET /v1/targets/{id}/results`), probe run
//! records (`GET /v1/runs`) and alerts (`GET /v1/alerts`).

use axum::extract::State;
use lookout_app::ports::{HistoryStore, TargetStore};
use lookout_core::domain::state::DAY_MS;
use lookout_core::domain::TargetKind;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{params, AppState};
use crate::extract::{Path, Query};
use crate::{ApiError, Json, Store};

/// Query of the results routes (`kind` only on `GET /v1/results`).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct ResultsQuery {
    /// Start of the window (default an hour before `until`; at most 7 days).
    #[param(value_type = String, format = DateTime)]
    pub since: Option<String>,
    /// End of the window (default now).
    #[param(value_type = String, format = DateTime)]
    pub until: Option<String>,
    /// Only results with this outcome.
    #[param(value_type = super::openapi::Outcome, inline)]
    pub status: Option<String>,
    /// Results in the page, 1 to 1000 (default 100).
    #[param(value_type = u32, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(value_type = String)]
    pub cursor: Option<String>,
    /// Only results of this kind.
    #[param(value_type = super::openapi::Kind, inline)]
    pub kind: Option<String>,
}

/// The parameters of `GET /v1/targets/{id}/results`: those of [`ResultsQuery`] but `kind`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
#[allow(dead_code)]
pub struct TargetResultsQuery {
    /// Start of the window (default an hour before `until`; at most 7 days).
    #[param(value_type = String, format = DateTime)]
    since: Option<String>,
    /// End of the window (default now).
    #[param(value_type = String, format = DateTime)]
    until: Option<String>,
    /// Only results with this outcome.
    #[param(value_type = super::openapi::Outcome, inline)]
    status: Option<String>,
    /// Results in the page, 1 to 1000 (default 100).
    #[param(value_type = u32, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(value_type = String)]
    cursor: Option<String>,
}

/// Check results from the history
///
/// `since` and `until` in RFC 3339 (default the last hour, at most 7 days), `status` (an
/// outcome), `kind`, `limit` (default 100, at most 1000) and `cursor` (from `next_cursor`).
/// Oldest first: `{"results":[...],"next_cursor"}`.
#[utoipa::path(get, path = "/v1/results", tag = "read", params(ResultsQuery),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn results<S: Store>(
    State(app): State<AppState<S>>,
    Query(q): Query<ResultsQuery>,
) -> Result<Json, ApiError> {
    read(&app.store, None, &q).await
}

/// Check results of one target
///
/// As `GET /v1/results`, for one target (404 when there is none).
#[utoipa::path(get, path = "/v1/targets/{id}/results", tag = "read",
    params(("id" = String, Path, min_length = 1, description = "Target id"), TargetResultsQuery),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn target_results<S: Store>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
    Query(q): Query<ResultsQuery>,
) -> Result<Json, ApiError> {
    read(&app.store, Some(&id), &ResultsQuery { kind: None, ..q }).await
}

/// Query of `GET /v1/runs`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct RunsQuery {
    /// Only runs of this kind.
    #[param(value_type = super::openapi::Kind, inline)]
    pub kind: Option<String>,
    /// Runs, 1 to 200 (default 20).
    #[param(value_type = u32, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
}

/// Probe run records, newest first
#[utoipa::path(get, path = "/v1/runs", tag = "read", params(RunsQuery),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn runs<S: Store>(
    State(app): State<AppState<S>>,
    Query(q): Query<RunsQuery>,
) -> Result<Json, ApiError> {
    let limit = params::limit(q.limit.as_deref(), 20, 200)?;
    let kinds = params::kind(q.kind.as_deref())?.map_or(TargetKind::ALL.to_vec(), |k| vec![k]);
    let mut out = Vec::new();
    for k in kinds {
        out.extend(app.store.runs(k, limit).await?);
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.started_at));
    out.truncate(limit);
    Ok(Json::ok(json!({"runs": out})))
}

/// Query of `GET /v1/alerts`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct AlertsQuery {
    /// Start of the window (default a day before `until`; at most 31 days).
    #[param(value_type = String, format = DateTime)]
    pub since: Option<String>,
    /// End of the window (default now).
    #[param(value_type = String, format = DateTime)]
    pub until: Option<String>,
    /// Only alerts of this severity.
    #[param(value_type = super::openapi::Severity, inline)]
    pub severity: Option<String>,
    /// Only alerts of this kind.
    #[param(value_type = String)]
    pub kind: Option<String>,
}

/// Alerts raised in a time window
///
/// Default the last 24 hours, at most 31 days; oldest first, with whether each was published.
#[utoipa::path(get, path = "/v1/alerts", tag = "read", params(AlertsQuery),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn alerts<S: Store>(
    State(app): State<AppState<S>>,
    Query(q): Query<AlertsQuery>,
) -> Result<Json, ApiError> {
    let now = lookout_core::time::now_ms();
    let until = params::time(q.until.as_deref(), "until")?.unwrap_or(now);
    let since = params::time(q.since.as_deref(), "since")?.unwrap_or(until - DAY_MS);
    if since > until || until - since > 31 * DAY_MS {
        return Err(ApiError::bad_request(
            "since must be before until, at most 31 days apart",
        ));
    }
    let records: Vec<_> = app
        .store
        .alerts(since, until)
        .await?
        .into_iter()
        .filter(|r| {
            q.severity
                .as_ref()
                .is_none_or(|s| r.alert.severity.as_str() == s)
        })
        .filter(|r| q.kind.as_ref().is_none_or(|k| r.alert.kind.as_str() == k))
        .collect();
    Ok(Json::ok(
        json!({"since": lookout_core::time::rfc3339(since), "until": lookout_core::time::rfc3339(until), "alerts": records}),
    ))
}

/// The results of one target or all, filtered and paged.
async fn read<S: TargetStore + HistoryStore>(
    store: &S,
    id: Option<&str>,
    q: &ResultsQuery,
) -> Result<Json, ApiError> {
    let now = lookout_core::time::now_ms();
    let until = params::time(q.until.as_deref(), "until")?.unwrap_or(now);
    let since = params::time(q.since.as_deref(), "since")?.unwrap_or(until - 3_600_000);
    if since > until || until - since > 7 * DAY_MS {
        return Err(ApiError::bad_request(
            "since must be before until, at most 7 days apart",
        ));
    }
    let limit = params::limit(q.limit.as_deref(), 100, 1000)?;
    let outcome = q
        .status
        .as_ref()
        .map(|s| {
            serde_json::from_value::<lookout_core::domain::Outcome>(Value::String(s.clone()))
                .map_err(|_| {
                    ApiError::bad_request("status must be up, slow, degraded, failed or blocked")
                })
        })
        .transpose()?;
    let cursor = q
        .cursor
        .as_ref()
        .map(|c| {
            c.split_once(':')
                .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id.to_string())))
                .ok_or_else(|| ApiError::bad_request("cursor is not one this API gave"))
        })
        .transpose()?;
    let targets = store.list_targets(None).await?;
    let kinds = match id {
        Some(id) => vec![targets
            .iter()
            .find(|t| t.id == id)
            .ok_or_else(|| {
                ApiError::not_found(format!("no target {}", lookout_core::redact::clip(id, 64)))
            })?
            .kind()],
        None => params::kind(q.kind.as_deref())?.map_or(TargetKind::ALL.to_vec(), |k| vec![k]),
    };
    let mut all = Vec::new();
    for kind in kinds {
        let n = targets.iter().filter(|t| t.kind() == kind).count();
        all.extend(store.history(kind, since, until, n).await?);
    }
    all.sort_by(|a, b| (a.at, &a.target_id).cmp(&(b.at, &b.target_id)));
    let mut page: Vec<_> = all
        .into_iter()
        .filter(|r| id.is_none_or(|id| r.target_id == id))
        .filter(|r| outcome.is_none_or(|o| r.outcome == o))
        .filter(|r| {
            cursor
                .as_ref()
                .is_none_or(|(at, cid)| (r.at, &r.target_id) > (*at, cid))
        })
        .take(limit + 1)
        .collect();
    let next = (page.len() > limit).then(|| {
        page.truncate(limit);
        page.last().map(|r| format!("{}:{}", r.at, r.target_id))
    });
    Ok(Json::ok(
        json!({"results": page, "next_cursor": next.flatten()}),
    ))
}

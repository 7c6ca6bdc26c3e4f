//! Uptime and digest routes: `GET /v1/targets/{id}/uptime`, `GET /v1/digests` and
//! `GET /v1/digests/latest`, from the rollups and digests the digest function writes.

use lookout_app::ports::{DigestStore, TargetStore};
use lookout_core::digest::report::GLOBAL;
use lookout_core::digest::rollup::{uptime as windows, Period, DAY_MS, HOUR_MS};
use serde_json::{json, Value};

use axum::extract::State;
use serde::Deserialize;

use super::{params, AppState};
use crate::extract::{Path, Query};
use crate::{ApiError, Json, Store};

/// Query of `GET /v1/digests`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct DigestsQuery {
    /// A target id; none for the global digests.
    #[param(value_type = String, pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub target: Option<String>,
    /// Only digests that start before this time.
    #[param(value_type = String, format = DateTime)]
    pub before: Option<String>,
    /// Digests, 1 to 200 (default 24).
    #[param(value_type = u32, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
}

/// Query of `GET /v1/digests/latest`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct LatestQuery {
    /// A target id; none for the newest global digest.
    #[param(value_type = String, pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub target: Option<String>,
}

/// Target ids and `global`: what a digest scope may be (the target id rules).
fn scope(target: Option<&str>) -> Result<String, ApiError> {
    let s = target.unwrap_or(GLOBAL);
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if !ok {
        return Err(ApiError::bad_request(
            "target must be a target id (letters, digits, '-', '_', '.', at most 64)",
        ));
    }
    Ok(s.to_string())
}

/// Uptime over 24 hours, 7, 30 and 365 days, from the hourly and daily rollups
///
/// In whole UTC hours up to the end of the current one, from the hourly rollups of the last 7 days and the daily
/// rollups of the last 365 (two queries). A window with no checks has `uptime_percent` null.
///
/// # Errors
/// 404 for an unknown target.
#[utoipa::path(get, path = "/v1/targets/{id}/uptime", tag = "public",
    params(("id" = String, Path, min_length = 1, description = "Target id")),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn target_uptime<S: Store>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
) -> Result<Json, ApiError> {
    Ok(Json::ok(uptime(&app.store, &id).await?))
}

/// The uptime windows of target `id`.
async fn uptime<S: TargetStore + DigestStore>(store: &S, id: &str) -> Result<Value, ApiError> {
    let target = store.get_target(id).await?.ok_or_else(|| {
        ApiError::not_found(format!("no target {}", lookout_core::redact::clip(id, 64)))
    })?;
    let kind = target.kind();
    // Whole hours, the one in progress included (its rollup exists once the digest ran it).
    let until = Period::Hour.start_of(lookout_core::time::now_ms()) + HOUR_MS;
    let hours = store
        .rollups(id, kind, Period::Hour, until - 7 * DAY_MS - HOUR_MS, until)
        .await?;
    let days = store
        .rollups(id, kind, Period::Day, until - 366 * DAY_MS, until)
        .await?;
    let w = windows(until, &hours, &days);
    Ok(json!({
        "target": id,
        "until": lookout_core::time::rfc3339(until),
        "windows": w.iter().map(|u| json!({
            "window": u.window,
            "since": lookout_core::time::rfc3339(u.since),
            "checks": u.checks,
            "failures": u.failures,
            "uptime_percent": u.uptime_percent,
        })).collect::<Vec<_>>(),
        "hours": hours.iter().rev().take(24).rev().collect::<Vec<_>>(),
    }))
}

/// Hourly digests of a target (target=) or global ones, newest first
///
/// The newest digests of a target, or the global ones (no `target`), newest first; `before` (RFC 3339) pages back, `limit` 1 to 200 (default 24).
///
/// # Errors
/// 400 for a bad `target`, `before` or `limit`.
#[utoipa::path(get, path = "/v1/digests", tag = "read", params(DigestsQuery),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn digests<S: Store>(
    State(app): State<AppState<S>>,
    Query(q): Query<DigestsQuery>,
) -> Result<Json, ApiError> {
    let scope = scope(q.target.as_deref())?;
    let limit = params::limit(q.limit.as_deref(), 24, 200)?;
    let before = params::time(q.before.as_deref(), "before")?.unwrap_or(i64::MAX);
    let digests = app.store.digests(&scope, before, limit).await?;
    let next = (digests.len() == limit)
        .then(|| digests.last().map(|d| lookout_core::time::rfc3339(d.start)))
        .flatten();
    Ok(Json::ok(
        json!({"scope": scope, "digests": digests, "next_before": next}),
    ))
}

/// The newest digest of a target (target=) or the newest global one
///
/// # Errors
/// 400 for a bad `target`; 404 when there is none yet.
#[utoipa::path(get, path = "/v1/digests/latest", tag = "read", params(LatestQuery),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn latest_digest<S: Store>(
    State(app): State<AppState<S>>,
    Query(q): Query<LatestQuery>,
) -> Result<Json, ApiError> {
    let scope = scope(q.target.as_deref())?;
    app.store
        .digests(&scope, i64::MAX, 1)
        .await?
        .into_iter()
        .next()
        .map(|d| Json::ok(json!(d)))
        .ok_or_else(|| ApiError::not_found(format!("no digest of {scope} yet")))
}

/// The newest global digest, for `GET /v1/summary` (`None` before the first).
///
/// # Errors
/// A storage failure.
pub async fn newest_global<S: DigestStore>(store: &S) -> Result<Option<Value>, ApiError> {
    Ok(store
        .digests(GLOBAL, i64::MAX, 1)
        .await?
        .into_iter()
        .next()
        .map(|d| json!(d)))
}

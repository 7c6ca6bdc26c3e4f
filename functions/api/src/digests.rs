//! Uptime and digest routes: `GET /v1/targets/{id}/uptime`, `GET /v1/digests` and
//! `GET /v1/digests/latest`, from the rollups and digests the digest function writes.

use std::collections::HashMap;

use lookout::digest::report::GLOBAL;
use lookout::digest::rollup::{uptime as windows, Period, DAY_MS, HOUR_MS};
use lookout::ports::{DigestStore, TargetStore};
use serde_json::{json, Value};

use crate::routes::{parse_limit, parse_time};
use crate::ApiError;

/// Target ids and `global`: what a digest scope may be (the target id rules).
fn scope(q: &HashMap<String, String>) -> Result<String, ApiError> {
    let s = q.get("target").map_or(GLOBAL, String::as_str);
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

/// `GET /v1/targets/{id}/uptime`: uptime over the last 24 hours, 7, 30 and 365 days in whole
/// UTC hours up to the end of the current one, from the hourly rollups of the last 7 days and the daily
/// rollups of the last 365 (two queries). A window with no checks has `uptime_percent` null.
///
/// # Errors
/// 404 for an unknown target.
pub async fn uptime<S: TargetStore + DigestStore>(store: &S, id: &str) -> Result<Value, ApiError> {
    let target = store.get_target(id).await?.ok_or_else(|| {
        ApiError::not_found(format!("no target {}", lookout::redact::clip(id, 64)))
    })?;
    let kind = target.kind();
    // Whole hours, the one in progress included (its rollup exists once the digest ran it).
    let until = Period::Hour.start_of(lookout::time::now_ms()) + HOUR_MS;
    let hours = store
        .rollups(id, kind, Period::Hour, until - 7 * DAY_MS - HOUR_MS, until)
        .await?;
    let days = store
        .rollups(id, kind, Period::Day, until - 366 * DAY_MS, until)
        .await?;
    let w = windows(until, &hours, &days);
    Ok(json!({
        "target": id,
        "until": lookout::time::rfc3339(until),
        "windows": w.iter().map(|u| json!({
            "window": u.window,
            "since": lookout::time::rfc3339(u.since),
            "checks": u.checks,
            "failures": u.failures,
            "uptime_percent": u.uptime_percent,
        })).collect::<Vec<_>>(),
        "hours": hours.iter().rev().take(24).rev().collect::<Vec<_>>(),
    }))
}

/// `GET /v1/digests?target=&before=&limit=`: the newest digests of a target, or the global ones
/// (no `target`), newest first; `before` (RFC 3339) pages back, `limit` 1 to 200 (default 24).
///
/// # Errors
/// 400 for a bad `target`, `before` or `limit`.
pub async fn list<S: DigestStore>(
    store: &S,
    q: &HashMap<String, String>,
) -> Result<Value, ApiError> {
    let scope = scope(q)?;
    let limit = parse_limit(q, 24, 200)?;
    let before = parse_time(q, "before")?.unwrap_or(i64::MAX);
    let digests = store.digests(&scope, before, limit).await?;
    let next = (digests.len() == limit)
        .then(|| digests.last().map(|d| lookout::time::rfc3339(d.start)))
        .flatten();
    Ok(json!({"scope": scope, "digests": digests, "next_before": next}))
}

/// `GET /v1/digests/latest?target=`: the newest digest of a target, or the newest global one.
///
/// # Errors
/// 400 for a bad `target`; 404 when there is none yet.
pub async fn latest<S: DigestStore>(
    store: &S,
    q: &HashMap<String, String>,
) -> Result<Value, ApiError> {
    let scope = scope(q)?;
    store
        .digests(&scope, i64::MAX, 1)
        .await?
        .into_iter()
        .next()
        .map(|d| json!(d))
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

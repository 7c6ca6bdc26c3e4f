//! `GET /v1/cache/stats`: what the instance's caches ([`crate::cache`], the definitions'
//! [`super::DefsCache`]) kept and how often they answered, since the instance started.

use std::collections::BTreeMap;

use axum::extract::State;
use serde::Serialize;

use super::AppState;
use crate::cache::CacheStats;
use crate::{ApiError, Json, Store};

/// The answer of `GET /v1/cache/stats`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CacheStatsAnswer {
    /// When the answer was made, RFC 3339.
    pub generated_at: String,
    /// Each cache by name: `status`, `summary`, `metrics`, `page` (the status pages, HTML and
    /// JSON) and `defs` (the target definitions the bulk views share).
    pub caches: BTreeMap<String, CacheStats>,
}

/// Every cache of the instance by name, with its statistics.
pub fn all<S>(app: &crate::App<S>) -> BTreeMap<String, CacheStats> {
    let c = &app.cache;
    BTreeMap::from([
        ("status".to_string(), c.status.stats()),
        ("summary".to_string(), c.summary.stats()),
        ("metrics".to_string(), c.metrics.stats()),
        ("page".to_string(), c.page.stats()),
        ("defs".to_string(), app.defs.stats()),
    ])
}

/// The caches' statistics
///
/// Per cache of this API instance (`status`, `summary`, `metrics`, `page`, `defs`): `hits`,
/// `misses`, `hit_rate` (0 to 1, `null` before the first request), `entries`, `bytes`,
/// `age_s` (of the oldest entry) and `max_age_s`. Counters start with the instance (a Lambda
/// instance each; several instances count apart).
#[utoipa::path(get, path = "/v1/cache/stats", tag = "read", responses(
    (status = 200, description = "OK", body = CacheStatsAnswer),
))]
pub async fn cache_stats<S: Store>(State(app): State<AppState<S>>) -> Result<Json, ApiError> {
    let answer = CacheStatsAnswer {
        generated_at: lookout_core::time::rfc3339(lookout_core::time::now_ms()),
        caches: all(&app),
    };
    Ok(Json::ok(
        serde_json::to_value(answer).map_err(ApiError::internal)?,
    ))
}

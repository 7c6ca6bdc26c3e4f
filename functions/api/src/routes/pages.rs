//! The routes answered by hand-built documents: the status pages (`GET /`, `GET /p/{slug}`,
//! HTML, and their JSON versions `GET /status.json`, `GET /p/{slug}/status.json`, in
//! [`crate::page`]) and the Prometheus metrics (`GET /metrics`, in [`crate::metrics`]).

use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use lookout_core::domain::status_page::DEFAULT_SLUG;
use serde::Deserialize;

use super::AppState;
use crate::cache::{self, Stamp};
use crate::extract::{Path, Query};
use crate::page::{self, PageData, Reader};
use crate::{ApiError, Json, Store};

/// Query of the status pages and their JSON versions.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct PageQuery {
    /// Language of the page.
    #[param(value_type = super::openapi::Lang, inline)]
    pub lang: Option<String>,
    /// IANA time zone the page's times are in (default `UTC`), e.g. `Asia/Tehran`; an unknown
    /// one is a 400 naming `tz`.
    #[param(example = "Asia/Tehran")]
    pub tz: Option<String>,
}

/// Query of the JSON versions.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct JsonQuery {
    /// Language of the incidents' titles made from their targets.
    #[param(value_type = super::openapi::Lang, inline)]
    pub lang: Option<String>,
    /// IANA time zone (default `UTC`); an unknown one is a 400 naming `tz`.
    #[param(example = "Asia/Tehran")]
    pub tz: Option<String>,
    /// How many of the latest days each row's `days` lists, 0 to 90 (default
    /// [`JSON_DAYS`], 7): a page of 1,000 targets is about 0.56 MB with 7 and 5.5 MB with 90,
    /// near Lambda's 6 MB answer limit.
    #[param(value_type = Option<u32>, minimum = 0, maximum = 90)]
    pub days: Option<String>,
}

/// Days each row of the JSON version lists unless `?days=` says otherwise.
pub const JSON_DAYS: usize = 7;

/// The default status page (HTML)
///
/// The page stored as `default`, or every group in the default words when none is; its
/// service level objectives are those the stored `default` page names (none without one).
#[utoipa::path(get, path = "/", tag = "public", params(PageQuery), responses(
    (status = 200, description = "OK", body = String, content_type = "text/html"),
))]
pub async fn page<S: Store>(
    State(app): State<AppState<S>>,
    Query(q): Query<PageQuery>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let key = cache::key(&format!("html/{DEFAULT_SLUG}"), uri.query(), PAGE_KEYS);
    Box::pin(cached(&app, key, html(&app, DEFAULT_SLUG, &q))).await
}

/// The query parameters that change a status page or its JSON version (the cache key's).
const PAGE_KEYS: &[&str] = &["lang", "tz", "days"];

/// The answer kept in the `page` cache under `key`, or the one `build` makes
/// ([`crate::cache`]).
async fn cached<S: Store>(
    app: &AppState<S>,
    key: String,
    build: impl std::future::Future<Output = Result<Response, ApiError>>,
) -> Result<Response, ApiError> {
    let stamp = Stamp::read(&app.store).await?;
    app.defs.saw_version(stamp.defs_version);
    app.cache.answer(&app.cache.page, key, stamp, build).await
}

/// A status page (HTML)
///
/// The page's title, description, logo, groups, service level objectives and footer
/// (`PUT /v1/pages/{slug}`); 404 HTML when there is no such page.
#[utoipa::path(get, path = "/p/{slug}", tag = "public",
    params(("slug" = String, Path, description = "The page's slug"), PageQuery),
    responses(
        (status = 200, description = "OK", body = String, content_type = "text/html"),
        (status = 404, description = "No such page", body = String, content_type = "text/html"),
    ))]
pub async fn slug_page<S: Store>(
    State(app): State<AppState<S>>,
    Path(slug): Path<String>,
    Query(q): Query<PageQuery>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let key = cache::key(&format!("html/{slug}"), uri.query(), PAGE_KEYS);
    Box::pin(cached(&app, key, html(&app, &slug, &q))).await
}

async fn html<S: Store>(
    app: &AppState<S>,
    slug: &str,
    q: &PageQuery,
) -> Result<Response, ApiError> {
    let reader = Reader::new(q.lang.as_deref(), q.tz.as_deref())?;
    let Some(settings) = page::settings(app, slug).await? else {
        return page::not_found_page(&reader);
    };
    let data = PageData::read(app, settings).await?;
    page::html_page(&data, &reader)
}

/// The default status page as JSON, for embedding
///
/// `Access-Control-Allow-Origin: *`. Overall state, totals, groups with rows (id, name,
/// status, uptime over 30 days, the last 7 days (`?days=` up to 90) `{date, uptime_percent,
/// checks}`), open incidents,
/// announced maintenance and the service level objectives the page names (`slos`: `{id, name,
/// objective, window, sli, budget_remaining, burning}`).
#[utoipa::path(get, path = "/status.json", tag = "public", params(JsonQuery), responses(
    (status = 200, description = "OK", body = StatusJson),
))]
pub async fn status_json<S: Store>(
    State(app): State<AppState<S>>,
    Query(q): Query<JsonQuery>,
    uri: Uri,
) -> Response {
    let key = cache::key(&format!("json/{DEFAULT_SLUG}"), uri.query(), PAGE_KEYS);
    let build = async { Ok(json(&app, DEFAULT_SLUG, &q).await.into_response()) };
    page::cors(Box::pin(cached(&app, key, build)).await.into_response())
}

/// A status page as JSON, for embedding
///
/// As `GET /status.json`, for the page `slug` (404 when there is none).
#[utoipa::path(get, path = "/p/{slug}/status.json", tag = "public",
    params(("slug" = String, Path, description = "The page's slug"), JsonQuery),
    responses((status = 200, description = "OK", body = StatusJson)))]
pub async fn slug_status_json<S: Store>(
    State(app): State<AppState<S>>,
    Path(slug): Path<String>,
    Query(q): Query<JsonQuery>,
    uri: Uri,
) -> Response {
    let key = cache::key(&format!("json/{slug}"), uri.query(), PAGE_KEYS);
    let build = async { Ok(json(&app, &slug, &q).await.into_response()) };
    page::cors(Box::pin(cached(&app, key, build)).await.into_response())
}

async fn json<S: Store>(app: &AppState<S>, slug: &str, q: &JsonQuery) -> Result<Json, ApiError> {
    let reader = Reader::new(q.lang.as_deref(), q.tz.as_deref())?;
    let days = match q.days.as_deref() {
        None => JSON_DAYS,
        Some(d) => d
            .parse::<usize>()
            .ok()
            .filter(|d| *d <= lookout_core::digest::rollup::BAR_DAYS)
            .ok_or_else(|| ApiError::bad_request("days must be a whole number from 0 to 90"))?,
    };
    let settings = page::settings(app, slug).await?.ok_or_else(|| {
        ApiError::not_found(format!(
            "no status page {:?}",
            lookout_core::redact::clip(slug, 64)
        ))
    })?;
    let data = PageData::read(app, settings).await?;
    Ok(Json::ok(
        serde_json::to_value(data.json(&reader, days)).map_err(ApiError::internal)?,
    ))
}

/// Prometheus text metrics
///
/// Targets, probe runs, locations, the caches and every SLO (`lookout_slo_*`: SLI, objective,
/// error budget left as a share and in minutes, burn rates over 1 h, 6 h, 24 h and 3 d, the page
/// and ticket alerts, valid events in the window). An answer is kept at most 60 s: an SLO's
/// record moves on every probe round without moving the cache's stamp.
#[utoipa::path(get, path = "/metrics", tag = "public", responses(
    (status = 200, description = "OK", body = String, content_type = "text/plain"),
))]
pub async fn metrics<S: Store>(State(app): State<AppState<S>>) -> Result<Response, ApiError> {
    let stamp = Stamp::read(&app.store).await?;
    let cached = app
        .cache
        .answer(&app.cache.metrics, "metrics".into(), stamp, async {
            let version = stamp.defs_version;
            let grace = app.location_grace_ms();
            let metrics = crate::metrics::metrics(&app.store, &app.defs, version, grace).await?;
            Ok(metrics.map(axum::body::Body::new).into_response())
        })
        .await?;
    // The caches' own series are read at each scrape, after the answer's hit or miss counted.
    let (mut parts, body) = cached.into_parts();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    let mut text = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(ApiError::internal)?
        .to_vec();
    let stats = super::cache_stats::all(&app);
    text.extend_from_slice(
        crate::metrics::cache_exposition(&stats)
            .map_err(ApiError::internal)?
            .as_bytes(),
    );
    Ok(Response::from_parts(parts, axum::body::Body::from(text)))
}

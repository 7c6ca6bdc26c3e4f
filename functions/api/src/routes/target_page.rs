//! `GET /targets/{id}`: a target's public page ([`crate::target_page`]).

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use crate::extract::{Path, Query};
use crate::target_page::{self, labels::labels};
use crate::{ApiError, Store};

/// Query of a target's page.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct TargetPageQuery {
    /// Language of the page.
    #[param(value_type = super::openapi::Lang, inline)]
    pub lang: Option<String>,
    /// The reader's time zone, an IANA name (`Europe/Berlin`, `Asia/Tehran`); UTC by default.
    #[param(max_length = 64, example = "Asia/Tehran")]
    pub tz: Option<String>,
}

/// A target's page (HTML)
///
/// Name, status and group; response time (p50, p95) over 24 hours and 30 days as SVG charts;
/// per-location latency; the incidents of the last 30 days naming it; the certificate's
/// remaining days for an HTTPS server. A disabled target still has its page; no URL is shown.
#[utoipa::path(get, path = "/targets/{id}", tag = "public",
    params(("id" = String, Path, min_length = 1, description = "Target id"), TargetPageQuery),
    responses(
        (status = 200, description = "OK", body = String, content_type = "text/html"),
        (status = 404, description = "No such target (an HTML page)", body = String, content_type = "text/html"),
    ))]
pub async fn target_page<S: Store>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
    Query(q): Query<TargetPageQuery>,
) -> Result<Response, ApiError> {
    let l = labels(q.lang.as_deref())?;
    let tz = target_page::time_zone(q.tz.as_deref())?;
    let now = lookout_core::time::now_ms();
    let page = target_page::page(&app.store, &app.defs, &id, l, q.lang.as_deref(), tz, now).await?;
    let (status, body) = match page {
        Some(body) => (StatusCode::OK, body),
        None => (
            StatusCode::NOT_FOUND,
            target_page::missing(l, q.lang.as_deref())?,
        ),
    };
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    Ok(response)
}

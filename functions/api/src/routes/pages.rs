//! The routes answered by hand-built documents: the status page (`GET /`, HTML, in
//! [`crate::page`]) and the Prometheus metrics (`GET /metrics`, in [`crate::metrics`]).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use crate::extract::Query;
use crate::{ApiError, Store};

/// Query of the status page.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct PageQuery {
    /// Language of the page.
    #[param(value_type = super::openapi::Lang, inline)]
    pub lang: Option<String>,
}

/// The status page (HTML)
#[utoipa::path(get, path = "/", tag = "public", params(PageQuery), responses(
    (status = 200, description = "OK", body = String, content_type = "text/html"),
))]
pub async fn page<S: Store>(
    State(app): State<AppState<S>>,
    Query(q): Query<PageQuery>,
) -> Result<Response, ApiError> {
    let page = crate::page::page(&app.store, &app.defs, q.lang.as_deref()).await?;
    Ok(page.map(axum::body::Body::new).into_response())
}

/// Prometheus text metrics
#[utoipa::path(get, path = "/metrics", tag = "public", responses(
    (status = 200, description = "OK", body = String, content_type = "text/plain"),
))]
pub async fn metrics<S: Store>(State(app): State<AppState<S>>) -> Result<Response, ApiError> {
    let metrics = crate::metrics::metrics(&app.store, app.location_grace_ms()).await?;
    Ok(metrics.map(axum::body::Body::new).into_response())
}

//! `GET /v1/health`: this API and each AWS dependency it reaches.

use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;

use super::AppState;
use crate::{Json, Store};

/// This API and its dependencies
///
/// Each AWS dependency reachable with its latency: `{"status":"ok"|"degraded","service",
/// "version","dependencies":[...]}`; 503 when one is not.
#[utoipa::path(get, path = "/v1/health", tag = "public", responses(
    (status = 200, description = "OK", body = Object),
    (status = 503, description = "A dependency is unreachable", body = Object),
))]
pub async fn health<S: Store>(State(app): State<AppState<S>>) -> Json {
    let checked = match &app.health {
        Some(d) => d.check().await,
        None => Vec::new(),
    };
    let ok = checked.iter().all(|d| d.ok);
    let body = json!({
        "status": if ok { "ok" } else { "degraded" },
        "service": "lookout-api",
        "version": env!("CARGO_PKG_VERSION"),
        "dependencies": checked,
    });
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Json(status, body)
}

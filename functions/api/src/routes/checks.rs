//! `POST /v1/checks`: check targets now and answer the results (no state changes).

use axum::extract::State;
use futures::StreamExt as _;
use lookout_core::domain::{Target, TargetKind};
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use crate::extract::JsonBody;
use crate::{ApiError, Json, Store};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
/// Body of `POST /v1/checks`: which targets to check (all enabled ones when empty).
pub struct CheckRequest {
    #[serde(default)]
    /// These targets (404 naming one that does not exist).
    pub ids: Option<Vec<String>>,
    #[serde(default)]
    /// Targets of this kind.
    pub kind: Option<TargetKind>,
    #[serde(default)]
    /// Targets of this group.
    pub group: Option<String>,
}

/// Check targets now and return the results
///
/// `{"ids":[..]}`, `{"kind":..}`, `{"group":..}` or `{}` (or no body) for every enabled target;
/// answers `{"checked_at","results":[...]}` and changes no state. A body of the wrong shape is
/// 422 `invalid_request`.
#[utoipa::path(post, path = "/v1/checks", tag = "admin",
    request_body(content = Option<Value>, content_type = "application/json"),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn checks<S: Store>(
    State(app): State<AppState<S>>,
    JsonBody(request): JsonBody<CheckRequest>,
) -> Result<Json, ApiError> {
    let request = request.unwrap_or_default();
    let targets = app.store.list_targets(request.kind).await?;
    let chosen: Vec<&Target> = match &request.ids {
        Some(ids) => {
            if let Some(missing) = ids.iter().find(|id| !targets.iter().any(|t| &t.id == *id)) {
                return Err(ApiError::not_found(format!("no target {missing}")));
            }
            targets.iter().filter(|t| ids.contains(&t.id)).collect()
        }
        None => targets.iter().filter(|t| t.enabled).collect(),
    };
    let chosen: Vec<&Target> = chosen
        .into_iter()
        .filter(|t| request.group.as_ref().is_none_or(|g| &t.group == g))
        .collect();
    let now = lookout_core::time::now_ms();
    // Futures built up front: a closure over `&Target` inside the stream trips the compiler's
    // Send check for the lambda_http service.
    let probes: Vec<_> = chosen
        .into_iter()
        .map(|t| lookout_app::secrets::check(&app.prober, &app.secrets, t, now))
        .collect();
    let results: Vec<_> = futures::stream::iter(probes)
        .buffered(app.concurrency.max(1))
        .collect()
        .await;
    Ok(Json::ok(
        json!({"checked_at": lookout_core::time::rfc3339(now), "results": results}),
    ))
}

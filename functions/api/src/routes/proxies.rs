//! Proxies for applications: `GET /v1/proxies/active?group=` (the proxy to use now, with
//! credentials) and `POST /v1/proxies/{id}/usage` (an application reports real traffic).

use axum::extract::State;
use lookout_core::domain::{Target, TargetKind};
use serde::Deserialize;
use serde_json::{json, Value};

use super::actions::current_state;
use super::{load, AppState};
use crate::audit::{AuditChange, AuditExt as _, Audited};
use crate::extract::{JsonBody, Path, Query};
use crate::{ApiError, Json, Store};

/// Query of `GET /v1/proxies/active`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActiveQuery {
    /// The proxy pool (required).
    #[param(required = true, value_type = String)]
    pub group: Option<String>,
}

/// The proxy to use now and the fallbacks, with credentials
///
/// The ordered fallbacks of a pool with their full proxy URLs, credentials included (the one
/// answer that has them), secret references resolved. A proxy whose reference cannot be
/// resolved now is left out of the order (an application could not use it), with a warning in
/// the log.
#[utoipa::path(get, path = "/v1/proxies/active", tag = "admin", params(ActiveQuery),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn proxies_active<S: Store>(
    State(app): State<AppState<S>>,
    Query(q): Query<ActiveQuery>,
) -> Result<Json, ApiError> {
    let group = q
        .group
        .as_ref()
        .ok_or_else(|| ApiError::bad_request("group is required"))?;
    let (targets, _, states) = load(&app.store).await?;
    let pool: Vec<&Target> = targets
        .iter()
        .filter(|t| t.kind() == TargetKind::Proxy && &t.group == group)
        .collect();
    if pool.is_empty() {
        return Err(ApiError::not_found(format!(
            "no proxy pool {}",
            lookout_core::redact::clip(group, 64)
        )));
    }
    let mut order: Vec<Value> = Vec::new();
    for t in lookout_core::domain::failover::failover_order(&pool, &states) {
        let resolved = match app.secrets.resolve(t).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(target = %t.id, error = %e, "proxy left out: secret not resolved");
                continue;
            }
        };
        let Some(p) = resolved.proxy() else { continue };
        order.push(json!({
            "id": t.id,
            "proxy_url": p.proxy_url,
            "proxy_type": p.proxy_type,
            "cost_per_gb": p.cost_per_gb,
            "priority": t.priority(),
            "status": states[&t.id].status,
        }));
    }
    Ok(Json::ok(
        json!({"group": group, "active": order.first(), "order": order}),
    ))
}

/// Body of `POST /v1/proxies/{id}/usage`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Usage {
    /// `ok`, `failed` or `blocked`.
    pub outcome: String,
    #[serde(default)]
    /// Bytes through the proxy.
    pub bytes: u64,
    #[serde(default)]
    /// Duration of the request, ms.
    pub latency_ms: u64,
    #[serde(default)]
    /// The answer's HTTP status.
    pub status_code: Option<u16>,
}

/// Report real traffic through a proxy
///
/// `{"outcome":"ok"|"failed"|"blocked","bytes":N,"latency_ms":N,"status_code":N}`. It goes
/// through the state machine like a probe result (traffic, cost, failures, status) and is
/// written like an override, so the next probe run continues from it. A concurrent write is
/// retried twice, then 409.
#[utoipa::path(post, path = "/v1/proxies/{id}/usage", tag = "admin",
    params(("id" = String, Path, min_length = 1, description = "Proxy target id")),
    request_body(content = Value, content_type = "application/json"),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn proxy_usage<S: Store>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
    JsonBody(usage): JsonBody<Usage>,
) -> Result<Audited<Json>, ApiError> {
    let id = id.as_str();
    // A blank body is bad JSON here (400), not an absent one.
    let usage = usage.ok_or_else(|| ApiError::bad_request("the body is empty; expected JSON"))?;
    let outcome = match usage.outcome.as_str() {
        "ok" => lookout_core::domain::Outcome::Up,
        "failed" => lookout_core::domain::Outcome::Failed,
        "blocked" => lookout_core::domain::Outcome::Blocked,
        _ => {
            return Err(ApiError::InvalidRequest(
                "outcome must be ok, failed or blocked".into(),
            ))
        }
    };
    let target = app
        .store
        .get_target(id)
        .await?
        .filter(|t| t.kind() == TargetKind::Proxy)
        .ok_or_else(|| {
            ApiError::not_found(format!("no proxy {}", lookout_core::redact::clip(id, 64)))
        })?;
    let now = lookout_core::time::now_ms();
    let result = lookout_core::domain::CheckResult {
        target_id: target.id.clone(),
        kind: TargetKind::Proxy,
        at: now,
        outcome,
        status_code: usage.status_code,
        latency_ms: usage.latency_ms,
        connect_ms: None,
        ttfb_ms: None,
        cert_days_left: None,
        bytes: usage.bytes,
        attempts: 1,
        error: (outcome == lookout_core::domain::Outcome::Failed)
            .then_some(lookout_core::domain::ErrorKind::Other),
        message: Some("reported by an application".into()),
    };
    let mut last = None;
    for _ in 0..3 {
        let base = current_state(&app.store, &target).await?;
        let (next, alerts) = lookout_core::domain::next_state(&base, &result, &target);
        match app
            .store
            .commit_override(target.kind(), &next, &alerts)
            .await
        {
            Ok(()) => {
                let change = AuditChange::of("target", id, Some(&base), Some(&next));
                return Ok(Json::ok(json!({
                    "target": target.id,
                    "status": next.status,
                    "traffic_bytes": next.traffic_bytes,
                    "cost": next.cost,
                    "alerts": alerts.iter().map(|a| &a.key).collect::<Vec<_>>(),
                }))
                .audited(change));
            }
            Err(e @ lookout_app::ports::StoreError::Conflict(_)) => last = Some(e),
            Err(e) => return Err(e.into()),
        }
    }
    Err(last.map_or_else(|| ApiError::Conflict("busy".into()), Into::into))
}

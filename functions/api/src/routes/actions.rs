//! Operator overrides: `POST /v1/targets/{id}/actions/{action}` (mark-healthy, mark-down,
//! reset-stats), through the state machine like a probe's change.

use axum::body::Bytes;
use axum::extract::State;
use lookout_app::ports::StateStore;
use lookout_core::domain::{apply_override, Override, Target, TargetState};
use serde::Deserialize;
use serde_json::{json, Value};

use super::AppState;
use crate::audit::{AuditChange, AuditExt as _, Audited};
use crate::extract::{is_blank, Path};
use crate::{ApiError, Json, Store};

/// Operator override: mark-healthy, mark-down, reset-stats
///
/// Applied through the state machine (`apply_override`) and written like a probe's change: the
/// state item conditional on its `version`, the alert rows in the same transaction (the next
/// probe run publishes them). Body: empty, or `{"version": N}` with the state version the caller
/// saw; a different stored version, or a write that loses to a concurrent one, is 409.
#[utoipa::path(post, path = "/v1/targets/{id}/actions/{action}", tag = "admin",
    params(
        ("id" = String, Path, min_length = 1, description = "Target id"),
        ("action" = inline(super::openapi::Action), Path, description = "The override"),
    ),
    request_body(content = Option<Value>, content_type = "application/json"),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn target_action<S: Store>(
    State(app): State<AppState<S>>,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Result<Audited<Json>, ApiError> {
    let (id, action) = (id.as_str(), action.as_str());
    let action: Override =
        serde_json::from_value(Value::String(action.to_string())).map_err(|_| {
            ApiError::not_found(format!(
                "no action {action:?}; use mark-healthy, mark-down or reset-stats"
            ))
        })?;
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ActionBody {
        version: Option<u64>,
    }
    let wanted = if is_blank(&body) {
        None
    } else {
        serde_json::from_slice::<ActionBody>(&body)
            .map_err(|e| ApiError::bad_request(format!("body: {e}")))?
            .version
    };
    let target = app.store.get_target(id).await?.ok_or_else(|| {
        ApiError::not_found(format!(
            "no target {:?}",
            lookout_core::redact::clip(id, 64)
        ))
    })?;
    let target = &target;
    let base = current_state(&app.store, target).await?;
    if let Some(v) = wanted {
        if v != base.version {
            return Err(ApiError::Conflict(format!(
                "the state of {id} is at version {}, not {v}: read it again",
                base.version
            )));
        }
    }
    let (mut next, alerts) = apply_override(&base, action, lookout_core::time::now_ms(), target);
    app.store
        .commit_override(target.kind(), &next, &alerts)
        .await?;
    next.version += 1;
    let change = AuditChange::of("target", id, Some(&base), Some(&next));
    Ok(Json::ok(json!({
        "target": target.id,
        "action": action,
        "state": next,
        "alerts": alerts.iter().map(|a| &a.key).collect::<Vec<_>>(),
    }))
    .audited(change))
}

/// A target's current state: a pending override, else the snapshot's (caught up), rebased on
/// the state item ([`TargetState::rebase_on`]: status, version and alert bookkeeping, which
/// conditional writes check and the snapshot may lag behind).
pub(crate) async fn current_state<S: StateStore>(
    store: &S,
    target: &Target,
) -> Result<TargetState, ApiError> {
    let pending = store
        .overrides(target.kind())
        .await?
        .into_iter()
        .find(|o| o.target_id == target.id);
    let mut base = match pending {
        Some(o) => o,
        None => store
            .latest(target.kind())
            .await?
            .remove(&target.id)
            .map_or_else(
                || TargetState::new(&target.id),
                |mut l| {
                    l.catch_up(Some(target));
                    l.state
                },
            ),
    };
    base.rebase_on(store.load_state(&target.id).await?.as_ref());
    Ok(base)
}

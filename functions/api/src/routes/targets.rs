//! Target definitions: list, read, change (JSON merge patch) and delete. Creating targets and
//! applying a target file are in `definitions.rs`; operator overrides in `actions.rs`.

use axum::body::Bytes;
use axum::extract::State;
use lookout_core::domain::{Status, Target};
use serde::Deserialize;
use serde_json::{json, Value};

use super::definitions::invalid_definition;
use super::{load, params, AppState};
use crate::audit::{AuditChange, AuditExt as _, Audited};
use crate::extract::{parse_json, Path, Query};
use crate::{ApiError, Json, Store};

/// Most targets one page of `GET /v1/targets` holds.
pub const MAX_PAGE: usize = 500;

/// Query of `GET /v1/targets`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct ListQuery {
    /// Only targets of this kind.
    #[param(value_type = super::openapi::Kind, inline)]
    pub kind: Option<String>,
    /// Only targets of this group.
    #[param(value_type = String)]
    pub group: Option<String>,
    /// Only targets with this status.
    #[param(value_type = super::openapi::StatusName, inline)]
    pub status: Option<String>,
    /// Only targets with this tag.
    #[param(value_type = String)]
    pub tag: Option<String>,
    /// Targets in the page, 1 to 500 (default 100).
    #[param(value_type = u32, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(value_type = String)]
    pub cursor: Option<String>,
}

/// Target definitions (redacted) with status, filtered and paged
///
/// By id; `next_cursor` (the last id) continues the listing:
/// `{"targets":[...],"next_cursor"}`.
#[utoipa::path(get, path = "/v1/targets", tag = "read", params(ListQuery), responses(
    (status = 200, description = "OK", body = Object),
))]
pub async fn list_targets<S: Store>(
    State(app): State<AppState<S>>,
    Query(q): Query<ListQuery>,
) -> Result<Json, ApiError> {
    let kind = params::kind(q.kind.as_deref())?;
    let status = q
        .status
        .as_deref()
        .map(|s| {
            Status::ALL
                .into_iter()
                .find(|st| st.as_str() == s)
                .ok_or_else(|| ApiError::bad_request(format!("status {s:?} is not a status")))
        })
        .transpose()?;
    let limit = params::limit(q.limit.as_deref(), 100, MAX_PAGE)?;
    let (targets, _, states) = load(&app.store).await?;
    let mut page: Vec<Value> = Vec::new();
    let mut next = None;
    for t in targets.iter().filter(|t| {
        kind.is_none_or(|k| t.kind() == k)
            && q.group.as_ref().is_none_or(|g| &t.group == g)
            && q.tag.as_ref().is_none_or(|tag| t.tags.contains(tag))
            && status.is_none_or(|s| states[&t.id].status == s)
            && q.cursor.as_ref().is_none_or(|c| t.id.as_str() > c.as_str())
    }) {
        if page.len() == limit {
            next = page
                .last()
                .and_then(|v| v["id"].as_str().map(str::to_string));
            break;
        }
        let mut v = serde_json::to_value(t.redacted()).unwrap_or(Value::Null);
        v["status"] = json!(states[&t.id].status);
        page.push(v);
    }
    Ok(Json::ok(json!({"targets": page, "next_cursor": next})))
}

/// One target: definition, state, latest result
///
/// `{"target","state","last_result","maintenance"}`, the definition redacted.
#[utoipa::path(get, path = "/v1/targets/{id}", tag = "read",
    params(("id" = String, Path, min_length = 1, description = "Target id")),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn get_target<S: Store>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
) -> Result<Json, ApiError> {
    let id = id.as_str();
    let (targets, latest, states) = load(&app.store).await?;
    let t = targets.iter().find(|t| t.id == id).ok_or_else(|| {
        ApiError::not_found(format!("no target {}", lookout_core::redact::clip(id, 64)))
    })?;
    Ok(Json::ok(json!({
        "target": t.redacted(),
        "state": states[&t.id],
        "last_result": latest.get(&t.id).and_then(|l| l.result.clone()),
        "maintenance": t.maintenance_at(lookout_core::time::now_ms()),
    })))
}

/// Change a target (JSON merge patch with the version read)
///
/// A JSON merge patch (RFC 7396) of the definition, with the `version` the caller read
/// (required). A stale version is 409; the patched definition is validated like a new one (422
/// naming the field); `id` and `kind` cannot change.
#[utoipa::path(patch, path = "/v1/targets/{id}", tag = "admin",
    params(("id" = String, Path, min_length = 1, description = "Target id")),
    request_body(content = Value, content_type = "application/json"),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn patch_target<S: Store>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Audited<Json>, ApiError> {
    let id = id.as_str();
    let patch = parse_json(&body)?;
    let Value::Object(mut patch) = patch else {
        return Err(ApiError::invalid_target("the patch must be a JSON object"));
    };
    let version = patch
        .remove("version")
        .and_then(|v| v.as_u64())
        .ok_or_else(|| ApiError::invalid_target("version: required, the version you read"))?;
    let current = app.store.get_target(id).await?.ok_or_else(|| {
        ApiError::not_found(format!("no target {}", lookout_core::redact::clip(id, 64)))
    })?;
    if current.version != version {
        return Err(ApiError::Conflict(format!(
            "target {id} is at version {}, not {version}: read it again",
            current.version
        )));
    }
    for fixed in ["id", "kind"] {
        if patch.get(fixed).is_some_and(|v| {
            Some(v)
                != serde_json::to_value(&current)
                    .ok()
                    .as_ref()
                    .and_then(|c| c.get(fixed))
        }) {
            return Err(ApiError::invalid_target(format!(
                "{fixed}: cannot change; delete and create instead"
            )));
        }
    }
    let mut merged = serde_json::to_value(&current).unwrap_or(Value::Null);
    json_patch::merge(&mut merged, &Value::Object(patch));
    if let Value::Object(o) = &mut merged {
        o.remove("version");
    }
    let mut target = Target::from_json(merged).map_err(|e| invalid_definition("", &e))?;
    target.restore_secrets(&current);
    let saved = app.store.update_target(&target, version).await?;
    app.defs.wrote(&saved);
    let change = AuditChange::of(
        "target",
        id,
        Some(&current.redacted()),
        Some(&saved.redacted()),
    )
    .with_secrets_of(&current, &saved);
    Ok(Json::ok(json!({"target": saved.redacted()})).audited(change))
}

/// Delete a target
///
/// The definition and its state item: `{"deleted": id}`; 404 when there is none.
#[utoipa::path(delete, path = "/v1/targets/{id}", tag = "admin",
    params(("id" = String, Path, min_length = 1, description = "Target id")),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn delete_target<S: Store>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
) -> Result<Audited<Json>, ApiError> {
    let id = id.as_str();
    let before = app.store.get_target(id).await?.map(|t| t.redacted());
    let found = app.store.delete_target(id).await?;
    app.defs.deleted(id);
    if found {
        let change = AuditChange::of("target", id, before.as_ref(), None::<&Target>);
        Ok(Json::ok(json!({"deleted": id})).audited(change))
    } else {
        Err(ApiError::not_found(format!(
            "no target {}",
            lookout_core::redact::clip(id, 64)
        )))
    }
}

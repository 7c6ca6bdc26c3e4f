//! Target definitions: list, read, change (JSON merge patch) and delete. Creating targets and
//! applying a target file are in `definitions.rs`; operator overrides in `actions.rs`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use lookout_core::domain::heartbeat::PingRecord;
use lookout_core::domain::target::{push_token_hash, Check};
use lookout_core::domain::{Status, Target};
use lookout_core::time::rfc3339;
use serde::Deserialize;
use serde_json::{json, Value};

use super::definitions::invalid_definition;
// Named in the `#[utoipa::path]` answers below (the schema's name is the path as written).
#[allow(unused_imports)]
use super::push::{PingsAnswer, PushTokenAnswer};
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
    /// Only targets of this kind: `server` or `proxy` (the run: `server` keeps every target
    /// the server run checks), or `tcp`, `tls`, `dns`, `heartbeat` (the definition's kind).
    #[param(value_type = super::openapi::TargetKindFilter, inline)]
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
    let kind = params::kind_filter(q.kind.as_deref())?;
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
        kind.is_none_or(|k| k.keeps(t))
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
    if target.heartbeat().is_some() {
        let others = app.store.list_targets(None).await?;
        super::definitions::refuse_shared_tokens(
            others.iter().filter(|t| t.id != target.id).chain([&target]),
        )?;
    }
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
/// The definition and its state item (and a heartbeat's ping record): `{"deleted": id}`; 404
/// when there is none.
#[utoipa::path(delete, path = "/v1/targets/{id}", tag = "admin",
    params(("id" = String, Path, min_length = 1, description = "Target id")),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn delete_target<S: Store>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
) -> Result<Audited<Json>, ApiError> {
    let id = id.as_str();
    let old = app.store.get_target(id).await?;
    let before = old.as_ref().map(Target::redacted);
    let found = app.store.delete_target(id).await?;
    app.defs.deleted(id);
    if old.as_ref().is_some_and(|t| t.heartbeat().is_some()) {
        app.store.delete_ping_record(id).await?;
    }
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

/// A heartbeat target of the store, or 404 (also for a target of another kind).
async fn heartbeat_target<S: Store>(app: &AppState<S>, id: &str) -> Result<Target, ApiError> {
    app.store
        .get_target(id)
        .await?
        .filter(|t| t.heartbeat().is_some())
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no heartbeat target {}",
                lookout_core::redact::clip(id, 64)
            ))
        })
}

/// What `push-token` and the create routes answer once for a new push token: the absolute
/// URL (from the request's `Host`; `null` without one), the path, and that they are shown
/// only now.
pub(crate) fn push_answer(headers: &HeaderMap, uri: &Uri, base_path: &str, token: &str) -> Value {
    json!({
        "push_url": super::push::push_url(headers, uri, base_path, token),
        "push_path": super::push::push_path(token),
        "push_url_note": "shown only now: the token is stored as its SHA-256; rotate it (POST /v1/targets/{id}/push-token) if it is lost",
    })
}

/// Give a heartbeat target a new push token; the new push URL is answered once
///
/// Replaces the heartbeat target's push token by a new random one (256 bits, base64url) and
/// answers `{"id","version","push_url","push_path","push_url_note"}`: the URL is shown only
/// now (the token is stored as its SHA-256). The old token stops working (within 15 s on
/// other API instances). 404 for a target that is not a heartbeat.
#[utoipa::path(post, path = "/v1/targets/{id}/push-token", tag = "admin",
    params(("id" = String, Path, min_length = 1, description = "Target id")),
    responses((status = 200, description = "OK", body = PushTokenAnswer)))]
pub async fn rotate_push_token<S: Store>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Audited<Json>, ApiError> {
    let current = heartbeat_target(&app, &id).await?;
    let token = super::push::new_push_token()?;
    let mut target = current.clone();
    if let Check::Heartbeat(h) = &mut target.check {
        h.token = None;
        h.token_sha256 = Some(push_token_hash(&token));
    }
    let saved = app.store.update_target(&target, current.version).await?;
    app.defs.wrote(&saved);
    let change = AuditChange::of(
        "target",
        &id,
        Some(&current.redacted()),
        Some(&saved.redacted()),
    );
    let mut answer = push_answer(&headers, &uri, &app.base_path, &token);
    answer["id"] = json!(saved.id);
    answer["version"] = json!(saved.version);
    Ok(Json::ok(answer).audited(change))
}

/// A ping record as answered: times in RFC 3339, newest ping first.
fn pings_json(id: &str, record: Option<PingRecord>) -> Value {
    let record = record.unwrap_or_else(|| PingRecord::new(id));
    let pings: Vec<Value> = record
        .pings
        .iter()
        .map(|p| {
            json!({
                "at": rfc3339(p.at),
                "status": p.status.as_str(),
                "exit_code": p.exit_code,
                "message": p.message.as_deref().map(lookout_core::redact::redact_text),
                "body": p.body.as_deref().map(lookout_core::redact::redact_text),
            })
        })
        .collect();
    json!({
        "target_id": id,
        "last_ok_at": record.last_ok_at.map(rfc3339),
        "last_fail_at": record.last_fail_at.map(rfc3339),
        "last_start_at": record.last_start_at.map(rfc3339),
        "pings": pings,
    })
}

/// A heartbeat target's last pings, newest first
///
/// `{"target_id","last_ok_at","last_fail_at","last_start_at","pings":[{"at","status",
/// "exit_code","message","body"}]}` (the newest 10 pings; bodies and messages redacted; times
/// RFC 3339, `null` before the first ping of that status); 404 for a target that is not a
/// heartbeat.
#[utoipa::path(get, path = "/v1/targets/{id}/pings", tag = "read",
    params(("id" = String, Path, min_length = 1, description = "Target id")),
    responses((status = 200, description = "OK", body = PingsAnswer)))]
pub async fn target_pings<S: Store>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
) -> Result<Json, ApiError> {
    let target = heartbeat_target(&app, &id).await?;
    let record = app.store.ping_record(&target.id).await?;
    Ok(Json::ok(pings_json(&target.id, record)))
}

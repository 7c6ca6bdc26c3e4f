//! Creating targets (`POST /v1/targets`) and applying a whole target file
//! (`PUT /v1/targets`, configuration as code), with the parsing and validation they share:
//! every definition is checked before anything is written, and a 422 names the JSON path of
//! the field to blame.

use std::collections::{HashMap, HashSet};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use lookout_core::domain::Target;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{params, AppState};
use crate::audit::{AuditChange, AuditExt as _, Audited};
use crate::extract::{parse_json, Query};
use crate::{ApiError, Json, Store};

/// Query of `POST /v1/targets`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct CreateQuery {
    /// `true` validates and answers what would be created, writing nothing.
    #[param(value_type = super::openapi::Flag, inline)]
    pub dry_run: Option<String>,
}

/// Query of `PUT /v1/targets`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct ApplyQuery {
    /// `true` deletes the targets the file does not list.
    #[param(value_type = super::openapi::Flag, inline)]
    pub prune: Option<String>,
    /// `true` answers what would change, writing nothing.
    #[param(value_type = super::openapi::Flag, inline)]
    pub dry_run: Option<String>,
}

/// Create targets (one, a list, or {"targets": [...]}); dry_run=true validates only (200)
///
/// 201 with the created definitions (redacted); 409 when an id exists, 422 naming the field.
/// A heartbeat created without a `token` gets a random one: its entry carries `push_url`
/// and `push_path` this once (the token is stored as its SHA-256); a given `token` is used as
/// is and not answered.
/// With `dry_run=true` every check runs (ids that exist included) and the answer is 200
/// `{"dry_run":true,"created":[...]}`, the definitions as they would be stored; nothing is
/// written.
#[utoipa::path(post, path = "/v1/targets", tag = "admin", params(CreateQuery),
    request_body(content = Value, content_type = "application/json"),
    responses(
        (status = 201, description = "OK", body = Object),
        (status = 200, description = "dry_run=true: what would be created", body = Object),
    ))]
pub async fn create_targets<S: Store>(
    State(app): State<AppState<S>>,
    Query(q): Query<CreateQuery>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Audited<Json>, ApiError> {
    let dry_run = params::flag(q.dry_run.as_deref(), "dry_run")?;
    let targets = parse_targets(&body)?;
    let stored = app.store.list_targets(None).await?;
    let existing: HashSet<String> = stored.iter().map(|t| t.id.clone()).collect();
    if let Some(t) = targets.iter().find(|t| existing.contains(&t.id)) {
        return Err(ApiError::Conflict(format!("target {} exists", t.id)));
    }
    refuse_shared_tokens(stored.iter().chain(&targets))?;
    if dry_run {
        let created: Vec<Target> = targets
            .into_iter()
            .map(|mut t| {
                t.version = 1;
                t.redacted()
            })
            .collect();
        return Ok(Json::ok(json!({"dry_run": true, "created": created})).audited_all(vec![]));
    }
    let mut created = Vec::with_capacity(targets.len());
    let mut changes = Vec::with_capacity(targets.len());
    for mut t in targets {
        let token = give_push_token(&mut t)?;
        let stored = app.store.create_target(&t).await?;
        app.defs.wrote(&stored);
        changes.push(AuditChange::of(
            "target",
            &stored.id,
            None::<&Target>,
            Some(&stored.redacted()),
        ));
        let mut shown = serde_json::to_value(stored.redacted()).unwrap_or(Value::Null);
        if let (Some(token), Value::Object(o)) = (token, &mut shown) {
            if let Value::Object(push) =
                super::targets::push_answer(&headers, &uri, &app.base_path, &token)
            {
                o.extend(push);
            }
        }
        created.push(shown);
    }
    Ok(Json(StatusCode::CREATED, json!({"created": created})).audited_all(changes))
}

/// Apply a whole target file, JSON or YAML (configuration as code); dry_run=true says what would change
///
/// Creates new ids, updates changed ones, leaves equal ones, and with `prune=true` deletes
/// targets not in the file. Everything is validated before anything is written. Answers the ids
/// `created`, `updated`, `unchanged` and `deleted`; with `dry_run=true` the same lists say what
/// would happen, `"dry_run": true`, nothing written. A heartbeat created without a `token`
/// gets a random one, answered this once in `push_urls` (`{"<id>": {"push_url","push_path"}}`);
/// an existing heartbeat listed without a token keeps its own.
#[utoipa::path(put, path = "/v1/targets", tag = "admin", params(ApplyQuery),
    request_body(content = Value, content_type = "application/json"),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn apply_targets<S: Store>(
    State(app): State<AppState<S>>,
    Query(q): Query<ApplyQuery>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Audited<Json>, ApiError> {
    let prune = params::flag(q.prune.as_deref(), "prune")?;
    let dry_run = params::flag(q.dry_run.as_deref(), "dry_run")?;
    let wanted = parse_file(&body)?;
    let existing: HashMap<String, Target> = app
        .store
        .list_targets(None)
        .await?
        .into_iter()
        .map(|t| (t.id.clone(), t))
        .collect();
    // Every check before the first write.
    if let Some(t) = wanted.iter().find(|t| {
        existing
            .get(&t.id)
            .is_some_and(|old| old.check_kind() != t.check_kind())
    }) {
        return Err(ApiError::invalid_target(format!(
            "{}: kind cannot change; delete it first",
            t.id
        )));
    }
    let wanted: Vec<Target> = wanted
        .into_iter()
        .map(|mut t| {
            if let Some(old) = existing.get(&t.id) {
                t.restore_secrets(old);
            }
            t
        })
        .collect();
    let kept = existing
        .values()
        .filter(|t| !prune && !wanted.iter().any(|w| w.id == t.id));
    refuse_shared_tokens(wanted.iter().chain(kept))?;
    let (mut created, mut updated, mut unchanged, mut deleted) = (vec![], vec![], vec![], vec![]);
    let mut changes = Vec::new();
    let mut push = serde_json::Map::new();
    for t in &wanted {
        match existing.get(&t.id) {
            None => {
                if !dry_run {
                    let mut t = t.clone();
                    if let Some(token) = give_push_token(&mut t)? {
                        push.insert(
                            t.id.clone(),
                            super::targets::push_answer(&headers, &uri, &app.base_path, &token),
                        );
                    }
                    let stored = app.store.create_target(&t).await?;
                    app.defs.wrote(&stored);
                    changes.push(AuditChange::of(
                        "target",
                        &t.id,
                        None::<&Target>,
                        Some(&stored.redacted()),
                    ));
                }
                created.push(t.id.clone());
            }
            Some(old) => {
                let mut same = t.clone();
                same.version = old.version;
                if &same == old {
                    unchanged.push(t.id.clone());
                } else {
                    if !dry_run {
                        let stored = app.store.update_target(t, old.version).await?;
                        app.defs.wrote(&stored);
                        changes.push(
                            AuditChange::of(
                                "target",
                                &t.id,
                                Some(&old.redacted()),
                                Some(&stored.redacted()),
                            )
                            .with_secrets_of(old, &stored),
                        );
                    }
                    updated.push(t.id.clone());
                }
            }
        }
    }
    if prune {
        for id in existing
            .keys()
            .filter(|id| !wanted.iter().any(|t| &t.id == *id))
        {
            if !dry_run {
                app.store.delete_target(id).await?;
                app.defs.deleted(id);
                if existing.get(id).is_some_and(|t| t.heartbeat().is_some()) {
                    app.store.delete_ping_record(id).await?;
                }
                let old = existing.get(id).map(Target::redacted);
                changes.push(AuditChange::of("target", id, old.as_ref(), None::<&Target>));
            }
            deleted.push(id.clone());
        }
        deleted.sort();
    }
    let mut answer =
        json!({"created": created, "updated": updated, "unchanged": unchanged, "deleted": deleted});
    if dry_run {
        answer["dry_run"] = json!(true);
    }
    if !push.is_empty() {
        answer["push_urls"] = Value::Object(push);
    }
    Ok(Json::ok(answer).audited_all(changes))
}

/// The definitions of a target file, JSON or YAML of the same shape.
///
/// # Errors
/// 400 when the body is neither; 422 naming the field of a definition that does not
/// validate.
fn parse_file(body: &[u8]) -> Result<Vec<Target>, ApiError> {
    let text =
        std::str::from_utf8(body).map_err(|_| ApiError::bad_request("the body is not UTF-8"))?;
    let json_body = if text.trim_start().starts_with(['{', '[']) {
        body.to_vec()
    } else {
        let value: Value = serde_norway::from_str(text).map_err(|e| {
            ApiError::bad_request(format!("the body is neither JSON nor YAML: {e}"))
        })?;
        serde_json::to_vec(&value).unwrap_or_default()
    };
    parse_targets(&json_body)
}

/// 422 for the definition at `at` (`""` for a lone one, `targets[2].` in a list): the message
/// is `<at><field>: <what>` and `error.field` the JSON path of the field, or of the entry when
/// no single field is to blame (`definition`).
pub(crate) fn invalid_definition(
    at: &str,
    e: &lookout_core::domain::target::ValidationError,
) -> ApiError {
    if e.field == "definition" {
        let entry = at.trim_end_matches('.');
        ApiError::InvalidTarget {
            message: format!("{at}{e}"),
            field: (!entry.is_empty()).then(|| entry.to_string()),
        }
    } else {
        ApiError::invalid_field(format!("{at}{}", e.field), &e.message)
    }
}

/// Parses and validates target definitions; the error names the entry and the field.
fn parse_targets(body: &[u8]) -> Result<Vec<Target>, ApiError> {
    let value = parse_json(body)?;
    let (entries, prefix) = match value {
        Value::Array(items) => (items, "targets"),
        Value::Object(mut o) if o.contains_key("targets") => match o.remove("targets") {
            Some(Value::Array(items)) => (items, "targets"),
            _ => {
                return Err(ApiError::invalid_target(
                    "targets: must be a list of target definitions",
                ))
            }
        },
        one @ Value::Object(_) => (vec![one], ""),
        _ => {
            return Err(ApiError::invalid_target(
                "expected a target object, a list, or {\"targets\": [...]}",
            ))
        }
    };
    if entries.is_empty() {
        return Err(ApiError::invalid_target("targets: the list is empty"));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(entries.len());
    for (i, entry) in entries.into_iter().enumerate() {
        let at = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}[{i}].")
        };
        let target = Target::from_json(entry).map_err(|e| invalid_definition(&at, &e))?;
        if !seen.insert(target.id.clone()) {
            return Err(ApiError::invalid_field(
                format!("{at}id"),
                format_args!("{} appears twice", target.id),
            ));
        }
        out.push(target);
    }
    Ok(out)
}

/// 422 naming `token` when two heartbeats of `targets` (the targets as they would stand after
/// a write) share a push token: pings would reach only one of them and the other go late.
pub(crate) fn refuse_shared_tokens<'a>(
    targets: impl IntoIterator<Item = &'a Target>,
) -> Result<(), ApiError> {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for t in targets {
        let Some(hash) = t.heartbeat().and_then(|h| h.token_sha256.as_deref()) else {
            continue;
        };
        if let Some(other) = seen.insert(hash, &t.id) {
            if other != t.id {
                return Err(ApiError::invalid_field(
                    "token",
                    format_args!("{} and {other} cannot share a push token", t.id),
                ));
            }
        }
    }
    Ok(())
}

/// Gives a heartbeat that has neither a token nor a token hash a new random token
/// ([`super::push::new_push_token`]), stored as its hash; answers the token to show once.
/// Other targets are left as they are (`None`).
///
/// # Errors
/// 500 when the system's random source fails.
fn give_push_token(t: &mut Target) -> Result<Option<String>, ApiError> {
    match &mut t.check {
        lookout_core::domain::target::Check::Heartbeat(h) if h.token_sha256.is_none() => {
            let token = super::push::new_push_token()?;
            h.token = None;
            h.token_sha256 = Some(lookout_core::domain::target::push_token_hash(&token));
            Ok(Some(token))
        }
        _ => Ok(None),
    }
}

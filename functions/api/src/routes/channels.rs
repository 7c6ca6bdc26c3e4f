//! Notification channels (issue 16): list, create, read, change (JSON merge patch), delete, and
//! send a test message. Every answer shows secrets (webhook URLs, bot tokens, routing keys, API
//! keys, signing secrets) as `***`; what a provider answered to a test is scrubbed of them too.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use lookout_app::clock::SystemClock;
use lookout_app::usecases::notify::Notifier;
use lookout_core::notify::channel::MASK;
use lookout_core::notify::Channel;
use serde_json::{json, Value};

use super::AppState;
use crate::audit::{AuditChange, AuditExt as _, Audited};
use crate::extract::{parse_json, Path};
use crate::{ApiError, Json, Store};

/// How long a delivery made by the API (a channel's test, a delivery's retry) may take, ms
/// from the request: its requests and retries end
/// [`DEADLINE_MARGIN_MS`](lookout_app::usecases::notify::DEADLINE_MARGIN_MS) before it, well
/// inside API Gateway's 29 s integration timeout and the function's 30 s, so the function is
/// not stopped with a delivery claimed and left `sending`.
pub const API_DELIVERY_DEADLINE_MS: i64 = 20_000;

/// The deadline of a delivery the API starts now, epoch ms.
pub(crate) fn api_deadline() -> i64 {
    lookout_core::time::now_ms().saturating_add(API_DELIVERY_DEADLINE_MS)
}

/// Every channel (secrets `***`)
///
/// By id: `{"channels":[{"id","name","kind","config","enabled","language","route","version",
/// "created_at","updated_at"}]}`.
#[utoipa::path(get, path = "/v1/channels", tag = "admin",
    responses((status = 200, description = "OK", body = Object)))]
pub async fn list_channels<S: Store>(State(app): State<AppState<S>>) -> Result<Json, ApiError> {
    let channels: Vec<Channel> = app
        .store
        .channels()
        .await?
        .iter()
        .map(Channel::redacted)
        .collect();
    Ok(Json::ok(json!({ "channels": channels })))
}

/// Create a channel
///
/// The body is a channel: `{"id", "name", "kind", "config": {...}, "enabled", "language",
/// "route": {"min_severity", "kinds", "groups", "tags"}}` (`kind` one of `slack`, `telegram`,
/// `discord`, `teams`, `pagerduty`, `opsgenie`, `email`, `webhook`; `config` the kind's fields;
/// `name` defaults to the id).
/// 201 with `Location` and `{"channel": ...}` (secrets `***`); 409 when the id exists; 422
/// naming the field (`config.webhook_url`, `route.min_severity`, ...).
#[utoipa::path(post, path = "/v1/channels", tag = "admin",
    request_body(content = Value, content_type = "application/json"),
    responses((status = 201, description = "Created", body = Object)))]
pub async fn create_channel<S: Store>(
    State(app): State<AppState<S>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut channel = parse_channel(parse_json(&body)?)?;
    let now = lookout_core::time::now_ms();
    (channel.version, channel.created_at, channel.updated_at) = (0, now, now);
    if app.store.channel(&channel.id).await?.is_some() {
        return Err(ApiError::Conflict(format!("channel {} exists", channel.id)));
    }
    let stored = app.store.put_channel(&channel, None).await?;
    let mut response =
        Json(StatusCode::CREATED, json!({ "channel": stored.redacted() })).into_response();
    // The id is `[a-z0-9_-]`: always a valid header value.
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/channels/{}", stored.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    let change = AuditChange::of(
        "channel",
        &stored.id,
        None::<&Channel>,
        Some(&stored.redacted()),
    );
    Ok(response.audited(change).into_response())
}

/// One channel (secrets `***`)
///
/// `{"channel": ...}`; 404 when there is none.
#[utoipa::path(get, path = "/v1/channels/{id}", tag = "admin",
    params(("id" = String, Path, min_length = 1, description = "Channel id")),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn get_channel<S: Store>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
) -> Result<Json, ApiError> {
    let channel = find(&app.store, &id).await?;
    Ok(Json::ok(json!({ "channel": channel.redacted() })))
}

/// Change a channel (JSON merge patch with the version read)
///
/// A JSON merge patch (RFC 7396) of the channel as `GET` shows it, with the `version` the
/// caller read (required; a stale one is 409). A secret sent back as `***` keeps the stored
/// one. `id` cannot change. `kind` can, with a whole new `config` (it replaces the old one
/// instead of being merged into it, and its secrets must be given, not `***`). The result is
/// validated like a new channel (422 naming the field). Answers `{"channel": ...}`.
#[utoipa::path(patch, path = "/v1/channels/{id}", tag = "admin",
    params(("id" = String, Path, min_length = 1, description = "Channel id")),
    request_body(content = Value, content_type = "application/json"),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn patch_channel<S: Store>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Audited<Json>, ApiError> {
    let Value::Object(mut patch) = parse_json(&body)? else {
        return Err(ApiError::invalid_target("the patch must be a JSON object"));
    };
    let version = patch
        .remove("version")
        .and_then(|v| v.as_u64())
        .ok_or_else(|| ApiError::invalid_field("version", "required, the version you read"))?;
    let current = find(&app.store, &id).await?;
    if current.version != version {
        return Err(ApiError::Conflict(format!(
            "channel {} is at version {}, not {version}: read it again",
            current.id, current.version
        )));
    }
    if patch.get("id").is_some_and(|v| v != current.id.as_str()) {
        return Err(ApiError::invalid_field(
            "id",
            "cannot change; create another channel instead",
        ));
    }
    let mut merged = serde_json::to_value(&current).unwrap_or(Value::Null);
    let new_kind = patch
        .get("kind")
        .is_some_and(|k| k != current.kind().as_str());
    if new_kind {
        // Another provider: the patch's `config` is the whole config, not merged into the old.
        match patch.remove("config") {
            Some(config @ Value::Object(_)) => merged["config"] = config,
            _ => {
                return Err(ApiError::invalid_field(
                    "config",
                    "required in full when kind changes",
                ))
            }
        }
    }
    json_patch::merge(&mut merged, &Value::Object(patch));
    if let Value::Object(o) = &mut merged {
        for server_side in ["version", "created_at", "updated_at"] {
            o.remove(server_side);
        }
    }
    if !new_kind {
        // A `***` sent back keeps the stored secret (before validation, which refuses masks).
        for (field, stored) in secret_fields(&current) {
            if let Some(v) = merged["config"].get_mut(field).filter(|v| *v == MASK) {
                *v = Value::String(stored);
            }
        }
    }
    let mut channel = parse_channel(merged)?;
    channel.version = current.version;
    channel.created_at = current.created_at;
    channel.updated_at = lookout_core::time::now_ms();
    let saved = app.store.put_channel(&channel, Some(version)).await?;
    let change = AuditChange::of(
        "channel",
        &id,
        Some(&current.redacted()),
        Some(&saved.redacted()),
    )
    .with_secrets_of(&current, &channel);
    Ok(Json::ok(json!({ "channel": saved.redacted() })).audited(change))
}

/// Delete a channel
///
/// 204; 404 when there is none. Its delivery records stay until their TTL.
#[utoipa::path(delete, path = "/v1/channels/{id}", tag = "admin",
    params(("id" = String, Path, min_length = 1, description = "Channel id")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_channel<S: Store>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
) -> Result<Audited<StatusCode>, ApiError> {
    let before = match is_channel_id(&id) {
        true => app.store.channel(&id).await?.map(|c| c.redacted()),
        false => None,
    };
    if is_channel_id(&id) && app.store.delete_channel(&id).await? {
        let change = AuditChange::of("channel", &id, before.as_ref(), None::<&Channel>);
        Ok(StatusCode::NO_CONTENT.audited(change))
    } else {
        Err(no_channel(&id))
    }
}

/// Send a test message through a channel and answer what the provider said
///
/// Sends the channel's test message (enabled or not; no delivery record) and answers
/// `{"channel": id, "ok": bool, "answers": [{"status": 200, "body": "..."} | {"error": "..."}]}`:
/// one entry per request (PagerDuty and Opsgenie send a trigger and its resolve), the body the
/// start of what the provider answered, `error` when a request got no answer. `ok` is true when
/// every request was accepted (2xx). 200 even when the provider refused (then `ok` is false);
/// 404 when there is no such channel. Secrets are `***` in bodies and errors. The requests
/// must end within 15 s: one that could not is not sent (its entry is an error saying so).
#[utoipa::path(post, path = "/v1/channels/{id}/test", tag = "admin",
    params(("id" = String, Path, min_length = 1, description = "Channel id")),
    responses((status = 200, description = "What the provider answered", body = Object)))]
pub async fn test_channel<S: Store>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
) -> Result<Json, ApiError> {
    let channel = find(&app.store, &id).await?;
    let answers = notifier(&app).test_by(&channel, Some(api_deadline())).await;
    let secrets = secrets_of(&channel);
    let ok = !answers.is_empty()
        && answers
            .iter()
            .all(|a| a.as_ref().is_ok_and(|a| a.accepted()));
    let answers: Vec<Value> = answers
        .into_iter()
        .map(|a| match a {
            Ok(a) => json!({"status": a.status, "body": scrub_text(&a.body, &secrets)}),
            Err(e) => json!({"error": scrub_text(&e.0, &secrets)}),
        })
        .collect();
    Ok(Json::ok(
        json!({"channel": channel.id, "ok": ok, "answers": answers}),
    ))
}

/// The notifier of `app`, over its store (channels and delivery records), its HTTP and mail
/// senders, its settings and its secret resolver, for one request.
pub(crate) fn notifier<S: Store>(
    app: &AppState<S>,
) -> Notifier<&S, &S, &lookout_app::notify::HttpNotifier, &lookout_aws::mail::AwsMail> {
    Notifier {
        channels: &app.store,
        log: &app.store,
        http: &app.notify.http,
        mail: &app.notify.mail,
        clock: SystemClock::shared(),
        settings: app.notify.settings.clone(),
        secrets: app.secrets.clone(),
    }
}

/// The channel `id`, secrets opened.
///
/// # Errors
/// 404 when there is none; the store's errors.
async fn find<S: Store>(store: &S, id: &str) -> Result<Channel, ApiError> {
    if !is_channel_id(id) {
        return Err(no_channel(id));
    }
    store.channel(id).await?.ok_or_else(|| no_channel(id))
}

/// Whether `id` can be a channel's: 1 to 64 characters of `a-z`, `0-9`, `_` and `-` (the rule
/// of [`Channel::validate`]). Anything else names no channel, and is not sent to the table
/// (whose keys have limits of their own).
pub(crate) fn is_channel_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// 404 naming the channel.
pub(crate) fn no_channel(id: &str) -> ApiError {
    ApiError::not_found(format!("no channel {}", lookout_core::redact::clip(id, 64)))
}

/// A channel from its JSON, validated by [`Channel::from_json`] (unknown fields, the kind's
/// settings in the providers' documented shapes, the route).
///
/// # Errors
/// 422 `invalid_target` naming the field (`kind`, `config.bot_token`, `route.min_severity`);
/// messages never quote a secret.
fn parse_channel(value: Value) -> Result<Channel, ApiError> {
    Channel::from_json(value).map_err(|e| ApiError::invalid_field(e.field, e.message))
}

/// `(field, value)` of every secret of `c`.
fn secret_fields(c: &Channel) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut clone = c.config.clone();
    let _ = clone.for_each_secret_mut(|field, v| {
        out.push((field, v.clone()));
        Ok::<(), ()>(())
    });
    out
}

/// The secret values of `c` worth scrubbing from text (empty and masked ones left out). A URL
/// counts whole and by its path and query too (where webhook URLs keep their token), since a
/// provider or a proxy may echo only the path.
pub(crate) fn secrets_of(c: &Channel) -> Vec<String> {
    let mut out = Vec::new();
    for (_, v) in secret_fields(c) {
        if v.is_empty() || v == MASK {
            continue;
        }
        if let Ok(u) = url::Url::parse(&v) {
            let path = u.path();
            if path.len() > 1 {
                out.push(path.to_string());
            }
            if let Some(q) = u.query().filter(|q| !q.is_empty()) {
                out.push(q.to_string());
            }
        }
        out.push(v);
    }
    // Longest first, so that a whole URL is masked before its path.
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out
}

/// `text` with every occurrence of a secret replaced by `***`, credentials in URLs masked.
pub(crate) fn scrub_text(text: &str, secrets: &[String]) -> String {
    let mut out = lookout_core::redact::redact_text(text);
    // Shorter strings (a path of `/x`) would mask innocent text and protect nothing.
    for s in secrets.iter().filter(|s| s.len() >= 6) {
        out = out.replace(s.as_str(), MASK);
    }
    out
}

/// Every string inside `value` scrubbed of `secrets` ([`scrub_text`]).
pub(crate) fn scrub(value: &mut Value, secrets: &[String]) {
    match value {
        Value::String(s) => *s = scrub_text(s, secrets),
        Value::Array(items) => items.iter_mut().for_each(|v| scrub(v, secrets)),
        Value::Object(map) => map.values_mut().for_each(|v| scrub(v, secrets)),
        _ => {}
    }
}

//! Notification channels (issue 16): list, create, read, change (JSON merge patch), delete, and
//! send a test message. Every answer shows secrets (webhook URLs, bot tokens, routing keys, API
//! keys, signing secrets) as `***`; what a provider answered to a test is scrubbed of them too.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use lookout_app::clock::SystemClock;
use lookout_app::usecases::notify::Notifier;
use lookout_core::notify::{Channel, ChannelKind};
use serde_json::{json, Value};

use super::AppState;
use crate::extract::{parse_json, Path};
use crate::{ApiError, Json, Store};

/// How every secret is shown.
pub const MASK: &str = "***";

/// Every channel (secrets `***`)
///
/// By id: `{"channels":[{"id","name","kind","config","enabled","language","route","version",
/// "created_at","updated_at"}]}`.
#[utoipa::path(get, path = "/v1/channels", tag = "admin",
    responses((status = 200, description = "OK", body = Object)))]
pub async fn list_channels<S: Store>(State(app): State<AppState<S>>) -> Result<Json, ApiError> {
    let channels: Vec<Channel> = app.store.channels().await?.iter().map(redacted).collect();
    Ok(Json::ok(json!({ "channels": channels })))
}

/// Create a channel
///
/// The body is a channel: `{"id", "name", "kind", "config": {...}, "enabled", "language",
/// "route": {"min_severity", "kinds", "groups", "tags"}}` (`kind` one of `slack`, `telegram`,
/// `discord`, `teams`, `pagerduty`, `opsgenie`, `email`, `webhook`; `config` the kind's fields).
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
    refuse_masks(&channel)?;
    let now = lookout_core::time::now_ms();
    (channel.version, channel.created_at, channel.updated_at) = (0, now, now);
    if app.store.channel(&channel.id).await?.is_some() {
        return Err(ApiError::Conflict(format!("channel {} exists", channel.id)));
    }
    let stored = app.store.put_channel(&channel, None).await?;
    let mut response =
        Json(StatusCode::CREATED, json!({ "channel": redacted(&stored) })).into_response();
    // The id is `[a-z0-9_-]`: always a valid header value.
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/channels/{}", stored.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
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
    Ok(Json::ok(json!({ "channel": redacted(&channel) })))
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
) -> Result<Json, ApiError> {
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
    refuse_masks(&channel)?;
    channel.version = current.version;
    channel.created_at = current.created_at;
    channel.updated_at = lookout_core::time::now_ms();
    let saved = app.store.put_channel(&channel, Some(version)).await?;
    Ok(Json::ok(json!({ "channel": redacted(&saved) })))
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
) -> Result<StatusCode, ApiError> {
    if app.store.delete_channel(&id).await? {
        Ok(StatusCode::NO_CONTENT)
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
/// 404 when there is no such channel. Secrets are `***` in bodies and errors.
#[utoipa::path(post, path = "/v1/channels/{id}/test", tag = "admin",
    params(("id" = String, Path, min_length = 1, description = "Channel id")),
    responses((status = 200, description = "What the provider answered", body = Object)))]
pub async fn test_channel<S: Store>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
) -> Result<Json, ApiError> {
    let channel = find(&app.store, &id).await?;
    let answers = notifier(&app).test(&channel).await;
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
    store.channel(id).await?.ok_or_else(|| no_channel(id))
}

/// 404 naming the channel.
pub(crate) fn no_channel(id: &str) -> ApiError {
    ApiError::not_found(format!("no channel {}", lookout_core::redact::clip(id, 64)))
}

// ---- Input, validation and redaction -------------------------------------------------------
// Thin local versions until `Channel::parse`, `Channel::redacted` and
// `Channel::restore_secrets` land in `lookout_core::notify` (issue 16, core-render).

/// Top-level fields a channel body may have (`version`, `created_at` and `updated_at` are the
/// server's and ignored).
const FIELDS: &[&str] = &[
    "id",
    "name",
    "kind",
    "config",
    "enabled",
    "language",
    "route",
    "version",
    "created_at",
    "updated_at",
];

/// What `kind` may be.
const KINDS: &str =
    "must be one of slack, telegram, discord, teams, pagerduty, opsgenie, email, webhook";

/// A channel from its JSON, validated.
///
/// # Errors
/// 422 `invalid_target` naming the field (`kind`, `config.bot_token`, `route.min_severity`);
/// messages never quote a value of `config`.
fn parse_channel(value: Value) -> Result<Channel, ApiError> {
    let Value::Object(obj) = value else {
        return Err(ApiError::invalid_target("a channel must be a JSON object"));
    };
    if let Some(unknown) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(ApiError::invalid_field(
            lookout_core::redact::clip(unknown, 64),
            format_args!("unknown field; expected one of {}", FIELDS.join(", ")),
        ));
    }
    // The values of `config` may be secrets: no message may quote them.
    let secrets: Vec<String> = match obj.get("config") {
        Some(Value::Object(c)) => c
            .values()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    let bad = |path: &str, message: &str| {
        let message = scrub_text(message, &secrets);
        ApiError::invalid_field(path.to_string(), message)
    };
    match obj.get("kind") {
        Some(kind) if serde_json::from_value::<ChannelKind>(kind.clone()).is_ok() => {}
        Some(_) => return Err(bad("kind", KINDS)),
        None => return Err(bad("kind", "required")),
    }
    if !matches!(obj.get("config"), Some(Value::Object(_))) {
        return Err(bad("config", "required, an object of the kind's settings"));
    }
    let tagged = json!({"kind": obj["kind"], "config": obj["config"]});
    serde_path_to_error::deserialize::<_, lookout_core::notify::ChannelConfig>(tagged)
        .map_err(|e| serde_field(&e, "config", &bad))?;
    let channel: Channel = serde_path_to_error::deserialize(Value::Object(obj))
        .map_err(|e| serde_field(&e, "", &bad))?;
    validate(&channel)?;
    Ok(channel)
}

/// The 422 of a serde error: the field is its path, or the missing or unknown field inside
/// it, under `within` (serde's path inside an adjacently tagged enum may lack the `config.`).
fn serde_field(
    e: &serde_path_to_error::Error<serde_json::Error>,
    within: &str,
    bad: &impl Fn(&str, &str) -> ApiError,
) -> ApiError {
    let inner = e.inner().to_string();
    let mut path = e.path().to_string();
    if path == "." {
        path.clear();
    }
    if !within.is_empty() && path != within && !path.starts_with(&format!("{within}.")) {
        path = if path.is_empty() {
            within.to_string()
        } else {
            format!("{within}.{path}")
        };
    }
    let named = |prefix: &str| {
        inner
            .strip_prefix(prefix)
            .and_then(|r| r.split('`').next())
            .map(|name| {
                let name = lookout_core::redact::clip(name, 64);
                if path.is_empty() {
                    name
                } else if path.rsplit('.').next() == Some(name.as_str()) {
                    path.clone() // serde_path_to_error names an unknown field itself
                } else {
                    format!("{path}.{name}")
                }
            })
    };
    if let Some(field) = named("missing field `") {
        return bad(&field, "required");
    }
    if let Some(field) = named("unknown field `") {
        return bad(&field, "unknown field");
    }
    let path = if path.is_empty() { "definition" } else { &path };
    bad(path, &inner)
}

/// The rules serde does not check.
fn validate(c: &Channel) -> Result<(), ApiError> {
    use lookout_core::notify::ChannelConfig as C;
    let id_ok = (1..=64).contains(&c.id.len())
        && c.id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !id_ok {
        return Err(ApiError::invalid_field(
            "id",
            "1 to 64 characters of a-z, 0-9, _ and -",
        ));
    }
    if c.name.trim().is_empty() || c.name.chars().count() > 200 {
        return Err(ApiError::invalid_field("name", "1 to 200 characters"));
    }
    let mut clone = c.config.clone();
    clone.for_each_secret_mut(|field, value| {
        if value.trim().is_empty() {
            return Err(ApiError::invalid_field(
                format!("config.{field}"),
                "required",
            ));
        }
        Ok(())
    })?;
    let url = |field: &str, value: &str| -> Result<(), ApiError> {
        if value.starts_with("{{") || value == MASK {
            return Ok(()); // a secret reference, resolved when sent; or a kept secret
        }
        match url::Url::parse(value) {
            Ok(u) if matches!(u.scheme(), "https" | "http") && u.host().is_some() => Ok(()),
            // Never quote the value: the URL is a secret.
            _ => Err(ApiError::invalid_field(
                format!("config.{field}"),
                "must be an http(s) URL",
            )),
        }
    };
    match &c.config {
        C::Slack { webhook_url } | C::Discord { webhook_url } | C::Teams { webhook_url } => {
            url("webhook_url", webhook_url)
        }
        C::Telegram { chat_id, .. } if chat_id.trim().is_empty() => Err(ApiError::invalid_field(
            "config.chat_id",
            "required: a chat id or @channelname",
        )),
        C::Email { to, topic_arn } => {
            if to.is_empty() && topic_arn.as_deref().is_none_or(str::is_empty) {
                return Err(ApiError::invalid_field(
                    "config.to",
                    "give recipients (SES) or config.topic_arn (an SNS topic)",
                ));
            }
            match to.iter().position(|a| !a.contains('@') || a.len() > 254) {
                Some(i) => Err(ApiError::invalid_field(
                    format!("config.to[{i}]"),
                    "not an e-mail address",
                )),
                None => Ok(()),
            }
        }
        C::Webhook { url: u, secret } => {
            url("url", u)?;
            if secret != MASK && !secret.starts_with("{{") && secret.chars().count() < 16 {
                return Err(ApiError::invalid_field(
                    "config.secret",
                    "at least 16 characters",
                ));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// 422 when a secret is still `***` (a create, a new kind, or a mask with nothing to keep).
fn refuse_masks(c: &Channel) -> Result<(), ApiError> {
    let mut clone = c.config.clone();
    clone.for_each_secret_mut(|field, value| {
        if value == MASK {
            return Err(ApiError::invalid_field(
                format!("config.{field}"),
                "is *** (the mask): give the secret",
            ));
        }
        Ok(())
    })
}

/// `c` with every secret `***`.
pub(crate) fn redacted(c: &Channel) -> Channel {
    let mut out = c.clone();
    let _ = out.config.for_each_secret_mut(|_, v| {
        *v = MASK.to_string();
        Ok::<(), ()>(())
    });
    out
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

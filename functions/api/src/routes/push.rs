//! The push route of heartbeat targets (`/v1/push/{token}`): a job pings it when it finishes
//! (and when it starts, fails or has something to say), as healthchecks.io's ping API does
//! (`/ping/<uuid>`, `/start`, `/fail`, `/log`, `/<exit status>`; GET, HEAD and POST alike;
//! the request body kept as the ping's body). The probe run turns the pings into check
//! results (`lookout_core::domain::heartbeat`).
//!
//! No bearer token: the token in the path is the secret. The target is found by the SHA-256
//! of the token ([`push_token_hash`]) among the heartbeat targets' `token_sha256`, through the
//! instance's definitions cache (a target created, or a token rotated, through another API
//! instance is seen within [`super::DEFS_TTL`]). An unknown token and a disabled target are
//! the same 404. The request log names the route template, never the path
//! ([`crate::request_log`]); the answer is never cached (`Cache-Control: no-store`).
//!
//! Token lifecycle: [`new_push_token`] makes one when a heartbeat is created without one, and
//! for `POST /v1/targets/{id}/push-token`; [`push_url`] is the URL answered once.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use lookout_core::domain::heartbeat::{
    Ping, PingStatus, MAX_PING_BODY_BYTES, MAX_PING_MESSAGE_CHARS,
};
use lookout_core::domain::target::{push_token_hash, valid_push_token};
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use crate::error::UNAVAILABLE_RETRY_AFTER_S;
use crate::extract::{Path, Query};
use crate::{ApiError, Json, Store};

/// Largest ping body accepted, in bytes (100 KiB; 413 above). What is kept of it is
/// [`MAX_PING_BODY_BYTES`].
pub const MAX_PUSH_BODY_BYTES: usize = 100 * 1024;

/// Query of the push routes.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct PushQuery {
    /// What the ping reports when the path does not say: `ok` (the default), `fail`, `start`
    /// or `log`.
    #[param(value_type = Option<PingStatusName>, inline)]
    pub status: Option<String>,
    /// A short note, kept redacted, at most 200 characters (the rest is cut).
    #[param(value_type = Option<String>)]
    pub msg: Option<String>,
    /// The job's exit status, 0 to 255; without a `status`, 0 is `ok` and any other `fail`.
    #[param(value_type = Option<u8>, minimum = 0, maximum = 255)]
    pub exit_code: Option<String>,
}

/// What a ping reports (`status`).
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PingStatusName {
    /// The job finished well.
    Ok,
    /// The job failed.
    Fail,
    /// The job started.
    Start,
    /// A note that changes nothing.
    Log,
}

/// The answer of a recorded ping.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct PushAnswer {
    /// Always `true`.
    pub ok: bool,
    /// What the ping was recorded as: `ok`, `fail`, `start` or `log`.
    pub status: PingStatusName,
    /// When it was recorded (RFC 3339).
    pub at: String,
}

/// One ping as `GET /v1/targets/{id}/pings` answers it.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct PingView {
    /// When it arrived (RFC 3339).
    pub at: String,
    /// What it reported.
    pub status: PingStatusName,
    /// The job's exit status, when it sent one.
    #[schema(nullable)]
    pub exit_code: Option<i32>,
    /// The `msg` it carried (redacted, at most 200 characters).
    #[schema(nullable)]
    pub message: Option<String>,
    /// Its body (redacted, at most 4 KiB).
    #[schema(nullable)]
    pub body: Option<String>,
}

/// The answer of `GET /v1/targets/{id}/pings`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct PingsAnswer {
    /// The target's id.
    pub target_id: String,
    /// The newest `ok` ping (RFC 3339), `null` before the first.
    #[schema(nullable)]
    pub last_ok_at: Option<String>,
    /// The newest `fail` ping.
    #[schema(nullable)]
    pub last_fail_at: Option<String>,
    /// The newest `start` ping.
    #[schema(nullable)]
    pub last_start_at: Option<String>,
    /// The newest 10 pings, newest first.
    pub pings: Vec<PingView>,
}

/// The answer of `POST /v1/targets/{id}/push-token`, and what a created heartbeat's entry
/// adds: shown once.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct PushTokenAnswer {
    /// The target's id.
    pub id: String,
    /// The definition's version after the rotation.
    pub version: u64,
    /// The absolute push URL (from the request's `Host`), `null` without one.
    #[schema(nullable)]
    pub push_url: Option<String>,
    /// `/v1/push/<token>`.
    pub push_path: String,
    /// That the URL is shown only now.
    pub push_url_note: String,
}

/// Ping a heartbeat target (GET, HEAD or POST)
///
/// Records one ping of the heartbeat target whose push token is `token`: `ok`, unless
/// `status` or `exit_code` says otherwise; `msg` is kept as a note and the request body (at
/// most 100 KiB, 413 above; its first 4 KiB kept as text, redacted) as the ping's body.
/// Answers `{"ok": true, "status", "at"}`; 404 for an unknown token (a disabled target's
/// pings are kept: they are judged once it is enabled again); 503
/// with `Retry-After` when the ping could not be stored (retry). No bearer token.
#[utoipa::path(post, path = "/v1/push/{token}", tag = "push",
    params(("token" = String, Path, description = "The target's push token"), PushQuery),
    request_body(content = String, content_type = "text/plain",
        description = "Optional: the job's output, kept as the ping's body"),
    responses(
        (status = 200, description = "Recorded", body = PushAnswer),
    ))]
pub async fn push<S: Store>(
    State(app): State<AppState<S>>,
    Path(token): Path<String>,
    Query(q): Query<PushQuery>,
    req: Request,
) -> Result<Response, ApiError> {
    record(&app, &token, None, q, req.into_body()).await
}

/// Ping a heartbeat target by GET or HEAD (cron's curl or wget)
///
/// As `POST /v1/push/{token}`.
#[utoipa::path(get, path = "/v1/push/{token}", tag = "push",
    params(("token" = String, Path, description = "The target's push token"), PushQuery),
    responses(
        (status = 200, description = "Recorded", body = PushAnswer),
    ))]
pub async fn push_get<S: Store>(
    State(app): State<AppState<S>>,
    Path(token): Path<String>,
    Query(q): Query<PushQuery>,
    req: Request,
) -> Result<Response, ApiError> {
    record(&app, &token, None, q, req.into_body()).await
}

/// Ping a heartbeat target with a signal in the path (GET, HEAD or POST)
///
/// `signal` is `start`, `fail`, `log` or an exit status `0` to `255` (0 `ok`, any other
/// `fail`, the status kept as `exit_code`); it wins over `status` and `exit_code` in the
/// query. Otherwise as `POST /v1/push/{token}`.
#[utoipa::path(post, path = "/v1/push/{token}/{signal}", tag = "push",
    params(("token" = String, Path, description = "The target's push token"),
        ("signal" = String, Path, pattern = "^(start|fail|log|[0-9]{1,3})$",
            description = "start, fail, log or an exit status 0 to 255"),
        PushQuery),
    request_body(content = String, content_type = "text/plain",
        description = "Optional: the job's output, kept as the ping's body"),
    responses(
        (status = 200, description = "Recorded", body = PushAnswer),
    ))]
pub async fn push_signal<S: Store>(
    State(app): State<AppState<S>>,
    Path((token, signal)): Path<(String, String)>,
    Query(q): Query<PushQuery>,
    req: Request,
) -> Result<Response, ApiError> {
    record(&app, &token, Some(&signal), q, req.into_body()).await
}

/// Ping a heartbeat target with a signal in the path, by GET or HEAD
///
/// As `POST /v1/push/{token}/{signal}`.
#[utoipa::path(get, path = "/v1/push/{token}/{signal}", tag = "push",
    params(("token" = String, Path, description = "The target's push token"),
        ("signal" = String, Path, pattern = "^(start|fail|log|[0-9]{1,3})$",
            description = "start, fail, log or an exit status 0 to 255"),
        PushQuery),
    responses(
        (status = 200, description = "Recorded", body = PushAnswer),
    ))]
pub async fn push_signal_get<S: Store>(
    State(app): State<AppState<S>>,
    Path((token, signal)): Path<(String, String)>,
    Query(q): Query<PushQuery>,
    req: Request,
) -> Result<Response, ApiError> {
    record(&app, &token, Some(&signal), q, req.into_body()).await
}

/// The ping's status and exit code from the path's signal, else the query.
///
/// # Errors
/// 404 for a signal that is none of `start`, `fail`, `log`, `0`..`255`; 400 naming `status`
/// or `exit_code` for a bad query value.
fn status_of(signal: Option<&str>, q: &PushQuery) -> Result<(PingStatus, Option<i32>), ApiError> {
    // ASCII digits only: `u8::from_str` also takes `+1`, which the documented pattern does not.
    let exit = |text: &str| {
        (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse::<u8>().ok().map(i32::from))
            .flatten()
    };
    if let Some(signal) = signal {
        return match signal {
            "start" => Ok((PingStatus::Start, None)),
            "fail" => Ok((PingStatus::Fail, None)),
            "log" => Ok((PingStatus::Log, None)),
            code => match exit(code) {
                Some(0) => Ok((PingStatus::Ok, Some(0))),
                Some(c) => Ok((PingStatus::Fail, Some(c))),
                None => Err(ApiError::not_found(
                    "no such push signal: start, fail, log or an exit status 0 to 255",
                )),
            },
        };
    }
    let exit_code = q
        .exit_code
        .as_deref()
        .map(|c| exit(c).ok_or_else(|| ApiError::bad_request("exit_code must be 0 to 255")))
        .transpose()?;
    let status = match q.status.as_deref() {
        None => match exit_code {
            Some(c) if c != 0 => PingStatus::Fail,
            _ => PingStatus::Ok,
        },
        Some("ok") => PingStatus::Ok,
        Some("fail") => PingStatus::Fail,
        Some("start") => PingStatus::Start,
        Some("log") => PingStatus::Log,
        Some(_) => {
            return Err(ApiError::bad_request(
                "status must be ok, fail, start or log",
            ))
        }
    };
    Ok((status, exit_code))
}

/// `text` cut to at most `max` bytes at a character boundary.
fn cut(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// 413 for a ping body over [`MAX_PUSH_BODY_BYTES`].
fn too_large() -> Response {
    Json(
        StatusCode::PAYLOAD_TOO_LARGE,
        json!({"error": {"code": "payload_too_large", "message": "the ping body is over 100 KiB"}}),
    )
    .into_response()
}

/// Finds the target, reads the body and records the ping.
async fn record<S: Store>(
    app: &AppState<S>,
    token: &str,
    signal: Option<&str>,
    q: PushQuery,
    body: Body,
) -> Result<Response, ApiError> {
    let (status, exit_code) = status_of(signal, &q)?;
    let not_found = || ApiError::not_found("no heartbeat target has this push token");
    if !valid_push_token(token) {
        return Err(not_found());
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_PUSH_BODY_BYTES).await else {
        return Ok(too_large());
    };
    let hash = push_token_hash(token);
    let defs = super::defs::definitions(&app.store, &app.defs).await?;
    let target = defs
        .iter()
        .find(|t| {
            t.heartbeat()
                .is_some_and(|h| h.token_sha256.as_deref() == Some(hash.as_str()))
        })
        // A disabled (paused) target keeps its pings, so that re-enabling it judges the
        // newest one rather than the last before the pause (healthchecks.io takes pings to
        // a paused check too).
        .ok_or_else(not_found)?;
    let message = q
        .msg
        .as_deref()
        .map(lookout_core::redact::redact_text)
        .map(|m| m.chars().take(MAX_PING_MESSAGE_CHARS).collect::<String>())
        .filter(|m| !m.is_empty());
    let body = (!bytes.is_empty()).then(|| {
        let text = lookout_core::redact::redact_text(&String::from_utf8_lossy(&bytes));
        cut(text, MAX_PING_BODY_BYTES)
    });
    let at = lookout_core::time::now_ms();
    let ping = Ping {
        at,
        status,
        exit_code,
        message,
        body,
    };
    if let Err(e) = app.store.record_ping(&target.id, ping).await {
        // The job's curl retries (`--retry`) on a 503 that says when.
        tracing::warn!(target = %target.id, error = %e, "ping not recorded");
        let mut response = Json(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": {"code": "unavailable", "message": "the ping could not be stored; retry shortly"}}),
        )
        .into_response();
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(UNAVAILABLE_RETRY_AFTER_S),
        );
        return Ok(response);
    }
    Ok(Json::ok(json!({
        "ok": true,
        "status": status.as_str(),
        "at": lookout_core::time::rfc3339(at),
    }))
    .into_response())
}

/// A new push token: 32 bytes from the system's random source (ring's `SystemRandom`),
/// base64url without padding (43 characters, 256 bits).
///
/// # Errors
/// 500 when the system's random source fails.
pub fn new_push_token() -> Result<String, ApiError> {
    use base64::Engine as _;
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| ApiError::internal("the system's random source failed"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The path of a push token's route: `/v1/push/<token>`.
pub fn push_path(token: &str) -> String {
    format!("/v1/push/{token}")
}

/// The absolute push URL of `token`, built from the request's `Host` (else the authority of
/// its URI; the API has no public URL setting) and `X-Forwarded-Proto` (API Gateway sets it; else `https`, or `http` for a
/// loopback host), with `base_path` (`LOOKOUT_BASE_PATH`, the prefix the API is reached under;
/// empty on AWS) before the route's path; `None` when the request has no usable `Host` (then
/// [`push_path`] is all there is).
pub fn push_url(headers: &HeaderMap, uri: &Uri, base_path: &str, token: &str) -> Option<String> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 261
                && h.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
                })
        })?;
    let loopback = ["localhost", "127.0.0.1", "[::1]"]
        .iter()
        .any(|l| host == *l || host.starts_with(&format!("{l}:")));
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
    {
        Some("http") => "http",
        Some("https") => "https",
        _ if loopback => "http",
        _ => "https",
    };
    Some(format!("{scheme}://{host}{base_path}{}", push_path(token)))
}

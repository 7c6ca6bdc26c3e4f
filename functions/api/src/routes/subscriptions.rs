//! `POST /v1/subscriptions`: a reader of the status page asks for incident notices by e-mail.
//! SNS sends the address a confirmation mail and sends nothing more until it is confirmed (the
//! double opt-in). The answer is the same whether the address was subscribed before or not, and
//! never names another subscriber.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use lookout_app::ports::{IncidentNotices, NoticeError};
use lookout_core::domain::incident::subscriber_email;
use serde_json::{json, Value};

use super::AppState;
use crate::extract::parse_json;
use crate::{ApiError, Json, Store};

/// Longest body: `{"email": ...}` with a 254-byte address, and room.
const MAX_SUBSCRIBE_BYTES: usize = 1_024;

/// 503 `unavailable` without `Retry-After`: no subscriber topic, or SNS did not answer.
fn unavailable(message: &str) -> Json {
    Json(
        StatusCode::SERVICE_UNAVAILABLE,
        json!({"error": {"code": "unavailable", "message": message}}),
    )
}

/// Subscribe an e-mail address to incident notices
///
/// `{"email": "name@example.com"}`: 202 `{"status": "pending_confirmation"}`; the address gets
/// a confirmation mail and hears of incidents once it confirms. 422 naming `email` when it is
/// not a plausible address; 503 `unavailable` when no subscriber topic is configured
/// (`LOOKOUT_STATUS_TOPIC_ARN`) or SNS does not answer.
#[utoipa::path(post, path = "/v1/subscriptions", tag = "public",
    request_body(content = Value, content_type = "application/json"),
    responses((status = 202, description = "Confirmation mail sent", body = Object)))]
pub async fn subscribe<S: Store>(
    State(app): State<AppState<S>>,
    body: Bytes,
) -> Result<Json, ApiError> {
    if body.len() > MAX_SUBSCRIBE_BYTES {
        return Err(ApiError::invalid_field("email", "too long"));
    }
    let Value::Object(mut fields) = parse_json(&body)? else {
        return Err(ApiError::invalid_field(
            "email",
            "expected {\"email\": \"...\"}",
        ));
    };
    if let Some(other) = fields.keys().find(|k| *k != "email") {
        return Err(ApiError::invalid_field(
            lookout_core::redact::clip(other, 100),
            "unknown field; expected only email",
        ));
    }
    let email = match fields.remove("email") {
        Some(Value::String(e)) => {
            subscriber_email(&e).map_err(|e| ApiError::invalid_field(e.field, e.message))?
        }
        Some(_) => return Err(ApiError::invalid_field("email", "must be a string")),
        None => return Err(ApiError::invalid_field("email", "required")),
    };
    match app.notify.subscriptions.subscribe_email(&email).await {
        Ok(_) => Ok(Json(
            StatusCode::ACCEPTED,
            json!({"status": "pending_confirmation"}),
        )),
        Err(NoticeError::NotConfigured) => Ok(unavailable(
            "subscriptions are not configured (LOOKOUT_STATUS_TOPIC_ARN)",
        )),
        Err(NoticeError::Refused(m)) => {
            tracing::info!(error = %m, "subscription refused");
            Err(ApiError::invalid_field(
                "email",
                "refused by the mail service",
            ))
        }
        Err(NoticeError::Failed(m)) => {
            tracing::warn!(error = %m, "subscription failed");
            Ok(unavailable(
                "the mail service did not answer; retry shortly",
            ))
        }
    }
}

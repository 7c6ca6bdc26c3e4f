//! The API's one error type and its mapping to an HTTP answer, done once at the edge
//! ([`IntoResponse`]): `{"error":{"code","message"}}` with the variant's status (and `field`,
//! the JSON path, when one field is to blame; `Retry-After` on 503 `unavailable`). Internal
//! causes are logged where they are turned into an `ApiError`, never sent.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use lookout_app::ports::StoreError;
use serde_json::json;

/// An error answer; each variant has one status and one `code`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 `bad_request`: bad JSON, query or body.
    #[error("{0}")]
    BadRequest(String),
    /// 401 `unauthorized`: no token, or a wrong one.
    #[error("a valid 'Authorization: Bearer <admin token>' header is required")]
    Unauthorized,
    /// 403 `forbidden`: the read token on an admin route.
    #[error("this route needs the admin token; the read token cannot change anything")]
    Forbidden,
    /// 404 `not_found`: no such route or resource (the message names it).
    #[error("{0}")]
    NotFound(String),
    /// 405 `method_not_allowed`: the message names the methods the path allows.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 409 `conflict`: an id exists, or a stale version.
    #[error("{0}")]
    Conflict(String),
    /// 413 `payload_too_large`: the body is over [`crate::MAX_BODY_BYTES`].
    #[error("the body is over 1 MiB")]
    PayloadTooLarge,
    /// 422 `invalid_target`: a definition that does not validate, no single field to blame
    /// unless `field` (the entry's JSON path) is given.
    #[error("{message}")]
    InvalidTarget {
        /// Human text, safe to show.
        message: String,
        /// The JSON path of the entry to blame (`targets[2]`), answered as `error.field`.
        field: Option<String>,
    },
    /// 422 `invalid_target` blaming one field: `message` is `<field>: <what is wrong>`.
    #[error("{message}")]
    InvalidField {
        /// The JSON path of the field (`targets[2].timeout_ms`), answered as `error.field`.
        field: String,
        /// Human text, safe to show, starting with the field.
        message: String,
    },
    /// 422 `invalid_request`: a well-formed body of the wrong shape (checks, proxy usage).
    #[error("{0}")]
    InvalidRequest(String),
    /// 422 `corrupt_dump`: a dump's manifest or parts cannot be read.
    #[error("{0}")]
    CorruptDump(String),
    /// 500 `internal`: the message is safe to show (the cause is logged).
    #[error("{0}")]
    Internal(String),
    /// 503 `not_configured`: a route whose setting is missing (dumps without a bucket).
    #[error("{0}")]
    NotConfigured(String),
    /// 503 `restore_incomplete`: a restore left items unwritten.
    #[error("{0}")]
    RestoreIncomplete(String),
    /// 503 `unavailable` with `Retry-After`: the table's DynamoDB endpoint does not answer.
    #[error("the table's DynamoDB endpoint does not answer; retry shortly")]
    Unavailable,
}

/// Seconds a client is asked to wait (`Retry-After`) while the table does not answer.
pub const UNAVAILABLE_RETRY_AFTER_S: u32 = 5;

/// The message of every 500: the cause is in the log.
const INTERNAL: &str = "internal error; see the function's log";

impl ApiError {
    /// 422 `invalid_target` blaming `field` (a JSON path such as `targets[2].timeout_ms`): the
    /// message is `<field>: <what is wrong>` and the body's `error.field` names it.
    pub fn invalid_field(field: impl Into<String>, message: impl std::fmt::Display) -> Self {
        let field = field.into();
        let message = format!("{field}: {message}");
        ApiError::InvalidField { field, message }
    }

    /// 422 `invalid_target` with no field named.
    pub fn invalid_target(message: impl Into<String>) -> Self {
        ApiError::InvalidTarget {
            message: message.into(),
            field: None,
        }
    }

    /// 400 `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest(message.into())
    }

    /// 404 `not_found`.
    pub fn not_found(what: impl Into<String>) -> Self {
        ApiError::NotFound(what.into())
    }

    /// 500 `internal` with the standard message; `cause` goes to the log only.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        ApiError::Internal(INTERNAL.into())
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::InvalidTarget { .. }
            | ApiError::InvalidField { .. }
            | ApiError::InvalidRequest(_)
            | ApiError::CorruptDump(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::NotConfigured(_) | ApiError::RestoreIncomplete(_) | ApiError::Unavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    /// The stable machine-readable code, e.g. `invalid_target`.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed(_) => "method_not_allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::InvalidTarget { .. } | ApiError::InvalidField { .. } => "invalid_target",
            ApiError::InvalidRequest(_) => "invalid_request",
            ApiError::CorruptDump(_) => "corrupt_dump",
            ApiError::Internal(_) => "internal",
            ApiError::NotConfigured(_) => "not_configured",
            ApiError::RestoreIncomplete(_) => "restore_incomplete",
            ApiError::Unavailable => "unavailable",
        }
    }

    /// The JSON path answered as `error.field`, when one field or entry is to blame.
    pub fn field(&self) -> Option<&str> {
        match self {
            ApiError::InvalidField { field, .. } => Some(field),
            ApiError::InvalidTarget { field, .. } => field.as_deref(),
            _ => None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code(), "message": self.to_string()});
        if let Some(field) = self.field() {
            error["field"] = json!(field);
        }
        let mut response = Json(self.status(), json!({ "error": error })).into_response();
        if matches!(self, ApiError::Unavailable) {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(UNAVAILABLE_RETRY_AFTER_S),
            );
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => ApiError::Conflict(m),
            StoreError::Unavailable(m) => {
                tracing::warn!(error = %m, "storage unavailable");
                ApiError::Unavailable
            }
            StoreError::Refused(m) => ApiError::invalid_target(m),
            other => {
                tracing::error!(error = %other, "storage failed");
                ApiError::Internal(INTERNAL.into())
            }
        }
    }
}

/// A JSON answer: `status`, the compact JSON text of the value, `content-type:
/// application/json` and `cache-control: no-store`.
#[derive(Debug, Clone)]
pub struct Json(pub StatusCode, pub serde_json::Value);

impl Json {
    /// 200 with `value`.
    pub fn ok(value: serde_json::Value) -> Self {
        Json(StatusCode::OK, value)
    }
}

impl IntoResponse for Json {
    fn into_response(self) -> Response {
        (
            self.0,
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            self.1.to_string(),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_write_is_a_422_saying_why() {
        let e = ApiError::from(StoreError::Refused("needs a key".into()));
        assert_eq!(
            (e.status(), e.code(), e.to_string().as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_target",
                "needs a key"
            )
        );
    }
}

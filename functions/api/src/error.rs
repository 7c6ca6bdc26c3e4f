//! The API's one error type and its mapping to an HTTP answer, done once at the edge:
//! `{"error":{"code","message"}}` with the right status (and `field`, the JSON path, when one
//! field is to blame); internal causes are logged, never sent.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use lookout::ports::StoreError;
use serde_json::json;

/// An error answer.
#[derive(Debug, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code, e.g. `invalid_target`.
    pub code: &'static str,
    /// Human text, safe to show.
    pub message: String,
    /// The JSON path of the offending field (`targets[2].timeout_ms`), when one is to blame:
    /// answered as `error.field`.
    pub field: Option<String>,
    /// Seconds to wait before trying again, answered as the `Retry-After` header.
    pub retry_after_s: Option<u32>,
}

/// Seconds a client is asked to wait (`Retry-After`) while the table does not answer.
pub const UNAVAILABLE_RETRY_AFTER_S: u32 = 5;

impl ApiError {
    /// An error with the given status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after_s: None,
        }
    }

    /// 422 `invalid_target` blaming `field` (a JSON path such as `targets[2].timeout_ms`): the
    /// message is `<field>: <what is wrong>` and the body's `error.field` names it.
    pub fn invalid_field(field: impl Into<String>, message: impl std::fmt::Display) -> Self {
        let field = field.into();
        let mut e = Self::invalid_target(format!("{field}: {message}"));
        e.field = Some(field);
        e
    }

    /// 503 `unavailable`: the table's DynamoDB endpoint did not answer (no connection, or a
    /// timeout); with `Retry-After`.
    pub fn unavailable() -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the table's DynamoDB endpoint does not answer; retry shortly",
        );
        e.retry_after_s = Some(UNAVAILABLE_RETRY_AFTER_S);
        e
    }

    /// 400 `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 401 `unauthorized`.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid 'Authorization: Bearer <admin token>' header is required",
        )
    }

    /// 404 `not_found`.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", what)
    }

    /// 422 `invalid_target`, the message naming the field.
    pub fn invalid_target(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_target", message)
    }

    /// The JSON answer.
    pub fn into_response(self) -> Response<Body> {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(field) = self.field {
            error["field"] = json!(field);
        }
        let mut response = json_response(self.status, &json!({ "error": error }));
        if let Some(s) = self.retry_after_s {
            response
                .headers_mut()
                .insert("retry-after", lambda_http::http::HeaderValue::from(s));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            StoreError::Unavailable(m) => {
                tracing::warn!(error = %m, "storage unavailable");
                ApiError::unavailable()
            }
            StoreError::Refused(m) => ApiError::invalid_target(m),
            other => {
                tracing::error!(error = %other, "storage failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; see the function's log",
                )
            }
        }
    }
}

/// A JSON answer with `status`.
pub fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .body(Body::Text(body.to_string()))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_write_is_a_422_saying_why() {
        let e = ApiError::from(StoreError::Refused("needs a key".into()));
        assert_eq!(
            (e.status, e.code, e.message.as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_target",
                "needs a key"
            )
        );
    }
}

//! Request extractors and the body limit, each failing with the API's own error answers
//! ([`ApiError`]) instead of axum's plain-text rejections.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{ApiError, MAX_BODY_BYTES};

/// The query string as `T`, a struct of optional text fields: the first value of each name,
/// percent-decoded; unknown names are ignored. Each handler checks the values it reads, so that
/// a bad one is a 400 naming the parameter (`limit must be 1 to 500`).
#[derive(Debug, Clone, Default)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let mut map = serde_json::Map::new();
        let query = parts.uri.query().unwrap_or("");
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            map.entry(k.into_owned())
                .or_insert_with(|| Value::String(v.into_owned()));
        }
        serde_path_to_error::deserialize(Value::Object(map))
            .map(Query)
            .map_err(|e| ApiError::bad_request(format!("{}: {}", e.path(), e.inner())))
    }
}

/// The path parameters as `T` (`String`, or a tuple of them), percent-decoded. A segment that
/// does not decode to UTF-8 matches no route (404, as an unknown path).
#[derive(Debug, Clone)]
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(_) => Err(no_route(parts.uri.path())),
        }
    }
}

/// 404 for a path no route serves.
pub fn no_route(path: &str) -> ApiError {
    ApiError::not_found(format!(
        "no route {}",
        lookout_core::redact::clip(path, 100)
    ))
}

/// A JSON body as `T`: `None` when the body is empty or blank, 400 `bad_request` when it is not
/// JSON (or not UTF-8), 422 `invalid_request` when it is JSON of the wrong shape (serde's message,
/// e.g. ``unknown variant `tcp`, expected `server` or `proxy` ``).
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub Option<T>);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::PayloadTooLarge)?;
        if is_blank(&body) {
            return Ok(JsonBody(None));
        }
        let value = parse_json(&body)?;
        serde_path_to_error::deserialize(value)
            .map(|t| JsonBody(Some(t)))
            .map_err(|e| ApiError::InvalidRequest(e.inner().to_string()))
    }
}

/// Whether a body is empty or only whitespace (an absent body).
pub fn is_blank(body: &[u8]) -> bool {
    body.iter().all(u8::is_ascii_whitespace)
}

/// Parses JSON, telling bad syntax (400) from a well-formed body of the wrong shape (422, by
/// the caller).
///
/// # Errors
/// 400 `bad_request` for an empty body or one that is not JSON.
pub fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    if is_blank(body) {
        return Err(ApiError::bad_request("the body is empty; expected JSON"));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))
}

/// Middleware: reads the whole body, 413 `payload_too_large` when it is over
/// [`MAX_BODY_BYTES`] (whatever the method, after the token is checked), and hands the read
/// body on.
pub async fn limit_body(req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(_) => ApiError::PayloadTooLarge.into_response(),
    }
}

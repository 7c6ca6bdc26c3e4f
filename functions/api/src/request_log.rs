//! The request log: one line per API request through `tracing`, as structured fields, so that
//! with Lambda's JSON log format (`LoggingConfig.LogFormat: JSON` in the template, which sets
//! `AWS_LAMBDA_LOG_FORMAT=JSON`, honoured by `lambda_http::tracing::init_default_subscriber`)
//! each request is one JSON object:
//!
//! ```json
//! {"level":"INFO","fields":{"message":"request","request_id":"c6af9ac6-...","method":"GET",
//!  "route":"/v1/targets/{id}","status":200,"latency_ms":3.2,"bytes":512,"caller":"read",
//!  "caller_id":"sha256:1f2e3d4c5b6a","source_ip":"203.0.113.7"}}
//! ```
//!
//! | field | what |
//! | --- | --- |
//! | `request_id` | API Gateway's (or the function URL's) request id; else a valid `X-Request-Id` the caller sent (1 to 128 of `A-Z a-z 0-9 - _ .`); else a new UUID. Answered as `X-Request-Id` |
//! | `method` | the HTTP method |
//! | `route` | the route template (`/v1/targets/{id}`), never the path: a path or a query can carry what should not be logged (a token in `?token=`, a secret push URL); absent when no route matched (404) |
//! | `status` | the answer's status code |
//! | `latency_ms` | from the request reaching the router to the answer's head, ms (0.1 ms steps) |
//! | `bytes` | the answer body's length when known before it is sent (absent for a stream) |
//! | `caller`, `caller_id` | the token's name (`admin`, `read`, `anonymous`) and fingerprint ([`Caller`]); never the token |
//! | `source_ip` | the caller's address as API Gateway reports it (`requestContext.http.sourceIp`, or `identity.sourceIp` for a REST API); absent outside Lambda |

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use lambda_http::request::RequestContext;
use lambda_http::RequestExt as _;

use crate::auth::Caller;

/// The answer header that carries the request id.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The route template that matched, carried from inside the router to the edge in the
/// answer's extensions.
#[derive(Debug, Clone)]
pub struct Route(pub String);

/// Route layer of every routed request: puts the matched route template in the answer's
/// extensions for [`RequestLine`] (the edge runs before routing and cannot see it).
pub async fn tag_route(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    let mut response = next.run(req).await;
    if let Some(route) = route {
        response.extensions_mut().insert(Route(route));
    }
    response
}

/// What the edge knows of a request before it runs: its id, method and source address, and
/// when it started.
#[derive(Debug)]
pub struct RequestLine {
    request_id: String,
    method: String,
    source_ip: Option<String>,
    started: std::time::Instant,
}

/// Whether a caller's `X-Request-Id` may be logged and echoed: 1 to 128 characters of
/// `A-Z a-z 0-9 - _ .`.
fn valid_request_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl RequestLine {
    /// Reads what the line needs from `req` (Lambda's request context when there is one).
    pub fn start(req: &Request) -> Self {
        let (context_id, source_ip) = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(c)) => {
                (c.request_id.clone(), c.http.source_ip.clone())
            }
            Some(RequestContext::ApiGatewayV1(c)) => {
                (c.request_id.clone(), c.identity.source_ip.clone())
            }
            _ => (None, None),
        };
        let request_id = context_id
            .filter(|id| valid_request_id(id))
            .or_else(|| {
                req.headers()
                    .get(&REQUEST_ID_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .filter(|id| valid_request_id(id))
                    .map(str::to_string)
            })
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        RequestLine {
            request_id,
            method: req.method().to_string(),
            source_ip,
            started: std::time::Instant::now(),
        }
    }

    /// Logs the line for `response` and answers the request id in `X-Request-Id`.
    pub fn finish(self, response: &mut Response) {
        let latency_ms = (self.started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0;
        let route = response.extensions().get::<Route>().map(|r| r.0.as_str());
        let caller = response
            .extensions()
            .get::<Caller>()
            .unwrap_or(&Caller::ANONYMOUS);
        let bytes = axum::body::HttpBody::size_hint(response.body()).exact();
        tracing::info!(
            request_id = %self.request_id,
            method = %self.method,
            route,
            status = response.status().as_u16(),
            latency_ms,
            bytes,
            caller = caller.name,
            caller_id = caller.id.as_deref(),
            source_ip = self.source_ip.as_deref(),
            "request"
        );
        if let Ok(value) = HeaderValue::from_str(&self.request_id) {
            response.headers_mut().insert(REQUEST_ID_HEADER, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::valid_request_id;

    #[test]
    fn only_plain_request_ids_are_taken_from_the_caller() {
        assert!(valid_request_id("c6af9ac6-7b61-11e6-9a41-93e8deadbeef"));
        assert!(valid_request_id("a.b_c-1"));
        assert!(!valid_request_id(""));
        assert!(!valid_request_id(&"a".repeat(129)));
        assert!(!valid_request_id("a b"));
        assert!(!valid_request_id("x\"}{\"forged\":1"));
    }
}

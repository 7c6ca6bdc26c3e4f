//! The console's way to the API: every page reads and every form writes through the API's own
//! routes, called in process ([`Api`]), so that the console validates, audits, caches and
//! redacts exactly as `curl` against the API would. A call carries the bearer token of the
//! session's role (taken from the [`App`], never from the browser): the audit log names the
//! same caller (`admin` or `read` and the token's fingerprint) as for a call with that token.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt as _;

use super::session::{Role, Session};
use crate::{App, Store};

/// Largest API answer the console reads, bytes (16 MiB: a target file of thousands of targets).
pub const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// The API as one session sees it.
pub struct Api<S> {
    app: Arc<App<S>>,
    role: Role,
    /// The API's router, built on the first call and reused by the page's other calls (the
    /// pools page makes one per proxy).
    router: std::sync::OnceLock<axum::Router>,
}

/// One answer of the API: its status and JSON body (`Null` when empty or not JSON; `text` keeps
/// the body as text for the non-JSON answers, such as a YAML export).
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status.
    pub status: StatusCode,
    /// The body as JSON, `Value::Null` when it is empty or not JSON.
    pub json: Value,
    /// The body as text (lossy UTF-8).
    pub text: String,
}

/// An API error's body, `{"error":{"code","message","field"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status.
    pub status: StatusCode,
    /// `code`, such as `validation` or `not_found`.
    pub code: String,
    /// The message, as the API words it (already redacted by the API).
    pub message: String,
    /// The JSON path of the field to blame (`url`, `expect.status`, `targets[2].id`), if one.
    pub field: Option<String>,
}

impl Answer {
    /// Whether the status is 2xx.
    pub fn ok(&self) -> bool {
        self.status.is_success()
    }

    /// The API's error, when the status is not 2xx.
    pub fn refusal(&self) -> Option<Refusal> {
        if self.ok() {
            return None;
        }
        let e = &self.json["error"];
        Some(Refusal {
            status: self.status,
            code: e["code"].as_str().unwrap_or("error").to_string(),
            message: e["message"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("the API answered {}", self.status)),
            field: e["field"].as_str().map(str::to_string),
        })
    }

    /// `Ok(json)` on 2xx, else the refusal.
    ///
    /// # Errors
    /// The API's [`Refusal`].
    pub fn into_result(self) -> Result<Value, Refusal> {
        match self.refusal() {
            None => Ok(self.json),
            Some(r) => Err(r),
        }
    }
}

impl<S: Store> Api<S> {
    /// The API for `session`.
    pub fn new(app: Arc<App<S>>, session: &Session) -> Self {
        Api {
            app,
            role: session.role,
            router: std::sync::OnceLock::new(),
        }
    }

    /// `GET path_and_query` (such as `/v1/status?kind=proxy`).
    pub async fn get(&self, path_and_query: &str) -> Answer {
        self.call(Method::GET, path_and_query, None).await
    }

    /// `GET`, then [`Answer::into_result`].
    ///
    /// # Errors
    /// The API's [`Refusal`].
    pub async fn get_ok(&self, path_and_query: &str) -> Result<Value, Refusal> {
        self.get(path_and_query).await.into_result()
    }

    /// `method path_and_query` with `body` as JSON (none when `None`).
    pub async fn call(&self, method: Method, path_and_query: &str, body: Option<&Value>) -> Answer {
        let body = body.map(|b| b.to_string());
        self.raw(method, path_and_query, body, "application/json")
            .await
    }

    /// `method path_and_query` with a body of `content_type` (a YAML target file, say).
    pub async fn raw(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<String>,
        content_type: &str,
    ) -> Answer {
        let token = match self.role {
            Role::Admin => self.app.admin_token.clone(),
            Role::Read => self.app.read_token.clone(),
        }
        .unwrap_or_default();
        let mut req = Request::builder()
            .method(method)
            .uri(path_and_query)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::ACCEPT, "application/json");
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, content_type);
        }
        let req = match req.body(body.map_or_else(Body::empty, Body::from)) {
            Ok(r) => r,
            Err(e) => {
                return Answer {
                    status: StatusCode::BAD_REQUEST,
                    json: serde_json::json!({"error": {"code": "bad_request", "message": e.to_string()}}),
                    text: String::new(),
                }
            }
        };
        let router = self
            .router
            .get_or_init(|| crate::routes::api(Arc::clone(&self.app)))
            .clone();
        let response = match router.oneshot(req).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), MAX_ANSWER_BYTES)
            .await
            .unwrap_or_default();
        Answer {
            status,
            json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }
}

//! The HTTP API (lambda_http, behind an API Gateway HTTP API or a function URL).
//!
//! | route | access | answer |
//! | --- | --- | --- |
//! | `GET /v1/health` | public | `{"status":"ok","version"}` |
//! | `GET /v1/status` | public | every target (redacted) with state and latest result; the active target of every group |
//! | `GET /v1/summary` | public | counts by status and kind, last run per kind, proxy traffic and cost |
//! | `GET /v1/targets` | admin | target definitions (redacted) |
//! | `POST /v1/targets` | admin | create one target, a list, or `{"targets":[...]}`: 201, 409 if an id exists, 422 naming the field |
//! | `POST /v1/checks` | admin | check now (`{"ids":[..]}`, `{"kind":..}`, `{"group":..}` or `{}` for all enabled); returns results, changes no state |
//! | `GET /v1/system` | admin | CPU count, memory, process RSS and uptime of the function instance |
//!
//! Admin routes need `Authorization: Bearer <LOOKOUT_ADMIN_TOKEN>`, compared in constant time.
//! Errors are `{"error":{"code","message"}}`: 400 bad JSON, 401, 404, 405, 409, 413 (body over
//! 1 MiB), 422, 500 (no internal detail).

pub mod error;
mod routes;

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use lookout::ports::{RunStore, StateStore, TargetStore};
use lookout::probe::Prober;
use subtle::ConstantTimeEq;

pub use error::{json_response, ApiError};

/// Largest request body accepted, in bytes (1 MiB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What the handler needs: the store ports it reads and writes, the prober for manual checks and
/// the admin token.
pub struct App<S> {
    /// Targets, states and run records.
    pub store: S,
    /// Probe engine for `POST /v1/checks`.
    pub prober: Prober,
    /// `LOOKOUT_ADMIN_TOKEN`; `None` disables the admin routes (401).
    pub admin_token: Option<String>,
    /// Probes in flight at once for manual checks.
    pub concurrency: usize,
}

impl App<lookout::adapters::dynamodb::DynamoStore> {
    /// Reads the settings and builds the clients from the environment.
    ///
    /// # Errors
    /// A message naming the missing setting, or the HTTP client that failed to build.
    pub async fn from_env() -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let settings = lookout::config::Settings::from_env()?;
        let aws = aws_config::load_from_env().await;
        Ok(App {
            store: lookout::adapters::dynamodb::DynamoStore::new(
                aws_sdk_dynamodb::Client::new(&aws),
                &settings.table,
                settings.history_ttl_days,
            ),
            prober: Prober::with_options(lookout::probe::ProbeOptions {
                allow_private_targets: settings.allow_private_targets,
            })?,
            admin_token: settings.admin_token,
            concurrency: lookout::probe::concurrency_limit(settings.probe_concurrency),
        })
    }
}

impl<S> App<S> {
    fn is_admin(&self, req: &Request) -> bool {
        let Some(expected) = self.admin_token.as_deref() else {
            return false;
        };
        let given = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .unwrap_or("");
        bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
    }
}

/// The request body, or 413 when it is over [`MAX_BODY_BYTES`].
fn body_of(req: &Request) -> Result<&[u8], ApiError> {
    let body = req.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the body is over 1 MiB",
        ));
    }
    Ok(body)
}

/// Handles one request; never fails: every problem is a JSON error answer.
pub async fn handle<S>(app: &App<S>, req: Request) -> Response<Body>
where
    S: TargetStore + StateStore + RunStore + Sync,
{
    let method = req.method().clone();
    let path = req.uri().path().trim_end_matches('/').to_string();
    let answer = route(app, &method, &path, &req).await;
    let response = answer.unwrap_or_else(ApiError::into_response);
    tracing::info!(%method, %path, status = response.status().as_u16(), "request");
    response
}

async fn route<S>(
    app: &App<S>,
    method: &Method,
    path: &str,
    req: &Request,
) -> Result<Response<Body>, ApiError>
where
    S: TargetStore + StateStore + RunStore + Sync,
{
    if let Some((id, action)) = path
        .strip_prefix("/v1/targets/")
        .and_then(|rest| rest.split_once("/actions/"))
    {
        if method != Method::POST {
            return Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("{path} allows POST"),
            ));
        }
        if !app.is_admin(req) {
            return Err(ApiError::unauthorized());
        }
        let body = body_of(req)?;
        let json = routes::target_action(&app.store, id, action, body).await?;
        return Ok(json_response(StatusCode::OK, &json));
    }
    // (path, allowed methods, admin only)
    const ROUTES: &[(&str, &[Method], bool)] = &[
        ("/v1/health", &[Method::GET], false),
        ("/v1/status", &[Method::GET], false),
        ("/v1/summary", &[Method::GET], false),
        ("/v1/targets", &[Method::GET, Method::POST], true),
        ("/v1/checks", &[Method::POST], true),
        ("/v1/system", &[Method::GET], true),
    ];
    let Some((_, methods, admin)) = ROUTES.iter().find(|(p, _, _)| *p == path) else {
        return Err(ApiError::not_found(format!("no route {path}")));
    };
    if !methods.contains(method) {
        let allowed: Vec<&str> = methods.iter().map(Method::as_str).collect();
        return Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{path} allows {}", allowed.join(", ")),
        ));
    }
    if *admin && !app.is_admin(req) {
        return Err(ApiError::unauthorized());
    }
    let body = body_of(req)?;
    let json = match (path, method.as_str()) {
        ("/v1/health", _) => routes::health(),
        ("/v1/status", _) => routes::status(&app.store).await?,
        ("/v1/summary", _) => routes::summary(&app.store).await?,
        ("/v1/targets", "GET") => routes::list_targets(&app.store).await?,
        ("/v1/targets", _) => return routes::create_targets(&app.store, body).await,
        ("/v1/checks", _) => routes::checks(app, body).await?,
        _ => routes::system(),
    };
    Ok(json_response(StatusCode::OK, &json))
}

#[cfg(test)]
mod tests;

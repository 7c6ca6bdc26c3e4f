//! The HTTP API (lambda_http, behind an API Gateway HTTP API or a function URL).
//!
//! | route | access | answer |
//! | --- | --- | --- |
//! | `GET /v1/health` | public | `{"status":"ok","version"}` |
//! | `GET /v1/status` | public | every target (redacted) with state and latest result; the active target of every group |
//! | `GET /v1/summary` | public | counts by status and kind, last run per kind, proxy traffic and cost, the latest global digest |
//! | `GET /v1/targets/{id}/uptime` | public | uptime over 24 h, 7, 30 and 365 days from the rollups, and the last 24 hourly rollups |
//! | `GET /v1/digests?target=&before=&limit=` | read | digests of a target or global ones, newest first |
//! | `GET /v1/digests/latest?target=` | read | the newest digest of a target, or the newest global one |
//! | `GET /v1/targets` | admin | target definitions (redacted) |
//! | `POST /v1/targets` | admin | create one target, a list, or `{"targets":[...]}`: 201, 409 if an id exists, 422 naming the field |
//! | `POST /v1/checks` | admin | check now (`{"ids":[..]}`, `{"kind":..}`, `{"group":..}` or `{}` for all enabled); returns results, changes no state |
//! | `GET /v1/system` | admin | CPU count, memory, process RSS and uptime of the function instance |
//! | `GET /v1/leases` | admin | each kind's run lease: holder and until (epoch ms and RFC 3339) |
//! | `DELETE /v1/leases/{kind}` | admin | release a stuck run lease: 204 |
//!
//! Admin routes need `Authorization: Bearer <LOOKOUT_ADMIN_TOKEN>`, compared in constant time.
//! Errors are `{"error":{"code","message"}}`: 400 bad JSON, 401, 404, 405, 409, 413 (body over
//! 1 MiB), 422 (with `field`, the JSON path, when one field is to blame), 500 (no internal
//! detail), 503 `unavailable` (the table does not answer; `Retry-After`).

pub mod digests;
pub mod dumps;
pub mod error;
pub mod leases;
mod metrics;
pub mod openapi;
pub mod page;
pub mod routes;

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use std::collections::HashMap;

use lookout::ports::{
    AlertLog, DigestStore, HistoryStore, RunLease, RunStore, StateStore, SummaryStore, TargetStore,
};
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
    /// Resolves secret references for manual checks and `GET /v1/proxies/active`.
    pub secrets: lookout::secrets::Secrets,
    /// `LOOKOUT_ADMIN_TOKEN`; `None` disables the admin routes (401).
    pub admin_token: Option<String>,
    /// `LOOKOUT_READ_TOKEN`: opens the read routes (and the public ones when they are not
    /// public); refused on admin routes (403).
    pub read_token: Option<String>,
    /// `LOOKOUT_PUBLIC_STATUS` (default true): the status page, status, summary, health and
    /// metrics need no token.
    pub public_status: bool,
    /// The AWS dependencies `GET /v1/health` checks (none in unit tests).
    pub health: Option<lookout::adapters::health::AwsHealth>,
    /// Target definitions cached for the bulk views.
    pub defs: routes::DefsCache,
    /// Probes in flight at once for manual checks.
    pub concurrency: usize,
    /// The dump routes' bucket and table; `None` (no `LOOKOUT_BUCKET`) answers them 503.
    pub dumps: Option<dumps::Dumps>,
}

impl App<lookout::adapters::dynamodb::DynamoStore> {
    /// Reads the settings and builds the clients from the environment.
    ///
    /// # Errors
    /// A message naming the missing setting, or the HTTP client that failed to build.
    pub async fn from_env() -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let settings = lookout::config::Settings::from_env()?;
        let aws = lookout::adapters::aws_config().await;
        Self::from_config(settings, &aws).await
    }

    /// Builds the clients from `aws` (region, credentials, endpoints) for `settings`. The
    /// table's client gives up quickly ([`ClientLimits::INTERACTIVE`]), so that an outage of
    /// the table is a 503 in about a second, not a 500 after several seconds of retries.
    ///
    /// [`ClientLimits::INTERACTIVE`]: lookout::adapters::dynamodb::ClientLimits::INTERACTIVE
    ///
    /// # Errors
    /// The token parameter that cannot be read, or the HTTP client that failed to build.
    pub async fn from_config(
        settings: lookout::config::Settings,
        aws: &aws_config::SdkConfig,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        // SDK clients are made on first use (`LazyClient`): none at init.
        use lookout::adapters::LazyClient;
        let s3 = lookout::adapters::s3::lazy_client(aws);
        // Reads while a caller waits: give up quickly on a table that does not answer (503).
        let limits = lookout::adapters::dynamodb::ClientLimits::INTERACTIVE;
        let health = lookout::adapters::health::AwsHealth {
            table: (
                LazyClient::new(aws, move |aws| limits.client(aws)),
                settings.table.clone(),
            ),
            topic: settings
                .topic_arn
                .clone()
                .map(|t| (LazyClient::new(aws, aws_sdk_sns::Client::new), t)),
            bucket: settings.bucket.clone().map(|b| (s3, b)),
        };
        let (mut admin_token, mut read_token) =
            (settings.admin_token.clone(), settings.read_token.clone());
        if let Some(name) = &settings.token_param {
            let tokens =
                lookout::adapters::ssm::read_tokens(&aws_sdk_ssm::Client::new(aws), name).await?;
            admin_token = tokens.admin;
            read_token = tokens.read;
        }
        let dumps = settings.bucket.clone().map(|bucket| dumps::Dumps {
            store: lookout::adapters::s3::S3DumpStore::new(
                lookout::adapters::s3::lazy_client(aws),
                bucket,
            ),
            table: lookout::adapters::dynamodb::DynamoStore::from_settings(aws, &settings),
            options: lookout::dump::DumpOptions {
                segments: settings.dump_segments,
                include: settings.dump_include.clone(),
                ..Default::default()
            },
            retention: (settings.retention_days, settings.max_dumps),
            runner: settings.dump_function.clone().map(|f| {
                lookout::adapters::lambda::AsyncInvoker::new(
                    LazyClient::new(aws, aws_sdk_lambda::Client::new),
                    f,
                )
            }),
        });
        Ok(App {
            dumps,
            health: Some(health),
            defs: routes::DefsCache::default(),
            store: lookout::adapters::dynamodb::DynamoStore::from_settings_with(
                aws, &settings, &limits,
            ),
            prober: Prober::with_options(settings.probe_options())?,
            secrets: lookout::adapters::secrets::AwsSecrets::cached(aws),
            admin_token,
            read_token,
            public_status: settings.public_status,
            concurrency: lookout::probe::concurrency_limit(settings.probe_concurrency),
        })
    }
}

impl<S> App<S> {
    /// The bearer token of the request, if any.
    fn bearer(req: &Request) -> Option<&str> {
        req.headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
    }

    /// Whether `given` equals `expected`, compared in constant time.
    fn same(given: &str, expected: Option<&str>) -> bool {
        expected.is_some_and(|e| bool::from(given.as_bytes().ct_eq(e.as_bytes())))
    }

    /// Checks the request's token against the route's access: none or a wrong one is 401, the
    /// read token on an admin route 403.
    ///
    /// # Errors
    /// [`ApiError`] 401 or 403.
    pub fn authorize(&self, req: &Request, access: Access) -> Result<(), ApiError> {
        if access == Access::Public && self.public_status {
            return Ok(());
        }
        let Some(given) = Self::bearer(req) else {
            return Err(ApiError::unauthorized());
        };
        let admin = Self::same(given, self.admin_token.as_deref());
        let read = Self::same(given, self.read_token.as_deref());
        match access {
            _ if admin => Ok(()),
            Access::Admin if read => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this route needs the admin token; the read token cannot change anything",
            )),
            Access::Public | Access::Read if read => Ok(()),
            _ => Err(ApiError::unauthorized()),
        }
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

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, unless `LOOKOUT_PUBLIC_STATUS=false` (then the read token).
    Public,
    /// The read token or the admin token.
    Read,
    /// The admin token.
    Admin,
}

/// Every route: method, path pattern (`{name}` matches one segment), access, and a name the
/// dispatcher and the OpenAPI test use.
pub const ROUTES: &[(&str, &str, Access, &str)] = &[
    ("GET", "/", Access::Public, "page"),
    ("GET", "/v1/health", Access::Public, "health"),
    ("GET", "/v1/status", Access::Public, "status"),
    ("GET", "/v1/summary", Access::Public, "summary"),
    ("GET", "/metrics", Access::Public, "metrics"),
    ("GET", "/v1/openapi.json", Access::Public, "openapi"),
    ("GET", "/v1/targets", Access::Read, "list_targets"),
    ("POST", "/v1/targets", Access::Admin, "create_targets"),
    ("PUT", "/v1/targets", Access::Admin, "apply_targets"),
    ("GET", "/v1/targets/{id}", Access::Read, "get_target"),
    ("PATCH", "/v1/targets/{id}", Access::Admin, "patch_target"),
    ("DELETE", "/v1/targets/{id}", Access::Admin, "delete_target"),
    (
        "POST",
        "/v1/targets/{id}/actions/{action}",
        Access::Admin,
        "target_action",
    ),
    ("GET", "/v1/results", Access::Read, "results"),
    (
        "GET",
        "/v1/targets/{id}/results",
        Access::Read,
        "target_results",
    ),
    (
        "GET",
        "/v1/targets/{id}/uptime",
        Access::Public,
        "target_uptime",
    ),
    ("GET", "/v1/digests", Access::Read, "digests"),
    ("GET", "/v1/digests/latest", Access::Read, "latest_digest"),
    ("GET", "/v1/runs", Access::Read, "runs"),
    ("GET", "/v1/alerts", Access::Read, "alerts"),
    (
        "GET",
        "/v1/groups/{group}/active",
        Access::Read,
        "group_active",
    ),
    ("GET", "/v1/system", Access::Read, "system"),
    ("POST", "/v1/checks", Access::Admin, "checks"),
    ("GET", "/v1/proxies/active", Access::Admin, "proxies_active"),
    ("GET", "/v1/dumps", Access::Admin, "dumps"),
    ("POST", "/v1/dumps", Access::Admin, "create_dump"),
    ("GET", "/v1/dumps/stats", Access::Admin, "dump_stats"),
    ("GET", "/v1/dumps/{id}", Access::Admin, "get_dump"),
    ("DELETE", "/v1/dumps/{id}", Access::Admin, "delete_dump"),
    (
        "POST",
        "/v1/dumps/{id}/restore",
        Access::Admin,
        "restore_dump",
    ),
    (
        "POST",
        "/v1/dumps/{id}/verify",
        Access::Admin,
        "verify_dump",
    ),
    (
        "POST",
        "/v1/proxies/{id}/usage",
        Access::Admin,
        "proxy_usage",
    ),
    ("GET", "/v1/leases", Access::Admin, "leases"),
    (
        "DELETE",
        "/v1/leases/{kind}",
        Access::Admin,
        "release_lease",
    ),
];

/// The path parameters when `path` matches `pattern`.
fn match_path(pattern: &str, path: &str) -> Option<Vec<String>> {
    let (mut p, mut q) = (pattern.split('/'), path.split('/'));
    let mut params = Vec::new();
    loop {
        match (p.next(), q.next()) {
            (None, None) => return Some(params),
            (Some(want), Some(got)) if want.starts_with('{') => {
                if got.is_empty() {
                    return None;
                }
                // `/v1/groups/EU%20West/active`: names may hold any text.
                params.push(
                    percent_encoding::percent_decode_str(got)
                        .decode_utf8()
                        .ok()?
                        .into_owned(),
                );
            }
            (Some(want), Some(got)) if want == got => {}
            _ => return None,
        }
    }
}

/// The query string's parameters (first value of each name), percent-decoded.
fn query(req: &Request) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes()) {
        out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    out
}

/// Handles one request; never fails: every problem is a JSON error answer.
pub async fn handle<S>(app: &App<S>, req: Request) -> Response<Body>
where
    S: TargetStore
        + StateStore
        + RunStore
        + AlertLog
        + HistoryStore
        + SummaryStore
        + DigestStore
        + RunLease
        + Sync,
{
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let path = if path.len() > 1 {
        path.trim_end_matches('/').to_string()
    } else {
        path
    };
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
    S: TargetStore
        + StateStore
        + RunStore
        + AlertLog
        + HistoryStore
        + SummaryStore
        + DigestStore
        + RunLease
        + Sync,
{
    let matching: Vec<_> = ROUTES
        .iter()
        .filter_map(|r| match_path(r.1, path).map(|params| (r, params)))
        .collect();
    if matching.is_empty() {
        return Err(ApiError::not_found(format!(
            "no route {}",
            lookout::redact::clip(path, 100)
        )));
    }
    let Some(((_, _, access, name), params)) = matching
        .iter()
        // HEAD is a GET without the body (RFC 9110 §9.3.2); uptime checkers use it.
        .find(|((m, ..), _)| *m == method.as_str() || (*method == Method::HEAD && *m == "GET"))
        .cloned()
    else {
        let allowed: Vec<&str> = matching.iter().map(|((m, ..), _)| *m).collect();
        return Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{path} allows {}", allowed.join(", ")),
        ));
    };
    app.authorize(req, *access)?;
    let body = body_of(req)?;
    let q = query(req);
    let writes = matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let answer = dispatch(app, name, &params, body, &q).await;
    if writes {
        // After the write, so that a concurrent read cannot refill it with the old definitions.
        app.defs.clear();
    }
    if *method == Method::HEAD {
        return answer.map(|mut r| {
            *r.body_mut() = Body::Empty;
            r
        });
    }
    answer
}

async fn dispatch<S>(
    app: &App<S>,
    name: &str,
    params: &[String],
    body: &[u8],
    q: &HashMap<String, String>,
) -> Result<Response<Body>, ApiError>
where
    S: TargetStore
        + StateStore
        + RunStore
        + AlertLog
        + HistoryStore
        + SummaryStore
        + DigestStore
        + RunLease
        + Sync,
{
    let id = params.first().map(String::as_str).unwrap_or_default();
    let store = &app.store;
    let json = match name {
        "page" => return page::page(store, &app.defs, q.get("lang").map(String::as_str)).await,
        "results" => routes::results(store, None, q).await?,
        "target_results" => routes::results(store, Some(id), q).await?,
        "health" => return routes::health(app.health.as_ref()).await,
        "openapi" => openapi::document(),
        "status" => routes::status(store, &app.defs).await?,
        "summary" => {
            let mut summary = routes::summary(store).await?;
            summary["digest"] = digests::newest_global(store)
                .await?
                .unwrap_or(serde_json::Value::Null);
            summary
        }
        "target_uptime" => digests::uptime(store, id).await?,
        "digests" => digests::list(store, q).await?,
        "latest_digest" => digests::latest(store, q).await?,
        "metrics" => return metrics::metrics(store).await,
        "list_targets" => routes::list_targets(store, q).await?,
        "create_targets" => return routes::create_targets(store, &app.defs, body, q).await,
        "apply_targets" => routes::apply_targets(store, &app.defs, body, q).await?,
        "get_target" => routes::get_target(store, id).await?,
        "patch_target" => routes::patch_target(store, &app.defs, id, body).await?,
        "delete_target" => routes::delete_target(store, &app.defs, id).await?,
        "target_action" => {
            let action = params.get(1).map(String::as_str).unwrap_or_default();
            routes::target_action(store, id, action, body).await?
        }
        "runs" => routes::runs(store, q).await?,
        "alerts" => routes::alerts(store, q).await?,
        "group_active" => routes::group_active(store, id).await?,
        "checks" => routes::checks(app, body).await?,
        "proxies_active" => routes::proxies_active(store, &app.secrets, q).await?,
        "dumps" => dumps::list(app.dumps.as_ref()).await?,
        "dump_stats" => dumps::stats(app.dumps.as_ref()).await?,
        "get_dump" => dumps::get(app.dumps.as_ref(), id).await?,
        "delete_dump" => dumps::delete(app.dumps.as_ref(), id).await?,
        // Boxed: a dump or restore future is large, and inline it would swell every request's
        // future past a 2 MiB thread stack in debug builds.
        "create_dump" => return Box::pin(dumps::create(app.dumps.as_ref())).await,
        "restore_dump" => return Box::pin(dumps::restore(app.dumps.as_ref(), id, body)).await,
        "verify_dump" => Box::pin(dumps::verify(app.dumps.as_ref(), id)).await?,
        "proxy_usage" => routes::proxy_usage(store, id, body).await?,
        "leases" => leases::list(store).await?,
        "release_lease" => return leases::release(store, id).await,
        _ => routes::system(),
    };
    Ok(json_response(StatusCode::OK, &json))
}

#[cfg(test)]
mod tests;

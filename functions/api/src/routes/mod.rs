//! Every route of the API in one place ([`router`]), grouped by access level, and the edge
//! layer every request goes through (trailing slash, 405 body, log line).

mod actions;
pub mod audit;
pub mod badges;
pub mod cache_stats;
pub mod channels;
pub mod checks;
mod definitions;
mod defs;
pub mod deliveries;
pub mod digests;
pub mod dumps;
pub mod exports;
pub mod feed;
pub mod health;
pub mod history;
mod incident_cache;
pub mod incidents;
pub mod leases;
pub mod locations;
pub mod openapi;
mod pages;
mod params;
pub mod proxies;
pub mod push;
pub mod slos;
pub mod status;
pub mod status_pages;
pub mod status_view;
pub mod subscriptions;
pub mod system;
pub mod target_page;
mod target_schema;
pub mod targets;

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use axum::Router;

use crate::extract::{limit_body, no_route};
use crate::{auth, Access, ApiError, App, Store};

pub use defs::{latest_all, load, load_at, load_cached, DefsCache, Loaded, DEFS_TTL};
pub use incident_cache::{IncidentsCache, INCIDENTS_TTL};
pub use system::{level, LOAD_PER_CPU, USED_PERCENT};

/// The state every handler gets: the application, shared.
pub type AppState<S> = Arc<App<S>>;

/// The API: every route, its access level and its handler. Unknown paths are 404, a known path
/// with another method 405 (naming the allowed ones), a trailing slash is ignored, HEAD is a GET
/// without the body (RFC 9110 §9.3.2; uptime checkers use it) and needs what GET needs.
pub fn router<S: Store>(app: AppState<S>) -> Router {
    let inner = routes(&app)
        .merge(crate::console::routes(&app))
        .fallback(|req: Request| async move { no_route(req.uri().path()) })
        .with_state(app);
    // The edge runs around the whole router (before routing), so that it sees every answer,
    // the 405s with their `Allow` header included.
    Router::new().fallback_service(inner).layer(from_fn(edge))
}

/// The API's routes alone (no console, no edge layer, so no request log line): what the
/// console calls in process ([`crate::console::client`]).
pub fn api<S: Store>(app: AppState<S>) -> Router {
    routes(&app)
        .fallback(|req: Request| async move { no_route(req.uri().path()) })
        .with_state(app)
}

/// Every API route with its access layers, before the state is given.
fn routes<S: Store>(app: &AppState<S>) -> Router<AppState<S>> {
    let public = Router::new()
        .route("/", get(pages::page::<S>))
        .route("/p/{slug}", get(pages::slug_page::<S>))
        .route("/status.json", get(pages::status_json::<S>))
        .route("/p/{slug}/status.json", get(pages::slug_status_json::<S>))
        .route("/metrics", get(pages::metrics::<S>))
        .route("/v1/health", get(health::health::<S>))
        .route("/v1/status", get(status::status::<S>))
        .route("/v1/summary", get(status::summary::<S>))
        .route("/v1/openapi.json", get(openapi::openapi))
        .route("/v1/targets/{id}/uptime", get(digests::target_uptime::<S>))
        .route("/v1/incidents", get(incidents::list_incidents::<S>))
        .route("/v1/incidents/{id}", get(incidents::get_incident::<S>))
        .route("/v1/subscriptions", post(subscriptions::subscribe::<S>))
        .route(
            "/badges/targets/{id}/status.svg",
            get(badges::target_status::<S>),
        )
        .route(
            "/badges/targets/{id}/uptime/{window}",
            get(badges::target_uptime::<S>),
        )
        .route(
            "/badges/targets/{id}/latency.svg",
            get(badges::target_latency::<S>),
        )
        .route(
            "/badges/groups/{group}/status.svg",
            get(badges::group_status::<S>),
        )
        .route(
            "/badges/groups/{group}/uptime/{window}",
            get(badges::group_uptime::<S>),
        )
        .route(
            "/badges/groups/{group}/latency.svg",
            get(badges::group_latency::<S>),
        )
        .route("/feed.atom", get(feed::feed::<S>))
        .route("/targets/{id}", get(target_page::target_page::<S>));
    let read = Router::new()
        .route("/v1/targets", get(targets::list_targets::<S>))
        .route("/v1/targets/{id}", get(targets::get_target::<S>))
        .route("/v1/results", get(history::results::<S>))
        .route(
            "/v1/targets/{id}/results",
            get(history::target_results::<S>),
        )
        .route("/v1/digests", get(digests::digests::<S>))
        .route("/v1/digests/latest", get(digests::latest_digest::<S>))
        .route("/v1/runs", get(history::runs::<S>))
        .route("/v1/alerts", get(history::alerts::<S>))
        .route("/v1/groups/{group}/active", get(status::group_active::<S>))
        .route("/v1/locations", get(locations::locations::<S>))
        .route("/v1/cache/stats", get(cache_stats::cache_stats::<S>))
        .route("/v1/system", get(system::system))
        .route("/v1/slos", get(slos::list_slos::<S>))
        .route("/v1/slos/{id}", get(slos::get_slo::<S>))
        .route("/v1/targets/{id}/pings", get(targets::target_pings::<S>));
    let admin = Router::new()
        .route("/v1/targets", post(definitions::create_targets::<S>))
        .route("/v1/targets", put(definitions::apply_targets::<S>))
        .route("/v1/targets/{id}", patch(targets::patch_target::<S>))
        .route("/v1/targets/{id}", delete(targets::delete_target::<S>))
        .route(
            "/v1/targets/{id}/push-token",
            post(targets::rotate_push_token::<S>),
        )
        .route(
            "/v1/targets/{id}/actions/{action}",
            post(actions::target_action::<S>),
        )
        .route("/v1/checks", post(checks::checks::<S>))
        .route("/v1/proxies/active", get(proxies::proxies_active::<S>))
        .route("/v1/proxies/{id}/usage", post(proxies::proxy_usage::<S>))
        .route(
            "/v1/dumps",
            get(dumps::dumps::<S>).post(dumps::create_dump::<S>),
        )
        .route("/v1/dumps/stats", get(dumps::dump_stats::<S>))
        .route(
            "/v1/dumps/{id}",
            get(dumps::get_dump::<S>).delete(dumps::delete_dump::<S>),
        )
        .route("/v1/dumps/{id}/restore", post(dumps::restore_dump::<S>))
        .route("/v1/dumps/{id}/verify", post(dumps::verify_dump::<S>))
        .route("/v1/exports/results", post(exports::export_results::<S>))
        .route("/v1/leases", get(leases::leases::<S>))
        .route("/v1/leases/{kind}", delete(leases::release_lease::<S>))
        .route(
            "/v1/channels",
            get(channels::list_channels::<S>).post(channels::create_channel::<S>),
        )
        .route(
            "/v1/channels/{id}",
            get(channels::get_channel::<S>)
                .patch(channels::patch_channel::<S>)
                .delete(channels::delete_channel::<S>),
        )
        .route("/v1/channels/{id}/test", post(channels::test_channel::<S>))
        .route("/v1/deliveries", get(deliveries::deliveries::<S>))
        .route(
            "/v1/deliveries/{id}/retry",
            post(deliveries::retry_delivery::<S>),
        )
        .route("/v1/incidents", post(incidents::create_incident::<S>))
        .route(
            "/v1/incidents/{id}",
            patch(incidents::patch_incident::<S>).delete(incidents::delete_incident::<S>),
        )
        .route("/v1/pages", get(status_pages::list_pages::<S>))
        .route(
            "/v1/pages/{slug}",
            get(status_pages::get_page::<S>)
                .put(status_pages::put_page::<S>)
                .delete(status_pages::delete_page::<S>),
        )
        .route("/v1/audit", get(audit::audit::<S>))
        .route("/v1/slos", post(slos::create_slo::<S>))
        .route(
            "/v1/slos/{id}",
            patch(slos::patch_slo::<S>).delete(slos::delete_slo::<S>),
        )
        .route_layer(from_fn_with_state(
            app.clone(),
            defs::forget_after_writes::<S>,
        ));
    // No bearer token and no 1 MiB limit: the token in the path is the secret (even with
    // `LOOKOUT_PUBLIC_STATUS=false`), and the handler reads at most 100 KiB of body.
    let push = Router::new()
        .route(
            "/v1/push/{token}",
            get(push::push_get::<S>).post(push::push::<S>),
        )
        .route(
            "/v1/push/{token}/{signal}",
            get(push::push_signal_get::<S>).post(push::push_signal::<S>),
        )
        .route_layer(from_fn(crate::request_log::tag_route));
    Router::new()
        .merge(push)
        .merge(guard(public, app, Access::Public))
        .merge(guard(read, app, Access::Read))
        .merge(
            // Outside the token check, so that a write it refuses with 403 is audited too.
            guard(admin, app, Access::Admin)
                .route_layer(from_fn_with_state(app.clone(), crate::audit::record::<S>)),
        )
}

/// The routes of `routes` behind the token check of `access`, then the body limit; the
/// matched route template is put in the answer for the request log.
fn guard<S: Store>(
    routes: Router<AppState<S>>,
    app: &AppState<S>,
    access: Access,
) -> Router<AppState<S>> {
    routes
        .route_layer(from_fn(limit_body))
        .route_layer(from_fn_with_state(
            (app.clone(), access),
            auth::require::<S>,
        ))
        .route_layer(from_fn(crate::request_log::tag_route))
}

/// The path without trailing slashes (`/` stays).
fn trimmed(path: &str) -> &str {
    match path.trim_end_matches('/') {
        "" => "/",
        p => p,
    }
}

/// Around every request: drops trailing slashes before routing, gives a 405 the JSON body
/// naming the methods the path allows (axum's own has none), and logs one line
/// ([`crate::request_log`]).
async fn edge(mut req: Request, next: Next) -> Response {
    let line = crate::request_log::RequestLine::start(&req);
    let path = trimmed(req.uri().path()).to_string();
    if path != req.uri().path() {
        let query = req
            .uri()
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        if let Ok(uri) = format!("{path}{query}").parse() {
            *req.uri_mut() = uri;
        }
    }
    let mut response = next.run(req).await;
    if response.status() == StatusCode::METHOD_NOT_ALLOWED
        && !response.headers().contains_key(header::CONTENT_TYPE)
    {
        let allowed = response
            .headers()
            .get(header::ALLOW)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty() && *m != Method::HEAD.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let allow = response.headers().get(header::ALLOW).cloned();
        response = ApiError::MethodNotAllowed(format!("{path} allows {allowed}")).into_response();
        if let Some(allow) = allow {
            response.headers_mut().insert(header::ALLOW, allow);
        }
    }
    line.finish(&mut response);
    response
}

/// Every route: method, path and access; the OpenAPI test checks the document and the router
/// against it.
#[cfg(test)]
pub const ROUTES: &[(&str, &str, Access)] = &[
    ("GET", "/", Access::Public),
    ("GET", "/v1/health", Access::Public),
    ("GET", "/v1/status", Access::Public),
    ("GET", "/v1/summary", Access::Public),
    ("GET", "/metrics", Access::Public),
    ("GET", "/v1/openapi.json", Access::Public),
    ("GET", "/v1/targets", Access::Read),
    ("POST", "/v1/targets", Access::Admin),
    ("PUT", "/v1/targets", Access::Admin),
    ("GET", "/v1/targets/{id}", Access::Read),
    ("PATCH", "/v1/targets/{id}", Access::Admin),
    ("DELETE", "/v1/targets/{id}", Access::Admin),
    ("POST", "/v1/targets/{id}/actions/{action}", Access::Admin),
    ("GET", "/v1/results", Access::Read),
    ("GET", "/v1/targets/{id}/results", Access::Read),
    ("GET", "/v1/targets/{id}/uptime", Access::Public),
    ("GET", "/badges/targets/{id}/status.svg", Access::Public),
    (
        "GET",
        "/badges/targets/{id}/uptime/{window}",
        Access::Public,
    ),
    ("GET", "/badges/targets/{id}/latency.svg", Access::Public),
    ("GET", "/badges/groups/{group}/status.svg", Access::Public),
    (
        "GET",
        "/badges/groups/{group}/uptime/{window}",
        Access::Public,
    ),
    ("GET", "/badges/groups/{group}/latency.svg", Access::Public),
    ("GET", "/feed.atom", Access::Public),
    ("GET", "/targets/{id}", Access::Public),
    ("GET", "/v1/digests", Access::Read),
    ("GET", "/v1/digests/latest", Access::Read),
    ("GET", "/v1/runs", Access::Read),
    ("GET", "/v1/alerts", Access::Read),
    ("GET", "/v1/groups/{group}/active", Access::Read),
    ("GET", "/v1/system", Access::Read),
    ("GET", "/v1/locations", Access::Read),
    ("GET", "/v1/cache/stats", Access::Read),
    ("POST", "/v1/checks", Access::Admin),
    ("GET", "/v1/proxies/active", Access::Admin),
    ("GET", "/v1/dumps", Access::Admin),
    ("POST", "/v1/dumps", Access::Admin),
    ("GET", "/v1/dumps/stats", Access::Admin),
    ("GET", "/v1/dumps/{id}", Access::Admin),
    ("DELETE", "/v1/dumps/{id}", Access::Admin),
    ("POST", "/v1/dumps/{id}/restore", Access::Admin),
    ("POST", "/v1/dumps/{id}/verify", Access::Admin),
    ("POST", "/v1/exports/results", Access::Admin),
    ("POST", "/v1/proxies/{id}/usage", Access::Admin),
    ("GET", "/v1/leases", Access::Admin),
    ("DELETE", "/v1/leases/{kind}", Access::Admin),
    ("GET", "/v1/channels", Access::Admin),
    ("POST", "/v1/channels", Access::Admin),
    ("GET", "/v1/channels/{id}", Access::Admin),
    ("PATCH", "/v1/channels/{id}", Access::Admin),
    ("DELETE", "/v1/channels/{id}", Access::Admin),
    ("POST", "/v1/channels/{id}/test", Access::Admin),
    ("GET", "/v1/deliveries", Access::Admin),
    ("POST", "/v1/deliveries/{id}/retry", Access::Admin),
    ("GET", "/v1/incidents", Access::Public),
    ("GET", "/v1/incidents/{id}", Access::Public),
    ("POST", "/v1/incidents", Access::Admin),
    ("PATCH", "/v1/incidents/{id}", Access::Admin),
    ("DELETE", "/v1/incidents/{id}", Access::Admin),
    ("POST", "/v1/subscriptions", Access::Public),
    ("GET", "/p/{slug}", Access::Public),
    ("GET", "/status.json", Access::Public),
    ("GET", "/p/{slug}/status.json", Access::Public),
    ("GET", "/v1/pages", Access::Admin),
    ("GET", "/v1/pages/{slug}", Access::Admin),
    ("PUT", "/v1/pages/{slug}", Access::Admin),
    ("DELETE", "/v1/pages/{slug}", Access::Admin),
    ("GET", "/v1/audit", Access::Admin),
    ("GET", "/v1/slos", Access::Read),
    ("GET", "/v1/slos/{id}", Access::Read),
    ("POST", "/v1/slos", Access::Admin),
    ("PATCH", "/v1/slos/{id}", Access::Admin),
    ("DELETE", "/v1/slos/{id}", Access::Admin),
    ("GET", "/v1/push/{token}", Access::Public),
    ("POST", "/v1/push/{token}", Access::Public),
    ("GET", "/v1/push/{token}/{signal}", Access::Public),
    ("POST", "/v1/push/{token}/{signal}", Access::Public),
    ("POST", "/v1/targets/{id}/push-token", Access::Admin),
    ("GET", "/v1/targets/{id}/pings", Access::Read),
];

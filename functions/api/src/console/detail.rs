//! `GET /console/targets/{id}`: everything about one target, read through the API.
//!
//! - `GET /v1/targets/{id}`: the definition (redacted by the API, never unmasked here), the
//!   state (status, since, consecutive failures, flapping, last error), the last result and the
//!   maintenance window; a 404 there is the console's 404 page;
//! - `GET /v1/targets/{id}/results`: the newest 50 results (the last hour, then the last day,
//!   then the last 7 days until 50 are found; the API answers oldest first), newest first, and
//!   their latency drawn as a small inline SVG ([`view::LatencyChart`], no script);
//! - `GET /v1/alerts?since=` (7 days): the alerts naming the target, newest first (50 at most);
//! - `GET /v1/digests/latest?target=`: the latest digest's summary, anomalies and narrative
//!   (marked as generated, [`super::narrative`]) (404: none yet);
//! - `GET /v1/targets/{id}/uptime`: the uptime windows (24 h, 7, 30, 365 days);
//! - `GET /v1/status`: the target's row (priority, per-location verdicts);
//! - `GET /v1/targets/{id}/pings` for a heartbeat: its last pings.
//!
//! Admins get the target's forms (helper routes of [`super::forms`]): edit and delete links,
//! enable, disable, check now (inline answer in `output#check-result`), mark down, mark
//! healthy, reset statistics; each a form with the session's `_csrf`. The read token sees none.

pub mod view;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::Value;

use super::session::Session;
use super::view::{html, Chrome};
use crate::extract::Path;
use crate::routes::AppState;
use crate::Store;
use view::{DetailPage, LatencyChart};

/// Results shown (newest first).
pub const MAX_RESULTS: usize = 50;
/// Alerts shown (newest first).
pub const MAX_ALERTS: usize = 50;
/// Windows the results are looked for in, ms: an hour, a day, 7 days less a minute (the API's
/// longest window is 7 days up to its own now, a little after ours).
const RESULT_WINDOWS_MS: [i64; 3] = [3_600_000, 86_400_000, 7 * 86_400_000 - 60_000];
/// Pages of 1,000 results read per window at most.
const MAX_RESULT_PAGES: usize = 10;
/// Alerts are looked for over this many days.
const ALERT_DAYS: i64 = 7;

/// The detail's routes.
pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new().route("/console/targets/{id}", get(detail::<S>))
}

/// Whether `id` can be put in an API path as it is (ids are letters, digits, `-_.~`); any
/// other id names no target.
fn plain_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
}

/// `GET /console/targets/{id}`.
pub async fn detail<S: Store>(
    State(app): State<AppState<S>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Extension(c): axum::Extension<Chrome>,
    Path(id): Path<String>,
) -> Response {
    if !plain_id(&id) {
        return c.error(
            StatusCode::NOT_FOUND,
            c.t("No such target.", "لا يوجد هدف كهذا.", "چنین هدفی نیست."),
        );
    }
    let api = super::api(&app, &session);
    let one = match api.get_ok(&format!("/v1/targets/{id}")).await {
        Ok(v) => v,
        Err(r) => return c.refused(&r),
    };
    let now = lookout_core::time::now_ms();
    let results = newest_results(&api, &id, now).await;
    let alerts = match api
        .get_ok(&format!(
            "/v1/alerts?since={}",
            lookout_core::time::rfc3339(now - ALERT_DAYS * 86_400_000)
        ))
        .await
    {
        Ok(v) => v["alerts"]
            .as_array()
            .map(|a| {
                a.iter()
                    .rev()
                    .filter(|r| r["alert"]["target_id"].as_str() == Some(id.as_str()))
                    .take(MAX_ALERTS)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let digest = api
        .get_ok(&format!("/v1/digests/latest?target={id}"))
        .await
        .ok();
    let uptime = api
        .get_ok(&format!("/v1/targets/{id}/uptime"))
        .await
        .unwrap_or(Value::Null);
    let row = api
        .get_ok("/v1/status")
        .await
        .ok()
        .and_then(|s| {
            s["targets"]
                .as_array()
                .and_then(|rows| rows.iter().find(|r| r["id"].as_str() == Some(&id)).cloned())
        })
        .unwrap_or(Value::Null);
    let pings = if one["target"]["kind"].as_str() == Some("heartbeat") {
        api.get_ok(&format!("/v1/targets/{id}/pings")).await.ok()
    } else {
        None
    };
    let chart = LatencyChart::of(&results);
    let page = DetailPage::new(
        &c, &id, &one, &results, &alerts, digest, &uptime, &row, pings, chart,
    );
    html(StatusCode::OK, &page)
}

/// The newest [`MAX_RESULTS`] results of `id`, newest first: the last hour, else the last day,
/// else the last 7 days (each read in pages of 1,000, oldest first, the tail kept).
async fn newest_results<S: Store>(api: &super::client::Api<S>, id: &str, now: i64) -> Vec<Value> {
    let mut kept: Vec<Value> = Vec::new();
    for window in RESULT_WINDOWS_MS {
        let since = lookout_core::time::rfc3339(now - window);
        let mut got: Vec<Value> = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_RESULT_PAGES {
            let mut path = format!("/v1/targets/{id}/results?limit=1000&since={since}");
            if let Some(c) = &cursor {
                path.push_str("&cursor=");
                path.extend(url::form_urlencoded::byte_serialize(c.as_bytes()));
            }
            let Ok(page) = api.get_ok(&path).await else {
                break;
            };
            if let Some(rows) = page["results"].as_array() {
                got.extend(rows.iter().cloned());
                if got.len() > MAX_RESULTS {
                    got.drain(..got.len() - MAX_RESULTS);
                }
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        if got.len() >= kept.len() {
            kept = got;
        }
        if kept.len() >= MAX_RESULTS {
            break;
        }
    }
    kept.reverse();
    kept
}

#[cfg(test)]
pub(crate) mod tests;

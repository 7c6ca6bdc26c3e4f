//! `GET /console/channels?status=&channel=`: the notification channels (`GET /v1/channels`,
//! secrets arriving masked as `***`), each with a test button, and the recent deliveries
//! (`GET /v1/deliveries`, filtered by status and channel) with a retry button for failed ones.
//! Admin token only: a read session sees a sentence saying so.
//!
//! - `POST /console/channels/{id}/test` -> `POST /v1/channels/{id}/test`: the provider's answer
//!   (`#test-<id>`; the form is `data-inline`, so the console script puts the fragment in
//!   place; without the script, the page again with the answer in place);
//! - `POST /console/deliveries/{id}/retry` -> `POST /v1/deliveries/{id}/retry`: 303 back with
//!   `?done=sent` when the provider took it, else the page with the delivery's error.

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde_json::Value;

use super::super::session::Session;
use super::super::view::{html, Chrome};
use crate::extract::{Path, Query};
use crate::routes::AppState;
use crate::Store;

/// The deliveries' filters.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Filters {
    /// `sending`, `sent` or `failed`.
    pub status: Option<String>,
    /// A channel id.
    pub channel: Option<String>,
}

/// One channel.
#[derive(Debug)]
pub struct ChannelRow {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `slack`, `telegram`, `webhook`...
    pub kind: String,
    /// Whether alerts go to it.
    pub enabled: bool,
    /// The language of its messages.
    pub language: String,
    /// Its settings as JSON, secrets `***` (as the API answers them).
    pub config: String,
    /// Its route as JSON.
    pub route: String,
}

/// One delivery.
#[derive(Debug)]
pub struct DeliveryRow {
    /// `<channel>.<alert key>` as the API names it.
    pub id: String,
    /// The channel's id.
    pub channel: String,
    /// The alert's subject.
    pub subject: String,
    /// `sending`, `sent` or `failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: String,
    /// The provider's last HTTP status, or empty.
    pub provider_status: String,
    /// The last error, or empty.
    pub last_error: String,
    /// When it was last updated, in the reader's language.
    pub updated: String,
}

/// A channel test's answer.
#[derive(Debug, Default)]
pub struct Tested {
    /// The channel.
    pub channel: String,
    /// Whether every request was accepted.
    pub ok: bool,
    /// One line per request: the provider's status and the start of its body, or the error.
    pub answers: Vec<String>,
    /// The API's refusal (no such channel...), when the test was not sent.
    pub error: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "console/ops_channels.html")]
struct ChannelsPage<'a> {
    c: &'a Chrome,
    unavailable: Option<String>,
    channels: Vec<ChannelRow>,
    deliveries: Vec<DeliveryRow>,
    f: &'a Filters,
    tested: Option<Tested>,
    error: Option<String>,
}

impl ChannelsPage<'_> {
    fn sel(&self, have: &Option<String>, value: &str) -> bool {
        have.as_deref() == Some(value)
    }
}

#[derive(askama::Template)]
#[template(path = "console/ops_test.html")]
struct TestFragment<'a> {
    c: &'a Chrome,
    t: &'a Tested,
}

/// `GET /console/channels`.
pub async fn page<S: Store>(
    State(app): State<AppState<S>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Extension(c): axum::Extension<Chrome>,
    Query(f): Query<Filters>,
) -> Response {
    render(&app, &session, &c, &f, None, None).await
}

async fn render<S: Store>(
    app: &AppState<S>,
    session: &Session,
    c: &Chrome,
    f: &Filters,
    tested: Option<Tested>,
    error: Option<String>,
) -> Response {
    let mut page = ChannelsPage {
        c,
        unavailable: None,
        channels: Vec::new(),
        deliveries: Vec::new(),
        f,
        tested,
        error,
    };
    if !c.can_write() {
        page.unavailable = Some(super::admin_only(c).to_string());
        return html(StatusCode::OK, &page);
    }
    let api = super::super::api(app, session);
    match api.get_ok("/v1/channels").await {
        Ok(v) => {
            page.channels = v["channels"]
                .as_array()
                .into_iter()
                .flatten()
                .map(channel)
                .collect()
        }
        Err(r) => {
            page.unavailable = Some(r.message);
            return html(StatusCode::OK, &page);
        }
    }
    let path = format!(
        "/v1/deliveries{}",
        super::query(&[
            ("status", f.status.as_deref()),
            ("channel", f.channel.as_deref())
        ])
    );
    match api.get_ok(&path).await {
        Ok(v) => {
            page.deliveries = v["deliveries"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| delivery(c, d))
                .collect()
        }
        Err(r) => page.error = Some(r.message),
    }
    html(StatusCode::OK, &page)
}

fn channel(v: &Value) -> ChannelRow {
    let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
    ChannelRow {
        id: s("id"),
        name: s("name"),
        kind: s("kind"),
        enabled: v["enabled"].as_bool().unwrap_or(true),
        language: s("language"),
        config: v["config"].to_string(),
        route: v["route"].to_string(),
    }
}

fn delivery(c: &Chrome, v: &Value) -> DeliveryRow {
    let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
    DeliveryRow {
        id: s("id"),
        channel: s("channel_id"),
        subject: v["alert"]["subject"].as_str().unwrap_or("").to_string(),
        status: s("status"),
        attempts: super::num(c, v["attempts"].as_u64().unwrap_or(0)),
        provider_status: v["provider_status"]
            .as_u64()
            .map(|n| n.to_string())
            .unwrap_or_default(),
        last_error: s("last_error"),
        updated: super::when(c, v["updated_at"].as_i64().unwrap_or(0)),
    }
}

/// `POST /console/channels/{id}/test`: the provider's answer, as a fragment for the inline
/// submit, else in the page.
pub async fn test<S: Store>(
    State(app): State<AppState<S>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Extension(c): axum::Extension<Chrome>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let answer = super::super::api(&app, &session)
        .call(
            Method::POST,
            &format!("/v1/channels/{}/test", super::segment(&id)),
            None,
        )
        .await;
    let mut t = Tested {
        channel: id,
        ..Tested::default()
    };
    match answer.refusal() {
        None => {
            t.ok = answer.json["ok"].as_bool().unwrap_or(false);
            t.answers = answer.json["answers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| match (a["status"].as_u64(), a["error"].as_str()) {
                    (_, Some(e)) => e.to_string(),
                    (Some(s), None) => format!("HTTP {s}: {}", a["body"].as_str().unwrap_or("")),
                    (None, None) => a.to_string(),
                })
                .collect();
        }
        Some(r) => t.error = Some(r.message),
    }
    if super::super::wants_fragment(&headers) {
        return html(StatusCode::OK, &TestFragment { c: &c, t: &t });
    }
    // A refusal (no such channel) is said above the list too: its row may not exist.
    let error = t.error.clone();
    render(&app, &session, &c, &Filters::default(), Some(t), error).await
}

/// `POST /console/deliveries/{id}/retry`.
pub async fn retry<S: Store>(
    State(app): State<AppState<S>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Extension(c): axum::Extension<Chrome>,
    Path(id): Path<String>,
) -> Response {
    let answer = super::super::api(&app, &session)
        .call(
            Method::POST,
            &format!("/v1/deliveries/{}/retry", super::segment(&id)),
            None,
        )
        .await;
    let error = match answer.refusal() {
        None if answer.json["delivery"]["status"] == "sent" => {
            return c.redirect("/channels", Some("sent"))
        }
        None => answer.json["delivery"]["last_error"].as_str().map_or_else(
            || {
                c.t(
                    "Sent again, and failed again.",
                    "أُعيد الإرسال وفشل مجدداً.",
                    "دوباره فرستاده شد و دوباره ناموفق بود.",
                )
                .to_string()
            },
            str::to_string,
        ),
        Some(r) => r.message,
    };
    render(&app, &session, &c, &Filters::default(), None, Some(error)).await
}

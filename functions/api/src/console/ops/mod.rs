//! The operations pages of the console, each read and written through the API's own routes:
//!
//! | path | what | API |
//! | --- | --- | --- |
//! | `GET /console/alerts` | recent alerts, newest first, filtered by target, kind, severity and window ([`alerts`]) | `GET /v1/alerts` |
//! | `GET /console/runs` | probe runs (counts, durations) and the run leases ([`runs`]) | `GET /v1/runs`, `GET /v1/leases` |
//! | `POST /console/leases/{kind}/release` | release a kind's run lease (admin) | `DELETE /v1/leases/{kind}` |
//! | `GET /console/digests` | the digests, global or of a target, the newest in full, pages via `before` ([`digests`]) | `GET /v1/digests` |
//! | `GET /console/dumps` | dumps and their stats (admin token) ([`dumps`]) | `GET /v1/dumps`, `GET /v1/dumps/stats` |
//! | `POST /console/dumps` | dump now | `POST /v1/dumps` |
//! | `POST /console/dumps/{id}/verify` | verify a dump; the report shown | `POST /v1/dumps/{id}/verify` |
//! | `POST /console/dumps/{id}/restore` | restore into a new table (`table` field) | `POST /v1/dumps/{id}/restore` |
//! | `POST /console/dumps/{id}/delete` | delete a dump | `DELETE /v1/dumps/{id}` |
//! | `GET /console/channels` | notification channels (secrets masked) and recent deliveries ([`channels`]) | `GET /v1/channels`, `GET /v1/deliveries` |
//! | `POST /console/channels/{id}/test` | send a channel's test message; the provider's answer inline | `POST /v1/channels/{id}/test` |
//! | `POST /console/deliveries/{id}/retry` | send a failed delivery again | `POST /v1/deliveries/{id}/retry` |
//! | `GET /console/incidents` | incidents and maintenance: status, affected targets, timeline ([`incidents`]) | `GET /v1/incidents` |
//! | `POST /console/incidents` | post an incident or a maintenance window (admin) | `POST /v1/incidents` |
//! | `GET /console/audit` | the audit log (admin token), filtered by actor and object, pages via `cursor` ([`audit`]) | `GET /v1/audit` |
//!
//! Pages that read an admin-only route show a read session a sentence saying the admin token
//! is needed (no error page); a route the deployment lacks (dumps without a bucket: 503) shows
//! the API's message in the page.

pub mod alerts;
pub mod audit;
pub mod channels;
pub mod digests;
pub mod dumps;
pub mod incidents;
pub mod runs;

use axum::routing::{get, post};
use axum::Router;

use super::view::Chrome;
use crate::routes::AppState;
use crate::Store;

/// This module's routes.
pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new()
        .route("/console/alerts", get(alerts::page::<S>))
        .route("/console/runs", get(runs::page::<S>))
        .route("/console/leases/{kind}/release", post(runs::release::<S>))
        .route("/console/digests", get(digests::page::<S>))
        .route(
            "/console/dumps",
            get(dumps::page::<S>).post(dumps::dump_now::<S>),
        )
        .route("/console/dumps/{id}/verify", post(dumps::verify::<S>))
        .route("/console/dumps/{id}/restore", post(dumps::restore::<S>))
        .route("/console/dumps/{id}/delete", post(dumps::delete::<S>))
        .route("/console/channels", get(channels::page::<S>))
        .route("/console/channels/{id}/test", post(channels::test::<S>))
        .route("/console/deliveries/{id}/retry", post(channels::retry::<S>))
        .route(
            "/console/incidents",
            get(incidents::page::<S>).post(incidents::create::<S>),
        )
        .route("/console/audit", get(audit::page::<S>))
}

/// `ms` (epoch ms) as `YYYY-MM-DD HH:MM UTC` in the reader's digits; empty for 0 or less.
pub fn when(c: &Chrome, ms: i64) -> String {
    if ms <= 0 {
        return String::new();
    }
    let l = crate::page::labels::labels(Some(c.code()));
    let t = crate::page::labels::time(l, &jiff::tz::TimeZone::UTC, ms);
    if t.is_empty() {
        t
    } else {
        format!("{t} UTC")
    }
}

/// An RFC 3339 time as [`when`] writes it; the text itself when it does not parse.
pub fn when_text(c: &Chrome, rfc3339: &str) -> String {
    match rfc3339.parse::<jiff::Timestamp>() {
        Ok(ts) => when(c, ts.as_millisecond()),
        Err(_) => rfc3339.to_string(),
    }
}

/// `n` in the reader's digits.
pub fn num(c: &Chrome, n: impl std::fmt::Display) -> String {
    crate::page::labels::labels(Some(c.code())).digits(&n.to_string())
}

/// `s` as one URL path segment: every byte but `A-Z a-z 0-9 - . _ ~` percent-encoded (a
/// delivery id holds `#`, a dump id may hold anything a browser sent).
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A query string of the non-empty `pairs`, with its `?` (empty when none is left).
pub fn query(pairs: &[(&str, Option<&str>)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for (k, v) in pairs {
        if let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) {
            q.append_pair(k, v);
            any = true;
        }
    }
    if any {
        format!("?{}", q.finish())
    } else {
        String::new()
    }
}

/// The sentence a read session sees where a page needs the admin token.
pub fn admin_only(c: &Chrome) -> &'static str {
    c.t(
        "This part needs the admin token: sign in with it to see it.",
        "يحتاج هذا الجزء إلى رمز المسؤول: سجّل الدخول به لرؤيته.",
        "این بخش به توکن مدیر نیاز دارد: برای دیدنش با آن وارد شوید.",
    )
}

#[cfg(test)]
mod tests;

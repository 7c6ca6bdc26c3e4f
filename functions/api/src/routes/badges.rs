//! Badges (SVG, drawn by [`crate::badges`]) of a target or a group, as Uptime Kuma and Gatus
//! serve them: `GET /badges/targets/{id}/status.svg`, `.../uptime/{24h|7d|30d}.svg`,
//! `.../latency.svg`, and the same under `/badges/groups/{group}/`.
//!
//! Every answer is `image/svg+xml` with `Cache-Control: public, max-age=60` and a strong `ETag`
//! (the SHA-256 of the body, quoted); a request whose `If-None-Match` names it is answered 304
//! with no body (RFC 9110 §13.1.2). An unknown target or group is a grey `not found` badge with
//! 404, so an `<img>` still shows something.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::{StreamExt as _, TryStreamExt as _};
use lookout_app::ports::{DigestStore, Latest};
use lookout_core::digest::rollup::{uptime, Period, Rollup, DAY_MS, HOUR_MS};
use lookout_core::domain::failover::choose_all;
use lookout_core::domain::{Status, Target, TargetState};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use super::AppState;
use crate::badges::{
    latency_colour, uptime_colour, uptime_text, Badge, Colour, Style, MAX_LABEL_CHARS,
};
use crate::extract::{Path, Query};
use crate::{ApiError, Store};

/// Query of every badge.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct BadgeQuery {
    /// The label's text instead of the badge's own (`status`, `uptime 24h`, `latency`), at most
    /// 40 characters.
    #[param(max_length = 40)]
    pub label: Option<String>,
    /// `flat` (default, rounded) or `flat-square`.
    #[param(value_type = BadgeStyle, inline)]
    pub style: Option<String>,
}

/// A badge's style.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BadgeStyle {
    /// Rounded corners, a light gradient.
    Flat,
    /// Square corners.
    FlatSquare,
}

/// An uptime badge's window.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub enum BadgeWindow {
    /// The last 24 hours.
    #[serde(rename = "24h.svg")]
    Day,
    /// The last 7 days.
    #[serde(rename = "7d.svg")]
    Week,
    /// The last 30 days.
    #[serde(rename = "30d.svg")]
    Month,
}

/// The query checked: the label (`default` unless given) and the style.
fn look(q: &BadgeQuery, default: &str) -> Result<(String, Style), ApiError> {
    let label = match q.label.as_deref() {
        Some(l) if l.chars().count() > MAX_LABEL_CHARS => {
            return Err(ApiError::bad_request(format!(
                "label: at most {MAX_LABEL_CHARS} characters"
            )))
        }
        Some(l) => l.to_string(),
        None => default.to_string(),
    };
    let style = match q.style.as_deref() {
        None => Style::Flat,
        Some(s) => {
            Style::parse(s).ok_or_else(|| ApiError::bad_request("style: flat or flat-square"))?
        }
    };
    Ok((label, style))
}

/// The window of an uptime badge's file name (`24h.svg`, `7d.svg`, `30d.svg`): its name and
/// length, ms.
fn window(file: &str) -> Result<(&'static str, i64), ApiError> {
    match file {
        "24h.svg" => Ok(("24h", DAY_MS)),
        "7d.svg" => Ok(("7d", 7 * DAY_MS)),
        "30d.svg" => Ok(("30d", 30 * DAY_MS)),
        _ => Err(ApiError::bad_request("window: 24h.svg, 7d.svg or 30d.svg")),
    }
}

/// The badge as an answer: `status`, the caching headers, or 304 when `If-None-Match` names
/// its ETag.
fn answer(badge: &Badge, status: StatusCode, headers: &HeaderMap) -> Response {
    let body = badge.svg();
    let etag = format!("\"{}\"", hex::encode(Sha256::digest(body.as_bytes())));
    let matches = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*");
    let mut response = if matches && status == StatusCode::OK {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = (status, body).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("image/svg+xml"),
        );
        r
    };
    let h = response.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    response
}

/// The grey 404 badge.
fn not_found(label: String, style: Style, headers: &HeaderMap) -> Response {
    let badge = Badge {
        label,
        value: "not found".into(),
        colour: Colour::LightGrey,
        style,
    };
    answer(&badge, StatusCode::NOT_FOUND, headers)
}

/// A status as the badge says it, with its colour; a disabled target is `paused`.
fn status_value(status: Status, enabled: bool) -> (&'static str, Colour) {
    if !enabled {
        return ("paused", Colour::LightGrey);
    }
    match status {
        Status::Healthy => ("up", Colour::BrightGreen),
        Status::Degraded => ("degraded", Colour::Yellow),
        Status::Blocked => ("blocked", Colour::Orange),
        Status::Down => ("down", Colour::Red),
        Status::Unknown => ("unknown", Colour::LightGrey),
    }
}

/// How bad a status is, for the worst of a group.
fn severity(s: Status) -> u8 {
    match s {
        Status::Healthy => 0,
        Status::Unknown => 1,
        Status::Degraded => 2,
        Status::Blocked => 3,
        Status::Down => 4,
    }
}

/// Whose badge: one target, or a group's members.
enum Subject {
    Target(String),
    Group(String),
}

/// What a badge reads: the definitions, latest entries and states, and the targets the badge
/// is about (empty when there is no such target or group).
struct Read {
    targets: Vec<Target>,
    latest: HashMap<String, Latest>,
    states: HashMap<String, TargetState>,
    /// Indices into `targets`.
    members: Vec<usize>,
}

async fn read<S: Store>(app: &AppState<S>, who: &Subject) -> Result<Read, ApiError> {
    let (targets, latest, states) = super::load_cached(&app.store, &app.defs).await?;
    let members = targets
        .iter()
        .enumerate()
        .filter(|(_, t)| match who {
            Subject::Target(id) => t.id == *id,
            Subject::Group(g) => t.group == *g,
        })
        .map(|(i, _)| i)
        .collect();
    Ok(Read {
        targets,
        latest,
        states,
        members,
    })
}

impl Read {
    fn members(&self) -> impl Iterator<Item = &Target> {
        self.members.iter().map(|&i| &self.targets[i])
    }

    /// The members a group's figures count: the enabled ones (a single target counts always).
    fn counted(&self, who: &Subject) -> Vec<&Target> {
        self.members()
            .filter(|t| matches!(who, Subject::Target(_)) || t.enabled)
            .collect()
    }

    fn status_of(&self, t: &Target) -> Status {
        self.states.get(&t.id).map_or(Status::Unknown, |s| s.status)
    }

    /// The badge's status: the target's; for a group, the active target's when the group fails
    /// over (a proxy pool, or a group of servers with priorities set; none usable is down),
    /// else the worst of its enabled targets.
    fn status(&self, who: &Subject) -> (&'static str, Colour) {
        match who {
            Subject::Target(_) => self
                .members()
                .next()
                .map_or(("unknown", Colour::LightGrey), |t| {
                    status_value(self.status_of(t), t.enabled)
                }),
            Subject::Group(g) => {
                let enabled: Vec<&Target> = self.members().filter(|t| t.enabled).collect();
                if enabled.is_empty() {
                    return ("paused", Colour::LightGrey);
                }
                let fails_over = enabled
                    .iter()
                    .any(|t| t.proxy().is_some() || t.priority.is_some());
                if fails_over {
                    let kind = enabled[0].kind();
                    let active = choose_all(&self.targets, &self.states)
                        .into_iter()
                        .find(|c| c.group == *g && c.kind == kind)
                        .and_then(|c| c.active);
                    let status = active
                        .and_then(|id| enabled.iter().find(|t| t.id == id))
                        .map_or(Status::Down, |t| self.status_of(t));
                    return status_value(status, true);
                }
                let worst = enabled
                    .iter()
                    .map(|t| self.status_of(t))
                    .max_by_key(|s| severity(*s))
                    .unwrap_or(Status::Unknown);
                status_value(worst, true)
            }
        }
    }

    /// The latest successful check's latency (ms); for a group, the mean over its counted
    /// targets that have one. `None` when none has.
    fn latency(&self, who: &Subject) -> Option<u64> {
        let values: Vec<u64> = self
            .counted(who)
            .iter()
            .filter_map(|t| self.latest.get(&t.id)?.result.as_ref())
            .filter(|r| r.ok())
            .map(|r| r.latency_ms)
            .collect();
        (!values.is_empty()).then(|| values.iter().sum::<u64>() / values.len() as u64)
    }
}

/// Checks and failures of target `t` over the window of `len` ms ending with the current hour
/// (`now`, epoch ms), from the rollups: hours for what is not whole days, days for the rest.
async fn window_counts<S: DigestStore>(
    store: &S,
    t: &Target,
    name: &str,
    len: i64,
    now: i64,
) -> Result<(u64, u64), ApiError> {
    let kind = t.kind();
    let until = Period::Hour.start_of(now) + HOUR_MS;
    let since = until - len;
    let mut hours: Vec<Rollup> = Vec::new();
    let mut days: Vec<Rollup> = Vec::new();
    if len <= 7 * DAY_MS {
        hours = store
            .rollups(&t.id, kind, Period::Hour, since, until)
            .await?;
    } else {
        let first_whole = Period::Day.start_of(since - 1) + DAY_MS;
        let today = Period::Day.start_of(until - 1);
        days = store
            .rollups(&t.id, kind, Period::Day, first_whole, today)
            .await?;
        hours.extend(
            store
                .rollups(&t.id, kind, Period::Hour, since, first_whole)
                .await?,
        );
        hours.extend(
            store
                .rollups(&t.id, kind, Period::Hour, today.max(first_whole), until)
                .await?,
        );
    }
    Ok(uptime(until, &hours, &days)
        .into_iter()
        .find(|w| w.window == name)
        .map_or((0, 0), |w| (w.checks, w.failures)))
}

/// Status badge of a target
///
/// `up`, `degraded`, `blocked`, `down`, `unknown` (never checked) or `paused` (disabled).
#[utoipa::path(get, path = "/badges/targets/{id}/status.svg", tag = "public",
    params(("id" = String, Path, min_length = 1, description = "Target id"), BadgeQuery),
    responses(
        (status = 200, description = "The badge (or 304 with no body for a matching If-None-Match)", body = String, content_type = "image/svg+xml"),
        (status = 404, description = "No such target: a grey `not found` badge", body = String, content_type = "image/svg+xml"),
    ))]
pub async fn target_status<S: Store>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
    Query(q): Query<BadgeQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    status_badge(&app, Subject::Target(id), &q, &headers).await
}

/// Status badge of a group
///
/// The active target's status for a group that fails over (a proxy pool, or servers with
/// priorities), else the worst of its enabled targets; `paused` when none is enabled.
#[utoipa::path(get, path = "/badges/groups/{group}/status.svg", tag = "public",
    params(("group" = String, Path, min_length = 1, description = "Group name"), BadgeQuery),
    responses(
        (status = 200, description = "The badge (or 304 with no body for a matching If-None-Match)", body = String, content_type = "image/svg+xml"),
        (status = 404, description = "No such group: a grey `not found` badge", body = String, content_type = "image/svg+xml"),
    ))]
pub async fn group_status<S: Store>(
    State(app): State<AppState<S>>,
    Path(group): Path<String>,
    Query(q): Query<BadgeQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    status_badge(&app, Subject::Group(group), &q, &headers).await
}

async fn status_badge<S: Store>(
    app: &AppState<S>,
    who: Subject,
    q: &BadgeQuery,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let (label, style) = look(q, "status")?;
    let r = read(app, &who).await?;
    if r.members.is_empty() {
        return Ok(not_found(label, style, headers));
    }
    let (value, colour) = r.status(&who);
    let badge = Badge {
        label,
        value: value.into(),
        colour,
        style,
    };
    Ok(answer(&badge, StatusCode::OK, headers))
}

/// Uptime badge of a target
///
/// Uptime over the last 24 hours, 7 or 30 days up to the end of the current hour, from the
/// hourly and daily rollups the digest writes; `no data` without checks.
#[utoipa::path(get, path = "/badges/targets/{id}/uptime/{window}", tag = "public",
    params(("id" = String, Path, min_length = 1, description = "Target id"),
        ("window" = inline(BadgeWindow), Path, description = "The window's file name"), BadgeQuery),
    responses(
        (status = 200, description = "The badge (or 304 with no body for a matching If-None-Match)", body = String, content_type = "image/svg+xml"),
        (status = 404, description = "No such target: a grey `not found` badge", body = String, content_type = "image/svg+xml"),
    ))]
pub async fn target_uptime<S: Store>(
    State(app): State<AppState<S>>,
    Path((id, file)): Path<(String, String)>,
    Query(q): Query<BadgeQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    uptime_badge(&app, Subject::Target(id), &file, &q, &headers).await
}

/// Uptime badge of a group
///
/// Checks-weighted over the group's enabled targets: all their successful checks over all
/// their checks.
#[utoipa::path(get, path = "/badges/groups/{group}/uptime/{window}", tag = "public",
    params(("group" = String, Path, min_length = 1, description = "Group name"),
        ("window" = inline(BadgeWindow), Path, description = "The window's file name"), BadgeQuery),
    responses(
        (status = 200, description = "The badge (or 304 with no body for a matching If-None-Match)", body = String, content_type = "image/svg+xml"),
        (status = 404, description = "No such group: a grey `not found` badge", body = String, content_type = "image/svg+xml"),
    ))]
pub async fn group_uptime<S: Store>(
    State(app): State<AppState<S>>,
    Path((group, file)): Path<(String, String)>,
    Query(q): Query<BadgeQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    uptime_badge(&app, Subject::Group(group), &file, &q, &headers).await
}

/// Rollup reads of a group's targets at once.
const READS_AT_ONCE: usize = 8;

async fn uptime_badge<S: Store>(
    app: &AppState<S>,
    who: Subject,
    file: &str,
    q: &BadgeQuery,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let (name, len) = window(file)?;
    let (label, style) = look(q, &format!("uptime {name}"))?;
    let r = read(app, &who).await?;
    if r.members.is_empty() {
        return Ok(not_found(label, style, headers));
    }
    let now = lookout_core::time::now_ms();
    let store = &app.store;
    let counted: Vec<Target> = r.counted(&who).into_iter().cloned().collect();
    let counts: Vec<(u64, u64)> = futures::stream::iter(
        counted
            .into_iter()
            .map(|t| async move { window_counts(store, &t, name, len, now).await }),
    )
    .buffer_unordered(READS_AT_ONCE)
    .try_collect()
    .await?;
    let (checks, failures) = counts
        .iter()
        .fold((0, 0), |(c, f), (c2, f2)| (c + c2, f + f2));
    let percent = (checks > 0).then(|| (checks - failures) as f64 * 100.0 / checks as f64);
    let badge = Badge {
        label,
        value: uptime_text(checks, failures),
        colour: uptime_colour(percent),
        style,
    };
    Ok(answer(&badge, StatusCode::OK, headers))
}

/// Latency badge of a target
///
/// The latest successful check's latency, ms, coloured by Gatus's thresholds (under 50, 200,
/// 300, 500 ms); `no data` when the latest check failed or there was none.
#[utoipa::path(get, path = "/badges/targets/{id}/latency.svg", tag = "public",
    params(("id" = String, Path, min_length = 1, description = "Target id"), BadgeQuery),
    responses(
        (status = 200, description = "The badge (or 304 with no body for a matching If-None-Match)", body = String, content_type = "image/svg+xml"),
        (status = 404, description = "No such target: a grey `not found` badge", body = String, content_type = "image/svg+xml"),
    ))]
pub async fn target_latency<S: Store>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
    Query(q): Query<BadgeQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    latency_badge(&app, Subject::Target(id), &q, &headers).await
}

/// Latency badge of a group
///
/// The mean of the latest successful checks' latencies of the group's enabled targets, ms.
#[utoipa::path(get, path = "/badges/groups/{group}/latency.svg", tag = "public",
    params(("group" = String, Path, min_length = 1, description = "Group name"), BadgeQuery),
    responses(
        (status = 200, description = "The badge (or 304 with no body for a matching If-None-Match)", body = String, content_type = "image/svg+xml"),
        (status = 404, description = "No such group: a grey `not found` badge", body = String, content_type = "image/svg+xml"),
    ))]
pub async fn group_latency<S: Store>(
    State(app): State<AppState<S>>,
    Path(group): Path<String>,
    Query(q): Query<BadgeQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    latency_badge(&app, Subject::Group(group), &q, &headers).await
}

async fn latency_badge<S: Store>(
    app: &AppState<S>,
    who: Subject,
    q: &BadgeQuery,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let (label, style) = look(q, "latency")?;
    let r = read(app, &who).await?;
    if r.members.is_empty() {
        return Ok(not_found(label, style, headers));
    }
    let (value, colour) = r.latency(&who).map_or_else(
        || ("no data".to_string(), Colour::LightGrey),
        |ms| (format!("{ms} ms"), latency_colour(ms)),
    );
    let badge = Badge {
        label,
        value,
        colour,
        style,
    };
    Ok(answer(&badge, StatusCode::OK, headers))
}

//! The buttons of a target: delete (with a confirmation page), enable, disable, check now and
//! the operator's overrides (mark down, mark healthy, reset the statistics).

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::{detail_path, read_only, urlencoding};
use crate::console::session::Session;
use crate::console::targets::status_class;
use crate::console::view::{html, Chrome};
use crate::console::FormData;
use crate::extract::Path;
use crate::routes::AppState;
use crate::Store;

/// `templates/console/delete.html`.
#[derive(askama::Template)]
#[template(path = "console/delete.html")]
struct DeletePage<'a> {
    c: &'a Chrome,
    id: &'a str,
    name: &'a str,
    kind: &'a str,
    group: &'a str,
}

/// `GET /console/targets/{id}/delete`: what is deleted, and the button that does it.
pub async fn confirm_delete<S: Store>(
    State(app): State<AppState<S>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Extension(c): axum::Extension<Chrome>,
    Path(id): Path<String>,
) -> Response {
    if !c.can_write() {
        return read_only(&c);
    }
    let path = format!("/v1/targets/{}", urlencoding(&id));
    let current = match crate::console::api(&app, &session).get_ok(&path).await {
        Ok(v) => v,
        Err(r) => return c.refused(&r),
    };
    let t = &current["target"];
    let s = |k: &str| t[k].as_str().unwrap_or("").to_string();
    let (name, kind, group) = (s("name"), s("kind"), s("group"));
    html(
        StatusCode::OK,
        &DeletePage {
            c: &c,
            id: &id,
            name: if name.is_empty() { &id } else { &name },
            kind: &kind,
            group: &group,
        },
    )
}

/// `POST /console/targets/{id}/delete`: `DELETE /v1/targets/{id}`, then the list.
pub async fn delete<S: Store>(
    State(app): State<AppState<S>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Extension(c): axum::Extension<Chrome>,
    Path(id): Path<String>,
) -> Response {
    let path = format!("/v1/targets/{}", urlencoding(&id));
    let answer = crate::console::api(&app, &session)
        .call(Method::DELETE, &path, None)
        .await;
    match answer.refusal() {
        Some(r) => c.refused(&r),
        None => c.redirect("/targets", Some("deleted")),
    }
}

/// `POST /console/targets/{id}/enable`.
pub async fn enable<S: Store>(
    state: State<AppState<S>>,
    session: axum::Extension<Session>,
    c: axum::Extension<Chrome>,
    form: axum::Extension<FormData>,
    id: Path<String>,
) -> Response {
    set_enabled(state, session, c, form, id, true).await
}

/// `POST /console/targets/{id}/disable`.
pub async fn disable<S: Store>(
    state: State<AppState<S>>,
    session: axum::Extension<Session>,
    c: axum::Extension<Chrome>,
    form: axum::Extension<FormData>,
    id: Path<String>,
) -> Response {
    set_enabled(state, session, c, form, id, false).await
}

/// `PATCH /v1/targets/{id} {"enabled", "version"}`: the form's `version` when it gives one
/// (a stale one is the API's 409), else the version read now.
async fn set_enabled<S: Store>(
    State(app): State<AppState<S>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Extension(c): axum::Extension<Chrome>,
    axum::Extension(form): axum::Extension<FormData>,
    Path(id): Path<String>,
    enabled: bool,
) -> Response {
    let api = crate::console::api(&app, &session);
    let path = format!("/v1/targets/{}", urlencoding(&id));
    let version = match form
        .get("version")
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        Some(v) => v,
        None => match api.get_ok(&path).await {
            Ok(v) => v["target"]["version"].as_u64().unwrap_or(0),
            Err(r) => return c.refused(&r),
        },
    };
    let patch = json!({"enabled": enabled, "version": version});
    match api.call(Method::PATCH, &path, Some(&patch)).await.refusal() {
        Some(r) => c.refused(&r),
        None => c.redirect(
            &detail_path(&id),
            Some(if enabled { "enabled" } else { "disabled" }),
        ),
    }
}

/// `POST /console/targets/{id}/actions/{action}`: `mark_down`, `mark_healthy` or `reset`,
/// through `POST /v1/targets/{id}/actions/{mark-down|mark-healthy|reset-stats}`.
pub async fn action<S: Store>(
    State(app): State<AppState<S>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Extension(c): axum::Extension<Chrome>,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    let (api_action, done) = match action.as_str() {
        "mark_down" => ("mark-down", "marked_down"),
        "mark_healthy" => ("mark-healthy", "marked_healthy"),
        "reset" => ("reset-stats", "reset"),
        _ => {
            return c.error(
                StatusCode::NOT_FOUND,
                c.t(
                    "No such action: mark_down, mark_healthy or reset.",
                    "لا يوجد هذا الإجراء: mark_down أو mark_healthy أو reset.",
                    "چنین کنشی نیست: mark_down، mark_healthy یا reset.",
                ),
            )
        }
    };
    let path = format!("/v1/targets/{}/actions/{api_action}", urlencoding(&id));
    let answer = crate::console::api(&app, &session)
        .call(Method::POST, &path, None)
        .await;
    match answer.refusal() {
        Some(r) => c.refused(&r),
        None => c.redirect(&detail_path(&id), Some(done)),
    }
}

/// One check's result as the fragment shows it.
#[derive(Debug, Default)]
pub struct CheckView {
    /// `up`, `slow`, `degraded`, `failed`, `blocked`; empty when there is no result.
    pub outcome: String,
    /// The status page's CSS class of the outcome.
    pub class: &'static str,
    /// The HTTP status of the answer.
    pub status_code: Option<u64>,
    /// The whole attempt, ms.
    pub latency_ms: Option<u64>,
    /// Connecting, ms.
    pub connect_ms: Option<u64>,
    /// Time to the answer's first byte, ms.
    pub ttfb_ms: Option<u64>,
    /// Days until the certificate expires.
    pub cert_days_left: Option<i64>,
    /// Attempts made.
    pub attempts: Option<u64>,
    /// The error kind (`connect`, `timeout`, `status`...).
    pub error: Option<String>,
    /// The result's message (redacted by the API).
    pub message: Option<String>,
    /// A heartbeat never pinged: nothing to judge yet.
    pub waiting: bool,
    /// The API's refusal, when the check could not run.
    pub refused: Option<String>,
    /// When it was checked (RFC 3339).
    pub checked_at: String,
}

impl CheckView {
    /// The view of a `POST /v1/checks` answer for target `id`.
    pub fn of(answer: &Value, id: &str) -> CheckView {
        let waiting = answer["waiting"]
            .as_array()
            .is_some_and(|w| w.iter().any(|x| x == id));
        let checked_at = answer["checked_at"].as_str().unwrap_or("").to_string();
        let Some(r) = answer["results"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["target_id"] == id))
        else {
            return CheckView {
                waiting,
                checked_at,
                class: "unknown",
                ..CheckView::default()
            };
        };
        let outcome = r["outcome"].as_str().unwrap_or("").to_string();
        let class = match outcome.as_str() {
            "up" => "operational",
            "slow" | "degraded" => "degraded",
            "failed" | "blocked" => "down",
            other => status_class(other),
        };
        let text = |k: &str| r[k].as_str().map(str::to_string);
        CheckView {
            class,
            outcome,
            status_code: r["status_code"].as_u64(),
            latency_ms: r["latency_ms"].as_u64(),
            connect_ms: r["connect_ms"].as_u64(),
            ttfb_ms: r["ttfb_ms"].as_u64(),
            cert_days_left: r["cert_days_left"].as_i64(),
            attempts: r["attempts"].as_u64(),
            error: text("error"),
            message: text("message"),
            waiting,
            refused: None,
            checked_at,
        }
    }

    /// The outcome in the reader's language.
    pub fn word(&self, c: &Chrome) -> String {
        match self.outcome.as_str() {
            "up" => c.t("up", "يعمل", "فعال").into(),
            "slow" => c.t("slow", "بطيء", "کُند").into(),
            "degraded" => c.t("degraded", "متدهور", "افت‌کرده").into(),
            "failed" => c.t("failed", "فشل", "ناموفق").into(),
            "blocked" => c.t("blocked", "محظور", "مسدود").into(),
            other => other.to_string(),
        }
    }
}

/// `templates/console/check_result.html`: the fragment.
#[derive(askama::Template)]
#[template(path = "console/check_result.html")]
struct CheckFragment<'a> {
    c: &'a Chrome,
    r: &'a CheckView,
}

/// `templates/console/check_page.html`: the same result on a page.
#[derive(askama::Template)]
#[template(path = "console/check_page.html")]
struct CheckPage<'a> {
    c: &'a Chrome,
    r: &'a CheckView,
    id: &'a str,
    back: String,
}

/// `POST /console/targets/{id}/check`: `POST /v1/checks {"ids":[id]}` (nothing is stored);
/// a fragment for the console script (`X-Console-Fragment`), else a page.
pub async fn check<S: Store>(
    State(app): State<AppState<S>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Extension(c): axum::Extension<Chrome>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let answer = crate::console::api(&app, &session)
        .call(Method::POST, "/v1/checks", Some(&json!({"ids": [id]})))
        .await;
    let (status, view) = match answer.refusal() {
        Some(r) => (
            r.status,
            CheckView {
                refused: Some(r.message),
                class: "unknown",
                ..CheckView::default()
            },
        ),
        None => (StatusCode::OK, CheckView::of(&answer.json, &id)),
    };
    if crate::console::wants_fragment(&headers) {
        html(status, &CheckFragment { c: &c, r: &view })
    } else {
        html(
            status,
            &CheckPage {
                c: &c,
                r: &view,
                id: &id,
                back: c.href(&detail_path(&id)),
            },
        )
    }
}

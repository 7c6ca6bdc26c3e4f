//! `GET /console/incidents?status=open|closed`: incidents and maintenance windows of the last
//! 90 days (`GET /v1/incidents`), newest first: kind, status, affected targets (each linking to
//! its detail) and the timeline of updates. An admin posts a new one with `form#incident-form`
//! (`POST /console/incidents` -> `POST /v1/incidents`: 303 back with `?done=created`, or the page
//! again with the API's refusal at the field it names).

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use lookout_core::domain::incident::IncidentStatus;
use serde_json::Value;

use super::super::session::Session;
use super::super::view::{html, Chrome};
use super::super::FormData;
use crate::extract::Query;
use crate::routes::AppState;
use crate::Store;

/// The page's filter.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Filters {
    /// `open` or `closed`.
    pub status: Option<String>,
}

/// One affected target.
#[derive(Debug)]
pub struct Affected {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its status word.
    pub status: String,
    /// The status page's CSS class of it.
    pub class: &'static str,
}

/// One update of the timeline.
#[derive(Debug)]
pub struct Update {
    /// When, in the reader's language.
    pub at: String,
    /// The incident's status it set, in words.
    pub status: String,
    /// The operator's or the probe's words.
    pub body: String,
}

/// One incident.
#[derive(Debug)]
pub struct IncidentRow {
    /// Its id.
    pub id: String,
    /// `incident` or `maintenance`.
    pub kind: String,
    /// `auto` or `operator`.
    pub source: String,
    /// Its title.
    pub title: String,
    /// Its status as the API spells it.
    pub status: String,
    /// Its status in words.
    pub status_word: String,
    /// The targets it affects.
    pub targets: Vec<Affected>,
    /// Opened (or the window's start), in the reader's language.
    pub opened: String,
    /// Resolved (or the window's end), or empty.
    pub closed: String,
    /// The timeline, oldest first.
    pub updates: Vec<Update>,
}

#[derive(askama::Template)]
#[template(path = "console/ops_incidents.html")]
struct IncidentsPage<'a> {
    c: &'a Chrome,
    rows: Vec<IncidentRow>,
    f: &'a Filters,
    error: Option<String>,
    form: Option<&'a FormData>,
    refusal: Option<super::super::client::Refusal>,
}

impl IncidentsPage<'_> {
    fn sel(&self, value: &str) -> bool {
        self.f.status.as_deref() == Some(value)
    }
    /// The form's fields: name (the JSON path), label, and how it is entered.
    fn fields(&self) -> Vec<(&'static str, &'static str, &'static str)> {
        let c = self.c;
        vec![
            ("kind", c.t("Kind", "النوع", "نوع"), "select-kind"),
            ("title", c.t("Title", "العنوان", "عنوان"), "text"),
            ("status", c.t("Status", "الحالة", "وضعیت"), "select-status"),
            (
                "targets",
                c.t(
                    "Affected targets (ids, separated by commas)",
                    "الأهداف المتأثرة (معرّفات مفصولة بفواصل)",
                    "اهداف متأثر (شناسه‌ها، جداشده با ویرگول)",
                ),
                "text",
            ),
            (
                "body",
                c.t("First update", "التحديث الأول", "نخستین به‌روزرسانی"),
                "textarea",
            ),
            (
                "starts_at",
                c.t(
                    "Starts (UTC, maintenance)",
                    "يبدأ (UTC، صيانة)",
                    "آغاز (UTC، نگهداری)",
                ),
                "datetime-local",
            ),
            (
                "ends_at",
                c.t(
                    "Ends (UTC, maintenance)",
                    "ينتهي (UTC، صيانة)",
                    "پایان (UTC، نگهداری)",
                ),
                "datetime-local",
            ),
        ]
    }
    fn is(&self, a: &str, b: &str) -> bool {
        a == b
    }
    /// The value the form was given for `name`.
    fn given(&self, name: &str) -> &str {
        self.form.and_then(|f| f.get(name)).unwrap_or("")
    }
    /// The refusal's message when it names `field` (or an element of it: `targets[2]`).
    fn field_error(&self, field: &str) -> Option<&str> {
        let r = self.refusal.as_ref()?;
        let f = r.field.as_deref()?;
        (f == field || f.starts_with(&format!("{field}["))).then_some(r.message.as_str())
    }
    /// The refusal's message when it names none of the form's fields.
    fn form_error(&self) -> Option<&str> {
        let r = self.refusal.as_ref()?;
        let known = [
            "kind",
            "title",
            "status",
            "targets",
            "body",
            "starts_at",
            "ends_at",
        ];
        match r.field.as_deref() {
            Some(f)
                if known
                    .iter()
                    .any(|k| f == *k || f.starts_with(&format!("{k}["))) =>
            {
                None
            }
            _ => Some(r.message.as_str()),
        }
    }
}

/// `GET /console/incidents`.
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
    form: Option<&FormData>,
    refusal: Option<super::super::client::Refusal>,
) -> Response {
    let path = format!(
        "/v1/incidents{}",
        super::query(&[("status", f.status.as_deref())])
    );
    let (rows, error) = match super::super::api(app, session).get_ok(&path).await {
        Ok(v) => (
            v["incidents"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| row(c, i))
                .collect(),
            None,
        ),
        Err(r) => (Vec::new(), Some(r.message)),
    };
    let status = match &refusal {
        Some(r) => r.status,
        None if error.is_some() => StatusCode::BAD_REQUEST,
        None => StatusCode::OK,
    };
    html(
        status,
        &IncidentsPage {
            c,
            rows,
            f,
            error,
            form,
            refusal,
        },
    )
}

/// A `datetime-local` value (`2026-12-02T14:00`, read as UTC) as RFC 3339; anything else as
/// given (the API names it when it is not a time).
fn utc(value: &str) -> String {
    let v = value.trim();
    if v.len() == 16 && v.as_bytes().get(10) == Some(&b'T') {
        format!("{v}:00Z")
    } else {
        v.to_string()
    }
}

/// `POST /console/incidents` (admin): `kind`, `title`, `status`, `targets` (ids separated by
/// commas or spaces), `body`, `starts_at` and `ends_at` (maintenance; UTC).
pub async fn create<S: Store>(
    State(app): State<AppState<S>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Extension(c): axum::Extension<Chrome>,
    axum::Extension(form): axum::Extension<FormData>,
) -> Response {
    let field = |k: &str| form.get(k).map(str::trim).filter(|v| !v.is_empty());
    let mut body = serde_json::Map::new();
    body.insert("title".into(), Value::from(field("title").unwrap_or("")));
    for k in ["kind", "status", "body"] {
        if let Some(v) = field(k) {
            body.insert(k.into(), Value::from(v));
        }
    }
    for k in ["starts_at", "ends_at"] {
        if let Some(v) = field(k) {
            body.insert(k.into(), Value::from(utc(v)));
        }
    }
    let targets: Vec<Value> = field("targets")
        .unwrap_or("")
        .split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(Value::from)
        .collect();
    body.insert("targets".into(), Value::Array(targets));
    let answer = super::super::api(&app, &session)
        .call(Method::POST, "/v1/incidents", Some(&Value::Object(body)))
        .await;
    match answer.refusal() {
        None => c.redirect("/incidents", Some("created")),
        Some(r) => {
            render(
                &app,
                &session,
                &c,
                &Filters::default(),
                Some(&form),
                Some(r),
            )
            .await
        }
    }
}

/// An incident status in the reader's words (the status page's), the API's word when unknown.
fn incident_word(c: &Chrome, v: &Value) -> String {
    match serde_json::from_value::<IncidentStatus>(v.clone()) {
        Ok(s) => crate::page::labels::labels(Some(c.code()))
            .incident_status(s)
            .to_string(),
        Err(_) => v.as_str().unwrap_or("").to_string(),
    }
}

fn row(c: &Chrome, v: &Value) -> IncidentRow {
    let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
    let t = |k: &str| super::when(c, v[k].as_i64().unwrap_or(0));
    IncidentRow {
        id: s("id"),
        kind: s("kind"),
        source: s("source"),
        title: s("title"),
        status: s("status"),
        status_word: incident_word(c, &v["status"]),
        targets: v["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| {
                let status = a["status"].as_str().unwrap_or("").to_string();
                Affected {
                    id: a["id"].as_str().unwrap_or("").to_string(),
                    name: a["name"].as_str().unwrap_or("").to_string(),
                    class: super::super::targets::status_class(&status),
                    status: super::super::targets::status_word(c, &status),
                }
            })
            .collect(),
        opened: if v["starts_at"].is_i64() {
            t("starts_at")
        } else {
            t("opened_at")
        },
        closed: if v["ends_at"].is_i64() {
            t("ends_at")
        } else {
            t("resolved_at")
        },
        updates: v["updates"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|u| Update {
                at: super::when(c, u["at"].as_i64().unwrap_or(0)),
                status: incident_word(c, &u["status"]),
                body: u["body"].as_str().unwrap_or("").to_string(),
            })
            .collect(),
    }
}

//! The target forms: create (`/console/targets/new`), edit (`…/{id}/edit`), delete with a
//! confirmation, enable and disable, check now, the operator's overrides, and the target file's
//! import and export. Every write goes through the API's own routes ([`super::client::Api`]), so
//! a refusal is the API's, shown at the field it names.
//!
//! | route | answer |
//! | --- | --- |
//! | `GET /console/targets/new` | the kinds to pick (`a[data-kind]`); `?kind=` the form of that kind |
//! | `POST /console/targets/new` | `POST /v1/targets`; 303 to the detail `?done=created`, a heartbeat's push URL on a page (200); a refusal re-renders the form (422) |
//! | `GET /console/targets/{id}/edit` | the form with the definition of `GET /v1/targets/{id}` and its `version` |
//! | `POST /console/targets/{id}/edit` | `PATCH /v1/targets/{id}` (merge patch from the definition read to the form's, with the form's `version`); 303 `?done=saved`; a refusal (409 stale too) re-renders (422) |
//! | `GET`/`POST /console/targets/{id}/delete` | confirmation (`form#delete-form`); `DELETE /v1/targets/{id}`, 303 to the list `?done=deleted` ([`actions`]) |
//! | `POST /console/targets/{id}/enable`, `…/disable` | `PATCH {"enabled","version"}`; 303 to the detail ([`actions`]) |
//! | `POST /console/targets/{id}/check` | `POST /v1/checks {"ids":[id]}`: a fragment with `X-Console-Fragment`, else a page ([`actions`]) |
//! | `POST /console/targets/{id}/actions/{mark_down,mark_healthy,reset}` | `POST /v1/targets/{id}/actions/{mark-down,mark-healthy,reset-stats}`; 303 to the detail ([`actions`]) |
//! | `GET`/`POST /console/import`, `GET /console/export?format=json\|yaml` | the target file ([`import`]) |

pub mod actions;
pub mod fields;
pub mod import;

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;

use super::client::Refusal;
use super::session::Session;
use super::view::{html, Chrome};
use super::FormData;
use crate::extract::{Path, Query};
use crate::routes::AppState;
use crate::Store;
use fields::{Field, FieldError, Input, Section, OTHER};

/// The forms' routes.
pub fn routes<S: Store>() -> Router<AppState<S>> {
    Router::new()
        .route("/console/targets/new", get(new_form::<S>).post(create::<S>))
        .route(
            "/console/targets/{id}/edit",
            get(edit_form::<S>).post(save::<S>),
        )
        .route(
            "/console/targets/{id}/delete",
            get(actions::confirm_delete::<S>).post(actions::delete::<S>),
        )
        .route("/console/targets/{id}/enable", post(actions::enable::<S>))
        .route("/console/targets/{id}/disable", post(actions::disable::<S>))
        .route("/console/targets/{id}/check", post(actions::check::<S>))
        .route(
            "/console/targets/{id}/actions/{action}",
            post(actions::action::<S>),
        )
        .route(
            "/console/import",
            get(import::page::<S>).post(import::import::<S>),
        )
        .route("/console/export", get(import::export::<S>))
}

/// The 403 page of a read session asking for a form.
pub(crate) fn read_only(c: &Chrome) -> Response {
    c.error(
        StatusCode::FORBIDDEN,
        c.t(
            "The read token may look but not change anything: sign in with the admin token to use this form.",
            "رمز القراءة يتيح العرض فقط: سجّل الدخول برمز المسؤول لاستخدام هذا النموذج.",
            "توکن خواندن فقط اجازهٔ دیدن می‌دهد: برای این فرم با توکن مدیر وارد شوید.",
        ),
    )
}

/// `/targets/<id>` (the id URL-encoded), below the console's base.
pub(crate) fn detail_path(id: &str) -> String {
    format!("/targets/{}", urlencoding(id))
}

/// `id` as one path segment.
pub(crate) fn urlencoding(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// One input as the template shows it.
#[derive(Debug)]
pub struct FieldView {
    /// The JSON path (the input's name and the div's `data-field`).
    pub path: &'static str,
    /// The label in the reader's language.
    pub label: &'static str,
    /// `text`, `number`, `checkbox`, `select` or `area`.
    pub widget: &'static str,
    /// The input's text.
    pub value: String,
    /// The select's options: value and whether it is chosen.
    pub options: Vec<(&'static str, bool)>,
    /// The message of a refusal naming this field.
    pub error: Option<String>,
    /// The id of an edited target cannot change.
    pub readonly: bool,
}

/// One fieldset.
#[derive(Debug)]
pub struct SectionView {
    /// Its legend.
    pub legend: &'static str,
    /// Its inputs.
    pub fields: Vec<FieldView>,
}

/// `templates/console/form.html`.
#[derive(askama::Template)]
#[template(path = "console/form.html")]
struct FormPage<'a> {
    c: &'a Chrome,
    kind: &'a str,
    kind_word: &'static str,
    /// The id of the edited target, `None` for a new one.
    editing: Option<&'a str>,
    version: &'a str,
    sections: Vec<SectionView>,
    other: &'a str,
    other_error: Option<String>,
    form_error: Option<String>,
    kinds: Vec<(&'static str, &'static str, bool)>,
}

/// `templates/console/form_kind.html`: the kinds to pick.
#[derive(askama::Template)]
#[template(path = "console/form_kind.html")]
struct KindPage<'a> {
    c: &'a Chrome,
    kinds: Vec<(&'static str, &'static str, bool)>,
}

/// `templates/console/form_created.html`: push URLs shown once.
#[derive(askama::Template)]
#[template(path = "console/form_created.html")]
pub(crate) struct CreatedPage<'a> {
    pub(crate) c: &'a Chrome,
    /// `(target id, push URL)`.
    pub(crate) urls: Vec<(String, String)>,
    /// Where "continue" leads.
    pub(crate) next: String,
}

fn kinds(c: &Chrome, current: &str) -> Vec<(&'static str, &'static str, bool)> {
    fields::KINDS
        .iter()
        .map(|k| (*k, fields::kind_word(c.lang, k), *k == current))
        .collect()
}

/// What a form shows besides its inputs' text.
struct Shown<'a> {
    kind: &'a str,
    editing: Option<&'a str>,
    version: &'a str,
    raw: &'a BTreeMap<String, String>,
    other: &'a str,
    errors: Vec<FieldError>,
    form_error: Option<String>,
}

fn render(c: &Chrome, status: StatusCode, s: Shown<'_>) -> Response {
    let table = fields::table(s.kind);
    let error_of = |path: &str| {
        let found: Vec<&str> = s
            .errors
            .iter()
            .filter(|e| e.path == path)
            .map(|e| e.message.as_str())
            .collect();
        (!found.is_empty()).then(|| found.join("; "))
    };
    let view = |f: &Field| {
        let value = s.raw.get(f.path).cloned().unwrap_or_default();
        let (widget, options) = match f.input {
            Input::Text => ("text", vec![]),
            Input::Number => ("number", vec![]),
            Input::Checkbox(default) => {
                let on = match value.as_str() {
                    "true" | "on" => true,
                    "false" => false,
                    _ => default,
                };
                return FieldView {
                    path: f.path,
                    label: f.label(c.lang),
                    widget: "checkbox",
                    value: on.to_string(),
                    options: vec![],
                    error: error_of(f.path),
                    readonly: false,
                };
            }
            // An empty choice first (the API's default, or none), so that a new form does not
            // pick the first value for the reader.
            Input::Select(values) => (
                "select",
                std::iter::once("")
                    .chain(values.iter().copied().filter(|v| !v.is_empty()))
                    .map(|v| (v, v == value.as_str()))
                    .collect(),
            ),
            Input::Area | Input::Lines | Input::NumLines | Input::Headers | Input::Json => {
                ("area", vec![])
            }
        };
        FieldView {
            path: f.path,
            label: f.label(c.lang),
            widget,
            value,
            options,
            error: error_of(f.path),
            readonly: f.path == "id" && s.editing.is_some(),
        }
    };
    let sections = [
        (Section::Identity, c.t("Target", "الهدف", "هدف")),
        (
            Section::Probe,
            c.t("What is checked", "ما يُفحص", "آنچه بررسی می‌شود"),
        ),
        (
            Section::Schedule,
            c.t(
                "Schedule and thresholds",
                "الجدولة والعتبات",
                "زمان‌بندی و آستانه‌ها",
            ),
        ),
        (Section::Advanced, c.t("Advanced", "متقدّم", "پیشرفته")),
    ]
    .into_iter()
    .map(|(section, legend)| SectionView {
        legend,
        fields: table
            .iter()
            .filter(|f| f.section == section)
            .map(view)
            .collect(),
    })
    .collect();
    let page = FormPage {
        c,
        kind: s.kind,
        kind_word: fields::kind_word(c.lang, s.kind),
        editing: s.editing,
        version: s.version,
        sections,
        other: s.other,
        other_error: error_of(OTHER),
        form_error: s.form_error,
        kinds: kinds(c, s.kind),
    };
    html(status, &page)
}

/// The form's errors of an API refusal: at the closest field of `kind`'s table, else on top.
fn place(kind: &str, r: &Refusal, editing: bool) -> (Vec<FieldError>, Option<String>) {
    let table = fields::table(kind);
    // `target x exists` names no field: on a new form it is the id's.
    let field = r
        .field
        .clone()
        .or_else(|| (!editing && r.status == StatusCode::CONFLICT).then(|| "id".to_string()));
    match field.as_deref().and_then(|p| fields::closest(&table, p)) {
        Some(f) => (
            vec![FieldError {
                path: f.path.to_string(),
                message: r.message.clone(),
            }],
            None,
        ),
        None => (vec![], Some(r.message.clone())),
    }
}

/// The inputs' text of a submitted form (the last value of each name: a checkbox comes after
/// its hidden `false`).
fn raw_of_form(kind: &str, form: &FormData) -> BTreeMap<String, String> {
    fields::table(kind)
        .iter()
        .filter_map(|f| {
            form.all(f.path)
                .last()
                .map(|v| (f.path.to_string(), v.to_string()))
        })
        .collect()
}

/// Query of `GET /console/targets/new`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct NewQuery {
    /// `server`, `proxy`, `tcp`, `tls`, `dns` or `heartbeat`; none for the kinds to pick.
    pub kind: Option<String>,
}

/// `GET /console/targets/new[?kind=]`.
pub async fn new_form<S: Store>(
    axum::Extension(c): axum::Extension<Chrome>,
    Query(q): Query<NewQuery>,
) -> Response {
    if !c.can_write() {
        return read_only(&c);
    }
    let kind = q.kind.as_deref().unwrap_or("");
    if fields::own(kind).is_none() {
        let page = KindPage {
            c: &c,
            kinds: kinds(&c, ""),
        };
        return html(StatusCode::OK, &page);
    }
    let def = serde_json::json!({"kind": kind});
    let (raw, other) = fields::raw_of(kind, &def);
    render(
        &c,
        StatusCode::OK,
        Shown {
            kind,
            editing: None,
            version: "",
            raw: &raw,
            other: &other,
            errors: vec![],
            form_error: None,
        },
    )
}

/// `POST /console/targets/new`.
pub async fn create<S: Store>(
    State(app): State<AppState<S>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Extension(c): axum::Extension<Chrome>,
    axum::Extension(form): axum::Extension<FormData>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let kind = form.get("kind").unwrap_or("");
    if fields::own(kind).is_none() {
        return c.error(
            StatusCode::UNPROCESSABLE_ENTITY,
            c.t(
                "Pick a kind: server, proxy, tcp, tls, dns or heartbeat.",
                "اختر نوعاً: server أو proxy أو tcp أو tls أو dns أو heartbeat.",
                "یک نوع برگزینید: server، proxy، tcp، tls، dns یا heartbeat.",
            ),
        );
    }
    let raw = raw_of_form(kind, &form);
    let other = form.get(OTHER).unwrap_or("");
    let shown = |errors, form_error| Shown {
        kind,
        editing: None,
        version: "",
        raw: &raw,
        other,
        errors,
        form_error,
    };
    let def = match fields::parse(c.lang, kind, &raw, other) {
        Ok(d) => d,
        Err(errors) => return render(&c, StatusCode::UNPROCESSABLE_ENTITY, shown(errors, None)),
    };
    let answer = super::api(&app, &session)
        .call(Method::POST, "/v1/targets", Some(&Value::Object(def)))
        .await;
    if let Some(r) = answer.refusal() {
        let (errors, top) = place(kind, &r, false);
        return render(&c, StatusCode::UNPROCESSABLE_ENTITY, shown(errors, top));
    }
    let created = &answer.json["created"][0];
    let id = created["id"].as_str().unwrap_or("");
    match push_url_of(created, &headers, &uri, &app.base_path) {
        Some(url) => html(
            StatusCode::OK,
            &CreatedPage {
                c: &c,
                urls: vec![(id.to_string(), url)],
                next: c.href(&format!("{}?done=created", detail_path(id))),
            },
        ),
        None => c.redirect(&detail_path(id), Some("created")),
    }
}

/// A new heartbeat's push URL from the API's answer `entry` (`push_url`, or from `push_path`
/// and the browser's `Host` when the in-process call had none); `None` for other targets.
pub(crate) fn push_url_of(
    entry: &Value,
    headers: &HeaderMap,
    uri: &Uri,
    base_path: &str,
) -> Option<String> {
    if let Some(url) = entry["push_url"].as_str() {
        return Some(url.to_string());
    }
    let path = entry["push_path"].as_str()?;
    let token = path.rsplit('/').next().unwrap_or("");
    Some(
        crate::routes::push::push_url(headers, uri, base_path, token)
            .unwrap_or_else(|| format!("{base_path}{path}")),
    )
}

/// `GET /console/targets/{id}/edit`.
pub async fn edit_form<S: Store>(
    State(app): State<AppState<S>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Extension(c): axum::Extension<Chrome>,
    Path(id): Path<String>,
) -> Response {
    if !c.can_write() {
        return read_only(&c);
    }
    let path = format!("/v1/targets/{}", urlencoding(&id));
    let current = match super::api(&app, &session).get_ok(&path).await {
        Ok(v) => v,
        Err(r) => return c.refused(&r),
    };
    let def = &current["target"];
    let kind = def["kind"].as_str().unwrap_or("");
    let version = def["version"].as_u64().unwrap_or(0).to_string();
    let (raw, other) = fields::raw_of(kind, def);
    render(
        &c,
        StatusCode::OK,
        Shown {
            kind,
            editing: Some(&id),
            version: &version,
            raw: &raw,
            other: &other,
            errors: vec![],
            form_error: None,
        },
    )
}

/// `POST /console/targets/{id}/edit`.
pub async fn save<S: Store>(
    State(app): State<AppState<S>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Extension(c): axum::Extension<Chrome>,
    axum::Extension(form): axum::Extension<FormData>,
    Path(id): Path<String>,
) -> Response {
    let api = super::api(&app, &session);
    let path = format!("/v1/targets/{}", urlencoding(&id));
    let current = match api.get_ok(&path).await {
        Ok(v) => v,
        Err(r) => return c.refused(&r),
    };
    let mut old = current["target"].clone();
    let kind = old["kind"].as_str().unwrap_or("").to_string();
    let kind = kind.as_str();
    let version = form.get("version").unwrap_or("").trim().to_string();
    let raw = raw_of_form(kind, &form);
    let other = form.get(OTHER).unwrap_or("");
    let shown = |errors, form_error| Shown {
        kind,
        editing: Some(&id),
        version: &version,
        raw: &raw,
        other,
        errors,
        form_error,
    };
    let mut new = match fields::parse(c.lang, kind, &raw, other) {
        Ok(d) => d,
        Err(errors) => return render(&c, StatusCode::UNPROCESSABLE_ENTITY, shown(errors, None)),
    };
    new.remove("version");
    if let Value::Object(o) = &mut old {
        o.remove("version");
    }
    let mut patch = fields::merge_patch(&old, &Value::Object(new));
    if let Some(at) = fields::masked_change(&patch) {
        let table = fields::table(kind);
        let message = c
            .t(
                "This value hides a secret as ***: leave it exactly as shown to keep the secret, or type the whole new value.",
                "تخفي هذه القيمة سراً بالرمز ***: اتركها كما هي للإبقاء عليه، أو اكتب القيمة الجديدة كاملة.",
                "این مقدار رازی را با *** پنهان می‌کند: برای نگه داشتن آن دست نزنید، یا کل مقدار تازه را بنویسید.",
            )
            .to_string();
        let (errors, top) = match fields::closest(&table, &at) {
            Some(f) => (
                vec![FieldError {
                    path: f.path.to_string(),
                    message,
                }],
                None,
            ),
            None => (vec![], Some(format!("{at}: {message}"))),
        };
        return render(&c, StatusCode::UNPROCESSABLE_ENTITY, shown(errors, top));
    }
    // The version the form was read at (a stale one is the API's 409).
    patch["version"] = version
        .parse::<u64>()
        .map_or_else(|_| Value::String(version.clone()), Value::from);
    let answer = api.call(Method::PATCH, &path, Some(&patch)).await;
    if let Some(r) = answer.refusal() {
        let (errors, top) = place(kind, &r, true);
        return render(&c, StatusCode::UNPROCESSABLE_ENTITY, shown(errors, top));
    }
    c.redirect(&detail_path(&id), Some("saved"))
}

#[cfg(test)]
mod tests;

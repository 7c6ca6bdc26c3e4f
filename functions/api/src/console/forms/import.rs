//! The target file: `GET /console/import` (paste or pick a file, JSON or YAML), `POST
//! /console/import` (`mode=create`: `POST /v1/targets`, adds and refuses an existing id;
//! `mode=apply`: `PUT /v1/targets`, creates and updates, and deletes the targets the file does
//! not list only with `prune`; shown first as the API's dry run, written only from that
//! preview's form), `GET /console/export?format=json|yaml` (every page of `GET
//! /v1/targets`, as an attachment in the shape `PUT /v1/targets` takes back).

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{json, Value};

use super::{push_url_of, read_only, CreatedPage};
use crate::console::client::Refusal;
use crate::console::session::Session;
use crate::console::view::{html, with_headers, Chrome};
use crate::console::FormData;
use crate::extract::Query;
use crate::routes::AppState;
use crate::Store;

/// `templates/console/import.html`.
#[derive(askama::Template)]
#[template(path = "console/import.html")]
struct ImportPage<'a> {
    c: &'a Chrome,
    file: &'a str,
    mode: &'a str,
    prune: bool,
    /// The API's refusal: its message and the field path it names.
    error: Option<(String, Option<String>)>,
}

/// `GET /console/import`.
pub async fn page<S: Store>(axum::Extension(c): axum::Extension<Chrome>) -> Response {
    if !c.can_write() {
        return read_only(&c);
    }
    html(
        StatusCode::OK,
        &ImportPage {
            c: &c,
            file: "",
            mode: "create",
            prune: false,
            error: None,
        },
    )
}

/// `templates/console/import_preview.html`: what `PUT /v1/targets?dry_run=true` says an apply
/// would do, and the form that does it.
#[derive(askama::Template)]
#[template(path = "console/import_preview.html")]
struct PreviewPage<'a> {
    c: &'a Chrome,
    file: &'a str,
    prune: bool,
    created: Vec<String>,
    updated: Vec<String>,
    unchanged: Vec<String>,
    deleted: Vec<String>,
}

/// The ids of the answer's list `key`.
fn ids(answer: &Value, key: &str) -> Vec<String> {
    answer[key]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().or(v["id"].as_str()).map(str::to_string))
        .collect()
}

/// Whether `text` is JSON rather than YAML (the API's own test: `{` or `[` first).
fn is_json(text: &str) -> bool {
    text.trim_start().starts_with(['{', '['])
}

/// `POST /console/import`: fields `file` (the text), `mode` (`create` or `apply`), `prune`.
pub async fn import<S: Store>(
    State(app): State<AppState<S>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Extension(c): axum::Extension<Chrome>,
    axum::Extension(form): axum::Extension<FormData>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let file = form.get("file").unwrap_or("");
    let mode = if form.get("mode") == Some("apply") {
        "apply"
    } else {
        "create"
    };
    let prune = mode == "apply" && form.get("prune").is_some_and(|v| v == "true" || v == "on");
    let again = |status: StatusCode, error: (String, Option<String>)| {
        html(
            status,
            &ImportPage {
                c: &c,
                file,
                mode,
                prune,
                error: Some(error),
            },
        )
    };
    if file.trim().is_empty() {
        return again(
            StatusCode::UNPROCESSABLE_ENTITY,
            (
                c.t(
                    "Paste a target file or pick one.",
                    "الصق ملف أهداف أو اختر واحداً.",
                    "یک فایل اهداف بچسبانید یا برگزینید.",
                )
                .into(),
                None,
            ),
        );
    }
    let api = crate::console::api(&app, &session);
    let answer = if mode == "apply" {
        let content_type = if is_json(file) {
            "application/json"
        } else {
            "application/yaml"
        };
        let prune_q = if prune { "prune=true" } else { "prune=false" };
        // An apply is shown first (`dry_run=true`: created, updated, unchanged and deleted
        // ids) and written only from the preview's own form (`confirm=yes`).
        if form.get("confirm") != Some("yes") {
            let preview = api
                .raw(
                    Method::PUT,
                    &format!("/v1/targets?dry_run=true&{prune_q}"),
                    Some(file.to_string()),
                    content_type,
                )
                .await;
            if let Some(Refusal { message, field, .. }) = preview.refusal() {
                return again(StatusCode::UNPROCESSABLE_ENTITY, (message, field));
            }
            return html(
                StatusCode::OK,
                &PreviewPage {
                    c: &c,
                    file,
                    prune,
                    created: ids(&preview.json, "created"),
                    updated: ids(&preview.json, "updated"),
                    unchanged: ids(&preview.json, "unchanged"),
                    deleted: ids(&preview.json, "deleted"),
                },
            );
        }
        api.raw(
            Method::PUT,
            &format!("/v1/targets?{prune_q}"),
            Some(file.to_string()),
            content_type,
        )
        .await
    } else {
        // `POST /v1/targets` reads JSON only: YAML is turned into the same JSON here.
        let body = if is_json(file) {
            file.to_string()
        } else {
            match serde_norway::from_str::<Value>(file) {
                Ok(v) => v.to_string(),
                Err(e) => {
                    return again(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        (
                            format!(
                                "{}: {e}",
                                c.t(
                                    "the file is neither JSON nor YAML",
                                    "الملف ليس JSON ولا YAML",
                                    "فایل نه JSON است نه YAML",
                                )
                            ),
                            None,
                        ),
                    )
                }
            }
        };
        api.raw(Method::POST, "/v1/targets", Some(body), "application/json")
            .await
    };
    if let Some(Refusal { message, field, .. }) = answer.refusal() {
        return again(StatusCode::UNPROCESSABLE_ENTITY, (message, field));
    }
    // New heartbeats' push URLs are answered once: shown on a page.
    let mut urls: Vec<(String, String)> = Vec::new();
    if let Some(created) = answer.json["created"].as_array() {
        for entry in created {
            if let (Some(id), Some(url)) = (
                entry["id"].as_str(),
                push_url_of(entry, &headers, &uri, &app.base_path),
            ) {
                urls.push((id.to_string(), url));
            }
        }
    }
    if let Some(push) = answer.json["push_urls"].as_object() {
        for (id, entry) in push {
            if let Some(url) = push_url_of(entry, &headers, &uri, &app.base_path) {
                urls.push((id.clone(), url));
            }
        }
    }
    if urls.is_empty() {
        c.redirect("/targets", Some("imported"))
    } else {
        html(
            StatusCode::OK,
            &CreatedPage {
                c: &c,
                urls,
                next: c.href("/targets?done=imported"),
            },
        )
    }
}

/// Query of `GET /console/export`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ExportQuery {
    /// `json` (the default) or `yaml`.
    pub format: Option<String>,
}

/// `GET /console/export?format=json|yaml`: `{"targets": [...]}` from every page of `GET
/// /v1/targets` (secrets masked as the API masks them; `status` and `version` left out), as
/// `lookout-targets.json` or `.yaml`. The read token may export.
pub async fn export<S: Store>(
    State(app): State<AppState<S>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Extension(c): axum::Extension<Chrome>,
    Query(q): Query<ExportQuery>,
) -> Response {
    let yaml = match q.format.as_deref().unwrap_or("json") {
        "json" => false,
        "yaml" => true,
        _ => {
            return c.error(
                StatusCode::BAD_REQUEST,
                c.t(
                    "format: json or yaml.",
                    "format: json أو yaml.",
                    "format: json یا yaml.",
                ),
            )
        }
    };
    let api = crate::console::api(&app, &session);
    let mut targets: Vec<Value> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/targets?limit={}", crate::routes::targets::MAX_PAGE);
        if let Some(cur) = &cursor {
            path.push_str("&cursor=");
            path.push_str(&super::urlencoding(cur));
        }
        let page = match api.get_ok(&path).await {
            Ok(v) => v,
            Err(r) => return c.refused(&r),
        };
        for mut t in page["targets"].as_array().cloned().unwrap_or_default() {
            if let Value::Object(o) = &mut t {
                o.remove("status");
                o.remove("version");
            }
            targets.push(t);
        }
        match page["next_cursor"].as_str() {
            Some(next) if cursor.as_deref() != Some(next) => cursor = Some(next.to_string()),
            _ => break,
        }
    }
    let file = json!({"targets": targets});
    let (body, content_type, name) = if yaml {
        match serde_norway::to_string(&file) {
            Ok(text) => (
                text,
                "application/yaml; charset=utf-8",
                "lookout-targets.yaml",
            ),
            Err(e) => return c.error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        }
    } else {
        (
            serde_json::to_string_pretty(&file).unwrap_or_default() + "\n",
            "application/json",
            "lookout-targets.json",
        )
    };
    let mut r = with_headers(StatusCode::OK, body, content_type);
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

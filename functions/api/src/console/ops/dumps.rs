//! The dumps of the table in the bucket (admin token): `GET /console/dumps` lists them
//! (`GET /v1/dumps`, `GET /v1/dumps/stats`) with their forms:
//!
//! - dump now: `POST /console/dumps` -> `POST /v1/dumps`, then 303 back with
//!   `?done=dump_started`;
//! - verify: `POST /console/dumps/{id}/verify` -> `POST /v1/dumps/{id}/verify`: the page again
//!   with the report (`#verify-result[data-ok]`: each part's check, the problems);
//! - restore: `POST /console/dumps/{id}/restore` with `table` (a NEW table) ->
//!   `POST /v1/dumps/{id}/restore` with `{"table", "mode": "empty-only"}`: the page again with
//!   the report (`#restore-result`), or 202's "restore started". The console refuses the
//!   dump's own (live) table and a blank name; the API refuses a table that is not empty (409)
//!   and a bad name (400), shown at the `table` field;
//! - delete: `POST /console/dumps/{id}/delete` -> `DELETE /v1/dumps/{id}` (the button asks
//!   first, `data-confirm`), then 303 back with `?done=deleted`.
//!
//! A read session sees a sentence saying the admin token is needed; without a bucket the API
//! answers 503, and its message is shown in the page.

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::super::session::Session;
use super::super::view::{html, Chrome};
use super::super::FormData;
use crate::extract::Path;
use crate::routes::AppState;
use crate::Store;

/// One complete dump.
#[derive(Debug)]
pub struct DumpRow {
    /// Its id (`20250101T000000Z`...).
    pub id: String,
    /// The table it was made of.
    pub table: String,
    /// When it started, in the reader's language.
    pub started: String,
    /// Items.
    pub items: String,
    /// Bytes in the bucket.
    pub bytes: String,
    /// Parts.
    pub parts: String,
}

/// What the page says above the list after a form.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The dump the outcome is about (the restore form of it shows `table_error`).
    pub dump: String,
    /// A verification's report, when one ran.
    pub verify: Option<Verified>,
    /// A restore's report lines, when one ran.
    pub restored: Vec<String>,
    /// A restore refused: the message, shown at the `table` field of `dump`'s form.
    pub table_error: Option<String>,
    /// The table name the restore form was given.
    pub table: String,
    /// A refusal naming no field.
    pub error: Option<String>,
}

/// A verification's report.
#[derive(Debug)]
pub struct Verified {
    /// Whether every part matched its manifest.
    pub ok: bool,
    /// Items and bytes of the dump, in words.
    pub totals: String,
    /// `(part key, ok, detail)` of each part.
    pub parts: Vec<(String, bool, String)>,
    /// The problems found.
    pub problems: Vec<String>,
}

#[derive(askama::Template)]
#[template(path = "console/ops_dumps.html")]
struct DumpsPage<'a> {
    c: &'a Chrome,
    /// A sentence instead of the list (read session, no bucket, an error).
    unavailable: Option<String>,
    dumps: Vec<DumpRow>,
    stats: Vec<(&'static str, String)>,
    incomplete: Vec<String>,
    corrupt: Vec<(String, String)>,
    out: Outcome,
}

#[derive(askama::Template)]
#[template(path = "console/ops_verify.html")]
struct VerifyFragment<'a> {
    c: &'a Chrome,
    v: &'a Verified,
}

/// `GET /console/dumps`.
pub async fn page<S: Store>(
    State(app): State<AppState<S>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Extension(c): axum::Extension<Chrome>,
) -> Response {
    render(&app, &session, &c, Outcome::default()).await
}

/// The page with `out` above the list.
async fn render<S: Store>(
    app: &AppState<S>,
    session: &Session,
    c: &Chrome,
    out: Outcome,
) -> Response {
    let mut page = DumpsPage {
        c,
        unavailable: None,
        dumps: Vec::new(),
        stats: Vec::new(),
        incomplete: Vec::new(),
        corrupt: Vec::new(),
        out,
    };
    if !c.can_write() {
        page.unavailable = Some(super::admin_only(c).to_string());
        return html(StatusCode::OK, &page);
    }
    let api = super::super::api(app, session);
    let listing = match api.get_ok("/v1/dumps").await {
        Ok(v) => v,
        Err(r) => {
            page.unavailable = Some(r.message);
            return html(StatusCode::OK, &page);
        }
    };
    page.dumps = listing["dumps"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let s = |k: &str| d[k].as_str().unwrap_or("").to_string();
            let n = |k: &str| super::num(c, d[k].as_u64().unwrap_or(0));
            DumpRow {
                id: s("id"),
                table: s("table"),
                started: super::when_text(c, &s("started_at")),
                items: n("item_count"),
                bytes: n("bytes"),
                parts: n("parts"),
            }
        })
        .collect();
    page.incomplete = listing["incomplete"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect();
    page.corrupt = listing["corrupt"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            (
                d["id"].as_str().unwrap_or("").to_string(),
                d["reason"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    if let Ok(s) = api.get_ok("/v1/dumps/stats").await {
        let n = |k: &str| super::num(c, s[k].as_u64().unwrap_or(0));
        let t = |k: &str| {
            s[k].as_str()
                .map(|v| super::when_text(c, v))
                .unwrap_or_default()
        };
        page.stats = vec![
            (c.t("Dumps", "النسخ", "نسخه‌ها"), n("count")),
            (c.t("Bytes", "البايتات", "بایت‌ها"), n("bytes")),
            (c.t("Oldest", "الأقدم", "قدیمی‌ترین"), t("oldest")),
            (c.t("Newest", "الأحدث", "تازه‌ترین"), t("newest")),
            (
                c.t(
                    "Items in the newest",
                    "العناصر في الأحدث",
                    "اقلام در تازه‌ترین",
                ),
                n("newest_items"),
            ),
            (c.t("Incomplete", "غير مكتملة", "ناقص"), n("incomplete")),
            (c.t("Corrupt", "تالفة", "خراب"), n("corrupt")),
        ];
    }
    html(StatusCode::OK, &page)
}

/// `POST /console/dumps`: dump now.
pub async fn dump_now<S: Store>(
    State(app): State<AppState<S>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Extension(c): axum::Extension<Chrome>,
) -> Response {
    let answer = super::super::api(&app, &session)
        .call(Method::POST, "/v1/dumps", None)
        .await;
    match answer.refusal() {
        None => c.redirect("/dumps", Some("dump_started")),
        Some(r) => {
            let out = Outcome {
                error: Some(r.message),
                ..Outcome::default()
            };
            render(&app, &session, &c, out).await
        }
    }
}

/// `POST /console/dumps/{id}/verify`: the report in the page (or alone, for an inline submit).
pub async fn verify<S: Store>(
    State(app): State<AppState<S>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Extension(c): axum::Extension<Chrome>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let answer = super::super::api(&app, &session)
        .call(
            Method::POST,
            &format!("/v1/dumps/{}/verify", super::segment(&id)),
            None,
        )
        .await;
    let mut out = Outcome {
        dump: id,
        ..Outcome::default()
    };
    match answer.refusal() {
        None => out.verify = Some(verified(&c, &answer.json)),
        Some(r) => out.error = Some(r.message),
    }
    if super::super::wants_fragment(&headers) {
        if let Some(v) = &out.verify {
            return html(StatusCode::OK, &VerifyFragment { c: &c, v });
        }
    }
    render(&app, &session, &c, out).await
}

fn verified(c: &Chrome, v: &Value) -> Verified {
    Verified {
        ok: v["ok"].as_bool().unwrap_or(false),
        totals: format!(
            "{} {} · {} {}",
            super::num(c, v["item_count"].as_u64().unwrap_or(0)),
            c.t("items", "عنصراً", "قلم"),
            super::num(c, v["bytes"].as_u64().unwrap_or(0)),
            c.t("bytes", "بايت", "بایت"),
        ),
        parts: v["parts"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                let detail = match p["error"].as_str() {
                    Some(e) => e.to_string(),
                    None => format!(
                        "{} {} · {} {}",
                        super::num(c, p["items"].as_u64().unwrap_or(0)),
                        c.t("items", "عنصراً", "قلم"),
                        super::num(c, p["bytes"].as_u64().unwrap_or(0)),
                        c.t("bytes", "بايت", "بایت"),
                    ),
                };
                (
                    p["key"].as_str().unwrap_or("").to_string(),
                    p["ok"].as_bool().unwrap_or(false),
                    detail,
                )
            })
            .collect(),
        problems: v["problems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect(),
    }
}

/// `POST /console/dumps/{id}/restore` with `table`: into a new table only.
pub async fn restore<S: Store>(
    State(app): State<AppState<S>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Extension(c): axum::Extension<Chrome>,
    axum::Extension(form): axum::Extension<FormData>,
    Path(id): Path<String>,
) -> Response {
    let table = form.get("table").unwrap_or("").trim().to_string();
    let mut out = Outcome {
        dump: id.clone(),
        table: table.clone(),
        ..Outcome::default()
    };
    let api = super::super::api(&app, &session);
    if table.is_empty() {
        out.table_error = Some(
            c.t(
                "Name a new table to restore into.",
                "سمِّ جدولاً جديداً للاستعادة إليه.",
                "نام یک جدول تازه برای بازیابی بدهید.",
            )
            .to_string(),
        );
        return render(&app, &session, &c, out).await;
    }
    // The dump's own table is the live one: refused before the API is asked.
    let live = api
        .get_ok(&format!("/v1/dumps/{}", super::segment(&id)))
        .await
        .ok()
        .and_then(|m| m["table"].as_str().map(str::to_string));
    if live.as_deref() == Some(table.as_str()) {
        out.table_error = Some(
            c.t(
                "Restoring over the live table is refused: name a new table (the restore writes only into an empty one).",
                "الاستعادة فوق الجدول الحي مرفوضة: سمِّ جدولاً جديداً (لا تكتب الاستعادة إلا في جدول فارغ).",
                "بازیابی روی جدول زنده پذیرفته نیست: نام جدولی تازه بدهید (بازیابی فقط در جدول خالی می‌نویسد).",
            )
            .to_string(),
        );
        return render(&app, &session, &c, out).await;
    }
    let body = json!({"table": table, "mode": "empty-only"});
    let answer = api
        .call(
            Method::POST,
            &format!("/v1/dumps/{}/restore", super::segment(&id)),
            Some(&body),
        )
        .await;
    match answer.refusal() {
        None if answer.status == StatusCode::ACCEPTED => {
            return c.redirect("/dumps", Some("restore_started"))
        }
        None => {
            let r = &answer.json;
            out.restored = vec![
                format!(
                    "{}: {} → {}",
                    c.t("Restored", "اُستعيد", "بازیابی شد"),
                    r["dump"].as_str().unwrap_or(&id),
                    r["table"].as_str().unwrap_or(&table)
                ),
                format!(
                    "{}: {}",
                    c.t("Items written", "العناصر المكتوبة", "اقلام نوشته‌شده"),
                    super::num(&c, r["items_written"].as_u64().unwrap_or(0))
                ),
                format!(
                    "{}: {}",
                    c.t("Items in the table", "العناصر في الجدول", "اقلام جدول"),
                    super::num(&c, r["table_items"].as_u64().unwrap_or(0))
                ),
                format!(
                    "{}: {} ms",
                    c.t("Took", "استغرق", "زمان"),
                    super::num(&c, r["elapsed_ms"].as_u64().unwrap_or(0))
                ),
            ];
        }
        Some(r) if r.status == StatusCode::CONFLICT || r.status == StatusCode::BAD_REQUEST => {
            out.table_error = Some(r.message)
        }
        Some(r) => out.error = Some(r.message),
    }
    render(&app, &session, &c, out).await
}

/// `POST /console/dumps/{id}/delete`.
pub async fn delete<S: Store>(
    State(app): State<AppState<S>>,
    axum::Extension(session): axum::Extension<Session>,
    axum::Extension(c): axum::Extension<Chrome>,
    Path(id): Path<String>,
) -> Response {
    let answer = super::super::api(&app, &session)
        .call(
            Method::DELETE,
            &format!("/v1/dumps/{}", super::segment(&id)),
            None,
        )
        .await;
    match answer.refusal() {
        None => c.redirect("/dumps", Some("deleted")),
        Some(r) => {
            let out = Outcome {
                dump: id,
                error: Some(r.message),
                ..Outcome::default()
            };
            render(&app, &session, &c, out).await
        }
    }
}

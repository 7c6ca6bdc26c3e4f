//! The status pages' settings (admin): `GET /v1/pages`, `GET/PUT/DELETE /v1/pages/{slug}`.
//! A page is served at `/p/{slug}` (and `default` at `/`) with its title, description, logo,
//! groups, service level objectives and footer ([`StatusPage`]); writes are conditional on the version read (409 when it
//! is stale), and every rule names its field (422).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lookout_core::domain::status_page::StatusPage;
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use crate::audit::{AuditChange, AuditExt as _};
use crate::extract::{parse_json, Path};
use crate::{ApiError, Json, Store};

/// Longest slug, characters.
pub const MAX_SLUG_CHARS: usize = 64;
/// Longest title, characters.
pub const MAX_TITLE_CHARS: usize = 100;
/// Longest description and footer, characters.
pub const MAX_TEXT_CHARS: usize = 500;
/// Longest logo URL, characters.
pub const MAX_LOGO_CHARS: usize = 2_048;
/// Most groups a page names.
pub const MAX_GROUPS: usize = 200;
/// Longest group name a page names, characters.
pub const MAX_GROUP_CHARS: usize = 200;
/// Most SLOs a page lists.
pub const MAX_PAGE_SLOS: usize = 50;
/// An SLO id a page names: the ids `POST /v1/slos` accepts (1 to 64 of `a-z`, `0-9`, `-`, `_`,
/// `.`).
pub const SLO_ID_PATTERN: &str = r"^[a-z0-9._-]{1,64}$";

/// The schema of `slos`: at most [`MAX_PAGE_SLOS`] ids of [`SLO_ID_PATTERN`], each once.
fn slo_ids_schema() -> utoipa::openapi::Array {
    use utoipa::openapi::{ArrayBuilder, ObjectBuilder, SchemaType};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(SchemaType::String)
                .min_length(Some(1))
                .max_length(Some(64))
                .pattern(Some(SLO_ID_PATTERN)),
        )
        .max_items(Some(MAX_PAGE_SLOS))
        .unique_items(true)
        .description(Some(
            "The SLOs it lists in a \"Service level objectives\" section, by id, in this order \
             (at most 50, each once); empty: no such section. An id of no SLO is allowed and \
             left out when the page is shown.",
        ))
        .build()
}

/// The body of `PUT /v1/pages/{slug}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageBody {
    /// The heading and `<title>`, 1 to 100 characters, not blank, no control characters.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub title: String,
    /// A line under the heading, at most 500 characters (no control characters but line
    /// feeds and tabs).
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = r"^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*$"
    )]
    pub description: String,
    /// An `https://` URL of a logo image (a host, no user name or password), at most 2,048
    /// characters.
    #[serde(default)]
    #[schema(
        max_length = 2048,
        pattern = r"^https://[a-z0-9.-]+(:[0-9]{1,5})?([/?#][!-~]*)?$"
    )]
    pub logo_url: Option<String>,
    /// The groups and pools it shows, in this order (at most 200, each 1 to 200 characters, no
    /// control characters); empty: every group.
    #[serde(default)]
    #[schema(max_items = 200)]
    pub groups: Vec<String>,
    /// The SLOs it lists in a "Service level objectives" section, by id, in this order (at most
    /// 50, each once); empty: no such section. An id of no SLO is allowed and left out when the
    /// page is shown.
    #[serde(default)]
    #[schema(schema_with = slo_ids_schema)]
    pub slos: Vec<String>,
    /// The footer text, at most 500 characters (no control characters but line feeds and tabs).
    #[serde(default)]
    #[schema(
        max_length = 500,
        pattern = r"^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*$"
    )]
    pub footer: String,
    /// The version read (`GET`); absent or 0 to create the page. A stale one is 409.
    #[serde(default)]
    pub version: u64,
}

/// Checks the slug: lower-case letters, digits and `-`, 1 to 64 characters.
///
/// # Errors
/// 422 naming `slug`.
pub fn check_slug(slug: &str) -> Result<(), ApiError> {
    let ok = !slug.is_empty()
        && slug.chars().count() <= MAX_SLUG_CHARS
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            "slug",
            "1 to 64 lower-case letters, digits and '-'",
        ))
    }
}

/// Checks a text's length and that it has no control characters (but line feeds and tabs when
/// `lines`).
fn text(field: &str, value: &str, min: usize, max: usize, lines: bool) -> Result<(), ApiError> {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(ApiError::invalid_field(
            field,
            format!("{min} to {max} characters, not {n}"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !(lines && (c == '\n' || c == '\t')))
    {
        return Err(ApiError::invalid_field(field, "no control characters"));
    }
    Ok(())
}

/// Checks a page's fields, naming the one to blame.
///
/// # Errors
/// 422 naming the field (`title`, `logo_url`, `groups[3]`, ...).
pub fn check(body: &PageBody) -> Result<(), ApiError> {
    text("title", &body.title, 1, MAX_TITLE_CHARS, false)?;
    if body.title.trim().is_empty() {
        return Err(ApiError::invalid_field("title", "must not be blank"));
    }
    text("description", &body.description, 0, MAX_TEXT_CHARS, true)?;
    text("footer", &body.footer, 0, MAX_TEXT_CHARS, true)?;
    if let Some(logo) = &body.logo_url {
        text("logo_url", logo, 1, MAX_LOGO_CHARS, false)?;
        let url = url::Url::parse(logo)
            .map_err(|e| ApiError::invalid_field("logo_url", format!("not a URL: {e}")))?;
        if url.scheme() != "https" || url.host_str().is_none_or(str::is_empty) {
            return Err(ApiError::invalid_field(
                "logo_url",
                "must be an https:// URL with a host",
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ApiError::invalid_field(
                "logo_url",
                "must not carry a user name or password",
            ));
        }
    }
    if body.groups.len() > MAX_GROUPS {
        return Err(ApiError::invalid_field(
            "groups",
            format!("at most {MAX_GROUPS} groups"),
        ));
    }
    for (i, g) in body.groups.iter().enumerate() {
        text(&format!("groups[{i}]"), g, 1, MAX_GROUP_CHARS, false)?;
    }
    check_slos(&body.slos)
}

/// Checks the SLO ids a page names: at most [`MAX_PAGE_SLOS`], each an id (see
/// [`SLO_ID_PATTERN`]) named once. Whether an SLO of that id exists is not checked: the page
/// leaves out the ids of no SLO.
///
/// # Errors
/// 422 naming `slos` or `slos[i]`.
fn check_slos(slos: &[String]) -> Result<(), ApiError> {
    if slos.len() > MAX_PAGE_SLOS {
        return Err(ApiError::invalid_field(
            "slos",
            format!("at most {MAX_PAGE_SLOS} SLOs"),
        ));
    }
    for (i, id) in slos.iter().enumerate() {
        let field = format!("slos[{i}]");
        let n = id.chars().count();
        let ok = (1..=64).contains(&n)
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
        if !ok {
            return Err(ApiError::invalid_field(
                field,
                "an SLO id: 1 to 64 of a-z, 0-9, '-', '_' and '.'",
            ));
        }
        if slos[..i].contains(id) {
            return Err(ApiError::invalid_field(
                field,
                format!("{id} is named twice"),
            ));
        }
    }
    Ok(())
}

/// Every status page
///
/// `{"pages":[{"slug","title","description","logo_url","groups","slos","footer","version"}]}` by
/// slug.
#[utoipa::path(get, path = "/v1/pages", tag = "admin",
    responses((status = 200, description = "OK", body = Object)))]
pub async fn list_pages<S: Store>(State(app): State<AppState<S>>) -> Result<Json, ApiError> {
    let pages = app.store.status_pages().await?;
    Ok(Json::ok(json!({ "pages": pages })))
}

/// One status page's settings
///
/// `{"page": ...}`; 404 when there is none.
#[utoipa::path(get, path = "/v1/pages/{slug}", tag = "admin",
    params(("slug" = String, Path, pattern = "^[a-z0-9-]{1,64}$", description = "The page's slug")),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn get_page<S: Store>(
    State(app): State<AppState<S>>,
    Path(slug): Path<String>,
) -> Result<Json, ApiError> {
    check_slug(&slug)?;
    let page = app
        .store
        .status_page(&slug)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no status page {slug}")))?;
    Ok(Json::ok(json!({ "page": page })))
}

/// Create or change a status page
///
/// The body is the page's settings with the `version` read (absent or 0 to create: 201; the
/// stored version to change: 200; a stale one, or 0 for a page that exists: 409). 422 naming
/// the field. Answers `{"page": ...}` with the new version.
#[utoipa::path(put, path = "/v1/pages/{slug}", tag = "admin",
    params(("slug" = String, Path, pattern = "^[a-z0-9-]{1,64}$", description = "The page's slug")),
    request_body(content = PageBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Changed", body = Object),
        (status = 201, description = "Created", body = Object),
    ))]
pub async fn put_page<S: Store>(
    State(app): State<AppState<S>>,
    Path(slug): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_slug(&slug)?;
    let body: PageBody = serde_path_to_error::deserialize(parse_json(&body)?).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "body".into() } else { path };
        ApiError::invalid_field(field, e.inner())
    })?;
    check(&body)?;
    let page = StatusPage {
        slug,
        title: body.title,
        description: body.description,
        logo_url: body.logo_url,
        groups: body.groups,
        slos: body.slos,
        footer: body.footer,
        version: body.version.saturating_add(1),
    };
    let old = match body.version {
        0 => None,
        _ => app.store.status_page(&page.slug).await?,
    };
    match app.store.put_status_page(&page).await {
        Ok(()) => {
            let change = AuditChange::of("page", &page.slug, old.as_ref(), Some(&page));
            let status = if body.version == 0 {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(Json(status, json!({ "page": page }))
                .audited(change)
                .into_response())
        }
        Err(lookout_app::ports::StoreError::Conflict(_)) => Err(ApiError::Conflict(format!(
            "status page {} is not at version {}: read it again",
            page.slug, body.version
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Delete a status page
///
/// 204; 404 when there is none.
#[utoipa::path(delete, path = "/v1/pages/{slug}", tag = "admin",
    params(("slug" = String, Path, pattern = "^[a-z0-9-]{1,64}$", description = "The page's slug")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_page<S: Store>(
    State(app): State<AppState<S>>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    check_slug(&slug)?;
    let old = app.store.status_page(&slug).await?;
    if app.store.delete_status_page(&slug).await? {
        let change = AuditChange::of("page", &slug, old.as_ref(), None::<&StatusPage>);
        Ok(StatusCode::NO_CONTENT.audited(change).into_response())
    } else {
        Err(ApiError::not_found(format!("no status page {slug}")))
    }
}

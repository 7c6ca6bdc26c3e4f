//! `/v1/dumps`: list, stats, one manifest, dump now, delete, restore, verify (admin token).
//!
//! Listing, stats and deletes read the bucket directly. A dump or a restore can outlast an HTTP
//! request (API Gateway gives up after 30 s), so when `LOOKOUT_EXPORT_FUNCTION` is set they are
//! handed to the export function with an asynchronous invoke and answered 202; without it (on a
//! laptop, in tests) they run here and are answered with their report.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use lookout_app::dump::{self, DumpError, DumpOptions, RestoreMode, RestoreOptions};
use lookout_aws::dynamodb::DynamoStore;
use lookout_aws::lambda::AsyncInvoker;
use lookout_aws::s3::S3DumpStore;
use serde::Deserialize;
use serde_json::{json, Value};

use super::AppState;
use crate::audit::{AuditChange, AuditExt as _, Audited};
use crate::extract::{is_blank, Path};
use crate::{ApiError, Json, Store};

/// What the dump routes need.
#[derive(Clone, Debug)]
pub struct Dumps {
    /// The bucket.
    pub store: S3DumpStore,
    /// The table (scanned by a dump, written by a restore).
    pub table: DynamoStore,
    /// Segments and item types of a dump made here.
    pub options: DumpOptions,
    /// `RETENTION_DAYS` and `MAX_DUMPS`, applied after a dump made here.
    pub retention: (u32, usize),
    /// The export function, when dumps and restores are handed to it.
    pub runner: Option<AsyncInvoker>,
}

impl From<DumpError> for ApiError {
    fn from(e: DumpError) -> Self {
        match e {
            DumpError::NotFound(id) => ApiError::not_found(format!("no complete dump {id}")),
            DumpError::Refused(m) => ApiError::Conflict(m),
            DumpError::Corrupt { .. } => ApiError::CorruptDump(e.to_string()),
            DumpError::Incomplete { .. } => {
                tracing::error!(error = %e, "restore incomplete");
                ApiError::RestoreIncomplete(e.to_string())
            }
            DumpError::Store(e) => ApiError::from(e),
            DumpError::Io(e) => ApiError::internal(format_args!("dump compression failed: {e}")),
        }
    }
}

fn configured(dumps: Option<&Dumps>) -> Result<&Dumps, ApiError> {
    dumps.ok_or_else(|| ApiError::NotConfigured("dumps need LOOKOUT_BUCKET".into()))
}

fn table(d: &Dumps) -> &str {
    lookout_app::ports::TableScan::table_name(&d.table)
}

fn check_id(id: &str) -> Result<(), ApiError> {
    dump::check_id(id).map_err(|e| ApiError::bad_request(e.to_string()))
}

/// Complete dumps newest first, incomplete folders, and corrupt manifests
#[utoipa::path(get, path = "/v1/dumps", tag = "admin",
    responses((status = 200, description = "OK", body = Object)))]
pub async fn dumps<S: Store>(State(app): State<AppState<S>>) -> Result<Json, ApiError> {
    let d = configured(app.dumps.as_ref())?;
    let listing = dump::list(&d.store, table(d)).await?;
    Ok(Json::ok(json!(listing)))
}

/// Count, bytes, oldest and newest dump; incomplete and corrupt ones
#[utoipa::path(get, path = "/v1/dumps/stats", tag = "admin",
    responses((status = 200, description = "OK", body = Object)))]
pub async fn dump_stats<S: Store>(State(app): State<AppState<S>>) -> Result<Json, ApiError> {
    let d = configured(app.dumps.as_ref())?;
    let listing = dump::list(&d.store, table(d)).await?;
    Ok(Json::ok(json!(listing.stats())))
}

/// A dump's manifest
#[utoipa::path(get, path = "/v1/dumps/{id}", tag = "admin",
    params(("id" = String, Path, min_length = 1, description = "Dump id")),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn get_dump<S: Store>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
) -> Result<Json, ApiError> {
    let d = configured(app.dumps.as_ref())?;
    check_id(&id)?;
    Ok(Json::ok(json!(
        dump::read_manifest(&d.store, table(d), &id).await?
    )))
}

/// Delete a dump
///
/// Every object of the dump; 404 when there is none.
#[utoipa::path(delete, path = "/v1/dumps/{id}", tag = "admin",
    params(("id" = String, Path, min_length = 1, description = "Dump id")),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn delete_dump<S: Store>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
) -> Result<Audited<Json>, ApiError> {
    let d = configured(app.dumps.as_ref())?;
    check_id(&id)?;
    if dump::delete(&d.store, table(d), &id).await? {
        let change = AuditChange::named("dump", &id);
        Ok(Json::ok(json!({"deleted": id})).audited(change))
    } else {
        Err(ApiError::not_found(format!("no dump {id}")))
    }
}

/// 202: the request handed to the export function.
fn accepted(invoker: &AsyncInvoker, request: &Value) -> Json {
    Json(
        StatusCode::ACCEPTED,
        json!({"accepted": true, "function": invoker.function(), "request": request}),
    )
}

/// Dump the table now (201 with the manifest, or 202 when handed to the export function)
///
/// And apply retention. 202 when handed to the export function, 201 with the manifest when run
/// here.
#[utoipa::path(post, path = "/v1/dumps", tag = "admin",
    request_body(content = Option<Value>, content_type = "application/json"),
    responses(
        (status = 201, description = "OK", body = Object),
        (status = 202, description = "Handed to the export function (LOOKOUT_EXPORT_FUNCTION)", body = Object),
    ))]
pub async fn create_dump<S: Store>(
    State(app): State<AppState<S>>,
) -> Result<Audited<Json>, ApiError> {
    // Boxed: a dump future is large, and inline it would swell every request's future past a
    // 2 MiB thread stack in debug builds.
    Box::pin(create(app.dumps.as_ref())).await
}

async fn create(dumps: Option<&Dumps>) -> Result<Audited<Json>, ApiError> {
    let d = configured(dumps)?;
    if let Some(invoker) = &d.runner {
        let request = json!({"action": "dump"});
        invoker.invoke(&request).await?;
        return Ok(accepted(invoker, &request).audited_all(vec![]));
    }
    let (id, manifest, deleted) = dump::dump_and_prune(
        &d.table,
        &d.store,
        &d.options,
        d.retention.0,
        d.retention.1,
        lookout_core::time::now_ms(),
    )
    .await?;
    // The dump made, then each one retention deleted.
    let changes = std::iter::once(AuditChange::of(
        "dump",
        &id,
        None::<&Value>,
        Some(&json!({"items": manifest.item_count})),
    ))
    .chain(deleted.iter().map(|old| {
        AuditChange::of(
            "dump",
            old,
            Some(&json!({"deleted_by": "retention"})),
            None::<&Value>,
        )
    }))
    .collect();
    Ok(Json(
        StatusCode::CREATED,
        json!({"id": id, "manifest": manifest, "deleted": deleted}),
    )
    .audited_all(changes))
}

/// Body of `POST /v1/dumps/{id}/restore`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreBody {
    /// Table to write to; default the API's own table.
    #[serde(default)]
    #[schema(pattern = "^[A-Za-z0-9_.-]{3,255}$", nullable = false)]
    pub table: Option<String>,
    /// `upsert` or `empty-only` (default).
    #[serde(default)]
    #[schema(value_type = super::openapi::RestoreModeName, inline)]
    pub mode: RestoreMode,
}

/// Restore a dump into a table (checked against its manifest first)
///
/// With `{"table": "...", "mode": "upsert" | "empty-only"}` (both optional): the dump is checked against its manifest before anything is written. 202
/// when handed to the export function (after the manifest is found), 200 with the report when
/// run here.
#[utoipa::path(post, path = "/v1/dumps/{id}/restore", tag = "admin",
    params(("id" = String, Path, min_length = 1, description = "Dump id")),
    request_body(content = Option<RestoreBody>, content_type = "application/json"),
    responses(
        (status = 200, description = "OK", body = Object),
        (status = 202, description = "Handed to the export function (LOOKOUT_EXPORT_FUNCTION)", body = Object),
    ))]
pub async fn restore_dump<S: Store>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Audited<Json>, ApiError> {
    // Boxed, as a dump.
    Box::pin(restore(app.dumps.as_ref(), &id, &body)).await
}

async fn restore(dumps: Option<&Dumps>, id: &str, body: &[u8]) -> Result<Audited<Json>, ApiError> {
    let d = configured(dumps)?;
    check_id(id)?;
    let body: RestoreBody = if is_blank(body) {
        RestoreBody {
            table: None,
            mode: RestoreMode::default(),
        }
    } else {
        serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("body: {e}")))?
    };
    let target = body.table.unwrap_or_else(|| table(d).to_string());
    dump::restore::check_table_name(&target).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let change = AuditChange::of(
        "dump",
        id,
        None::<&Value>,
        Some(&json!({"restored_to": target, "mode": body.mode})),
    );
    if let Some(invoker) = &d.runner {
        // Fail fast on a dump that does not exist; the rest is checked by the export function.
        dump::read_manifest(&d.store, table(d), id).await?;
        let request = json!({"action": "restore", "dump": id, "table": target, "mode": body.mode});
        invoker.invoke(&request).await?;
        return Ok(accepted(invoker, &request).audited(change));
    }
    let mut options = RestoreOptions::new(target);
    options.mode = body.mode;
    let report = dump::restore(&d.store, &d.table, table(d), id, &options).await?;
    Ok(Json::ok(json!(report)).audited(change))
}

/// Check a dump's parts (bytes, SHA-256, items) against its manifest without restoring
///
/// Reads the manifest and every part and checks each part's presence, bytes, SHA-256 and item
/// count against the manifest, restoring nothing. 200 with
/// `{"dump","ok","item_count","bytes","parts":[{"key","ok","items","bytes","sha256","error"}],
/// "problems":[...]}` whether or not it is intact; 404 for an unknown dump, 422 when its
/// manifest cannot be read.
#[utoipa::path(post, path = "/v1/dumps/{id}/verify", tag = "admin",
    params(("id" = String, Path, min_length = 1, description = "Dump id")),
    request_body(content = Option<Value>, content_type = "application/json"),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn verify_dump<S: Store>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
) -> Result<Json, ApiError> {
    let d = configured(app.dumps.as_ref())?;
    check_id(&id)?;
    let report = Box::pin(dump::verify(&d.store, table(d), &id)).await?;
    Ok(Json::ok(json!(report)))
}

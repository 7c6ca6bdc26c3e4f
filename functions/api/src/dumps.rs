//! `/v1/dumps`: list, stats, one manifest, dump now, delete, restore, verify (admin token).
//!
//! Listing, stats and deletes read the bucket directly. A dump or a restore can outlast an HTTP
//! request (API Gateway gives up after 30 s), so when `LOOKOUT_EXPORT_FUNCTION` is set they are
//! handed to the export function with an asynchronous invoke and answered 202; without it (on a
//! laptop, in tests) they run here and are answered with their report.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use lookout::adapters::dynamodb::DynamoStore;
use lookout::adapters::lambda::AsyncInvoker;
use lookout::adapters::s3::S3DumpStore;
use lookout::dump::{self, DumpError, DumpOptions, RestoreMode, RestoreOptions};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{json_response, ApiError};

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
            DumpError::Refused(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            DumpError::Corrupt { .. } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "corrupt_dump",
                e.to_string(),
            ),
            DumpError::Incomplete { .. } => {
                tracing::error!(error = %e, "restore incomplete");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "restore_incomplete",
                    e.to_string(),
                )
            }
            DumpError::Store(e) => ApiError::from(e),
            DumpError::Io(e) => {
                tracing::error!(error = %e, "dump compression failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; see the function's log",
                )
            }
        }
    }
}

fn configured(dumps: Option<&Dumps>) -> Result<&Dumps, ApiError> {
    dumps.ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_configured",
            "dumps need LOOKOUT_BUCKET",
        )
    })
}

fn table(d: &Dumps) -> &str {
    lookout::ports::TableScan::table_name(&d.table)
}

fn check_id(id: &str) -> Result<(), ApiError> {
    dump::check_id(id).map_err(|e| ApiError::bad_request(e.to_string()))
}

/// `GET /v1/dumps`: complete dumps newest first, and incomplete folders.
pub async fn list(dumps: Option<&Dumps>) -> Result<Value, ApiError> {
    let d = configured(dumps)?;
    let listing = dump::list(&d.store, table(d)).await?;
    Ok(json!(listing))
}

/// `GET /v1/dumps/stats`: count, bytes, oldest and newest.
pub async fn stats(dumps: Option<&Dumps>) -> Result<Value, ApiError> {
    let d = configured(dumps)?;
    let listing = dump::list(&d.store, table(d)).await?;
    Ok(json!(listing.stats()))
}

/// `GET /v1/dumps/{id}`: the manifest.
pub async fn get(dumps: Option<&Dumps>, id: &str) -> Result<Value, ApiError> {
    let d = configured(dumps)?;
    check_id(id)?;
    Ok(json!(dump::read_manifest(&d.store, table(d), id).await?))
}

/// `DELETE /v1/dumps/{id}`: every object of the dump; 404 when there is none.
pub async fn delete(dumps: Option<&Dumps>, id: &str) -> Result<Value, ApiError> {
    let d = configured(dumps)?;
    check_id(id)?;
    if dump::delete(&d.store, table(d), id).await? {
        Ok(json!({"deleted": id}))
    } else {
        Err(ApiError::not_found(format!("no dump {id}")))
    }
}

fn accepted(invoker: &AsyncInvoker, request: &Value) -> Response<Body> {
    json_response(
        StatusCode::ACCEPTED,
        &json!({"accepted": true, "function": invoker.function(), "request": request}),
    )
}

/// `POST /v1/dumps`: dump now (and apply retention). 202 when handed to the export function,
/// 201 with the manifest when run here.
pub async fn create(dumps: Option<&Dumps>) -> Result<Response<Body>, ApiError> {
    let d = configured(dumps)?;
    if let Some(invoker) = &d.runner {
        let request = json!({"action": "dump"});
        invoker.invoke(&request).await?;
        return Ok(accepted(invoker, &request));
    }
    let (id, manifest, deleted) = dump::dump_and_prune(
        &d.table,
        &d.store,
        &d.options,
        d.retention.0,
        d.retention.1,
        lookout::time::now_ms(),
    )
    .await?;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"id": id, "manifest": manifest, "deleted": deleted}),
    ))
}

/// Body of `POST /v1/dumps/{id}/restore`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RestoreBody {
    /// Table to write to; default the API's own table.
    #[serde(default)]
    table: Option<String>,
    /// `upsert` or `empty-only` (default).
    #[serde(default)]
    mode: RestoreMode,
}

/// `POST /v1/dumps/{id}/restore` with `{"table": "...", "mode": "upsert" | "empty-only"}`
/// (both optional): the dump is checked against its manifest before anything is written. 202
/// when handed to the export function (after the manifest is found), 200 with the report when
/// run here.
pub async fn restore(
    dumps: Option<&Dumps>,
    id: &str,
    body: &[u8],
) -> Result<Response<Body>, ApiError> {
    let d = configured(dumps)?;
    check_id(id)?;
    let body: RestoreBody = if body.iter().all(u8::is_ascii_whitespace) {
        RestoreBody {
            table: None,
            mode: RestoreMode::default(),
        }
    } else {
        serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("body: {e}")))?
    };
    let target = body.table.unwrap_or_else(|| table(d).to_string());
    dump::restore::check_table_name(&target).map_err(|e| ApiError::bad_request(e.to_string()))?;
    if let Some(invoker) = &d.runner {
        // Fail fast on a dump that does not exist; the rest is checked by the export function.
        dump::read_manifest(&d.store, table(d), id).await?;
        let request = json!({"action": "restore", "dump": id, "table": target, "mode": body.mode});
        invoker.invoke(&request).await?;
        return Ok(accepted(invoker, &request));
    }
    let mut options = RestoreOptions::new(target);
    options.mode = body.mode;
    let report = dump::restore(&d.store, &d.table, table(d), id, &options).await?;
    Ok(json_response(StatusCode::OK, &json!(report)))
}

/// `POST /v1/dumps/{id}/verify`: reads the manifest and every part and checks each part's
/// presence, bytes, SHA-256 and item count against the manifest, restoring nothing. 200 with
/// `{"dump","ok","item_count","bytes","parts":[{"key","ok","items","bytes","sha256","error"}],
/// "problems":[...]}` whether or not it is intact; 404 for an unknown dump, 422 when its
/// manifest cannot be read.
pub async fn verify(dumps: Option<&Dumps>, id: &str) -> Result<Value, ApiError> {
    let d = configured(dumps)?;
    check_id(id)?;
    Ok(json!(dump::verify(&d.store, table(d), id).await?))
}

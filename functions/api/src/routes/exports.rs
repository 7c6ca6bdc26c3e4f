//! `POST /v1/exports/results?day=YYYY-MM-DD` (admin token): a day's check results exported to
//! the bucket now (`results/<day>.jsonl.gz` and its manifest, [`lookout_app::dump::results`]),
//! as the daily schedule does. Like a dump, the export is handed to the dump function when
//! `LOOKOUT_DUMP_FUNCTION` (the dump function) is set (202), else it runs here (201 with the manifest).

use axum::extract::State;
use axum::http::StatusCode;
use lookout_app::dump::results;
use serde::Deserialize;
use serde_json::json;

use super::dumps::Dumps;
use super::AppState;
use crate::extract::Query;
use crate::{ApiError, Json, Store};

/// Query of `POST /v1/exports/results`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct ExportQuery {
    /// The UTC day to export, `YYYY-MM-DD` (default yesterday).
    #[param(value_type = String, format = Date)]
    pub day: Option<String>,
}

/// Export a day's check results to the bucket now (201 with the manifest, or 202 when handed to the dump function)
///
/// `results/<day>.jsonl.gz` (gzip'd JSON Lines, one result a line, by time then target) and
/// `results/<day>.manifest.json` (`lookout-results/1`: day, count, bytes, sha256, created_at).
/// An export of the same day again overwrites both, unless that export holds results and the
/// history holds none of the day any more (409: it is kept); a day without results is an empty
/// export with a count of 0. 400 for a `day` that is not `YYYY-MM-DD`; 503 without a bucket.
#[utoipa::path(post, path = "/v1/exports/results", tag = "admin", params(ExportQuery),
    request_body(content = Option<Value>, content_type = "application/json"),
    responses(
        (status = 201, description = "Exported here: the manifest", body = Object),
        (status = 202, description = "Handed to the dump function (LOOKOUT_DUMP_FUNCTION)", body = Object),
        (status = 409, description = "An export of that day with results exists and the history no longer holds the day (expired): it is kept", body = Object),
    ))]
pub async fn export_results<S: Store>(
    State(app): State<AppState<S>>,
    Query(q): Query<ExportQuery>,
) -> Result<Json, ApiError> {
    // Boxed, as a dump: the export's future is large.
    Box::pin(export(app.dumps.as_ref(), q.day)).await
}

async fn export(dumps: Option<&Dumps>, day: Option<String>) -> Result<Json, ApiError> {
    let now = lookout_core::time::now_ms();
    let day = day.unwrap_or_else(|| results::default_day(now));
    results::parse_day(&day)
        .map_err(|_| ApiError::bad_request("day must be a date, YYYY-MM-DD"))?;
    let d = dumps.ok_or_else(|| ApiError::NotConfigured("exports need LOOKOUT_BUCKET".into()))?;
    if let Some(invoker) = &d.runner {
        let request = json!({"action": "export_results", "day": day});
        invoker.invoke(&request).await?;
        return Ok(Json(
            StatusCode::ACCEPTED,
            json!({"accepted": true, "function": invoker.function(), "request": request}),
        ));
    }
    let manifest = results::export_day(&d.table, &d.store, &day, now).await?;
    Ok(Json(StatusCode::CREATED, json!(manifest)))
}

//! Service level objectives (issue 20): list and read them with their status (read token),
//! create, change (JSON merge patch) and delete them (admin). The status is computed when
//! asked, from the SLO's record (`lookout_core::domain::slo::status`); an SLO with no record yet
//! has the status of an empty series.
//!
//! An SLO answers as its definition with `status` (`SloStatus`) and `firing` (its `page` and
//! `ticket` alerts, `null` when not firing) beside it; `firing` rather than `alerts`, which is
//! the definition's switch of the burn-rate alerts.

pub mod schema;

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use lookout_app::ports::StoreError;
use lookout_core::domain::slo::alerts::closed_alerts;
use lookout_core::domain::slo::validate::check_id;
use lookout_core::domain::slo::{
    status, Slo, SloDraft, SloError, SloPatch, SloRecord, SloSelector, SloSeries, ALERTS, MAX_SLOS,
};
use serde_json::{json, Value};

use super::AppState;
use crate::audit::{AuditChange, AuditExt as _, Audited};
use crate::extract::{parse_json, Path};
use crate::{ApiError, Json, Store};

fn field_error(e: SloError) -> ApiError {
    ApiError::invalid_field(e.field, e.message)
}

fn no_slo(id: &str) -> ApiError {
    ApiError::not_found(format!("no SLO {}", lookout_core::redact::clip(id, 100)))
}

/// The SLO `id` (a 404 without a read when `id` cannot name one).
async fn find<S: Store>(store: &S, id: &str) -> Result<Slo, ApiError> {
    if check_id(id).is_err() {
        return Err(no_slo(id));
    }
    store.slo(id).await?.ok_or_else(|| no_slo(id))
}

/// An SLO as answered: the definition, `status` at `now` (epoch ms) from `record` (an empty
/// series without one) and `firing`: `{"page": Firing|null, "ticket": Firing|null}`.
pub fn view(slo: &Slo, record: Option<&SloRecord>, now: i64) -> Value {
    let empty = SloSeries::default();
    let series = record.map_or(&empty, |r| &r.series);
    let mut out = serde_json::to_value(slo).unwrap_or_else(|_| json!({}));
    out["status"] = serde_json::to_value(status(slo, series, now)).unwrap_or(Value::Null);
    let firing: serde_json::Map<String, Value> = ALERTS
        .iter()
        .map(|alert| {
            let f = record.and_then(|r| r.alerts.firing.get(*alert));
            (
                (*alert).to_string(),
                serde_json::to_value(f).unwrap_or(Value::Null),
            )
        })
        .collect();
    out["firing"] = Value::Object(firing);
    out
}

/// What may not be what the operator meant: a selector that names no target (yet). Targets
/// come and go, so it is accepted all the same.
async fn warnings<S: Store>(store: &S, selector: &SloSelector) -> Result<Vec<String>, ApiError> {
    let found = match selector {
        SloSelector::Target(id) => store.get_target(id).await?.is_some(),
        SloSelector::Group(_) | SloSelector::Tag(_) => store
            .list_targets(None)
            .await?
            .iter()
            .any(|t| selector.selects(t)),
    };
    Ok(if found {
        Vec::new()
    } else {
        let what = match selector {
            SloSelector::Target(id) => format!("no target {id}"),
            SloSelector::Group(g) => format!("no target in group {g}"),
            SloSelector::Tag(t) => format!("no target tagged {t}"),
        };
        vec![format!(
            "{}: {what} yet; the SLO counts no check until there is",
            selector.field()
        )]
    })
}

/// What the objective leaves of the burn-rate rules: a rule whose burn rate times the budget
/// is above 1 needs more than every check to fail, so it can never fire (`page_1h` below
/// 93.06 %, `page_6h` below 83.33 %, `ticket_3d` never).
fn objective_warnings(slo: &Slo) -> Vec<String> {
    let fraction = slo.budget_fraction();
    let dead: Vec<&str> = lookout_core::domain::slo::RULES
        .iter()
        .filter(|r| r.burn_rate * fraction > 1.0)
        .map(|r| r.name)
        .collect();
    if dead.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "objective: at {} % the rule(s) {} can never fire (their burn rate needs more than \
         every check to fail)",
        slo.objective,
        dead.join(", ")
    )]
}

/// Every SLO with its status and firing alerts
///
/// `{"slos":[{"id","name","description","target"|"group"|"tag","objective","window","sli",
/// "exclude_maintenance","alerts","version","created_at","updated_at","status":{"at",
/// "window_start","window_end","sli","events","good","excluded","budget":{"allowed_bad","bad",
/// "spent_share","remaining_share","total_minutes","spent_minutes","remaining_minutes"},
/// "burn_rates":[{"window","rate","events"}],"exhausted_at"},"firing":{"page","ticket"}}]}`,
/// by id; times epoch ms, `sli` percent, burn rates as multiples of the rate that spends the
/// budget exactly over the window.
#[utoipa::path(get, path = "/v1/slos", tag = "read",
    responses((status = 200, description = "OK", body = SlosAnswer)))]
pub async fn list_slos<S: Store>(State(app): State<AppState<S>>) -> Result<Json, ApiError> {
    let (slos, records) = tokio::join!(app.store.slos(), app.store.slo_records());
    let mut slos = slos?;
    slos.sort_by(|a, b| a.id.cmp(&b.id));
    let records: HashMap<String, SloRecord> = records?
        .into_iter()
        .map(|r| (r.slo_id.clone(), r))
        .collect();
    let now = lookout_core::time::now_ms();
    let list: Vec<Value> = slos
        .iter()
        .map(|s| view(s, records.get(&s.id), now))
        .collect();
    Ok(Json::ok(json!({ "slos": list })))
}

/// One SLO with its status and firing alerts
///
/// `{"slo": ...}` as in the listing; 404 when there is none.
#[utoipa::path(get, path = "/v1/slos/{id}", tag = "read",
    params(("id" = String, Path, min_length = 1, description = "SLO id")),
    responses((status = 200, description = "OK", body = SloAnswer)))]
pub async fn get_slo<S: Store>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
) -> Result<Json, ApiError> {
    let slo = find(&app.store, &id).await?;
    let record = app.store.slo_record(&id).await?;
    let now = lookout_core::time::now_ms();
    Ok(Json::ok(json!({ "slo": view(&slo, record.as_ref(), now) })))
}

/// Create an SLO
///
/// `{"id", "name", "description"?, "target"|"group"|"tag", "objective", "window", "sli",
/// "exclude_maintenance"?, "alerts"?}`: `id` 1 to 64 characters of `a-z0-9-_.`; `name` 1 to
/// 200 characters; exactly one of `target`, `group`, `tag`; `objective` percent above 0 and at
/// most 99.999; `window` `28d`, `30d` or `calendar_month`; `sli` `{"type":"availability"}` or
/// `{"type":"latency","threshold_ms":1..120000}`. 201 with `Location` and `{"slo": ...,
/// "warnings": [...]}` (a selector naming no target yet is accepted with a warning); 409 when
/// the id exists; 422 naming the field, or beyond 500 SLOs.
#[utoipa::path(post, path = "/v1/slos", tag = "admin",
    request_body(content = SloBody, content_type = "application/json"),
    responses((status = 201, description = "Created", body = SloWritten)))]
pub async fn create_slo<S: Store>(
    State(app): State<AppState<S>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let draft = SloDraft::parse(parse_json(&body)?).map_err(field_error)?;
    let now = lookout_core::time::now_ms();
    let slo = Slo::from_draft(draft, now).map_err(field_error)?;
    if app.store.slo(&slo.id).await?.is_some() {
        return Err(exists(&slo.id));
    }
    if app.store.slos().await?.len() >= MAX_SLOS {
        return Err(ApiError::InvalidRequest(format!(
            "at most {MAX_SLOS} SLOs; delete one first"
        )));
    }
    match app.store.put_slo(&slo).await {
        Err(StoreError::Conflict(_)) => return Err(exists(&slo.id)),
        other => other?,
    }
    // A record left by an SLO of the same id (a probe round that wrote it as that one was
    // deleted) is not this one's: it starts afresh, and what it had firing is resolved.
    count_afresh(&app.store, &slo, now).await?;
    let mut warnings = warnings(&app.store, &slo.selector).await?;
    warnings.extend(objective_warnings(&slo));
    let record = app.store.slo_record(&slo.id).await?;
    let answer = json!({ "slo": view(&slo, record.as_ref(), now), "warnings": warnings });
    let mut response = Json(StatusCode::CREATED, answer).into_response();
    // The id passed `check_id`: always a valid header value.
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/slos/{}", slo.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    let change = AuditChange::of("slo", &slo.id, None::<&Slo>, Some(&slo));
    Ok(response.audited(change).into_response())
}

fn exists(id: &str) -> ApiError {
    ApiError::Conflict(format!(
        "SLO {id} exists: change it with PATCH /v1/slos/{id}"
    ))
}

/// Change an SLO (JSON merge patch)
///
/// A JSON merge patch (RFC 7396; `application/merge-patch+json` or `application/json`) of the
/// SLO's definition, with the `version` read (optional; a stale one is 409, as is a change
/// made meanwhile): each field given replaces the stored one; `description: null` removes it,
/// `exclude_maintenance`/`alerts: null` restore their default (true); a selector given
/// (`target`, `group` or `tag`) replaces the stored one; `sli: {"threshold_ms": N}` changes a
/// latency threshold, a new `sli.type` replaces the SLI. `id` cannot change. Answers `{"slo":
/// ..., "warnings": [...]}`; 422 naming the field; 404 when there is none.
#[utoipa::path(patch, path = "/v1/slos/{id}", tag = "admin",
    params(("id" = String, Path, min_length = 1, description = "SLO id")),
    request_body(content = SloPatchBody, content_type = "application/merge-patch+json"),
    responses((status = 200, description = "OK", body = SloWritten)))]
pub async fn patch_slo<S: Store>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Audited<Json>, ApiError> {
    let Value::Object(mut patch) = parse_json(&body)? else {
        return Err(ApiError::invalid_field(
            "body",
            "the patch must be a JSON object",
        ));
    };
    let version = match patch.remove("version") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_u64().ok_or_else(|| {
            ApiError::invalid_field("version", "the version you read, a whole number")
        })?),
    };
    let patch = SloPatch::parse(Value::Object(patch)).map_err(field_error)?;
    let mut slo = find(&app.store, &id).await?;
    if version.is_some_and(|v| v != slo.version) {
        return Err(stale(&slo));
    }
    let old = slo.clone();
    let now = lookout_core::time::now_ms();
    slo.apply_patch(patch, now).map_err(field_error)?;
    match app.store.put_slo(&slo).await {
        Err(StoreError::Conflict(_)) => return Err(stale(&old)),
        other => other?,
    }
    if slo.selector != old.selector || slo.sli != old.sli {
        count_afresh(&app.store, &slo, now).await?;
    }
    let mut warnings = if slo.selector == old.selector {
        Vec::new()
    } else {
        warnings(&app.store, &slo.selector).await?
    };
    warnings.extend(objective_warnings(&slo));
    let record = app.store.slo_record(&id).await?;
    let answer = json!({ "slo": view(&slo, record.as_ref(), now), "warnings": warnings });
    let change = AuditChange::of("slo", &id, Some(&old), Some(&slo));
    Ok(Json::ok(answer).audited(change))
}

/// An SLO whose selector or SLI changed counts afresh: its record is replaced by an empty one
/// (the old counts were of other checks), and the alerts it had firing are resolved in the same
/// write (sent by the next probe run, which publishes pending alerts first). A probe round that
/// writes the record meanwhile makes it try again, three times in all.
async fn count_afresh<S: Store>(store: &S, slo: &Slo, now: i64) -> Result<(), ApiError> {
    let mut last = None;
    for _ in 0..3 {
        let Some(record) = store.slo_record(&slo.id).await? else {
            return Ok(());
        };
        let status = status(slo, &record.series, now);
        let closed = closed_alerts(
            slo,
            &record.alerts,
            &status,
            now,
            "counts its checks afresh (its targets or SLI changed)",
        );
        let fresh = SloRecord {
            version: record.version + 1,
            ..SloRecord::new(&slo.id)
        };
        match store.commit_slo_record(&fresh, &closed).await {
            Ok(_) => return Ok(()),
            Err(e @ StoreError::Conflict(_)) => last = Some(e),
            Err(e) => return Err(e.into()),
        }
    }
    Err(last.map_or_else(|| ApiError::Conflict("SLO record busy".into()), Into::into))
}

fn stale(slo: &Slo) -> ApiError {
    ApiError::Conflict(format!(
        "SLO {} changed (it was at version {}): read it again",
        slo.id, slo.version
    ))
}

/// Delete an SLO
///
/// Its definition and record (its series and firing alerts; alerts already sent stay in the
/// alert log). 204; 404 when there is none.
#[utoipa::path(delete, path = "/v1/slos/{id}", tag = "admin",
    params(("id" = String, Path, min_length = 1, description = "SLO id")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_slo<S: Store>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
) -> Result<Audited<StatusCode>, ApiError> {
    if check_id(&id).is_err() {
        return Err(no_slo(&id));
    }
    let old = app.store.slo(&id).await?;
    if let (Some(slo), Some(record)) = (&old, app.store.slo_record(&id).await?) {
        let now = lookout_core::time::now_ms();
        let status = status(slo, &record.series, now);
        let closed = closed_alerts(slo, &record.alerts, &status, now, "was deleted");
        app.store.enqueue(&closed).await?;
    }
    if app.store.delete_slo(&id).await? {
        let change = AuditChange::of("slo", &id, old.as_ref(), None::<&Slo>);
        Ok(StatusCode::NO_CONTENT.audited(change))
    } else {
        Err(no_slo(&id))
    }
}

//! Incidents and maintenance windows (issue 18): the operator's (`POST`, `PATCH`, `DELETE`,
//! admin) and the listing and reading of every incident, auto ones included (public, like the
//! status page). Every text stays as the operator wrote it: the page escapes it.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use lookout_app::ports::IncidentNotices as _;
use lookout_app::usecases::incidents::new_incident_id;
use lookout_core::domain::incident::{
    Incident, IncidentDraft, IncidentError, IncidentPatch, IncidentSource,
};
use lookout_core::time::DAY_MS;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{params, AppState};
use crate::audit::{AuditChange, AuditExt as _, Audited};
use crate::extract::{parse_json, Path, Query};
use crate::{ApiError, Json, Store};

/// The longest window `GET /v1/incidents` lists, days (the page's bars).
pub const MAX_WINDOW_DAYS: i64 = 90;

/// Query of `GET /v1/incidents`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct IncidentsQuery {
    /// From (RFC 3339; default `until` less 90 days).
    #[param(value_type = String, format = DateTime)]
    pub since: Option<String>,
    /// To (RFC 3339; default now). At most 90 days after `since`.
    #[param(value_type = String, format = DateTime)]
    pub until: Option<String>,
    /// `open` (not resolved or completed) or `closed`; default both.
    #[param(value_type = String, pattern = "^(open|closed)$")]
    pub status: Option<String>,
}

fn field_error(e: IncidentError) -> ApiError {
    ApiError::invalid_field(e.field, e.message)
}

fn no_incident(id: &str) -> ApiError {
    ApiError::not_found(format!(
        "no incident {}",
        lookout_core::redact::clip(id, 100)
    ))
}

/// Whether `id` can name an incident: `inc-<hex>` or `auto-<target id>-<ms>`, so 1 to 100
/// characters of `a-z`, `0-9`, `-`, `_`, `.` (anything else is a 404 without a read).
fn is_incident_id(id: &str) -> bool {
    (1..=100).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
}

async fn find<S: Store>(store: &S, id: &str) -> Result<Incident, ApiError> {
    if !is_incident_id(id) {
        return Err(no_incident(id));
    }
    store.incident(id).await?.ok_or_else(|| no_incident(id))
}

/// Tells the status page's e-mail subscribers of an operator's change just written (as
/// [`lookout_app::usecases::incidents::record_alert`] does for auto ones): once, after the
/// write; a failure is logged and the answer stays a success (the incident is written).
async fn notify<S: Store>(app: &AppState<S>, incident: &Incident) {
    let text = lookout_app::usecases::incidents::notice_text(incident);
    if let Err(e) = app.notify.subscriptions.notify(incident, &text).await {
        tracing::warn!(incident = %incident.id, error = %e, "incident notice not sent");
    }
}

/// Gives the targets the incident names without a name the name of their definition; a target
/// that has none is refused (422 naming `targets[i]`) unless the incident named it before.
async fn name_targets<S: Store>(
    store: &S,
    incident: &mut Incident,
    before: &[String],
) -> Result<(), ApiError> {
    for (i, t) in incident.targets.iter_mut().enumerate() {
        if !t.name.is_empty() || before.contains(&t.id) {
            continue;
        }
        match store.get_target(&t.id).await? {
            Some(def) => {
                t.name = if def.name.is_empty() {
                    def.id
                } else {
                    def.name
                }
            }
            None => {
                return Err(ApiError::invalid_field(
                    format!("targets[{i}]"),
                    format!("no target {}", lookout_core::redact::clip(&t.id, 100)),
                ))
            }
        }
    }
    Ok(())
}

/// Incidents and maintenance windows, newest first
///
/// Every incident open at some time from `since` to `until` (RFC 3339; default the 90 days
/// before now; at most 90 days apart), auto (from status changes) and operator ones, filtered
/// by `status` (`open` or `closed`): `{"incidents":[{"id","kind","source","title","status",
/// "targets":[{"id","name","status"}],"opened_at","resolved_at","starts_at","ends_at",
/// "updates":[{"at","status","body","changes"}],"dropped_updates","postmortem","version"}]}`, times
/// in epoch ms (`dropped_updates`: older updates of an auto incident no longer kept, when any).
/// The list is kept up to 60 s by each API instance (its own incident writes show at once).
/// A bad parameter is a 400 naming it.
#[utoipa::path(get, path = "/v1/incidents", tag = "public", params(IncidentsQuery),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn list_incidents<S: Store>(
    State(app): State<AppState<S>>,
    Query(q): Query<IncidentsQuery>,
) -> Result<Json, ApiError> {
    let until =
        params::time(q.until.as_deref(), "until")?.unwrap_or_else(lookout_core::time::now_ms);
    let since = params::time(q.since.as_deref(), "since")?
        .unwrap_or(until.saturating_sub(MAX_WINDOW_DAYS * DAY_MS));
    if since > until {
        return Err(ApiError::bad_request("since must not be after until"));
    }
    if until - since > MAX_WINDOW_DAYS * DAY_MS {
        return Err(ApiError::bad_request(format!(
            "since to until is at most {MAX_WINDOW_DAYS} days"
        )));
    }
    let closed = match q.status.as_deref() {
        None => None,
        Some("open") => Some(false),
        Some("closed") => Some(true),
        Some(_) => return Err(ApiError::bad_request("status must be open or closed")),
    };
    let incidents: Vec<Incident> = app
        .incidents
        .between(&app.store, since, until)
        .await?
        .into_iter()
        .filter(|i| closed.is_none_or(|c| i.status.is_closed() == c))
        .collect();
    Ok(Json::ok(json!({ "incidents": incidents })))
}

/// One incident
///
/// `{"incident": ...}` as in the listing; 404 when there is none.
#[utoipa::path(get, path = "/v1/incidents/{id}", tag = "public",
    params(("id" = String, Path, min_length = 1, description = "Incident id")),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn get_incident<S: Store>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
) -> Result<Json, ApiError> {
    let incident = find(&app.store, &id).await?;
    Ok(Json::ok(json!({ "incident": incident })))
}

/// Post an incident or a maintenance window
///
/// `{"kind": "incident"|"maintenance", "title", "status", "targets": [ids], "body",
/// "starts_at", "ends_at", "postmortem"}`: `title` required (at most 200 characters);
/// `status` `investigating` (default), `identified`, `monitoring` or `resolved` for an
/// incident, `scheduled` (default), `in_progress` or `completed` for maintenance; `targets`
/// existing target ids (at most 500); `body` the first update (at most 5,000 characters);
/// maintenance needs `starts_at` and `ends_at` (RFC 3339, the end after the start). 201 with
/// `Location` and `{"incident": ...}`; 422 naming the field.
#[utoipa::path(post, path = "/v1/incidents", tag = "admin",
    request_body(content = Value, content_type = "application/json"),
    responses((status = 201, description = "Created", body = Object)))]
pub async fn create_incident<S: Store>(
    State(app): State<AppState<S>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let draft = IncidentDraft::parse(parse_json(&body)?).map_err(field_error)?;
    let now = lookout_core::time::now_ms();
    let mut incident = Incident::from_draft(draft, new_incident_id(), now).map_err(field_error)?;
    name_targets(&app.store, &mut incident, &[]).await?;
    let written = app.store.put_incident(&incident).await;
    app.incidents.clear();
    written?;
    notify(&app, &incident).await;
    let mut response = Json(StatusCode::CREATED, json!({ "incident": incident })).into_response();
    // The id is `inc-` and hex digits: always a valid header value.
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/incidents/{}", incident.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    let change = AuditChange::of("incident", &incident.id, None::<&Incident>, Some(&incident));
    Ok(response.audited(change).into_response())
}

/// Change an incident (JSON merge patch), or add a timeline entry
///
/// `{"version"?, "title", "status", "targets", "starts_at", "ends_at", "postmortem",
/// "update": {"status", "body"}}`: each field present replaces the stored one (`postmortem:
/// null` removes it); a new `status` adds a timeline entry even without `update`; `update` adds
/// one with its body. Resolving sets `resolved_at`. `version`, when given, must be the stored
/// one (409 otherwise); a concurrent change is a 409 too. An auto incident's `targets` follow
/// its alerts and cannot be set. Answers `{"incident": ...}`; 422 naming the field.
#[utoipa::path(patch, path = "/v1/incidents/{id}", tag = "admin",
    params(("id" = String, Path, min_length = 1, description = "Incident id")),
    request_body(content = Value, content_type = "application/json"),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn patch_incident<S: Store>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Audited<Json>, ApiError> {
    let Value::Object(mut patch) = parse_json(&body)? else {
        return Err(ApiError::invalid_target("the patch must be a JSON object"));
    };
    let version = match patch.remove("version") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_u64().ok_or_else(|| {
            ApiError::invalid_field("version", "the version you read, a whole number")
        })?),
    };
    let patch = IncidentPatch::parse(Value::Object(patch)).map_err(field_error)?;
    let mut incident = find(&app.store, &id).await?;
    if version.is_some_and(|v| v != incident.version) {
        return Err(ApiError::Conflict(format!(
            "incident {} is at version {}: read it again",
            incident.id, incident.version
        )));
    }
    if incident.source == IncidentSource::Auto && patch.targets.is_some() {
        return Err(ApiError::invalid_field(
            "targets",
            "an auto incident's targets follow its alerts",
        ));
    }
    let old = incident.clone();
    let before: Vec<String> = incident.targets.iter().map(|t| t.id.clone()).collect();
    incident
        .apply_patch(patch, lookout_core::time::now_ms())
        .map_err(field_error)?;
    name_targets(&app.store, &mut incident, &before).await?;
    let written = app.store.put_incident(&incident).await;
    app.incidents.clear();
    written?;
    notify(&app, &incident).await;
    let change = AuditChange::of("incident", &id, Some(&old), Some(&incident));
    Ok(Json::ok(json!({ "incident": incident })).audited(change))
}

/// Delete an incident
///
/// 204; 404 when there is none.
#[utoipa::path(delete, path = "/v1/incidents/{id}", tag = "admin",
    params(("id" = String, Path, min_length = 1, description = "Incident id")),
    responses((status = 204, description = "Deleted")))]
pub async fn delete_incident<S: Store>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
) -> Result<Audited<StatusCode>, ApiError> {
    if !is_incident_id(&id) {
        return Err(no_incident(&id));
    }
    let old = app.store.incident(&id).await?;
    let deleted = app.store.delete_incident(&id).await;
    app.incidents.clear();
    if deleted? {
        let change = AuditChange::of("incident", &id, old.as_ref(), None::<&Incident>);
        Ok(StatusCode::NO_CONTENT.audited(change))
    } else {
        Err(no_incident(&id))
    }
}

//! Probe locations: `GET /v1/locations` (each location's dead man's switch: when it last
//! reported, whether it was declared silent, whether it is overdue now) and the per-location
//! verdicts `GET /v1/status`, `/metrics` and the status page show beside each target.

use std::collections::HashMap;

use axum::extract::State;
use lookout_app::ports::LocationStore;
use lookout_core::domain::location::{LocationHealth, LocationVerdict};
use lookout_core::domain::TargetKind;
use serde::Serialize;
use serde_json::{json, Value};

use super::AppState;
use crate::{ApiError, Json, Store};

/// Every location's verdicts of every target, by target id, each list sorted by location
/// (one read per kind). Empty when no target is probed from several locations.
///
/// # Errors
/// [`ApiError`] when the store cannot be read.
pub async fn verdicts_all<S: LocationStore>(
    store: &S,
) -> Result<HashMap<String, Vec<LocationVerdict>>, ApiError> {
    let mut all: HashMap<String, Vec<LocationVerdict>> = HashMap::new();
    for kind in TargetKind::ALL {
        for (id, list) in store.verdicts(kind).await? {
            all.entry(id).or_default().extend(list);
        }
    }
    for list in all.values_mut() {
        list.sort_by(|a, b| a.location.cmp(&b.location));
    }
    Ok(all)
}

/// One location's verdict as `GET /v1/status` shows it: `{"location","status","since","at",
/// "latency_ms","error"}` (times RFC 3339, latency ms, `error` `null` after a success).
pub fn verdict_json(v: &LocationVerdict) -> Value {
    json!({
        "location": v.location,
        "status": v.status,
        "since": lookout_core::time::rfc3339(v.since),
        "at": lookout_core::time::rfc3339(v.at),
        "latency_ms": v.latency_ms,
        "error": v.error,
    })
}

/// One probe location's dead man's switch, as `GET /v1/locations` lists it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LocationView {
    /// The location's name (`LOOKOUT_LOCATION`, an AWS region such as `eu-west-1`).
    pub location: String,
    /// When its probe last reported, RFC 3339; `null` when it never did.
    #[schema(nullable)]
    pub last_seen: Option<String>,
    /// The same, epoch ms (0: never).
    pub last_seen_ms: i64,
    /// Whether it was declared silent (its `location_silent` alert raised) and has not
    /// reported since.
    pub silent: bool,
    /// Whether it has not reported for longer than the grace period now: it is left out of
    /// every quorum until it reports.
    pub overdue: bool,
    /// Whether it is the home location, which decides statuses (`LOOKOUT_HOME_LOCATION`).
    pub home: bool,
}

/// The answer of `GET /v1/locations`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LocationsAnswer {
    /// When the answer was made, RFC 3339.
    pub generated_at: String,
    /// The grace period, seconds (`LOOKOUT_LOCATION_GRACE_S`, default 180).
    pub grace_s: i64,
    /// Every location that ever reported or is deployed (`LOOKOUT_LOCATIONS`), by name.
    pub locations: Vec<LocationView>,
}

/// The view of every location: those that reported (`health`) and those deployed (`deployed`)
/// that never did, by name, judged at `now_ms` with `grace_ms`.
pub fn views(
    health: &[LocationHealth],
    deployed: &[String],
    home: Option<&str>,
    now_ms: i64,
    grace_ms: i64,
) -> Vec<LocationView> {
    let mut all: Vec<LocationHealth> = health.to_vec();
    for name in deployed {
        if !all.iter().any(|h| &h.location == name) {
            all.push(LocationHealth {
                location: name.clone(),
                last_seen: 0,
                silent: false,
            });
        }
    }
    all.sort_by(|a, b| a.location.cmp(&b.location));
    all.into_iter()
        .map(|h| LocationView {
            overdue: h.overdue(now_ms, grace_ms),
            home: home == Some(h.location.as_str()),
            last_seen: (h.last_seen > 0).then(|| lookout_core::time::rfc3339(h.last_seen)),
            last_seen_ms: h.last_seen,
            silent: h.silent,
            location: h.location,
        })
        .collect()
}

/// Every probe location's dead man's switch
///
/// Each location that ever reported, and each one deployed (`LOOKOUT_LOCATIONS`) that never
/// did, by name: when its probe last reported, whether it was declared silent, and whether it
/// is overdue now (silent for longer than `grace_s`, so left out of every quorum).
#[utoipa::path(get, path = "/v1/locations", tag = "read",
    responses((status = 200, description = "OK", body = LocationsAnswer)))]
pub async fn locations<S: Store>(State(app): State<AppState<S>>) -> Result<Json, ApiError> {
    let now = lookout_core::time::now_ms();
    let grace_ms = app.location_grace_ms();
    let health = app.store.location_health().await?;
    let (deployed, home) = app
        .locations
        .as_ref()
        .map_or((&[][..], None), |l| (&l.all[..], Some(l.home.as_str())));
    let answer = LocationsAnswer {
        generated_at: lookout_core::time::rfc3339(now),
        grace_s: grace_ms / 1000,
        locations: views(&health, deployed, home, now, grace_ms),
    };
    Ok(Json::ok(
        serde_json::to_value(answer).map_err(ApiError::internal)?,
    ))
}

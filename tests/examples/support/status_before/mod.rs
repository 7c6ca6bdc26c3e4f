//! The ANCHOR of the API benchmark (`tests/examples/api_bench.rs`): a copy of the
//! `GET /v1/status` view as it was on main at commit 9777182
//! (`functions/api/src/routes/status.rs`, `view`, before issue 19 cached it and serialised its
//! rows once), so that the benchmark measures today's view and the new one from the same table
//! in the same run. Not product code: kept as it was, minimal changes only:
//! - it takes the definitions through the API's public `routes::load_cached` and
//!   `routes::locations` (as the original did through `super::`);
//! - [`answer`] serialises the value to the text the answer carried (`Json::ok(..)`'s
//!   `to_string()`), so that the anchor pays for what each request paid.
#![allow(dead_code)]

use api::routes::DefsCache;
use api::ApiError;
use lookout_app::ports::{LocationStore, StateStore, TargetStore};
use lookout_core::domain::failover::choose_all;
use serde_json::{json, Value};

/// The answer of `GET /v1/status` as it was: the view, serialised.
pub async fn answer<S: TargetStore + StateStore + LocationStore>(
    store: &S,
    cache: &DefsCache,
) -> Result<String, ApiError> {
    Ok(view(store, cache).await?.to_string())
}

/// The status view, from the cached definitions.
pub async fn view<S: TargetStore + StateStore + LocationStore>(
    store: &S,
    cache: &DefsCache,
) -> Result<Value, ApiError> {
    let (targets, latest, states) = api::routes::load_cached(store, cache).await?;
    let verdicts = api::routes::locations::verdicts_all(store).await?;
    let now = lookout_core::time::now_ms();
    let rows: Vec<Value> = targets
        .iter()
        .map(|t| {
            let state = &states[&t.id];
            let mut row = json!({
                "id": t.id,
                "name": t.name,
                "kind": t.kind(),
                "group": t.group,
                "enabled": t.enabled,
                "priority": t.priority(),
                "status": state.status,
                "status_since": (state.status_since > 0).then(|| lookout_core::time::rfc3339(state.status_since)),
                "uptime_percent": state.uptime_percent(),
                "ewma_latency_ms": state.ewma_latency_ms.map(|l| l.round()),
                "maintenance": t.maintenance_at(now).map(|w| {
                    json!({"active": true, "reason": w.reason.as_deref().unwrap_or("maintenance")})
                }),
                // The whole definition and state are at GET /v1/targets/{id}; the status keeps
                // what a dashboard shows, so that 10,000 targets stay one quick answer.
                "state": {
                    "version": state.version,
                    "checks": state.checks,
                    "failures": state.failures,
                    "last_check": state.last_check.map(lookout_core::time::rfc3339),
                    "last_error": state.last_error,
                    "traffic_bytes": state.traffic_bytes,
                    "cost": state.cost,
                },
                "last_result": latest.get(&t.id).and_then(|l| l.result.as_ref()).map(|r| json!({
                    "at": lookout_core::time::rfc3339(r.at),
                    "outcome": r.outcome,
                    "status_code": r.status_code,
                    "latency_ms": r.latency_ms,
                    "error": r.error,
                    "message": r.message,
                })),
            });
            if let Some(list) = verdicts.get(&t.id).filter(|l| !l.is_empty()) {
                row["locations"] = list.iter().map(api::routes::locations::verdict_json).collect();
            }
            row
        })
        .collect();
    Ok(json!({
        "generated_at": lookout_core::time::rfc3339(lookout_core::time::now_ms()),
        "targets": rows,
        "groups": choose_all(&targets, &states),
    }))
}

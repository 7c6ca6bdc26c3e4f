//! The bulk views: `GET /v1/status` (every target with its state), `GET /v1/summary` (counts,
//! last runs, groups, proxy cost, the latest global digest) and `GET /v1/groups/{group}/active`
//! (a group's choice).

use std::collections::BTreeMap;

use axum::extract::State;
use lookout_app::ports::{LocationStore, RunStore, StateStore, SummaryStore, TargetStore};
use lookout_core::domain::failover::choose_all;
use lookout_core::domain::{Status, TargetKind, TargetState};
use serde_json::{json, Value};

use super::{digests, load, load_cached, AppState, DefsCache};
use crate::extract::Path;
use crate::{ApiError, Json, Store};

/// Every target with its state, latest result and failover choice
///
/// Each target (redacted) with its status, a short state and its latest result, and the
/// active target of every group: `{"generated_at","targets":[...],"groups":[...]}`. A target
/// probed from several locations also has `locations`: each location's verdict
/// `{"location","status","since","at","latency_ms","error"}`, by location name (absent
/// otherwise).
#[utoipa::path(get, path = "/v1/status", tag = "public", responses(
    (status = 200, description = "OK", body = Object),
))]
pub async fn status<S: Store>(State(app): State<AppState<S>>) -> Result<Json, ApiError> {
    Ok(Json::ok(view(&app.store, &app.defs).await?))
}

/// Counts by status, last runs, active per group, proxy cost, the latest global digest
///
/// Counts by status and kind, the last run of each kind, the active target and fallbacks count
/// per group, proxy traffic and cost, and `digest`, the newest global digest (`null` before the
/// first).
#[utoipa::path(get, path = "/v1/summary", tag = "public", responses(
    (status = 200, description = "OK", body = Object),
))]
pub async fn summary<S: Store>(State(app): State<AppState<S>>) -> Result<Json, ApiError> {
    let mut summary = counts(&app.store).await?;
    summary["digest"] = digests::newest_global(&app.store)
        .await?
        .unwrap_or(Value::Null);
    Ok(Json::ok(summary))
}

/// Active target and fallbacks of a group or pool
///
/// `{"group","choices":[...]}`, ids only; 404 for a group no target is in.
#[utoipa::path(get, path = "/v1/groups/{group}/active", tag = "read",
    params(("group" = String, Path, min_length = 1, description = "Group or pool name")),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn group_active<S: Store>(
    State(app): State<AppState<S>>,
    Path(group): Path<String>,
) -> Result<Json, ApiError> {
    let group = group.as_str();
    let (targets, _, states) = load(&app.store).await?;
    let choices: Vec<_> = choose_all(&targets, &states)
        .into_iter()
        .filter(|g| g.group == group)
        .collect();
    if choices.is_empty() {
        return Err(ApiError::not_found(format!(
            "no group {}",
            lookout_core::redact::clip(group, 64)
        )));
    }
    Ok(Json::ok(json!({"group": group, "choices": choices})))
}

/// The status view, from the cached definitions.
async fn view<S: TargetStore + StateStore + LocationStore>(
    store: &S,
    cache: &DefsCache,
) -> Result<Value, ApiError> {
    let (targets, latest, states) = load_cached(store, cache).await?;
    let verdicts = super::locations::verdicts_all(store).await?;
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
                row["locations"] = list.iter().map(super::locations::verdict_json).collect();
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

/// The summary without the digest: counts by status and kind, the last run of each kind, the
/// active target and fallbacks count per group, proxy traffic and cost. Read from the summaries
/// the probe rounds write (one DynamoDB read); computed from the targets when no run wrote one
/// yet.
async fn counts<S: TargetStore + StateStore + RunStore + SummaryStore>(
    store: &S,
) -> Result<Value, ApiError> {
    let kinds = store.summaries().await?;
    if kinds.is_empty() {
        return summary_from_targets(store).await;
    }
    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_kind = serde_json::Map::new();
    let mut last_runs = serde_json::Map::new();
    let mut groups = Vec::new();
    for k in &kinds {
        for (s, n) in &k.by_status {
            *by_status.entry(s.clone()).or_default() += n;
        }
        let nonzero: BTreeMap<&String, &usize> =
            k.by_status.iter().filter(|(_, n)| **n > 0).collect();
        by_kind.insert(k.kind.as_str().into(), json!(nonzero));
        last_runs.insert(k.kind.as_str().into(), json!(k.last_run));
        groups.extend(k.groups.iter().map(|g| {
            json!({"group": g.group, "kind": g.kind, "active": g.active, "eligible": g.order.len(), "members": g.members})
        }));
    }
    for kind in TargetKind::ALL {
        last_runs.entry(kind.as_str()).or_insert(Value::Null);
    }
    let proxy = kinds.iter().find(|k| k.kind == TargetKind::Proxy);
    Ok(json!({
        "generated_at": lookout_core::time::rfc3339(lookout_core::time::now_ms()),
        "as_of": kinds.iter().map(|k| k.at).max().map(lookout_core::time::rfc3339),
        "targets": kinds.iter().map(|k| k.targets).sum::<usize>(),
        "by_status": by_status,
        "by_kind": by_kind,
        "last_runs": last_runs,
        "groups": groups,
        "proxy_traffic_bytes": proxy.map_or(0, |p| p.traffic_bytes),
        "estimated_proxy_cost": proxy.map_or(0.0, |p| (p.cost * 1e9).round() / 1e9 + 0.0),
    }))
}

async fn summary_from_targets<S: TargetStore + StateStore + RunStore>(
    store: &S,
) -> Result<Value, ApiError> {
    let (targets, _, states) = load(store).await?;
    let mut by_status: BTreeMap<&str, usize> =
        Status::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    let mut by_kind: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for t in &targets {
        let s = states[&t.id].status.as_str();
        *by_status.entry(s).or_default() += 1;
        *by_kind
            .entry(t.kind().as_str())
            .or_default()
            .entry(s)
            .or_default() += 1;
    }
    let mut last_runs = serde_json::Map::new();
    for kind in TargetKind::ALL {
        last_runs.insert(
            kind.as_str().into(),
            serde_json::to_value(store.last_run(kind).await?).unwrap_or(Value::Null),
        );
    }
    let proxies: Vec<&TargetState> = targets
        .iter()
        .filter(|t| t.kind() == TargetKind::Proxy)
        .map(|t| &states[&t.id])
        .collect();
    let groups: Vec<Value> = choose_all(&targets, &states)
        .into_iter()
        .map(|g| json!({"group": g.group, "kind": g.kind, "active": g.active, "eligible": g.order.len(), "members": g.members}))
        .collect();
    Ok(json!({
        "generated_at": lookout_core::time::rfc3339(lookout_core::time::now_ms()),
        "targets": targets.len(),
        "by_status": by_status,
        "by_kind": by_kind,
        "last_runs": last_runs,
        "groups": groups,
        "proxy_traffic_bytes": proxies.iter().map(|s| s.traffic_bytes).sum::<u64>(),
        "estimated_proxy_cost": (proxies.iter().map(|s| s.cost).sum::<f64>() * 1e9).round() / 1e9 + 0.0,
    }))
}

//! The bulk views: `GET /v1/status` (every target with its state), `GET /v1/summary` (counts,
//! last runs, groups, proxy cost, the latest global digest) and `GET /v1/groups/{group}/active`
//! (a group's choice).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, Uri};
use axum::response::{IntoResponse, Response};
use lookout_app::ports::{RunStore, StateStore, SummaryStore, TargetStore};
use lookout_core::domain::failover::choose_all;
use lookout_core::domain::{Status, TargetKind, TargetState};
use serde::Deserialize;
use serde_json::{json, Value};

use super::status_view::{build_view, Page};
use super::{digests, load, AppState};
use crate::cache::Stamp;
use crate::extract::{Path, Query};
use crate::{ApiError, Json, Store};

/// Query of `GET /v1/status`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct StatusQuery {
    /// Rows on this page, 1 to 10,000 (default: every target, one page).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 10000)]
    pub limit: Option<String>,
    /// Where the page starts: the `next_cursor` of the previous page (opaque; pages follow the
    /// targets' ids, so a target added or deleted meanwhile moves no other row).
    pub cursor: Option<String>,
    /// The row fields to answer, a comma list of `id`, `name`, `kind`, `group`, `enabled`,
    /// `priority`, `status`, `status_since`, `uptime_percent`, `ewma_latency_ms`,
    /// `maintenance`, `state`, `last_result`, `locations`, `check_kind` (`id` is always kept);
    /// another name is
    /// a 400 naming `fields`.
    #[param(example = "id,status")]
    pub fields: Option<String>,
    /// Only rows of this kind: `server` or `proxy` (the run, as the rows' `kind`: `server`
    /// keeps every target the server run checks), or `tcp`, `tls`, `dns`, `heartbeat` (the
    /// rows' `check_kind`). `limit` and `next_cursor` count the rows kept.
    #[param(value_type = Option<super::openapi::TargetKindFilter>, inline)]
    pub kind: Option<String>,
}

/// Every target with its state, latest result and failover choice
///
/// Each target (redacted) with its status, a short state and its latest result, and the
/// active target of every group. A row's `kind` is the run that checks it (`server` or
/// `proxy`) and `check_kind` the definition's kind (`server` for HTTP, `proxy`, `tcp`, `tls`,
/// `dns`, `heartbeat`); `kind` filters by either: `{"generated_at","targets":[...],"groups":[...]}`, targets by
/// id. A target probed from several locations also has `locations`: each location's verdict
/// `{"location","status","since","at","latency_ms","error"}`, by location name (absent
/// otherwise). With `limit` or `cursor` the answer is one page and has `next_cursor` (`null` on
/// the last page); `groups` is only on the first page (no `cursor`). `fields` keeps only the
/// row fields named. Served from the instance's cache while nothing changed
/// ([`crate::cache`]); `generated_at` is when the view was built.
#[utoipa::path(get, path = "/v1/status", tag = "public", params(StatusQuery), responses(
    (status = 200, description = "OK", body = Object),
))]
pub async fn status<S: Store>(
    State(app): State<AppState<S>>,
    Query(q): Query<StatusQuery>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let page = Page::of(&q)?;
    let stamp = Stamp::read(&app.store).await?;
    let key = crate::cache::key(
        "status",
        uri.query(),
        &["limit", "cursor", "fields", "kind"],
    );
    app.cache
        .answer(&app.cache.status, key, stamp, async {
            let view = match app.cache.status_view(stamp) {
                Some(v) => v,
                None => {
                    let generation = app.cache.generation();
                    let built = Arc::new(build_view(&app.store, &app.defs, stamp).await?);
                    app.cache
                        .keep_status_view(stamp, generation, Arc::clone(&built));
                    built
                }
            };
            Ok(json_response(view.render(&page)))
        })
        .await
}

/// A JSON text (UTF-8 bytes) as a 200 answer, with the headers of [`Json`].
fn json_response(text: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response()
}

/// Counts by status, last runs, active per group, proxy cost, the latest global digest
///
/// Counts by status and kind, the last run of each kind, the active target and fallbacks count
/// per group, proxy traffic and cost, and `digest`, the newest global digest (`null` before the
/// first). Served from the instance's cache while nothing changed ([`crate::cache`]).
#[utoipa::path(get, path = "/v1/summary", tag = "public", responses(
    (status = 200, description = "OK", body = Object),
))]
pub async fn summary<S: Store>(State(app): State<AppState<S>>) -> Result<Response, ApiError> {
    let stamp = Stamp::read(&app.store).await?;
    app.cache
        .answer(&app.cache.summary, "summary".into(), stamp, async {
            let mut summary = counts(&app.store).await?;
            summary["digest"] = digests::newest_global(&app.store)
                .await?
                .unwrap_or(Value::Null);
            Ok(Json::ok(summary).into_response())
        })
        .await
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

//! Route handlers. Each returns JSON or an [`ApiError`].

use std::collections::{BTreeMap, HashMap, HashSet};

use futures::StreamExt as _;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use lookout::domain::failover::choose_all;
use lookout::domain::state::DAY_MS;
use lookout::domain::{apply_override, Override, Status, Target, TargetKind, TargetState};
use lookout::ports::{
    AlertLog, HistoryStore, Latest, RunStore, StateStore, SummaryStore, TargetStore,
};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{json_response, ApiError};
use crate::App;

/// `GET /v1/health`: this API, and each AWS dependency reachable with its latency; 503 when
/// one is not.
pub async fn health(
    deps: Option<&lookout::adapters::health::AwsHealth>,
) -> Result<Response<Body>, ApiError> {
    let checked = match deps {
        Some(d) => d.check().await,
        None => Vec::new(),
    };
    let ok = checked.iter().all(|d| d.ok);
    let body = json!({
        "status": if ok { "ok" } else { "degraded" },
        "service": "lookout-api",
        "version": env!("CARGO_PKG_VERSION"),
        "dependencies": checked,
    });
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Ok(json_response(status, &body))
}

/// Target definitions kept by one API instance for the bulk views (status, page, metrics) for
/// [`DEFS_TTL`]; listing 10,000 definitions costs more than the rest of a status answer.
///
/// The instance's own writes show at once: each write empties the listing (and a listing that
/// started before the write is not kept), and the definitions the instance wrote or deleted
/// are laid over every listing for [`DEFS_TTL`], since the index that lists definitions
/// (DynamoDB's `gsi1`) is eventually consistent and may miss a definition just written. Writes
/// through other instances show within [`DEFS_TTL`].
#[derive(Debug, Default, Clone)]
pub struct DefsCache(std::sync::Arc<std::sync::Mutex<CacheState>>);

#[derive(Debug, Default)]
struct CacheState {
    /// When the definitions were listed, and the definitions (sorted by id).
    listed: Option<(std::time::Instant, Vec<Target>)>,
    /// Counts this instance's writes: a listing is kept only if none happened while it ran.
    generation: u64,
    /// This instance's recent writes by id: when, and the definition written (`None`: deleted).
    writes: HashMap<String, (std::time::Instant, Option<Target>)>,
}

/// How long [`DefsCache`] keeps definitions, and how long other API instances may show the
/// definitions as they were before a write (15 s).
pub const DEFS_TTL: std::time::Duration = std::time::Duration::from_secs(15);

impl CacheState {
    /// `listed` with this instance's recent writes laid over it: a written definition replaces
    /// an older version (a newer one listed, written elsewhere since, wins), a deleted one goes.
    fn overlay(&mut self, mut listed: Vec<Target>) -> Vec<Target> {
        self.writes.retain(|_, (at, _)| at.elapsed() < DEFS_TTL);
        if self.writes.is_empty() {
            return listed;
        }
        for (id, (_, written)) in &self.writes {
            let at = listed.iter().position(|t| &t.id == id);
            match (written, at) {
                (None, Some(i)) => {
                    listed.remove(i);
                }
                (Some(w), Some(i)) if listed[i].version < w.version => listed[i] = w.clone(),
                (Some(w), None) => listed.push(w.clone()),
                _ => {}
            }
        }
        listed.sort_by(|a, b| a.id.cmp(&b.id));
        listed
    }
}

impl DefsCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, CacheState> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets the listing (after any write of this instance).
    pub fn clear(&self) {
        let mut state = self.lock();
        state.listed = None;
        state.generation += 1;
    }

    /// Records a definition this instance just stored (with its new version).
    pub fn wrote(&self, target: &Target) {
        self.lock().writes.insert(
            target.id.clone(),
            (std::time::Instant::now(), Some(target.clone())),
        );
        self.clear();
    }

    /// Records a definition this instance just deleted.
    pub fn deleted(&self, id: &str) {
        self.lock()
            .writes
            .insert(id.to_string(), (std::time::Instant::now(), None));
        self.clear();
    }

    async fn get<S: TargetStore>(&self, store: &S) -> Result<Vec<Target>, ApiError> {
        let generation = {
            let mut state = self.lock();
            if let Some((at, defs)) = &state.listed {
                if at.elapsed() < DEFS_TTL {
                    let defs = defs.clone();
                    return Ok(state.overlay(defs));
                }
            }
            state.generation
        };
        let defs = store.list_targets(None).await?;
        let mut state = self.lock();
        if state.generation == generation {
            state.listed = Some((std::time::Instant::now(), defs.clone()));
        }
        Ok(state.overlay(defs))
    }
}

/// Like [`load`], with the definitions from `cache`.
pub(crate) async fn load_cached<S: TargetStore + StateStore>(
    store: &S,
    cache: &DefsCache,
) -> Result<Loaded, ApiError> {
    let (targets, latest) = tokio::join!(cache.get(store), latest_all(store));
    Ok(states_of(targets?, latest?))
}

pub(crate) async fn load<S: TargetStore + StateStore>(store: &S) -> Result<Loaded, ApiError> {
    let (targets, latest) = tokio::join!(store.list_targets(None), latest_all(store));
    Ok(states_of(targets?, latest?))
}

/// Targets, the latest entry (state and result) of each checked one, and the state of every
/// target (a never-checked target has the `unknown` state).
pub(crate) type Loaded = (
    Vec<Target>,
    HashMap<String, Latest>,
    HashMap<String, TargetState>,
);

/// The latest entries of both kinds with the pending overrides applied, read concurrently.
pub(crate) async fn latest_all<S: StateStore>(
    store: &S,
) -> Result<HashMap<String, Latest>, ApiError> {
    let (servers, proxies, o_servers, o_proxies) = tokio::join!(
        store.latest(TargetKind::Server),
        store.latest(TargetKind::Proxy),
        store.overrides(TargetKind::Server),
        store.overrides(TargetKind::Proxy),
    );
    let mut latest = servers?;
    latest.extend(proxies?);
    // Overrides not yet taken into a snapshot by a probe run.
    for o in o_servers?.into_iter().chain(o_proxies?) {
        let result = latest.remove(&o.target_id).and_then(|l| l.result);
        latest.insert(o.target_id.clone(), Latest::new(o, result));
    }
    Ok(latest)
}

fn states_of(targets: Vec<Target>, mut latest: HashMap<String, Latest>) -> Loaded {
    lookout::ports::catch_up_all(&mut latest, &targets);
    let states = targets
        .iter()
        .map(|t| {
            let state = latest
                .get(&t.id)
                .map_or_else(|| TargetState::new(&t.id), |l| l.state.clone());
            (t.id.clone(), state)
        })
        .collect();
    (targets, latest, states)
}

pub async fn status<S: TargetStore + StateStore>(
    store: &S,
    cache: &DefsCache,
) -> Result<Value, ApiError> {
    let (targets, latest, states) = load_cached(store, cache).await?;
    let now = lookout::time::now_ms();
    let rows: Vec<Value> = targets
        .iter()
        .map(|t| {
            let state = &states[&t.id];
            json!({
                "id": t.id,
                "name": t.name,
                "kind": t.kind(),
                "group": t.group,
                "enabled": t.enabled,
                "priority": t.priority(),
                "status": state.status,
                "status_since": (state.status_since > 0).then(|| lookout::time::rfc3339(state.status_since)),
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
                    "last_check": state.last_check.map(lookout::time::rfc3339),
                    "last_error": state.last_error,
                    "traffic_bytes": state.traffic_bytes,
                    "cost": state.cost,
                },
                "last_result": latest.get(&t.id).and_then(|l| l.result.as_ref()).map(|r| json!({
                    "at": lookout::time::rfc3339(r.at),
                    "outcome": r.outcome,
                    "status_code": r.status_code,
                    "latency_ms": r.latency_ms,
                    "error": r.error,
                    "message": r.message,
                })),
            })
        })
        .collect();
    Ok(json!({
        "generated_at": lookout::time::rfc3339(lookout::time::now_ms()),
        "targets": rows,
        "groups": choose_all(&targets, &states),
    }))
}

/// `GET /v1/summary`: counts by status and kind, the last run of each kind, the active target
/// and fallbacks count per group, proxy traffic and cost. Read from the summaries the probe
/// rounds write (one DynamoDB read); computed from the targets when no run wrote one yet.
pub async fn summary<S: TargetStore + StateStore + RunStore + SummaryStore>(
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
        "generated_at": lookout::time::rfc3339(lookout::time::now_ms()),
        "as_of": kinds.iter().map(|k| k.at).max().map(lookout::time::rfc3339),
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
        "generated_at": lookout::time::rfc3339(lookout::time::now_ms()),
        "targets": targets.len(),
        "by_status": by_status,
        "by_kind": by_kind,
        "last_runs": last_runs,
        "groups": groups,
        "proxy_traffic_bytes": proxies.iter().map(|s| s.traffic_bytes).sum::<u64>(),
        "estimated_proxy_cost": (proxies.iter().map(|s| s.cost).sum::<f64>() * 1e9).round() / 1e9 + 0.0,
    }))
}

/// Most targets one page of `GET /v1/targets` holds.
pub const MAX_PAGE: usize = 500;

pub(crate) fn parse_limit(
    q: &HashMap<String, String>,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    match q.get("limit") {
        None => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| ApiError::bad_request(format!("limit must be 1 to {max}"))),
    }
}

fn parse_kind(q: &HashMap<String, String>) -> Result<Option<TargetKind>, ApiError> {
    q.get("kind")
        .map(|k| {
            TargetKind::parse(k)
                .ok_or_else(|| ApiError::bad_request("kind must be server or proxy"))
        })
        .transpose()
}

/// `GET /v1/targets?kind=&group=&status=&tag=&limit=&cursor=`: definitions (redacted) with
/// their status, by id; `next_cursor` (the last id) continues the listing.
pub async fn list_targets<S: TargetStore + StateStore>(
    store: &S,
    q: &HashMap<String, String>,
) -> Result<Value, ApiError> {
    let kind = parse_kind(q)?;
    let status = q
        .get("status")
        .map(|s| {
            Status::ALL
                .into_iter()
                .find(|st| st.as_str() == s)
                .ok_or_else(|| ApiError::bad_request(format!("status {s:?} is not a status")))
        })
        .transpose()?;
    let limit = parse_limit(q, 100, MAX_PAGE)?;
    let (targets, _, states) = load(store).await?;
    let mut page: Vec<Value> = Vec::new();
    let mut next = None;
    for t in targets.iter().filter(|t| {
        kind.is_none_or(|k| t.kind() == k)
            && q.get("group").is_none_or(|g| &t.group == g)
            && q.get("tag").is_none_or(|tag| t.tags.contains(tag))
            && status.is_none_or(|s| states[&t.id].status == s)
            && q.get("cursor").is_none_or(|c| t.id.as_str() > c.as_str())
    }) {
        if page.len() == limit {
            next = page
                .last()
                .and_then(|v| v["id"].as_str().map(str::to_string));
            break;
        }
        let mut v = serde_json::to_value(t.redacted()).unwrap_or(Value::Null);
        v["status"] = json!(states[&t.id].status);
        page.push(v);
    }
    Ok(json!({"targets": page, "next_cursor": next}))
}

/// `GET /v1/targets/{id}`: the definition (redacted), its state and its latest result.
pub async fn get_target<S: TargetStore + StateStore>(
    store: &S,
    id: &str,
) -> Result<Value, ApiError> {
    let (targets, latest, states) = load(store).await?;
    let t = targets.iter().find(|t| t.id == id).ok_or_else(|| {
        ApiError::not_found(format!("no target {}", lookout::redact::clip(id, 64)))
    })?;
    Ok(json!({
        "target": t.redacted(),
        "state": states[&t.id],
        "last_result": latest.get(&t.id).and_then(|l| l.result.clone()),
        "maintenance": t.maintenance_at(lookout::time::now_ms()),
    }))
}

/// `PATCH /v1/targets/{id}`: a JSON merge patch (RFC 7396) of the definition, with the
/// `version` the caller read (required). A stale version is 409; the patched definition is
/// validated like a new one (422 naming the field); `id` and `kind` cannot change.
pub async fn patch_target<S: TargetStore>(
    store: &S,
    defs: &DefsCache,
    id: &str,
    body: &[u8],
) -> Result<Value, ApiError> {
    let patch = parse_json(body)?;
    let Value::Object(mut patch) = patch else {
        return Err(ApiError::invalid_target("the patch must be a JSON object"));
    };
    let version = patch
        .remove("version")
        .and_then(|v| v.as_u64())
        .ok_or_else(|| ApiError::invalid_target("version: required, the version you read"))?;
    let current = store.get_target(id).await?.ok_or_else(|| {
        ApiError::not_found(format!("no target {}", lookout::redact::clip(id, 64)))
    })?;
    if current.version != version {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!(
                "target {id} is at version {}, not {version}: read it again",
                current.version
            ),
        ));
    }
    for fixed in ["id", "kind"] {
        if patch.get(fixed).is_some_and(|v| {
            Some(v)
                != serde_json::to_value(&current)
                    .ok()
                    .as_ref()
                    .and_then(|c| c.get(fixed))
        }) {
            return Err(ApiError::invalid_target(format!(
                "{fixed}: cannot change; delete and create instead"
            )));
        }
    }
    let mut merged = serde_json::to_value(&current).unwrap_or(Value::Null);
    merge_patch(&mut merged, Value::Object(patch));
    if let Value::Object(o) = &mut merged {
        o.remove("version");
    }
    let mut target = Target::from_json(merged).map_err(|e| invalid_definition("", &e))?;
    target.restore_secrets(&current);
    let saved = store.update_target(&target, version).await?;
    defs.wrote(&saved);
    Ok(json!({"target": saved.redacted()}))
}

/// RFC 7396: objects merge key by key, `null` removes a key, anything else replaces.
fn merge_patch(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(&k);
                } else {
                    merge_patch(t.entry(k).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p,
    }
}

/// `DELETE /v1/targets/{id}`: the definition and its state item.
pub async fn delete_target<S: TargetStore>(
    store: &S,
    defs: &DefsCache,
    id: &str,
) -> Result<Value, ApiError> {
    let found = store.delete_target(id).await?;
    defs.deleted(id);
    if found {
        Ok(json!({"deleted": id}))
    } else {
        Err(ApiError::not_found(format!(
            "no target {}",
            lookout::redact::clip(id, 64)
        )))
    }
}

/// `PUT /v1/targets[?prune=true][&dry_run=true]`: applies a whole target file (JSON, or YAML
/// with the same shape): creates new ids, updates changed ones, leaves equal ones, and with
/// `prune=true` deletes targets not in the file. Everything is validated before anything is
/// written. Answers the ids `created`, `updated`, `unchanged` and `deleted`; with
/// `dry_run=true` the same lists say what would happen, `"dry_run": true`, nothing written.
pub async fn apply_targets<S: TargetStore>(
    store: &S,
    defs: &DefsCache,
    body: &[u8],
    q: &HashMap<String, String>,
) -> Result<Value, ApiError> {
    let prune = match q.get("prune").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(ApiError::bad_request("prune must be true or false")),
    };
    let dry_run = parse_dry_run(q)?;
    let text =
        std::str::from_utf8(body).map_err(|_| ApiError::bad_request("the body is not UTF-8"))?;
    let json_body = if text.trim_start().starts_with(['{', '[']) {
        body.to_vec()
    } else {
        let value: Value = serde_norway::from_str(text).map_err(|e| {
            ApiError::bad_request(format!("the body is neither JSON nor YAML: {e}"))
        })?;
        serde_json::to_vec(&value).unwrap_or_default()
    };
    let wanted = parse_targets(&json_body)?;
    let existing: HashMap<String, Target> = store
        .list_targets(None)
        .await?
        .into_iter()
        .map(|t| (t.id.clone(), t))
        .collect();
    // Every check before the first write.
    if let Some(t) = wanted.iter().find(|t| {
        existing
            .get(&t.id)
            .is_some_and(|old| old.kind() != t.kind())
    }) {
        return Err(ApiError::invalid_target(format!(
            "{}: kind cannot change; delete it first",
            t.id
        )));
    }
    let wanted: Vec<Target> = wanted
        .into_iter()
        .map(|mut t| {
            if let Some(old) = existing.get(&t.id) {
                t.restore_secrets(old);
            }
            t
        })
        .collect();
    let (mut created, mut updated, mut unchanged, mut deleted) = (vec![], vec![], vec![], vec![]);
    for t in &wanted {
        match existing.get(&t.id) {
            None => {
                if !dry_run {
                    defs.wrote(&store.create_target(t).await?);
                }
                created.push(t.id.clone());
            }
            Some(old) => {
                let mut same = t.clone();
                same.version = old.version;
                if &same == old {
                    unchanged.push(t.id.clone());
                } else {
                    if !dry_run {
                        defs.wrote(&store.update_target(t, old.version).await?);
                    }
                    updated.push(t.id.clone());
                }
            }
        }
    }
    if prune {
        for id in existing
            .keys()
            .filter(|id| !wanted.iter().any(|t| &t.id == *id))
        {
            if !dry_run {
                store.delete_target(id).await?;
                defs.deleted(id);
            }
            deleted.push(id.clone());
        }
        deleted.sort();
    }
    let mut answer =
        json!({"created": created, "updated": updated, "unchanged": unchanged, "deleted": deleted});
    if dry_run {
        answer["dry_run"] = json!(true);
    }
    Ok(answer)
}

pub(crate) fn parse_time(q: &HashMap<String, String>, name: &str) -> Result<Option<i64>, ApiError> {
    q.get(name)
        .map(|v| {
            v.parse::<jiff::Timestamp>()
                .map(|t| t.as_millisecond())
                .map_err(|_| ApiError::bad_request(format!("{name} must be an RFC 3339 time")))
        })
        .transpose()
}

/// `GET /v1/runs?kind=&limit=`: the newest run records, newest first.
pub async fn runs<S: RunStore>(store: &S, q: &HashMap<String, String>) -> Result<Value, ApiError> {
    let limit = parse_limit(q, 20, 200)?;
    let kinds = parse_kind(q)?.map_or(TargetKind::ALL.to_vec(), |k| vec![k]);
    let mut out = Vec::new();
    for k in kinds {
        out.extend(store.runs(k, limit).await?);
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.started_at));
    out.truncate(limit);
    Ok(json!({"runs": out}))
}

/// `GET /v1/alerts?since=&until=&severity=&kind=`: alerts raised in the window (default the last
/// 24 hours, at most 31 days), oldest first, with whether each was published.
pub async fn alerts<S: AlertLog>(
    store: &S,
    q: &HashMap<String, String>,
) -> Result<Value, ApiError> {
    let now = lookout::time::now_ms();
    let until = parse_time(q, "until")?.unwrap_or(now);
    let since = parse_time(q, "since")?.unwrap_or(until - DAY_MS);
    if since > until || until - since > 31 * DAY_MS {
        return Err(ApiError::bad_request(
            "since must be before until, at most 31 days apart",
        ));
    }
    let records: Vec<_> = store
        .alerts(since, until)
        .await?
        .into_iter()
        .filter(|r| {
            q.get("severity")
                .is_none_or(|s| r.alert.severity.as_str() == s)
        })
        .filter(|r| q.get("kind").is_none_or(|k| r.alert.kind.as_str() == k))
        .collect();
    Ok(
        json!({"since": lookout::time::rfc3339(since), "until": lookout::time::rfc3339(until), "alerts": records}),
    )
}

/// `GET /v1/groups/{group}/active`: the active target of a group or pool and its ordered
/// fallbacks (ids only).
pub async fn group_active<S: TargetStore + StateStore>(
    store: &S,
    group: &str,
) -> Result<Value, ApiError> {
    let (targets, _, states) = load(store).await?;
    let choices: Vec<_> = choose_all(&targets, &states)
        .into_iter()
        .filter(|g| g.group == group)
        .collect();
    if choices.is_empty() {
        return Err(ApiError::not_found(format!(
            "no group {}",
            lookout::redact::clip(group, 64)
        )));
    }
    Ok(json!({"group": group, "choices": choices}))
}

/// `GET /v1/proxies/active?group=`: the proxy to use now and the ordered fallbacks of a pool,
/// with their full proxy URLs, credentials included (the one answer that has them), secret
/// references resolved. A proxy whose reference cannot be resolved now is left out of the order
/// (an application could not use it), with a warning in the log.
pub async fn proxies_active<S: TargetStore + StateStore>(
    store: &S,
    secrets: &lookout::secrets::Secrets,
    q: &HashMap<String, String>,
) -> Result<Value, ApiError> {
    let group = q
        .get("group")
        .ok_or_else(|| ApiError::bad_request("group is required"))?;
    let (targets, _, states) = load(store).await?;
    let pool: Vec<&Target> = targets
        .iter()
        .filter(|t| t.kind() == TargetKind::Proxy && &t.group == group)
        .collect();
    if pool.is_empty() {
        return Err(ApiError::not_found(format!(
            "no proxy pool {}",
            lookout::redact::clip(group, 64)
        )));
    }
    let mut order: Vec<Value> = Vec::new();
    for t in lookout::domain::failover::failover_order(&pool, &states) {
        let resolved = match secrets.resolve(t).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(target = %t.id, error = %e, "proxy left out: secret not resolved");
                continue;
            }
        };
        let Some(p) = resolved.proxy() else { continue };
        order.push(json!({
            "id": t.id,
            "proxy_url": p.proxy_url,
            "proxy_type": p.proxy_type,
            "cost_per_gb": p.cost_per_gb,
            "priority": t.priority(),
            "status": states[&t.id].status,
        }));
    }
    Ok(json!({"group": group, "active": order.first(), "order": order}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Usage {
    /// `ok`, `failed` or `blocked`.
    outcome: String,
    #[serde(default)]
    bytes: u64,
    #[serde(default)]
    latency_ms: u64,
    #[serde(default)]
    status_code: Option<u16>,
}

/// `POST /v1/proxies/{id}/usage`: an application reports a real request through a proxy
/// (`{"outcome":"ok"|"failed"|"blocked","bytes":N,"latency_ms":N,"status_code":N}`). It goes
/// through the state machine like a probe result (traffic, cost, failures, status) and is
/// written like an override, so the next probe run continues from it. A concurrent write is
/// retried twice, then 409.
pub async fn proxy_usage<S: TargetStore + StateStore>(
    store: &S,
    id: &str,
    body: &[u8],
) -> Result<Value, ApiError> {
    let usage: Usage = serde_json::from_value(parse_json(body)?).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            e.to_string(),
        )
    })?;
    let outcome = match usage.outcome.as_str() {
        "ok" => lookout::domain::Outcome::Up,
        "failed" => lookout::domain::Outcome::Failed,
        "blocked" => lookout::domain::Outcome::Blocked,
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request",
                "outcome must be ok, failed or blocked",
            ))
        }
    };
    let target = store
        .get_target(id)
        .await?
        .filter(|t| t.kind() == TargetKind::Proxy)
        .ok_or_else(|| {
            ApiError::not_found(format!("no proxy {}", lookout::redact::clip(id, 64)))
        })?;
    let now = lookout::time::now_ms();
    let result = lookout::domain::CheckResult {
        target_id: target.id.clone(),
        kind: TargetKind::Proxy,
        at: now,
        outcome,
        status_code: usage.status_code,
        latency_ms: usage.latency_ms,
        connect_ms: None,
        ttfb_ms: None,
        cert_days_left: None,
        bytes: usage.bytes,
        attempts: 1,
        error: (outcome == lookout::domain::Outcome::Failed)
            .then_some(lookout::domain::ErrorKind::Other),
        message: Some("reported by an application".into()),
    };
    let mut last = None;
    for _ in 0..3 {
        let base = current_state(store, &target).await?;
        let (next, alerts) = lookout::domain::next_state(&base, &result, &target);
        match store.commit_override(target.kind(), &next, &alerts).await {
            Ok(()) => {
                return Ok(json!({
                    "target": target.id,
                    "status": next.status,
                    "traffic_bytes": next.traffic_bytes,
                    "cost": next.cost,
                    "alerts": alerts.iter().map(|a| &a.key).collect::<Vec<_>>(),
                }))
            }
            Err(e @ lookout::ports::StoreError::Conflict(_)) => last = Some(e),
            Err(e) => return Err(e.into()),
        }
    }
    Err(last.map_or_else(
        || ApiError::new(StatusCode::CONFLICT, "conflict", "busy"),
        Into::into,
    ))
}

/// A target's current state: a pending override, else the snapshot's; status and version from
/// the state item, which conditional writes check.
async fn current_state<S: StateStore>(store: &S, target: &Target) -> Result<TargetState, ApiError> {
    let pending = store
        .overrides(target.kind())
        .await?
        .into_iter()
        .find(|o| o.target_id == target.id);
    let mut base = match pending {
        Some(o) => o,
        None => store
            .latest(target.kind())
            .await?
            .remove(&target.id)
            .map_or_else(
                || TargetState::new(&target.id),
                |mut l| {
                    l.catch_up(Some(target));
                    l.state
                },
            ),
    };
    match store.load_state(&target.id).await? {
        Some(stored) => {
            base.status = stored.status;
            base.status_since = stored.status_since;
            base.version = stored.version;
        }
        None => base.version = 0,
    }
    Ok(base)
}

/// Parses JSON, telling bad syntax (400) from a well-formed body of the wrong shape (422).
fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("the body is empty; expected JSON"));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))
}

/// 422 for the definition at `at` (`""` for a lone one, `targets[2].` in a list): the message
/// is `<at><field>: <what>` and `error.field` the JSON path of the field, or of the entry when
/// no single field is to blame (`definition`).
fn invalid_definition(at: &str, e: &lookout::domain::target::ValidationError) -> ApiError {
    if e.field == "definition" {
        let mut err = ApiError::invalid_target(format!("{at}{e}"));
        let entry = at.trim_end_matches('.');
        err.field = (!entry.is_empty()).then(|| entry.to_string());
        err
    } else {
        ApiError::invalid_field(format!("{at}{}", e.field), &e.message)
    }
}

/// Parses and validates target definitions; the error names the entry and the field.
fn parse_targets(body: &[u8]) -> Result<Vec<Target>, ApiError> {
    let value = parse_json(body)?;
    let (entries, prefix) = match value {
        Value::Array(items) => (items, "targets"),
        Value::Object(mut o) if o.contains_key("targets") => match o.remove("targets") {
            Some(Value::Array(items)) => (items, "targets"),
            _ => {
                return Err(ApiError::invalid_target(
                    "targets: must be a list of target definitions",
                ))
            }
        },
        one @ Value::Object(_) => (vec![one], ""),
        _ => {
            return Err(ApiError::invalid_target(
                "expected a target object, a list, or {\"targets\": [...]}",
            ))
        }
    };
    if entries.is_empty() {
        return Err(ApiError::invalid_target("targets: the list is empty"));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(entries.len());
    for (i, entry) in entries.into_iter().enumerate() {
        let at = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}[{i}].")
        };
        let target = Target::from_json(entry).map_err(|e| invalid_definition(&at, &e))?;
        if !seen.insert(target.id.clone()) {
            return Err(ApiError::invalid_field(
                format!("{at}id"),
                format_args!("{} appears twice", target.id),
            ));
        }
        out.push(target);
    }
    Ok(out)
}

/// `dry_run` of `POST` and `PUT /v1/targets`: `true` validates and answers what would happen,
/// writing nothing; absent or `false` writes.
fn parse_dry_run(q: &HashMap<String, String>) -> Result<bool, ApiError> {
    match q.get("dry_run").map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(ApiError::bad_request("dry_run must be true or false")),
    }
}

/// `POST /v1/targets[?dry_run=true]`: one target, a list, or `{"targets":[...]}`; 201 with the
/// created definitions (redacted); 409 when an id exists, 422 naming the field. With
/// `dry_run=true` every check runs (ids that exist included) and the answer is 200
/// `{"dry_run":true,"created":[...]}`, the definitions as they would be stored; nothing is
/// written.
pub async fn create_targets<S: TargetStore>(
    store: &S,
    defs: &DefsCache,
    body: &[u8],
    q: &HashMap<String, String>,
) -> Result<Response<Body>, ApiError> {
    let dry_run = parse_dry_run(q)?;
    let targets = parse_targets(body)?;
    let existing: HashSet<String> = store
        .list_targets(None)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    if let Some(t) = targets.iter().find(|t| existing.contains(&t.id)) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("target {} exists", t.id),
        ));
    }
    if dry_run {
        let created: Vec<Target> = targets
            .into_iter()
            .map(|mut t| {
                t.version = 1;
                t.redacted()
            })
            .collect();
        return Ok(json_response(
            StatusCode::OK,
            &json!({"dry_run": true, "created": created}),
        ));
    }
    let mut created = Vec::with_capacity(targets.len());
    for t in &targets {
        let stored = store.create_target(t).await?;
        defs.wrote(&stored);
        created.push(stored.redacted());
    }
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"created": created}),
    ))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CheckRequest {
    #[serde(default)]
    ids: Option<Vec<String>>,
    #[serde(default)]
    kind: Option<TargetKind>,
    #[serde(default)]
    group: Option<String>,
}

pub async fn checks<S: TargetStore>(app: &App<S>, body: &[u8]) -> Result<Value, ApiError> {
    let request: CheckRequest = if body.iter().all(u8::is_ascii_whitespace) {
        CheckRequest::default()
    } else {
        serde_json::from_value(parse_json(body)?).map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request",
                e.to_string(),
            )
        })?
    };
    let targets = app.store.list_targets(request.kind).await?;
    let chosen: Vec<&Target> = match &request.ids {
        Some(ids) => {
            if let Some(missing) = ids.iter().find(|id| !targets.iter().any(|t| &t.id == *id)) {
                return Err(ApiError::not_found(format!("no target {missing}")));
            }
            targets.iter().filter(|t| ids.contains(&t.id)).collect()
        }
        None => targets.iter().filter(|t| t.enabled).collect(),
    };
    let chosen: Vec<&Target> = chosen
        .into_iter()
        .filter(|t| request.group.as_ref().is_none_or(|g| &t.group == g))
        .collect();
    let now = lookout::time::now_ms();
    // Futures built up front: a closure over `&Target` inside the stream trips the compiler's
    // Send check for the lambda_http service.
    let probes: Vec<_> = chosen
        .into_iter()
        .map(|t| lookout::secrets::check(&app.prober, &app.secrets, t, now))
        .collect();
    let results: Vec<_> = futures::stream::iter(probes)
        .buffered(app.concurrency.max(1))
        .collect()
        .await;
    Ok(json!({"checked_at": lookout::time::rfc3339(now), "results": results}))
}

/// Warning and critical thresholds of `GET /v1/system`, as a classic system monitor sets them
/// (Nagios `check_load` per core, `check_disk`, memory): load per CPU 0.7 / 1.0, memory, process
/// RSS (of the function's memory size) and /tmp 80 % / 90 %.
pub const LOAD_PER_CPU: (f64, f64) = (0.7, 1.0);
/// Percent used: warning, critical.
pub const USED_PERCENT: (f64, f64) = (80.0, 90.0);

pub(crate) fn level(value: f64, (warning, critical): (f64, f64)) -> &'static str {
    if value >= critical {
        "critical"
    } else if value >= warning {
        "warning"
    } else {
        "ok"
    }
}

/// `GET /v1/system`: this function instance's CPU count, load average, memory, process RSS,
/// uptime and /tmp disk, each with its level (`ok`, `warning`, `critical`).
pub fn system() -> Value {
    use sysinfo::{Disks, ProcessesToUpdate, System};
    let mut sys = System::new();
    sys.refresh_memory();
    let pid = sysinfo::get_current_pid().ok();
    if let Some(pid) = pid {
        sys.refresh_processes(ProcessesToUpdate::Some(&[pid]), true);
    }
    let rss = pid
        .and_then(|p| sys.process(p))
        .map(sysinfo::Process::memory)
        .unwrap_or(0);
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let load = System::load_average();
    let per_cpu = load.one / cpus as f64;
    let mem_pct = 100.0 * sys.used_memory() as f64 / sys.total_memory().max(1) as f64;
    // Lambda's configured memory is the real limit of the process.
    let limit = std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        .ok()
        .and_then(|m| m.parse::<u64>().ok())
        .map_or(sys.total_memory(), |mb| mb * 1024 * 1024);
    let rss_pct = 100.0 * rss as f64 / limit.max(1) as f64;
    let disks = Disks::new_with_refreshed_list();
    let tmp = disks
        .iter()
        .filter(|d| std::path::Path::new("/tmp").starts_with(d.mount_point()))
        .max_by_key(|d| d.mount_point().as_os_str().len())
        .map(|d| {
            let used = d.total_space().saturating_sub(d.available_space());
            let pct = 100.0 * used as f64 / d.total_space().max(1) as f64;
            json!({"mount": d.mount_point(), "total_bytes": d.total_space(),
                   "available_bytes": d.available_space(), "used_percent": (pct * 10.0).round() / 10.0,
                   "level": level(pct, USED_PERCENT)})
        });
    json!({
        "cpus": cpus,
        "load_average": [load.one, load.five, load.fifteen],
        "load": {"per_cpu": (per_cpu * 100.0).round() / 100.0, "level": level(per_cpu, LOAD_PER_CPU)},
        "memory_total_bytes": sys.total_memory(),
        "memory_used_bytes": sys.used_memory(),
        "memory": {"used_percent": (mem_pct * 10.0).round() / 10.0, "level": level(mem_pct, USED_PERCENT)},
        "process_rss_bytes": rss,
        "process": {"limit_bytes": limit, "used_percent": (rss_pct * 10.0).round() / 10.0, "level": level(rss_pct, USED_PERCENT)},
        "tmp": tmp,
        "uptime_s": System::uptime(),
        "thresholds": {"load_per_cpu": LOAD_PER_CPU, "used_percent": USED_PERCENT},
    })
}

/// `POST /v1/targets/{id}/actions/{mark-healthy|mark-down|reset-stats}`: an operator's override,
/// applied through the state machine (`apply_override`) and written like a probe's change: the
/// state item conditional on its `version`, the alert rows in the same transaction (the next
/// probe run publishes them). Body: empty, or `{"version": N}` with the state version the caller
/// saw; a different stored version, or a write that loses to a concurrent one, is 409.
pub async fn target_action<S: TargetStore + StateStore>(
    store: &S,
    id: &str,
    action: &str,
    body: &[u8],
) -> Result<Value, ApiError> {
    let action: Override =
        serde_json::from_value(Value::String(action.to_string())).map_err(|_| {
            ApiError::not_found(format!(
                "no action {action:?}; use mark-healthy, mark-down or reset-stats"
            ))
        })?;
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ActionBody {
        version: Option<u64>,
    }
    let wanted = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice::<ActionBody>(body)
            .map_err(|e| ApiError::bad_request(format!("body: {e}")))?
            .version
    };
    let target = store.get_target(id).await?.ok_or_else(|| {
        ApiError::not_found(format!("no target {:?}", lookout::redact::clip(id, 64)))
    })?;
    let target = &target;
    let base = current_state(store, target).await?;
    if let Some(v) = wanted {
        if v != base.version {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!(
                    "the state of {id} is at version {}, not {v}: read it again",
                    base.version
                ),
            ));
        }
    }
    let (mut next, alerts) = apply_override(&base, action, lookout::time::now_ms(), target);
    store.commit_override(target.kind(), &next, &alerts).await?;
    next.version += 1;
    Ok(json!({
        "target": target.id,
        "action": action,
        "state": next,
        "alerts": alerts.iter().map(|a| &a.key).collect::<Vec<_>>(),
    }))
}

/// `GET /v1/results` and `GET /v1/targets/{id}/results`: check results from the history,
/// `since` and `until` in RFC 3339 (default the last hour, at most 7 days), `status` (an
/// outcome: up, slow, degraded, failed, blocked), `kind`, `limit` (default 100, at most 1000) and
/// `cursor` (from `next_cursor`). Oldest first.
pub async fn results<S: TargetStore + HistoryStore>(
    store: &S,
    id: Option<&str>,
    q: &HashMap<String, String>,
) -> Result<Value, ApiError> {
    let now = lookout::time::now_ms();
    let until = parse_time(q, "until")?.unwrap_or(now);
    let since = parse_time(q, "since")?.unwrap_or(until - 3_600_000);
    if since > until || until - since > 7 * DAY_MS {
        return Err(ApiError::bad_request(
            "since must be before until, at most 7 days apart",
        ));
    }
    let limit = parse_limit(q, 100, 1000)?;
    let outcome = q
        .get("status")
        .map(|s| {
            serde_json::from_value::<lookout::domain::Outcome>(Value::String(s.clone())).map_err(
                |_| ApiError::bad_request("status must be up, slow, degraded, failed or blocked"),
            )
        })
        .transpose()?;
    let cursor = q
        .get("cursor")
        .map(|c| {
            c.split_once(':')
                .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id.to_string())))
                .ok_or_else(|| ApiError::bad_request("cursor is not one this API gave"))
        })
        .transpose()?;
    let targets = store.list_targets(None).await?;
    let kinds = match id {
        Some(id) => vec![targets
            .iter()
            .find(|t| t.id == id)
            .ok_or_else(|| {
                ApiError::not_found(format!("no target {}", lookout::redact::clip(id, 64)))
            })?
            .kind()],
        None => parse_kind(q)?.map_or(TargetKind::ALL.to_vec(), |k| vec![k]),
    };
    let mut all = Vec::new();
    for kind in kinds {
        let n = targets.iter().filter(|t| t.kind() == kind).count();
        all.extend(store.history(kind, since, until, n).await?);
    }
    all.sort_by(|a, b| (a.at, &a.target_id).cmp(&(b.at, &b.target_id)));
    let mut page: Vec<_> = all
        .into_iter()
        .filter(|r| id.is_none_or(|id| r.target_id == id))
        .filter(|r| outcome.is_none_or(|o| r.outcome == o))
        .filter(|r| {
            cursor
                .as_ref()
                .is_none_or(|(at, cid)| (r.at, &r.target_id) > (*at, cid))
        })
        .take(limit + 1)
        .collect();
    let next = (page.len() > limit).then(|| {
        page.truncate(limit);
        page.last().map(|r| format!("{}:{}", r.at, r.target_id))
    });
    Ok(json!({"results": page, "next_cursor": next.flatten()}))
}

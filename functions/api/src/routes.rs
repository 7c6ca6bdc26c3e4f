//! Route handlers. Each returns JSON or an [`ApiError`].

use std::collections::{BTreeMap, HashMap, HashSet};

use futures::StreamExt as _;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use lookout::domain::failover::choose_all;
use lookout::domain::{apply_override, Override, Status, Target, TargetKind, TargetState};
use lookout::ports::{Latest, RunStore, StateStore, TargetStore};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{json_response, ApiError};
use crate::App;

pub fn health() -> Value {
    json!({"status": "ok", "service": "lookout-api", "version": env!("CARGO_PKG_VERSION")})
}

/// Targets, the latest entry (state and result) of each checked one, and the state of every
/// target (a never-checked target has the `unknown` state).
async fn load<S: TargetStore + StateStore>(
    store: &S,
) -> Result<
    (
        Vec<Target>,
        HashMap<String, Latest>,
        HashMap<String, TargetState>,
    ),
    ApiError,
> {
    let targets = store.list_targets(None).await?;
    let mut latest: HashMap<String, Latest> = HashMap::new();
    for kind in TargetKind::ALL {
        latest.extend(store.latest(kind).await?);
        // Overrides not yet taken into a snapshot by a probe run.
        for o in store.overrides(kind).await? {
            let result = latest.remove(&o.target_id).and_then(|l| l.result);
            latest.insert(o.target_id.clone(), Latest { state: o, result });
        }
    }
    let states = targets
        .iter()
        .map(|t| {
            let state = latest
                .get(&t.id)
                .map_or_else(|| TargetState::new(&t.id), |l| l.state.clone());
            (t.id.clone(), state)
        })
        .collect();
    Ok((targets, latest, states))
}

pub async fn status<S: TargetStore + StateStore>(store: &S) -> Result<Value, ApiError> {
    let (targets, latest, states) = load(store).await?;
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
                "target": t.redacted(),
                "state": state,
                "last_result": latest.get(&t.id).and_then(|l| l.result.clone()),
            })
        })
        .collect();
    Ok(json!({
        "generated_at": lookout::time::rfc3339(lookout::time::now_ms()),
        "targets": rows,
        "groups": choose_all(&targets, &states),
    }))
}

pub async fn summary<S: TargetStore + StateStore + RunStore>(store: &S) -> Result<Value, ApiError> {
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

pub async fn list_targets<S: TargetStore>(store: &S) -> Result<Value, ApiError> {
    let targets: Vec<Target> = store
        .list_targets(None)
        .await?
        .iter()
        .map(Target::redacted)
        .collect();
    Ok(json!({"targets": targets}))
}

/// Parses JSON, telling bad syntax (400) from a well-formed body of the wrong shape (422).
fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("the body is empty; expected JSON"));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))
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
        let target =
            Target::from_json(entry).map_err(|e| ApiError::invalid_target(format!("{at}{e}")))?;
        if !seen.insert(target.id.clone()) {
            return Err(ApiError::invalid_target(format!(
                "{at}id: {} appears twice",
                target.id
            )));
        }
        out.push(target);
    }
    Ok(out)
}

pub async fn create_targets<S: TargetStore>(
    store: &S,
    body: &[u8],
) -> Result<Response<Body>, ApiError> {
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
    let mut created = Vec::with_capacity(targets.len());
    for t in &targets {
        created.push(store.create_target(t).await?.redacted());
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
        .map(|t| app.prober.check(t, now))
        .collect();
    let results: Vec<_> = futures::stream::iter(probes)
        .buffered(app.concurrency.max(1))
        .collect()
        .await;
    Ok(json!({"checked_at": lookout::time::rfc3339(now), "results": results}))
}

pub fn system() -> Value {
    use sysinfo::{ProcessesToUpdate, System};
    let mut sys = System::new();
    sys.refresh_memory();
    let pid = sysinfo::get_current_pid().ok();
    if let Some(pid) = pid {
        sys.refresh_processes(ProcessesToUpdate::Some(&[pid]), true);
    }
    let rss = pid
        .and_then(|p| sys.process(p))
        .map(sysinfo::Process::memory);
    let load = System::load_average();
    json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "load_average": [load.one, load.five, load.fifteen],
        "memory_total_bytes": sys.total_memory(),
        "memory_used_bytes": sys.used_memory(),
        "process_rss_bytes": rss,
        "uptime_s": System::uptime(),
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
    let targets = store.list_targets(None).await?;
    let target = targets
        .iter()
        .find(|t| t.id == id)
        .ok_or_else(|| ApiError::not_found(format!("no target {id:?}")))?;
    // Counters from the snapshot; status and version from the state item, which is what the
    // conditional write checks.
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
            .map_or_else(|| TargetState::new(&target.id), |l| l.state),
    };
    match store.load_state(&target.id).await? {
        Some(stored) => {
            base.status = stored.status;
            base.status_since = stored.status_since;
            base.version = stored.version;
        }
        None => base.version = 0,
    }
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

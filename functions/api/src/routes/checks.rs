//! `POST /v1/checks`: check targets now and answer the results (no state changes).

use axum::extract::State;
use futures::StreamExt as _;
use lookout_core::domain::heartbeat::evaluate;
use lookout_core::domain::{CheckResult, Target};
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use crate::extract::JsonBody;
use crate::{ApiError, Json, Store};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
/// Body of `POST /v1/checks`: which targets to check (all enabled ones when empty).
pub struct CheckRequest {
    #[serde(default)]
    /// These targets (404 naming one that does not exist).
    pub ids: Option<Vec<String>>,
    #[serde(default)]
    /// Targets of this kind: `server` or `proxy` (the run; `server` takes every kind but
    /// proxies), or `tcp`, `tls`, `dns`, `heartbeat` (the definition's kind).
    pub kind: Option<String>,
    #[serde(default)]
    /// Targets of this group.
    pub group: Option<String>,
}

/// Check targets now and return the results
///
/// `{"ids":[..]}`, `{"kind":..}`, `{"group":..}` or `{}` (or no body) for every enabled target;
/// answers `{"checked_at","results":[...],"waiting":[...]}` and changes no state. A body of the
/// wrong shape is 422 `invalid_request`. Heartbeat (push) targets are not probed: each is judged
/// from its pings as the probe run judges it (`lookout_core::domain::heartbeat::evaluate`, the
/// ping records read in one call); one never pinged has nothing to judge and is listed by id in
/// `waiting` instead of `results`.
#[utoipa::path(post, path = "/v1/checks", tag = "admin",
    request_body(content = Option<Value>, content_type = "application/json"),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn checks<S: Store>(
    State(app): State<AppState<S>>,
    JsonBody(request): JsonBody<CheckRequest>,
) -> Result<Json, ApiError> {
    let request = request.unwrap_or_default();
    let kind = super::params::kind_filter(request.kind.as_deref()).map_err(|_| {
        ApiError::invalid_field("kind", "must be server, proxy, tcp, tls, dns or heartbeat")
    })?;
    let run = match kind {
        Some(super::params::KindFilter::Run(k)) => Some(k),
        _ => None,
    };
    let mut targets = app.store.list_targets(run).await?;
    if let Some(k) = kind {
        targets.retain(|t| k.keeps(t));
    }
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
    let now = lookout_core::time::now_ms();
    let (heartbeats, chosen): (Vec<&Target>, Vec<&Target>) =
        chosen.into_iter().partition(|t| t.heartbeat().is_some());
    let (mut judged, waiting) = judge_heartbeats(&app.store, &heartbeats, now).await?;
    // Futures built up front: a closure over `&Target` inside the stream trips the compiler's
    // Send check for the lambda_http service.
    let probes: Vec<_> = chosen
        .into_iter()
        .map(|t| lookout_app::secrets::check(&app.prober, &app.secrets, t, now))
        .collect();
    let mut results: Vec<CheckResult> = futures::stream::iter(probes)
        .buffered(app.concurrency.max(1))
        .collect()
        .await;
    results.append(&mut judged);
    Ok(Json::ok(json!({
        "checked_at": lookout_core::time::rfc3339(now),
        "results": results,
        "waiting": waiting,
    })))
}

/// The results of heartbeat targets at `now` from their ping records (one read, none when
/// there are no heartbeats), and the ids of those never pinged (nothing to judge yet).
///
/// # Errors
/// The store's, reading the ping records.
async fn judge_heartbeats<S: Store>(
    store: &S,
    heartbeats: &[&Target],
    now: i64,
) -> Result<(Vec<CheckResult>, Vec<String>), ApiError> {
    if heartbeats.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let ids: Vec<String> = heartbeats.iter().map(|t| t.id.clone()).collect();
    let records = store.ping_records(&ids).await?;
    let mut judged = Vec::new();
    let mut waiting = Vec::new();
    for t in heartbeats {
        let result = t
            .heartbeat()
            .and_then(|check| evaluate(t, check, records.get(&t.id), now));
        match result {
            Some(r) => judged.push(r),
            None => waiting.push(t.id.clone()),
        }
    }
    Ok((judged, waiting))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use lambda_http::{Body, Request};
    use lookout_app::memory::MemoryStore;
    use lookout_app::ports::{HeartbeatStore as _, TargetStore as _};
    use lookout_core::domain::heartbeat::{Ping, PingStatus};
    use serde_json::{json, Value};

    use crate::App;

    const TOKEN: &str = "admin-token";

    fn post(body: &str) -> Request {
        lambda_http::http::Request::builder()
            .method("POST")
            .uri("https://lookout.example/v1/checks")
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Body::Text(body.to_string()))
            .unwrap()
    }

    async fn heartbeat(store: &MemoryStore, id: &str) {
        let t = lookout_core::domain::Target::from_json(json!({"id":id,"group":"cron",
            "kind":"heartbeat","period_s":3600,"grace_s":300}))
        .unwrap();
        store.create_target(&t).await.unwrap();
    }

    #[tokio::test]
    async fn heartbeats_are_judged_from_their_pings_and_the_never_pinged_wait() {
        let store = MemoryStore::default();
        heartbeat(&store, "failed-job").await;
        heartbeat(&store, "good-job").await;
        heartbeat(&store, "new-job").await;
        let now = lookout_core::time::now_ms();
        let ping = |status| Ping {
            at: now - 60_000,
            status,
            exit_code: None,
            message: Some("disk full".into()),
            body: None,
        };
        store
            .record_ping("failed-job", ping(PingStatus::Fail))
            .await
            .unwrap();
        store
            .record_ping("good-job", ping(PingStatus::Ok))
            .await
            .unwrap();
        let app = Arc::new(App {
            admin_token: Some(TOKEN.into()),
            ..App::local(store)
        });
        let resp = crate::handle(&app, post("{}")).await;
        assert_eq!(resp.status(), 200);
        let body: Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
        let results = body["results"].as_array().unwrap();
        let of = |id: &str| results.iter().find(|r| r["target_id"] == id).cloned();
        let failed = of("failed-job").unwrap();
        assert_eq!(failed["outcome"], "failed", "{body}");
        assert_eq!(failed["error"], "reported");
        assert_eq!(failed["message"], "the job reported failure: disk full");
        assert_eq!(of("good-job").unwrap()["outcome"], "up");
        assert!(of("new-job").is_none());
        assert_eq!(body["waiting"], json!(["new-job"]));
        // `kind` takes the definition's kinds too, and names itself when wrong.
        let resp = crate::handle(&app, post(r#"{"kind":"heartbeat","group":"cron"}"#)).await;
        assert_eq!(resp.status(), 200);
        let body: Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
        assert_eq!(body["results"].as_array().unwrap().len(), 2, "{body}");
        let resp = crate::handle(&app, post(r#"{"kind":"tcp"}"#)).await;
        let body: Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
        assert_eq!(body["results"], json!([]), "{body}");
        assert_eq!(body["waiting"], json!([]), "{body}");
        let resp = crate::handle(&app, post(r#"{"kind":"icmp"}"#)).await;
        assert_eq!(resp.status(), 422);
        let body: Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
        assert_eq!(body["error"]["field"], "kind", "{body}");
    }
}

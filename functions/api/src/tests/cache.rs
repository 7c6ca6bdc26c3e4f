//! The instance's answer caches (issue 19): hits, what invalidates an entry (this instance's
//! writes, another instance's definitions write through the version, a new probe round),
//! `GET /v1/status` pages and fields, and `GET /v1/cache/stats`, against the memory store.

use lookout_app::ports::Sharded;
use lookout_app::usecases::probe_run::{run, ProbeRequest, RunConfig};
use lookout_core::domain::{Shard, TargetKind};

use super::*;

async fn get(app: &Arc<App<MemoryStore>>, path: &str) -> Value {
    let (status, body) = call(app, request("GET", path, "", Some(READ))).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

async fn create(app: &Arc<App<MemoryStore>>, ids: &[&str]) {
    let url = closed_port().await;
    let targets: Vec<Value> = ids
        .iter()
        .map(|id| json!({"id": id, "kind": "server", "group": "g", "url": url}))
        .collect();
    let (status, body) = call(
        app,
        request(
            "POST",
            "/v1/targets",
            &json!(targets).to_string(),
            Some(TOKEN),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

fn ids(status: &Value) -> Vec<String> {
    status["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

fn stats_of(stats: &Value, cache: &str) -> (u64, u64) {
    let c = &stats["caches"][cache];
    (c["hits"].as_u64().unwrap(), c["misses"].as_u64().unwrap())
}

/// A second app over the same tables: another API instance.
fn other_instance(app: &Arc<App<MemoryStore>>) -> Arc<App<MemoryStore>> {
    Arc::new(App {
        admin_token: Some(TOKEN.into()),
        read_token: Some(READ.into()),
        ..App::local(app.store.for_shard(Shard::WHOLE))
    })
}

#[tokio::test]
async fn a_second_status_call_is_a_hit_with_the_same_answer() {
    let app = app();
    create(&app, &["a", "b"]).await;
    let first = get(&app, "/v1/status").await;
    let second = get(&app, "/v1/status").await;
    assert_eq!(first, second, "the kept answer, generated_at included");
    let stats = get(&app, "/v1/cache/stats").await;
    assert_eq!(stats_of(&stats, "status"), (1, 1));
    assert_eq!(stats["caches"]["status"]["entries"], 1);
    assert!(stats["caches"]["status"]["bytes"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn an_admin_write_through_the_same_instance_is_seen_by_the_next_read() {
    let app = app();
    create(&app, &["a"]).await;
    assert_eq!(ids(&get(&app, "/v1/status").await), ["a"]);
    let summary = get(&app, "/v1/summary").await;
    assert_eq!(summary["targets"], 1);
    // A definition written through this instance.
    create(&app, &["b"]).await;
    assert_eq!(ids(&get(&app, "/v1/status").await), ["a", "b"]);
    assert_eq!(get(&app, "/v1/summary").await["targets"], 2);
    // An override (an action) through this instance: no definitions write, no probe round.
    let (status, body) = call(
        &app,
        request("POST", "/v1/targets/a/actions/mark-down", "", Some(TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let status = get(&app, "/v1/status").await;
    assert_eq!(status["targets"][0]["status"], "down", "{status}");
    let metrics = handle(&app, request("GET", "/metrics", "", None)).await;
    let text = String::from_utf8(metrics.body().to_vec()).unwrap();
    assert!(
        text.contains(
            "lookout_target_status{id=\"a\",kind=\"server\",group=\"g\",status=\"down\"} 1"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn a_definitions_write_through_another_instance_is_seen_after_the_version_moved() {
    let app = app();
    let other = other_instance(&app);
    create(&app, &["a"]).await;
    assert_eq!(ids(&get(&app, "/v1/status").await), ["a"]);
    assert_eq!(ids(&get(&app, "/v1/status").await), ["a"]);
    let summary_before = get(&app, "/v1/summary").await;
    assert_eq!(summary_before["targets"], 1);
    // Written through the other instance: this one's caches (answers and definitions, well
    // within their maximum ages) are not told; the definitions' version is.
    create(&other, &["b"]).await;
    assert_eq!(ids(&get(&app, "/v1/status").await), ["a", "b"]);
    let page = get(&app, "/status.json").await;
    assert_eq!(page["totals"]["unknown"], 2, "{page}");
    // (A definition this instance wrote itself stays laid over its listings for DEFS_TTL, as
    // DefsCache says, so the deletion is of one the other instance wrote.)
    let (status, _) = call(&other, request("DELETE", "/v1/targets/b", "", Some(TOKEN))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&get(&app, "/v1/status").await), ["a"]);
    let page = get(&app, "/status.json").await;
    assert_eq!(page["totals"]["unknown"], 1, "{page}");
    let stats = get(&app, "/v1/cache/stats").await;
    assert_eq!(stats_of(&stats, "status"), (1, 3));
}

#[tokio::test]
async fn a_new_probe_round_invalidates_the_kept_answers() {
    let app = app();
    create(&app, &["a"]).await;
    let before = get(&app, "/v1/status").await;
    assert_eq!(before["targets"][0]["last_result"], Value::Null);
    assert_eq!(
        get(&app, "/v1/summary").await["last_runs"]["server"],
        Value::Null
    );
    // A probe round on the same tables (another function): its summary's `at` moves on.
    let prober =
        lookout_app::probe::Prober::with_options(lookout_app::probe::ProbeOptions::allow_private())
            .unwrap();
    let publisher = lookout_app::memory::MemoryPublisher::default();
    run(
        &app.store.for_shard(Shard::WHOLE),
        &publisher,
        &prober,
        &ProbeRequest::forced(&[TargetKind::Server]),
        &RunConfig::new(4),
    )
    .await
    .unwrap();
    let after = get(&app, "/v1/status").await;
    assert_eq!(
        after["targets"][0]["last_result"]["outcome"], "failed",
        "{after}"
    );
    assert_eq!(after["targets"][0]["state"]["checks"], 1);
    assert!(get(&app, "/v1/summary").await["last_runs"]["server"].is_object());
    let stats = get(&app, "/v1/cache/stats").await;
    assert_eq!(stats_of(&stats, "status"), (0, 2));
    assert_eq!(stats_of(&stats, "summary"), (0, 2));
}

#[tokio::test]
async fn pages_list_every_target_once_and_fields_keep_what_was_asked() {
    let app = app();
    let names: Vec<String> = (0..25).map(|i| format!("t{i:02}")).collect();
    create(&app, &names.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let whole = get(&app, "/v1/status").await;
    assert!(
        whole.get("next_cursor").is_none(),
        "no pages asked: the answer as before"
    );
    let mut seen = Vec::new();
    let mut path = "/v1/status?limit=10".to_string();
    let mut pages = 0;
    loop {
        let page = get(&app, &path).await;
        pages += 1;
        assert_eq!(
            page.get("groups").is_some(),
            pages == 1,
            "groups on the first page only"
        );
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/status?limit=10&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, names, "every target exactly once, by id");
    // The rows of a page are the whole answer's rows.
    let page = get(&app, "/v1/status?limit=10").await;
    assert_eq!(
        page["targets"].as_array().unwrap()[..],
        whole["targets"].as_array().unwrap()[..10]
    );

    let slim = get(&app, "/v1/status?fields=status").await;
    for row in slim["targets"].as_array().unwrap() {
        let keys: Vec<&String> = row.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["id", "status"], "id is always kept");
    }
    let slim = get(&app, "/v1/status?fields=id,last_result,state&limit=2").await;
    assert_eq!(slim["targets"][1]["state"], whole["targets"][1]["state"]);
    assert_eq!(slim["targets"][1].as_object().unwrap().len(), 3);

    for (path, field) in [
        ("/v1/status?cursor=zz", "cursor"),
        ("/v1/status?cursor=c0", "cursor"),
        ("/v1/status?fields=id,colour", "fields"),
        ("/v1/status?limit=0", "limit"),
        ("/v1/status?limit=10001", "limit"),
    ] {
        let (status, body) = call(&app, request("GET", path, "", None)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(field), "{path}: {message}");
    }
}

#[tokio::test]
async fn the_statistics_count_every_call_and_show_in_the_metrics() {
    let app = app();
    let fresh = get(&app, "/v1/cache/stats").await;
    for name in ["status", "summary", "metrics", "page", "defs"] {
        let c = &fresh["caches"][name];
        assert_eq!(c["hit_rate"], Value::Null, "{name}: no call yet");
        assert_eq!(
            (c["hits"].as_u64(), c["entries"].as_u64()),
            (Some(0), Some(0))
        );
        assert!(c["max_age_s"].as_u64().unwrap() > 0);
    }
    create(&app, &["a", "b"]).await;
    let paths = [
        "/v1/status",
        "/v1/status",
        "/v1/status?limit=1",
        "/v1/status?fields=id,status",
        "/v1/status?limit=1",
        "/v1/status",
        "/v1/summary",
        "/v1/summary",
    ];
    for p in paths {
        get(&app, p).await;
    }
    let stats = get(&app, "/v1/cache/stats").await;
    let (hits, misses) = stats_of(&stats, "status");
    assert_eq!(hits + misses, 6, "one count per status call");
    assert_eq!((hits, misses), (3, 3), "three keys, each missed once");
    let rate = stats["caches"]["status"]["hit_rate"].as_f64().unwrap();
    assert!((rate - 0.5).abs() < 1e-9);
    assert_eq!(stats["caches"]["status"]["entries"], 3);
    assert_eq!(stats_of(&stats, "summary"), (1, 1));
    // The status answers share one view, built once from one listing of the definitions.
    assert_eq!(stats_of(&stats, "defs"), (0, 1));

    for _ in 0..2 {
        handle(&app, request("GET", "/metrics", "", None)).await;
    }
    let metrics = handle(&app, request("GET", "/metrics", "", None)).await;
    let text = String::from_utf8(metrics.body().to_vec()).unwrap();
    let parsed = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    let value = |name: &str, cache: &str| {
        parsed
            .samples
            .iter()
            .find(|s| s.metric == name && s.labels.get("cache") == Some(cache))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => f64::NAN,
            })
    };
    assert_eq!(value("lookout_cache_hits_total", "status"), Some(3.0));
    assert_eq!(value("lookout_cache_misses_total", "status"), Some(3.0));
    assert_eq!(value("lookout_cache_entries", "status"), Some(3.0));
    // The third scrape counted as the metrics cache's second hit before its series were read.
    assert_eq!(value("lookout_cache_hits_total", "metrics"), Some(2.0));
    assert_eq!(value("lookout_cache_misses_total", "metrics"), Some(1.0));
    assert!(value("lookout_cache_bytes", "status").unwrap() > 0.0);
}

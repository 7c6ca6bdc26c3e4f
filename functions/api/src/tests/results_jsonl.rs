//! `GET /v1/results?format=jsonl` and `GET /v1/targets/{id}/results?format=jsonl` (issue 19)
//! against the memory store: the lines are the JSON answer's results, in its order, with its
//! filters, streamed an hour at a time.

use futures::StreamExt as _;
use lookout_core::domain::TargetKind;
use tower::ServiceExt as _;

use super::*;

const HOUR: i64 = 3_600_000;

/// The seeded targets with a result a minute for each through the last `hours` hours (up to a
/// minute ago); `px-cheap` fails every third minute with a message naming its proxy URL with
/// the password, as a careless engine would write it.
async fn with_hours(app: &Arc<App<MemoryStore>>, hours: i64) -> i64 {
    seed(app).await;
    let now = lookout_core::time::now_ms();
    let first = (now - hours * HOUR).div_euclid(HOUR) * HOUR + HOUR;
    for kind in TargetKind::ALL {
        let ids: Vec<String> = app
            .store
            .list_targets(Some(kind))
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.id)
            .collect();
        for h in 0..=hours {
            let runs =
                lookout_app::testing::minute_runs(&ids, kind, first + (h - 1) * HOUR, |id, m| {
                    (id != "px-cheap" || m % 3 != 0).then_some(100 + m as u64)
                });
            for (at, mut latest) in runs.into_iter().filter(|(at, _)| *at < now) {
                for l in &mut latest {
                    if let Some(r) = l.result.as_mut().filter(|r| r.error.is_some()) {
                        r.message =
                            Some("CONNECT through http://u:s3cret@127.0.0.1:3128 timed out".into());
                    }
                }
                app.store
                    .record_run(kind, at, &latest, false)
                    .await
                    .unwrap();
            }
        }
    }
    now
}

/// The answer's status, content type, body chunks (as sent) and lines parsed.
async fn jsonl(app: &Arc<App<MemoryStore>>, path: &str) -> (StatusCode, String, usize, Vec<Value>) {
    let req = request("GET", path, "", Some(READ)).map(axum::body::Body::new);
    let resp = router(Arc::clone(app)).oneshot(req).await.unwrap();
    let status = resp.status();
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
    let chunks: Vec<_> = resp.into_body().into_data_stream().collect().await;
    let text: String = chunks
        .iter()
        .map(|c| String::from_utf8(c.as_ref().unwrap().to_vec()).unwrap())
        .collect();
    assert!(!text.contains("s3cret"), "no password in any line");
    let lines = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    (status, content_type, chunks.len(), lines)
}

/// Every result of the JSON answer over `query`, page after page through `next_cursor`.
async fn json_pages(app: &Arc<App<MemoryStore>>, path: &str, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, body) = call(
            app,
            request(
                "GET",
                &format!("{path}?{query}&limit=1000{cursor}"),
                "",
                Some(READ),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        out.extend(body["results"].as_array().unwrap().iter().cloned());
        match body["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return out,
        }
    }
}

/// A line without `target`, and both without `message` (the lines mask credentials the JSON
/// answer would show as stored).
fn comparable(mut v: Value) -> Value {
    let map = v.as_object_mut().unwrap();
    map.remove("target");
    map.remove("message");
    v
}

fn window(now: i64, hours: i64) -> String {
    format!(
        "since={}&until={}",
        lookout_core::time::rfc3339(now - hours * HOUR),
        lookout_core::time::rfc3339(now)
    )
}

#[tokio::test]
async fn the_lines_are_the_json_answers_results_in_its_order_streamed_an_hour_at_a_time() {
    let app = app();
    let now = with_hours(&app, 5).await;
    let q = window(now, 5);
    let (status, content_type, chunks, lines) =
        jsonl(&app, &format!("/v1/results?{q}&format=jsonl")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/x-ndjson");
    let pages = json_pages(&app, "/v1/results", &q).await;
    assert!(pages.len() > 1000, "more than one page: {}", pages.len());
    assert_eq!(lines.len(), pages.len());
    assert!(
        chunks >= 5,
        "sent an hour at a time, not whole: {chunks} chunks"
    );
    for (line, result) in lines.iter().zip(&pages) {
        assert_eq!(line["target"], line["target_id"]);
        assert!(line["kind"] == "server" || line["kind"] == "proxy");
        assert_eq!(comparable(line.clone()), comparable(result.clone()));
    }
    let failed: Vec<&Value> = lines.iter().filter(|l| l["error"] == "timeout").collect();
    assert!(!failed.is_empty());
    for l in failed {
        let m = l["message"].as_str().unwrap();
        assert!(m.contains("***") && m.contains("127.0.0.1:3128"), "{m}");
    }
}

#[tokio::test]
async fn filters_limit_and_the_per_target_route_apply() {
    let app = app();
    let now = lookout_core::time::now_ms();
    let now = now.max(with_hours(&app, 2).await);
    let q = window(now, 2);
    for (path, query) in [
        ("/v1/results", format!("{q}&status=failed")),
        ("/v1/results", format!("{q}&kind=proxy")),
        ("/v1/results", format!("{q}&kind=server&status=up")),
        ("/v1/targets/px-cheap/results", q.clone()),
        ("/v1/targets/api-b/results", format!("{q}&status=failed")),
    ] {
        let (status, _, _, lines) = jsonl(&app, &format!("{path}?{query}&format=jsonl")).await;
        assert_eq!(status, StatusCode::OK, "{path}?{query}");
        let pages = json_pages(&app, path, &query).await;
        assert_eq!(lines.len(), pages.len(), "{path}?{query}");
        let lines: Vec<Value> = lines.into_iter().map(comparable).collect();
        let pages: Vec<Value> = pages.into_iter().map(comparable).collect();
        assert_eq!(lines, pages, "{path}?{query}");
    }
    let (_, _, _, failed) =
        jsonl(&app, &format!("/v1/results?{q}&status=failed&format=jsonl")).await;
    assert!(
        !failed.is_empty()
            && failed
                .iter()
                .all(|l| l["outcome"] == "failed" && l["target"] == "px-cheap")
    );
    let (_, _, _, proxies) = jsonl(&app, &format!("/v1/results?{q}&kind=proxy&format=jsonl")).await;
    assert!(!proxies.is_empty() && proxies.iter().all(|l| l["kind"] == "proxy"));

    // `limit`: at most that many lines, the first ones of the JSON answer.
    let (_, _, _, five) = jsonl(&app, &format!("/v1/results?{q}&limit=5&format=jsonl")).await;
    let (_, page) = call(
        &app,
        request("GET", &format!("/v1/results?{q}&limit=5"), "", Some(READ)),
    )
    .await;
    assert_eq!(five.len(), 5);
    let page: Vec<Value> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .cloned()
        .map(comparable)
        .collect();
    assert_eq!(five.into_iter().map(comparable).collect::<Vec<_>>(), page);

    // `format=json` is the default answer.
    let (_, default) = call(
        &app,
        request("GET", &format!("/v1/results?{q}"), "", Some(READ)),
    )
    .await;
    let (_, json) = call(
        &app,
        request(
            "GET",
            &format!("/v1/results?{q}&format=json"),
            "",
            Some(READ),
        ),
    )
    .await;
    assert_eq!(default, json);
}

#[tokio::test]
async fn another_format_is_a_400_naming_format_and_checks_come_before_the_stream() {
    let app = app();
    with_hours(&app, 1).await;
    for path in [
        "/v1/results?format=xml",
        "/v1/targets/api-a/results?format=xml",
        "/v1/results?format=JSONL",
        "/v1/results?format=",
    ] {
        let (status, body) = call(&app, request("GET", path, "", Some(READ))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(body["error"]["code"], "bad_request");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("format"),
            "{body}"
        );
    }
    for (path, want) in [
        (
            "/v1/targets/nope/results?format=jsonl",
            StatusCode::NOT_FOUND,
        ),
        (
            "/v1/results?format=jsonl&status=sideways",
            StatusCode::BAD_REQUEST,
        ),
        ("/v1/results?format=jsonl&limit=0", StatusCode::BAD_REQUEST),
        (
            "/v1/results?format=jsonl&kind=router",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/v1/results?format=jsonl&since=2026-01-01T00:00:00Z&until=2026-02-01T00:00:00Z",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, body) = call(&app, request("GET", path, "", Some(READ))).await;
        assert_eq!(status, want, "{path}: {body}");
    }
    let (status, _) = call(&app, request("GET", "/v1/results?format=jsonl", "", None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the read token is needed");
    // An empty window is an empty body.
    let (status, content_type, _, lines) = jsonl(
        &app,
        "/v1/results?since=2020-01-01T00:00:00Z&until=2020-01-01T01:00:00Z&format=jsonl",
    )
    .await;
    assert_eq!(
        (status, content_type.as_str(), lines.len()),
        (StatusCode::OK, "application/x-ndjson", 0)
    );
}

#[tokio::test]
async fn the_document_declares_format_and_both_content_types() {
    let doc = crate::routes::openapi::document();
    for path in ["/v1/results", "/v1/targets/{id}/results"] {
        let get = &doc["paths"][path]["get"];
        let format = get["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "format")
            .unwrap_or_else(|| panic!("{path}: no format parameter"));
        assert_eq!(format["schema"]["enum"], json!(["json", "jsonl"]), "{path}");
        let content = &get["responses"]["200"]["content"];
        assert!(content["application/json"].is_object(), "{path}");
        assert_eq!(
            content["application/x-ndjson"]["schema"]["type"], "string",
            "{path}"
        );
    }
}

#[tokio::test]
async fn an_export_needs_a_day_and_a_bucket() {
    let app = app();
    for day in ["2026-02-30", "yesterday", "2026-1-1"] {
        let path = format!("/v1/exports/results?day={day}");
        let (status, body) = call(&app, request("POST", &path, "", Some(TOKEN))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{day}: {body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains("day"),
            "{body}"
        );
    }
    let (status, body) = call(
        &app,
        request(
            "POST",
            "/v1/exports/results?day=2026-11-30",
            "",
            Some(TOKEN),
        ),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "no bucket here: {body}"
    );
    let (status, _) = call(&app, request("POST", "/v1/exports/results", "", Some(READ))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an admin route");
}

#[tokio::test]
async fn a_window_past_lambdas_answer_limit_ends_with_where_to_go_on() {
    let app = app();
    let more: Vec<Value> = (0..20)
        .map(|i| {
            json!({"id": format!("bulk-{i:02}"), "group": "bulk", "kind": "server",
            "url": "http://127.0.0.1:9/"})
        })
        .collect();
    let (status, _) = call(
        &app,
        request("POST", "/v1/targets", &json!(more).to_string(), Some(TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let now = with_hours(&app, 30).await;
    let q = window(now, 30);
    let (status, _, _, first) = jsonl(&app, &format!("/v1/results?{q}&format=jsonl")).await;
    assert_eq!(status, StatusCode::OK);
    let last = first.last().unwrap();
    let next = last["truncated"]["next_since"]
        .as_str()
        .unwrap_or_else(|| panic!("the answer ends with a truncated line: {last}"));
    let sent = last["truncated"]["bytes"].as_u64().unwrap() as usize;
    assert!(sent <= 5 * 1024 * 1024 && sent > 4 * 1024 * 1024, "{sent}");
    let results = &first[..first.len() - 1];
    assert!(results.iter().all(|l| l.get("target").is_some()));
    // Going on from `next_since` gives the rest; the first line not sent is the first there.
    let until = lookout_core::time::rfc3339(now);
    let (_, _, _, rest) = jsonl(
        &app,
        &format!("/v1/results?since={next}&until={until}&format=jsonl"),
    )
    .await;
    assert!(rest.last().unwrap().get("truncated").is_none());
    let key = |l: &Value| (l["target"].to_string(), l["at"].to_string());
    let mut seen: std::collections::HashSet<_> = results.iter().map(key).collect();
    seen.extend(rest.iter().map(key));
    let all = json_pages(&app, "/v1/results", &q).await;
    assert_eq!(seen.len(), all.len());
}

//! The request log: one JSON line per request with the route template, never the path, the
//! query or the token.

use super::*;
use lookout_app::testing::logs::LogCapture;

/// The `request` lines of `logs`, parsed.
fn request_lines(logs: &LogCapture) -> Vec<Value> {
    logs.text()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("a JSON log line"))
        .filter(|l| l["fields"]["message"] == "request")
        .collect()
}

/// The list-targets event of API Gateway with another source address, a path parameter and a
/// query holding a secret.
fn gateway_event(path: &str, query: &str) -> Request {
    let text = std::fs::read_to_string(format!(
        "{}/../../events/api-list-targets.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut event: Value = serde_json::from_str(&text).unwrap();
    event["rawPath"] = json!(path);
    event["rawQueryString"] = json!(query);
    event["requestContext"]["http"]["path"] = json!(path);
    event["requestContext"]["http"]["sourceIp"] = json!("203.0.113.7");
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

#[tokio::test]
async fn each_request_is_one_json_line_with_route_status_latency_bytes_caller_and_source() {
    let app = app();
    let body =
        json!({"id": "web-1", "group": "api", "kind": "server", "url": "http://127.0.0.1:9/"});
    let (status, _) = call(
        &app,
        request("POST", "/v1/targets", &body.to_string(), Some(TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let logs = LogCapture::start_json(tracing::Level::INFO);
    let resp = handle(
        &app,
        gateway_event("/v1/targets/web-1", "token=query-secret-1"),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let lines = request_lines(&logs);
    assert_eq!(lines.len(), 1, "{}", logs.text());
    let f = &lines[0]["fields"];
    assert_eq!(f["request_id"], "c6af9ac6-7b61-11e6-9a41-93e8deadbeef");
    assert_eq!(
        resp.headers()["x-request-id"],
        "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    );
    assert_eq!(f["method"], "GET");
    assert_eq!(f["route"], "/v1/targets/{id}");
    assert_eq!(f["status"], 200);
    assert!(f["latency_ms"].as_f64().unwrap() >= 0.0, "{f}");
    assert_eq!(f["bytes"], resp.body().len());
    assert_eq!(f["caller"], "admin");
    assert!(
        f["caller_id"].as_str().unwrap().starts_with("sha256:"),
        "{f}"
    );
    assert_eq!(f["source_ip"], "203.0.113.7");
    let text = logs.text();
    for secret in [TOKEN, "query-secret-1", "web-1"] {
        assert!(!text.contains(secret), "the log holds {secret}: {text}");
    }
}

#[tokio::test]
async fn refused_and_unrouted_requests_are_logged_without_their_path_or_token() {
    let app = app();
    let logs = LogCapture::start_json(tracing::Level::INFO);
    let mut req = request("GET", "/v1/targets", "", Some("wrong-token-2"));
    req.headers_mut()
        .insert("x-request-id", "caller-id.1_a".parse().unwrap());
    let resp = handle(&app, req).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(resp.headers()["x-request-id"], "caller-id.1_a");
    let mut req = request("GET", "/v1/nothing/secret-in-path-3", "", None);
    req.headers_mut()
        .insert("x-request-id", "bad id\"".parse().unwrap());
    let unrouted = handle(&app, req).await;
    assert_eq!(unrouted.status(), StatusCode::NOT_FOUND);
    let lines = request_lines(&logs);
    assert_eq!(lines.len(), 2, "{}", logs.text());
    let (refused, missing) = (&lines[0]["fields"], &lines[1]["fields"]);
    assert_eq!(refused["status"], 401);
    assert_eq!(refused["route"], "/v1/targets");
    assert_eq!(refused["caller"], "anonymous");
    assert!(refused.get("caller_id").is_none(), "{refused}");
    assert!(refused.get("source_ip").is_none(), "{refused}");
    assert_eq!(missing["status"], 404);
    assert!(missing.get("route").is_none(), "{missing}");
    // A caller's id that is not plain is replaced by a new one (a UUID), logged and answered.
    let id = missing["request_id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    assert_eq!(unrouted.headers()["x-request-id"], id);
    let text = logs.text();
    for secret in ["wrong-token-2", "secret-in-path-3", "bad id"] {
        assert!(!text.contains(secret), "the log holds {secret}: {text}");
    }
}

//! The TCP, TLS, DNS and heartbeat kinds through the API (issue 21): created through
//! `POST /v1/targets`, refused with the field named, filtered by `kind` in the listings, the
//! status rows' `check_kind`, and what a target's page says is checked (escaped).

use super::*;

const HOSTILE: &str = "<script>alert(1)</script>\" onmouseover=\"x &amp;";

/// One definition of each new kind.
fn definitions() -> Vec<Value> {
    vec![
        json!({"id": "redis", "kind": "tcp", "group": "data", "host": "127.0.0.1", "port": 6379,
               "send": "AUTH s3cret-pass\r\nPING\r\n", "expect_prefix": "+OK"}),
        json!({"id": "smtp", "kind": "tls", "group": "mail", "host": "mail.example.com",
               "port": 587, "starttls": "smtp", "name": HOSTILE}),
        json!({"id": "mx", "kind": "dns", "group": "mail", "query_name": "example.com",
               "record_type": "MX", "resolver": "[::1]:5353", "expect_count": {"min": 1}}),
        json!({"id": "backup", "kind": "heartbeat", "group": "jobs", "period_s": 86400,
               "grace_s": 1800}),
        json!({"id": "web", "kind": "server", "group": "web", "url": "http://127.0.0.1:9/"}),
    ]
}

async fn seeded() -> Arc<App<MemoryStore>> {
    let app = app();
    let (status, body) = call(
        &app,
        request(
            "POST",
            "/v1/targets",
            &json!({"targets": definitions()}).to_string(),
            Some(TOKEN),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let kinds: Vec<&str> = body["created"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["tcp", "tls", "dns", "heartbeat", "server"]);
    // The TCP conversation is a secret: masked in the answer.
    assert_eq!(body["created"][0]["send"], "***");
    assert!(!body.to_string().contains("s3cret-pass"));
    app
}

fn ids(body: &Value, list: &str) -> Vec<String> {
    body[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn each_new_kind_is_created_and_refused_with_the_field_named() {
    let app = seeded().await;
    let (status, body) = call(&app, request("GET", "/v1/targets/mx", "", Some(READ))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["target"]["record_type"], "MX");
    assert_eq!(body["target"]["failure_threshold"], 3);
    let (_, body) = call(&app, request("GET", "/v1/targets/backup", "", Some(READ))).await;
    assert_eq!(
        body["target"]["failure_threshold"], 1,
        "a heartbeat is late once"
    );
    let cases = [
        (
            json!({"id": "a", "kind": "tcp", "group": "g", "host": "x", "port": 0}),
            "port",
        ),
        (
            json!({"id": "a", "kind": "tcp", "group": "g", "host": "http://x", "port": 1}),
            "host",
        ),
        (
            json!({"id": "a", "kind": "tcp", "group": "g", "host": "x", "port": 1, "expect_regex": "("}),
            "expect_regex",
        ),
        (
            json!({"id": "a", "kind": "tls", "group": "g", "host": "x", "port": 1, "starttls": "ftp"}),
            "starttls",
        ),
        (
            json!({"id": "a", "kind": "dns", "group": "g", "query_name": "a", "record_type": "SRV", "resolver": "10.0.0.2"}),
            "record_type",
        ),
        (
            json!({"id": "a", "kind": "dns", "group": "g", "query_name": "a", "record_type": "A", "resolver": "ns.example"}),
            "resolver",
        ),
        (
            json!({"id": "a", "kind": "heartbeat", "group": "g", "period_s": 10}),
            "period_s",
        ),
        (
            json!({"id": "a", "kind": "heartbeat", "group": "g", "period_s": 60, "token": "short"}),
            "token",
        ),
        (
            json!({"id": "a", "kind": "heartbeat", "group": "g", "period_s": 60, "url": "http://x/"}),
            "url",
        ),
    ];
    for (definition, field) in cases {
        let (status, body) = call(
            &app,
            request("POST", "/v1/targets", &definition.to_string(), Some(TOKEN)),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{definition}: {body}"
        );
        assert_eq!(body["error"]["field"], field, "{definition}: {body}");
    }
    // A short token is never echoed back in the refusal.
    let (_, body) = call(
        &app,
        request(
            "POST",
            "/v1/targets",
            &json!({"id": "a", "kind": "heartbeat", "group": "g", "period_s": 60,
                    "token": "tiny-secret"})
            .to_string(),
            Some(TOKEN),
        ),
    )
    .await;
    assert!(!body.to_string().contains("tiny-secret"), "{body}");
    // In a list, the entry is named too.
    let (status, body) = call(
        &app,
        request(
            "POST",
            "/v1/targets",
            &json!([{"id": "b", "kind": "dns", "group": "g", "query_name": "a..b",
                     "record_type": "A", "resolver": "10.0.0.2"}])
            .to_string(),
            Some(TOKEN),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "targets[0].query_name");
    // The kind of a definition cannot change through a target file either.
    let (status, body) = call(
        &app,
        request(
            "PUT",
            "/v1/targets",
            &json!([{"id": "redis", "kind": "tls", "group": "data", "host": "127.0.0.1",
                     "port": 6379}])
            .to_string(),
            Some(TOKEN),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

#[tokio::test]
async fn kind_filters_the_listings_by_run_or_by_the_definitions_kind() {
    let app = seeded().await;
    let listed = |q: &'static str| {
        let app = app.clone();
        async move {
            let (status, body) = call(
                &app,
                request("GET", &format!("/v1/targets?kind={q}"), "", Some(READ)),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{q}: {body}");
            ids(&body, "targets")
        }
    };
    assert_eq!(listed("tcp").await, ["redis"]);
    assert_eq!(listed("tls").await, ["smtp"]);
    assert_eq!(listed("dns").await, ["mx"]);
    assert_eq!(listed("heartbeat").await, ["backup"]);
    // `server` is the server run: every kind but proxies.
    assert_eq!(
        listed("server").await,
        ["backup", "mx", "redis", "smtp", "web"]
    );
    assert!(listed("proxy").await.is_empty());
    // The status: rows carry the run (`kind`) and the definition's kind (`check_kind`).
    let (status, body) = call(&app, request("GET", "/v1/status", "", None)).await;
    assert_eq!(status, StatusCode::OK);
    for row in body["targets"].as_array().unwrap() {
        assert_eq!(row["kind"], "server", "{row}");
    }
    let by_id = |id: &str| {
        body["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()["check_kind"]
            .clone()
    };
    assert_eq!(by_id("redis"), "tcp");
    assert_eq!(by_id("web"), "server");
    let (_, body) = call(&app, request("GET", "/v1/status?kind=dns", "", None)).await;
    assert_eq!(ids(&body, "targets"), ["mx"]);
    // `limit` and the cursor count the rows kept.
    let (_, first) = call(
        &app,
        request(
            "GET",
            "/v1/status?kind=server&limit=2&fields=check_kind",
            "",
            None,
        ),
    )
    .await;
    assert_eq!(ids(&first, "targets"), ["backup", "mx"]);
    assert_eq!(
        first["targets"][0],
        json!({"id": "backup", "check_kind": "heartbeat"})
    );
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, rest) = call(
        &app,
        request(
            "GET",
            &format!("/v1/status?kind=server&limit=2&cursor={cursor}"),
            "",
            None,
        ),
    )
    .await;
    assert_eq!(ids(&rest, "targets"), ["redis", "smtp"]);
    let (_, tls) = call(
        &app,
        request("GET", "/v1/status?kind=tls&limit=1", "", None),
    )
    .await;
    assert_eq!(ids(&tls, "targets"), ["smtp"]);
    assert!(tls["next_cursor"].is_null(), "{tls}");
    // A cached answer of another kind is not served.
    let (_, again) = call(&app, request("GET", "/v1/status?kind=tcp", "", None)).await;
    assert_eq!(ids(&again, "targets"), ["redis"]);
    for bad in ["/v1/status?kind=icmp", "/v1/targets?kind=http"] {
        let (status, body) = call(&app, request("GET", bad, "", Some(READ))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("kind"));
    }
}

async fn page(app: &Arc<App<MemoryStore>>, path: &str) -> String {
    let resp = handle(app, request("GET", path, "", None)).await;
    assert_eq!(resp.status(), StatusCode::OK, "{path}");
    String::from_utf8(resp.body().to_vec()).unwrap()
}

#[tokio::test]
async fn a_targets_page_says_what_is_checked_escaped_and_in_the_readers_language() {
    let app = seeded().await;
    let tls = page(&app, "/targets/smtp").await;
    assert!(tls.contains("What is checked"), "{tls}");
    assert!(tls.contains("mail.example.com:587"));
    assert!(
        tls.contains("<td><bdi dir=\"ltr\">SMTP</bdi></td>"),
        "{tls}"
    );
    assert!(!tls.contains("<script>alert(1)"), "the name is escaped");
    assert!(tls.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    let tcp = page(&app, "/targets/redis").await;
    assert!(tcp.contains("127.0.0.1:6379") && tcp.contains("TCP port"));
    assert!(
        !tcp.contains("s3cret-pass") && !tcp.contains("+OK"),
        "no conversation"
    );
    let dns = page(&app, "/targets/mx?lang=ar").await;
    for text in [
        "ما الذي يُفحص",
        "example.com",
        "MX",
        "[::1]:5353",
        "dir=\"rtl\"",
    ] {
        assert!(dns.contains(text), "{text}");
    }
    // A heartbeat: its period, grace and last pings (never a ping's message or body).
    let hb = page(&app, "/targets/backup?lang=fa").await;
    assert!(hb.contains("1 روز") && hb.contains("30 دقیقه"), "{hb}");
    assert!(hb.contains("هنوز ضربانی نرسیده"), "no ping yet");
    use lookout_app::ports::HeartbeatStore as _;
    let ping = |status, exit_code, at| lookout_core::domain::heartbeat::Ping {
        at,
        status,
        exit_code,
        message: Some(HOSTILE.into()),
        body: Some("the job's secret output".into()),
    };
    use lookout_core::domain::heartbeat::PingStatus;
    let at = 1_795_269_600_000;
    app.store
        .record_ping("backup", ping(PingStatus::Start, None, at))
        .await
        .unwrap();
    app.store
        .record_ping("backup", ping(PingStatus::Fail, Some(3), at + 60_000))
        .await
        .unwrap();
    let hb = page(&app, "/targets/backup").await;
    let pings = &hb[hb.find("id=\"pings\"").expect("the pings table")..];
    let failed = pings.find("Failure").unwrap();
    assert!(failed < pings.find("Started").unwrap(), "newest first");
    assert!(pings.contains("exit code 3") && pings.contains("2026-11-21 14:01:00"));
    assert!(!hb.contains("secret output") && !hb.contains("onmouseover"));
    // HTTP servers keep showing no URL and no such section.
    let web = page(&app, "/targets/web").await;
    assert!(!web.contains("What is checked") && !web.contains("127.0.0.1:9"));
}

#[tokio::test]
async fn results_filter_by_the_definitions_kind_too() {
    let app = seeded().await;
    with_history(&app).await;
    let targets_of = |body: &Value| {
        let mut ids: Vec<String> = body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["target_id"].as_str().unwrap().to_string())
            .collect();
        ids.dedup();
        ids
    };
    let (status, body) = call(&app, request("GET", "/v1/results?kind=tcp", "", Some(READ))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["results"].as_array().unwrap().len(), 2);
    assert_eq!(targets_of(&body), ["redis"]);
    let (_, body) = call(
        &app,
        request("GET", "/v1/results?kind=server", "", Some(READ)),
    )
    .await;
    assert_eq!(
        body["results"].as_array().unwrap().len(),
        10,
        "every kind of the server run"
    );
    let resp = handle(
        &app,
        request(
            "GET",
            "/v1/results?kind=heartbeat&format=jsonl",
            "",
            Some(READ),
        ),
    )
    .await;
    let text = String::from_utf8(resp.body().to_vec()).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.lines().all(|l| l.contains("\"target_id\":\"backup\"")));
    let (status, _) = call(
        &app,
        request("GET", "/v1/results?kind=icmp", "", Some(READ)),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

//! Incidents and subscriptions in the API (issue 18), against the memory store.

use super::*;

const HOSTILE: &str = "<script>alert(1)</script>\" onmouseover=\"x &amp;";

async fn with_target(app: &Arc<App<MemoryStore>>, id: &str, name: &str) {
    let body = json!({"id": id, "name": name, "kind": "server", "group": "g",
        "url": "http://127.0.0.1:18080/health"});
    let (status, body) = call(
        app,
        request("POST", "/v1/targets", &body.to_string(), Some(TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

async fn post_incident(app: &Arc<App<MemoryStore>>, body: Value) -> (StatusCode, Value) {
    call(
        app,
        request("POST", "/v1/incidents", &body.to_string(), Some(TOKEN)),
    )
    .await
}

#[tokio::test]
async fn an_operator_posts_updates_resolves_and_deletes_an_incident() {
    let app = app();
    with_target(&app, "web", HOSTILE).await;
    let req = request(
        "POST",
        "/v1/incidents",
        &json!({"title": HOSTILE, "targets": ["web"], "body": "looking"}).to_string(),
        Some(TOKEN),
    );
    let resp = handle(&app, req).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let body: Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
    let inc = &body["incident"];
    let id = inc["id"].as_str().unwrap().to_string();
    assert_eq!(location, format!("/v1/incidents/{id}"));
    assert!(id.starts_with("inc-") && id.len() == 20, "{id}");
    assert_eq!(inc["title"], HOSTILE, "kept as text");
    assert_eq!(inc["targets"][0]["name"], HOSTILE);
    assert_eq!(inc["source"], "operator");
    assert_eq!(inc["status"], "investigating");
    assert_eq!(inc["version"], 1);

    // Public reads need no token.
    let (status, one) = call(&app, request("GET", &location, "", None)).await;
    assert_eq!(
        (status, &one["incident"]["id"]),
        (StatusCode::OK, &json!(id))
    );

    let patch = json!({"version": 1, "status": "identified"}).to_string();
    let (status, body) = call(&app, request("PATCH", &location, &patch, Some(TOKEN))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["incident"]["updates"].as_array().unwrap().len(), 2);
    // The same version again is stale.
    let (status, body) = call(&app, request("PATCH", &location, &patch, Some(TOKEN))).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );

    let patch = json!({"update": {"status": "resolved", "body": "fixed"}, "postmortem": "disk"});
    let (status, body) = call(
        &app,
        request("PATCH", &location, &patch.to_string(), Some(TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["incident"]["status"], "resolved");
    assert!(body["incident"]["resolved_at"].is_i64());

    let (_, open) = call(&app, request("GET", "/v1/incidents?status=open", "", None)).await;
    assert_eq!(open["incidents"], json!([]));
    let (_, closed) = call(
        &app,
        request("GET", "/v1/incidents?status=closed", "", None),
    )
    .await;
    assert_eq!(closed["incidents"][0]["id"], json!(id));

    let resp = handle(&app, request("DELETE", &location, "", Some(TOKEN))).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let (status, _) = call(&app, request("DELETE", &location, "", Some(TOKEN))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&app, request("GET", &location, "", None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn writes_need_the_admin_token() {
    let app = app();
    for (method, path) in [
        ("POST", "/v1/incidents"),
        ("PATCH", "/v1/incidents/inc-1"),
        ("DELETE", "/v1/incidents/inc-1"),
    ] {
        let (status, _) = call(&app, request(method, path, "{\"title\":\"x\"}", None)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
        let (status, _) = call(&app, request(method, path, "{\"title\":\"x\"}", Some(READ))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}");
    }
}

#[tokio::test]
async fn a_bad_incident_is_a_4xx_naming_the_field() {
    let app = app();
    with_target(&app, "web", "Web").await;
    let cases = [
        (json!({"targets": ["web"]}), "title"),
        (json!({"title": "x", "targets": ["nope"]}), "targets[0]"),
        (
            json!({"title": "x", "targets": ["web", "web"]}),
            "targets[1]",
        ),
        (json!({"title": "x", "status": "completed"}), "status"),
        (
            json!({"title": "x", "kind": "maintenance", "starts_at": "2026-12-02T01:00:00Z"}),
            "ends_at",
        ),
        (json!({"title": "x", "kind": "outage"}), "kind"),
        (json!({"title": 7}), "title"),
    ];
    for (body, field) in cases {
        let (status, answer) = post_incident(&app, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
    }
    let (status, answer) = call(
        &app,
        request("POST", "/v1/incidents", "{not json", Some(TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");

    let (_, created) = post_incident(&app, json!({"title": "x"})).await;
    let path = format!(
        "/v1/incidents/{}",
        created["incident"]["id"].as_str().unwrap()
    );
    for (body, field) in [
        (json!({"version": "one"}), "version"),
        (json!({"update": {"status": "scheduled"}}), "update.status"),
        (json!({"targets": ["nope"]}), "targets[0]"),
        (json!({"colour": "red"}), "colour"),
    ] {
        let (status, answer) = call(
            &app,
            request("PATCH", &path, &body.to_string(), Some(TOKEN)),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
    }
    let (status, _) = call(
        &app,
        request("PATCH", "/v1/incidents/inc-none", "{}", Some(TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // An id that cannot name an incident (too long for a sort key, or upper case and a
    // space) is a 404, not a storage error.
    let long = format!("/v1/incidents/{}", "x".repeat(2_000));
    for (method, path) in [
        ("GET", long.as_str()),
        ("DELETE", long.as_str()),
        ("PATCH", long.as_str()),
        ("GET", "/v1/incidents/A%20B"),
    ] {
        let (status, _) = call(&app, request(method, path, "{}", Some(TOKEN))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
    }
}

#[tokio::test]
async fn the_listing_is_newest_first_within_at_most_90_days() {
    let app = app();
    let (_, a) = post_incident(&app, json!({"title": "first"})).await;
    let (_, b) = post_incident(&app, json!({"title": "second"})).await;
    let (status, list) = call(&app, request("GET", "/v1/incidents", "", None)).await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&Value> = list["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["id"])
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&&a["incident"]["id"]) && ids.contains(&&b["incident"]["id"]));
    let (_, old) = call(
        &app,
        request(
            "GET",
            "/v1/incidents?since=2020-01-01T00:00:00Z&until=2020-02-01T00:00:00Z",
            "",
            None,
        ),
    )
    .await;
    assert_eq!(old["incidents"], json!([]));
    for query in [
        "since=yesterday",
        "until=2026-13-01T00:00:00Z",
        "since=2020-01-01T00:00:00Z&until=2020-06-01T00:00:00Z",
        "since=2020-02-01T00:00:00Z&until=2020-01-01T00:00:00Z",
        "status=pending",
    ] {
        let (status, answer) = call(
            &app,
            request("GET", &format!("/v1/incidents?{query}"), "", None),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {answer}");
    }
}

#[tokio::test]
async fn a_subscription_without_a_topic_is_503_and_a_bad_address_422() {
    let app = app();
    let (status, body) = call(
        &app,
        request(
            "POST",
            "/v1/subscriptions",
            &json!({"email": "a@example.com"}).to_string(),
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "unavailable");
    for bad in [
        json!({"email": HOSTILE}),
        json!({"email": "nobody"}),
        json!({"email": 5}),
        json!({}),
        json!(["a@example.com"]),
    ] {
        let (status, body) = call(
            &app,
            request("POST", "/v1/subscriptions", &bad.to_string(), None),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(body["error"]["field"], "email", "{bad}: {body}");
        assert!(!body.to_string().contains("<script>"), "{body}");
    }
}

#[tokio::test]
async fn the_listing_and_the_feed_are_kept_a_minute_and_emptied_by_this_instances_writes() {
    use lookout_app::ports::IncidentStore as _;
    let app = app();
    let (_, a) = post_incident(&app, json!({"title": "first"})).await;
    let ids = |v: &Value| -> Vec<String> {
        v["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let feed = |app: &Arc<App<MemoryStore>>| {
        let app = app.clone();
        async move {
            let resp = handle(&app, request("GET", "/feed.atom", "", None)).await;
            assert_eq!(resp.status(), StatusCode::OK);
            String::from_utf8(resp.body().to_vec()).unwrap()
        }
    };
    let (_, list) = call(&app, request("GET", "/v1/incidents", "", None)).await;
    assert_eq!(ids(&list), [a["incident"]["id"].as_str().unwrap()]);
    // Written elsewhere (a probe run, another instance): not shown while the list is kept.
    let mut other = a["incident"].clone();
    other["id"] = json!("inc-00000000000000ff");
    other["title"] = json!("written elsewhere");
    let other: lookout_core::domain::incident::Incident = serde_json::from_value(other).unwrap();
    app.store.put_incident(&other).await.unwrap();
    let (_, list) = call(&app, request("GET", "/v1/incidents", "", None)).await;
    assert_eq!(ids(&list).len(), 1, "{list}");
    assert!(!feed(&app).await.contains("written elsewhere"));
    // This instance's write empties it: both show, in the listing and the feed.
    let (_, b) = post_incident(&app, json!({"title": "second"})).await;
    let (_, list) = call(&app, request("GET", "/v1/incidents", "", None)).await;
    assert_eq!(ids(&list).len(), 3, "{list}");
    assert!(feed(&app).await.contains("written elsewhere"));
    // A patch and a delete empty it too.
    let id = b["incident"]["id"].as_str().unwrap();
    let patch = json!({"update": {"status": "resolved"}}).to_string();
    let (status, _) = call(
        &app,
        request("PATCH", &format!("/v1/incidents/{id}"), &patch, Some(TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, closed) = call(
        &app,
        request("GET", "/v1/incidents?status=closed", "", None),
    )
    .await;
    assert_eq!(ids(&closed), [id]);
    let resp = handle(
        &app,
        request("DELETE", &format!("/v1/incidents/{id}"), "", Some(TOKEN)),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let (_, list) = call(&app, request("GET", "/v1/incidents", "", None)).await;
    assert_eq!(ids(&list).len(), 2, "{list}");
}

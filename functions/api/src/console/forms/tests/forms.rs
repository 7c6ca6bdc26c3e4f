//! Creating and editing through the form.

use lambda_http::http::StatusCode;
use lookout_app::ports::TargetStore as _;
use serde_json::{json, Value};

use super::{api, create, field_div, form_fields, submit_all, with};
use crate::console::forms::fields;
use crate::console::testkit::{app, Browser, ADMIN};

#[tokio::test]
async fn each_kind_is_created_through_its_form() {
    let mut b = Browser::signed_in(app(), ADMIN).await;
    let pick = b.get("/console/targets/new").await;
    for kind in fields::KINDS {
        assert!(
            pick.body.contains(&format!("data-kind=\"{kind}\"")),
            "{kind}"
        );
    }
    for kind in ["server", "proxy", "tcp", "tls", "dns"] {
        let id = format!("{kind}-1");
        let p = create(&mut b, kind, &id).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{kind}: {}", p.body);
        assert_eq!(
            p.location.as_deref(),
            Some(format!("/console/targets/{id}?done=created").as_str())
        );
        let (status, t) = api(&b, "GET", &format!("/v1/targets/{id}"), None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(t["target"]["kind"], kind);
        assert_eq!(t["target"]["enabled"], true);
    }
    let stored = b.app.store.get_target("proxy-1").await.unwrap().unwrap();
    assert_eq!(
        stored.proxy().unwrap().proxy_url,
        "http://user:pw-secret@127.0.0.1:3128"
    );
    assert_eq!(stored.proxy().unwrap().test_urls.len(), 2);
    let (_, t) = api(&b, "GET", "/v1/targets/server-1", None).await;
    assert_eq!(t["target"]["headers"]["Accept"], "text/plain");
    let (_, t) = api(&b, "GET", "/v1/targets/dns-1", None).await;
    assert_eq!(t["target"]["expect_contains"], json!(["192.0.2.1"]));
    // A heartbeat's push URL is shown once, on a page.
    let p = create(&mut b, "heartbeat", "cron-1").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(
        p.body.contains("http://127.0.0.1:9000/v1/push/"),
        "{}",
        p.body
    );
    assert!(p.body.contains("/console/targets/cron-1?done=created"));
}

#[tokio::test]
async fn a_refused_form_is_422_with_the_message_at_the_field_and_the_input_kept() {
    let mut b = Browser::signed_in(app(), ADMIN).await;
    b.get("/console/targets/new?kind=server").await;
    let p = b
        .submit(
            "/console/targets/new",
            &[
                ("kind", "server"),
                ("id", "web"),
                ("group", "g"),
                ("url", "ftp://files.example/<x>"),
                ("name", "Web <b>"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.body);
    let url = field_div(&p, "url");
    assert!(url.contains("class=\"field bad\""), "{url}");
    assert!(url.contains("<p class=\"field-error\""), "{url}");
    assert!(
        url.contains("value=\"ftp://files.example/&#60;x&#62;\""),
        "{url}"
    );
    assert!(field_div(&p, "name").contains("value=\"Web &#60;b&#62;\""));
    assert!(!field_div(&p, "group").contains("field-error"));
    // A priority out of range, a nested field, a field of the form's own reading.
    let p = b
        .submit(
            "/console/targets/new",
            &[
                ("kind", "server"),
                ("id", "web"),
                ("group", "g"),
                ("url", "http://127.0.0.1:9/"),
                ("priority", "-3"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        field_div(&p, "priority").contains("field-error"),
        "{}",
        p.body
    );
    let p = b
        .submit(
            "/console/targets/new",
            &[
                ("kind", "dns"),
                ("id", "d"),
                ("group", "g"),
                ("query_name", "example.com"),
                ("record_type", "A"),
                ("resolver", "127.0.0.1"),
                ("expect_count", "{\"min\": 3, \"max\": 1}"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        field_div(&p, "expect_count").contains("must be at most max"),
        "{}",
        p.body
    );
    let p = b
        .submit(
            "/console/targets/new",
            &[
                ("kind", "server"),
                ("id", "web"),
                ("group", "g"),
                ("url", "http://127.0.0.1:9/"),
                ("headers", "no colon here"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field_div(&p, "headers").contains("field-error"));
    // An existing id is the id's error; a field no input holds goes on top.
    create(&mut b, "server", "taken").await;
    let p = create(&mut b, "server", "taken").await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field_div(&p, "id").contains("exists"), "{}", p.body);
    let p = b
        .submit(
            "/console/targets/new",
            &[
                ("kind", "server"),
                ("id", "web"),
                ("group", "g"),
                ("url", "http://127.0.0.1:9/"),
                ("_other", "{\"treshold\": 1}"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("<p class=\"form-error\""), "{}", p.body);
    assert!(p.body.contains("treshold"));
}

#[tokio::test]
async fn an_edit_keeps_the_masked_secrets_and_changes_a_field() {
    let mut b = Browser::signed_in(app(), ADMIN).await;
    create(&mut b, "proxy", "px").await;
    create(&mut b, "server", "web").await;
    create(&mut b, "tcp", "redis").await;
    for (id, secret) in [
        ("px", "pw-secret"),
        ("web", "k-secret"),
        ("redis", "s3cret"),
    ] {
        let form = b.get(&format!("/console/targets/{id}/edit")).await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        assert!(
            !form.body.contains(secret),
            "{id}: the secret is in the form"
        );
        assert!(form.body.contains("***"), "{id}");
        assert!(form.body.contains("name=\"version\" value=\"1\""));
        let fields = with(form_fields(&form), "name", "Renamed <i>");
        let p = submit_all(&mut b, &format!("/console/targets/{id}/edit"), &fields).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{id}: {}", p.body);
        assert_eq!(
            p.location.as_deref(),
            Some(format!("/console/targets/{id}?done=saved").as_str())
        );
        let t = b.app.store.get_target(id).await.unwrap().unwrap();
        assert_eq!(t.name, "Renamed <i>");
        assert_eq!(t.version, 2);
        assert!(
            serde_json::to_string(&t).unwrap().contains(secret),
            "{id} lost its secret"
        );
    }
    // A header the form drops is gone; a field emptied goes back to its default.
    let form = b.get("/console/targets/web/edit").await;
    let fields = with(
        with(form_fields(&form), "headers", "X-Api-Key: ***"),
        "name",
        "",
    );
    let p = submit_all(&mut b, "/console/targets/web/edit", &fields).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let t = b.app.store.get_target("web").await.unwrap().unwrap();
    let server = match &t.check {
        lookout_core::domain::target::Check::Server(s) => s.clone(),
        _ => unreachable!(),
    };
    assert_eq!(server.headers.len(), 1);
    assert_eq!(server.headers["X-Api-Key"], "k-secret");
    assert_eq!(t.name, "web", "the name defaults to the id");
}

#[tokio::test]
async fn a_stale_edit_shows_the_apis_conflict_and_keeps_the_input() {
    let mut b = Browser::signed_in(app(), ADMIN).await;
    create(&mut b, "server", "web").await;
    let form = b.get("/console/targets/web/edit").await;
    let (s, _) = api(
        &b,
        "PATCH",
        "/v1/targets/web",
        Some(json!({"version": 1, "interval_s": 30})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let fields = with(form_fields(&form), "group", "mine");
    let p = submit_all(&mut b, "/console/targets/web/edit", &fields).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.body);
    assert!(p.body.contains("<p class=\"form-error\""));
    assert!(p.body.contains("read it again"), "{}", p.body);
    assert!(field_div(&p, "group").contains("value=\"mine\""));
    assert_eq!(
        b.app.store.get_target("web").await.unwrap().unwrap().group,
        "g"
    );
}

/// A definition of `kind` with every field of the table set (but `ca_pem`, which needs a real
/// certificate, and a heartbeat's `token_sha256`, which its `token` sets).
fn full(kind: &str) -> Value {
    let mut def = json!({"id": format!("full-{kind}"), "name": "Full", "group": "g", "kind": kind,
        "enabled": false, "interval_s": 60, "timeout_ms": 5000, "connect_timeout_ms": 1000,
        "retries": 2, "backoff_ms": 100, "failure_threshold": 2, "recovery_threshold": 2,
        "degraded_latency_ms": 1500, "tags": ["a", "b"], "priority": 5,
        "maintenance": [{"days": ["sat"], "from": "22:00", "to": "02:00", "tz": "Europe/Berlin"}],
        "reminder_every_min": 30, "flap_detection": false, "locations": ["home", "eu"],
        "quorum": {"count": 1}});
    let own = match kind {
        "server" => json!({"url": "http://127.0.0.1:9/h?token=t0p", "method": "POST",
            "headers": {"Authorization": "Bearer s3cret", "Accept": "text/plain", "X-Custom": "c"},
            "secret_headers": ["X-Custom"], "body": "{\"a\": 1}", "expected_status": [200, "300-302"],
            "body_contains": "ok", "body_not_contains": "maint", "json_pointer": "/status",
            "json_equals": {"ok": true}, "max_body_bytes": 1000, "follow_redirects": true,
            "cert_expiry_warn_days": 7}),
        "proxy" => json!({"proxy_url": "socks5://u:pw@127.0.0.1:1080", "proxy_type": "residential",
            "cost_per_gb": 2.5, "test_urls": ["http://127.0.0.1:9/a"], "accept_status": [200],
            "block_status": [403, 451], "traffic_alert_gb": 1.5, "expect_body": "marker"}),
        "tcp" => json!({"host": "127.0.0.1", "port": 6379, "send": "AUTH pw\r\nPING\r\n",
            "expect_prefix": "+OK", "expect_regex": "^\\+OK"}),
        "tls" => json!({"host": "127.0.0.1", "port": 587, "server_name": "mail.example.com",
            "starttls": "smtp", "cert_expiry_warn_days": 20}),
        "dns" => {
            json!({"query_name": "example.com", "record_type": "MX", "resolver": "127.0.0.1:53",
            "transport": "tcp", "expect_contains": ["10 mx.example.com"],
            "expect_equals": ["10 mx.example.com", "20 mx2.example.com"],
            "expect_count": {"min": 1, "max": 2}})
        }
        _ => json!({"period_s": 3600, "grace_s": 600, "token": "a-push-token-of-32-characters-xx"}),
    };
    def.as_object_mut()
        .unwrap()
        .extend(own.as_object().unwrap().clone());
    def
}

#[tokio::test]
async fn an_untouched_edit_form_saves_every_field_of_every_kind_as_it_was() {
    let b0 = Browser::new(app());
    for kind in fields::KINDS {
        b0.create_target(full(kind)).await;
    }
    let mut b = Browser::signed_in(b0.app.clone(), ADMIN).await;
    for kind in fields::KINDS {
        let id = format!("full-{kind}");
        let before = b.app.store.get_target(&id).await.unwrap().unwrap();
        let form = b.get(&format!("/console/targets/{id}/edit")).await;
        assert_eq!(
            field_div(&form, "_other").matches("{").count(),
            0,
            "{kind}: the table knows every field"
        );
        let p = submit_all(
            &mut b,
            &format!("/console/targets/{id}/edit"),
            &form_fields(&form),
        )
        .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{kind}: {}", p.body);
        let mut after = b.app.store.get_target(&id).await.unwrap().unwrap();
        after.version = before.version;
        assert_eq!(after, before, "{kind}");
    }
}

#[tokio::test]
async fn a_masked_value_edited_around_its_mask_is_refused_at_its_field_and_an_untouched_crlf_pem_is_kept(
) {
    let mut b = Browser::signed_in(app(), ADMIN).await;
    create(&mut b, "proxy", "px").await;
    let form = b.get("/console/targets/px/edit").await;
    let fields = form_fields(&form);
    let url = fields
        .iter()
        .find(|(k, _)| k == "proxy_url")
        .map(|(_, v)| v.clone())
        .unwrap();
    assert!(url.contains("***"), "{url}");
    // The port changed, the mask kept: the API would store `***` as the password.
    let fields = with(fields, "proxy_url", &url.replace(":3128", ":3129"));
    let p = submit_all(&mut b, "/console/targets/px/edit", &fields).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.body);
    assert!(
        field_div(&p, "proxy_url").contains("field-error"),
        "{}",
        field_div(&p, "proxy_url")
    );
    let t = b.app.store.get_target("px").await.unwrap().unwrap();
    assert_eq!(t.version, 1, "nothing written");
    assert!(serde_json::to_string(&t).unwrap().contains("pw-secret"));

    // A browser sends a textarea's line ends as CRLF: an untouched LF value is not rewritten.
    let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    let mut plain = Browser::signed_in(b.app.clone(), ADMIN).await;
    plain
        .create_target(serde_json::json!({"id": "tls1", "group": "g", "kind": "server", "url": "https://127.0.0.1:9/", "ca_pem": pem}))
        .await;
    let form = plain.get("/console/targets/tls1/edit").await;
    let fields: Vec<(String, String)> = form_fields(&form)
        .into_iter()
        .map(|(k, v)| (k, v.replace('\n', "\r\n")))
        .collect();
    let p = submit_all(&mut plain, "/console/targets/tls1/edit", &fields).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let t = plain.app.store.get_target("tls1").await.unwrap().unwrap();
    let stored = serde_json::to_value(&t).unwrap();
    assert_eq!(
        stored["ca_pem"].as_str(),
        Some(pem),
        "an untouched PEM keeps its LF line ends"
    );
}

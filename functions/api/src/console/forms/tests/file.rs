//! Import, export, the read token, hostile names.

use lambda_http::http::StatusCode;
use lookout_app::ports::TargetStore as _;
use serde_json::{json, Value};

use super::{create, form_fields, submit_all};
use crate::console::testkit::{app, Browser, ADMIN, READ};

#[tokio::test]
async fn import_takes_json_and_yaml_and_a_bad_file_names_the_field() {
    let mut b = Browser::signed_in(app(), ADMIN).await;
    let page = b.get("/console/import").await;
    assert!(page.body.contains("name=\"file\"") && page.body.contains("data-into=\"import-file\""));
    assert!(
        page.body.contains("prune=true"),
        "the page says what deletes"
    );
    let file =
        r#"{"targets":[{"id":"a","group":"g","kind":"server","url":"http://127.0.0.1:9/"}]}"#;
    let p = b
        .submit("/console/import", &[("file", file), ("mode", "create")])
        .await;
    assert_eq!(
        p.location.as_deref(),
        Some("/console/targets?done=imported"),
        "{}",
        p.body
    );
    let yaml =
        "targets:\n  - id: b\n    group: g\n    kind: server\n    url: http://127.0.0.1:9/b\n";
    let p = b
        .submit("/console/import", &[("file", yaml), ("mode", "create")])
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert!(b.app.store.get_target("b").await.unwrap().is_some());
    let bad = "- id: c\n  group: g\n  kind: server\n  url: http://127.0.0.1:9/\n- id: d\n  group: g\n  kind: server\n  url: gopher://x/\n";
    let p = b
        .submit("/console/import", &[("file", bad), ("mode", "apply")])
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        p.body.contains("<code dir=\"ltr\">targets[1].url</code>"),
        "{}",
        p.body
    );
    assert!(p.body.contains("gopher://x/"), "the file is kept");
    assert!(
        b.app.store.get_target("c").await.unwrap().is_none(),
        "nothing written"
    );
    // Apply without prune keeps what the file does not list; with prune it deletes it. Each
    // apply is first a preview (the API's dry run) that writes nothing.
    let p = b
        .submit("/console/import", &[("file", yaml), ("mode", "apply")])
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(
        p.body.contains("data-action=\"confirm-import\""),
        "{}",
        p.body
    );
    let p = b
        .submit(
            "/console/import",
            &[("file", yaml), ("mode", "apply"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(b.app.store.get_target("a").await.unwrap().is_some());
    let p = b
        .submit(
            "/console/import",
            &[("file", yaml), ("mode", "apply"), ("prune", "true")],
        )
        .await;
    assert_eq!(p.status, StatusCode::OK);
    let deleted = p.body.split("data-list=\"deleted\">").nth(1).unwrap();
    assert!(
        deleted[..deleted.find("</dd>").unwrap()].contains(">a<"),
        "the preview names the target prune deletes: {}",
        p.body
    );
    assert!(
        b.app.store.get_target("a").await.unwrap().is_some(),
        "the preview deletes nothing"
    );
    let p = b
        .submit(
            "/console/import",
            &[
                ("file", yaml),
                ("mode", "apply"),
                ("prune", "true"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(b.app.store.get_target("a").await.unwrap().is_none());
    // A new heartbeat's push URL is shown once.
    let hb = r#"[{"id":"job","group":"cron","kind":"heartbeat","period_s":3600}]"#;
    let p = b
        .submit("/console/import", &[("file", hb), ("mode", "create")])
        .await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("/v1/push/"), "{}", p.body);
}

#[tokio::test]
async fn the_export_is_a_file_that_imports_back_with_its_secrets_kept() {
    let mut b = Browser::signed_in(app(), ADMIN).await;
    create(&mut b, "proxy", "px").await;
    create(&mut b, "server", "web").await;
    create(&mut b, "heartbeat", "job").await;
    let json_file = b.get("/console/export?format=json").await;
    assert_eq!(json_file.status, StatusCode::OK);
    assert_eq!(
        json_file.headers["content-disposition"],
        "attachment; filename=\"lookout-targets.json\""
    );
    assert!(!json_file.body.contains("pw-secret") && !json_file.body.contains("k-secret"));
    let parsed: Value = serde_json::from_str(&json_file.body).unwrap();
    let ids: Vec<&str> = parsed["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["job", "px", "web"]);
    assert!(parsed["targets"][0].get("status").is_none());
    let before: Vec<_> = b.app.store.list_targets(None).await.unwrap();
    let p = b
        .submit(
            "/console/import",
            &[
                ("file", &json_file.body),
                ("mode", "apply"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(
        p.location.as_deref(),
        Some("/console/targets?done=imported"),
        "{}",
        p.body
    );
    let after: Vec<_> = b.app.store.list_targets(None).await.unwrap();
    assert_eq!(
        before, after,
        "the round trip changes nothing, secrets included"
    );
    let yaml = b.get("/console/export?format=yaml").await;
    assert_eq!(
        yaml.headers["content-disposition"],
        "attachment; filename=\"lookout-targets.yaml\""
    );
    let mut fresh = Browser::signed_in(app(), ADMIN).await;
    fresh.get("/console/import").await;
    let p = fresh
        .submit(
            "/console/import",
            &[("file", &yaml.body), ("mode", "create")],
        )
        .await;
    assert_eq!(
        p.status,
        StatusCode::OK,
        "a new heartbeat shows its push URL: {}",
        p.body
    );
    assert_eq!(fresh.app.store.list_targets(None).await.unwrap().len(), 3);
    let p = b.get("/console/export?format=xml").await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_read_token_sees_no_form_posts_nothing_and_may_export() {
    let b0 = Browser::new(app());
    b0.create_target(json!({"id":"web","group":"g","kind":"server","url":"http://127.0.0.1:9/"}))
        .await;
    let mut read = Browser::signed_in(b0.app.clone(), READ).await;
    for path in [
        "/console/targets/new?kind=server",
        "/console/targets/web/edit",
        "/console/targets/web/delete",
        "/console/import",
    ] {
        let p = read.get(path).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{path}");
        assert!(
            !p.body.contains("target-form")
                && !p.body.contains("delete-form")
                && !p.body.contains("name=\"file\""),
            "{path}"
        );
    }
    for path in [
        "/console/targets/new",
        "/console/targets/web/edit",
        "/console/targets/web/delete",
        "/console/targets/web/enable",
        "/console/targets/web/disable",
        "/console/targets/web/check",
        "/console/targets/web/actions/mark_down",
        "/console/import",
    ] {
        let p = read
            .submit(path, &[("kind", "server"), ("id", "x"), ("file", "[]")])
            .await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert!(
        b0.app
            .store
            .get_target("web")
            .await
            .unwrap()
            .unwrap()
            .enabled
    );
    let p = read.get("/console/export?format=yaml").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("id: web"));
}

#[tokio::test]
async fn a_hostile_name_stays_text_in_every_form_and_the_pages_speak_arabic_and_persian() {
    let b0 = Browser::new(app());
    b0.create_target(json!({"id":"evil","name":"\"><script>alert(1)</script>","group":"<g>","kind":"server","url":"http://127.0.0.1:9/"})).await;
    let mut b = Browser::signed_in(b0.app.clone(), ADMIN).await;
    for path in ["/console/targets/evil/edit", "/console/targets/evil/delete"] {
        let p = b.get(path).await;
        assert!(!p.body.contains("<script>alert"), "{path}");
        assert!(
            p.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
            "{path}"
        );
    }
    let form = b.get("/console/targets/evil/edit").await;
    let p = submit_all(&mut b, "/console/targets/evil/edit", &form_fields(&form)).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(
        b.app.store.get_target("evil").await.unwrap().unwrap().name,
        "\"><script>alert(1)</script>"
    );
    let ar = b.get("/console/targets/new?kind=proxy&lang=ar").await;
    assert!(ar.body.contains("dir=\"rtl\"") && ar.body.contains("رابط الوكيل"));
    let fa = b.get("/console/import?lang=fa").await;
    assert!(fa.body.contains("درون‌ریزی اهداف"));
}

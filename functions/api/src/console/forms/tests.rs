use std::collections::BTreeSet;

use lambda_http::http::StatusCode;
use lambda_http::Body;
use lookout_app::ports::TargetStore as _;
use lookout_app::testing::{closed_port, serve};
use serde_json::{json, Value};

use super::fields;
use crate::console::testkit::{app, Browser, Page, ADMIN, READ};

/// `GET path` of the API with the admin token: status and JSON.
async fn api(b: &Browser, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let req = lambda_http::http::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {ADMIN}"))
        .header("content-type", "application/json")
        .body(body.map_or(Body::Empty, |v| Body::Text(v.to_string())))
        .unwrap();
    let resp = crate::handle(&b.app, req).await;
    let status = resp.status();
    (
        status,
        serde_json::from_slice(resp.body().as_ref()).unwrap_or(Value::Null),
    )
}

/// The text of askama's escapes.
fn unescape(s: &str) -> String {
    s.replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#38;", "&")
}

/// The fields of the page's `form#target-form` as a browser would send them (hidden inputs,
/// text inputs, checked boxes, chosen options, textareas), in order.
fn form_fields(page: &Page) -> Vec<(String, String)> {
    let body = &page.body;
    let start = body
        .find("<form id=\"target-form\"")
        .expect("a target form");
    let end = start + body[start..].find("</form>").unwrap();
    let form = &body[start..end];
    let attr = |tag: &str, name: &str| -> Option<String> {
        let key = format!(" {name}=\"");
        let at = tag.find(&key)? + key.len();
        Some(unescape(&tag[at..at + tag[at..].find('"')?]))
    };
    let mut out = Vec::new();
    let mut rest = form;
    while let Some(i) = rest.find('<') {
        rest = &rest[i..];
        let tag_end = rest.find('>').unwrap();
        let tag = &rest[..tag_end];
        if tag.starts_with("<input") {
            let name = attr(tag, "name");
            let kind = attr(tag, "type").unwrap_or_default();
            if let Some(name) = name {
                if kind != "checkbox" || tag.contains(" checked") {
                    out.push((name, attr(tag, "value").unwrap_or_default()));
                }
            }
        } else if tag.starts_with("<textarea") {
            let name = attr(tag, "name").unwrap();
            let text_end = rest.find("</textarea>").unwrap();
            out.push((name, unescape(&rest[tag_end + 1..text_end])));
        } else if tag.starts_with("<select") {
            let name = attr(tag, "name").unwrap();
            let sel_end = rest.find("</select>").unwrap();
            let options = &rest[..sel_end];
            let chosen = options
                .split("<option")
                .skip(1)
                .find(|o| o.contains(" selected"))
                .or_else(|| options.split("<option").nth(1))
                .and_then(|o| attr(o, "value"))
                .unwrap_or_default();
            out.push((name, chosen));
        }
        rest = &rest[1..];
    }
    out
}

/// `fields` with `name` set to `value` (every value of it replaced, or added).
fn with(mut fields: Vec<(String, String)>, name: &str, value: &str) -> Vec<(String, String)> {
    if fields.iter().any(|(k, _)| k == name) {
        for (k, v) in fields.iter_mut() {
            if k == name {
                *v = value.to_string();
            }
        }
    } else {
        fields.push((name.to_string(), value.to_string()));
    }
    fields
}

async fn submit_all(b: &mut Browser, path: &str, fields: &[(String, String)]) -> Page {
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    b.post(path, &pairs).await
}

/// The `div.field[data-field=path]` of a page, up to its end.
fn field_div<'a>(page: &'a Page, path: &str) -> &'a str {
    let key = format!("data-field=\"{path}\"");
    let at = page
        .body
        .find(&key)
        .unwrap_or_else(|| panic!("no field {path}"));
    let start = page.body[..at].rfind("<div").unwrap();
    let end = at + page.body[at..].find("</div>").unwrap();
    &page.body[start..end]
}

/// The names of a `const NAME: &[&str] = &[...]` list in `source`.
fn const_list(source: &str, name: &str) -> Vec<String> {
    let at = source
        .find(&format!("const {name}: &[&str] = &["))
        .unwrap_or_else(|| panic!("the core has no {name} list any more"));
    let list = &source[at..];
    let list = &list[list.find("= &[").unwrap() + 4..list.find("];").unwrap()];
    list.split(',')
        .map(|s| s.trim().trim_matches('"').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

#[test]
fn every_field_the_core_reads_has_an_input_of_its_kind_and_no_input_is_unknown() {
    let core = |file: &str| match file {
        "validate" => {
            include_str!("../../../../../crates/lookout-core/src/domain/target/validate.rs")
        }
        "tcp" => include_str!("../../../../../crates/lookout-core/src/domain/target/tcp.rs"),
        "tls" => include_str!("../../../../../crates/lookout-core/src/domain/target/tls.rs"),
        "dns" => include_str!("../../../../../crates/lookout-core/src/domain/target/dns.rs"),
        "heartbeat" => {
            include_str!("../../../../../crates/lookout-core/src/domain/target/heartbeat.rs")
        }
        _ => unreachable!(),
    };
    let common = const_list(core("validate"), "COMMON_FIELDS");
    for kind in fields::KINDS {
        let own = match kind {
            "server" => const_list(core("validate"), "SERVER_FIELDS"),
            "proxy" => const_list(core("validate"), "PROXY_FIELDS"),
            other => const_list(core(other), "FIELDS"),
        };
        let core_fields: BTreeSet<String> = common.iter().chain(&own).cloned().collect();
        let table: BTreeSet<String> = fields::table(kind)
            .iter()
            .map(|f| f.path.to_string())
            .chain(fields::HIDDEN.iter().map(|s| s.to_string()))
            .collect();
        let missing: Vec<_> = core_fields.difference(&table).collect();
        assert!(missing.is_empty(), "{kind}: no input for {missing:?}");
        let unknown: Vec<_> = table.difference(&core_fields).collect();
        assert!(
            unknown.is_empty(),
            "{kind}: inputs the core refuses {unknown:?}"
        );
    }
}

#[test]
fn a_refusal_goes_to_the_closest_field_and_a_patch_removes_what_the_form_left_out() {
    let table = fields::table("server");
    let at = |p: &str| fields::closest(&table, p).map(|f| f.path);
    assert_eq!(at("url"), Some("url"));
    assert_eq!(at("headers.X-Api-Key"), Some("headers"));
    assert_eq!(at("expected_status[1]"), Some("expected_status"));
    assert_eq!(at("maintenance[0].start"), Some("maintenance"));
    assert_eq!(at("urlx"), None);
    assert_eq!(at("definition"), None);
    let old = json!({"id":"a","headers":{"A":"1","B":"2"},"body_contains":"x","tags":["t"]});
    let new = json!({"id":"a","headers":{"A":"1","C":"3"},"tags":["t","u"]});
    assert_eq!(
        fields::merge_patch(&old, &new),
        json!({"headers":{"B":null,"C":"3"},"body_contains":null,"tags":["t","u"]})
    );
}

#[test]
fn the_inputs_text_reads_back_as_the_same_definition() {
    let def = json!({"id":"s","kind":"server","group":"g","url":"http://h/","enabled":false,
        "headers":{"Authorization":"***","X-A":"b: c"},"expected_status":[200,"300-399"],
        "tags":["a","b"],"json_equals":{"ok":true},"interval_s":30,"cost":1});
    let (raw, other) = fields::raw_of("server", &def);
    assert_eq!(raw["headers"], "Authorization: ***\nX-A: b: c");
    let back = fields::parse(crate::console::view::Lang::En, "server", &raw, &other).unwrap();
    for k in [
        "id",
        "group",
        "url",
        "enabled",
        "headers",
        "expected_status",
        "tags",
        "json_equals",
        "interval_s",
        "cost",
    ] {
        assert_eq!(back[k], def[k], "{k}");
    }
    // Fields left empty are left out; the boxes always say what they show.
    assert!(back.get("method").is_none());
    assert_eq!(back["flap_detection"], json!(true));
    let mut bad = raw.clone();
    bad.insert("headers".into(), "no colon".into());
    bad.insert("quorum".into(), "{".into());
    let errors = fields::parse(crate::console::view::Lang::En, "server", &bad, "[1]").unwrap_err();
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["quorum", "headers", fields::OTHER]);
}

/// The minimal inputs of a new target of each kind.
fn minimal(kind: &str, id: &str) -> Vec<(&'static str, String)> {
    let mut f = vec![
        ("kind", kind.to_string()),
        ("id", id.to_string()),
        ("group", "g".to_string()),
    ];
    let own: &[(&str, &str)] = match kind {
        "server" => &[
            ("url", "http://127.0.0.1:9/health"),
            ("headers", "X-Api-Key: k-secret\nAccept: text/plain"),
        ],
        "proxy" => &[
            ("proxy_url", "http://user:pw-secret@127.0.0.1:3128"),
            ("test_urls", "http://127.0.0.1:9/a\nhttp://127.0.0.1:9/b"),
            ("proxy_type", "vps"),
        ],
        "tcp" => &[
            ("host", "127.0.0.1"),
            ("port", "6379"),
            ("send", "AUTH s3cret\r\n"),
            ("expect_prefix", "+OK"),
        ],
        "tls" => &[("host", "127.0.0.1"), ("port", "993"), ("starttls", "")],
        "dns" => &[
            ("query_name", "example.com"),
            ("record_type", "A"),
            ("resolver", "127.0.0.1:5353"),
            ("expect_contains", "192.0.2.1"),
        ],
        "heartbeat" => &[("period_s", "3600"), ("grace_s", "300")],
        _ => &[],
    };
    f.extend(own.iter().map(|(k, v)| (*k, v.to_string())));
    f
}

async fn create(b: &mut Browser, kind: &str, id: &str) -> Page {
    let new = b.get(&format!("/console/targets/new?kind={kind}")).await;
    assert_eq!(new.status, StatusCode::OK, "{}", new.body);
    let fields = minimal(kind, id);
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.submit("/console/targets/new", &pairs).await
}

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

#[tokio::test]
async fn enable_disable_and_delete_with_its_confirmation() {
    let mut b = Browser::signed_in(app(), ADMIN).await;
    create(&mut b, "server", "web").await;
    let p = b.submit("/console/targets/web/disable", &[]).await;
    assert_eq!(
        p.location.as_deref(),
        Some("/console/targets/web?done=disabled")
    );
    assert!(
        !b.app
            .store
            .get_target("web")
            .await
            .unwrap()
            .unwrap()
            .enabled
    );
    let p = b
        .submit("/console/targets/web/enable", &[("version", "2")])
        .await;
    assert_eq!(
        p.location.as_deref(),
        Some("/console/targets/web?done=enabled"),
        "{}",
        p.body
    );
    assert!(
        b.app
            .store
            .get_target("web")
            .await
            .unwrap()
            .unwrap()
            .enabled
    );
    let p = b
        .submit("/console/targets/web/disable", &[("version", "2")])
        .await;
    assert_eq!(
        p.status,
        StatusCode::CONFLICT,
        "a stale version is the API's 409"
    );
    let confirm = b.get("/console/targets/web/delete").await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains("<form id=\"delete-form\""));
    assert!(confirm.body.contains("data-action=\"confirm-delete\""));
    assert!(
        b.app.store.get_target("web").await.unwrap().is_some(),
        "the page deletes nothing"
    );
    let p = b.submit("/console/targets/web/delete", &[]).await;
    assert_eq!(p.location.as_deref(), Some("/console/targets?done=deleted"));
    assert!(b.app.store.get_target("web").await.unwrap().is_none());
    let p = b.submit("/console/targets/web/delete", &[]).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
}

/// `POST path` with the session's cookies and CSRF token, and `X-Console-Fragment: 1`.
async fn fragment(b: &Browser, path: &str) -> (StatusCode, String) {
    let jar: Vec<String> = b.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let req = lambda_http::http::Request::builder()
        .method("POST")
        .uri(format!("http://{}{path}", b.host))
        .header("host", &b.host)
        .header("cookie", jar.join("; "))
        .header("x-console-fragment", "1")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::Text(format!("_csrf={}", b.csrf.clone().unwrap())))
        .unwrap();
    let resp = crate::handle(&b.app, req).await;
    (
        resp.status(),
        String::from_utf8_lossy(resp.body().as_ref()).into_owned(),
    )
}

#[tokio::test]
async fn check_now_answers_a_fragment_or_a_page_and_stores_nothing() {
    let live = serve(200, "ok").await;
    let dead = closed_port().await;
    let b0 = Browser::new(app());
    b0.create_target(
        json!({"id":"live","group":"g","kind":"server","url": live,"timeout_ms":2000}),
    )
    .await;
    b0.create_target(
        json!({"id":"dead","group":"g","kind":"server","url": dead,"timeout_ms":2000}),
    )
    .await;
    let mut b = Browser::signed_in(b0.app.clone(), ADMIN).await;
    let (status, body) = fragment(&b, "/console/targets/live/check").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("data-outcome=\"up\""), "{body}");
    assert!(body.contains(" ms</span>"), "{body}");
    assert!(!body.contains("<html"), "a fragment, not a page");
    let (_, body) = fragment(&b, "/console/targets/dead/check").await;
    assert!(body.contains("data-outcome=\"failed\""), "{body}");
    assert!(
        body.contains("<dd class=\"error-kind\">connect</dd>"),
        "{body}"
    );
    let page = b.submit("/console/targets/dead/check", &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page
        .body
        .contains("<output id=\"check-result\" class=\"inline\">"));
    assert!(page.body.contains("data-outcome=\"failed\""));
    assert!(page.body.contains("href=\"/console/targets/dead\""));
    let (_, status) = api(&b, "GET", "/v1/status", None).await;
    let rows = status["targets"].as_array().unwrap();
    assert!(rows.iter().all(|r| r["status"] == "unknown"), "{status}");
}

async fn status_of(b: &Browser, id: &str) -> String {
    let (_, status) = api(b, "GET", "/v1/status", None).await;
    status["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .map(|r| r["status"].as_str().unwrap().to_string())
        .unwrap()
}

#[tokio::test]
async fn the_overrides_change_the_status_the_api_shows() {
    let mut b = Browser::signed_in(app(), ADMIN).await;
    create(&mut b, "proxy", "px").await;
    let p = b.submit("/console/targets/px/actions/mark_down", &[]).await;
    assert_eq!(
        p.location.as_deref(),
        Some("/console/targets/px?done=marked_down"),
        "{}",
        p.body
    );
    assert_eq!(status_of(&b, "px").await, "down");
    let p = b
        .submit("/console/targets/px/actions/mark_healthy", &[])
        .await;
    assert_eq!(
        p.location.as_deref(),
        Some("/console/targets/px?done=marked_healthy")
    );
    let healthy = status_of(&b, "px").await;
    assert!(["up", "healthy"].contains(&healthy.as_str()), "{healthy}");
    let p = b.submit("/console/targets/px/actions/reset", &[]).await;
    assert_eq!(
        p.location.as_deref(),
        Some("/console/targets/px?done=reset")
    );
    let p = b.submit("/console/targets/px/actions/explode", &[]).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
}

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
    // Apply without prune keeps what the file does not list; with prune it deletes it.
    let p = b
        .submit("/console/import", &[("file", yaml), ("mode", "apply")])
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(b.app.store.get_target("a").await.unwrap().is_some());
    let p = b
        .submit(
            "/console/import",
            &[("file", yaml), ("mode", "apply"), ("prune", "true")],
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
            &[("file", &json_file.body), ("mode", "apply")],
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

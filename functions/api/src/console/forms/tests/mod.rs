//! The target forms through the console's router: helpers, and the field table's own tests.

use std::collections::BTreeSet;

use lambda_http::http::StatusCode;
use lambda_http::Body;
use serde_json::{json, Value};

use super::fields;
use crate::console::testkit::{Browser, Page, ADMIN};

mod buttons;
mod file;
mod forms;

/// `GET path` of the API with the admin token: status and JSON.
pub(super) async fn api(
    b: &Browser,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
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
pub(super) fn form_fields(page: &Page) -> Vec<(String, String)> {
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
pub(super) fn with(
    mut fields: Vec<(String, String)>,
    name: &str,
    value: &str,
) -> Vec<(String, String)> {
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

pub(super) async fn submit_all(b: &mut Browser, path: &str, fields: &[(String, String)]) -> Page {
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    b.post(path, &pairs).await
}

/// The `div.field[data-field=path]` of a page, up to its end.
pub(super) fn field_div<'a>(page: &'a Page, path: &str) -> &'a str {
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

/// The minimal inputs of a new target of each kind.
pub(super) fn minimal(kind: &str, id: &str) -> Vec<(&'static str, String)> {
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

pub(super) async fn create(b: &mut Browser, kind: &str, id: &str) -> Page {
    let new = b.get(&format!("/console/targets/new?kind={kind}")).await;
    assert_eq!(new.status, StatusCode::OK, "{}", new.body);
    let fields = minimal(kind, id);
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.submit("/console/targets/new", &pairs).await
}

#[test]
fn every_field_the_core_reads_has_an_input_of_its_kind_and_no_input_is_unknown() {
    let core = |file: &str| match file {
        "validate" => {
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../crates/lookout-core/src/domain/target/validate.rs"
            ))
        }
        "tcp" => include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../crates/lookout-core/src/domain/target/tcp.rs"
        )),
        "tls" => include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../crates/lookout-core/src/domain/target/tls.rs"
        )),
        "dns" => include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../crates/lookout-core/src/domain/target/dns.rs"
        )),
        "heartbeat" => {
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../crates/lookout-core/src/domain/target/heartbeat.rs"
            ))
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

//! The console's dumps page against DynamoDB Local and moto S3: signed in with the admin token,
//! dump now, the dump listed, verify shows it verified, restoring over the live table refused
//! in the form, restore into a new table (which then holds the dumped items), delete.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::common;

use lookout_app::dump::DumpOptions;
use lookout_aws::dynamodb::DynamoStore;
use lookout_aws::s3::S3DumpStore;

/// A cookie jar in front of the API handler (no redirects followed).
struct Browser {
    app: Arc<api::App<DynamoStore>>,
    cookies: BTreeMap<String, String>,
    csrf: String,
}

/// Status, `Location` and body of one answer.
struct Page {
    status: u16,
    location: String,
    body: String,
}

impl Browser {
    async fn send(&mut self, method: &str, path: &str, form: Option<&[(&str, &str)]>) -> Page {
        let mut req = lambda_http::http::Request::builder()
            .method(method)
            .uri(format!("http://127.0.0.1:9000{path}"))
            .header("host", "127.0.0.1:9000");
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.header("cookie", jar.join("; "));
        }
        let body = match form {
            Some(fields) => {
                let mut s = url::form_urlencoded::Serializer::new(String::new());
                s.append_pair("_csrf", &self.csrf);
                for (k, v) in fields {
                    s.append_pair(k, v);
                }
                req = req.header("content-type", "application/x-www-form-urlencoded");
                lambda_http::Body::Text(s.finish())
            }
            None => lambda_http::Body::Empty,
        };
        // Boxed: the handler's future over DynamoDB is large for a test thread's stack.
        let resp = Box::pin(api::handle(&self.app, req.body(body).unwrap())).await;
        for v in resp.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let pair = v.split(';').next().unwrap();
            let (k, val) = pair.split_once('=').unwrap();
            if val.is_empty() || v.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.into(), val.into());
            }
        }
        let body = String::from_utf8_lossy(resp.body()).into_owned();
        if let Some(at) = body.find("name=\"_csrf\" value=\"") {
            let rest = &body[at + "name=\"_csrf\" value=\"".len()..];
            self.csrf = rest[..rest.find('"').unwrap()].to_string();
        }
        Page {
            status: resp.status().as_u16(),
            location: resp
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default(),
            body,
        }
    }
}

/// The text of the element that starts at `marker`, up to `end`.
fn section<'a>(body: &'a str, marker: &str, end: &str) -> &'a str {
    let at = body
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in {body}"));
    let rest = &body[at..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

#[tokio::test]
async fn through_the_console_a_dump_is_made_listed_verified_restored_into_a_new_table_and_deleted()
{
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let (s3, bucket) = common::fresh_bucket(&aws).await;
    common::fill_table(&ddb, &table, 120, 0).await;
    let dynamo = DynamoStore::new(ddb.clone(), &table, 30);
    let app = Arc::new(api::App {
        prober: lookout_app::probe::Prober::new().unwrap(),
        admin_token: Some("console-it-admin".into()),
        read_token: Some("console-it-read".into()),
        dumps: Some(api::dumps::Dumps {
            store: S3DumpStore::new(s3, &bucket),
            table: dynamo.clone(),
            options: DumpOptions {
                segments: 2,
                ..DumpOptions::default()
            },
            retention: (7, 30),
            runner: None,
        }),
        ..api::App::local(dynamo)
    });
    let mut b = Browser {
        app,
        cookies: BTreeMap::new(),
        csrf: String::new(),
    };
    b.send("GET", "/console/login", None).await;
    let p = b
        .send(
            "POST",
            "/console/login",
            Some(&[("token", "console-it-admin")]),
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);

    let empty = b.send("GET", "/console/dumps", None).await;
    assert_eq!(empty.status, 200, "{}", empty.body);
    assert!(
        empty.body.contains("data-action=\"dump-now\""),
        "{}",
        empty.body
    );
    assert!(!empty.body.contains("<tr data-id="));

    // Dump now.
    let p = b.send("POST", "/console/dumps", Some(&[])).await;
    assert_eq!(
        (p.status, p.location.as_str()),
        (303, "/console/dumps?done=dump_started"),
        "{}",
        p.body
    );
    let list = b.send("GET", &p.location, None).await;
    assert!(list.body.contains("<p class=\"notice\""), "{}", list.body);
    let row = section(&list.body, "<tr data-id=\"", "</tr>");
    let id = row["<tr data-id=\"".len()..][..row["<tr data-id=\"".len()..].find('"').unwrap()]
        .to_string();
    assert!(row.contains("<td class=\"num\">120</td>"), "{row}");
    assert!(row.contains(&table), "{row}");

    // Verify.
    let v = b
        .send("POST", &format!("/console/dumps/{id}/verify"), Some(&[]))
        .await;
    assert_eq!(v.status, 200, "{}", v.body);
    let result = section(&v.body, "<section id=\"verify-result\"", "</section>");
    assert!(result.contains("data-ok=\"true\""), "{result}");
    assert!(
        result.contains("Verified: every part matches its manifest."),
        "{result}"
    );
    assert!(!result.contains("class=\"bad\""), "{result}");

    // Over the live table, or without a name: refused in the form, nothing written.
    let before = common::table_fingerprint_except(&ddb, &table, Some("AUDIT#")).await;
    for (name, words) in [
        (table.as_str(), "Restoring over the live table is refused"),
        ("", "Name a new table"),
    ] {
        let p = b
            .send(
                "POST",
                &format!("/console/dumps/{id}/restore"),
                Some(&[("table", name)]),
            )
            .await;
        let field = section(
            &p.body,
            "<div class=\"field bad\" data-field=\"table\"",
            "</div>",
        );
        assert!(
            field.contains(&format!("<p class=\"field-error\">{words}")),
            "{name}: {field}"
        );
    }
    assert_eq!(
        common::table_fingerprint_except(&ddb, &table, Some("AUDIT#")).await,
        before
    );

    // Into a new table.
    let target = format!("{table}-console");
    let p = b
        .send(
            "POST",
            &format!("/console/dumps/{id}/restore"),
            Some(&[("table", &target)]),
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    let report = section(&p.body, "<section id=\"restore-result\"", "</section>");
    assert!(report.contains("Items in the table: 120"), "{report}");
    assert!(report.contains(&target), "{report}");
    assert_eq!(
        common::table_fingerprint_except(&ddb, &target, Some("AUDIT#")).await,
        before,
        "the new table holds the dumped items"
    );
    // Again into the same table: it is not empty now, and the API's refusal is at the field.
    let p = b
        .send(
            "POST",
            &format!("/console/dumps/{id}/restore"),
            Some(&[("table", &target)]),
        )
        .await;
    let field = section(
        &p.body,
        "<div class=\"field bad\" data-field=\"table\"",
        "</div>",
    );
    assert!(field.contains("<p class=\"field-error\">"), "{field}");

    // Delete.
    let p = b
        .send("POST", &format!("/console/dumps/{id}/delete"), Some(&[]))
        .await;
    assert_eq!(
        (p.status, p.location.as_str()),
        (303, "/console/dumps?done=deleted")
    );
    let list = b.send("GET", "/console/dumps", None).await;
    assert!(!list.body.contains(&format!("<tr data-id=\"{id}\"")));
}

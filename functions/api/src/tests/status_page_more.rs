//! The status pages' settings refused field by field (issue 18), and the size of a page of
//! 1,000 targets, against the memory store.

use lookout_app::ports::{DigestStore, TargetUptime};
use lookout_core::digest::rollup::{DayCell, Uptime};
use lookout_core::domain::state::DAY_MS;
use lookout_core::domain::{Status, TargetKind};

use super::status_page::{create, days_of, get, row, server, states};
use super::*;

#[tokio::test]
async fn a_page_with_a_bad_field_is_refused_naming_it() {
    let app = app();
    let long = "x".repeat(101);
    for (slug, body, field) in [
        ("shop", json!({"title": ""}), "title"),
        ("shop", json!({"title": long}), "title"),
        ("shop", json!({"title": "a\nb"}), "title"),
        ("shop", json!({"title": "t", "footer": "a\u{7}b"}), "footer"),
        (
            "shop",
            json!({"title": "t", "logo_url": "http://cdn.example/l.png"}),
            "logo_url",
        ),
        (
            "shop",
            json!({"title": "t", "logo_url": "javascript:alert(1)"}),
            "logo_url",
        ),
        (
            "shop",
            json!({"title": "t", "groups": ["ok", ""]}),
            "groups[1]",
        ),
        ("shop", json!({"title": "t", "colour": "red"}), "colour"),
        ("shop", json!({"title": 5}), "title"),
        ("Shop!", json!({"title": "t"}), "slug"),
    ] {
        let (status, answer) = call(
            &app,
            request(
                "PUT",
                &format!("/v1/pages/{slug}"),
                &body.to_string(),
                Some(TOKEN),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
    }
    let (status, _) = call(&app, request("PUT", "/v1/pages/shop", "{", Some(TOKEN))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = call(
        &app,
        request("PUT", "/v1/pages/shop", "{\"title\":\"t\"}", Some(READ)),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_thousand_targets_make_a_page_under_150_kb_gzipped() {
    use std::io::Write as _;
    let app = app();
    let targets: Vec<Value> = (0..1000)
        .map(|i| {
            server(
                &format!("t-{i:04}"),
                &format!("api-server-{i:04}"),
                &format!("group-{:02}", i % 50),
            )
        })
        .collect();
    create(&app, json!({ "targets": targets })).await;
    let list: Vec<(String, Status)> = (0..1000)
        .map(|i| {
            (
                format!("t-{i:04}"),
                if i % 97 == 0 {
                    Status::Down
                } else {
                    Status::Healthy
                },
            )
        })
        .collect();
    let list: Vec<(&str, Status)> = list.iter().map(|(id, s)| (id.as_str(), *s)).collect();
    states(&app, &list).await;
    let now = lookout_core::time::now_ms();
    let today = now - now.rem_euclid(DAY_MS);
    // 90 days each; about one day in 15 below 100 % (each with a title).
    let table: Vec<TargetUptime> = (0..1000)
        .map(|i| TargetUptime {
            target_id: format!("t-{i:04}"),
            windows: vec![Uptime {
                window: "30d".into(),
                since: now - 30 * DAY_MS,
                checks: 43_200,
                failures: 7,
                uptime_percent: Some(99.98),
            }],
            days: (0..90)
                .map(|back| DayCell {
                    start: today - back * DAY_MS,
                    checks: 1440,
                    failures: if (i + back) % 15 == 0 {
                        (i + back) as u64 % 40
                    } else {
                        0
                    },
                })
                .rev()
                .collect(),
        })
        .collect();
    app.store
        .put_uptime(TargetKind::Server, &table)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let (status, html, _) = get(&app, "/").await;
    let took = started.elapsed();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(html.matches("<li class=\"target\"").count(), 1000);
    assert_eq!(days_of(row(&html, "t-0001")).len(), 90);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(html.as_bytes()).unwrap();
    let zipped = gz.finish().unwrap().len();
    eprintln!(
        "1,000 targets: {} bytes, {zipped} bytes gzipped, rendered in {took:?} (debug build)",
        html.len()
    );
    assert!(zipped < 150 * 1024, "{zipped} bytes gzipped");
    // The JSON version stays under Lambda's 6 MB answer with all 90 days, and the default
    // (7 days) is small.
    let full = get(&app, "/status.json?days=90").await.1.len();
    let week = get(&app, "/status.json").await.1.len();
    eprintln!("1,000 targets: status.json?days=90 {full} bytes, default {week} bytes");
    assert!(full < 6_000_000 && week < full / 5, "{full} {week}");
}

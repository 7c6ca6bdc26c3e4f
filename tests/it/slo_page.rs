//! Service level objectives on the status page and in `/metrics` over DynamoDB Local, served on
//! loopback (real HTTP): an SLO and its record written through the DynamoDB adapter, a page
//! naming it through `PUT /v1/pages/default`, the section in the HTML and the JSON version, the
//! `lookout_slo_*` gauges (issue 20).

use std::sync::Arc;

use lookout_app::ports::SloStore;
use lookout_aws::dynamodb::DynamoStore;
use lookout_core::domain::slo::{
    Firing, Sli, SliCounts, Slo, SloRecord, SloSelector, SloSeries, SloWindow,
};
use lookout_core::time::{DAY_MS, MINUTE_MS};
use serde_json::{json, Value};

use crate::common;

async fn app() -> Arc<api::App<DynamoStore>> {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    Arc::new(api::App {
        prober: lookout_app::probe::Prober::new().unwrap(),
        admin_token: Some("admin".into()),
        ..api::App::local(DynamoStore::new(ddb, &table, 30))
    })
}

async fn get(base: &str, path: &str) -> (u16, String) {
    let resp = reqwest::get(format!("{base}{path}")).await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap())
}

#[tokio::test]
async fn an_slo_shows_on_the_page_and_in_the_metrics_from_dynamodb() {
    let app = app().await;
    let now = lookout_core::time::now_ms();
    let slo = Slo {
        id: "checkout".into(),
        name: "Checkout <API>".into(),
        description: None,
        selector: SloSelector::Group("checkout".into()),
        objective: 87.5,
        window: SloWindow::Rolling30d,
        sli: Sli::Availability,
        exclude_maintenance: true,
        alerts: true,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    app.store.put_slo(&slo).await.unwrap();
    // 1,024 valid events over the window, 64 bad: SLI 93.75 %, half the budget left; the last
    // hour's 32 events with 8 bad burn at 2.
    let mut series = SloSeries::default();
    for (ago, total, good) in [(10 * MINUTE_MS, 32, 24), (10 * DAY_MS, 992, 936)] {
        let counts = SliCounts {
            good,
            total,
            excluded: 0,
        };
        series.add_counts(now - ago, counts);
    }
    let mut record = SloRecord::new("checkout");
    record.version = 1;
    record.series = series;
    record.alerts.firing.insert(
        "page".into(),
        Firing {
            since: now - 5 * MINUTE_MS,
            rules: vec!["page_1h".into()],
            burn_long: 2.0,
            burn_short: 2.0,
            silenced: false,
        },
    );
    app.store.commit_slo_record(&record, &[]).await.unwrap();

    let page = json!({"title": "Shop", "slos": ["checkout", "deleted-one"]});
    let (code, body) = common::call(&app, "PUT", "/v1/pages/default", &page.to_string()).await;
    assert_eq!(code, 201, "{body}");
    let (code, body) = common::call(&app, "GET", "/v1/pages/default", "").await;
    assert_eq!(
        (code, &body["page"]["slos"]),
        (200, &json!(["checkout", "deleted-one"]))
    );

    let base = common::serve_api(app.clone()).await;
    let (status, html) = get(&base, "/?lang=fa").await;
    assert_eq!(status, 200);
    let item = html
        .split("<li class=\"slo\" data-slo=\"checkout\">")
        .nth(1)
        .expect("the SLO's item")
        .split("</li>")
        .next()
        .unwrap();
    for part in [
        "<span class=\"n\">Checkout &lt;API&gt;</span>",
        "هدف <bdi>87.5%</bdi> · ۳۰ روز",
        "<bdi>93.75%</bdi>",
        "<i style=\"width:50%\"></i>",
        "<bdi>50.0%</bdi>",
        "<b class=\"burn page\">",
    ] {
        assert!(item.contains(part), "{part:?} missing in {item}");
    }
    assert_eq!(html.matches("<li class=\"slo\"").count(), 1);

    let (status, text) = get(&base, "/status.json").await;
    assert_eq!(status, 200);
    let json: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        json["slos"],
        json!([{"id": "checkout", "name": "Checkout <API>", "objective": 87.5, "window": "30d",
                "sli": 93.75, "budget_remaining": 50.0, "burning": true}])
    );

    let (status, text) = get(&base, "/metrics").await;
    assert_eq!(status, 200);
    let labels =
        r#"slo="checkout",name="Checkout <API>",sli="availability",window="30d",objective="87.5""#;
    for line in [
        format!("lookout_slo_sli_ratio{{{labels}}} 0.9375"),
        format!("lookout_slo_error_budget_remaining_ratio{{{labels}}} 0.5"),
        format!(r#"lookout_slo_burn_rate{{{labels},burn_window="1h"}} 2.0"#),
        format!(r#"lookout_slo_alert_firing{{{labels},alert="page"}} 1"#),
        format!("lookout_slo_events{{{labels}}} 1024"),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line:?} missing in\n{text}"
        );
    }
}

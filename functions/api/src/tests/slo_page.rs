//! Service level objectives on the status page (HTML and JSON) and in `/metrics` (issue 20),
//! against the memory store: an SLO with a known history, the page's `slos` setting and its
//! validation, the words in Arabic and Persian, a hostile name.

use lookout_app::ports::SloStore;
use lookout_core::domain::slo::{
    Firing, Sli, SliCounts, Slo, SloRecord, SloSelector, SloSeries, SloWindow,
};
use lookout_core::time::{DAY_MS, HOUR_MS, MINUTE_MS};

use super::status_page::get;
use super::*;

const EVIL: &str = "<script>alert(1)</script>\" onmouseover=\"x &amp;";

/// An availability SLO of 87.5 % over 30 days (a budget of exactly 1/8 of the events).
fn slo(id: &str, name: &str) -> Slo {
    Slo {
        id: id.into(),
        name: name.into(),
        description: None,
        selector: SloSelector::Group("web".into()),
        objective: 87.5,
        window: SloWindow::Rolling30d,
        sli: Sli::Availability,
        exclude_maintenance: true,
        alerts: true,
        version: 1,
        created_at: 0,
        updated_at: 0,
    }
}

/// The known history, relative to now: 1,024 valid events over the window, 64 bad, so the
/// SLI is 93.75 %, half the budget is spent (2,700 of 5,400 minutes left), and the burn rates
/// are 2 (1 h), 1 (6 h), 0.5 (24 h) and 1 (3 d).
fn history(now: i64) -> SloSeries {
    let mut s = SloSeries::default();
    for (ago, total, good) in [
        (10 * MINUTE_MS, 32, 24),
        (3 * HOUR_MS, 32, 32),
        (12 * HOUR_MS, 64, 64),
        (2 * DAY_MS, 128, 104),
        (10 * DAY_MS, 768, 736),
    ] {
        s.add_counts(
            now - ago,
            SliCounts {
                good,
                total,
                excluded: 0,
            },
        );
    }
    s
}

/// Stores `slo` with the known history and, when `firing` names one, that alert firing.
async fn seed(app: &Arc<App<MemoryStore>>, slo: &Slo, firing: Option<&str>) {
    let now = lookout_core::time::now_ms();
    app.store.put_slo(slo).await.unwrap();
    let mut record = SloRecord::new(&slo.id);
    record.version = 1;
    record.series = history(now);
    if let Some(alert) = firing {
        record.alerts.firing.insert(
            alert.into(),
            Firing {
                since: now - HOUR_MS,
                rules: vec!["ticket_3d".into()],
                burn_long: 1.0,
                burn_short: 1.0,
                silenced: false,
            },
        );
    }
    app.store.commit_slo_record(&record, &[]).await.unwrap();
}

async fn put_page(app: &Arc<App<MemoryStore>>, slug: &str, body: Value) -> (StatusCode, Value) {
    call(
        app,
        request(
            "PUT",
            &format!("/v1/pages/{slug}"),
            &body.to_string(),
            Some(TOKEN),
        ),
    )
    .await
}

async fn scrape(app: &Arc<App<MemoryStore>>) -> String {
    let (status, text, _) = get(app, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    text
}

#[tokio::test]
async fn metrics_give_an_slos_figures_with_its_labels() {
    let app = app();
    seed(&app, &slo("web", "Web \"shop\" \\ api"), Some("ticket")).await;
    let text = scrape(&app).await;
    let labels =
        r#"slo="web",name="Web \"shop\" \\ api",sli="availability",window="30d",objective="87.5""#;
    let mut want = vec![
        "# TYPE lookout_slo_sli_ratio gauge".to_string(),
        format!("lookout_slo_sli_ratio{{{labels}}} 0.9375"),
        format!("lookout_slo_objective_ratio{{{labels}}} 0.875"),
        format!("lookout_slo_error_budget_remaining_ratio{{{labels}}} 0.5"),
        format!("lookout_slo_error_budget_remaining_minutes{{{labels}}} 2700.0"),
        "# TYPE lookout_slo_events gauge".to_string(),
        format!("lookout_slo_events{{{labels}}} 1024"),
        format!(r#"lookout_slo_alert_firing{{{labels},alert="page"}} 0"#),
        format!(r#"lookout_slo_alert_firing{{{labels},alert="ticket"}} 1"#),
    ];
    for (window, rate) in [("1h", "2.0"), ("6h", "1.0"), ("24h", "0.5"), ("3d", "1.0")] {
        want.push(format!(
            r#"lookout_slo_burn_rate{{{labels},burn_window="{window}"}} {rate}"#
        ));
    }
    for line in &want {
        assert!(
            text.lines().any(|l| l == line),
            "{line:?} missing in\n{text}"
        );
    }
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
        .expect("valid exposition format");
    let burns = scrape
        .samples
        .iter()
        .filter(|s| s.metric == "lookout_slo_burn_rate")
        .count();
    assert_eq!(burns, 4, "one burn rate per window");
}

#[tokio::test]
async fn an_slo_without_events_has_no_sli_sample_and_its_whole_budget() {
    let app = app();
    app.store.put_slo(&slo("quiet", "Quiet")).await.unwrap();
    let text = scrape(&app).await;
    let labels = r#"slo="quiet",name="Quiet",sli="availability",window="30d",objective="87.5""#;
    assert!(!text.contains("lookout_slo_sli_ratio{"), "{text}");
    for line in [
        format!("lookout_slo_error_budget_remaining_ratio{{{labels}}} 1.0"),
        format!("lookout_slo_error_budget_remaining_minutes{{{labels}}} 5400.0"),
        format!("lookout_slo_events{{{labels}}} 0"),
        format!(r#"lookout_slo_burn_rate{{{labels},burn_window="1h"}} 0.0"#),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line:?} missing in\n{text}"
        );
    }
}

#[tokio::test]
async fn metrics_have_no_slo_family_without_an_slo() {
    let text = scrape(&app()).await;
    assert!(text.contains("lookout_target_up"), "{text}");
    assert!(!text.contains("lookout_slo_"), "{text}");
}

#[tokio::test]
async fn the_page_lists_the_slos_it_names_only() {
    let app = app();
    seed(&app, &slo("web", "Web shop"), Some("ticket")).await;
    // No `slos` on the page (and no stored default page): no section, an empty list.
    let (_, html, _) = get(&app, "/").await;
    assert!(!html.contains("Service level objectives"), "{html}");
    let (_, json, _) = get(&app, "/status.json").await;
    let json: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["slos"], json!([]));
    let (status, body) = put_page(&app, "default", json!({"title": "Shop", "groups": []})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["page"]["slos"], json!([]));
    let (_, html, _) = get(&app, "/").await;
    assert!(!html.contains("class=\"slos\""), "{html}");

    // Naming it (and an id of no SLO, left out) on the default page shows it.
    let (status, body) = put_page(
        &app,
        "default",
        json!({"title": "Shop", "slos": ["gone", "web"], "version": 1}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["page"]["slos"], json!(["gone", "web"]));
    let (status, html, _) = get(&app, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("<h2 id=\"slo-h\">Service level objectives</h2>"),
        "{html}"
    );
    assert_eq!(html.matches("<li class=\"slo\"").count(), 1, "{html}");
    let item = html
        .split("<li class=\"slo\" data-slo=\"web\">")
        .nth(1)
        .unwrap()
        .split("</li>")
        .next()
        .unwrap();
    for part in [
        "<span class=\"n\">Web shop</span>",
        "objective <bdi>87.5%</bdi> · 30 days · availability",
        "<bdi>93.75%</bdi> <small>so far</small>",
        "<span class=\"budget g\" role=\"meter\"",
        "aria-valuenow=\"50\"><i style=\"width:50%\"></i>",
        "<bdi>50.0%</bdi> <small>of error budget left</small>",
        "<b class=\"burn ticket\">burning budget</b>",
    ] {
        assert!(item.contains(part), "{part:?} missing in {item}");
    }
    let (_, json, resp) = get(&app, "/status.json").await;
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    let json: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        json["slos"],
        json!([{"id": "web", "name": "Web shop", "objective": 87.5, "window": "30d",
                "sli": 93.75, "budget_remaining": 50.0, "burning": true}])
    );

    // A page of its own: only the SLOs it names.
    let (status, body) = put_page(&app, "shop", json!({"title": "Shop", "slos": ["web"]})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, html, _) = get(&app, "/p/shop").await;
    assert!(html.contains("data-slo=\"web\""), "{html}");
    let (_, json, _) = get(&app, "/p/shop/status.json").await;
    let json: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["slos"][0]["id"], "web");
}

#[tokio::test]
async fn a_quiet_slo_shows_no_data_and_its_whole_budget_and_an_overspent_one_shows_red() {
    let app = app();
    app.store.put_slo(&slo("quiet", "Quiet")).await.unwrap();
    // 99 % over 28 days: the known history's 64 bad of 1,024 spends the budget 6.25 times.
    let hot = Slo {
        objective: 99.0,
        window: SloWindow::Rolling28d,
        sli: Sli::Latency { threshold_ms: 300 },
        ..slo("hot", "Hot")
    };
    seed(&app, &hot, Some("page")).await;
    put_page(
        &app,
        "default",
        json!({"title": "t", "slos": ["quiet", "hot"]}),
    )
    .await;
    let (_, html, _) = get(&app, "/").await;
    let quiet = html.split("data-slo=\"quiet\"").nth(1).unwrap();
    let quiet = quiet.split("</li>").next().unwrap();
    assert!(quiet.contains("<bdi>no data</bdi>"), "{quiet}");
    assert!(quiet.contains("<bdi>100.0%</bdi>"), "{quiet}");
    assert!(!quiet.contains("burn"), "{quiet}");
    let hot = html.split("data-slo=\"hot\"").nth(1).unwrap();
    let hot = hot.split("</li>").next().unwrap();
    for part in [
        "objective <bdi>99%</bdi> · 28 days · latency ≤ 300 ms",
        "<bdi>93.75%</bdi>",
        "<span class=\"budget r\"",
        "<i style=\"width:0%\"></i>",
        "<bdi>-525.0%</bdi>",
        "<b class=\"burn page\">burning budget fast</b>",
    ] {
        assert!(hot.contains(part), "{part:?} missing in {hot}");
    }
    // The quiet SLO lists first: the page's order, not the ids'.
    assert!(html.find("data-slo=\"quiet\"") < html.find("data-slo=\"hot\""));
    let (_, json, _) = get(&app, "/status.json").await;
    let json: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["slos"][0]["sli"], Value::Null);
    assert_eq!(json["slos"][0]["budget_remaining"], 100.0);
    assert_eq!(json["slos"][0]["burning"], false);
    assert_eq!(json["slos"][1]["budget_remaining"], -525.0);
}

#[tokio::test]
async fn the_section_speaks_arabic_and_persian_right_to_left() {
    let app = app();
    seed(&app, &slo("web", "Web shop"), Some("page")).await;
    put_page(&app, "default", json!({"title": "t", "slos": ["web"]})).await;
    let (_, fa, _) = get(&app, "/?lang=fa").await;
    assert!(fa.contains("dir=\"rtl\""));
    for part in [
        "<h2 id=\"slo-h\">اهداف سطح خدمت</h2>",
        "هدف <bdi>87.5%</bdi> · ۳۰ روز · دسترس‌پذیری",
        "<bdi>93.75%</bdi> <small>تاکنون</small>",
        "<bdi>50.0%</bdi> <small>از بودجه خطا باقی مانده</small>",
        "<b class=\"burn page\">مصرف سریع بودجه</b>",
    ] {
        assert!(fa.contains(part), "{part:?} missing in {fa}");
    }
    let (_, ar, _) = get(&app, "/?lang=ar").await;
    assert!(ar.contains("dir=\"rtl\""));
    for part in [
        "<h2 id=\"slo-h\">أهداف مستوى الخدمة</h2>",
        "الهدف <bdi>87.5%</bdi> · ٣٠ يومًا · التوفر",
        "<small>حتى الآن</small>",
        "<b class=\"burn page\">يستهلك الميزانية بسرعة</b>",
    ] {
        assert!(ar.contains(part), "{part:?} missing in {ar}");
    }
}

#[tokio::test]
async fn a_hostile_slo_name_stays_text() {
    let app = app();
    seed(&app, &slo("evil", EVIL), None).await;
    put_page(&app, "default", json!({"title": "t", "slos": ["evil"]})).await;
    let (_, html, _) = get(&app, "/").await;
    assert!(!html.contains("<script>alert(1)"), "{html}");
    assert!(!html.contains("\" onmouseover"), "{html}");
    assert!(html.contains(
        "<span class=\"n\">&lt;script&gt;alert(1)&lt;/script&gt;&quot; onmouseover=&quot;x &amp;amp;</span>"
    ));
    let (_, json, _) = get(&app, "/status.json").await;
    let json: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["slos"][0]["name"], EVIL);
}

#[tokio::test]
async fn a_pages_slos_are_checked_naming_the_field() {
    let app = app();
    let many: Vec<String> = (0..51).map(|i| format!("s{i}")).collect();
    for (slos, field) in [
        (json!(["ok", "Not An Id"]), "slos[1]"),
        (json!([""]), "slos[0]"),
        (json!(["x".repeat(65)]), "slos[0]"),
        (json!(["a", "b", "a"]), "slos[2]"),
        (json!(many), "slos"),
        (json!("web"), "slos"),
        (json!([5]), "slos[0]"),
    ] {
        let (status, answer) = put_page(&app, "shop", json!({"title": "t", "slos": slos})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{slos}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{slos}: {answer}");
    }
    // Ids of no SLO are taken (the SLO may come later) and kept in order.
    let ids: Vec<String> = (0..50).map(|i| format!("slo.{i}_x-y")).collect();
    let (status, body) = put_page(&app, "shop", json!({"title": "t", "slos": ids})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, one) = call(&app, request("GET", "/v1/pages/shop", "", Some(TOKEN))).await;
    assert_eq!(one["page"]["slos"], json!(ids));
}

#[test]
fn the_openapi_document_describes_the_pages_slos_and_the_setting() {
    let doc = crate::openapi::document();
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["StatusJson"]["properties"]["slos"]["items"]["$ref"],
        "#/components/schemas/SloJson"
    );
    let slo = &schemas["SloJson"]["properties"];
    for field in [
        "id",
        "name",
        "objective",
        "window",
        "sli",
        "budget_remaining",
        "burning",
    ] {
        assert!(slo[field].is_object(), "{field} in {slo}");
    }
    assert_eq!(slo["sli"]["nullable"], true, "{slo}");
    let slos = &schemas["PageBody"]["properties"]["slos"];
    assert_eq!(slos["maxItems"], 50, "{slos}");
    assert_eq!(slos["uniqueItems"], true, "{slos}");
    assert_eq!(slos["items"]["pattern"], "^[a-z0-9._-]{1,64}$", "{slos}");
}

#[test]
fn an_sli_shows_one_decimal_more_than_its_objective_rounded_down() {
    use crate::page::labels::EN;
    use crate::page::slos::{data, SloJson, SloView};
    let mut record = SloRecord::new("tight");
    let counts = |good, total| SliCounts {
        good,
        total,
        excluded: 0,
    };
    let now = lookout_core::time::now_ms();
    record
        .series
        .add_counts(now - HOUR_MS, counts(999_996, 1_000_000));
    let tight = Slo {
        objective: 99.99,
        ..slo("tight", "Tight")
    };
    let d = data(tight, Some(&record), now);
    // 99.9996 %: three decimals for a 99.99 objective, rounded down (not "100.000%").
    assert_eq!(SloView::of(&EN, &d).sli, "99.999%");
    assert_eq!(SloView::of(&EN, &d).objective, "99.99%");
    assert_eq!(SloJson::of(&d).sli, Some(99.9996));
    // 4 % of the budget spent: 4 bad of the 100 a 99.99 % objective allows.
    assert_eq!(SloJson::of(&d).budget_remaining, 96.0);
    let loose = Slo {
        objective: 95.0,
        ..slo("loose", "Loose")
    };
    assert_eq!(
        SloView::of(&EN, &data(loose, Some(&record), now)).sli,
        "99.99%"
    );
}

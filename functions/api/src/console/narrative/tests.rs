//! The narrative on the console's digests page and a target's page (issue 23), through the
//! console's cookie-jar browser over the memory store.

use std::sync::Arc;

use lambda_http::http::StatusCode;
use lookout_app::memory::MemoryStore;
use lookout_app::ports::{DigestStore as _, NarrativeLedger as _};
use lookout_app::usecases::digest_run::narrate::month_of;
use lookout_core::digest::report::Digest;
use serde_json::{json, Value};

use crate::console::testkit::{app, Browser, READ};
use crate::App;

const HOUR: i64 = 3_600_000;
/// 2023-11-14 22:00 UTC.
const START: i64 = 1_700_000_000_000 / HOUR * HOUR;
const TEXT: &str = "A quiet hour: every target answered, web a little slower.";
const HOSTILE: &str = "<script>alert(1)</script>";
const HOSTILE_TEXT: &str = "&#60;script&#62;alert(1)&#60;/script&#62;";

/// The label's words in each language, as the page prints them (escaped).
const LABELS: [(&str, &str, &str); 3] = [
    (
        "en",
        "Written by a language model",
        "It can be wrong; the summary above is computed from the checks.",
    ),
    (
        "ar",
        "كتبه نموذج لغوي",
        "قد يكون مخطئًا؛ الملخص أعلاه محسوب من الفحوص.",
    ),
    (
        "fa",
        "نوشتهٔ یک مدل زبانی",
        "ممکن است نادرست باشد؛ خلاصهٔ بالا از بررسی‌ها محاسبه شده است.",
    ),
];

/// A digest of `scope` at `start` with `extra` fields merged in.
fn digest(scope: &str, start: i64, extra: Value) -> Digest {
    let mut d = json!({
        "scope": scope, "start": start, "end": start + HOUR, "generated_at": start + HOUR,
        "summary": "Computed summary of the hour.", "recommendations": [], "anomalies": [],
        "checks": 60, "failures": 0, "uptime_percent": 100.0
    });
    for (k, v) in extra.as_object().unwrap() {
        d[k] = v.clone();
    }
    serde_json::from_value(d).unwrap()
}

/// A narrative of `text`, written 5 minutes after the hour ended.
fn narrative(text: &str) -> Value {
    json!({"generated": true, "model": "gpt-4o-mini", "text": text,
        "generated_at": START + HOUR + 300_000, "prompt_tokens": 812, "completion_tokens": 240})
}

/// The `<aside class="narrative"` block of `body`, if any.
fn block(body: &str) -> Option<&str> {
    let at = body.find("<aside class=\"narrative\"")?;
    let rest = &body[at..];
    Some(&rest[..rest.find("</aside>")?])
}

async fn seeded(digests: &[Digest]) -> Arc<App<MemoryStore>> {
    let app = app();
    app.store.put_digests(digests).await.unwrap();
    app
}

#[tokio::test]
async fn the_digests_page_shows_the_narrative_under_the_summary_labelled_in_each_language() {
    let narration = json!({"considered": 1, "written": 1, "reused": 0, "already_tried": 0,
        "over_budget": 0, "deferred": 0, "failed": 0, "timed_out": 0, "refused": 0, "rate_limited": 0,
        "store_errors": 0, "tokens": 1052});
    let app = seeded(&[digest(
        "global",
        START,
        json!({"narrative": narrative(TEXT), "narration": narration}),
    )])
    .await;
    let mut b = Browser::signed_in(app, READ).await;
    for (lang, label, caveat) in LABELS {
        let page = b.get(&format!("/console/digests?lang={lang}")).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let block = block(&page.body).unwrap_or_else(|| panic!("{lang}: {}", page.body));
        assert!(block.contains("data-generated=\"true\""), "{block}");
        assert!(
            block.contains(&format!("<p class=\"generated-label\">{label} (")),
            "{lang}: the label opens the block's first line: {block}"
        );
        assert!(block.contains(&format!("{caveat}</p>")), "{lang}: {block}");
        assert!(
            block.contains("<bdi dir=\"ltr\" class=\"model\">gpt-4o-mini</bdi>"),
            "{block}"
        );
        assert!(
            block.contains(&format!("<p class=\"narrative\" dir=\"auto\">{TEXT}</p>")),
            "{block}"
        );
        let summary = page.body.find("Computed summary of the hour.").unwrap();
        assert!(
            summary < page.body.find("<aside class=\"narrative\"").unwrap(),
            "the narrative comes under the built-in summary"
        );
    }
    let en = b.get("/console/digests?lang=en").await;
    assert!(
        en.body.contains("2023-11-14 23:05 UTC"),
        "the time it was written: {}",
        block(&en.body).unwrap()
    );
    assert!(
        en.body.contains(
            "<p class=\"narration muted\" id=\"narration\">Narratives this run: 1 written, 1052 tokens.</p>"
        ),
        "only the counts that are not zero: {}",
        en.body
    );
    let ar = b.get("/console/digests?lang=ar").await;
    assert!(
        ar.body
            .contains("السرديات في هذا التشغيل: ١ مكتوبة، ١٠٥٢ رمزًا."),
        "{}",
        ar.body
    );
}

#[tokio::test]
async fn a_narrative_holding_markup_stays_text_on_both_pages() {
    let b0 = Browser::new(app());
    b0.create_target(
        json!({"id": "web", "name": "Web", "kind": "server", "group": "g",
        "url": "http://127.0.0.1:9/"}),
    )
    .await;
    let mut hostile = narrative(HOSTILE);
    hostile["model"] = json!("<b>m</b>");
    b0.app
        .store
        .put_digests(&[
            digest("global", START, json!({"narrative": hostile.clone()})),
            digest(
                "web",
                START,
                json!({"narrative": hostile, "kind": "server"}),
            ),
        ])
        .await
        .unwrap();
    let mut b = Browser::signed_in(b0.app.clone(), READ).await;
    for path in ["/console/digests", "/console/targets/web"] {
        let page = b.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        let block = block(&page.body).unwrap_or_else(|| panic!("{path}: {}", page.body));
        assert!(block.contains(HOSTILE_TEXT), "{path}: {block}");
        assert!(
            block.contains("&#60;b&#62;m&#60;/b&#62;"),
            "{path}: {block}"
        );
        assert!(!page.body.contains(HOSTILE) && !page.body.contains("<b>m</b>"));
    }
}

#[tokio::test]
async fn the_target_page_shows_the_latest_digests_narrative_labelled() {
    let b0 = Browser::new(app());
    b0.create_target(
        json!({"id": "web", "name": "Web", "kind": "server", "group": "g",
        "url": "http://127.0.0.1:9/"}),
    )
    .await;
    b0.app
        .store
        .put_digests(&[digest(
            "web",
            START,
            json!({"narrative": narrative(TEXT), "kind": "server"}),
        )])
        .await
        .unwrap();
    let mut b = Browser::signed_in(b0.app.clone(), READ).await;
    for (lang, label, caveat) in LABELS {
        let page = b.get(&format!("/console/targets/web?lang={lang}")).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let section = &page.body[page.body.find("<section class=\"digest card\"").unwrap()..];
        let section = &section[..section.find("</section>").unwrap()];
        let block = block(section).unwrap_or_else(|| panic!("{lang}: {section}"));
        assert!(
            block.contains(&format!("<p class=\"generated-label\">{label} (")),
            "{lang}: {block}"
        );
        assert!(block.contains(&format!("{caveat}</p>")), "{lang}: {block}");
        assert!(block.contains(TEXT) && block.contains("gpt-4o-mini"));
        assert!(
            section.find("Computed summary of the hour.").unwrap()
                < section.find("<aside").unwrap()
        );
    }
}

#[tokio::test]
async fn a_digest_without_a_narrative_shows_no_block_no_counts_and_no_tokens() {
    let b0 = Browser::new(app());
    b0.create_target(
        json!({"id": "web", "name": "Web", "kind": "server", "group": "g",
        "url": "http://127.0.0.1:9/"}),
    )
    .await;
    b0.app
        .store
        .put_digests(&[
            digest("global", START, json!({})),
            // A blank narrative is no narrative.
            digest(
                "web",
                START,
                json!({"kind": "server", "narrative": narrative("  \n ")}),
            ),
            // An older one with a narrative: only the newest is shown in full.
            digest(
                "global",
                START - HOUR,
                json!({"narrative": narrative(TEXT)}),
            ),
        ])
        .await
        .unwrap();
    let mut b = Browser::signed_in(b0.app.clone(), READ).await;
    for path in ["/console/digests", "/console/targets/web"] {
        let page = b.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(page.body.contains("Computed summary of the hour."));
        assert!(
            block(&page.body).is_none() && !page.body.contains("Written by a language model"),
            "{path}: {}",
            page.body
        );
        assert!(!page.body.contains("id=\"narration\""));
        assert!(!page.body.contains("id=\"narrative-tokens\""));
    }
}

#[tokio::test]
async fn the_digests_page_shows_the_months_tokens_of_the_budget_when_configured() {
    let settings = lookout_app::narrative::NarrativeSettings::from_lookup(|name| match name {
        "LOOKOUT_LLM_BASE_URL" => Some("http://127.0.0.1:11434/v1".into()),
        "LOOKOUT_LLM_MODEL" => Some("gpt-4o-mini".into()),
        "LOOKOUT_LLM_MONTHLY_TOKENS" => Some("50000".into()),
        _ => None,
    })
    .unwrap();
    let app = Arc::new(App {
        narrative: settings,
        ..Arc::into_inner(app()).unwrap()
    });
    let month = month_of(lookout_core::time::now_ms());
    assert!(app
        .store
        .reserve_tokens(&month, 1234, 50_000)
        .await
        .unwrap());
    let mut b = Browser::signed_in(app, READ).await;
    let en = b.get("/console/digests?lang=en").await;
    let line = format!(
        "<p class=\"tokens muted\" id=\"narrative-tokens\">Language model tokens in {month}: 1234 of 50000.</p>"
    );
    assert!(en.body.contains(&line), "{line} in {}", en.body);
    let fa = b.get("/console/digests?lang=fa").await;
    assert!(fa.body.contains("۱۲۳۴ از ۵۰۰۰۰"), "{}", fa.body);
}

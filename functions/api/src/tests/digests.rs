//! Narratives in the digest routes (issue 23): a stored narrative and the run's counts as
//! `GET /v1/digests` and `GET /v1/digests/latest` answer them, and the `narratives` object
//! (settings and the ledger's tokens of the month), against the memory store.

use lookout_app::narrative::NarrativeSettings;
use lookout_app::ports::{DigestStore as _, NarrativeLedger as _};
use lookout_app::usecases::digest_run::narrate::month_of;
use lookout_core::digest::report::Digest;

use super::*;

const HOUR: i64 = 3_600_000;

/// A digest of `scope` for the hour at `start`, with `extra` fields merged in.
fn digest(scope: &str, start: i64, extra: Value) -> Digest {
    let mut d = json!({
        "scope": scope, "start": start, "end": start + HOUR, "generated_at": start + HOUR,
        "summary": "All 3 targets up; 60 checks, 0 failures.", "recommendations": [],
        "anomalies": [], "checks": 60, "failures": 0, "uptime_percent": 100.0
    });
    for (k, v) in extra.as_object().unwrap() {
        d[k] = v.clone();
    }
    serde_json::from_value(d).unwrap()
}

fn narrative() -> Value {
    json!({"generated": true, "model": "gpt-4o-mini", "text": "A quiet hour: every target answered.",
        "generated_at": 1_700_003_700_000_i64, "prompt_tokens": 812, "completion_tokens": 240})
}

fn narration() -> Value {
    json!({"considered": 1, "written": 1, "reused": 0, "already_tried": 0, "over_budget": 0, "deferred": 0,
        "failed": 0, "timed_out": 0, "refused": 0, "rate_limited": 0, "store_errors": 0,
        "tokens": 1052})
}

/// Narrative settings as the digest function reads them, with `budget` tokens a month.
fn settings(budget: u64) -> NarrativeSettings {
    let budget = budget.to_string();
    NarrativeSettings::from_lookup(|name| match name {
        "LOOKOUT_LLM_BASE_URL" => Some("http://127.0.0.1:11434/v1?api-version=2024-10-21".into()),
        "LOOKOUT_LLM_MODEL" => Some("gpt-4o-mini".into()),
        "LOOKOUT_LLM_API_KEY" => Some("{{ssm:/lookout/llm-key}}".into()),
        "LOOKOUT_LLM_MONTHLY_TOKENS" => Some(budget.clone()),
        _ => None,
    })
    .unwrap()
    .unwrap()
}

async fn get(app: &Arc<App<MemoryStore>>, path: &str) -> Value {
    let (status, body) = call(app, request("GET", path, "", Some(READ))).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

#[tokio::test]
async fn a_stored_narrative_is_listed_marked_generated_with_the_runs_counts() {
    let app = app();
    let start = 1_700_000_000_000 / HOUR * HOUR;
    app.store
        .put_digests(&[
            digest(
                "global",
                start,
                json!({"narrative": narrative(), "narration": narration()}),
            ),
            digest("global", start - HOUR, json!({})),
            digest("web", start, json!({"kind": "server"})),
        ])
        .await
        .unwrap();

    let list = get(&app, "/v1/digests").await;
    let newest = &list["digests"][0];
    assert_eq!(newest["narrative"], narrative(), "{list}");
    assert_eq!(newest["narrative"]["generated"], true);
    assert_eq!(newest["narration"], narration());
    assert_eq!(
        newest["summary"], "All 3 targets up; 60 checks, 0 failures.",
        "the built-in summary stays as computed"
    );
    let older = list["digests"][1].as_object().unwrap();
    assert!(
        !older.contains_key("narrative") && !older.contains_key("narration"),
        "a digest without a narrative has no such field: {older:?}"
    );

    let latest = get(&app, "/v1/digests/latest").await;
    assert_eq!(latest["narrative"]["generated"], true, "{latest}");
    assert_eq!(
        latest["narrative"]["text"],
        "A quiet hour: every target answered."
    );
    assert_eq!(latest["narration"]["written"], 1);

    let web = get(&app, "/v1/digests/latest?target=web").await;
    assert!(
        web.get("narrative").is_none() && web.get("narration").is_none(),
        "{web}"
    );
}

#[tokio::test]
async fn without_settings_the_narratives_object_says_not_configured_and_still_counts_the_month() {
    let app = app();
    let before = month_of(lookout_core::time::now_ms());
    let list = get(&app, "/v1/digests").await;
    let n = &list["narratives"];
    let month = n["month"].as_str().unwrap().to_string();
    assert!(
        month == before || month == month_of(lookout_core::time::now_ms()),
        "{n}"
    );
    assert_eq!(
        n,
        &json!({"configured": false, "model": null, "month": month, "tokens_used": 0,
            "monthly_token_budget": null}),
    );

    // Tokens of calls made before narratives were turned off still count.
    assert!(app.store.reserve_tokens(&month, 300, 1_000).await.unwrap());
    let n = get(&app, "/v1/digests?target=web").await["narratives"].clone();
    assert_eq!(n["tokens_used"], 300, "{n}");
    assert_eq!(n["configured"], false);
}

#[tokio::test]
async fn with_settings_the_narratives_object_names_the_model_budget_and_the_ledgers_tokens() {
    let app = Arc::new(App {
        narrative: Some(settings(50_000)),
        ..Arc::into_inner(app()).unwrap()
    });
    let month = month_of(lookout_core::time::now_ms());
    assert!(app
        .store
        .reserve_tokens(&month, 1_500, 50_000)
        .await
        .unwrap());
    app.store.adjust_tokens(&month, -266).await.unwrap();
    // Another month's count is not this month's.
    assert!(app
        .store
        .reserve_tokens("2001-01", 9_999, 50_000)
        .await
        .unwrap());

    let (status, body) = call(&app, request("GET", "/v1/digests", "", Some(READ))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["narratives"],
        json!({"configured": true, "model": "gpt-4o-mini", "month": month, "tokens_used": 1_234,
            "monthly_token_budget": 50_000}),
    );
    let text = body.to_string();
    for hidden in ["127.0.0.1:11434", "api-version", "llm-key", "ssm:"] {
        assert!(!text.contains(hidden), "{hidden} in {text}");
    }
}

#[tokio::test]
async fn a_ledger_that_does_not_answer_is_a_503_not_a_made_up_count() {
    let app = app();
    app.store.set_failing_narratives(true);
    let (status, body) = call(&app, request("GET", "/v1/digests", "", Some(READ))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    app.store.set_failing_narratives(false);
    let (status, _) = call(&app, request("GET", "/v1/digests", "", Some(READ))).await;
    assert_eq!(status, StatusCode::OK);
}

#[test]
fn the_openapi_schemas_of_a_narrative_and_the_counts_have_the_fields_serialised() {
    let doc = crate::openapi::document();
    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        keys(&schemas["Narrative"]["properties"]),
        keys(&narrative())
    );
    let counts = lookout_core::digest::narrative::NarrationCounts::default();
    assert_eq!(
        keys(&schemas["NarrationCounts"]["properties"]),
        keys(&serde_json::to_value(counts).unwrap())
    );
    let shown = lookout_core::digest::narrative::Narrative {
        generated: true,
        model: "m".into(),
        text: "t".into(),
        generated_at: 1,
        prompt_tokens: 1,
        completion_tokens: 1,
    };
    assert_eq!(
        keys(&narrative()),
        keys(&serde_json::to_value(shown).unwrap())
    );
    for field in ["scope", "digests", "next_before", "narratives"] {
        assert!(
            schemas["DigestsAnswer"]["properties"][field].is_object(),
            "{field}"
        );
    }
    for field in [
        "configured",
        "model",
        "month",
        "tokens_used",
        "monthly_token_budget",
    ] {
        assert!(
            schemas["NarrativesView"]["properties"][field].is_object(),
            "{field}"
        );
    }
    let answer = &doc["paths"]["/v1/digests"]["get"]["responses"]["200"];
    assert!(answer.to_string().contains("DigestsAnswer"), "{answer}");
}

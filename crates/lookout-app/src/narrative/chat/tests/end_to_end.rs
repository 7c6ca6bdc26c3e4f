//! The digest run with the client against the loopback provider: targets holding secrets in
//! every place a definition can, an hour of failures so that every digest says something, and
//! `LOOKOUT_LLM_SCOPES=notable`. No request to the model holds a secret.

use super::*;
use crate::memory::{MemoryPublisher, MemoryStore};
use crate::ports::{DigestStore, StateStore, TargetStore};
use lookout_core::digest::report::GLOBAL;
use lookout_core::domain::{Target, TargetKind};

/// Every secret a target holds below, and the API key.
const SECRETS: [&str; 7] = [
    "S3cr3t-url",
    "S3cr3t-header",
    "S3cr3t-proxy",
    "S3cr3t-body",
    "S3cr3t-tcp",
    "S3cr3t-name",
    KEY,
];

fn targets() -> Vec<Target> {
    [
        json!({"id": "web", "group": "shop", "kind": "server",
               "name": "web https://ops:S3cr3t-name@wiki.example/runbook",
               "url": "https://user:S3cr3t-url@web.example/health",
               "method": "POST",
               "headers": {"Authorization": "Bearer S3cr3t-header"},
               "body": "{\"token\": \"S3cr3t-body\"}"}),
        json!({"id": "px", "group": "pool", "kind": "proxy",
               "proxy_url": "http://user:S3cr3t-proxy@10.0.0.5:3128",
               "test_urls": ["http://example.com/"]}),
        json!({"id": "redis", "group": "cache", "kind": "tcp", "host": "10.0.0.6", "port": 6379,
               "send": "AUTH S3cr3t-tcp\r\nPING\r\n", "expect_prefix": "+OK"}),
    ]
    .into_iter()
    .map(|t| Target::from_json(t).unwrap())
    .collect()
}

/// One probe run a minute through `hour` for `ids` of run `kind`: every `every`-th minute
/// failed.
async fn probe_hour(store: &MemoryStore, kind: TargetKind, ids: &[&str], every: i64) {
    let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    for (at, latest) in crate::testing::minute_runs(&ids, kind, HOUR, |_, minute| {
        (minute % every != 0).then_some(120)
    }) {
        store.record_run(kind, at, &latest, true).await.unwrap();
    }
}

#[tokio::test]
async fn no_secret_of_any_target_reaches_the_model_and_the_narrative_lands_on_the_digest() {
    let store = MemoryStore::default();
    for t in targets() {
        store.create_target(&t).await.unwrap();
    }
    probe_hour(&store, TargetKind::Server, &["web", "redis"], 4).await;
    probe_hour(&store, TargetKind::Proxy, &["px"], 5).await;
    let provider = Provider::start(Expect::openai(), |r| {
        let scope = serde_json::from_slice::<Value>(&r.body)
            .ok()
            .and_then(|b| b["messages"][1]["content"].as_str().map(str::to_string))
            .and_then(|facts| serde_json::from_str::<Value>(&facts).ok())
            .and_then(|f| f["scope"].as_str().map(str::to_string))
            .unwrap_or_default();
        Reply::json(
            200,
            &completion(
                json!({"role": "assistant", "content": format!("Story of {scope}.")}),
                "stop",
            ),
        )
    })
    .await;
    let c = Some(client(
        &provider.base(),
        &[("LOOKOUT_LLM_SCOPES", "notable")],
    ));
    let publisher = MemoryPublisher::default();
    let now = HOUR + 3_600_000 + 60_000;
    let report = crate::usecases::digest_run::run(&store, &publisher, &c, HOUR, now)
        .await
        .unwrap();

    // The global digest and the three targets' (each failed checks): four calls.
    let requests = provider.server.requests();
    assert_eq!(requests.len(), 4, "{:#?}", report.global.narration);
    let problems = provider.problems.lock().unwrap().clone();
    assert!(problems.is_empty(), "request format: {problems:?}");
    for r in &requests {
        let body = String::from_utf8_lossy(&r.body);
        for secret in SECRETS {
            assert!(!body.contains(secret), "{secret} sent in {body}");
        }
        // Escaped in JSON or not, no part of a secret either.
        assert!(!body.contains("S3cr3t"), "{body}");
    }
    // The requests did carry the digests' facts (the target ids and their failures).
    let sent: String = requests
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    for id in ["web", "px", "redis"] {
        assert!(
            sent.contains(&format!("\\\"scope\\\":\\\"{id}\\\"")),
            "{id}"
        );
    }

    let global = store.digests(GLOBAL, i64::MAX, 1).await.unwrap().remove(0);
    let narrative = global
        .narrative
        .clone()
        .expect("a narrative on the global digest");
    assert!(narrative.generated);
    assert_eq!(narrative.text, "Story of global.");
    assert_eq!(narrative.model, "gpt-4o-mini-2024-07-18");
    assert_eq!(narrative.tokens(), 853);
    let counts = global.narration.expect("the run's counts");
    assert_eq!(
        (counts.considered, counts.written, counts.failed),
        (4, 4, 0)
    );
    assert_eq!(counts.tokens, 4 * 853);
    let web = store.digests("web", i64::MAX, 1).await.unwrap().remove(0);
    assert_eq!(web.narrative.unwrap().text, "Story of web.");
    // The target's name (with its URL) is in the built-in summary: the prompt masked it.
    assert!(web.summary.contains("wiki.example"), "{}", web.summary);
}

//! The narrative ledger against DynamoDB Local: one call per scope and hour among concurrent
//! claims, outcomes recorded and read back, the month's tokens reserved by one conditional
//! write (never past the budget), give-backs, TTLs and the dump's item type of both item
//! shapes; and the digest run over the table with a scripted summariser.

use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::json;

use crate::common;
use lookout_app::memory::MemoryPublisher;
use lookout_app::ports::{
    DigestStore, ItemType, NarrativeClaim, NarrativeLedger, StateStore, TargetStore,
};
use lookout_app::usecases::digest_run;
use lookout_aws::dynamodb::{item_type, DynamoStore};
use lookout_core::digest::narrative::{NarrationPolicy, Narrative, Summary};
use lookout_core::digest::report::{Digest, Summariser, SummaryError, GLOBAL};
use lookout_core::digest::rollup::HOUR_MS;
use lookout_core::domain::{Target, TargetKind};

/// 2026-11-21T14:00Z.
const HOUR: i64 = 1_795_269_600_000;
const NOW: i64 = HOUR + HOUR_MS + 60_000;
const MONTH: &str = "2026-11";
/// 2026-11-01T00:00Z, s.
const MONTH_START_S: i64 = 1_793_491_200;

struct Table {
    store: DynamoStore,
    ddb: aws_sdk_dynamodb::Client,
    name: String,
}

async fn table() -> Table {
    let aws = common::aws().await;
    let (ddb, name) = common::fresh_table(&aws).await;
    Table {
        store: DynamoStore::new(ddb.clone(), name.clone(), 30),
        ddb,
        name,
    }
}

impl Table {
    /// The item at `pk`/`sk`, read directly.
    async fn item(
        &self,
        pk: &str,
        sk: &str,
    ) -> Option<std::collections::HashMap<String, AttributeValue>> {
        self.ddb
            .get_item()
            .table_name(&self.name)
            .key("pk", AttributeValue::S(pk.into()))
            .key("sk", AttributeValue::S(sk.into()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
    }
}

fn narrative(text: &str) -> Narrative {
    Narrative {
        generated: true,
        model: "gpt-4o-mini".into(),
        text: text.into(),
        generated_at: NOW + 1_234,
        prompt_tokens: 812,
        completion_tokens: 240,
    }
}

#[tokio::test]
async fn eight_concurrent_claims_of_one_hour_grant_exactly_one() {
    let t = table().await;
    let claims =
        futures::future::join_all((0..8).map(|i| t.store.claim_narrative(GLOBAL, HOUR, NOW + i)))
            .await;
    let claims: Vec<NarrativeClaim> = claims.into_iter().map(Result::unwrap).collect();
    let granted = claims
        .iter()
        .filter(|c| **c == NarrativeClaim::Granted)
        .count();
    assert_eq!(granted, 1, "{claims:?}");
    for c in claims.iter().filter(|c| **c != NarrativeClaim::Granted) {
        assert_eq!(*c, NarrativeClaim::Tried("claimed".into()));
    }
    // Another scope, another hour: their own calls.
    assert_eq!(
        t.store.claim_narrative("api", HOUR, NOW).await.unwrap(),
        NarrativeClaim::Granted
    );
    assert_eq!(
        t.store
            .claim_narrative(GLOBAL, HOUR + HOUR_MS, NOW)
            .await
            .unwrap(),
        NarrativeClaim::Granted
    );
}

#[tokio::test]
async fn recorded_outcomes_are_what_later_claims_find() {
    let t = table().await;
    let n = narrative("An hour of 3 targets, one slow; in other words.");
    assert_eq!(
        t.store.claim_narrative(GLOBAL, HOUR, NOW).await.unwrap(),
        NarrativeClaim::Granted
    );
    t.store
        .record_narrative(GLOBAL, HOUR, Ok(&n))
        .await
        .unwrap();
    assert_eq!(
        t.store.claim_narrative(GLOBAL, HOUR, NOW).await.unwrap(),
        NarrativeClaim::Done(n)
    );
    // A release does not remove a recorded outcome.
    t.store.release_narrative(GLOBAL, HOUR).await.unwrap();
    assert!(matches!(
        t.store.claim_narrative(GLOBAL, HOUR, NOW).await.unwrap(),
        NarrativeClaim::Done(_)
    ));

    assert_eq!(
        t.store.claim_narrative("api", HOUR, NOW).await.unwrap(),
        NarrativeClaim::Granted
    );
    t.store
        .record_narrative("api", HOUR, Err("timeout: no answer in 20000 ms"))
        .await
        .unwrap();
    assert_eq!(
        t.store.claim_narrative("api", HOUR, NOW).await.unwrap(),
        NarrativeClaim::Tried("timeout: no answer in 20000 ms".into())
    );
    // A long reason is cut (300 characters), on one line.
    let long = format!("failed: {}\n{}", "x".repeat(400), "y");
    t.store
        .record_narrative("db", HOUR, Err(&long))
        .await
        .unwrap();
    let NarrativeClaim::Tried(why) = t.store.claim_narrative("db", HOUR, NOW).await.unwrap() else {
        panic!("not tried")
    };
    assert_eq!(why.chars().count(), 300);
    assert!(!why.contains('\n'));

    // A bare claim given back: the next claim is granted again.
    assert_eq!(
        t.store.claim_narrative("web", HOUR, NOW).await.unwrap(),
        NarrativeClaim::Granted
    );
    t.store.release_narrative("web", HOUR).await.unwrap();
    assert!(t.item("NARRATIVE#web", &ms_key(HOUR)).await.is_none());
    assert_eq!(
        t.store.claim_narrative("web", HOUR, NOW).await.unwrap(),
        NarrativeClaim::Granted
    );
    // Nothing to give back is not an error.
    t.store.release_narrative("none", HOUR).await.unwrap();
}

/// The sort key of an hour as `keys::ms_key` writes it (epoch ms, 13 digits).
fn ms_key(ms: i64) -> String {
    format!("{ms:013}")
}

#[tokio::test]
async fn twenty_concurrent_reservations_fill_the_budget_exactly() {
    let t = table().await;
    let got =
        futures::future::join_all((0..20).map(|_| t.store.reserve_tokens(MONTH, 100, 1_000))).await;
    let granted = got.into_iter().filter(|r| *r.as_ref().unwrap()).count();
    assert_eq!(granted, 10);
    assert_eq!(t.store.tokens_used(MONTH).await.unwrap(), 1_000);
    // Given back, then a call that used more than its bound.
    t.store.adjust_tokens(MONTH, -300).await.unwrap();
    assert_eq!(t.store.tokens_used(MONTH).await.unwrap(), 700);
    t.store.adjust_tokens(MONTH, 50).await.unwrap();
    assert_eq!(t.store.tokens_used(MONTH).await.unwrap(), 750);
    assert!(!t.store.reserve_tokens(MONTH, 251, 1_000).await.unwrap());
    assert!(t.store.reserve_tokens(MONTH, 250, 1_000).await.unwrap());
    assert_eq!(t.store.tokens_used(MONTH).await.unwrap(), 1_000);
    // Other months are their own.
    assert_eq!(t.store.tokens_used("2026-12").await.unwrap(), 0);
}

#[tokio::test]
async fn a_reservation_bigger_than_the_budget_adds_nothing() {
    let t = table().await;
    assert!(!t.store.reserve_tokens(MONTH, 1_001, 1_000).await.unwrap());
    assert_eq!(t.store.tokens_used(MONTH).await.unwrap(), 0);
    assert!(t.store.reserve_tokens(MONTH, 1_000, 1_000).await.unwrap());
    assert!(!t.store.reserve_tokens(MONTH, 1, 1_000).await.unwrap());
    assert_eq!(t.store.tokens_used(MONTH).await.unwrap(), 1_000);
}

#[tokio::test]
async fn a_give_back_never_makes_a_count_negative() {
    let t = table().await;
    // No record of the month: nothing to give back from, and no negative count appears.
    t.store.adjust_tokens(MONTH, -500).await.unwrap();
    assert_eq!(t.store.tokens_used(MONTH).await.unwrap(), 0);
    assert!(t.item("NARRATIVE_TOKENS", MONTH).await.is_none());
    assert!(t.store.reserve_tokens(MONTH, 1_000, 1_000).await.unwrap());
    assert!(!t.store.reserve_tokens(MONTH, 1, 1_000).await.unwrap());
    // More given back than counted: 0.
    t.store.adjust_tokens(MONTH, -5_000).await.unwrap();
    assert_eq!(t.store.tokens_used(MONTH).await.unwrap(), 0);
    let item = t.item("NARRATIVE_TOKENS", MONTH).await.unwrap();
    assert_eq!(item["tokens"], AttributeValue::N("0".into()));
}

#[tokio::test]
async fn both_item_shapes_carry_a_ttl_and_dump_as_rollups() {
    let t = table().await;
    t.store.claim_narrative(GLOBAL, HOUR, NOW).await.unwrap();
    t.store.claim_narrative("api", HOUR, NOW).await.unwrap();
    t.store
        .record_narrative("api", HOUR, Ok(&narrative("fine")))
        .await
        .unwrap();
    t.store.adjust_tokens(MONTH, 10).await.unwrap();
    assert!(t.store.reserve_tokens("2026-12", 10, 100).await.unwrap());
    let call_ttl = HOUR / 1000 + 40 * 86_400;
    let shapes = [
        ("NARRATIVE#global", ms_key(HOUR), call_ttl),
        ("NARRATIVE#api", ms_key(HOUR), call_ttl),
        (
            "NARRATIVE_TOKENS",
            MONTH.to_string(),
            MONTH_START_S + 400 * 86_400,
        ),
        (
            "NARRATIVE_TOKENS",
            "2026-12".to_string(),
            MONTH_START_S + 30 * 86_400 + 400 * 86_400,
        ),
    ];
    for (pk, sk, ttl) in shapes {
        let item = t.item(pk, &sk).await.unwrap_or_else(|| panic!("{pk}/{sk}"));
        assert_eq!(
            item.get("expires_at"),
            Some(&AttributeValue::N(ttl.to_string())),
            "{pk}/{sk}"
        );
        let as_json = json!({"pk": {"S": pk}, "sk": {"S": sk}});
        assert_eq!(item_type(&as_json), ItemType::Rollups, "{pk}/{sk}");
    }
}

/// Answers every digest with a narrative of 300 + 50 tokens, counting its calls.
struct Scripted {
    calls: AtomicUsize,
}

impl Summariser for Scripted {
    fn policy(&self) -> NarrationPolicy {
        NarrationPolicy {
            monthly_token_budget: Some(100_000),
            ..NarrationPolicy::default()
        }
    }

    fn token_bound(&self, _digest: &Digest) -> u64 {
        1_000
    }

    async fn summarise(&self, digest: &Digest) -> Result<Summary, SummaryError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(Summary {
            text: format!("The hour of {} retold.", digest.scope),
            model: "scripted-1".into(),
            prompt_tokens: 300,
            completion_tokens: 50,
        })
    }
}

#[tokio::test]
async fn the_digest_run_over_the_table_calls_once_for_two_runs_of_the_hour() {
    let t = table().await;
    for id in ["api", "db"] {
        let target: Target = serde_json::from_value(json!({"id": id, "group": "web",
            "kind": "server", "url": format!("https://{id}.example/health")}))
        .unwrap();
        t.store
            .create_target(&target.validate().unwrap())
            .await
            .unwrap();
    }
    let ids = vec!["api".to_string(), "db".to_string()];
    let runs = lookout_app::testing::minute_runs(&ids, TargetKind::Server, HOUR, |_, m| {
        Some(100 + m as u64)
    });
    for (at, latest) in runs {
        t.store
            .record_run(TargetKind::Server, at, &latest, true)
            .await
            .unwrap();
    }
    let llm = Scripted {
        calls: AtomicUsize::new(0),
    };
    let publisher = MemoryPublisher::default();
    let first = digest_run::run(&t.store, &publisher, &llm, HOUR, NOW)
        .await
        .unwrap();
    let stored_first = t
        .store
        .digests(GLOBAL, i64::MAX, 1)
        .await
        .unwrap()
        .remove(0);
    let second = digest_run::run(&t.store, &publisher, &llm, HOUR, NOW + 60_000)
        .await
        .unwrap();
    let stored_second = t
        .store
        .digests(GLOBAL, i64::MAX, 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(llm.calls.load(Ordering::SeqCst), 1);
    let n = stored_first.narrative.clone().expect("a narrative");
    assert_eq!(n.text, "The hour of global retold.");
    assert_eq!(stored_second.narrative, Some(n));
    assert_eq!(first.global.narration.unwrap().written, 1);
    let counts = stored_second.narration.unwrap();
    assert_eq!(
        (counts.considered, counts.reused, counts.written),
        (1, 1, 0)
    );
    assert_eq!(second.global.narration, Some(counts));
    assert_eq!(t.store.tokens_used(MONTH).await.unwrap(), 350);
}

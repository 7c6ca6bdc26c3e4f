//! The narrate step with the memory store and a scripted summariser (no network: the chat
//! client has its own loopback tests).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::json;

use super::*;
use crate::memory::{MemoryPublisher, MemoryStore};
use crate::ports::{DigestStore, StateStore, TargetStore};
use crate::usecases::digest_run::{run, DigestReport};
use lookout_core::digest::narrative::Summary;
use lookout_core::digest::report::{NoSummariser, GLOBAL};
use lookout_core::digest::rollup::HOUR_MS;
use lookout_core::domain::{Target, TargetKind};

/// 2026-11-21T14:00Z.
const HOUR: i64 = 1_795_269_600_000;
/// A minute after the hour ended.
const NOW: i64 = HOUR + HOUR_MS + 60_000;

/// What the scripted summariser answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// A narrative; the server counted these prompt and completion tokens.
    Text(u64, u64),
    /// A narrative of only white space.
    Blank,
    Failed,
    /// The request never left (the guard, the key, the connection).
    NotSent,
    TimedOut,
    Refused,
    RateLimited,
}

/// A summariser that answers as told and counts its calls.
struct Scripted {
    answer: Answer,
    policy: NarrationPolicy,
    bound: u64,
    delay: Duration,
    calls: AtomicUsize,
    scopes: Mutex<Vec<String>>,
}

impl Scripted {
    fn new(answer: Answer) -> Self {
        Scripted {
            answer,
            policy: NarrationPolicy::default(),
            bound: 1_000,
            delay: Duration::ZERO,
            calls: AtomicUsize::new(0),
            scopes: Mutex::new(Vec::new()),
        }
    }

    fn budget(mut self, tokens: u64) -> Self {
        self.policy.monthly_token_budget = Some(tokens);
        self
    }

    fn notable(mut self) -> Self {
        self.policy.scopes = NarrativeScopes::Notable;
        self
    }

    fn bound(mut self, tokens: u64) -> Self {
        self.bound = tokens;
        self
    }

    fn delay(mut self, ms: u64) -> Self {
        self.delay = Duration::from_millis(ms);
        self
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn scopes(&self) -> Vec<String> {
        let mut v = self.scopes.lock().unwrap().clone();
        v.sort();
        v
    }
}

impl Summariser for Scripted {
    fn policy(&self) -> NarrationPolicy {
        self.policy
    }

    fn token_bound(&self, _digest: &Digest) -> u64 {
        self.bound
    }

    async fn summarise(&self, digest: &Digest) -> Result<Summary, SummaryError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.scopes.lock().unwrap().push(digest.scope.clone());
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let summary = |text: &str, prompt_tokens, completion_tokens| Summary {
            text: text.into(),
            model: "scripted-1".into(),
            prompt_tokens,
            completion_tokens,
        };
        match self.answer {
            Answer::Text(p, c) => Ok(summary(
                &format!("  The hour of {} in other words.\n", digest.scope),
                p,
                c,
            )),
            Answer::Blank => Ok(summary(" \n ", 10, 0)),
            Answer::NotSent => Err(SummaryError::NotSent(
                "connect: Connection refused (os error 111)".into(),
            )),
            Answer::Failed => Err(SummaryError::Failed(
                "HTTP 500 from https://user:hunter2@llm.example/v1".into(),
            )),
            Answer::TimedOut => Err(SummaryError::TimedOut("no answer in 20000 ms".into())),
            Answer::Refused => Err(SummaryError::Refused("content_filter".into())),
            Answer::RateLimited => Err(SummaryError::RateLimited("HTTP 429".into())),
        }
    }
}

/// `calm` (healthy, quiet: its digest is not stored) and `slow` (a failure every 8 minutes:
/// notable), with one hour of checks.
async fn two_targets() -> MemoryStore {
    let store = MemoryStore::default();
    for id in ["calm", "slow"] {
        let t: Target = serde_json::from_value(
            json!({"id": id, "name": format!("{id} api"), "group": "g", "kind": "server",
                   "url": format!("https://{id}.example/health")}),
        )
        .unwrap();
        store.create_target(&t.validate().unwrap()).await.unwrap();
    }
    let ids = vec!["calm".to_string(), "slow".to_string()];
    let runs = crate::testing::minute_runs(&ids, TargetKind::Server, HOUR, |id, minute| match id {
        "slow" if minute % 8 == 0 => None,
        _ => Some(100 + (minute as u64 % 7) * 10),
    });
    for (at, latest) in runs {
        store
            .record_run(TargetKind::Server, at, &latest, true)
            .await
            .unwrap();
    }
    store
}

async fn digest_run<M: Summariser + Sync>(store: &MemoryStore, summariser: &M) -> DigestReport {
    run(store, &MemoryPublisher::default(), summariser, HOUR, NOW)
        .await
        .unwrap()
}

async fn stored(store: &MemoryStore, scope: &str) -> Option<Digest> {
    store.digests(scope, i64::MAX, 1).await.unwrap().pop()
}

/// Sets the counts a run should report.
type SetCounts = fn(&mut NarrationCounts);

/// The counts of a run with only the named ones set.
fn counts(considered: u32, set: impl FnOnce(&mut NarrationCounts)) -> NarrationCounts {
    let mut c = NarrationCounts {
        considered,
        ..NarrationCounts::default()
    };
    set(&mut c);
    c
}

#[tokio::test]
async fn the_global_digest_gets_the_narrative_and_the_counts() {
    let store = two_targets().await;
    let llm = Scripted::new(Answer::Text(300, 50));
    let report = digest_run(&store, &llm).await;
    let global = stored(&store, GLOBAL).await.unwrap();
    assert_eq!(global, report.global);
    let n = global.narrative.as_ref().expect("a narrative");
    assert!(n.generated);
    assert_eq!(n.model, "scripted-1");
    assert_eq!(n.text, "The hour of global in other words.");
    assert_eq!((n.prompt_tokens, n.completion_tokens), (300, 50));
    assert!(n.generated_at >= NOW, "{n:?}");
    assert_eq!(
        global.narration,
        Some(counts(1, |c| {
            c.written = 1;
            c.tokens = 350;
        }))
    );
    assert_eq!(llm.scopes(), ["global"]);
    // The narrative is a second text: the built-in one is there as without a summariser.
    let plain = digest_run(&two_targets().await, &NoSummariser).await;
    assert_eq!(global.summary, plain.global.summary);
}

#[tokio::test]
async fn a_second_run_of_the_hour_makes_no_call_and_keeps_the_narrative() {
    let store = two_targets().await;
    let llm = Scripted::new(Answer::Text(300, 50)).budget(100_000);
    let first = digest_run(&store, &llm).await;
    let second = digest_run(&store, &llm).await;
    assert_eq!(llm.calls(), 1);
    assert_eq!(second.global.narrative, first.global.narrative);
    assert!(second.global.narrative.is_some());
    assert_eq!(second.global.narration, Some(counts(1, |c| c.reused = 1)));
    let global = stored(&store, GLOBAL).await.unwrap();
    assert_eq!(global.narrative, first.global.narrative);
    // The reuse reserved nothing: the month holds the first call's tokens only.
    assert_eq!(store.tokens_used(&month_of(NOW)).await.unwrap(), 350);
}

#[tokio::test]
async fn a_call_without_a_narrative_is_not_made_again_and_the_built_in_digest_is_untouched() {
    let plain = digest_run(&two_targets().await, &NoSummariser).await;
    let plain_json = serde_json::to_string(&plain.global).unwrap();
    let cases: [(Answer, SetCounts); 5] = [
        (Answer::Failed, |c| c.failed = 1),
        (Answer::TimedOut, |c| c.timed_out = 1),
        (Answer::Refused, |c| c.refused = 1),
        (Answer::Blank, |c| c.refused = 1),
        (Answer::RateLimited, |c| c.rate_limited = 1),
    ];
    for (answer, set) in cases {
        let store = two_targets().await;
        let llm = Scripted::new(answer);
        let first = digest_run(&store, &llm).await;
        assert_eq!(first.global.narration, Some(counts(1, set)), "{answer:?}");
        assert_eq!(first.global.narrative, None, "{answer:?}");
        // Byte for byte the digest of a run without a summariser, but for the counts.
        let mut global = stored(&store, GLOBAL).await.unwrap();
        assert!(global.narration.take().is_some());
        assert_eq!(
            serde_json::to_string(&global).unwrap(),
            plain_json,
            "{answer:?}"
        );
        let again = digest_run(&store, &llm).await;
        assert_eq!(llm.calls(), 1, "{answer:?}");
        assert_eq!(
            again.global.narration,
            Some(counts(1, |c| c.already_tried = 1)),
            "{answer:?}"
        );
        assert_eq!(again.global.summary, plain.global.summary);
        assert_eq!(again.global.recommendations, plain.global.recommendations);
    }
}

#[tokio::test]
async fn notable_narrates_the_stored_target_digests_and_not_quiet_ones() {
    let store = two_targets().await;
    let llm = Scripted::new(Answer::Text(200, 40)).notable();
    let report = digest_run(&store, &llm).await;
    assert_eq!(llm.scopes(), ["global", "slow"]);
    assert_eq!(
        report.global.narration,
        Some(counts(2, |c| {
            c.written = 2;
            c.tokens = 480;
        }))
    );
    let slow = stored(&store, "slow").await.unwrap();
    assert_eq!(
        slow.narrative.map(|n| n.text),
        Some("The hour of slow in other words.".to_string())
    );
    assert_eq!(
        slow.narration, None,
        "counts live on the global digest only"
    );
    assert!(stored(&store, "calm").await.is_none());
    assert!(stored(&store, GLOBAL).await.unwrap().narrative.is_some());
}

#[tokio::test]
async fn global_narrates_only_the_global_digest() {
    let store = two_targets().await;
    let llm = Scripted::new(Answer::Text(200, 40));
    let report = digest_run(&store, &llm).await;
    assert_eq!(llm.scopes(), ["global"]);
    assert_eq!(report.global.narration.unwrap().considered, 1);
    let slow = stored(&store, "slow").await.unwrap();
    assert_eq!(slow.narrative, None);
}

#[tokio::test]
async fn a_budget_smaller_than_the_bound_makes_no_call_and_leaves_the_hour_to_a_later_run() {
    let store = two_targets().await;
    let llm = Scripted::new(Answer::Text(300, 50)).bound(500).budget(499);
    let report = digest_run(&store, &llm).await;
    assert_eq!(llm.calls(), 0);
    assert_eq!(
        report.global.narration,
        Some(counts(1, |c| c.over_budget = 1))
    );
    assert_eq!(report.global.narrative, None);
    assert_eq!(store.tokens_used(&month_of(NOW)).await.unwrap(), 0);
    // The claim was given back: once the budget has room, a re-run of the hour calls.
    let roomier = Scripted::new(Answer::Text(300, 50)).bound(500).budget(500);
    let again = digest_run(&store, &roomier).await;
    assert_eq!(roomier.calls(), 1);
    assert_eq!(again.global.narration.unwrap().written, 1);
    assert_eq!(store.tokens_used(&month_of(NOW)).await.unwrap(), 350);
}

#[tokio::test]
async fn the_reservation_is_settled_to_what_the_call_used() {
    // (answer, bound, tokens the month holds afterwards)
    let cases = [
        (Answer::Text(300, 50), 1_000, 350),
        // The server counted nothing: the call is charged its bound.
        (Answer::Text(0, 0), 1_000, 1_000),
        // More than the bound: the month says what was used.
        (Answer::Text(900, 300), 1_000, 1_200),
        (Answer::TimedOut, 1_000, 1_000),
        (Answer::Failed, 1_000, 1_000),
        (Answer::Refused, 1_000, 1_000),
        (Answer::RateLimited, 1_000, 0),
        // Never sent: nothing to charge.
        (Answer::NotSent, 1_000, 0),
    ];
    for (answer, bound, used) in cases {
        let store = two_targets().await;
        store.adjust_tokens(&month_of(NOW), 5_000).await.unwrap();
        let llm = Scripted::new(answer).bound(bound).budget(100_000);
        digest_run(&store, &llm).await;
        assert_eq!(llm.calls(), 1);
        assert_eq!(
            store.tokens_used(&month_of(NOW)).await.unwrap(),
            5_000 + used,
            "{answer:?}"
        );
    }
}

#[tokio::test]
async fn the_give_back_goes_to_the_month_of_the_reservation() {
    let store = MemoryStore::default();
    // 2026-11-30T23:59:59.998Z: the call ends in December.
    let now = 1_796_083_199_998;
    assert_eq!(month_of(now), "2026-11");
    assert_eq!(month_of(now + 2), "2026-12");
    let llm = Scripted::new(Answer::Text(300, 50))
        .budget(10_000)
        .delay(20);
    let mut global = lookout_core::digest::report::global_digest(
        now - now % HOUR_MS - HOUR_MS,
        &[],
        Vec::new(),
        now,
    );
    let counts = narrate(&store, &llm, &mut global, &mut [], now).await;
    assert_eq!(counts.written, 1);
    assert!(global.narrative.unwrap().generated_at >= now + 20);
    assert_eq!(store.tokens_used("2026-11").await.unwrap(), 350);
    assert_eq!(store.tokens_used("2026-12").await.unwrap(), 0);
}

#[tokio::test]
async fn concurrent_runs_of_the_hour_make_one_call() {
    let store = two_targets().await;
    let llm = Scripted::new(Answer::Text(300, 50)).delay(50);
    let (a, b) = tokio::join!(digest_run(&store, &llm), digest_run(&store, &llm));
    assert_eq!(llm.calls(), 1);
    let mut got = [a.global.narration.unwrap(), b.global.narration.unwrap()];
    got.sort_by_key(|c| c.written);
    assert_eq!(got[0], counts(1, |c| c.already_tried = 1));
    assert_eq!(got[1].written, 1);
}

#[tokio::test]
async fn a_failing_ledger_is_counted_and_the_run_still_writes_its_digests() {
    let store = two_targets().await;
    store.set_failing_narratives(true);
    let llm = Scripted::new(Answer::Text(300, 50))
        .notable()
        .budget(10_000);
    let report = digest_run(&store, &llm).await;
    assert_eq!(llm.calls(), 0);
    assert_eq!(
        report.global.narration,
        Some(counts(2, |c| c.store_errors = 2))
    );
    let global = stored(&store, GLOBAL).await.unwrap();
    assert_eq!(global.narration, report.global.narration);
    assert_eq!(global.narrative, None);
    assert!(stored(&store, "slow").await.is_some());
}

#[tokio::test]
async fn without_a_summariser_the_digest_has_no_narration_field() {
    let store = two_targets().await;
    let report = digest_run(&store, &NoSummariser).await;
    let json = serde_json::to_value(stored(&store, GLOBAL).await.unwrap()).unwrap();
    assert!(json.get("narration").is_none(), "{json}");
    assert!(json.get("narrative").is_none(), "{json}");
    assert_eq!(report.global.narration, None);
    // An unconfigured one (`Option::None`) is the same, and touches no ledger.
    let other = two_targets().await;
    other.set_failing_narratives(true);
    let none = digest_run(&other, &None::<Scripted>).await;
    assert_eq!(
        serde_json::to_value(&none.global).unwrap(),
        serde_json::to_value(&report.global).unwrap()
    );
}

#[tokio::test]
async fn the_reason_recorded_for_a_failed_call_holds_no_credentials() {
    let store = two_targets().await;
    digest_run(&store, &Scripted::new(Answer::Failed)).await;
    let claim = store.claim_narrative(GLOBAL, HOUR, NOW).await.unwrap();
    let NarrativeClaim::Tried(why) = claim else {
        panic!("{claim:?}")
    };
    assert!(why.starts_with("failed: HTTP 500"), "{why}");
    assert!(!why.contains("hunter2"), "{why}");
}

#[tokio::test]
async fn the_memory_ledger_claims_once_and_releases_only_a_bare_claim() {
    let store = MemoryStore::default();
    assert_eq!(
        store.claim_narrative("a", HOUR, NOW).await.unwrap(),
        NarrativeClaim::Granted
    );
    assert_eq!(
        store.claim_narrative("a", HOUR, NOW).await.unwrap(),
        NarrativeClaim::Tried("claimed".into())
    );
    // Another scope or hour is its own.
    assert_eq!(
        store.claim_narrative("b", HOUR, NOW).await.unwrap(),
        NarrativeClaim::Granted
    );
    assert_eq!(
        store
            .claim_narrative("a", HOUR + HOUR_MS, NOW)
            .await
            .unwrap(),
        NarrativeClaim::Granted
    );
    store.release_narrative("a", HOUR).await.unwrap();
    assert_eq!(
        store.claim_narrative("a", HOUR, NOW).await.unwrap(),
        NarrativeClaim::Granted
    );
    store
        .record_narrative("a", HOUR, Err("timeout: x"))
        .await
        .unwrap();
    store.release_narrative("a", HOUR).await.unwrap();
    assert_eq!(
        store.claim_narrative("a", HOUR, NOW).await.unwrap(),
        NarrativeClaim::Tried("timeout: x".into())
    );
    // Tokens: a reservation fits or adds nothing; a give-back never goes below 0.
    assert!(store.reserve_tokens("2026-11", 600, 1_000).await.unwrap());
    assert!(!store.reserve_tokens("2026-11", 401, 1_000).await.unwrap());
    assert!(store.reserve_tokens("2026-11", 400, 1_000).await.unwrap());
    assert_eq!(store.tokens_used("2026-11").await.unwrap(), 1_000);
    store.adjust_tokens("2026-11", -5_000).await.unwrap();
    assert_eq!(store.tokens_used("2026-11").await.unwrap(), 0);
}

/// A summariser that looks in the store, when called, for the built-in global digest of the
/// hour.
struct Peeking<'a> {
    store: &'a MemoryStore,
    saw_stored: Mutex<Option<bool>>,
}

impl Summariser for Peeking<'_> {
    fn token_bound(&self, _digest: &Digest) -> u64 {
        100
    }

    async fn summarise(&self, digest: &Digest) -> Result<Summary, SummaryError> {
        let stored = stored(self.store, GLOBAL).await;
        *self.saw_stored.lock().unwrap() =
            Some(stored.is_some_and(|d| d.start == digest.start && d.narrative.is_none()));
        Err(SummaryError::TimedOut("slow".into()))
    }
}

#[tokio::test]
async fn the_built_in_digests_are_stored_before_the_model_is_asked() {
    let store = two_targets().await;
    let llm = Peeking {
        store: &store,
        saw_stored: Mutex::new(None),
    };
    let report = digest_run(&store, &llm).await;
    assert_eq!(*llm.saw_stored.lock().unwrap(), Some(true));
    // And written again with the counts afterwards.
    let global = stored(&store, GLOBAL).await.unwrap();
    assert_eq!(global, report.global);
    assert_eq!(global.narration.map(|c| c.timed_out), Some(1));
}

#[tokio::test]
async fn past_the_window_no_call_starts_and_the_hour_stays_open() {
    let store = two_targets().await;
    let llm = Scripted::new(Answer::Text(300, 50));
    let mut global = lookout_core::digest::report::global_digest(HOUR, &[], Vec::new(), NOW);
    let got = narrate_within(&store, &llm, &mut global, &mut [], NOW, Duration::ZERO).await;
    assert_eq!(got, counts(1, |c| c.deferred = 1));
    assert_eq!(llm.calls(), 0);
    assert!(global.narrative.is_none());
    // Not claimed: a later run of the hour calls.
    let got = narrate(&store, &llm, &mut global, &mut [], NOW).await;
    assert_eq!(got.written, 1);
    assert_eq!(llm.calls(), 1);
}

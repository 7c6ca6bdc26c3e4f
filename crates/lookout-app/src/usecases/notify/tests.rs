//! The notification flow against real loopback servers: retries, `Retry-After`, timeouts,
//! duplicates, retries through the API, and no secret anywhere.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::*;
use crate::clock::ManualClock;
use crate::memory::{MemoryMail, MemoryStore};
use crate::notify::HttpNotifier;
use crate::secrets::{MemorySecrets, SecretRef};
use crate::testing::{Reply, TestServer};
use lookout_core::domain::{AlertKind, Severity, Status, TargetKind};
use lookout_core::notify::delivery_id;

/// The signing secret of the test webhooks.
const SIGNING: &str = "whsec-signing-secret-0123";
/// The secret part of the test webhooks' URL.
const URL_TOKEN: &str = "T0KEN-in-the-url-path-9876";
const NOW: i64 = 1_700_000_000_000;

type TestNotifier<'a> = Notifier<&'a MemoryStore, &'a MemoryStore, HttpNotifier, MemoryMail>;

fn settings() -> NotifySettings {
    NotifySettings {
        attempts: 3,
        backoff_ms: 10,
        max_wait_ms: 5_000,
        ..NotifySettings::default()
    }
}

fn notifier<'a>(store: &'a MemoryStore, clock: &ManualClock) -> TestNotifier<'a> {
    Notifier {
        channels: store,
        log: store,
        http: HttpNotifier::allow_private(),
        mail: MemoryMail::default(),
        clock: Arc::new(clock.clone()),
        settings: settings(),
        secrets: Secrets::none(),
    }
}

fn webhook(base: &str) -> Channel {
    serde_json::from_value(
        serde_json::json!({"id": "hook", "name": "Hook", "kind": "webhook",
        "config": {"url": format!("{base}/hooks/{URL_TOKEN}"), "secret": SIGNING}}),
    )
    .unwrap()
}

fn alert() -> Alert {
    Alert {
        key: "web#down#1700000000000".into(),
        kind: AlertKind::StatusChange,
        severity: Severity::Critical,
        target_id: "web".into(),
        target_name: "Web".into(),
        target_kind: TargetKind::Server,
        group: "g".into(),
        old_status: Status::Healthy,
        new_status: Status::Down,
        at: NOW,
        subject: "Web is down".into(),
        text: "Web is down: connect refused".into(),
        targets: Vec::new(),
        changes: Vec::new(),
        tags: Vec::new(),
        locations: None,
        slo: None,
    }
}

/// A server answering its n-th request with `replies[n]` (the last one from then on), noting
/// when each request came.
struct Scripted {
    server: TestServer,
    times: Arc<Mutex<Vec<Instant>>>,
}

impl Scripted {
    async fn start(replies: Vec<Reply>) -> Scripted {
        let times = Arc::new(Mutex::new(Vec::new()));
        let (seen, n) = (times.clone(), AtomicUsize::new(0));
        let server = TestServer::start(move |_| {
            seen.lock().unwrap().push(Instant::now());
            let i = n.fetch_add(1, Ordering::SeqCst).min(replies.len() - 1);
            replies[i].clone()
        })
        .await;
        Scripted { server, times }
    }

    fn count(&self) -> usize {
        self.server.requests().len()
    }

    fn gap(&self, i: usize) -> Duration {
        let t = self.times.lock().unwrap();
        t[i + 1] - t[i]
    }
}

fn with_headers(status: u16, headers: &[(&str, &str)], body: &str) -> Reply {
    Reply::Http {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.as_bytes().to_vec(),
    }
}

fn ok() -> Reply {
    Reply::json(200, &serde_json::json!({"ok": true}))
}

#[tokio::test]
async fn a_delivery_is_signed_sent_once_and_recorded_sent() {
    let s = Scripted::start(vec![ok()]).await;
    let (store, clock) = (MemoryStore::default(), ManualClock::at(NOW));
    let n = notifier(&store, &clock);
    let c = webhook(&s.server.url);
    assert_eq!(n.deliver(&c, &alert()).await, ChannelResult::Sent);
    let got = &s.server.requests()[0];
    assert_eq!(got.path, format!("/hooks/{URL_TOKEN}"));
    let sig = got.header("x-lookout-signature").unwrap();
    let ts = got.header("x-lookout-timestamp").unwrap();
    let now_s = lookout_core::time::now_ms() / 1000;
    assert_eq!(
        crate::notify::sign::verify(SIGNING, ts, &got.body, sig, now_s, 300),
        Ok(())
    );
    let r = store.delivery("hook", &alert().key).await.unwrap().unwrap();
    assert_eq!(
        (r.status, r.attempts, r.provider_status),
        (DeliveryStatus::Sent, 1, Some(200))
    );
    assert_eq!(
        store.delivery_expires_at("hook", &alert().key),
        Some(NOW / 1000 + 30 * 86_400)
    );
    // The same alert again (an SNS duplicate): nothing sent.
    assert_eq!(
        n.deliver(&c, &alert()).await,
        ChannelResult::Duplicate(DeliveryStatus::Sent)
    );
    assert_eq!(s.count(), 1);
}

#[tokio::test]
async fn a_429_with_retry_after_is_honoured_before_the_next_request() {
    let s = Scripted::start(vec![
        with_headers(429, &[("retry-after", "1")], "slow down"),
        ok(),
    ])
    .await;
    let (store, clock) = (MemoryStore::default(), ManualClock::at(NOW));
    let n = notifier(&store, &clock);
    assert_eq!(
        n.deliver(&webhook(&s.server.url), &alert()).await,
        ChannelResult::Sent
    );
    assert_eq!(s.count(), 2);
    assert!(s.gap(0) >= Duration::from_secs(1), "{:?}", s.gap(0));
    let r = store.delivery("hook", &alert().key).await.unwrap().unwrap();
    assert_eq!((r.status, r.attempts), (DeliveryStatus::Sent, 2));
}

#[tokio::test]
async fn telegrams_retry_after_in_the_body_is_honoured_too() {
    let telegram = serde_json::json!({"ok": false, "error_code": 429,
        "description": "Too Many Requests: retry after 1", "parameters": {"retry_after": 1}});
    let s = Scripted::start(vec![Reply::json(429, &telegram), ok()]).await;
    let (store, clock) = (MemoryStore::default(), ManualClock::at(NOW));
    let n = notifier(&store, &clock);
    assert_eq!(
        n.deliver(&webhook(&s.server.url), &alert()).await,
        ChannelResult::Sent
    );
    assert!(s.gap(0) >= Duration::from_secs(1), "{:?}", s.gap(0));
}

#[tokio::test]
async fn a_wait_longer_than_allowed_ends_the_delivery_as_a_retryable_failure() {
    let s = Scripted::start(vec![with_headers(429, &[("retry-after", "3600")], "")]).await;
    let (store, clock) = (MemoryStore::default(), ManualClock::at(NOW));
    let n = notifier(&store, &clock);
    let started = Instant::now();
    let r = n.deliver(&webhook(&s.server.url), &alert()).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    let ChannelResult::Failed { retryable, error } = r else {
        panic!("{r:?}")
    };
    assert!(retryable);
    assert!(error.contains("asked to wait 3600 s"), "{error}");
    assert_eq!(s.count(), 1);
}

#[tokio::test]
async fn a_500_is_retried_up_to_the_attempts_then_recorded_failed_and_retryable() {
    let s = Scripted::start(vec![Reply::text(500, "upstream broke")]).await;
    let (store, clock) = (MemoryStore::default(), ManualClock::at(NOW));
    let n = notifier(&store, &clock);
    let r = n.deliver(&webhook(&s.server.url), &alert()).await;
    assert_eq!(s.count(), 3, "settings().attempts");
    assert!(
        matches!(&r, ChannelResult::Failed { retryable: true, error } if error.contains("POST to webhook answered 500: upstream broke")),
        "{r:?}"
    );
    let outcome = AlertOutcome {
        results: vec![("hook".into(), r)],
    };
    assert!(outcome.redeliver());
    let rec = store.delivery("hook", &alert().key).await.unwrap().unwrap();
    assert_eq!(
        (rec.status, rec.attempts, rec.provider_status),
        (DeliveryStatus::Failed, 3, Some(500))
    );
}

#[tokio::test]
async fn a_400_is_not_retried_and_not_retryable() {
    let s = Scripted::start(vec![Reply::text(400, "invalid_payload")]).await;
    let (store, clock) = (MemoryStore::default(), ManualClock::at(NOW));
    let n = notifier(&store, &clock);
    let r = n.deliver(&webhook(&s.server.url), &alert()).await;
    assert!(
        matches!(
            &r,
            ChannelResult::Failed {
                retryable: false,
                ..
            }
        ),
        "{r:?}"
    );
    assert_eq!(s.count(), 1);
    let rec = store.delivery("hook", &alert().key).await.unwrap().unwrap();
    assert_eq!(rec.status, DeliveryStatus::Failed);
    let outcome = AlertOutcome {
        results: vec![("hook".into(), r)],
    };
    assert!(!outcome.redeliver(), "kept for a retry through the API");
}

#[tokio::test]
async fn a_hanging_server_times_out_and_is_retried_as_no_answer() {
    let s = Scripted::start(vec![Reply::Delay(
        Duration::from_secs(30),
        Box::new(Reply::text(200, "late")),
    )])
    .await;
    let (store, clock) = (MemoryStore::default(), ManualClock::at(NOW));
    let mut n = notifier(&store, &clock);
    n.http = HttpNotifier::allow_private().with_timeout(Duration::from_millis(200));
    n.settings.attempts = 2;
    let started = Instant::now();
    let r = n.deliver(&webhook(&s.server.url), &alert()).await;
    assert!(started.elapsed() < Duration::from_secs(3));
    let ChannelResult::Failed { retryable, error } = &r else {
        panic!("{r:?}")
    };
    assert!(*retryable);
    assert!(
        error.starts_with("POST to webhook failed: timeout: no answer within 200 ms"),
        "{error}"
    );
    let rec = store.delivery("hook", &alert().key).await.unwrap().unwrap();
    assert_eq!((rec.attempts, rec.provider_status), (2, None));
}

#[tokio::test]
async fn two_concurrent_deliveries_of_one_alert_send_one_request() {
    let s = Scripted::start(vec![Reply::Delay(
        Duration::from_millis(200),
        Box::new(ok()),
    )])
    .await;
    let (store, clock) = (MemoryStore::default(), ManualClock::at(NOW));
    let (one, two) = (notifier(&store, &clock), notifier(&store, &clock));
    let c = webhook(&s.server.url);
    let (x, y) = (alert(), alert());
    let (a, b) = tokio::join!(one.deliver(&c, &x), two.deliver(&c, &y));
    let mut got = [format!("{a:?}"), format!("{b:?}")];
    got.sort();
    assert_eq!(got, ["Duplicate(Sending)", "Sent"]);
    assert_eq!(s.count(), 1);
}

#[tokio::test]
async fn a_failed_delivery_retried_through_the_api_sends_again_and_records_sent() {
    let s = Scripted::start(vec![Reply::text(400, "bad"), ok()]).await;
    let (store, clock) = (MemoryStore::default(), ManualClock::at(NOW));
    let n = notifier(&store, &clock);
    let c = webhook(&s.server.url);
    store.put_channel(&c, None).await.unwrap();
    let id = delivery_id("hook", &alert().key);
    assert!(matches!(
        n.notify(&alert()).await.unwrap().results[0].1,
        ChannelResult::Failed { .. }
    ));
    clock.advance(60_000);
    let rec = n.retry(&id).await.unwrap();
    assert_eq!(
        (rec.status, rec.attempts, rec.updated_at),
        (DeliveryStatus::Sent, 2, NOW + 60_000)
    );
    assert_eq!(s.count(), 2);
    assert!(matches!(
        n.retry(&id).await,
        Err(RetryError::NotFailed(_, "sent"))
    ));
    assert!(matches!(
        n.retry("hook.zz").await,
        Err(RetryError::NotFound(_))
    ));
    assert!(matches!(
        n.retry(&delivery_id("hook", "other")).await,
        Err(RetryError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_retry_of_a_deleted_channels_delivery_says_so() {
    let s = Scripted::start(vec![Reply::text(400, "bad")]).await;
    let (store, clock) = (MemoryStore::default(), ManualClock::at(NOW));
    let n = notifier(&store, &clock);
    n.deliver(&webhook(&s.server.url), &alert()).await;
    let id = delivery_id("hook", &alert().key);
    assert!(matches!(n.retry(&id).await, Err(RetryError::NoChannel(c)) if c == "hook"));
}

#[tokio::test]
async fn a_send_whose_record_fails_answers_sent_and_is_not_sent_again_while_claimed() {
    let s = Scripted::start(vec![ok()]).await;
    let (store, clock) = (MemoryStore::default(), ManualClock::at(NOW));
    let n = notifier(&store, &clock);
    let c = webhook(&s.server.url);
    store.set_failing_finish(true);
    assert_eq!(n.deliver(&c, &alert()).await, ChannelResult::Sent);
    store.set_failing_finish(false);
    let rec = store.delivery("hook", &alert().key).await.unwrap().unwrap();
    assert_eq!(rec.status, DeliveryStatus::Sending, "left as claimed");
    assert_eq!(
        n.deliver(&c, &alert()).await,
        ChannelResult::Duplicate(DeliveryStatus::Sending)
    );
    assert_eq!(s.count(), 1);
    // The at-least-once window: a copy arriving after the claim ended sends again.
    clock.advance(n.settings.claim_ms + 1);
    assert_eq!(n.deliver(&c, &alert()).await, ChannelResult::Sent);
    assert_eq!(s.count(), 2);
}

#[tokio::test]
async fn routes_pick_the_channels_and_a_disabled_channel_sends_nothing() {
    let s = Scripted::start(vec![ok()]).await;
    let (store, clock) = (MemoryStore::default(), ManualClock::at(NOW));
    let n = notifier(&store, &clock);
    let mut wanted = webhook(&s.server.url);
    wanted.route.tags = vec!["edge".into()];
    let mut off = webhook(&s.server.url);
    off.id = "off".into();
    off.enabled = false;
    let mut a = alert();
    a.tags = vec!["edge".into()];
    let out = n.notify_with(&[wanted.clone(), off], &a).await;
    assert_eq!(
        out.results,
        [
            ("hook".to_string(), ChannelResult::Sent),
            ("off".to_string(), ChannelResult::NotRouted)
        ]
    );
    a.tags.clear();
    a.key.push_str("-b");
    let out = n.notify_with(&[wanted], &a).await;
    assert_eq!(out.results[0].1, ChannelResult::NotRouted);
    assert_eq!(s.count(), 1);
}

#[tokio::test]
async fn a_test_message_is_sent_once_without_a_record_and_answers_the_provider() {
    let s = Scripted::start(vec![Reply::text(500, "down for maintenance")]).await;
    let (store, clock) = (MemoryStore::default(), ManualClock::at(NOW));
    let n = notifier(&store, &clock);
    let mut c = webhook(&s.server.url);
    c.enabled = false;
    let answers = n.test(&c).await;
    assert_eq!(answers.len(), 1);
    let a = answers[0].as_ref().unwrap();
    assert_eq!((a.status, a.body.as_str()), (500, "down for maintenance"));
    assert_eq!(s.count(), 1, "no retries");
    assert!(store.delivery_records().is_empty());
    let closed = webhook(&crate::testing::closed_port().await);
    let answers = n.test(&closed).await;
    let e = answers[0].as_ref().unwrap_err();
    assert!(e.0.starts_with("POST to webhook failed: connect"), "{e}");
}

#[tokio::test]
async fn secret_references_are_resolved_when_sending_and_never_recorded() {
    let s = Scripted::start(vec![ok()]).await;
    let (store, clock) = (MemoryStore::default(), ManualClock::at(NOW));
    let mem = Arc::new(MemorySecrets::default());
    mem.set(
        SecretRef::Ssm("/lookout/hook".into()),
        &format!("{}/hooks/{URL_TOKEN}", s.server.url),
    );
    mem.set(SecretRef::Ssm("/lookout/signing".into()), SIGNING);
    let mut n = notifier(&store, &clock);
    n.secrets = Secrets::new(mem);
    let c: Channel = serde_json::from_value(serde_json::json!({"id": "hook", "name": "Hook",
        "kind": "webhook", "config": {"url": "{{ssm:/lookout/hook}}",
        "secret": "{{ssm:/lookout/signing}}"}}))
    .unwrap();
    assert_eq!(n.deliver(&c, &alert()).await, ChannelResult::Sent);
    let got = &s.server.requests()[0];
    assert_eq!(got.path, format!("/hooks/{URL_TOKEN}"));
    let (ts, sig) = (
        got.header("x-lookout-timestamp").unwrap(),
        got.header("x-lookout-signature").unwrap(),
    );
    let now_s = lookout_core::time::now_ms() / 1000;
    assert_eq!(
        crate::notify::sign::verify(SIGNING, ts, &got.body, sig, now_s, 300),
        Ok(())
    );
    // A reference that does not resolve: failed, retryable, naming the reference.
    let mut missing = c.clone();
    missing.id = "missing".into();
    missing.config = serde_json::from_value(serde_json::json!({"kind": "webhook",
        "config": {"url": "{{ssm:/lookout/nothing}}", "secret": SIGNING}}))
    .unwrap();
    let r = n.deliver(&missing, &alert()).await;
    assert!(
        matches!(&r, ChannelResult::Failed { retryable: true, error } if error.contains("{{ssm:/lookout/nothing}}")),
        "{r:?}"
    );
}

#[tokio::test]
async fn no_secret_reaches_an_error_a_record_an_answer_or_a_log_line() {
    let logs = crate::testing::logs::LogCapture::start(tracing::Level::TRACE);

    // Servers that echo what they got (URL and headers) in their errors.
    let echo = |status: u16| {
        move |r: &crate::testing::Request| {
            Reply::text(
                status,
                &format!(
                    "no hook at {} signed {:?}",
                    r.path,
                    r.header("x-lookout-signature")
                ),
            )
        }
    };
    let failing = TestServer::start(echo(500)).await;
    let refusing = TestServer::start(echo(403)).await;
    let hanging = TestServer::start(|_| {
        Reply::Delay(Duration::from_secs(30), Box::new(Reply::text(200, "")))
    })
    .await;
    let (store, clock) = (MemoryStore::default(), ManualClock::at(NOW));
    let mut n = notifier(&store, &clock);
    n.http = HttpNotifier::allow_private().with_timeout(Duration::from_millis(200));
    let mut texts = Vec::new();
    for (i, base) in [
        failing.url.clone(),
        refusing.url.clone(),
        hanging.url.clone(),
        crate::testing::closed_port().await,
    ]
    .into_iter()
    .enumerate()
    {
        let mut c = webhook(&base);
        c.id = format!("hook{i}");
        texts.push(format!("{:?}", n.deliver(&c, &alert()).await));
        texts.push(format!("{:?}", n.test(&c).await));
    }
    // The address guard on: refused, without the URL.
    let mut guarded = notifier(&store, &clock);
    guarded.http = HttpNotifier::new(
        &crate::probe::ProbeOptions::default(),
        Duration::from_secs(1),
    );
    let mut c = webhook(&failing.url);
    c.id = "guarded".into();
    texts.push(format!("{:?}", guarded.deliver(&c, &alert()).await));
    texts.extend(
        store
            .delivery_records()
            .iter()
            .map(|r| serde_json::to_string(r).unwrap()),
    );
    let logs = logs.text();
    assert!(logs.contains("alert not delivered"), "logs were captured");
    let errors = store
        .delivery_records()
        .iter()
        .filter(|r| r.last_error.is_some())
        .count();
    assert_eq!(errors, 5);
    for text in texts.iter().chain(std::iter::once(&logs)) {
        for secret in [URL_TOKEN, SIGNING] {
            assert!(!text.contains(secret), "{secret} in: {text}");
        }
        assert!(!text.contains("127.0.0.1"), "the URL's host in: {text}");
    }
}

#[tokio::test]
async fn a_routing_key_the_provider_echoes_is_masked_in_the_record_and_the_test_answer() {
    // PagerDuty-shaped: the routing key travels in the body, and a provider may quote it back.
    const KEY: &str = "R0UTINGKEY0123456789abcdef012345";
    let s = Scripted::start(vec![Reply::json(
        400,
        &serde_json::json!({"status": "invalid event", "message": format!("unknown routing_key {KEY}")}),
    )])
    .await;
    let (store, clock) = (MemoryStore::default(), ManualClock::at(NOW));
    let mut n = notifier(&store, &clock);
    n.settings.endpoints.pagerduty = s.server.url.clone();
    let c: Channel = serde_json::from_value(serde_json::json!({"id": "pd", "name": "PD",
        "kind": "pagerduty", "config": {"routing_key": KEY}}))
    .unwrap();
    let result = n.deliver(&c, &alert()).await;
    assert!(
        matches!(&result, ChannelResult::Failed { retryable: false, error } if !error.contains(KEY)),
        "{result:?}"
    );
    let record = store.delivery("pd", &alert().key).await.unwrap().unwrap();
    let text = serde_json::to_string(&record).unwrap();
    assert!(!text.contains(KEY) && text.contains("***"), "{text}");
    let answers = format!("{:?}", n.test(&c).await);
    assert!(
        !answers.contains(KEY) && answers.contains("***"),
        "{answers}"
    );
}

/// A webhook channel like [`webhook`] with another id.
fn webhook_named(id: &str, base: &str) -> Channel {
    let mut c = webhook(base);
    c.id = id.into();
    c
}

#[tokio::test]
async fn a_retry_after_that_would_outlast_the_deadline_ends_the_delivery_as_a_retryable_failure() {
    let s = Scripted::start(vec![
        with_headers(429, &[("retry-after", "1")], "slow down"),
        with_headers(429, &[("retry-after", "1")], "slow down"),
        ok(),
    ])
    .await;
    let (store, clock) = (MemoryStore::default(), ManualClock::at(NOW));
    let mut n = notifier(&store, &clock);
    n.http = HttpNotifier::allow_private().with_timeout(Duration::from_secs(1));
    n.settings.timeout_ms = 1_000;
    // 1.5 s before the deadline's margin: one request fits, a wait of 1 s and another do not.
    let deadline = NOW + DEADLINE_MARGIN_MS + 1_500;
    let started = Instant::now();
    let r = n
        .deliver_by(&webhook(&s.server.url), &alert(), Some(deadline))
        .await;
    assert!(started.elapsed() < Duration::from_millis(900), "no wait");
    let ChannelResult::Failed { retryable, error } = &r else {
        panic!("{r:?}")
    };
    assert!(*retryable, "the message comes back");
    assert!(
        error.contains("no time left before the deadline"),
        "{error}"
    );
    assert_eq!(s.count(), 1);
    let rec = store.delivery("hook", &alert().key).await.unwrap().unwrap();
    assert_eq!((rec.status, rec.attempts), (DeliveryStatus::Failed, 1));
    // With no deadline, the same answer is waited out and the message sent.
    assert_eq!(
        n.deliver(&webhook(&s.server.url), &alert()).await,
        ChannelResult::Sent
    );
    assert_eq!(s.count(), 3);
}

#[tokio::test]
async fn a_channel_whose_turn_comes_too_late_takes_no_claim_and_brings_the_message_back() {
    let hang = Scripted::start(vec![Reply::Delay(Duration::from_secs(5), Box::new(ok()))]).await;
    let fine = Scripted::start(vec![ok()]).await;
    let (store, clock) = (MemoryStore::default(), ManualClock::at(NOW));
    let mut n = notifier(&store, &clock);
    n.http = HttpNotifier::allow_private().with_timeout(Duration::from_millis(500));
    n.settings.timeout_ms = 500;
    let channels = [
        webhook_named("slow", &hang.server.url),
        webhook_named("fast", &fine.server.url),
    ];
    // The slow channel's first request times out at 0.5 s; the second would end after 0.9 s.
    let deadline = NOW + DEADLINE_MARGIN_MS + 900;
    let started = Instant::now();
    let out = n
        .notify_with_deadline(&channels, &alert(), Some(deadline))
        .await;
    assert!(started.elapsed() < Duration::from_millis(900));
    assert!(
        matches!(
            &out.results[0].1,
            ChannelResult::Failed { retryable: true, error } if error.contains("deadline")
        ),
        "{out:?}"
    );
    assert_eq!(out.results[1], ("fast".into(), ChannelResult::NotReached));
    assert!(out.redeliver());
    assert_eq!((hang.count(), fine.count()), (1, 0));
    assert_eq!(store.delivery("fast", &alert().key).await.unwrap(), None);
    // The copy that comes back sends it: the channel not reached holds no claim.
    let again = n.notify_with_deadline(&channels[1..], &alert(), None).await;
    assert_eq!(again.results[0].1, ChannelResult::Sent);
    assert_eq!(fine.count(), 1);
}

#[tokio::test]
async fn a_deadline_already_past_sends_nothing_claims_nothing_and_tests_nothing() {
    let s = Scripted::start(vec![ok()]).await;
    let (store, clock) = (MemoryStore::default(), ManualClock::at(NOW));
    let n = notifier(&store, &clock);
    let c = webhook(&s.server.url);
    let past = Some(NOW + DEADLINE_MARGIN_MS);
    assert_eq!(
        n.deliver_by(&c, &alert(), past).await,
        ChannelResult::NotReached
    );
    assert_eq!(store.delivery("hook", &alert().key).await.unwrap(), None);
    let answers = n.test_by(&c, past).await;
    assert!(
        matches!(&answers[..], [Err(e)] if e.0.contains("no time left before the deadline")),
        "{answers:?}"
    );
    assert_eq!(s.count(), 0);
    let far = Some(NOW + DEADLINE_MARGIN_MS + 60_000);
    assert_eq!(n.deliver_by(&c, &alert(), far).await, ChannelResult::Sent);
    assert_eq!(s.count(), 1);
}

#[tokio::test]
async fn a_delivery_left_sending_past_its_claim_can_be_retried_and_one_under_its_claim_cannot() {
    let s = Scripted::start(vec![ok()]).await;
    let (store, clock) = (MemoryStore::default(), ManualClock::at(NOW));
    let n = notifier(&store, &clock);
    let c = webhook(&s.server.url);
    store.put_channel(&c, None).await.unwrap();
    let claim_ms = n.settings.claim_ms;
    // A sender that claimed it and was stopped (a Lambda timeout) before recording.
    let claim = store
        .claim_delivery("hook", &alert(), NOW, NOW + claim_ms, NOW / 1000 + 86_400)
        .await
        .unwrap();
    assert_eq!(claim, Claim::Won);
    let id = delivery_id("hook", &alert().key);
    assert!(matches!(
        n.retry(&id).await,
        Err(RetryError::NotFailed(_, "sending"))
    ));
    assert_eq!(s.count(), 0);
    clock.advance(claim_ms + 1);
    let rec = n
        .retry_by(&id, Some(NOW + claim_ms + 60_000))
        .await
        .unwrap();
    assert_eq!(rec.status, DeliveryStatus::Sent);
    assert_eq!(s.count(), 1);
}

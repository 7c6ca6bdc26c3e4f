use std::sync::Mutex;

use lookout_app::usecases::notify::{AlertOutcome, ChannelResult};
use lookout_core::domain::Alert;
use lookout_core::notify::{Channel, DeliveryStatus};
use serde_json::json;

use super::*;

/// A [`Deliver`] that answers `result(alert key)` for its one channel and records the calls.
struct Fake {
    result: fn(&str) -> ChannelResult,
    channel_reads: Mutex<usize>,
    delivered: Mutex<Vec<String>>,
    deadlines: Mutex<Vec<Option<i64>>>,
    channels_fail: bool,
}

impl Fake {
    fn new(result: fn(&str) -> ChannelResult) -> Self {
        Fake {
            result,
            channel_reads: Mutex::new(0),
            delivered: Mutex::new(Vec::new()),
            deadlines: Mutex::new(Vec::new()),
            channels_fail: false,
        }
    }
}

impl Deliver for Fake {
    async fn channels(&self) -> Result<Vec<Channel>, StoreError> {
        *self.channel_reads.lock().unwrap() += 1;
        if self.channels_fail {
            return Err(StoreError::Unavailable("table down".into()));
        }
        Ok(vec![serde_json::from_value(
            json!({"id": "ops", "name": "Ops",
            "kind": "webhook", "config": {"url": "http://x", "secret": "s".repeat(16)}}),
        )
        .unwrap()])
    }

    async fn deliver(
        &self,
        channels: &[Channel],
        alert: &Alert,
        deadline_ms: Option<i64>,
    ) -> AlertOutcome {
        self.delivered.lock().unwrap().push(alert.key.clone());
        self.deadlines.lock().unwrap().push(deadline_ms);
        AlertOutcome {
            results: channels
                .iter()
                .map(|c| (c.id.clone(), (self.result)(&alert.key)))
                .collect(),
        }
    }
}

fn alert(key: &str, at: i64) -> String {
    json!({"key": key, "kind": "status_change", "severity": "critical", "target_id": "web",
        "target_name": "Web", "target_kind": "server", "group": "g", "old_status": "healthy",
        "new_status": "down", "at": at, "subject": "s", "text": "t"})
    .to_string()
}

fn enveloped(body: &str) -> String {
    json!({"Type": "Notification", "MessageId": "x", "Message": body}).to_string()
}

fn event(bodies: &[String]) -> SqsEvent {
    SqsEvent {
        records: bodies
            .iter()
            .enumerate()
            .map(|(i, b)| SqsMessage {
                message_id: format!("m{i}"),
                body: b.clone(),
                ..SqsMessage::default()
            })
            .collect(),
    }
}

fn failed(answer: &SqsBatchResponse) -> Vec<String> {
    answer.failed_ids()
}

#[tokio::test]
async fn sent_messages_are_done_and_a_body_without_an_alert_fails_alone() {
    let fake = Fake::new(|_| ChannelResult::Sent);
    let e = event(&[alert("a", 1), "garbage".into(), enveloped(&alert("b", 2))]);
    let answer = handle(&fake, e, None).await.unwrap();
    assert_eq!(failed(&answer), ["m1"]);
    assert_eq!(*fake.delivered.lock().unwrap(), ["a", "b"]);
    assert_eq!(
        *fake.channel_reads.lock().unwrap(),
        1,
        "channels are read once per batch"
    );
}

#[tokio::test]
async fn a_retryable_failure_or_a_live_claim_brings_the_message_back_and_nothing_else_does() {
    let fake = Fake::new(|key| match key {
        "retryable" => ChannelResult::Failed {
            retryable: true,
            error: "500".into(),
        },
        "final" => ChannelResult::Failed {
            retryable: false,
            error: "400".into(),
        },
        "claimed" => ChannelResult::Duplicate(DeliveryStatus::Sending),
        "sent-before" => ChannelResult::Duplicate(DeliveryStatus::Sent),
        "not-routed" => ChannelResult::NotRouted,
        "not-reached" => ChannelResult::NotReached,
        _ => ChannelResult::Sent,
    });
    let keys = [
        "retryable",
        "final",
        "claimed",
        "sent-before",
        "not-routed",
        "ok",
        "not-reached",
    ];
    let bodies: Vec<String> = keys.iter().map(|k| alert(k, 1)).collect();
    let answer = handle(&fake, event(&bodies), None).await.unwrap();
    assert_eq!(failed(&answer), ["m0", "m2", "m6"]);
}

#[tokio::test]
async fn alerts_of_a_batch_go_out_in_the_order_they_happened() {
    let fake = Fake::new(|_| ChannelResult::Sent);
    let e = event(&[alert("recovery", 20), alert("down", 10), alert("later", 30)]);
    handle(&fake, e, None).await.unwrap();
    assert_eq!(
        *fake.delivered.lock().unwrap(),
        ["down", "recovery", "later"]
    );
}

#[tokio::test]
async fn unreadable_channels_fail_the_whole_batch() {
    let mut fake = Fake::new(|_| ChannelResult::Sent);
    fake.channels_fail = true;
    let err = handle(&fake, event(&[alert("a", 1)]), None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("table down"), "{err}");
    let diagnostic = lambda_runtime::Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "ChannelsUnavailable");
}

#[tokio::test]
async fn a_batch_of_bodies_without_alerts_reads_no_channel() {
    let fake = Fake::new(|_| ChannelResult::Sent);
    let answer = handle(&fake, event(&["{}".into(), "[1]".into()]), None)
        .await
        .unwrap();
    assert_eq!(failed(&answer), ["m0", "m1"]);
    assert_eq!(*fake.channel_reads.lock().unwrap(), 0);
}

#[tokio::test]
async fn past_the_deadline_less_the_margin_no_alert_is_started() {
    let fake = Fake::new(|_| ChannelResult::Sent);
    let near = lookout_core::time::now_ms() + DEADLINE_MARGIN_MS / 2;
    let answer = handle(&fake, event(&[alert("a", 1), alert("b", 2)]), Some(near))
        .await
        .unwrap();
    assert_eq!(failed(&answer), ["m0", "m1"]);
    assert!(fake.delivered.lock().unwrap().is_empty());
    let far = lookout_core::time::now_ms() + 10 * DEADLINE_MARGIN_MS;
    let answer = handle(&fake, event(&[alert("a", 1)]), Some(far))
        .await
        .unwrap();
    assert!(failed(&answer).is_empty());
}

#[tokio::test]
async fn each_alert_is_delivered_with_the_invocations_deadline() {
    let fake = Fake::new(|_| ChannelResult::Sent);
    let far = lookout_core::time::now_ms() + 10 * DEADLINE_MARGIN_MS;
    handle(&fake, event(&[alert("a", 1), alert("b", 2)]), Some(far))
        .await
        .unwrap();
    handle(&fake, event(&[alert("c", 3)]), None).await.unwrap();
    assert_eq!(
        *fake.deadlines.lock().unwrap(),
        [Some(far), Some(far), None],
        "the notifier bounds its retries and channels by the Lambda deadline"
    );
}

#[test]
fn a_duplicate_message_id_is_reported_once() {
    let a = answer(vec!["m1".into(), "m2".into(), "m1".into()]);
    assert_eq!(a.failed_ids(), ["m1", "m2"]);
}

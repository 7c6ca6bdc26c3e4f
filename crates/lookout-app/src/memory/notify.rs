//! Notification channels, delivery records and e-mail in memory, with the rules of the DynamoDB
//! adapter: versioned channel writes, the conditional claim of `(channel, alert key)`, records
//! listed newest (last changed) first with a cursor.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use super::MemoryStore;
use crate::ports::{
    ChannelStore, Claim, DeliveryLog, DeliveryOutcome, DeliveryPage, MailSender, ProviderAnswer,
    SendError, StoreError,
};
use lookout_core::domain::Alert;
use lookout_core::notify::render::Mail;
use lookout_core::notify::{delivery_id, Channel, DeliveryRecord, DeliveryStatus};

/// The notification tables of a [`MemoryStore`].
#[derive(Default)]
pub(super) struct NotifyTables {
    channels: BTreeMap<String, Channel>,
    /// (channel id, alert key) → record.
    deliveries: BTreeMap<(String, String), Row>,
    /// Every `finish_delivery` fails while set.
    failing_finish: bool,
    /// (channel id, incident key) → (latest resolve's `at` ms, TTL epoch seconds).
    resolved: BTreeMap<(String, String), (i64, i64)>,
}

struct Row {
    record: DeliveryRecord,
    /// While `sending`: the claim holds until then, epoch ms.
    claim_until_ms: i64,
    /// TTL, epoch seconds (kept, not enforced: DynamoDB deletes expired items lazily too).
    expires_at_s: i64,
}

impl MemoryStore {
    fn notify_lock(&self) -> std::sync::MutexGuard<'_, NotifyTables> {
        self.s.notify.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every delivery record, by channel and alert key.
    pub fn delivery_records(&self) -> Vec<DeliveryRecord> {
        self.notify_lock()
            .deliveries
            .values()
            .map(|r| r.record.clone())
            .collect()
    }

    /// The TTL (epoch seconds) of a delivery record, if there is one.
    pub fn delivery_expires_at(&self, channel_id: &str, alert_key: &str) -> Option<i64> {
        self.notify_lock()
            .deliveries
            .get(&(channel_id.to_string(), alert_key.to_string()))
            .map(|r| r.expires_at_s)
    }

    /// Makes every later `finish_delivery` fail with an unavailable store (`true`), or succeed
    /// again.
    pub fn set_failing_finish(&self, failing: bool) {
        self.notify_lock().failing_finish = failing;
    }
}

impl ChannelStore for MemoryStore {
    async fn channels(&self) -> Result<Vec<Channel>, StoreError> {
        Ok(self.notify_lock().channels.values().cloned().collect())
    }

    async fn channel(&self, id: &str) -> Result<Option<Channel>, StoreError> {
        Ok(self.notify_lock().channels.get(id).cloned())
    }

    async fn put_channel(
        &self,
        channel: &Channel,
        expected: Option<u64>,
    ) -> Result<Channel, StoreError> {
        let mut t = self.notify_lock();
        let stored = t.channels.get(&channel.id).map(|c| c.version);
        match (expected, stored) {
            (None, None) => {}
            (Some(v), Some(s)) if v == s => {}
            (None, Some(_)) => {
                return Err(StoreError::Conflict(format!(
                    "channel {} exists",
                    channel.id
                )))
            }
            (Some(v), _) => {
                return Err(StoreError::Conflict(format!(
                    "channel {} is not at version {v}",
                    channel.id
                )))
            }
        }
        let mut c = channel.clone();
        c.version = expected.map_or(1, |v| v.saturating_add(1));
        t.channels.insert(c.id.clone(), c.clone());
        Ok(c)
    }

    async fn delete_channel(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.notify_lock().channels.remove(id).is_some())
    }
}

impl DeliveryLog for MemoryStore {
    async fn claim_delivery(
        &self,
        channel_id: &str,
        alert: &Alert,
        now_ms: i64,
        claim_until_ms: i64,
        expires_at_s: i64,
    ) -> Result<Claim, StoreError> {
        let mut t = self.notify_lock();
        let key = (channel_id.to_string(), alert.key.clone());
        if let Some(row) = t.deliveries.get_mut(&key) {
            let status = row.record.status;
            let claimable = match status {
                DeliveryStatus::Failed => true,
                DeliveryStatus::Sending => row.claim_until_ms < now_ms,
                DeliveryStatus::Sent => false,
            };
            if !claimable {
                return Ok(Claim::Taken(status));
            }
            row.record.status = DeliveryStatus::Sending;
            row.record.updated_at = now_ms;
            row.record.alert = alert.clone();
            row.claim_until_ms = claim_until_ms;
            row.expires_at_s = expires_at_s;
            return Ok(Claim::Won);
        }
        let record = DeliveryRecord {
            id: delivery_id(channel_id, &alert.key),
            channel_id: channel_id.to_string(),
            alert_key: alert.key.clone(),
            status: DeliveryStatus::Sending,
            attempts: 0,
            provider_status: None,
            last_error: None,
            created_at: now_ms,
            updated_at: now_ms,
            alert: alert.clone(),
        };
        t.deliveries.insert(
            key,
            Row {
                record,
                claim_until_ms,
                expires_at_s,
            },
        );
        Ok(Claim::Won)
    }

    async fn finish_delivery(
        &self,
        channel_id: &str,
        alert_key: &str,
        claim_until_ms: i64,
        outcome: &DeliveryOutcome,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        if outcome.status == DeliveryStatus::Sending {
            return Err(StoreError::Invalid(
                "a delivery finishes sent or failed, not sending".into(),
            ));
        }
        let mut t = self.notify_lock();
        if t.failing_finish {
            return Err(StoreError::Unavailable("memory store set to fail".into()));
        }
        let Some(row) = t
            .deliveries
            .get_mut(&(channel_id.to_string(), alert_key.to_string()))
            .filter(|r| {
                r.record.status == DeliveryStatus::Sending && r.claim_until_ms == claim_until_ms
            })
        else {
            return Err(StoreError::Conflict(format!(
                "delivery {} is not being sent under this claim (no record, it finished \
                 already, or another sender claimed it since)",
                delivery_id(channel_id, alert_key)
            )));
        };
        let r = &mut row.record;
        r.status = outcome.status;
        r.attempts = r.attempts.saturating_add(outcome.attempts);
        r.provider_status = outcome.provider_status;
        r.last_error = outcome.last_error.clone();
        r.updated_at = now_ms;
        row.claim_until_ms = 0;
        Ok(())
    }

    async fn delivery(
        &self,
        channel_id: &str,
        alert_key: &str,
    ) -> Result<Option<DeliveryRecord>, StoreError> {
        Ok(self
            .notify_lock()
            .deliveries
            .get(&(channel_id.to_string(), alert_key.to_string()))
            .map(|r| r.record.clone()))
    }

    async fn deliveries(
        &self,
        status: Option<DeliveryStatus>,
        channel_id: Option<&str>,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<DeliveryPage, StoreError> {
        let after = cursor
            .map(|c| {
                parse_cursor(c).ok_or_else(|| {
                    StoreError::Invalid("the cursor is not one this API gave".into())
                })
            })
            .transpose()?;
        let t = self.notify_lock();
        let mut records: Vec<&DeliveryRecord> = t
            .deliveries
            .values()
            .map(|r| &r.record)
            .filter(|r| status.is_none_or(|s| r.status == s))
            .filter(|r| channel_id.is_none_or(|c| r.channel_id == c))
            .collect();
        // Newest first; ties in a stable order.
        records.sort_by(|a, b| sort_key(b).cmp(&sort_key(a)));
        let limit = limit.clamp(1, 100);
        let page: Vec<DeliveryRecord> = records
            .into_iter()
            .filter(|r| after.as_ref().is_none_or(|c| sort_key(r) < c.as_key()))
            .take(limit + 1)
            .cloned()
            .collect();
        let more = page.len() > limit;
        let records: Vec<DeliveryRecord> = page.into_iter().take(limit).collect();
        let next = more.then(|| records.last().map(cursor_of)).flatten();
        Ok(DeliveryPage { records, next })
    }

    async fn resolved_at(
        &self,
        channel_id: &str,
        incident_key: &str,
    ) -> Result<Option<i64>, StoreError> {
        Ok(self
            .notify_lock()
            .resolved
            .get(&(channel_id.to_string(), incident_key.to_string()))
            .map(|(at, _)| *at))
    }

    async fn note_resolved(
        &self,
        channel_id: &str,
        incident_key: &str,
        at_ms: i64,
        expires_at_s: i64,
    ) -> Result<(), StoreError> {
        let mut t = self.notify_lock();
        let note = t
            .resolved
            .entry((channel_id.to_string(), incident_key.to_string()))
            .or_insert((i64::MIN, expires_at_s));
        if note.0 < at_ms {
            *note = (at_ms, expires_at_s);
        }
        Ok(())
    }
}

fn sort_key(r: &DeliveryRecord) -> (i64, &str, &str) {
    (r.updated_at, &r.channel_id, &r.alert_key)
}

struct Cursor {
    updated_at: i64,
    channel_id: String,
    alert_key: String,
}

impl Cursor {
    fn as_key(&self) -> (i64, &str, &str) {
        (self.updated_at, &self.channel_id, &self.alert_key)
    }
}

/// `<updated_at, 13 digits>#<channel id>#<alert key>`, the shape of the DynamoDB adapter's
/// index sort key.
fn cursor_of(r: &DeliveryRecord) -> String {
    format!("{:013}#{}#{}", r.updated_at, r.channel_id, r.alert_key)
}

fn parse_cursor(c: &str) -> Option<Cursor> {
    let mut parts = c.splitn(3, '#');
    let (ms, channel, key) = (parts.next()?, parts.next()?, parts.next()?);
    if ms.len() != 13 || channel.is_empty() || key.is_empty() {
        return None;
    }
    Some(Cursor {
        updated_at: ms.parse().ok()?,
        channel_id: channel.to_string(),
        alert_key: key.to_string(),
    })
}

/// E-mail in memory: records what was sent, and fails while told to.
#[derive(Debug, Default)]
pub struct MemoryMail {
    sent: Mutex<Vec<Mail>>,
    failing: AtomicBool,
}

impl MemoryMail {
    /// The mails accepted so far, oldest first.
    pub fn sent(&self) -> Vec<Mail> {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Makes every later send fail with no answer (`true`), or succeed again.
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

impl MailSender for MemoryMail {
    async fn send_mail(&self, mail: &Mail) -> Result<ProviderAnswer, SendError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(SendError("mail: the mail service did not answer".into()));
        }
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        sent.push(mail.clone());
        Ok(ProviderAnswer {
            status: 200,
            body: format!("memory-mail-{}", sent.len()),
            retry_after_ms: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_core::domain::{AlertKind, Severity, Status, TargetKind};

    fn alert(key: &str) -> Alert {
        Alert {
            key: key.into(),
            kind: AlertKind::StatusChange,
            severity: Severity::Critical,
            target_id: "web".into(),
            target_name: "web".into(),
            target_kind: TargetKind::Server,
            group: "g".into(),
            old_status: Status::Healthy,
            new_status: Status::Down,
            at: 1_000,
            subject: "web is down".into(),
            text: "down".into(),
            targets: Vec::new(),
            changes: Vec::new(),
            tags: Vec::new(),
            locations: None,
            slo: None,
        }
    }

    fn outcome(status: DeliveryStatus) -> DeliveryOutcome {
        DeliveryOutcome {
            status,
            attempts: 2,
            provider_status: Some(500),
            last_error: None,
        }
    }

    #[tokio::test]
    async fn a_claim_wins_on_none_failed_or_an_expired_sending_and_nothing_else() {
        let s = MemoryStore::default();
        let a = alert("web#down#1");
        assert_eq!(
            s.claim_delivery("c", &a, 1_000, 2_000, 9).await.unwrap(),
            Claim::Won
        );
        assert_eq!(
            s.claim_delivery("c", &a, 1_500, 2_500, 9).await.unwrap(),
            Claim::Taken(DeliveryStatus::Sending)
        );
        // Another channel, the same alert: its own record.
        assert_eq!(
            s.claim_delivery("d", &a, 1_500, 2_500, 9).await.unwrap(),
            Claim::Won
        );
        // The claim ended before now: the sender died.
        assert_eq!(
            s.claim_delivery("c", &a, 2_001, 3_000, 9).await.unwrap(),
            Claim::Won
        );
        s.finish_delivery("c", &a.key, 3_000, &outcome(DeliveryStatus::Failed), 2_100)
            .await
            .unwrap();
        assert_eq!(
            s.claim_delivery("c", &a, 2_200, 3_000, 9).await.unwrap(),
            Claim::Won
        );
        s.finish_delivery("c", &a.key, 3_000, &outcome(DeliveryStatus::Sent), 2_300)
            .await
            .unwrap();
        assert_eq!(
            s.claim_delivery("c", &a, 99_000, 100_000, 9).await.unwrap(),
            Claim::Taken(DeliveryStatus::Sent)
        );
        let r = s.delivery("c", &a.key).await.unwrap().unwrap();
        assert_eq!(
            (r.status, r.attempts, r.created_at, r.updated_at),
            (DeliveryStatus::Sent, 4, 1_000, 2_300)
        );
        assert_eq!(r.id, delivery_id("c", &a.key));
    }

    #[tokio::test]
    async fn a_finish_by_a_sender_whose_claim_was_taken_over_is_refused_and_writes_nothing() {
        let s = MemoryStore::default();
        let a = alert("web#down#1");
        // The first sender claims until 2_000 and stalls; the next takes over after that.
        assert_eq!(
            s.claim_delivery("c", &a, 1_000, 2_000, 9).await.unwrap(),
            Claim::Won
        );
        assert_eq!(
            s.claim_delivery("c", &a, 2_001, 62_001, 9).await.unwrap(),
            Claim::Won
        );
        let late = s
            .finish_delivery("c", &a.key, 2_000, &outcome(DeliveryStatus::Sent), 2_500)
            .await;
        assert!(matches!(late, Err(StoreError::Conflict(_))), "{late:?}");
        let r = s.delivery("c", &a.key).await.unwrap().unwrap();
        assert_eq!((r.status, r.attempts), (DeliveryStatus::Sending, 0));
        // The sender holding the claim records its outcome; a second finish is refused.
        s.finish_delivery("c", &a.key, 62_001, &outcome(DeliveryStatus::Failed), 2_600)
            .await
            .unwrap();
        let again = s
            .finish_delivery("c", &a.key, 62_001, &outcome(DeliveryStatus::Sent), 2_700)
            .await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
        let r = s.delivery("c", &a.key).await.unwrap().unwrap();
        assert_eq!(
            (r.status, r.attempts, r.updated_at),
            (DeliveryStatus::Failed, 2, 2_600)
        );
    }

    #[tokio::test]
    async fn deliveries_list_newest_first_by_status_and_channel_a_page_at_a_time() {
        let s = MemoryStore::default();
        for i in 0..5 {
            let a = alert(&format!("k{i}"));
            let channel = if i % 2 == 0 { "even" } else { "odd" };
            s.claim_delivery(channel, &a, i, i + 10, 9).await.unwrap();
            let st = if i == 4 {
                DeliveryStatus::Sent
            } else {
                DeliveryStatus::Failed
            };
            s.finish_delivery(channel, &a.key, i + 10, &outcome(st), 100 + i)
                .await
                .unwrap();
        }
        let failed = s
            .deliveries(Some(DeliveryStatus::Failed), None, 2, None)
            .await
            .unwrap();
        let keys = |p: &DeliveryPage| {
            p.records
                .iter()
                .map(|r| r.alert_key.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(&failed), ["k3", "k2"]);
        let rest = s
            .deliveries(
                Some(DeliveryStatus::Failed),
                None,
                2,
                failed.next.as_deref(),
            )
            .await
            .unwrap();
        assert_eq!(
            (keys(&rest), rest.next),
            (vec!["k1".into(), "k0".into()], None)
        );
        let even = s.deliveries(None, Some("even"), 100, None).await.unwrap();
        assert_eq!(keys(&even), ["k4", "k2", "k0"]);
        assert!(s
            .deliveries(None, None, 10, Some("nonsense"))
            .await
            .is_err());
    }

    #[tokio::test]
    async fn channel_writes_are_conditional_on_the_version() {
        let s = MemoryStore::default();
        let c: Channel = serde_json::from_value(serde_json::json!({"id":"ops","name":"Ops",
            "kind":"webhook","config":{"url":"https://h/x","secret":"0123456789abcdef"}}))
        .unwrap();
        assert_eq!(s.put_channel(&c, None).await.unwrap().version, 1);
        assert!(matches!(
            s.put_channel(&c, None).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            s.put_channel(&c, Some(7)).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(s.put_channel(&c, Some(1)).await.unwrap().version, 2);
        assert_eq!(s.channels().await.unwrap().len(), 1);
        assert!(s.delete_channel("ops").await.unwrap());
        assert!(!s.delete_channel("ops").await.unwrap());
    }
}

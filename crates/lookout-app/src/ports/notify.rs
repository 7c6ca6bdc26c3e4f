//! Notification channels, their delivery records and the senders that reach providers.

use std::future::Future;

use lookout_core::domain::Alert;
use lookout_core::notify::render::Mail;
use lookout_core::notify::{Channel, DeliveryRecord, DeliveryStatus, Outbound};

use super::StoreError;

/// Where channel definitions live. Secret fields are sealed by the adapter on write and opened
/// on read (a masked adapter reads them as `***`).
pub trait ChannelStore {
    /// Every channel, by id. A channel whose secrets do not open (another key, an altered
    /// value) is listed with them still sealed (`crate::secrets::SEALED_PREFIX`) rather than
    /// failing the whole list: the notifier sends nothing with a sealed value and records that
    /// channel's delivery `failed` (retryable), while the others are delivered.
    fn channels(&self) -> impl Future<Output = Result<Vec<Channel>, StoreError>> + Send;

    /// One channel; `Ok(None)` when there is none with that id.
    fn channel(&self, id: &str)
        -> impl Future<Output = Result<Option<Channel>, StoreError>> + Send;

    /// Writes `channel` with its `version` bumped by one: a create when `expected` is `None`
    /// (fails with [`StoreError::Conflict`] if the id exists), else an update on the condition
    /// that the stored version is `expected`. Answers what was stored (secrets as given).
    fn put_channel(
        &self,
        channel: &Channel,
        expected: Option<u64>,
    ) -> impl Future<Output = Result<Channel, StoreError>> + Send;

    /// Deletes a channel; `Ok(false)` when there was none. Its delivery records stay until
    /// their TTL.
    fn delete_channel(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// What [`DeliveryLog::claim_delivery`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This caller holds the delivery now: send, then [`DeliveryLog::finish_delivery`].
    Won,
    /// A record exists that must not be sent again: `sent`, or `sending` under a claim that has
    /// not expired. A duplicate; send nothing.
    Taken(DeliveryStatus),
}

/// How a delivery ended, for [`DeliveryLog::finish_delivery`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryOutcome {
    /// `Sent` or `Failed`.
    pub status: DeliveryStatus,
    /// Requests made in this try.
    pub attempts: u32,
    /// The last provider status code.
    pub provider_status: Option<u16>,
    /// The last error, redacted.
    pub last_error: Option<String>,
}

/// One page of delivery records.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeliveryPage {
    /// Newest first.
    pub records: Vec<DeliveryRecord>,
    /// Pass back as `cursor` for the next page; `None` on the last.
    pub next: Option<String>,
}

/// The record of every alert's delivery to every channel: the conditional put that makes a
/// message go out once per `(channel, alert key)`.
pub trait DeliveryLog {
    /// Claims the delivery of `alert` to `channel_id` with one conditional write: it wins when
    /// there is no record, when the record is `failed` (a retry), or when it is `sending` and
    /// its claim ended before `now_ms` (a sender that died). The record (status `sending`,
    /// the alert, `claim_until_ms`) expires by TTL at `expires_at_s` (epoch seconds).
    fn claim_delivery(
        &self,
        channel_id: &str,
        alert: &Alert,
        now_ms: i64,
        claim_until_ms: i64,
        expires_at_s: i64,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;

    /// Records how a claimed delivery ended (adds `outcome.attempts` to the record's), on the
    /// condition that the record is still `sending` under the claim this caller won: the one
    /// whose `claim_until_ms` it passed to [`DeliveryLog::claim_delivery`]. A later claim of
    /// the same record ends later (it is taken only after this one ended, or after a finish),
    /// so a sender whose claim ran out and was taken over cannot overwrite the new sender's
    /// outcome.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when there is no record, it is finished already, or it is held
    /// under another claim; nothing is written then.
    fn finish_delivery(
        &self,
        channel_id: &str,
        alert_key: &str,
        claim_until_ms: i64,
        outcome: &DeliveryOutcome,
        now_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// One delivery record; `Ok(None)` when there is none.
    fn delivery(
        &self,
        channel_id: &str,
        alert_key: &str,
    ) -> impl Future<Output = Result<Option<DeliveryRecord>, StoreError>> + Send;

    /// Records, newest first, filtered by status and channel, at most `limit` (1 to 100).
    fn deliveries(
        &self,
        status: Option<DeliveryStatus>,
        channel_id: Option<&str>,
        limit: usize,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<DeliveryPage, StoreError>> + Send;

    /// The alert time (`at`, epoch ms) of the latest resolve of incident `incident_key` that
    /// `channel_id` accepted, as noted by [`DeliveryLog::note_resolved`]; `Ok(None)` when none
    /// was noted (or the note expired). Read strongly consistent.
    fn resolved_at(
        &self,
        channel_id: &str,
        incident_key: &str,
    ) -> impl Future<Output = Result<Option<i64>, StoreError>> + Send;

    /// Notes that `channel_id` accepted a resolve of incident `incident_key` for an alert at
    /// `at_ms` (epoch ms): the note keeps the latest `at` (a conditional write; an older or
    /// equal one changes nothing) and expires by TTL at `expires_at_s` (epoch seconds), like
    /// the delivery records.
    fn note_resolved(
        &self,
        channel_id: &str,
        incident_key: &str,
        at_ms: i64,
        expires_at_s: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// What a provider answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderAnswer {
    /// HTTP status (200 for an accepted e-mail).
    pub status: u16,
    /// The start of the body (at most 1,000 bytes as text), redacted.
    pub body: String,
    /// `Retry-After` (seconds or an HTTP date) or Telegram's `parameters.retry_after`, in ms.
    pub retry_after_ms: Option<u64>,
}

impl ProviderAnswer {
    /// Whether the provider took the message (2xx).
    pub fn accepted(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Whether sending again may succeed: 408, 425, 429 and 5xx.
    pub fn retryable(&self) -> bool {
        matches!(self.status, 408 | 425 | 429) || self.status >= 500
    }
}

/// A request that got no answer (connection, TLS, timeout, a refused address). Redacted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SendError(pub String);

/// Sends one HTTP request to a provider.
pub trait HttpSender {
    /// `POST`s `request` (signing it when `sign_with` is set) and reads the answer.
    fn post(
        &self,
        request: &Outbound,
    ) -> impl Future<Output = Result<ProviderAnswer, SendError>> + Send;
}

/// Sends an e-mail (SES, or publish to an SNS topic with e-mail subscriptions).
pub trait MailSender {
    /// Sends `mail`; answers 200 and the message id as the body when it was accepted.
    fn send_mail(
        &self,
        mail: &Mail,
    ) -> impl Future<Output = Result<ProviderAnswer, SendError>> + Send;
}

// Borrowed adapters are adapters too: the API builds a `Notifier` over `&App.store` per request.
impl<T: ChannelStore + Sync> ChannelStore for &T {
    fn channels(&self) -> impl Future<Output = Result<Vec<Channel>, StoreError>> + Send {
        (**self).channels()
    }
    fn channel(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Channel>, StoreError>> + Send {
        (**self).channel(id)
    }
    fn put_channel(
        &self,
        channel: &Channel,
        expected: Option<u64>,
    ) -> impl Future<Output = Result<Channel, StoreError>> + Send {
        (**self).put_channel(channel, expected)
    }
    fn delete_channel(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send {
        (**self).delete_channel(id)
    }
}

impl<T: DeliveryLog + Sync> DeliveryLog for &T {
    fn claim_delivery(
        &self,
        channel_id: &str,
        alert: &Alert,
        now_ms: i64,
        claim_until_ms: i64,
        expires_at_s: i64,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send {
        (**self).claim_delivery(channel_id, alert, now_ms, claim_until_ms, expires_at_s)
    }
    fn finish_delivery(
        &self,
        channel_id: &str,
        alert_key: &str,
        claim_until_ms: i64,
        outcome: &DeliveryOutcome,
        now_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).finish_delivery(channel_id, alert_key, claim_until_ms, outcome, now_ms)
    }
    fn delivery(
        &self,
        channel_id: &str,
        alert_key: &str,
    ) -> impl Future<Output = Result<Option<DeliveryRecord>, StoreError>> + Send {
        (**self).delivery(channel_id, alert_key)
    }
    fn deliveries(
        &self,
        status: Option<DeliveryStatus>,
        channel_id: Option<&str>,
        limit: usize,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<DeliveryPage, StoreError>> + Send {
        (**self).deliveries(status, channel_id, limit, cursor)
    }
    fn resolved_at(
        &self,
        channel_id: &str,
        incident_key: &str,
    ) -> impl Future<Output = Result<Option<i64>, StoreError>> + Send {
        (**self).resolved_at(channel_id, incident_key)
    }
    fn note_resolved(
        &self,
        channel_id: &str,
        incident_key: &str,
        at_ms: i64,
        expires_at_s: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).note_resolved(channel_id, incident_key, at_ms, expires_at_s)
    }
}

impl<T: HttpSender + Sync> HttpSender for &T {
    fn post(
        &self,
        request: &Outbound,
    ) -> impl Future<Output = Result<ProviderAnswer, SendError>> + Send {
        (**self).post(request)
    }
}

impl<T: MailSender + Sync> MailSender for &T {
    fn send_mail(
        &self,
        mail: &Mail,
    ) -> impl Future<Output = Result<ProviderAnswer, SendError>> + Send {
        (**self).send_mail(mail)
    }
}

//! Alerts to notification channels: for each alert, every channel whose route takes it gets
//! exactly one message (a conditional claim of `(channel, alert key)` before sending), retried
//! with backoff that honours `Retry-After`, and recorded as `sent` or `failed`.
//!
//! SKELETON (issue 16): the signatures below are the contract between the helpers; the bodies
//! are filled in on the `notify-app` branch.

use std::sync::Arc;

use crate::clock::Clock;
use crate::ports::{
    ChannelStore, DeliveryLog, HttpSender, MailSender, ProviderAnswer, SendError, StoreError,
};
use lookout_core::domain::Alert;
use lookout_core::notify::{Channel, DeliveryRecord, DeliveryStatus, Endpoints};

/// How the [`Notifier`] claims, retries and records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifySettings {
    /// Provider base URLs (`LOOKOUT_TELEGRAM_API_URL`, ...).
    pub endpoints: Endpoints,
    /// How long a claim holds, ms: longer than a delivery with all its retries may take.
    pub claim_ms: i64,
    /// How long a delivery record is kept (TTL), seconds.
    pub record_ttl_s: i64,
    /// Requests per delivery at most (the first and its retries).
    pub attempts: u32,
    /// Base of the exponential backoff between attempts, ms.
    pub backoff_ms: u64,
    /// The longest wait honoured inside one delivery, ms: a `Retry-After` beyond it ends the
    /// delivery as a retryable failure (the queue sends the message again later).
    pub max_wait_ms: u64,
}

/// What one channel did with one alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelResult {
    /// The provider accepted it (or the kind sends nothing for this alert); recorded `sent`.
    Sent,
    /// Sent already, or being sent by another delivery: nothing sent (a duplicate).
    Duplicate(DeliveryStatus),
    /// The channel's route does not take it, or the channel is disabled.
    NotRouted,
    /// Every attempt failed; recorded `failed`. `retryable`: a later try may succeed (5xx,
    /// 429, no answer), so the queue message should come back.
    Failed {
        /// Whether the message should be redelivered.
        retryable: bool,
        /// What went wrong, redacted.
        error: String,
    },
}

/// What every channel did with one alert.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertOutcome {
    /// `(channel id, result)`, in channel order.
    pub results: Vec<(String, ChannelResult)>,
}

impl AlertOutcome {
    /// Whether the queue should deliver the message again: some channel failed retryably.
    pub fn redeliver(&self) -> bool {
        self.results.iter().any(|(_, r)| {
            matches!(
                r,
                ChannelResult::Failed {
                    retryable: true,
                    ..
                }
            )
        })
    }
}

/// What a channel's test message got: one answer per request (PagerDuty and Opsgenie send a
/// trigger and its resolve).
pub type TestAnswers = Vec<Result<ProviderAnswer, SendError>>;

/// Why a retry of a delivery could not start.
#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    /// No such delivery record.
    #[error("no delivery {0}")]
    NotFound(String),
    /// The delivery is not `failed` (sent, or being sent).
    #[error("delivery {0} is {1}, not failed")]
    NotFailed(String, &'static str),
    /// The channel was deleted.
    #[error("channel {0} no longer exists")]
    NoChannel(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Delivers alerts to channels.
pub struct Notifier<C, D, H, M> {
    /// Channel definitions (secrets opened).
    pub channels: C,
    /// Delivery records.
    pub log: D,
    /// HTTP to providers.
    pub http: H,
    /// E-mail.
    pub mail: M,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// How.
    pub settings: NotifySettings,
}

impl<C, D, H, M> Notifier<C, D, H, M>
where
    C: ChannelStore + Sync,
    D: DeliveryLog + Sync,
    H: HttpSender + Sync,
    M: MailSender + Sync,
{
    /// Delivers `alert` to every channel (read from the store once per call).
    ///
    /// # Errors
    /// The channels could not be read.
    pub async fn notify(&self, alert: &Alert) -> Result<AlertOutcome, StoreError> {
        let channels = self.channels.channels().await?;
        Ok(self.notify_with(&channels, alert).await)
    }

    /// Delivers `alert` to each of `channels` that takes it.
    pub async fn notify_with(&self, channels: &[Channel], alert: &Alert) -> AlertOutcome {
        let mut out = AlertOutcome::default();
        for c in channels {
            let r = if c.takes(alert) {
                self.deliver(c, alert).await
            } else {
                ChannelResult::NotRouted
            };
            out.results.push((c.id.clone(), r));
        }
        out
    }

    /// Claims, sends (with retries) and records one alert to one channel, whatever its route.
    pub async fn deliver(&self, channel: &Channel, alert: &Alert) -> ChannelResult {
        let _ = (channel, alert);
        unimplemented!("issue 16: notify-app branch")
    }

    /// Sends a failed delivery again (`POST /v1/deliveries/{id}/retry`): answers the record
    /// as it stands afterwards.
    ///
    /// # Errors
    /// [`RetryError`].
    pub async fn retry(&self, delivery_id: &str) -> Result<DeliveryRecord, RetryError> {
        let _ = delivery_id;
        unimplemented!("issue 16: notify-app branch")
    }

    /// Sends a test message through `channel` (enabled or not, no claim, no record) and answers
    /// what the provider said.
    pub async fn test(&self, channel: &Channel) -> TestAnswers {
        let _ = channel;
        unimplemented!("issue 16: notify-app branch")
    }
}

//! Alerts to notification channels: for each alert, every channel whose route takes it gets
//! exactly one message (a conditional claim of `(channel, alert key)` before sending), retried
//! with backoff that honours `Retry-After`, and recorded as `sent` or `failed`.
//!
//! **Exactly once, and where it is at least once.** [`Notifier::deliver`] claims the delivery
//! with one conditional write ([`DeliveryLog::claim_delivery`]): a duplicate SNS delivery, a
//! duplicate publish or a concurrent invocation finds the claim taken and sends nothing
//! ([`ChannelResult::Duplicate`]). The claim holds for [`NotifySettings::claim_ms`], longer than
//! a delivery with all its retries may take (and the retries stop before it ends), so two
//! senders never hold one delivery at once. A message can still reach a provider twice, because
//! sending and recording cannot be one step:
//! - the process dies (a Lambda timeout, a crash) after the provider accepted a request and
//!   before the record says `sent`: the record stays `sending`; once its claim ends, the next
//!   copy of the alert (the queue's redelivery) claims it and sends again;
//! - the provider accepted a request but its answer was lost (a timeout, a reset): it counts
//!   as failed and is sent again by the retries;
//! - recording `sent` fails after its retries: the delivery answers `Sent` (the queue message
//!   is done, so that copy sends nothing more), the record stays `sending`, and a copy of the
//!   alert arriving after the claim ends (an SNS duplicate, a publish repeated later) sends
//!   again;
//! - an alert whose channel takes several requests (PagerDuty or Opsgenie, one per target of a
//!   storm) that fails part-way is sent whole on the next try: the earlier requests go twice.
//!
//! PagerDuty and Opsgenie deduplicate by `dedup_key` and alias, so repeats change nothing there;
//! the webhook body carries the alert's `key` for receivers that must act once.
//!
//! **Retries.** Each request is sent at most [`NotifySettings::attempts`] times, after the
//! delays of the [`crate::retry`] policy (exponential with jitter from
//! [`NotifySettings::backoff_ms`]), or after what the provider asked for (`Retry-After`,
//! Telegram's `retry_after`) when that is longer. A 2xx answer is accepted; 408, 425, 429, 5xx
//! and no answer are retried; any other status ends the delivery at once as a failure that is
//! not retryable. A wait beyond [`NotifySettings::max_wait_ms`] ends the delivery as a
//! retryable failure: the queue brings the message back later.
//!
//! **Deadlines.** A caller that will be stopped (a Lambda invocation, an API request behind
//! API Gateway's 29 s) delivers with a deadline ([`Notifier::notify_with_deadline`],
//! [`Notifier::deliver_by`], [`Notifier::retry_by`], [`Notifier::test_by`]): no request, and no
//! wait before one, is started unless it can end ([`NotifySettings::timeout_ms`] at most)
//! [`DEADLINE_MARGIN_MS`] before the deadline. A delivery cut short so is recorded `failed`,
//! retryable (the message comes back); a channel not reached at all takes no claim and
//! answers [`ChannelResult::NotReached`] (the message comes back too).

use std::sync::Arc;
use std::time::{Duration, Instant};

use backon::Retryable as _;

use crate::clock::Clock;
use crate::ports::{
    ChannelStore, Claim, DeliveryLog, DeliveryOutcome, HttpSender, MailSender, ProviderAnswer,
    SendError, StoreError,
};
use crate::secrets::Secrets;
use lookout_core::domain::Alert;
use lookout_core::notify::render::{render, render_test, Rendered};
use lookout_core::notify::{parse_delivery_id, Channel, DeliveryRecord, DeliveryStatus};
use lookout_core::redact::clip;

mod attempt;
mod order;
mod resolve;
mod settings;
#[cfg(test)]
mod tests;

use attempt::Attempted;
pub use resolve::{resolve_channel, ResolveError};
pub use settings::{claim_ms_for, NotifySettings};

/// Most characters of a delivery's `last_error`.
pub const MAX_ERROR_CHARS: usize = 500;

/// Time kept before a delivery's deadline, ms: for recording the outcome (writes retried for
/// up to a few seconds) and answering. The last request must end this long before it.
pub const DEADLINE_MARGIN_MS: i64 = 5_000;

/// What one channel did with one alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelResult {
    /// The provider accepted it (or the kind sends nothing for this alert); recorded `sent`.
    Sent,
    /// Sent already, or being sent by another delivery: nothing sent (a duplicate).
    Duplicate(DeliveryStatus),
    /// The channel's route does not take it, or the channel is disabled.
    NotRouted,
    /// The deadline came before this channel's turn: no claim taken, nothing sent or recorded;
    /// the message should come back.
    NotReached,
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
    /// Whether the queue should deliver the message again: some channel failed retryably, was
    /// not reached before the deadline, or found the delivery `sending` under another claim
    /// (that sender may have died; the copy that comes back after the claim ends either finds
    /// it `sent` or sends it).
    pub fn redeliver(&self) -> bool {
        self.results.iter().any(|(_, r)| {
            matches!(
                r,
                ChannelResult::Failed {
                    retryable: true,
                    ..
                } | ChannelResult::Duplicate(DeliveryStatus::Sending)
                    | ChannelResult::NotReached
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
    /// The delivery is not `failed` (sent, or being sent under a claim that has not passed).
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
    /// Resolves secret references in channel settings (`{{ssm:...}}`,
    /// `{{secretsmanager:...}}`) when a message is sent; [`Secrets::none`] where channels hold
    /// no reference.
    pub secrets: Secrets,
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

    /// Delivers `alert` to each of `channels` that takes it, with no deadline.
    pub async fn notify_with(&self, channels: &[Channel], alert: &Alert) -> AlertOutcome {
        self.notify_with_deadline(channels, alert, None).await
    }

    /// Delivers `alert` to each of `channels` that takes it, one after another, before
    /// `deadline_ms` (epoch ms; see the module's doc): a channel whose turn comes too late is
    /// [`ChannelResult::NotReached`].
    pub async fn notify_with_deadline(
        &self,
        channels: &[Channel],
        alert: &Alert,
        deadline_ms: Option<i64>,
    ) -> AlertOutcome {
        let ends = self.ends(deadline_ms);
        let mut out = AlertOutcome::default();
        for c in channels {
            let r = if c.takes(alert) {
                self.deliver_until(c, alert, ends).await
            } else {
                ChannelResult::NotRouted
            };
            out.results.push((c.id.clone(), r));
        }
        out
    }

    /// Claims, sends (with retries) and records one alert to one channel, whatever its route:
    /// - the claim is taken (`sent`, or `sending` under a live claim): [`ChannelResult::Duplicate`],
    ///   nothing sent;
    /// - the claim cannot be written: a retryable failure, nothing sent and nothing recorded
    ///   (the queue brings the message back; it is never dropped for a store outage);
    /// - won: the channel's secret references are resolved, the alert rendered
    ///   (`lookout_core::notify::render`) and each request sent with retries (see the module's
    ///   doc); the record becomes `sent` or `failed`. A kind that sends nothing for this alert
    ///   (`Rendered::Skip`) is recorded `sent` with no attempt.
    ///
    /// Recording the outcome is retried; when it still fails after a send that succeeded, the
    /// answer is `Sent` all the same (sending again would be the duplicate), and the record
    /// stays `sending` until its claim ends (the at-least-once window of the module's doc).
    pub async fn deliver(&self, channel: &Channel, alert: &Alert) -> ChannelResult {
        self.deliver_until(channel, alert, None).await
    }

    /// [`Notifier::deliver`] before `deadline_ms` (epoch ms; see the module's doc): when not
    /// even one request fits, [`ChannelResult::NotReached`] with no claim taken.
    pub async fn deliver_by(
        &self,
        channel: &Channel,
        alert: &Alert,
        deadline_ms: Option<i64>,
    ) -> ChannelResult {
        self.deliver_until(channel, alert, self.ends(deadline_ms))
            .await
    }

    async fn deliver_until(
        &self,
        channel: &Channel,
        alert: &Alert,
        ends: Option<Instant>,
    ) -> ChannelResult {
        if !self.fits(ends, Duration::ZERO) {
            tracing::warn!(channel = %channel.id, key = %alert.key,
                "the deadline is near: nothing claimed or sent; the message should come back");
            return ChannelResult::NotReached;
        }
        let s = &self.settings;
        let now = self.clock.now_ms();
        let claim_until = now.saturating_add(s.claim_ms);
        let expires_at_s = now.div_euclid(1000).saturating_add(s.record_ttl_s);
        match self
            .log
            .claim_delivery(&channel.id, alert, now, claim_until, expires_at_s)
            .await
        {
            Ok(Claim::Won) => {}
            Ok(Claim::Taken(status)) => {
                tracing::info!(channel = %channel.id, key = %alert.key, status = status.as_str(),
                    "delivery claimed already; nothing sent");
                return ChannelResult::Duplicate(status);
            }
            Err(e) => {
                let error = clip(
                    &format!("the delivery could not be claimed: {e}"),
                    MAX_ERROR_CHARS,
                );
                tracing::warn!(channel = %channel.id, key = %alert.key, error = %error,
                    "nothing sent; the message should come back");
                return ChannelResult::Failed {
                    retryable: true,
                    error,
                };
            }
        }
        let sent = self.send(channel, alert, ends).await;
        let outcome = DeliveryOutcome {
            status: if sent.ok {
                DeliveryStatus::Sent
            } else {
                DeliveryStatus::Failed
            },
            attempts: sent.attempts,
            provider_status: sent.provider_status,
            last_error: sent.error.as_deref().map(|e| clip(e, MAX_ERROR_CHARS)),
        };
        if let Err(e) = self.record(channel, alert, claim_until, &outcome).await {
            tracing::warn!(channel = %channel.id, key = %alert.key, error = %e,
                status = outcome.status.as_str(), claim_until_ms = claim_until,
                "delivery not recorded: the record stays `sending`; a copy of this alert that \
                 arrives after the claim ends is sent again");
        }
        if sent.ok {
            tracing::info!(channel = %channel.id, kind = channel.kind().as_str(), key = %alert.key,
                attempts = sent.attempts, "alert delivered");
            ChannelResult::Sent
        } else {
            let error = outcome.last_error.unwrap_or_default();
            tracing::warn!(channel = %channel.id, kind = channel.kind().as_str(), key = %alert.key,
                attempts = sent.attempts, retryable = sent.retryable, error = %error,
                "alert not delivered; recorded failed");
            ChannelResult::Failed {
                retryable: sent.retryable,
                error,
            }
        }
    }

    /// Writes how a delivery ended, retried (the [`crate::retry`] policy: 4 attempts from
    /// 100 ms) while the store's errors are retryable.
    async fn record(
        &self,
        channel: &Channel,
        alert: &Alert,
        claim_until: i64,
        outcome: &DeliveryOutcome,
    ) -> Result<(), StoreError> {
        let policy =
            crate::retry::retry_policy(Duration::from_millis(100), Duration::from_millis(3_200), 4);
        (|| {
            self.log.finish_delivery(
                &channel.id,
                &alert.key,
                claim_until,
                outcome,
                self.clock.now_ms(),
            )
        })
        .retry(policy)
        .when(StoreError::is_retryable)
        .await
    }

    /// Resolves, renders and sends; what happened, for the record, with every secret value of
    /// the channel masked in its error (a provider may echo a routing key or token it was sent
    /// in the body, which the sender's own scrub of URL and headers does not know).
    async fn send(&self, channel: &Channel, alert: &Alert, ends: Option<Instant>) -> Attempted {
        let resolved = match resolve_channel(&self.secrets, channel).await {
            Ok(c) => c,
            // Retryable unless a resolved value has the wrong shape (ResolveError::is_retryable).
            Err(e) => return Attempted::failed(e.is_retryable(), e.to_string()),
        };
        let mut attempted = self.send_resolved(channel, &resolved, alert, ends).await;
        if let Some(e) = attempted.error.as_mut() {
            *e = mask_secrets(e, &resolved);
        }
        attempted
    }

    async fn send_resolved(
        &self,
        channel: &Channel,
        resolved: &Channel,
        alert: &Alert,
        ends: Option<Instant>,
    ) -> Attempted {
        let started = Instant::now();
        let kind = channel.kind().as_str();
        match render(resolved, alert, &self.settings.endpoints) {
            Rendered::Skip(reason) => {
                tracing::debug!(channel = %channel.id, key = %alert.key, reason,
                    "nothing to send for this alert on this channel");
                Attempted::sent()
            }
            Rendered::Mail(mail) => {
                self.attempt(&format!("mail to {kind}"), started, ends, || {
                    self.mail.send_mail(&mail)
                })
                .await
            }
            Rendered::Http(requests) => {
                let mut total = Attempted::sent();
                for request in &requests {
                    if self.superseded(channel, alert, request).await {
                        continue;
                    }
                    let one = self
                        .attempt(&format!("POST to {kind}"), started, ends, || {
                            self.http.post(request)
                        })
                        .await;
                    total.then(one);
                    if !total.ok {
                        break;
                    }
                    self.note_accepted(channel, alert, request).await;
                }
                total
            }
        }
    }

    /// [`Notifier::retry_by`] with no deadline.
    ///
    /// # Errors
    /// As [`Notifier::retry_by`].
    pub async fn retry(&self, delivery_id: &str) -> Result<DeliveryRecord, RetryError> {
        self.retry_by(delivery_id, None).await
    }

    /// Sends a failed delivery again (`POST /v1/deliveries/{id}/retry`) before `deadline_ms`
    /// (epoch ms; see the module's doc): answers the record as it stands afterwards (`sent`,
    /// or `failed` with the new error; `sending` if another delivery claimed it in between;
    /// unchanged if the deadline left no time to send). A `sending` record whose claim has
    /// passed (`updated_at + claim_ms < now`: its sender died, or was stopped) is sent again
    /// too, as the claim's own condition would let the queue's next copy do.
    ///
    /// # Errors
    /// [`RetryError`]: an id that is not a delivery's, a record that is neither `failed` nor
    /// `sending` under a claim that has passed, a channel that was deleted, or the store.
    pub async fn retry_by(
        &self,
        delivery_id: &str,
        deadline_ms: Option<i64>,
    ) -> Result<DeliveryRecord, RetryError> {
        let not_found = || RetryError::NotFound(clip(delivery_id, 200));
        let (channel_id, key) = parse_delivery_id(delivery_id).ok_or_else(not_found)?;
        let record = self
            .log
            .delivery(&channel_id, &key)
            .await?
            .ok_or_else(not_found)?;
        let claim_passed = record.status == DeliveryStatus::Sending
            && record.updated_at.saturating_add(self.settings.claim_ms) < self.clock.now_ms();
        if record.status != DeliveryStatus::Failed && !claim_passed {
            return Err(RetryError::NotFailed(
                record.id.clone(),
                record.status.as_str(),
            ));
        }
        let channel = self
            .channels
            .channel(&channel_id)
            .await?
            .ok_or_else(|| RetryError::NoChannel(channel_id.clone()))?;
        let result = self.deliver_by(&channel, &record.alert, deadline_ms).await;
        tracing::info!(delivery = %record.id, result = ?result, "delivery retried");
        self.log
            .delivery(&channel_id, &key)
            .await?
            .ok_or_else(not_found)
    }

    /// [`Notifier::test_by`] with no deadline.
    pub async fn test(&self, channel: &Channel) -> TestAnswers {
        self.test_by(channel, None).await
    }

    /// Sends a test message through `channel` (enabled or not, no claim, no record) and answers
    /// what the provider said: one answer per request, each sent once (no retries: the
    /// operator sees the provider's first answer). An e-mail channel answers the mail
    /// service's; a kind that sends nothing answers nothing. A secret reference that cannot be
    /// resolved is one error naming the reference. A request that could not end before
    /// `deadline_ms` (epoch ms; see the module's doc) is not sent: its answer is an error
    /// saying so.
    pub async fn test_by(&self, channel: &Channel, deadline_ms: Option<i64>) -> TestAnswers {
        let ends = self.ends(deadline_ms);
        let late = || SendError("not sent: no time left before the deadline".into());
        let resolved = match resolve_channel(&self.secrets, channel).await {
            Ok(c) => c,
            Err(e) => return vec![Err(SendError(e.to_string()))],
        };
        let kind = channel.kind().as_str();
        let answers = match render_test(&resolved, &self.settings.endpoints, self.clock.now_ms()) {
            Rendered::Skip(_) => Vec::new(),
            Rendered::Mail(_) if !self.fits(ends, Duration::ZERO) => vec![Err(late())],
            Rendered::Mail(mail) => vec![self
                .mail
                .send_mail(&mail)
                .await
                .map_err(|e| SendError(format!("mail to {kind} failed: {e}")))],
            Rendered::Http(requests) => {
                let mut out = Vec::with_capacity(requests.len());
                for r in &requests {
                    if !self.fits(ends, Duration::ZERO) {
                        out.push(Err(late()));
                        continue;
                    }
                    out.push(
                        self.http
                            .post(r)
                            .await
                            .map_err(|e| SendError(format!("POST to {kind} failed: {e}"))),
                    );
                }
                out
            }
        };
        answers
            .into_iter()
            .map(|a| match a {
                Ok(mut answer) => {
                    answer.body = mask_secrets(&answer.body, &resolved);
                    Ok(answer)
                }
                Err(e) => Err(SendError(mask_secrets(&e.0, &resolved))),
            })
            .collect()
    }
}

impl<C, D, H, M> Notifier<C, D, H, M> {
    /// The instant by which the last request must have ended for `deadline_ms`: the deadline
    /// less [`DEADLINE_MARGIN_MS`], read on the clock once and then counted in real time (as
    /// the retries' waits are).
    fn ends(&self, deadline_ms: Option<i64>) -> Option<Instant> {
        deadline_ms.map(|d| {
            let left = d
                .saturating_sub(DEADLINE_MARGIN_MS)
                .saturating_sub(self.clock.now_ms());
            let now = Instant::now();
            now.checked_add(Duration::from_millis(u64::try_from(left).unwrap_or(0)))
                .unwrap_or(now)
        })
    }

    /// Whether a wait of `wait` and then one request can end by `ends`.
    fn fits(&self, ends: Option<Instant>, wait: Duration) -> bool {
        let request = Duration::from_millis(self.settings.timeout_ms);
        ends.is_none_or(|e| Instant::now() + wait + request <= e)
    }
}

/// `text` with every secret value of `channel` (resolved: the values actually sent) masked as
/// `***`, longest first; values under 6 characters are left (they would mask ordinary words).
fn mask_secrets(text: &str, channel: &Channel) -> String {
    let mut config = channel.config.clone();
    let mut values: Vec<String> = Vec::new();
    let _ = config.for_each_secret_mut(|_, v| {
        if v.len() >= 6 {
            values.push(v.clone());
        }
        Ok::<(), ()>(())
    });
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    let mut out = text.to_string();
    for v in &values {
        if out.contains(v.as_str()) {
            out = out.replace(v.as_str(), "***");
        }
    }
    out
}

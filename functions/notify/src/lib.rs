//! The notify function: the alert topic's SQS queue (SNS → SQS → Lambda) to the notification
//! channels. Each batch reads the channels once and hands each record's alert to
//! [`lookout_app::usecases::notify::Notifier`], which sends one message per alert per channel
//! (a conditional claim of `(channel, alert key)` first) with retries.
//!
//! The answer is a partial batch response (`ReportBatchItemFailures`): a record is reported as
//! failed, so that SQS delivers it again after the visibility timeout and moves it to the
//! dead-letter queue after `maxReceiveCount` receives, when
//! - its body holds no alert (logged without its content), or
//! - a channel failed in a way a later try may fix ([`AlertOutcome::redeliver`]), or a channel
//!   is still claimed by another delivery (`Duplicate(Sending)`: if that sender died, its claim
//!   expires before the message comes back, and the next receive sends it), or
//! - the function's deadline came before it was handled, or before one of its channels was
//!   reached (`NotReached`), or cut its retries short (a retryable failure).
//!
//! The deadline (the Lambda context's) is handed to the [`Notifier`], which starts no request
//! or wait that could not end
//! [`DEADLINE_MARGIN_MS`](lookout_app::usecases::notify::DEADLINE_MARGIN_MS) before it, so the
//! invocation is not killed mid-delivery with records left `sending`.
//!
//! Channels already sent are skipped on the next receive by their claim, so a redelivered
//! message never sends twice. A batch whose channels cannot be read fails as a whole
//! ([`HandlerError`]).
//!
//! Without an event source mapping (the local stack), `notify --poll <queue url>` does what the
//! mapping does ([`local`]).

mod deps;
pub mod event;
pub mod local;

use std::future::Future;

use lookout_app::ports::StoreError;
use lookout_app::ports::{ChannelStore, DeliveryLog, HttpSender, MailSender};
use lookout_app::usecases::notify::{AlertOutcome, ChannelResult, Notifier};
use lookout_core::domain::Alert;
use lookout_core::notify::{Channel, DeliveryStatus};

pub use deps::{AwsNotifier, Deps};
pub use event::{alert_of, BatchItemFailure, BodyError, SqsBatchResponse, SqsEvent, SqsMessage};

/// Time kept in hand before the function's deadline, ms: no alert is started later than this
/// (the rest of the batch is reported as failed and comes back), so a slow provider does not
/// make Lambda kill the invocation mid-delivery.
pub const DEADLINE_MARGIN_MS: i64 = 20_000;

/// What the handler needs of the use case: the channels, and one alert's delivery to them.
/// [`Notifier`] is the one implementation; tests give their own.
pub trait Deliver {
    /// Every channel (read once per batch).
    fn channels(&self) -> impl Future<Output = Result<Vec<Channel>, StoreError>> + Send;

    /// Delivers `alert` to each of `channels` that takes it, before `deadline_ms` (epoch ms)
    /// when given ([`Notifier::notify_with_deadline`]).
    fn deliver(
        &self,
        channels: &[Channel],
        alert: &Alert,
        deadline_ms: Option<i64>,
    ) -> impl Future<Output = AlertOutcome> + Send;
}

impl<C, D, H, M> Deliver for Notifier<C, D, H, M>
where
    C: ChannelStore + Sync,
    D: DeliveryLog + Sync,
    H: HttpSender + Sync,
    M: MailSender + Sync,
{
    fn channels(&self) -> impl Future<Output = Result<Vec<Channel>, StoreError>> + Send {
        self.channels.channels()
    }

    fn deliver(
        &self,
        channels: &[Channel],
        alert: &Alert,
        deadline_ms: Option<i64>,
    ) -> impl Future<Output = AlertOutcome> + Send {
        self.notify_with_deadline(channels, alert, deadline_ms)
    }
}

/// A batch that failed as a whole: every record comes back.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The channels could not be read.
    #[error("reading the channels: {0}")]
    Channels(#[from] StoreError),
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(e: HandlerError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: match &e {
                HandlerError::Channels(_) => "ChannelsUnavailable".into(),
            },
            error_message: e.to_string(),
        }
    }
}

/// Whether a message must come back for `outcome`: a retryable failure, or a channel claimed
/// by a delivery that may have died.
pub fn comes_back(outcome: &AlertOutcome) -> bool {
    outcome.redeliver()
        || outcome
            .results
            .iter()
            .any(|(_, r)| *r == ChannelResult::Duplicate(DeliveryStatus::Sending))
}

/// Handles one batch: reads the channels once, then delivers the records' alerts in the order
/// of their time (`at`; a down and its recovery in one batch go out in that order): none is
/// started after `deadline_ms` (epoch ms) less [`DEADLINE_MARGIN_MS`] when given, and each
/// is delivered with `deadline_ms` as its deadline.
///
/// # Errors
/// [`HandlerError`] when the channels cannot be read (the whole batch comes back).
pub async fn handle<N: Deliver + Sync>(
    notifier: &N,
    event: SqsEvent,
    deadline_ms: Option<i64>,
) -> Result<SqsBatchResponse, HandlerError> {
    let mut failed = Vec::new();
    let mut alerts = Vec::new();
    for record in &event.records {
        match alert_of(&record.body) {
            Ok(alert) => alerts.push((record, alert)),
            Err(e) => {
                tracing::error!(message_id = %record.message_id, receive_count = record.receive_count(),
                    body_bytes = record.body.len(), error = %e,
                    "a message without an alert: left for the dead-letter queue");
                failed.push(record.message_id.clone());
            }
        }
    }
    if alerts.is_empty() {
        return Ok(answer(failed));
    }
    let channels = notifier.channels().await?;
    alerts.sort_by_key(|(_, a)| a.at);
    let mut sent = 0usize;
    for (record, alert) in alerts {
        if deadline_ms.is_some_and(|d| lookout_core::time::now_ms() > d - DEADLINE_MARGIN_MS) {
            tracing::warn!(message_id = %record.message_id, alert_key = %alert.key,
                "the deadline is near: the message comes back");
            failed.push(record.message_id.clone());
            continue;
        }
        let outcome = notifier.deliver(&channels, &alert, deadline_ms).await;
        let back = comes_back(&outcome);
        let count =
            |f: fn(&ChannelResult) -> bool| outcome.results.iter().filter(|(_, r)| f(r)).count();
        tracing::info!(message_id = %record.message_id, receive_count = record.receive_count(),
            alert_key = %alert.key, kind = alert.kind.as_str(),
            sent = count(|r| *r == ChannelResult::Sent),
            duplicate = count(|r| matches!(r, ChannelResult::Duplicate(_))),
            failed = count(|r| matches!(r, ChannelResult::Failed { .. })),
            not_reached = count(|r| *r == ChannelResult::NotReached),
            comes_back = back, "alert delivered to the channels");
        if back {
            failed.push(record.message_id.clone());
        } else {
            sent += 1;
        }
    }
    tracing::info!(
        records = event.records.len(),
        channels = channels.len(),
        done = sent,
        failed = failed.len(),
        "batch handled"
    );
    Ok(answer(failed))
}

fn answer(failed: Vec<String>) -> SqsBatchResponse {
    let mut ids: Vec<String> = Vec::with_capacity(failed.len());
    for id in failed {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    SqsBatchResponse {
        batch_item_failures: ids
            .into_iter()
            .map(|item_identifier| BatchItemFailure { item_identifier })
            .collect(),
    }
}

#[cfg(test)]
mod tests;

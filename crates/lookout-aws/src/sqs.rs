//! SQS: the probe's shard tasks ([`SqsShardQueue`], the [`ShardQueue`] port) and a local
//! stand-in for Lambda's SQS event source mapping.
//!
//! [`QueuePoller`] receives a batch
//! from a queue, hands it to a handler and deletes the messages the handler did not report as
//! failed. Failed messages stay on the queue: they come back after the visibility timeout, and
//! after the queue's `maxReceiveCount` receives its `RedrivePolicy` moves them to the
//! dead-letter queue — as on AWS with `FunctionResponseTypes: [ReportBatchItemFailures]`.
//!
//! The poller is used where no event source mapping exists (the local stack, `make dev`, the demo and the
//! integration tests); on AWS the mapping does this and this code never runs.
//!
//! Source of the rules: "Using Lambda with Amazon SQS" and "Handling errors for an SQS event
//! source" in the AWS Lambda Developer Guide (batch of at most 10 for a standard queue; the
//! messages of a batch whose identifiers are in `batchItemFailures` are not deleted; a handler
//! error fails the whole batch).

use std::future::Future;
use std::time::Duration;

use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageSystemAttributeName, SendMessageBatchRequestEntry,
};
use aws_sdk_sqs::Client;

use crate::sdk_message;
use lookout_app::ports::{ShardQueue, ShardTask, StoreError};
use lookout_app::retry::{retry_policy, until_all_done};
use lookout_app::usecases::sqs::{SqsAttributes, SqsEvent, SqsMessage};

/// Most messages one `ReceiveMessage` returns (the SQS limit, and Lambda's default batch).
pub const MAX_BATCH: i32 = 10;

/// One received message: what Lambda's SQS event carries of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    /// The message id (`messageId` in the event, `itemIdentifier` in a batch item failure).
    pub message_id: String,
    /// The receipt handle of this receive (what deletes it).
    pub receipt_handle: String,
    /// The body, as sent (an SNS envelope, or the raw message with raw delivery on).
    pub body: String,
    /// `ApproximateReceiveCount`: 1 on the first receive.
    pub receive_count: u32,
}

/// A queue call that failed (no answer, or an SQS error). Its text names the queue URL, which
/// holds no secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueueError(pub String);

/// What one [`QueuePoller::poll_once`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollReport {
    /// Messages received.
    pub received: usize,
    /// Messages deleted (handled).
    pub deleted: usize,
    /// Messages left on the queue (reported as failed, or a failed batch).
    pub failed: usize,
}

/// Receives from one queue, like an event source mapping with `ReportBatchItemFailures`.
#[derive(Clone, Debug)]
pub struct QueuePoller {
    client: crate::LazyClient<Client>,
    queue_url: String,
    batch: i32,
    wait_s: i32,
}

impl QueuePoller {
    /// A poller of `queue_url` with a client from `aws` (made on first use), batches of
    /// [`MAX_BATCH`] and a long poll of 1 s.
    pub fn from_config(aws: &aws_config::SdkConfig, queue_url: impl Into<String>) -> Self {
        Self::new(crate::LazyClient::new(aws, Client::new), queue_url)
    }

    /// A poller of `queue_url` with `client`.
    pub fn new(client: impl Into<crate::LazyClient<Client>>, queue_url: impl Into<String>) -> Self {
        QueuePoller {
            client: client.into(),
            queue_url: queue_url.into(),
            batch: MAX_BATCH,
            wait_s: 1,
        }
    }

    /// The same poller with batches of `size` messages (clamped to 1 ..= [`MAX_BATCH`]) and a
    /// long poll of `wait_s` seconds (clamped to 0 ..= 20, the SQS limit).
    pub fn with_batch(mut self, size: i32, wait_s: i32) -> Self {
        self.batch = size.clamp(1, MAX_BATCH);
        self.wait_s = wait_s.clamp(0, 20);
        self
    }

    /// The queue's URL.
    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    /// One `ReceiveMessage` (long poll): up to the batch size, possibly none.
    ///
    /// # Errors
    /// [`QueueError`] when SQS does not answer or refuses.
    pub async fn receive(&self) -> Result<Vec<QueueMessage>, QueueError> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(self.batch)
            .wait_time_seconds(self.wait_s)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| {
                QueueError(format!(
                    "receive from {}: {}",
                    self.queue_url,
                    sdk_message(&e)
                ))
            })?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| {
                let receive_count = m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1);
                Some(QueueMessage {
                    message_id: m.message_id?,
                    receipt_handle: m.receipt_handle?,
                    body: m.body.unwrap_or_default(),
                    receive_count,
                })
            })
            .collect())
    }

    /// Deletes `messages` with `DeleteMessageBatch` (at most [`MAX_BATCH`] per request).
    /// Answers how many were deleted.
    ///
    /// # Errors
    /// [`QueueError`] when a request fails or SQS refuses an entry.
    pub async fn delete(&self, messages: &[&QueueMessage]) -> Result<usize, QueueError> {
        let mut deleted = 0;
        for chunk in messages.chunks(MAX_BATCH as usize) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(&m.receipt_handle)
                        .build()
                        .map_err(|e| QueueError(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| {
                    QueueError(format!(
                        "delete from {}: {}",
                        self.queue_url,
                        sdk_message(&e)
                    ))
                })?;
            if let Some(failed) = out.failed.first() {
                return Err(QueueError(format!(
                    "delete from {}: {} of {} refused ({}: {})",
                    self.queue_url,
                    out.failed.len(),
                    chunk.len(),
                    failed.code,
                    failed.message.as_deref().unwrap_or("")
                )));
            }
            deleted += out.successful.len();
        }
        Ok(deleted)
    }

    /// One round of the event source mapping: receive a batch; if any, hand it to `handler`,
    /// which answers the message ids that failed (`batchItemFailures`) or `Err` for a failed
    /// batch; delete the others. Failed messages are left to come back after the visibility
    /// timeout.
    ///
    /// # Errors
    /// [`QueueError`] when receiving or deleting fails.
    pub async fn poll_once<F, Fut, E>(&self, handler: F) -> Result<PollReport, QueueError>
    where
        F: FnOnce(Vec<QueueMessage>) -> Fut,
        Fut: Future<Output = Result<Vec<String>, E>>,
        E: std::fmt::Display,
    {
        let messages = self.receive().await?;
        if messages.is_empty() {
            return Ok(PollReport::default());
        }
        let received = messages.len();
        let failed_ids = match handler(messages.clone()).await {
            Ok(ids) => ids,
            Err(e) => {
                tracing::warn!(queue = %self.queue_url, error = %e, messages = received,
                    "the handler failed the batch: every message comes back");
                return Ok(PollReport {
                    received,
                    deleted: 0,
                    failed: received,
                });
            }
        };
        let done: Vec<&QueueMessage> = messages
            .iter()
            .filter(|m| !failed_ids.contains(&m.message_id))
            .collect();
        let deleted = self.delete(&done).await?;
        Ok(PollReport {
            received,
            deleted,
            failed: received - done.len(),
        })
    }

    /// Rounds of [`QueuePoller::poll_once`] as `args` say (`once` runs one round with the
    /// caller's handler): at most `args.rounds`, ending after a round that received nothing
    /// when `args.until_idle`; a failed round waits [`POLL_BACKOFF_MS`] and goes on. Answers
    /// the totals.
    pub async fn poll_rounds<F, Fut>(&self, args: &PollArgs, mut once: F) -> PollReport
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<PollReport, QueueError>>,
    {
        let mut total = PollReport::default();
        for _ in 0..args.rounds {
            match once().await {
                Ok(report) => {
                    total.received += report.received;
                    total.deleted += report.deleted;
                    total.failed += report.failed;
                    if report.received == 0 && args.until_idle {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(queue = %self.queue_url, error = %e,
                        "polling failed; trying again in a second");
                    tokio::time::sleep(Duration::from_millis(POLL_BACKOFF_MS)).await;
                }
            }
        }
        total
    }
}

/// How long [`QueuePoller::poll_rounds`] waits after a receive or delete failed (the queue is
/// down), ms.
pub const POLL_BACKOFF_MS: u64 = 1_000;

/// What a function's `--poll` asks (`notify --poll`, `probe --poll`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollArgs {
    /// The queue to poll.
    pub queue_url: String,
    /// Rounds at most (`--rounds N`); `u64::MAX` by default.
    pub rounds: u64,
    /// Stop after a round that received nothing (`--until-idle`).
    pub until_idle: bool,
}

impl PollArgs {
    /// Reads `--poll <url> [--rounds N] [--until-idle]`, in any order, from the program's
    /// arguments (without the program name); `Ok(None)` without `--poll` (run as a Lambda
    /// function).
    ///
    /// # Errors
    /// A message naming the argument that is missing or wrong.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<PollArgs>, String> {
        let mut args = args.into_iter();
        let mut url = None;
        let mut rounds = u64::MAX;
        let mut until_idle = false;
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--poll" => url = Some(args.next().ok_or("--poll needs the queue URL")?),
                "--rounds" => {
                    rounds = args
                        .next()
                        .and_then(|n| n.parse().ok())
                        .ok_or("--rounds needs a number")?;
                }
                "--until-idle" => until_idle = true,
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(url.map(|queue_url| PollArgs {
            queue_url,
            rounds,
            until_idle,
        }))
    }
}

/// The SQS event Lambda would give for `messages`.
pub fn event_of(messages: &[QueueMessage]) -> SqsEvent {
    SqsEvent {
        records: messages
            .iter()
            .map(|m| SqsMessage {
                message_id: m.message_id.clone(),
                body: m.body.clone(),
                attributes: SqsAttributes {
                    approximate_receive_count: Some(m.receive_count.to_string()),
                },
            })
            .collect(),
    }
}

/// Attempts of a `SendMessageBatch` whose entries come back failed (not the sender's fault).
const SEND_ATTEMPTS: u32 = 5;

/// The probe's shard tasks on an SQS queue ([`ShardQueue`]): one message per task, its body the
/// task as JSON, sent with `SendMessageBatch` ([`MAX_BATCH`] per request).
///
/// Entries SQS fails on its side are sent again with the [`lookout_app::retry`] policy
/// ([`SEND_ATTEMPTS`] attempts); an entry failed for the sender's fault (`SenderFault`: too
/// large, malformed) is not, and fails the call as [`StoreError::Invalid`].
#[derive(Clone, Debug)]
pub struct SqsShardQueue {
    client: crate::LazyClient<Client>,
    queue_url: String,
}

impl SqsShardQueue {
    /// The queue at `queue_url` with a client from `aws` (made on first use).
    pub fn from_config(aws: &aws_config::SdkConfig, queue_url: impl Into<String>) -> Self {
        Self::new(crate::LazyClient::new(aws, Client::new), queue_url)
    }

    /// The queue at `queue_url` with `client`.
    pub fn new(client: impl Into<crate::LazyClient<Client>>, queue_url: impl Into<String>) -> Self {
        SqsShardQueue {
            client: client.into(),
            queue_url: queue_url.into(),
        }
    }

    /// The queue's URL.
    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    /// One `SendMessageBatch` of `entries` (id, body); answers the entries SQS failed on its
    /// side, to send again.
    async fn send_once(
        &self,
        entries: Vec<(String, String)>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let request = entries
            .iter()
            .map(|(id, body)| {
                SendMessageBatchRequestEntry::builder()
                    .id(id)
                    .message_body(body)
                    .build()
                    .map_err(|e| StoreError::Invalid(sdk_message(&e)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .client
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(request))
            .send()
            .await
            .map_err(crate::store_error)?;
        if let Some(f) = out.failed.iter().find(|f| f.sender_fault) {
            return Err(StoreError::Invalid(format!(
                "send to {}: task {} refused ({}: {})",
                self.queue_url,
                f.id,
                f.code,
                f.message.as_deref().unwrap_or("")
            )));
        }
        Ok(entries
            .into_iter()
            .filter(|(id, _)| out.failed.iter().any(|f| &f.id == id))
            .collect())
    }
}

impl ShardQueue for SqsShardQueue {
    async fn send_tasks(&self, tasks: &[ShardTask]) -> Result<(), StoreError> {
        let bodies = tasks
            .iter()
            .map(|t| serde_json::to_string(t).map_err(|e| StoreError::Invalid(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        for (n, chunk) in bodies.chunks(MAX_BATCH as usize).enumerate() {
            let entries: Vec<(String, String)> = chunk
                .iter()
                .enumerate()
                .map(|(i, b)| (format!("t{}", n * MAX_BATCH as usize + i), b.clone()))
                .collect();
            until_all_done(
                retry_policy(
                    Duration::from_millis(100),
                    Duration::from_secs(2),
                    SEND_ATTEMPTS,
                ),
                entries,
                StoreError::is_retryable,
                |entries| self.send_once(entries),
            )
            .await
            .map_err(|left| left.into_store_error("SendMessageBatch"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Result<Option<PollArgs>, String> {
        PollArgs::parse(a.iter().map(|s| s.to_string()))
    }

    #[test]
    fn poll_arguments_read_in_any_order_and_nothing_means_lambda() {
        assert_eq!(args(&[]).unwrap(), None);
        let a = args(&["--until-idle", "--poll", "http://q", "--rounds", "3"])
            .unwrap()
            .unwrap();
        assert_eq!(
            a,
            PollArgs {
                queue_url: "http://q".into(),
                rounds: 3,
                until_idle: true
            }
        );
        assert_eq!(
            args(&["--poll", "http://q"]).unwrap().unwrap().rounds,
            u64::MAX
        );
        assert!(args(&["--poll"]).is_err());
        assert!(args(&["--poll", "q", "--rounds", "x"]).is_err());
        assert!(args(&["--bogus"]).is_err());
    }

    #[test]
    fn a_received_message_becomes_the_record_lambda_would_hand_over() {
        let m = QueueMessage {
            message_id: "m-1".into(),
            receipt_handle: "r".into(),
            body: "{}".into(),
            receive_count: 2,
        };
        let event = event_of(&[m]);
        assert_eq!(event.records.len(), 1);
        assert_eq!(event.records[0].message_id, "m-1");
        assert_eq!(event.records[0].receive_count(), 2);
    }
}

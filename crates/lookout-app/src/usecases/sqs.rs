//! Lambda's SQS event and the partial batch response of `ReportBatchItemFailures`, as the
//! functions that consume a queue (notify, probe workers) read and answer them.
//!
//! Shapes from the AWS Lambda Developer Guide, "Using Lambda with Amazon SQS" (the event:
//! `{"Records":[{"messageId","receiptHandle","body","attributes":{...},...}]}`) and
//! "Implementing partial batch responses" (`{"batchItemFailures":[{"itemIdentifier":"<messageId>"}]}`).
//! Smaller than `aws_lambda_events`' types: the functions need three fields of a record.

use serde::{Deserialize, Serialize};

/// An SQS event: a batch of 1 to 10 records (the event source mapping's `BatchSize`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct SqsEvent {
    /// The messages, in the order received.
    #[serde(rename = "Records", default)]
    pub records: Vec<SqsMessage>,
}

/// One message of an [`SqsEvent`]. Fields the function does not read are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct SqsMessage {
    /// The message id: what a batch item failure names.
    #[serde(rename = "messageId", default)]
    pub message_id: String,
    /// The body: what the sender put (an alert, an SNS envelope, a shard task, as JSON).
    #[serde(default)]
    pub body: String,
    /// System attributes, of which `ApproximateReceiveCount` is logged.
    #[serde(default)]
    pub attributes: SqsAttributes,
}

/// The system attributes of an [`SqsMessage`] the function reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct SqsAttributes {
    /// How often the message was received, this time included (a number as text).
    #[serde(rename = "ApproximateReceiveCount", default)]
    pub approximate_receive_count: Option<String>,
}

impl SqsMessage {
    /// `ApproximateReceiveCount` as a number (1 when absent or unreadable).
    pub fn receive_count(&self) -> u32 {
        self.attributes
            .approximate_receive_count
            .as_deref()
            .and_then(|n| n.parse().ok())
            .unwrap_or(1)
    }
}

/// The answer of a batch: the messages to receive again (every other one is deleted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct SqsBatchResponse {
    /// The failed messages, by id.
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<BatchItemFailure>,
}

/// One failed message of an [`SqsBatchResponse`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct BatchItemFailure {
    /// The [`SqsMessage::message_id`].
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

impl SqsBatchResponse {
    /// The failed message ids.
    pub fn failed_ids(&self) -> Vec<String> {
        self.batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect()
    }
}

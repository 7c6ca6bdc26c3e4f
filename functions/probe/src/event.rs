//! The two events the probe function takes, and its answers.
//!
//! - A scheduled event (EventBridge's constant input `{"kind":"server"}`, or any other object
//!   without `Records`): [`ProbeEvent`](crate::ProbeEvent), answered with a
//!   [`Dispatched`](lookout_app::usecases::probe_run::fanout::Dispatched) (the in-process run's
//!   report plus the kinds handed to workers).
//! - An SQS event of the probe work queue (`{"Records":[...]}`), each body one
//!   [`ShardTask`] as JSON, answered with a partial batch response.
//!
//! Shapes from the AWS Lambda Developer Guide, "Using Lambda with Amazon SQS" (the event:
//! `{"Records":[{"messageId","receiptHandle","body","attributes":{...},...}]}`) and
//! "Implementing partial batch responses" (`{"batchItemFailures":[{"itemIdentifier":"<messageId>"}]}`).
//! Only the fields the function reads.

use lookout_app::ports::ShardTask;
use lookout_app::usecases::event::Payload;
use lookout_app::usecases::probe_run::fanout::Dispatched;
use serde::{Deserialize, Serialize};

use crate::ProbeEvent;

pub use lookout_app::usecases::sqs::{
    BatchItemFailure, SqsAttributes, SqsBatchResponse, SqsEvent, SqsMessage,
};

/// What the function was invoked with.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeInput {
    /// A scheduled (or manual) run.
    Scheduled(Box<ProbeEvent>),
    /// A batch of shard tasks from the work queue.
    Tasks(SqsEvent),
}

impl<'de> Deserialize<'de> for ProbeInput {
    /// An object with a `Records` array is an SQS event; anything else reads as a
    /// [`ProbeEvent`] the way [`Payload`] reads it (never failing: a bad field is refused later,
    /// by name).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        if value.get("Records").is_some_and(|r| r.is_array()) {
            return SqsEvent::deserialize(value)
                .map(ProbeInput::Tasks)
                .map_err(serde::de::Error::custom);
        }
        Payload::<ProbeEvent>::deserialize(value)
            .map(|Payload(e)| ProbeInput::Scheduled(Box::new(e)))
            .map_err(serde::de::Error::custom)
    }
}

/// The function's answer: the run (scheduled) or the batch response (tasks).
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ProbeAnswer {
    /// To a scheduled event.
    Scheduled(Box<Dispatched>),
    /// To an SQS event.
    Tasks(SqsBatchResponse),
}

/// Why a body holds no task. The text names the position only: serde's own messages may quote
/// the body, which is not logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the body is not a shard task ({0})")]
pub struct BodyError(pub String);

/// The task of a record's body.
///
/// # Errors
/// [`BodyError`] naming where the body stops being a task, never quoting it.
pub fn task_of(body: &str) -> Result<ShardTask, BodyError> {
    let task: ShardTask = serde_json::from_str(body).map_err(|e| {
        BodyError(format!(
            "{:?} error at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        ))
    })?;
    // `index < of <= BUCKETS`: anything else names no shard.
    if lookout_core::domain::Shard::new(task.shard.index, task.shard.of).is_none() {
        return Err(BodyError(format!(
            "shard {} of {} names no shard",
            task.shard.index, task.shard.of
        )));
    }
    Ok(task)
}

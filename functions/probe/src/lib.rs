//! The probe function: reads its event and runs the probe run
//! ([`lookout_app::usecases::probe_run`]): probes the enabled targets of one kind (or both), applies
//! the status state machine, commits status changes with their alerts (outbox), publishes the
//! alerts, and records the snapshot, the history and a run record.
//!
//! Event ([`ProbeEvent`]): the EventBridge rule's input `{"kinds":["server","proxy"]}` (one
//! rule and one invocation a minute for both kinds, each kind still with its own lease and run),
//! or the older single-kind `{"kind":"server"}` / `{"kind":"proxy"}`; any other event without
//! `kind` or `kinds` (such as the plain scheduled-event envelope) probes both kinds. A run probes the targets that are due (never checked, or last
//! checked `interval_s` ago, less [`DUE_SLACK_MS`] for schedule jitter); `"force": true` probes
//! every enabled target now.
//! Answer: a [`RunReport`] as JSON (with `fanned_out`, the kinds handed to workers); errors as
//! a [`lambda_runtime::Diagnostic`] ([`diagnostic`]).
//!
//! Fan-out ([`lookout_app::usecases::probe_run::fanout`]): with a work queue
//! (`LOOKOUT_PROBE_QUEUE_URL`), a kind with more targets than one worker takes
//! (`LOOKOUT_SHARD_TARGETS`, 10,000 by default) is split into shards, one task each on the
//! queue. The same function consumes the queue (event source mapping, batch 1,
//! `ReportBatchItemFailures`): an SQS event ([`SqsEvent`], each body a [`ShardTask`]) runs those
//! shards ([`handle_tasks`]) and answers an [`SqsBatchResponse`] naming the records to receive
//! again. Without the mapping (the local stack), `probe --poll <queue url>` does what it does
//! ([`local`]).

pub mod event;
pub mod local;

use lambda_runtime::{Diagnostic, LambdaEvent};
use lookout_app::ports::{AlertPublisher, Located, ShardLayout, Sharded};
use lookout_app::probe::Prober;
use lookout_app::usecases::event::Field;
use lookout_app::usecases::probe_run::fanout::{
    run_or_dispatch, run_shard, Dispatched, ShardOutcome,
};
use lookout_core::domain::TargetKind;
use serde::Deserialize;

pub use event::{
    task_of, BatchItemFailure, BodyError, ProbeAnswer, ProbeInput, SqsBatchResponse, SqsEvent,
    SqsMessage,
};
pub use lookout_app::ports::ShardTask;

pub use lookout_app::usecases::probe_run::{
    is_due, next_due_ms, run, usable_deadline, ProbeError, ProbeRequest, ProbeStore, RunConfig,
    RunReport, DEFAULT_WINDOW_S, DUE_SLACK_MS, FINISH_MARGIN_MS, MAX_LAMBDA_TIMEOUT_MS,
    SCHEDULE_PERIOD_S,
};

/// The probe function's event. Fields of the wrong type do not fail the invocation in the
/// runtime: they are refused by [`ProbeRequest::try_from`] as [`ProbeError::InvalidEvent`]
/// naming the field. Other fields (an EventBridge envelope's) are ignored.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ProbeEvent {
    /// `"server"` or `"proxy"`; absent or `null` for both kinds (or those of `kinds`).
    #[serde(default)]
    pub kind: Field<Option<TargetKind>>,
    /// The kinds to probe in this one invocation, in order, each with its own lease and run
    /// (`["server","proxy"]`, what the template's one schedule sends); absent or `null` for
    /// `kind`'s. Not both `kind` and `kinds`; no kind twice; not empty.
    #[serde(default)]
    pub kinds: Field<Option<Vec<TargetKind>>>,
    /// Probe every enabled target now, due or not (default false).
    #[serde(default)]
    pub force: Field<Option<bool>>,
    /// The repeat window, 0 to 300 seconds (see [`ProbeRequest::window_s`]).
    #[serde(default)]
    pub window_s: Field<Option<u64>>,
    /// The event's id (EventBridge's); ignored unless it is text of 1 to 128 bytes.
    #[serde(default)]
    pub id: Field<Option<String>>,
}

/// The longest `window_s` (seconds).
const MAX_WINDOW_S: u64 = 300;

impl TryFrom<ProbeEvent> for ProbeRequest {
    type Error = ProbeError;

    /// The request of an event, without a deadline (the caller sets it from the context).
    ///
    /// # Errors
    /// [`ProbeError::InvalidEvent`] when `kind` is present but neither `server` nor `proxy`,
    /// `kinds` is not a non-empty list of distinct kinds or comes with `kind`, `force` is not a
    /// boolean or `window_s` not a number from 0 to 300.
    fn try_from(event: ProbeEvent) -> Result<Self, ProbeError> {
        let invalid = |text: String| Err(ProbeError::InvalidEvent(text));
        let kind = match event.kind {
            Field::Absent | Field::Valid(None) => None,
            Field::Valid(Some(k)) => Some(k),
            Field::Invalid(serde_json::Value::String(k)) => {
                return invalid(format!("kind must be \"server\" or \"proxy\", got {k:?}"))
            }
            Field::Invalid(other) => return invalid(format!("kind must be a string, got {other}")),
        };
        let listed = match event.kinds {
            Field::Absent | Field::Valid(None) => None,
            Field::Valid(Some(list)) => Some(list),
            Field::Invalid(other) => {
                return invalid(format!(
                    "kinds must be a list of \"server\" and \"proxy\", got {other}"
                ))
            }
        };
        let kinds = match (kind, listed) {
            (Some(_), Some(_)) => return invalid("kind and kinds: give one of them".into()),
            (Some(k), None) => vec![k],
            (None, None) => TargetKind::ALL.to_vec(),
            (None, Some(list)) if list.is_empty() => {
                return invalid("kinds must name at least one kind".into())
            }
            (None, Some(list)) => {
                if let Some(twice) = list
                    .iter()
                    .enumerate()
                    .find_map(|(i, k)| list[..i].contains(k).then_some(k))
                {
                    return invalid(format!("kinds names {} twice", twice.as_str()));
                }
                list
            }
        };
        let force = match event.force {
            Field::Absent | Field::Valid(None) => false,
            Field::Valid(Some(b)) => b,
            Field::Invalid(other) => {
                return invalid(format!("force must be true or false, got {other}"))
            }
        };
        let window_s = match event.window_s {
            Field::Absent | Field::Valid(None) if force => 0,
            Field::Absent | Field::Valid(None) => DEFAULT_WINDOW_S,
            Field::Valid(Some(w)) if w <= MAX_WINDOW_S => w as u32,
            Field::Valid(Some(w)) => {
                return invalid(format!("window_s must be 0 to 300 seconds, got {w}"))
            }
            Field::Invalid(v) => {
                return invalid(format!("window_s must be 0 to 300 seconds, got {v}"))
            }
        };
        let event_id = match event.id {
            Field::Valid(Some(id)) if !id.is_empty() && id.len() <= 128 => Some(id),
            _ => None,
        };
        Ok(ProbeRequest {
            kinds,
            force,
            window_s,
            deadline_ms: None,
            event_id,
        })
    }
}

/// A run's error as Lambda reports it: `errorType` [`ProbeError::error_type`], `errorMessage`
/// its text.
pub fn diagnostic(e: ProbeError) -> Diagnostic {
    Diagnostic {
        error_type: e.error_type().into(),
        error_message: e.to_string(),
    }
}

/// Handles one SQS batch of shard tasks: each record's body is a [`ShardTask`] run with
/// [`run_shard`] (one after the other; the template's batch is 1). The answer names the
/// records to receive again: a body that is not a task (logged without its content), or a
/// shard whose run failed. A shard not run because another worker holds its lease or already
/// ran it, or a task too old, is done.
pub async fn handle_tasks<S, P>(
    store: &S,
    publisher: &P,
    prober: &Prober,
    config: &RunConfig,
    event: SqsEvent,
    deadline_ms: Option<i64>,
) -> SqsBatchResponse
where
    S: ProbeStore + Sharded + ShardLayout,
    P: AlertPublisher + Sync,
{
    let mut failed = Vec::new();
    for record in &event.records {
        let task = match task_of(&record.body) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(message_id = %record.message_id, receive_count = record.receive_count(),
                    error = %e, "a record without a shard task; it comes back, then goes to the dead-letter queue");
                failed.push(record.message_id.clone());
                continue;
            }
        };
        match run_shard(store, publisher, prober, &task, config, deadline_ms).await {
            Ok(ShardOutcome::NotRun { reasons }) => {
                tracing::info!(message_id = %record.message_id, kind = task.kind.as_str(),
                    shard = %task.shard.label(), ?reasons, "shard not run; done");
            }
            // A task that failed before (received again) and is now too old: reported failed, so
            // that after the queue's last receive it waits in the dead-letter queue, whose alarm
            // tells the operator a shard keeps failing (the next dispatch covers the shard).
            Ok(ShardOutcome::Stale { age_ms }) if record.receive_count() > 1 => {
                tracing::error!(message_id = %record.message_id, receive_count = record.receive_count(),
                    kind = task.kind.as_str(), shard = %task.shard.label(), run_id = %task.run_id,
                    age_ms, "a shard task that failed before is too old to run; to the dead-letter queue");
                failed.push(record.message_id.clone());
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(message_id = %record.message_id, receive_count = record.receive_count(),
                    kind = task.kind.as_str(), shard = %task.shard.label(), run_id = %task.run_id,
                    error = %e, "shard failed; it comes back");
                if !failed.contains(&record.message_id) {
                    failed.push(record.message_id.clone());
                }
            }
        }
    }
    SqsBatchResponse {
        batch_item_failures: failed
            .into_iter()
            .map(|item_identifier| BatchItemFailure { item_identifier })
            .collect(),
    }
}

/// The production wiring: DynamoDB, SNS, the work queue and the prober, built once per cold
/// start.
pub struct Deps {
    /// Table adapter.
    pub store: lookout_aws::dynamodb::DynamoStore,
    /// Alert publisher.
    pub publisher: lookout_aws::sns::SnsPublisher,
    /// Probe engine.
    pub prober: Prober,
    /// Concurrency and storm threshold.
    pub config: RunConfig,
    /// The work queue of shard tasks (`LOOKOUT_PROBE_QUEUE_URL`); `None`: no fan-out.
    pub queue: Option<lookout_aws::sqs::SqsShardQueue>,
    /// Targets per worker (`LOOKOUT_SHARD_TARGETS`).
    pub per_shard: usize,
}

impl Deps {
    /// Reads the settings and builds the clients from the environment.
    ///
    /// # Errors
    /// A message naming the missing setting, or the HTTP client that failed to build.
    pub async fn from_env() -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let settings = lookout_app::config::Settings::from_env()?;
        let aws = lookout_aws::Aws::from_env().await;
        Deps::new(&aws, &settings)
    }

    /// The wiring for `settings` through `aws` (tests build it so, with their own settings).
    ///
    /// # Errors
    /// A message naming the missing setting, or the HTTP client that failed to build.
    pub fn new(
        aws: &lookout_aws::Aws,
        settings: &lookout_app::config::Settings,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        // A location other than the home one takes run leases of its own: every location runs
        // its rounds at the same minute.
        let store = match &settings.locations {
            Some(l) if !l.is_home() => aws.store(settings).at_location(&l.name),
            _ => aws.store(settings),
        };
        Ok(Deps {
            store,
            publisher: aws.publisher(settings)?,
            prober: Prober::with_options(settings.probe_options())?,
            config: RunConfig {
                storm_threshold: settings.storm_threshold,
                secrets: aws.secrets(),
                locations: settings.locations.clone(),
                ..RunConfig::new(lookout_app::probe::concurrency_limit(
                    settings.probe_concurrency,
                ))
            },
            queue: aws.shard_queue(settings),
            per_shard: settings.shard_targets,
        })
    }

    /// A `--poll` worker over these dependencies ([`local`]).
    pub fn worker(
        &self,
    ) -> local::Worker<'_, lookout_aws::dynamodb::DynamoStore, lookout_aws::sns::SnsPublisher> {
        local::Worker {
            store: &self.store,
            publisher: &self.publisher,
            prober: &self.prober,
            config: &self.config,
        }
    }

    /// Handles one invocation: its event, and its deadline from the context.
    ///
    /// # Errors
    /// See [`Deps::handle_input`], as a [`Diagnostic`].
    pub async fn invoke(&self, event: LambdaEvent<ProbeInput>) -> Result<ProbeAnswer, Diagnostic> {
        let deadline_ms = Some(event.context.deadline as i64);
        self.handle_input(event.payload, deadline_ms)
            .await
            .map_err(diagnostic)
    }

    /// Handles one event of either kind; `deadline_ms` is the invocation's deadline (epoch
    /// ms) from the Lambda context, used if it is believable ([`usable_deadline`]).
    ///
    /// # Errors
    /// For a scheduled event, see [`Deps::handle`]; an SQS batch never fails as a whole.
    pub async fn handle_input(
        &self,
        input: ProbeInput,
        deadline_ms: Option<i64>,
    ) -> Result<ProbeAnswer, ProbeError> {
        match input {
            ProbeInput::Scheduled(event) => Ok(ProbeAnswer::Scheduled(Box::new(
                self.handle(*event, deadline_ms).await?,
            ))),
            ProbeInput::Tasks(batch) => {
                let deadline = usable_deadline(deadline_ms, self.config.clock.now_ms());
                Ok(ProbeAnswer::Tasks(
                    handle_tasks(
                        &self.store,
                        &self.publisher,
                        &self.prober,
                        &self.config,
                        batch,
                        deadline,
                    )
                    .await,
                ))
            }
        }
    }

    /// Handles one scheduled event: fans the kinds out over the work queue when it is set and
    /// they need more than one worker ([`run_or_dispatch`]), and runs the others here.
    ///
    /// # Errors
    /// See [`run_or_dispatch`] and [`ProbeRequest::try_from`].
    pub async fn handle(
        &self,
        event: ProbeEvent,
        deadline_ms: Option<i64>,
    ) -> Result<Dispatched, ProbeError> {
        let mut request = ProbeRequest::try_from(event)?;
        request.deadline_ms = usable_deadline(deadline_ms, self.config.clock.now_ms());
        run_or_dispatch(
            &self.store,
            &self.publisher,
            &self.prober,
            self.queue.as_ref(),
            &request,
            &self.config,
            self.per_shard,
        )
        .await
    }
}

#[cfg(test)]
mod tests;

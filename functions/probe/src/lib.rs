//! The probe function: reads its event and runs the probe run
//! ([`lookout_app::usecases::probe_run`]): probes the enabled targets of one kind (or both), applies
//! the status state machine, commits status changes with their alerts (outbox), publishes the
//! alerts, and records the snapshot, the history and a run record.
//!
//! Event ([`ProbeEvent`]): the EventBridge rule's constant input `{"kind":"server"}` or
//! `{"kind":"proxy"}`; any other event without `kind` (such as the plain scheduled-event
//! envelope) probes both kinds. A run probes the targets that are due (never checked, or last
//! checked `interval_s` ago, less [`DUE_SLACK_MS`] for schedule jitter); `"force": true` probes
//! every enabled target now.
//! Answer: a [`RunReport`] as JSON; errors as a [`lambda_runtime::Diagnostic`] ([`diagnostic`]).

use lambda_runtime::{Diagnostic, LambdaEvent};
use lookout_app::probe::Prober;
use lookout_app::usecases::event::{Field, Payload};
use lookout_core::domain::TargetKind;
use serde::Deserialize;

pub use lookout_app::usecases::probe_run::{
    is_due, next_due_ms, run, usable_deadline, ProbeError, ProbeRequest, RunConfig, RunReport,
    DEFAULT_WINDOW_S, DUE_SLACK_MS, FINISH_MARGIN_MS, MAX_LAMBDA_TIMEOUT_MS, SCHEDULE_PERIOD_S,
};

/// The probe function's event. Fields of the wrong type do not fail the invocation in the
/// runtime: they are refused by [`ProbeRequest::try_from`] as [`ProbeError::InvalidEvent`]
/// naming the field. Other fields (an EventBridge envelope's) are ignored.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ProbeEvent {
    /// `"server"` or `"proxy"`; absent or `null` for both kinds.
    #[serde(default)]
    pub kind: Field<Option<TargetKind>>,
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
    /// `force` is not a boolean or `window_s` not a number from 0 to 300.
    fn try_from(event: ProbeEvent) -> Result<Self, ProbeError> {
        let invalid = |text: String| Err(ProbeError::InvalidEvent(text));
        let kinds = match event.kind {
            Field::Absent | Field::Valid(None) => TargetKind::ALL.to_vec(),
            Field::Valid(Some(k)) => vec![k],
            Field::Invalid(serde_json::Value::String(k)) => {
                return invalid(format!("kind must be \"server\" or \"proxy\", got {k:?}"))
            }
            Field::Invalid(other) => return invalid(format!("kind must be a string, got {other}")),
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

/// The production wiring: DynamoDB, SNS and the prober, built once per cold start.
pub struct Deps {
    /// Table adapter.
    pub store: lookout_aws::dynamodb::DynamoStore,
    /// Alert publisher.
    pub publisher: lookout_aws::sns::SnsPublisher,
    /// Probe engine.
    pub prober: Prober,
    /// Concurrency and storm threshold.
    pub config: RunConfig,
}

impl Deps {
    /// Reads the settings and builds the clients from the environment.
    ///
    /// # Errors
    /// A message naming the missing setting, or the HTTP client that failed to build.
    pub async fn from_env() -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let settings = lookout_app::config::Settings::from_env()?;
        let aws = lookout_aws::Aws::from_env().await;
        Ok(Deps {
            store: aws.store(&settings),
            publisher: aws.publisher(&settings)?,
            prober: Prober::with_options(settings.probe_options())?,
            config: RunConfig {
                storm_threshold: settings.storm_threshold,
                secrets: aws.secrets(),
                ..RunConfig::new(lookout_app::probe::concurrency_limit(
                    settings.probe_concurrency,
                ))
            },
        })
    }

    /// Handles one invocation: its event, and its deadline from the context.
    ///
    /// # Errors
    /// See [`Deps::handle`], as a [`Diagnostic`].
    pub async fn invoke(
        &self,
        event: LambdaEvent<Payload<ProbeEvent>>,
    ) -> Result<RunReport, Diagnostic> {
        let deadline_ms = Some(event.context.deadline as i64);
        self.handle(event.payload.0, deadline_ms)
            .await
            .map_err(diagnostic)
    }

    /// Handles one event; `deadline_ms` is the invocation's deadline (epoch ms) from the Lambda
    /// context, used if it is believable ([`usable_deadline`]).
    ///
    /// # Errors
    /// See [`run`] and [`ProbeRequest::try_from`].
    pub async fn handle(
        &self,
        event: ProbeEvent,
        deadline_ms: Option<i64>,
    ) -> Result<RunReport, ProbeError> {
        let mut request = ProbeRequest::try_from(event)?;
        request.deadline_ms = usable_deadline(deadline_ms, self.config.clock.now_ms());
        run(
            &self.store,
            &self.publisher,
            &self.prober,
            &request,
            &self.config,
        )
        .await
    }
}

#[cfg(test)]
mod tests;

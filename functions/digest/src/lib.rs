//! The digest function, scheduled hourly: reads its event and runs the digest run
//! ([`lookout_app::usecases::digest_run`]): rolls up the hour that just ended for every target, looks
//! for anomalies against each target's last 7 days, writes a digest per target and one over all,
//! refreshes the status page's uptime table, and after the last hour of a UTC day writes the
//! day's rollups and raises the daily report through the outbox and SNS.
//!
//! Events ([`DigestEvent`]): an EventBridge scheduled event (or `{}`) digests the last complete
//! hour; `{"hour":"2026-11-21T14"}` digests that hour again (idempotent: the same rollups and
//! digests are overwritten, the daily report is not sent twice).

use lambda_runtime::{Diagnostic, LambdaEvent};
use lookout_app::clock::{Clock, SystemClock};
use lookout_app::usecases::event::{Field, Payload};
use serde::Deserialize;

pub use lookout_app::usecases::digest_run::{
    parse_hour, run, DigestError, DigestReport, DigestRequest, BASELINE_HOURS, CONCURRENCY,
};

/// The digest function's event. A field of the wrong type does not fail the invocation in the
/// runtime: it is refused by [`DigestEvent::request`] as [`DigestError::BadRequest`]. Other
/// fields (a scheduled event's) are ignored.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct DigestEvent {
    /// The hour to digest, `"YYYY-MM-DDTHH"` (UTC); absent for the last complete hour.
    #[serde(default)]
    pub hour: Field<String>,
}

impl DigestEvent {
    /// What the event asks at `now` (epoch ms); see [`DigestRequest::for_hour`].
    ///
    /// # Errors
    /// [`DigestError::BadRequest`] naming what is wrong with `hour`.
    pub fn request(&self, now: i64) -> Result<DigestRequest, DigestError> {
        DigestRequest::for_hour(&self.hour, now).map_err(|e| DigestError::BadRequest(e.to_string()))
    }
}

/// A run's error as Lambda reports it: `errorType` [`DigestError::error_type`],
/// `errorMessage` its text.
pub fn diagnostic(e: DigestError) -> Diagnostic {
    Diagnostic {
        error_type: e.error_type().into(),
        error_message: e.to_string(),
    }
}

/// The production wiring, built once per cold start.
pub struct Deps {
    /// The table.
    pub store: lookout_aws::dynamodb::DynamoStore,
    /// The topic.
    pub publisher: lookout_aws::sns::SnsPublisher,
    /// The narratives' language model (`LOOKOUT_LLM_*`; `None`, the default: no narratives).
    pub summariser: Option<lookout_app::narrative::ChatCompletions>,
}

impl Deps {
    /// Reads the settings and builds the clients from the environment.
    ///
    /// # Errors
    /// A message naming the missing setting.
    pub async fn from_env() -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let settings = lookout_app::config::Settings::from_env()?;
        let aws = lookout_aws::Aws::from_env().await;
        Ok(Self::from_settings(&settings, &aws)?)
    }

    /// The wiring of `settings` over `aws` (what [`Deps::from_env`] builds; the tests build it
    /// over the local stack with settings of their own).
    ///
    /// # Errors
    /// [`lookout_app::config::ConfigError`] naming `LOOKOUT_TOPIC_ARN` when it is not set.
    pub fn from_settings(
        settings: &lookout_app::config::Settings,
        aws: &lookout_aws::Aws,
    ) -> Result<Self, lookout_app::config::ConfigError> {
        Ok(Deps {
            // The digest never needs a secret: sealed values read as `***`, so it needs no key.
            store: aws.masked_store(settings),
            publisher: aws.publisher(settings)?,
            // The API key is read through SSM or Secrets Manager when a call is made (cached
            // 5 minutes), never at start: a key that cannot be read fails that call only.
            summariser: settings.narrative.clone().map(|n| {
                lookout_app::narrative::ChatCompletions::new(
                    n,
                    aws.secrets(),
                    settings.probe_options(),
                )
            }),
        })
    }

    /// Handles one invocation.
    ///
    /// # Errors
    /// See [`Deps::handle`], as a [`Diagnostic`].
    pub async fn invoke(
        &self,
        event: LambdaEvent<Payload<DigestEvent>>,
    ) -> Result<DigestReport, Diagnostic> {
        self.handle(event.payload.0).await.map_err(diagnostic)
    }

    /// Handles one event now.
    ///
    /// # Errors
    /// See [`Deps::handle_at`].
    pub async fn handle(&self, event: DigestEvent) -> Result<DigestReport, DigestError> {
        self.handle_at(event, &SystemClock).await
    }

    /// Handles one event at the time `clock` gives.
    ///
    /// # Errors
    /// See [`run`] and [`DigestEvent::request`].
    pub async fn handle_at(
        &self,
        event: DigestEvent,
        clock: &dyn Clock,
    ) -> Result<DigestReport, DigestError> {
        let now = clock.now_ms();
        let request = event.request(now)?;
        // Boxed: the run's future is deep, and a type that deep in `main` overflows rustc's
        // layout query.
        let report = Box::pin(run(
            &self.store,
            &self.publisher,
            &self.summariser,
            request.hour,
            now,
        ))
        .await?;
        tracing::info!(
            hour = %report.hour,
            targets = report.targets,
            anomalies = report.anomalies,
            duration_ms = report.duration_ms,
            narration = ?report.global.narration,
            "digest done"
        );
        Ok(report)
    }
}

#[cfg(test)]
mod tests;

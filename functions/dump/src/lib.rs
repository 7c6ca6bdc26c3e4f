//! The dump function: dumps the table to S3 and applies retention on its daily schedule, and
//! restores a dump on request. The dump format, retention and restore live in
//! [`lookout_app::dump`]; this crate reads the event and wires the adapters.
//!
//! Events:
//! - an EventBridge scheduled event, `{}` or `{"action":"dump"}`: dump, then retention;
//! - `{"action":"restore","dump":"20261122T030000Z","table":"<table>-restore-1","mode":"upsert"}`:
//!   `table` defaults to the function's own table, `mode` to `empty-only`; `source_table` (the
//!   table whose dumps to read) defaults to the function's own table too. In AWS the template
//!   lets the function create and write only tables named `<its table>-restore*`;
//! - `{"action":"export_results","day":"2026-11-30"}` (`day` defaults to yesterday, UTC): the
//!   day's check results as `results/<day>.jsonl.gz` with `results/<day>.manifest.json`
//!   ([`lookout_app::dump::results`]); the daily schedule sends it after the dump. A rerun
//!   overwrites both objects; a day without results is an empty export with a count of 0.

use lookout_app::dump::results::ResultsManifest;
use lookout_app::dump::{self, DumpError, DumpOptions, Manifest, RestoreMode, RestoreOptions};
use serde::{Deserialize, Serialize};

/// What the function is asked to do.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum DumpRequest {
    /// Dump now, then apply retention.
    Dump,
    /// Restore a dump.
    Restore {
        /// The dump's id, `YYYYMMDDTHHMMSSZ`.
        dump: String,
        /// Table to write to (default: the function's table).
        #[serde(default)]
        table: Option<String>,
        /// Table whose dumps to read (default: the function's table).
        #[serde(default)]
        source_table: Option<String>,
        /// `upsert` or `empty-only` (default).
        #[serde(default)]
        mode: RestoreMode,
    },
    /// Export a day's check results.
    #[serde(rename = "export_results")]
    ExportResults {
        /// The UTC day, `YYYY-MM-DD` (default: yesterday).
        #[serde(default)]
        day: Option<String>,
    },
}

/// An event with an `action` that is not a valid request.
#[derive(Debug, thiserror::Error)]
#[error("bad dump request: {0}")]
pub struct BadDumpRequest(#[from] serde_json::Error);

impl DumpRequest {
    /// Reads an event: a request with an `action`, or anything else (the scheduled event) as
    /// [`DumpRequest::Dump`].
    ///
    /// # Errors
    /// [`BadDumpRequest`] naming what is wrong with an event that has an `action`.
    pub fn from_event(event: &serde_json::Value) -> Result<Self, BadDumpRequest> {
        if event.get("action").is_none() {
            return Ok(DumpRequest::Dump);
        }
        Ok(serde_json::from_value(event.clone())?)
    }
}

/// What one invocation did.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum DumpReport {
    /// A dump was written and retention applied.
    Dump {
        /// The new dump's id.
        id: String,
        /// Its manifest.
        manifest: Box<Manifest>,
        /// Ids of the dumps deleted by retention.
        deleted: Vec<String>,
    },
    /// A dump was restored.
    Restore(dump::RestoreReport),
    /// A day's results were exported: the manifest written.
    #[serde(rename = "export_results")]
    ExportResults(ResultsManifest),
}

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The event could not be read.
    #[error("{0}")]
    BadRequest(String),
    /// The dump, retention or restore failed.
    #[error(transparent)]
    Dump(#[from] DumpError),
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(e: HandlerError) -> Self {
        let error_type = match &e {
            HandlerError::BadRequest(_) => "BadRequest",
            HandlerError::Dump(DumpError::NotFound(_)) => "NotFound",
            HandlerError::Dump(DumpError::Corrupt { .. }) => "CorruptDump",
            HandlerError::Dump(DumpError::Refused(_)) => "Refused",
            HandlerError::Dump(DumpError::Incomplete { .. }) => "RestoreIncomplete",
            HandlerError::Dump(_) => "DumpError",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.into(),
            error_message: e.to_string(),
        }
    }
}

/// The production wiring: the table and the bucket, built once per cold start.
pub struct Deps {
    /// Table adapter (scan for dumps, writes for restores).
    pub table: lookout_aws::dynamodb::DynamoStore,
    /// Bucket adapter.
    pub dumps: lookout_aws::s3::S3DumpStore,
    /// Settings (segments, item types, retention).
    pub settings: lookout_app::config::Settings,
}

impl Deps {
    /// Reads the settings and builds the clients from the environment.
    ///
    /// # Errors
    /// A message naming the missing setting.
    pub async fn from_env() -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let settings = lookout_app::config::Settings::from_env()?;
        let aws = lookout_aws::Aws::from_env().await;
        Ok(Deps {
            table: aws.store(&settings),
            dumps: aws.dump_store(&settings)?,
            settings,
        })
    }

    /// The dump options from the settings.
    pub fn dump_options(&self) -> DumpOptions {
        DumpOptions {
            segments: self.settings.dump_segments,
            include: self.settings.dump_include.clone(),
            ..DumpOptions::default()
        }
    }

    /// Dumps, then applies retention.
    ///
    /// # Errors
    /// See [`dump::dump_and_prune`].
    pub async fn dump(&self) -> Result<DumpReport, HandlerError> {
        let (id, manifest, deleted) = dump::dump_and_prune(
            &self.table,
            &self.dumps,
            &self.dump_options(),
            self.settings.retention_days,
            self.settings.max_dumps,
            lookout_core::time::now_ms(),
        )
        .await?;
        Ok(DumpReport::Dump {
            id,
            manifest: Box::new(manifest),
            deleted,
        })
    }

    /// Carries out one request.
    ///
    /// # Errors
    /// [`HandlerError`].
    pub async fn run(&self, request: DumpRequest) -> Result<DumpReport, HandlerError> {
        match request {
            DumpRequest::Dump => self.dump().await,
            DumpRequest::Restore {
                dump: id,
                table,
                source_table,
                mode,
            } => {
                let mut options =
                    RestoreOptions::new(table.unwrap_or_else(|| self.settings.table.clone()));
                options.mode = mode;
                let source = source_table.unwrap_or_else(|| self.settings.table.clone());
                let report =
                    dump::restore(&self.dumps, &self.table, &source, &id, &options).await?;
                tracing::info!(dump = %id, table = %report.table, items = report.items_written,
                    retried = report.retried_items, "dump restored");
                Ok(DumpReport::Restore(report))
            }
            DumpRequest::ExportResults { day } => {
                let now = lookout_core::time::now_ms();
                let day = day.unwrap_or_else(|| dump::results::default_day(now));
                let manifest =
                    dump::results::export_day(&self.table, &self.dumps, &day, now).await?;
                Ok(DumpReport::ExportResults(manifest))
            }
        }
    }

    /// The Lambda handler: reads the event and runs it.
    ///
    /// # Errors
    /// [`HandlerError`].
    pub async fn handle(&self, event: serde_json::Value) -> Result<DumpReport, HandlerError> {
        let request =
            DumpRequest::from_event(&event).map_err(|e| HandlerError::BadRequest(e.to_string()))?;
        self.run(request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduled_events_dump_and_requests_are_read_with_defaults() {
        let scheduled =
            serde_json::json!({"source": "aws.events", "detail-type": "Scheduled Event"});
        assert_eq!(
            DumpRequest::from_event(&scheduled).unwrap(),
            DumpRequest::Dump
        );
        let restore = serde_json::json!({"action": "restore", "dump": "20261122T031500Z"});
        assert_eq!(
            DumpRequest::from_event(&restore).unwrap(),
            DumpRequest::Restore {
                dump: "20261122T031500Z".into(),
                table: None,
                source_table: None,
                mode: RestoreMode::EmptyOnly
            }
        );
        let upsert =
            serde_json::json!({"action": "restore", "dump": "x", "mode": "upsert", "table": "t2"});
        assert!(matches!(
            DumpRequest::from_event(&upsert).unwrap(),
            DumpRequest::Restore {
                mode: RestoreMode::Upsert,
                ..
            }
        ));
        let bad = serde_json::json!({"action": "restore", "dump": "x", "mode": "overwrite"});
        assert!(DumpRequest::from_event(&bad)
            .unwrap_err()
            .to_string()
            .contains("overwrite"));
        let export = serde_json::json!({"action": "export_results", "day": "2026-11-30"});
        assert_eq!(
            DumpRequest::from_event(&export).unwrap(),
            DumpRequest::ExportResults {
                day: Some("2026-11-30".into())
            }
        );
        let yesterday = serde_json::json!({"action": "export_results"});
        assert_eq!(
            DumpRequest::from_event(&yesterday).unwrap(),
            DumpRequest::ExportResults { day: None }
        );
        let unknown = serde_json::json!({"action": "drop"});
        assert!(DumpRequest::from_event(&unknown).is_err());
    }
}

//! The probe function: probes the enabled targets of one kind (or both), applies the status state
//! machine, commits status changes with their alerts (outbox), publishes the alerts, and records
//! the snapshot, the history and a run record.
//!
//! Event: the EventBridge rule's constant input `{"kind":"server"}` or `{"kind":"proxy"}`; any
//! other event without `kind` (such as the plain scheduled-event envelope) probes both kinds.
//! A run probes the targets that are due (never checked, or last checked `interval_s` ago, less
//! [`DUE_SLACK_MS`] for schedule jitter); `"force": true` probes every enabled target now.
//! Answer: a [`RunReport`] as JSON.

use std::collections::HashMap;
use std::time::Instant;

use futures::StreamExt;
use lookout::domain::{next_state, Alert, Target, TargetKind, TargetState};
use lookout::ports::{
    AlertPublisher, Latest, Outbox, RunRecord, RunStore, StateStore, StoreError, TargetStore,
};
use lookout::probe::Prober;
use serde::Serialize;
use serde_json::Value;

/// Why a run failed. Returned to Lambda so retries and failure destinations work.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The event is not one this function understands (not worth retrying).
    #[error("invalid event: {0}")]
    InvalidEvent(String),
    /// Storage failed (worth retrying).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Some status changes could not be committed; they are retried by the next run.
    #[error("{0} status change(s) not committed: {1}")]
    Uncommitted(usize, String),
}

impl From<ProbeError> for lambda_runtime::Diagnostic {
    fn from(e: ProbeError) -> Self {
        let error_type = match e {
            ProbeError::InvalidEvent(_) => "InvalidEvent",
            ProbeError::Store(_) => "StoreError",
            ProbeError::Uncommitted(..) => "Uncommitted",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.into(),
            error_message: e.to_string(),
        }
    }
}

/// A target last checked this long before its interval is over counts as due, so that a
/// schedule firing a little early does not skip it for a whole period (ms).
pub const DUE_SLACK_MS: i64 = 5_000;

/// What an invocation is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeRequest {
    /// Kinds to probe, in order.
    pub kinds: Vec<TargetKind>,
    /// Probe every enabled target, due or not.
    pub force: bool,
}

/// Reads an event: `kind` (`server`, `proxy`, absent for both) and `force` (default false).
///
/// # Errors
/// [`ProbeError::InvalidEvent`] when `kind` is present but neither `server` nor `proxy`, or
/// `force` is not a boolean.
pub fn parse_event(event: &Value) -> Result<ProbeRequest, ProbeError> {
    let kinds = match event.get("kind") {
        None | Some(Value::Null) => TargetKind::ALL.to_vec(),
        Some(Value::String(k)) => TargetKind::parse(k).map(|k| vec![k]).ok_or_else(|| {
            ProbeError::InvalidEvent(format!("kind must be \"server\" or \"proxy\", got {k:?}"))
        })?,
        Some(other) => {
            return Err(ProbeError::InvalidEvent(format!(
                "kind must be a string, got {other}"
            )))
        }
    };
    let force = match event.get("force") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(ProbeError::InvalidEvent(format!(
                "force must be true or false, got {other}"
            )))
        }
    };
    Ok(ProbeRequest { kinds, force })
}

/// Whether a target is due at `now_ms`: never checked, or checked `interval_s` ago (less
/// [`DUE_SLACK_MS`]).
pub fn is_due(target: &Target, state: Option<&TargetState>, now_ms: i64) -> bool {
    match state.and_then(|s| s.last_check) {
        None => true,
        Some(last) => now_ms - last >= i64::from(target.interval_s) * 1000 - DUE_SLACK_MS,
    }
}

/// What one invocation did.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// One record per kind probed.
    pub runs: Vec<RunRecord>,
    /// Alerts from earlier runs that were still pending and are now published.
    pub retried_alerts: usize,
    /// The alerts raised by this invocation.
    pub alerts: Vec<Alert>,
}

/// Publishes an alert and marks it published; a failure leaves it pending for the next run.
async fn deliver<S: Outbox, P: AlertPublisher>(store: &S, publisher: &P, alert: &Alert) -> bool {
    match publisher.publish(alert).await {
        Ok(()) => match store.mark_published(alert).await {
            Ok(()) => true,
            Err(e) => {
                // Published but still marked pending: the next run sends it again (at least once).
                tracing::warn!(key = %alert.key, error = %e, "alert published but not marked");
                true
            }
        },
        Err(e) => {
            tracing::warn!(key = %alert.key, error = %e, "alert left pending for the next run");
            false
        }
    }
}

/// Runs one invocation: retries pending alerts, then probes each kind in `kinds`.
///
/// # Errors
/// [`ProbeError::Store`] when targets, snapshot or records cannot be read or written;
/// [`ProbeError::Uncommitted`] when status changes could not be committed (after everything
/// else was recorded).
pub async fn run<S, P>(
    store: &S,
    publisher: &P,
    prober: &Prober,
    request: &ProbeRequest,
    concurrency: usize,
) -> Result<RunReport, ProbeError>
where
    S: TargetStore + StateStore + RunStore + Outbox + Sync,
    P: AlertPublisher + Sync,
{
    let mut retried_alerts = 0;
    // Only this invocation's kinds: the server and proxy schedules fire at the same minute, and
    // each must not send the other's pending alerts a second time.
    let pending = store.pending_alerts(lookout::time::now_ms()).await?;
    for alert in pending
        .iter()
        .filter(|a| request.kinds.contains(&a.target_kind))
    {
        retried_alerts += usize::from(deliver(store, publisher, alert).await);
    }
    let mut report = RunReport {
        runs: Vec::new(),
        retried_alerts,
        alerts: Vec::new(),
    };
    let mut failures = Vec::new();
    for &kind in &request.kinds {
        let (record, alerts, errors) =
            run_kind(store, publisher, prober, kind, request.force, concurrency).await?;
        tracing::info!(
            kind = kind.as_str(),
            checked = record.checked,
            ok = record.ok,
            changes = record.changes,
            "run done"
        );
        report.runs.push(record);
        report.alerts.extend(alerts);
        failures.extend(errors);
    }
    if !failures.is_empty() {
        return Err(ProbeError::Uncommitted(failures.len(), failures.join("; ")));
    }
    Ok(report)
}

async fn run_kind<S, P>(
    store: &S,
    publisher: &P,
    prober: &Prober,
    kind: TargetKind,
    force: bool,
    concurrency: usize,
) -> Result<(RunRecord, Vec<Alert>, Vec<String>), ProbeError>
where
    S: TargetStore + StateStore + RunStore + Outbox + Sync,
    P: AlertPublisher + Sync,
{
    let started = Instant::now();
    let run_at = lookout::time::now_ms();
    let targets = store.list_targets(Some(kind)).await?;
    let mut latest = store.latest(kind).await?;
    let by_id: HashMap<&str, &Target> = targets.iter().map(|t| (t.id.as_str(), t)).collect();
    let due = targets
        .iter()
        .filter(|t| t.enabled && (force || is_due(t, latest.get(&t.id).map(|l| &l.state), run_at)));
    let results: Vec<_> = futures::stream::iter(due)
        .map(|t| prober.check(t, run_at))
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;

    let mut changes = 0;
    let mut raised = Vec::new();
    let mut errors = Vec::new();
    for result in results {
        let Some(target) = by_id.get(result.target_id.as_str()) else {
            continue;
        };
        let prev = latest
            .get(&target.id)
            .map_or_else(|| TargetState::new(&target.id), |l| l.state.clone());
        let (mut next, alerts) = next_state(&prev, &result, target);
        if next.status != prev.status {
            let mut outcome = store.commit_change(&next, &alerts).await.map(|()| {
                let mut committed = next.clone();
                committed.version += 1;
                (committed, alerts)
            });
            if let Err(StoreError::Conflict(_)) = outcome {
                // The stored state moved on (another run, the API, or a snapshot that fell
                // behind): rebase the status and version on it and decide again.
                outcome = rebase(store, &prev, &result, target).await;
            }
            match outcome {
                Ok((committed, alerts)) => {
                    changes += usize::from(committed.status != prev.status);
                    next = committed;
                    raised.extend(alerts);
                }
                Err(e) => {
                    // Keep the old state so the next run makes the same change again: the alert
                    // is raised late rather than lost.
                    tracing::error!(target = %target.id, error = %e, "status change not committed");
                    errors.push(format!("{}: {e}", target.id));
                    next = prev;
                }
            }
        }
        latest.insert(
            target.id.clone(),
            Latest {
                state: next,
                result: Some(result),
            },
        );
    }
    let mut published = 0;
    for alert in &raised {
        published += usize::from(deliver(store, publisher, alert).await);
    }
    // Keep disabled targets in the snapshot; forget deleted ones.
    let mut snapshot: Vec<Latest> = latest
        .into_values()
        .filter(|l| by_id.contains_key(l.state.target_id.as_str()))
        .collect();
    snapshot.sort_by(|a, b| a.state.target_id.cmp(&b.state.target_id));
    store.record_run(kind, run_at, &snapshot).await?;
    let checked: Vec<_> = snapshot
        .iter()
        .filter_map(|l| l.result.as_ref())
        .filter(|r| r.at == run_at)
        .collect();
    let record = RunRecord {
        run_id: uuid::Uuid::new_v4().to_string(),
        kind,
        started_at: run_at,
        duration_ms: started.elapsed().as_millis() as u64,
        checked: checked.len(),
        ok: checked.iter().filter(|r| r.ok()).count(),
        changes,
        alerts_published: published,
        alerts_pending: raised.len() - published,
    };
    store.put_run(&record).await?;
    Ok((record, raised, errors))
}

/// After a version conflict: takes status, `status_since` and `version` from the stored state
/// item (counters stay the snapshot's), applies the result again, and commits when the status
/// still changes. Returns the state to keep (its version already bumped when committed) and the
/// alerts committed.
async fn rebase<S: StateStore + Sync>(
    store: &S,
    prev: &TargetState,
    result: &lookout::domain::CheckResult,
    target: &Target,
) -> Result<(TargetState, Vec<Alert>), StoreError> {
    let mut base = prev.clone();
    let stored = store.load_state(&target.id).await?;
    if let Some(stored) = stored {
        base.status = stored.status;
        base.status_since = stored.status_since;
        base.version = stored.version;
    } else {
        base.version = 0;
    }
    let (next, alerts) = next_state(&base, result, target);
    if next.status == base.status {
        // Someone else already made this change and raised its alert.
        return Ok((next, Vec::new()));
    }
    store.commit_change(&next, &alerts).await?;
    let mut committed = next;
    committed.version += 1;
    Ok((committed, alerts))
}

/// The production wiring: DynamoDB, SNS and the prober, built once per cold start.
pub struct Deps {
    /// Table adapter.
    pub store: lookout::adapters::dynamodb::DynamoStore,
    /// Alert publisher.
    pub publisher: lookout::adapters::sns::SnsPublisher,
    /// Probe engine.
    pub prober: Prober,
    /// Probes in flight at once.
    pub concurrency: usize,
}

impl Deps {
    /// Reads the settings and builds the clients from the environment.
    ///
    /// # Errors
    /// A message naming the missing setting, or the HTTP client that failed to build.
    pub async fn from_env() -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let settings = lookout::config::Settings::from_env()?;
        let aws = aws_config::load_from_env().await;
        Ok(Deps {
            store: lookout::adapters::dynamodb::DynamoStore::new(
                aws_sdk_dynamodb::Client::new(&aws),
                &settings.table,
                settings.history_ttl_days,
            ),
            publisher: lookout::adapters::sns::SnsPublisher::new(
                aws_sdk_sns::Client::new(&aws),
                settings.require_topic()?,
            ),
            prober: Prober::new()?,
            concurrency: settings.probe_concurrency,
        })
    }

    /// Handles one event.
    ///
    /// # Errors
    /// See [`run`] and [`parse_event`].
    pub async fn handle(&self, event: Value) -> Result<RunReport, ProbeError> {
        let request = parse_event(&event)?;
        run(
            &self.store,
            &self.publisher,
            &self.prober,
            &request,
            self.concurrency,
        )
        .await
    }
}

#[cfg(test)]
mod tests;

//! The probe function: probes the enabled targets of one kind (or both), applies the status state
//! machine, commits status changes with their alerts (outbox), publishes the alerts, and records
//! the snapshot, the history and a run record.
//!
//! Event: the EventBridge rule's constant input `{"kind":"server"}` or `{"kind":"proxy"}`; any
//! other event without `kind` (such as the plain scheduled-event envelope) probes both kinds.
//! A run probes the targets that are due (never checked, or last checked `interval_s` ago, less
//! [`DUE_SLACK_MS`] for schedule jitter); `"force": true` probes every enabled target now.
//! Answer: a [`RunReport`] as JSON.

use std::time::{Duration, Instant};

use lookout::domain::grouped::DEFAULT_STORM_THRESHOLD;
use lookout::domain::{Alert, Target, TargetKind, TargetState};
use lookout::ports::{
    AlertPublisher, Lease, Outbox, RunLease, RunRecord, RunStore, StateStore, StoreError,
    SummaryStore, TargetStore,
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
    /// Probe every enabled target, due or not (first round only).
    pub force: bool,
    /// Seconds during which targets with `interval_s` under a minute are checked again
    /// (event field `window_s`, 0 to 300; default [`DEFAULT_WINDOW_S`], or 0 with `force`).
    pub window_s: u32,
    /// The invocation's deadline (epoch ms), from the Lambda context; `None` for no limit.
    pub deadline_ms: Option<i64>,
    /// The event's `id` (EventBridge scheduled events carry one): a second delivery of the same
    /// id after its run finished is not run again.
    pub event_id: Option<String>,
}

impl ProbeRequest {
    /// Every enabled target of `kinds` now, one round (`force`, no repeat window, no deadline,
    /// no event id): what a manual run asks, and what the tests and benches use.
    pub fn forced(kinds: &[TargetKind]) -> Self {
        ProbeRequest {
            kinds: kinds.to_vec(),
            force: true,
            window_s: 0,
            deadline_ms: None,
            event_id: None,
        }
    }
}

/// Reads an event: `kind` (`server`, `proxy`, absent for both), `force` (default false) and
/// `window_s` (see [`ProbeRequest::window_s`]).
///
/// # Errors
/// [`ProbeError::InvalidEvent`] when `kind` is present but neither `server` nor `proxy`,
/// `force` is not a boolean or `window_s` not a number from 0 to 300.
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
    let window_s = match event.get("window_s") {
        None | Some(Value::Null) => {
            if force {
                0
            } else {
                DEFAULT_WINDOW_S
            }
        }
        Some(v) => v.as_u64().filter(|w| *w <= 300).ok_or_else(|| {
            ProbeError::InvalidEvent(format!("window_s must be 0 to 300 seconds, got {v}"))
        })? as u32,
    };
    let event_id = event
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty() && id.len() <= 128)
        .map(str::to_string);
    Ok(ProbeRequest {
        kinds,
        force,
        window_s,
        deadline_ms: None,
        event_id,
    })
}

/// Whether a target is due at `now_ms`: never checked, or checked `interval_s` ago, less a
/// slack for schedule jitter of a tenth of the interval, at most [`DUE_SLACK_MS`].
pub fn is_due(target: &Target, state: Option<&TargetState>, now_ms: i64) -> bool {
    match state.and_then(|s| s.last_check) {
        None => true,
        Some(last) => now_ms >= next_due_ms(target, last),
    }
}

/// When a target last checked at `last_ms` is due again (epoch ms).
pub fn next_due_ms(target: &Target, last_ms: i64) -> i64 {
    let interval = i64::from(target.interval_s) * 1000;
    last_ms + interval - (interval / 10).min(DUE_SLACK_MS)
}

/// The period of the probe schedule (EventBridge fires every minute): targets with a shorter
/// `interval_s` are checked again inside one invocation until the period is over (seconds).
pub const SCHEDULE_PERIOD_S: u32 = 60;

/// Default `window_s` of a scheduled invocation: the schedule's period less 5 s, so that the
/// invocation has ended (and released its lease) when the next tick arrives.
pub const DEFAULT_WINDOW_S: u32 = SCHEDULE_PERIOD_S - 5;

/// Time kept free before the function's deadline to write the snapshot, history and run record
/// after the last probe (ms).
pub const FINISH_MARGIN_MS: u64 = 3_000;

/// What one invocation did.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// One record per kind and round (targets with `interval_s` under a minute are checked in
    /// several rounds of one invocation).
    pub runs: Vec<RunRecord>,
    /// Alerts from earlier runs that were still pending and are now published.
    pub retried_alerts: usize,
    /// The alerts raised by this invocation.
    pub alerts: Vec<Alert>,
    /// Ids of due targets that were not checked (or whose check was cut) because the
    /// invocation's deadline came first; the next invocation takes them.
    pub skipped: Vec<String>,
    /// Kinds this invocation left alone, and why: another run holds the kind's lease, or the
    /// event was already handled.
    pub not_run: Vec<String>,
}

pub(crate) use lookout::ports::deliver;

/// How runs behave, from the settings.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Probes in flight at once.
    pub concurrency: usize,
    /// `STORM_THRESHOLD`: more status changes than this in one round of one kind are sent as
    /// one grouped alert.
    pub storm_threshold: usize,
    /// The run lease's length and heartbeat (default [`lookout::lease::LEASE_MS`], renewed
    /// every [`lookout::lease::HEARTBEAT_MS`]).
    pub lease: lookout::lease::LeaseTiming,
    /// Resolves the targets' secret references before each check (`lookout::secrets::check`).
    pub secrets: lookout::secrets::Secrets,
}

impl RunConfig {
    /// `concurrency` probes at once, the default storm threshold and lease timing, and no
    /// secret resolver (a reference fails its check).
    pub fn new(concurrency: usize) -> Self {
        RunConfig {
            concurrency,
            storm_threshold: DEFAULT_STORM_THRESHOLD,
            lease: lookout::lease::LeaseTiming::default(),
            secrets: lookout::secrets::Secrets::none(),
        }
    }
}

/// Runs one invocation. For each kind in `kinds` it takes the run lease (a kind whose lease
/// another run holds, or whose event was already handled, is left out and said so in
/// `not_run`), retries that kind's pending alerts, then
/// probes the due targets; targets with `interval_s` under [`SCHEDULE_PERIOD_S`] get further
/// rounds until `window_s` is over. Nothing is started that could not finish before
/// `deadline_ms` less [`FINISH_MARGIN_MS`]; those targets are reported as skipped.
///
/// The leases are short ([`RunConfig::lease`], a minute) and renewed by a heartbeat while the
/// run works ([`lookout::lease::hold_lease`]), never past the deadline (or, without one, the
/// window plus the longest check and the finishing margin): a run that dies blocks its kind for
/// at most one lease. They are released at the end, with the event id recorded as handled.
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
    config: &RunConfig,
) -> Result<RunReport, ProbeError>
where
    S: TargetStore + StateStore + RunStore + Outbox + RunLease + SummaryStore + Sync,
    P: AlertPublisher + Sync,
{
    let now = lookout::time::now_ms();
    let holder = uuid::Uuid::new_v4().to_string();
    // The longest this run may take: no lease is held or renewed past it.
    let hard_until = request.deadline_ms.unwrap_or_else(|| {
        now + (i64::from(request.window_s) + lookout::domain::target::MAX_CHECK_MS as i64 / 1000)
            * 1000
            + FINISH_MARGIN_MS as i64
    });
    let until = config.lease.until(now, Some(hard_until));
    let event = request.event_id.as_deref();
    let mut leased = Vec::new();
    let mut not_run = Vec::new();
    for &kind in &request.kinds {
        let answer = match store.acquire_lease(kind, &holder, now, until, event).await {
            Ok(a) => a,
            Err(e) => {
                for &taken in &leased {
                    let _ = store.release_lease(taken, &holder, None).await;
                }
                return Err(e.into());
            }
        };
        match answer {
            Lease::Acquired => leased.push(kind),
            Lease::Busy { until_ms } => not_run.push(format!(
                "{}: another run holds the lease until {}; this invocation leaves it alone",
                kind.as_str(),
                lookout::time::rfc3339(until_ms)
            )),
            Lease::AlreadyDone => not_run.push(format!(
                "{}: event {} was already handled (a duplicate delivery)",
                kind.as_str(),
                event.unwrap_or("-")
            )),
        }
    }
    for line in &not_run {
        tracing::warn!("{line}");
    }
    let leased_request = ProbeRequest {
        kinds: leased.clone(),
        ..request.clone()
    };
    let (outcome, beat) = lookout::lease::hold_lease(
        store,
        &leased,
        &holder,
        now,
        Some(hard_until),
        &config.lease,
        run_leased(store, publisher, prober, &leased_request, config),
    )
    .await;
    if !beat.lost.is_empty() {
        tracing::warn!(kinds = ?beat.lost, "this run lost its lease while it worked; another run may have probed the same kinds");
    }
    // A run that failed does not mark its event handled: a retry of it may run.
    let handled = if outcome.is_ok() { event } else { None };
    for &kind in &leased {
        if let Err(e) = store.release_lease(kind, &holder, handled).await {
            // It expires on its own; the next run waits until then.
            tracing::warn!(kind = kind.as_str(), error = %e, "run lease not released");
        }
    }
    let mut report = outcome?;
    report.not_run = not_run;
    Ok(report)
}

async fn run_leased<S, P>(
    store: &S,
    publisher: &P,
    prober: &Prober,
    request: &ProbeRequest,
    config: &RunConfig,
) -> Result<RunReport, ProbeError>
where
    S: TargetStore + StateStore + RunStore + Outbox + SummaryStore + Sync,
    P: AlertPublisher + Sync,
{
    let started = Instant::now();
    let mut retried_alerts = 0;
    // Only this invocation's kinds: the server and proxy schedules fire at the same minute, and
    // each must not send the other's pending alerts a second time.
    if !request.kinds.is_empty() {
        let pending = store.pending_alerts(lookout::time::now_ms()).await?;
        for alert in pending
            .iter()
            .filter(|a| request.kinds.contains(&a.target_kind))
        {
            retried_alerts += usize::from(deliver(store, publisher, alert).await.published());
        }
    }
    let mut report = RunReport {
        runs: Vec::new(),
        retried_alerts,
        alerts: Vec::new(),
        skipped: Vec::new(),
        not_run: Vec::new(),
    };
    let hard_end = request.deadline_ms.map(|d| {
        let left = d - lookout::time::now_ms() - FINISH_MARGIN_MS as i64;
        started + Duration::from_millis(left.max(0) as u64)
    });
    let window_end = started + Duration::from_secs(u64::from(request.window_s));
    let mut kinds = Vec::new();
    for &kind in &request.kinds {
        let targets = store.list_targets(Some(kind)).await?;
        let mut latest = store.latest(kind).await?;
        // Results the store kept without a snapshot: replayed here, and counted from the
        // oldest so that the snapshot is rewritten once they reach back far enough.
        let unsnapshotted = latest
            .values()
            .filter_map(|l| l.pending.first().map(|r| r.at))
            .min();
        lookout::ports::catch_up_all(&mut latest, &targets);
        kinds.push((kind, targets, latest, unsnapshotted));
    }
    let mut failures = Vec::new();
    let mut force = request.force;
    let mut first_round = true;
    loop {
        for (kind, targets, latest, unsnapshotted) in kinds.iter_mut() {
            let ctx = round::Round {
                kind: *kind,
                targets,
                force,
                concurrency: config.concurrency,
                storm_threshold: config.storm_threshold,
                secrets: &config.secrets,
                hard_end,
                window_end: (!first_round).then_some(window_end),
            };
            let out =
                round::run_round(store, publisher, prober, &ctx, latest, unsnapshotted).await?;
            tracing::info!(
                kind = kind.as_str(),
                checked = out.record.checked,
                ok = out.record.ok,
                changes = out.record.changes,
                skipped = out.skipped.len(),
                "run done"
            );
            if !out.skipped.is_empty() {
                tracing::warn!(kind = kind.as_str(), targets = ?out.skipped, "skipped: deadline");
            }
            if out.record.checked > 0 || report.runs.iter().all(|r| r.kind != *kind) {
                report.runs.push(out.record);
            }
            report.alerts.extend(out.alerts);
            report.skipped.extend(out.skipped);
            failures.extend(out.errors);
        }
        force = false;
        first_round = false;
        // The next round: when the earliest sub-minute target is due again, if its check still
        // ends inside the window and before the deadline.
        let now_ms = lookout::time::now_ms();
        let next = kinds
            .iter()
            .flat_map(|(_, targets, latest, _)| {
                targets
                    .iter()
                    .filter(|t| t.enabled && t.interval_s < SCHEDULE_PERIOD_S)
                    .map(|t| {
                        let last = latest.get(&t.id).and_then(|l| l.state.last_check);
                        let due = last.map_or(now_ms, |l| next_due_ms(t, l));
                        (due, lookout::probe::check_budget_ms(t))
                    })
            })
            .min();
        let Some((due_ms, check_ms)) = next else {
            break;
        };
        let wait = Duration::from_millis((due_ms - now_ms).max(0) as u64);
        let ends = Instant::now() + wait + Duration::from_millis(check_ms);
        if ends > window_end || hard_end.is_some_and(|h| ends > h) {
            break;
        }
        tokio::time::sleep(wait).await;
    }
    if !failures.is_empty() {
        return Err(ProbeError::Uncommitted(failures.len(), failures.join("; ")));
    }
    Ok(report)
}

/// Lambda's longest timeout (15 minutes), in ms.
pub const MAX_LAMBDA_TIMEOUT_MS: i64 = 900_000;

/// The invocation's deadline if it is believable: later than `now_ms` and at most Lambda's
/// longest timeout away. Local emulators send other values (cargo-lambda 1.9 sends a deadline
/// long past); those are ignored with a warning rather than skipping every target.
pub fn usable_deadline(deadline_ms: Option<i64>, now_ms: i64) -> Option<i64> {
    let d = deadline_ms?;
    let left = d - now_ms;
    if left > 0 && left <= MAX_LAMBDA_TIMEOUT_MS {
        Some(d)
    } else {
        tracing::warn!(
            time_left_ms = left,
            "the invocation deadline is not believable; ignored"
        );
        None
    }
}

/// The production wiring: DynamoDB, SNS and the prober, built once per cold start.
pub struct Deps {
    /// Table adapter.
    pub store: lookout::adapters::dynamodb::DynamoStore,
    /// Alert publisher.
    pub publisher: lookout::adapters::sns::SnsPublisher,
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
        let settings = lookout::config::Settings::from_env()?;
        let aws = lookout::adapters::aws_config().await;
        Ok(Deps {
            store: lookout::adapters::dynamodb::DynamoStore::from_settings(&aws, &settings),
            publisher: lookout::adapters::sns::SnsPublisher::from_config(
                &aws,
                settings.require_topic()?,
            ),
            prober: Prober::with_options(settings.probe_options())?,
            config: RunConfig {
                storm_threshold: settings.storm_threshold,
                secrets: lookout::adapters::secrets::AwsSecrets::cached(&aws),
                ..RunConfig::new(lookout::probe::concurrency_limit(
                    settings.probe_concurrency,
                ))
            },
        })
    }

    /// Handles one event; `deadline_ms` is the invocation's deadline (epoch ms) from the Lambda
    /// context.
    ///
    /// # Errors
    /// See [`run`] and [`parse_event`].
    pub async fn handle(
        &self,
        event: Value,
        deadline_ms: Option<i64>,
    ) -> Result<RunReport, ProbeError> {
        let mut request = parse_event(&event)?;
        request.deadline_ms = usable_deadline(deadline_ms, lookout::time::now_ms());
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

mod round;

#[cfg(test)]
mod tests;

//! Several probe locations: every location probes the targets that ask for it and keeps its
//! own verdict of each ([`lookout_core::domain::location::LocationVerdict`], in the [`crate::ports::LocationStore`]); the home
//! location decides each target's status by the quorum of the fresh verdicts
//! ([`lookout_core::domain::location::decide`]) and alone writes states and raises alerts, so
//! that one transition raises one alert however many locations saw it. Every location beats
//! its dead man's switch each round; the home location marks a location silent (one alert)
//! once it has not reported for the grace period, and the location raises the "back" alert when
//! it reports again.
//!
//! Why the home location decides: the table lives in the home region (one home table that
//! every location writes, see ARCHITECTURE.md), so when the home region is down no location
//! could write a verdict anyway; the decision adds no failure of its own.

use std::collections::HashMap;
use std::time::Instant;

use futures::StreamExt;

use super::round::{check_in_time, Round, RoundOutput};
use super::ProbeError;
use crate::ports::{deliver, AlertPublisher, Latest, LocationStore, Outbox, RunRecord, StoreError};
use crate::probe::Prober;
use lookout_core::domain::location::{
    back_alert, decide, silent_alert, LocationVerdict, QuorumDecision,
};
use lookout_core::domain::{Alert, CheckResult, Outcome, Status, Target, TargetKind, TargetState};

/// The default grace period: a location whose verdicts or heartbeat are older than this leaves
/// the quorum and is alerted on, seconds (three one-minute runs).
pub const DEFAULT_LOCATION_GRACE_S: i64 = 180;

/// The probe locations deployed, as this location sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationSetup {
    /// This location's name (`LOOKOUT_LOCATION`).
    pub name: String,
    /// The location that decides statuses (`LOOKOUT_HOME_LOCATION`).
    pub home: String,
    /// Every location deployed, this one included (`LOOKOUT_LOCATIONS`).
    pub all: Vec<String>,
    /// A verdict or heartbeat older than this is stale, ms.
    pub grace_ms: i64,
}

impl LocationSetup {
    /// Whether this location is the home location.
    pub fn is_home(&self) -> bool {
        self.name == self.home
    }
}

/// What the home location's round knows of the locations' verdicts of one kind.
pub(super) struct Quorums<'a> {
    setup: &'a LocationSetup,
    /// Every location's verdicts as read at the start of the round, by target id.
    stored: HashMap<String, Vec<LocationVerdict>>,
    /// This location's verdicts, updated by the round's checks, by target id.
    own: HashMap<String, LocationVerdict>,
}

impl<'a> Quorums<'a> {
    /// Reads every location's verdicts of `kind`.
    pub(super) async fn load<S: LocationStore + Sync>(
        store: &S,
        kind: TargetKind,
        setup: &'a LocationSetup,
    ) -> Result<Self, StoreError> {
        let stored = store.verdicts(kind).await?;
        let own = own_verdicts(&stored, &setup.name);
        Ok(Quorums { setup, stored, own })
    }

    /// This location's verdict after `result`, then the quorum of the fresh verdicts of every
    /// location that probes `target` (this one's new verdict in place of its stored one).
    pub(super) fn observe(&mut self, target: &Target, result: &CheckResult) -> QuorumDecision {
        let verdict =
            LocationVerdict::observe(self.own.get(&target.id), &self.setup.name, result, target);
        self.own.insert(target.id.clone(), verdict);
        self.decide(target, result.at)
    }

    /// The quorum of `target` at `now_ms` from the verdicts known now.
    fn decide(&self, target: &Target, now_ms: i64) -> QuorumDecision {
        let mut all: Vec<LocationVerdict> = self
            .stored
            .get(&target.id)
            .into_iter()
            .flatten()
            .filter(|v| v.location != self.setup.name && target.probed_from(&v.location))
            .cloned()
            .collect();
        all.extend(self.own.get(&target.id).cloned());
        decide(&all, now_ms, self.setup.grace_ms, target.quorum())
    }

    /// For a due target this location does not probe (its `locations` leave this one out): the
    /// quorum of the other locations, with a result standing for their newest fresh verdict
    /// (its time, latency and error), so that the state machine counts it. `None` when no
    /// location reported within the grace period.
    pub(super) fn decide_unprobed(
        &self,
        target: &Target,
        now_ms: i64,
    ) -> Option<(CheckResult, QuorumDecision)> {
        let decision = self.decide(target, now_ms);
        if decision.status == Status::Unknown {
            return None;
        }
        let newest = self
            .stored
            .get(&target.id)?
            .iter()
            .filter(|v| v.at >= now_ms - self.setup.grace_ms && target.probed_from(&v.location))
            .max_by_key(|v| v.at)?;
        Some((result_of(target, newest, now_ms), decision))
    }

    /// Writes this location's verdicts of the targets it still probes.
    pub(super) async fn save<S: LocationStore + Sync>(
        self,
        store: &S,
        kind: TargetKind,
        targets: &[Target],
        at_ms: i64,
    ) -> Result<(), StoreError> {
        let keep = keep_verdicts(self.own, targets, &self.setup.name);
        store
            .put_verdicts(kind, &self.setup.name, &keep, at_ms)
            .await
    }
}

/// The verdicts of `location` among `stored`, by target id.
fn own_verdicts(
    stored: &HashMap<String, Vec<LocationVerdict>>,
    location: &str,
) -> HashMap<String, LocationVerdict> {
    stored
        .iter()
        .filter_map(|(id, list)| {
            let v = list.iter().find(|v| v.location == location)?;
            Some((id.clone(), v.clone()))
        })
        .collect()
}

/// The verdicts to keep: those of enabled targets that `location` probes, sorted by id.
fn keep_verdicts(
    mut own: HashMap<String, LocationVerdict>,
    targets: &[Target],
    location: &str,
) -> Vec<LocationVerdict> {
    let mut keep: Vec<LocationVerdict> = targets
        .iter()
        .filter(|t| t.probed_from(location))
        .filter_map(|t| own.remove(&t.id))
        .collect();
    keep.sort_by(|a, b| a.target_id.cmp(&b.target_id));
    keep
}

/// A check result standing for a location's verdict, at `at_ms`.
fn result_of(target: &Target, v: &LocationVerdict, at_ms: i64) -> CheckResult {
    let outcome = match v.status {
        Status::Blocked => Outcome::Blocked,
        Status::Down => Outcome::Failed,
        Status::Degraded => Outcome::Degraded,
        Status::Healthy | Status::Unknown => Outcome::Up,
    };
    CheckResult {
        target_id: target.id.clone(),
        kind: target.kind(),
        at: at_ms,
        outcome,
        status_code: None,
        latency_ms: v.latency_ms.unwrap_or(0),
        connect_ms: None,
        ttfb_ms: None,
        cert_days_left: None,
        bytes: 0,
        attempts: 0,
        error: None,
        message: Some(match &v.error {
            Some(e) => format!("as {} sees it: {e}", v.location),
            None => format!("as {} sees it", v.location),
        }),
    }
}

/// The dead man's switch of the locations, at every round of every location: this location
/// reports (and raises the "back" alert when it had been declared silent); every other
/// location of [`LocationSetup::all`] that reported once but not within the grace period is
/// declared silent, with one alert whichever location notices first (a conditional write).
/// A location that never reported is not alerted on (a stack not deployed yet); `GET
/// /v1/locations` shows it. Returns the alerts raised, written to the outbox for the caller to
/// publish.
pub(super) async fn watch_locations<S: LocationStore + Outbox + Sync>(
    store: &S,
    setup: &LocationSetup,
    kind: TargetKind,
    now_ms: i64,
) -> Result<Vec<Alert>, StoreError> {
    let health = store.location_health().await?;
    let mut raised = Vec::new();
    let own_last = health
        .iter()
        .find(|h| h.location == setup.name)
        .map_or(0, |h| h.last_seen);
    if store.heartbeat(&setup.name, now_ms).await? {
        raised.push(back_alert(&setup.name, own_last, now_ms, kind));
    }
    for h in health.iter().filter(|h| h.location != setup.name) {
        let watched = setup.all.contains(&h.location);
        let overdue = watched && h.last_seen > 0 && !h.silent && h.overdue(now_ms, setup.grace_ms);
        if overdue && store.mark_silent(&h.location, h.last_seen).await? {
            raised.push(silent_alert(h, now_ms, setup.grace_ms, kind));
        }
    }
    if raised.is_empty() {
        return Ok(raised);
    }
    for a in &raised {
        tracing::warn!(alert = %a.key, "{}", a.subject);
    }
    store.enqueue(&raised).await
}

/// A round of a location other than the home one: probes the due targets this location
/// probes (due by its own verdicts), writes its verdicts, and keeps the dead man's switch
/// ([`watch_locations`]; its alerts are published here). It writes no state, snapshot, summary,
/// run record or target alert: the home location decides those. `latest` gets each probed
/// target's last check, for the timing of repeat rounds.
pub(super) async fn remote_round<S, P>(
    store: &S,
    publisher: &P,
    prober: &Prober,
    round: &Round<'_>,
    setup: &LocationSetup,
    latest: &mut HashMap<String, Latest>,
) -> Result<RoundOutput, ProbeError>
where
    S: LocationStore + Outbox + crate::ports::IncidentStore + Sync,
    P: AlertPublisher + Sync,
{
    let started = Instant::now();
    let run_at = round.config.clock.now_ms();
    let stored = store.verdicts(round.kind).await?;
    let mut own = own_verdicts(&stored, &setup.name);
    let due: Vec<&Target> = round
        .targets
        .iter()
        // Heartbeats are judged by the home location alone (pings are not per location).
        .filter(|t| t.enabled && t.probed_from(&setup.name) && t.heartbeat().is_none())
        .filter(|t| {
            let last = own.get(&t.id).map(|v| v.at);
            round.force || last.is_none_or(|l| run_at >= super::next_due_ms(t, l))
        })
        .collect();
    let by_id: HashMap<&str, &Target> = due.iter().map(|t| (t.id.as_str(), *t)).collect();
    let mut results = futures::stream::iter(due.iter().copied())
        .map(|t| check_in_time(prober, round, t, run_at))
        .buffer_unordered(round.config.concurrency.max(1));
    let (mut checked, mut ok, mut skipped) = (0, 0, Vec::new());
    while let Some(result) = results.next().await {
        let result = match result {
            Ok(r) => r,
            Err(late) => {
                skipped.extend(late);
                continue;
            }
        };
        let Some(target) = by_id.get(result.target_id.as_str()) else {
            continue;
        };
        checked += 1;
        ok += usize::from(result.ok());
        let v = LocationVerdict::observe(own.get(&target.id), &setup.name, &result, target);
        own.insert(target.id.clone(), v);
    }
    drop(results);
    for (id, v) in &own {
        let mut state = TargetState::new(id);
        state.last_check = Some(v.at);
        latest.insert(id.clone(), Latest::new(state, None));
    }
    let keep = keep_verdicts(own, round.targets, &setup.name);
    if checked > 0 || round.force {
        store
            .put_verdicts(round.kind, &setup.name, &keep, run_at)
            .await?;
    }
    let alerts = watch_locations(store, setup, round.kind, run_at).await?;
    let mut published = 0;
    for alert in &alerts {
        published += usize::from(deliver(store, publisher, alert).await.published());
    }
    let record = RunRecord {
        run_id: uuid::Uuid::new_v4().to_string(),
        kind: round.kind,
        started_at: run_at,
        duration_ms: started.elapsed().as_millis() as u64,
        checked,
        ok,
        changes: 0,
        alerts_published: published,
        alerts_pending: alerts.len() - published,
        skipped: skipped.len(),
        shards: None,
        shards_done: None,
    };
    Ok(RoundOutput {
        record,
        alerts,
        errors: Vec::new(),
        skipped,
    })
}

#[cfg(test)]
mod tests;

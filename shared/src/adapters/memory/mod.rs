//! In-memory fakes of the ports, for unit tests of the domain and the handlers. They keep the
//! same rules as the real adapters: conditional create, versioned state writes, pending alerts.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::digest::report::Digest;
use crate::digest::rollup::{Period, Rollup};
use crate::domain::{Alert, CheckResult, Target, TargetKind, TargetState};
use crate::ports::{
    AlertLog, AlertPublisher, AlertRecord, HistoryStore, KindSummary, Latest, Lease, LeaseInfo,
    Outbox, PublishError, RunLease, RunRecord, RunStore, StateStore, StoreError, TargetStore,
};
use crate::ports::{DigestStore, SummaryStore, TargetUptime};

#[derive(Default)]
struct Tables {
    targets: BTreeMap<String, Target>,
    states: HashMap<String, TargetState>,
    snapshots: HashMap<TargetKind, Vec<Latest>>,
    history: Vec<(TargetKind, i64, Latest)>,
    runs: Vec<RunRecord>,
    /// (alert, published)
    outbox: Vec<(Alert, bool)>,
    /// (at, key) of an outbox row → (holder, claim until ms), while claimed.
    claims: HashMap<(i64, String), (String, i64)>,
    leases: HashMap<TargetKind, LeaseRow>,
    overrides: HashMap<(TargetKind, String), TargetState>,
    summaries: BTreeMap<TargetKind, KindSummary>,
    /// (target id or `*<kind>`, period, start) → rollup
    rollups: BTreeMap<(String, Period, i64), Rollup>,
    /// (scope, start) → digest
    digests: BTreeMap<(String, i64), Digest>,
    uptime: HashMap<TargetKind, Vec<TargetUptime>>,
}

#[derive(Default)]
struct LeaseRow {
    /// Empty when none holds it (never taken, or broken by an operator).
    holder: String,
    until_ms: i64,
    done_event: Option<String>,
}

/// Every table port in memory.
#[derive(Default)]
pub struct MemoryStore {
    t: Mutex<Tables>,
    failing_commits: AtomicBool,
    /// A stale listing of the definitions, while one is frozen.
    frozen_listing: Mutex<Option<Vec<Target>>>,
}

impl MemoryStore {
    /// Makes every later status commit fail with a backend error (`true`), or succeed again.
    pub fn set_failing_commits(&self, failing: bool) {
        self.failing_commits.store(failing, Ordering::SeqCst);
    }

    /// Freezes `list_targets` at the definitions stored now (`true`) until unfrozen (`false`),
    /// as DynamoDB's eventually consistent index (`gsi1`) may list definitions as they were a
    /// moment before a write. Reads by id stay current.
    pub fn freeze_listing(&self, frozen: bool) {
        let now = frozen.then(|| self.lock().targets.values().cloned().collect());
        *self
            .frozen_listing
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = now;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.t.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stored state items (written on status change only), by id.
    pub fn states(&self) -> HashMap<String, TargetState> {
        self.lock().states.clone()
    }

    /// Every outbox row with its published flag.
    pub fn outbox(&self) -> Vec<(Alert, bool)> {
        self.lock().outbox.clone()
    }

    /// Number of history rows (one per target per run in memory).
    pub fn history_len(&self) -> usize {
        self.lock().history.len()
    }

    /// Run records, oldest first.
    pub fn runs(&self) -> Vec<RunRecord> {
        self.lock().runs.clone()
    }
}

impl TargetStore for MemoryStore {
    async fn list_targets(&self, kind: Option<TargetKind>) -> Result<Vec<Target>, StoreError> {
        let frozen = self
            .frozen_listing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let all = frozen.unwrap_or_else(|| self.lock().targets.values().cloned().collect());
        Ok(all
            .into_iter()
            .filter(|t| kind.is_none_or(|k| t.kind() == k))
            .collect())
    }

    async fn create_target(&self, target: &Target) -> Result<Target, StoreError> {
        let mut t = self.lock();
        if t.targets.contains_key(&target.id) {
            return Err(StoreError::Conflict(format!("target {} exists", target.id)));
        }
        let mut stored = target.clone();
        stored.version = 1;
        t.targets.insert(stored.id.clone(), stored.clone());
        Ok(stored)
    }

    async fn get_target(&self, id: &str) -> Result<Option<Target>, StoreError> {
        Ok(self.lock().targets.get(id).cloned())
    }

    async fn update_target(
        &self,
        target: &Target,
        expected_version: u64,
    ) -> Result<Target, StoreError> {
        let mut t = self.lock();
        if t.targets.get(&target.id).map(|s| s.version) != Some(expected_version) {
            return Err(StoreError::Conflict(format!(
                "target {} is not at version {expected_version}",
                target.id
            )));
        }
        let mut stored = target.clone();
        stored.version = expected_version + 1;
        t.targets.insert(stored.id.clone(), stored.clone());
        Ok(stored)
    }

    async fn delete_target(&self, id: &str) -> Result<bool, StoreError> {
        let mut t = self.lock();
        t.states.remove(id);
        Ok(t.targets.remove(id).is_some())
    }
}

impl StateStore for MemoryStore {
    async fn latest(&self, kind: TargetKind) -> Result<HashMap<String, Latest>, StoreError> {
        Ok(self
            .lock()
            .snapshots
            .get(&kind)
            .map(|v| {
                v.iter()
                    .map(|l| (l.state.target_id.clone(), l.clone()))
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn load_state(&self, target_id: &str) -> Result<Option<TargetState>, StoreError> {
        Ok(self.lock().states.get(target_id).cloned())
    }

    async fn commit_change(&self, state: &TargetState, alerts: &[Alert]) -> Result<(), StoreError> {
        if self.failing_commits.load(Ordering::SeqCst) {
            return Err(StoreError::Backend("commits are failing".into()));
        }
        let mut t = self.lock();
        let stored = t.states.get(&state.target_id).map_or(0, |s| s.version);
        if stored != state.version {
            return Err(StoreError::Conflict(format!(
                "state of {} is at version {stored}",
                state.target_id
            )));
        }
        if alerts
            .iter()
            .any(|a| t.outbox.iter().any(|(o, _)| o.key == a.key && o.at == a.at))
        {
            return Err(StoreError::Conflict("alert exists".into()));
        }
        let mut next = state.clone();
        next.version += 1;
        t.states.insert(next.target_id.clone(), next);
        t.outbox.extend(alerts.iter().map(|a| (a.clone(), false)));
        Ok(())
    }

    async fn commit_override(
        &self,
        kind: TargetKind,
        state: &TargetState,
        alerts: &[Alert],
    ) -> Result<(), StoreError> {
        self.commit_change(state, alerts).await?;
        let mut written = state.clone();
        written.version += 1;
        self.lock()
            .overrides
            .insert((kind, state.target_id.clone()), written);
        Ok(())
    }

    async fn overrides(&self, kind: TargetKind) -> Result<Vec<TargetState>, StoreError> {
        Ok(self
            .lock()
            .overrides
            .iter()
            .filter(|((k, _), _)| *k == kind)
            .map(|(_, s)| s.clone())
            .collect())
    }

    async fn clear_override(
        &self,
        kind: TargetKind,
        target_id: &str,
        version: u64,
    ) -> Result<(), StoreError> {
        let mut t = self.lock();
        let key = (kind, target_id.to_string());
        if t.overrides.get(&key).is_some_and(|s| s.version == version) {
            t.overrides.remove(&key);
        }
        Ok(())
    }

    async fn record_run(
        &self,
        kind: TargetKind,
        run_at: i64,
        latest: &[Latest],
        _snapshot: bool,
    ) -> Result<(), StoreError> {
        let mut t = self.lock();
        t.snapshots.insert(kind, latest.to_vec());
        for l in latest
            .iter()
            .filter(|l| l.result.as_ref().is_some_and(|r| r.at == run_at))
        {
            t.history.push((kind, run_at, l.clone()));
        }
        Ok(())
    }
}

impl RunStore for MemoryStore {
    async fn put_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        self.lock().runs.push(run.clone());
        Ok(())
    }

    async fn last_run(&self, kind: TargetKind) -> Result<Option<RunRecord>, StoreError> {
        Ok(RunStore::runs(self, kind, 1).await?.into_iter().next())
    }

    async fn runs(&self, kind: TargetKind, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        Ok(self
            .lock()
            .runs
            .iter()
            .rev()
            .filter(|r| r.kind == kind)
            .take(limit.max(1))
            .cloned()
            .collect())
    }
}

impl SummaryStore for MemoryStore {
    async fn put_summary(&self, summary: &KindSummary) -> Result<(), StoreError> {
        self.lock().summaries.insert(summary.kind, summary.clone());
        Ok(())
    }

    async fn summaries(&self) -> Result<Vec<KindSummary>, StoreError> {
        Ok(self.lock().summaries.values().cloned().collect())
    }
}

fn rollup_scope(target_id: &str, kind: TargetKind) -> String {
    if target_id == "*" {
        format!("*{}", kind.as_str())
    } else {
        target_id.to_string()
    }
}

impl DigestStore for MemoryStore {
    async fn put_rollups(&self, rollups: &[Rollup]) -> Result<(), StoreError> {
        let mut t = self.lock();
        for r in rollups {
            let key = (rollup_scope(&r.target_id, r.kind), r.period, r.start);
            t.rollups.insert(key, r.clone());
        }
        Ok(())
    }

    async fn rollups(
        &self,
        target_id: &str,
        kind: TargetKind,
        period: Period,
        since_ms: i64,
        until_ms: i64,
    ) -> Result<Vec<Rollup>, StoreError> {
        let scope = rollup_scope(target_id, kind);
        Ok(self
            .lock()
            .rollups
            .range((scope.clone(), period, since_ms)..(scope, period, until_ms.max(since_ms)))
            .map(|(_, r)| r.clone())
            .collect())
    }

    async fn put_digests(&self, digests: &[Digest]) -> Result<(), StoreError> {
        let mut t = self.lock();
        for d in digests {
            t.digests.insert((d.scope.clone(), d.start), d.clone());
        }
        Ok(())
    }

    async fn digests(
        &self,
        scope: &str,
        before_ms: i64,
        limit: usize,
    ) -> Result<Vec<Digest>, StoreError> {
        Ok(self
            .lock()
            .digests
            .range((scope.to_string(), i64::MIN)..(scope.to_string(), before_ms))
            .rev()
            .take(limit)
            .map(|(_, d)| d.clone())
            .collect())
    }

    async fn put_uptime(&self, kind: TargetKind, table: &[TargetUptime]) -> Result<(), StoreError> {
        self.lock().uptime.insert(kind, table.to_vec());
        Ok(())
    }

    async fn uptime_table(&self, kind: TargetKind) -> Result<Vec<TargetUptime>, StoreError> {
        Ok(self.lock().uptime.get(&kind).cloned().unwrap_or_default())
    }
}

impl HistoryStore for MemoryStore {
    async fn history(
        &self,
        kind: TargetKind,
        since_ms: i64,
        until_ms: i64,
        _targets: usize,
    ) -> Result<Vec<CheckResult>, StoreError> {
        Ok(self
            .lock()
            .history
            .iter()
            .filter(|(k, at, _)| *k == kind && since_ms <= *at && *at <= until_ms)
            .filter_map(|(_, _, l)| l.result.clone())
            .collect())
    }
}

impl AlertLog for MemoryStore {
    async fn alerts(&self, since_ms: i64, until_ms: i64) -> Result<Vec<AlertRecord>, StoreError> {
        let mut out: Vec<AlertRecord> = self
            .lock()
            .outbox
            .iter()
            .filter(|(a, _)| since_ms <= a.at && a.at <= until_ms)
            .map(|(a, p)| AlertRecord {
                alert: a.clone(),
                published: *p,
            })
            .collect();
        out.sort_by_key(|r| r.alert.at);
        Ok(out)
    }
}

impl Outbox for MemoryStore {
    async fn pending_alerts(&self, _now_ms: i64) -> Result<Vec<Alert>, StoreError> {
        Ok(self
            .lock()
            .outbox
            .iter()
            .filter(|(_, p)| !p)
            .map(|(a, _)| a.clone())
            .collect())
    }

    async fn claim_alert(
        &self,
        alert: &Alert,
        holder: &str,
        now_ms: i64,
        claim_until_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut t = self.lock();
        let row = (alert.at, alert.key.clone());
        // The row's identity in DynamoDB: time and key.
        let pending = t
            .outbox
            .iter()
            .any(|(a, p)| !p && a.key == alert.key && a.at == alert.at);
        let free = t.claims.get(&row).is_none_or(|(_, until)| *until < now_ms);
        if !(pending && free) {
            return Ok(false);
        }
        t.claims.insert(row, (holder.to_string(), claim_until_ms));
        Ok(true)
    }

    async fn mark_published(&self, alert: &Alert, holder: &str) -> Result<(), StoreError> {
        let mut t = self.lock();
        let row = (alert.at, alert.key.clone());
        if t.claims.get(&row).is_none_or(|(h, _)| h != holder) {
            return Err(StoreError::Conflict(format!(
                "alert {} is not claimed by {holder}",
                alert.key
            )));
        }
        t.claims.remove(&row);
        for (a, p) in t.outbox.iter_mut() {
            if a.key == alert.key && a.at == alert.at {
                *p = true;
            }
        }
        Ok(())
    }

    async fn release_claim(&self, alert: &Alert, holder: &str) -> Result<(), StoreError> {
        let mut t = self.lock();
        let row = (alert.at, alert.key.clone());
        if t.claims.get(&row).is_some_and(|(h, _)| h == holder) {
            t.claims.remove(&row);
        }
        Ok(())
    }

    async fn enqueue(&self, alerts: &[Alert]) -> Result<Vec<Alert>, StoreError> {
        let mut t = self.lock();
        let mut new = Vec::new();
        for a in alerts {
            if !t.outbox.iter().any(|(o, _)| o.key == a.key && o.at == a.at) {
                t.outbox.push((a.clone(), false));
                new.push(a.clone());
            }
        }
        Ok(new)
    }
}

impl RunLease for MemoryStore {
    async fn acquire_lease(
        &self,
        kind: TargetKind,
        holder: &str,
        now_ms: i64,
        until_ms: i64,
        event_id: Option<&str>,
    ) -> Result<Lease, StoreError> {
        let mut t = self.lock();
        let lease = t.leases.entry(kind).or_default();
        if lease.until_ms >= now_ms {
            return Ok(Lease::Busy {
                until_ms: lease.until_ms,
            });
        }
        if event_id.is_some() && lease.done_event.as_deref() == event_id {
            return Ok(Lease::AlreadyDone);
        }
        lease.holder = holder.to_string();
        lease.until_ms = until_ms;
        Ok(Lease::Acquired)
    }

    async fn renew_lease(
        &self,
        kind: TargetKind,
        holder: &str,
        until_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut t = self.lock();
        match t.leases.get_mut(&kind) {
            Some(lease) if lease.holder == holder && lease.until_ms > 0 => {
                lease.until_ms = until_ms;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn release_lease(
        &self,
        kind: TargetKind,
        holder: &str,
        event_id: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut t = self.lock();
        let lease = t.leases.entry(kind).or_default();
        if lease.holder == holder {
            lease.until_ms = 0;
            if let Some(ev) = event_id {
                lease.done_event = Some(ev.to_string());
            }
        }
        Ok(())
    }

    async fn break_lease(&self, kind: TargetKind, now_ms: i64) -> Result<bool, StoreError> {
        let mut t = self.lock();
        let Some(lease) = t.leases.get_mut(&kind) else {
            return Ok(false);
        };
        let running = !lease.holder.is_empty() && lease.until_ms >= now_ms;
        lease.holder.clear();
        lease.until_ms = 0;
        Ok(running)
    }

    async fn leases(&self) -> Result<Vec<LeaseInfo>, StoreError> {
        let t = self.lock();
        Ok(TargetKind::ALL
            .iter()
            .filter_map(|k| {
                t.leases.get(k).map(|l| LeaseInfo {
                    kind: *k,
                    holder: (!l.holder.is_empty()).then(|| l.holder.clone()),
                    until_ms: l.until_ms,
                    done_event: l.done_event.clone(),
                })
            })
            .collect())
    }
}

/// A publisher that records what it sends, and can be told to fail.
#[derive(Default)]
pub struct MemoryPublisher {
    sent: Mutex<Vec<Alert>>,
    failing: AtomicBool,
}

impl MemoryPublisher {
    /// Alerts sent so far.
    pub fn sent(&self) -> Vec<Alert> {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Makes every later publish fail (`true`) or succeed again (`false`).
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

impl AlertPublisher for MemoryPublisher {
    async fn publish(&self, alert: &Alert) -> Result<(), PublishError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(PublishError {
                key: alert.key.clone(),
                message: "publisher is failing".into(),
            });
        }
        self.sent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(alert.clone());
        Ok(())
    }
}

//! [`NarrativeLedger`] in memory.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use super::MemoryStore;
use crate::ports::{NarrativeClaim, NarrativeLedger, StoreError, CLAIMED, MAX_REASON_CHARS};
use lookout_core::digest::narrative::Narrative;

/// The ledger's tables.
#[derive(Default)]
pub(super) struct NarrativeTables {
    /// (scope, hour) → the narrative, or why there is none (`claimed` until recorded).
    calls: HashMap<(String, i64), Result<Narrative, String>>,
    /// month → tokens counted.
    tokens: HashMap<String, u64>,
}

impl MemoryStore {
    /// Makes every later ledger call fail with an unavailable store (`true`), or succeed again.
    pub fn set_failing_narratives(&self, failing: bool) {
        self.s.failing_narratives.store(failing, Ordering::SeqCst);
    }

    fn narrative_tables(&self) -> Result<std::sync::MutexGuard<'_, NarrativeTables>, StoreError> {
        if self.s.failing_narratives.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable(
                "narrative ledger is failing".into(),
            ));
        }
        Ok(self.s.narratives.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl NarrativeLedger for MemoryStore {
    async fn claim_narrative(
        &self,
        scope: &str,
        hour: i64,
        _now: i64,
    ) -> Result<NarrativeClaim, StoreError> {
        let mut t = self.narrative_tables()?;
        match t.calls.get(&(scope.to_string(), hour)) {
            Some(Ok(n)) => Ok(NarrativeClaim::Done(n.clone())),
            Some(Err(why)) => Ok(NarrativeClaim::Tried(why.clone())),
            None => {
                t.calls
                    .insert((scope.to_string(), hour), Err(CLAIMED.into()));
                Ok(NarrativeClaim::Granted)
            }
        }
    }

    async fn release_narrative(&self, scope: &str, hour: i64) -> Result<(), StoreError> {
        let mut t = self.narrative_tables()?;
        let key = (scope.to_string(), hour);
        if matches!(t.calls.get(&key), Some(Err(why)) if why == CLAIMED) {
            t.calls.remove(&key);
        }
        Ok(())
    }

    async fn record_narrative(
        &self,
        scope: &str,
        hour: i64,
        outcome: Result<&Narrative, &str>,
    ) -> Result<(), StoreError> {
        self.narrative_tables()?.calls.insert(
            (scope.to_string(), hour),
            outcome
                .cloned()
                .map_err(|why| lookout_core::redact::clip(why, MAX_REASON_CHARS)),
        );
        Ok(())
    }

    async fn reserve_tokens(
        &self,
        month: &str,
        tokens: u64,
        budget: u64,
    ) -> Result<bool, StoreError> {
        let mut t = self.narrative_tables()?;
        let used = t.tokens.entry(month.to_string()).or_default();
        if used.saturating_add(tokens) > budget {
            return Ok(false);
        }
        *used += tokens;
        Ok(true)
    }

    async fn adjust_tokens(&self, month: &str, delta: i64) -> Result<(), StoreError> {
        let mut t = self.narrative_tables()?;
        let used = t.tokens.entry(month.to_string()).or_default();
        *used = used.saturating_add_signed(delta);
        Ok(())
    }

    async fn tokens_used(&self, month: &str) -> Result<u64, StoreError> {
        Ok(self
            .narrative_tables()?
            .tokens
            .get(month)
            .copied()
            .unwrap_or(0))
    }
}

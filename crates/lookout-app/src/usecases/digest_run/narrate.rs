//! Narratives of a digest run: which digests get one, and the rationing of the calls.
//!
//! For each digest the policy selects (the global one; with `notable`, the stored target
//! digests too), in this order:
//! 1. claim the scope's one call of the hour (one conditional write). An earlier run's
//!    narrative is kept without a call (`reused`); an earlier run's call that has no narrative
//!    (it failed, or that run is still at it, or died before recording) is not made again
//!    (`already_tried`). Claiming first means a re-run never loses a stored narrative to a
//!    full budget, and costs no reservation when there is nothing to call.
//! 2. reserve the call's token bound ([`Summariser::token_bound`]) from the month's budget
//!    (when there is one). No room is `over_budget`: no call, and the claim is given back
//!    ([`NarrativeLedger::release_narrative`]) so a re-run after the budget grew may call.
//! 3. call once (no retry), record the outcome in the ledger, and settle the reservation:
//!    a narrative is charged the tokens the server counted (the whole bound when it counted
//!    none), a call answered 429 nothing (the server turned it away before the model ran),
//!    a request that never left (the guard, the key, DNS, connection, TLS) nothing, any other
//!    failure the whole bound (the server may have counted it). The give-back goes
//!    to the month of the reservation, even when the call ended in the next one.
//!
//! Calls start only within [`NARRATE_WINDOW`] of the step's start; the digests not reached are
//! `deferred` (not claimed: a later run of the hour may call). The step runs after the built-in
//! digests are stored (see `run`), so a slow model never keeps them from the table.
//!
//! Nothing here fails the run: a store error is counted (`store_errors`) and the digest goes
//! without its narrative. The built-in summary, recommendations and facts are never touched:
//! only [`Digest::narrative`] is set. Reasons recorded or logged are the summariser's words
//! with URL credentials masked ([`lookout_core::redact::redact_text`]) and cut to
//! [`MAX_REASON_CHARS`]; the summariser's errors never carry the API key (see
//! [`SummaryError`]).
//!
//! Limits: a run that dies after its claim leaves the hour `claimed`, so that scope and hour
//! get no narrative (the call may have been made: at most one call wins over completeness);
//! when recording a narrative fails, a re-run finds the hour `claimed` and writes its digest
//! without the narrative.

use std::time::{Duration, Instant};

use futures::StreamExt as _;

use crate::ports::{NarrativeClaim, NarrativeLedger, MAX_REASON_CHARS};
use lookout_core::digest::narrative::{
    NarrationCounts, NarrationPolicy, Narrative, NarrativeScopes,
};
use lookout_core::digest::report::{Digest, Summariser, SummaryError};
use lookout_core::redact::{clip, redact_text};

/// Calls made at once (with `notable`, a run may narrate many digests).
pub const NARRATE_CONCURRENCY: usize = 4;

/// How long after the narration starts a call may still start (90 s). With calls of at most
/// [`crate::narrative::settings::MAX_TIMEOUT_MS`] (60 s), the step ends within 150 s, well
/// inside the digest function's 300 s; digests not reached are `deferred`, not claimed.
pub const NARRATE_WINDOW: Duration = Duration::from_secs(90);

/// The month of `now` (epoch ms), `YYYY-MM` (UTC): the token budget's period.
pub fn month_of(now: i64) -> String {
    lookout_core::time::day(now)[..7].to_string()
}

/// What happened to one digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Written,
    Reused,
    AlreadyTried,
    OverBudget,
    Deferred,
    Failed,
    TimedOut,
    Refused,
    RateLimited,
    StoreError,
}

/// Narrates `global` and, with [`NarrativeScopes::Notable`], every digest of `targets` (the
/// stored target digests of the hour), at `now` (epoch ms), starting calls for
/// [`NARRATE_WINDOW`]. Returns the counts.
pub(super) async fn narrate<S, M>(
    store: &S,
    summariser: &M,
    global: &mut Digest,
    targets: &mut [Digest],
    now: i64,
) -> NarrationCounts
where
    S: NarrativeLedger + Sync,
    M: Summariser + Sync,
{
    narrate_within(store, summariser, global, targets, now, NARRATE_WINDOW).await
}

/// [`narrate`], starting calls for `window` only.
pub(super) async fn narrate_within<S, M>(
    store: &S,
    summariser: &M,
    global: &mut Digest,
    targets: &mut [Digest],
    now: i64,
    window: Duration,
) -> NarrationCounts
where
    S: NarrativeLedger + Sync,
    M: Summariser + Sync,
{
    let deadline = Instant::now() + window;
    let mut counts = NarrationCounts::default();
    let policy = summariser.policy();
    let mut chosen: Vec<&mut Digest> = vec![global];
    if policy.scopes == NarrativeScopes::Notable {
        chosen.extend(targets.iter_mut());
    }
    counts.considered = chosen.len() as u32;
    let outcomes: Vec<(Outcome, u64)> = futures::stream::iter(
        chosen
            .into_iter()
            .map(|d| narrate_one(store, summariser, &policy, d, now, deadline)),
    )
    .buffer_unordered(NARRATE_CONCURRENCY)
    .collect()
    .await;
    for (outcome, tokens) in outcomes {
        counts.tokens += tokens;
        let slot = match outcome {
            Outcome::Written => &mut counts.written,
            Outcome::Reused => &mut counts.reused,
            Outcome::AlreadyTried => &mut counts.already_tried,
            Outcome::OverBudget => &mut counts.over_budget,
            Outcome::Deferred => &mut counts.deferred,
            Outcome::Failed => &mut counts.failed,
            Outcome::TimedOut => &mut counts.timed_out,
            Outcome::Refused => &mut counts.refused,
            Outcome::RateLimited => &mut counts.rate_limited,
            Outcome::StoreError => &mut counts.store_errors,
        };
        *slot += 1;
    }
    counts
}

/// One digest's narrative (see the module doc). Returns the outcome and the tokens the call
/// used as the server counted them (0 without a narrative).
async fn narrate_one<S, M>(
    store: &S,
    summariser: &M,
    policy: &NarrationPolicy,
    digest: &mut Digest,
    now: i64,
    deadline: Instant,
) -> (Outcome, u64)
where
    S: NarrativeLedger + Sync,
    M: Summariser + Sync,
{
    if Instant::now() >= deadline {
        return (Outcome::Deferred, 0);
    }
    let (scope, hour) = (digest.scope.clone(), digest.start);
    match store.claim_narrative(&scope, hour, now).await {
        Ok(NarrativeClaim::Granted) => {}
        Ok(NarrativeClaim::Done(n)) => {
            digest.narrative = Some(n);
            return (Outcome::Reused, 0);
        }
        Ok(NarrativeClaim::Tried(_)) => return (Outcome::AlreadyTried, 0),
        Err(e) => {
            tracing::warn!(scope, error = %e, "narrative: hour not claimed; no call");
            return (Outcome::StoreError, 0);
        }
    }
    let month = month_of(now);
    let bound = summariser.token_bound(digest);
    if let Some(budget) = policy.monthly_token_budget {
        let no_call = match store.reserve_tokens(&month, bound, budget).await {
            Ok(true) => None,
            Ok(false) => Some(Outcome::OverBudget),
            Err(e) => {
                tracing::warn!(scope, error = %e, "narrative: tokens not reserved; no call");
                Some(Outcome::StoreError)
            }
        };
        if let Some(outcome) = no_call {
            if let Err(e) = store.release_narrative(&scope, hour).await {
                tracing::warn!(scope, error = %e, "narrative: claim not given back; the hour stays claimed");
            }
            return (outcome, 0);
        }
    }
    let started = Instant::now();
    let answer = summariser.summarise(digest).await;
    let answered_at = now.saturating_add(i64::try_from(started.elapsed().as_millis()).unwrap_or(0));
    // An answer with no text (once trimmed) is a refusal.
    let answer = answer
        .map(|summary| Narrative::from_summary(summary, answered_at))
        .and_then(|n| {
            if n.text.is_empty() {
                Err(SummaryError::Refused("no text".into()))
            } else {
                Ok(n)
            }
        });
    // (outcome, the server's count, the tokens charged to the month)
    let (outcome, counted, charged) = match answer {
        Ok(n) => {
            let counted = n.tokens();
            let charged = if counted == 0 { bound } else { counted };
            let recorded = store.record_narrative(&scope, hour, Ok(&n)).await;
            if let Err(e) = recorded {
                tracing::warn!(scope, error = %e, "narrative: outcome not recorded");
            }
            digest.narrative = Some(n);
            (Outcome::Written, counted, charged)
        }
        Err(e) => {
            let (outcome, charged) = match &e {
                SummaryError::TimedOut(_) => (Outcome::TimedOut, bound),
                SummaryError::Refused(_) => (Outcome::Refused, bound),
                SummaryError::RateLimited(_) => (Outcome::RateLimited, 0),
                SummaryError::NotConfigured | SummaryError::NotSent(_) => (Outcome::Failed, 0),
                SummaryError::Failed(_) => (Outcome::Failed, bound),
            };
            let why = clip(&redact_text(&e.to_string()), MAX_REASON_CHARS);
            tracing::warn!(scope, error = %why, "narrative: none for this digest");
            if let Err(e) = store.record_narrative(&scope, hour, Err(&why)).await {
                tracing::warn!(scope, error = %e, "narrative: outcome not recorded");
            }
            (outcome, 0, charged)
        }
    };
    if policy.monthly_token_budget.is_some() && charged != bound {
        let delta =
            i64::try_from(charged).unwrap_or(i64::MAX) - i64::try_from(bound).unwrap_or(i64::MAX);
        if let Err(e) = store.adjust_tokens(&month, delta).await {
            tracing::warn!(scope, error = %e, delta, "narrative: token count not adjusted");
        }
    }
    (outcome, counted)
}

#[cfg(test)]
mod tests;

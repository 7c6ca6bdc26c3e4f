//! Narratives of a digest run: which digests get one, and the rationing of the calls.
//!
//! For each digest the policy selects (the global one; with `notable`, the stored target
//! digests too), in this order:
//! 1. reserve the call's token bound from the month's budget (when there is one); no room is
//!    `over_budget`, and no call;
//! 2. claim the scope's one call of the hour; an earlier run's narrative is kept (`reused`), an
//!    earlier run's failed call is not made again (`already_tried`), and the reservation is
//!    given back;
//! 3. call once (no retry), record the outcome in the ledger, and give back the part of the
//!    reservation the call did not use.
//!
//! Nothing here fails the run: a store error is counted (`store_errors`) and the digest goes
//! without its narrative. The built-in summary is never touched.

use futures::StreamExt as _;

use crate::ports::{NarrativeClaim, NarrativeLedger};
use lookout_core::digest::narrative::{NarrationCounts, Narrative, NarrativeScopes};
use lookout_core::digest::report::{Digest, Summariser, SummaryError};

/// Calls made at once (with `notable`, a run may narrate many digests).
pub const NARRATE_CONCURRENCY: usize = 4;

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
    Failed,
    TimedOut,
    Refused,
    RateLimited,
    StoreError,
}

/// Narrates `global` and, with [`NarrativeScopes::Notable`], every digest of `targets` (the
/// stored target digests of the hour), at `now` (epoch ms). Returns the counts.
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
    let mut counts = NarrationCounts::default();
    let mut chosen: Vec<&mut Digest> = vec![global];
    if summariser.policy().scopes == NarrativeScopes::Notable {
        chosen.extend(targets.iter_mut());
    }
    counts.considered = chosen.len() as u32;
    let outcomes: Vec<(Outcome, u64)> = futures::stream::iter(
        chosen
            .into_iter()
            .map(|d| narrate_one(store, summariser, d, now)),
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
/// used.
async fn narrate_one<S, M>(
    store: &S,
    summariser: &M,
    digest: &mut Digest,
    now: i64,
) -> (Outcome, u64)
where
    S: NarrativeLedger + Sync,
    M: Summariser + Sync,
{
    let (scope, hour) = (digest.scope.clone(), digest.start);
    let month = month_of(now);
    let budget = summariser.policy().monthly_token_budget;
    let bound = summariser.token_bound(digest);
    if let Some(budget) = budget {
        match store.reserve_tokens(&month, bound, budget).await {
            Ok(true) => {}
            Ok(false) => return (Outcome::OverBudget, 0),
            Err(e) => {
                tracing::warn!(scope, error = %e, "narrative: tokens not reserved; no call");
                return (Outcome::StoreError, 0);
            }
        }
    }
    let give_back = |delta: i64| {
        let month = month.clone();
        async move {
            if budget.is_some() && delta != 0 {
                if let Err(e) = store.adjust_tokens(&month, delta).await {
                    tracing::warn!(error = %e, delta, "narrative: token count not adjusted");
                }
            }
        }
    };
    match store.claim_narrative(&scope, hour, now).await {
        Ok(NarrativeClaim::Granted) => {}
        Ok(NarrativeClaim::Done(n)) => {
            give_back(-(bound as i64)).await;
            digest.narrative = Some(n);
            return (Outcome::Reused, 0);
        }
        Ok(NarrativeClaim::Tried(_)) => {
            give_back(-(bound as i64)).await;
            return (Outcome::AlreadyTried, 0);
        }
        Err(e) => {
            give_back(-(bound as i64)).await;
            tracing::warn!(scope, error = %e, "narrative: hour not claimed; no call");
            return (Outcome::StoreError, 0);
        }
    }
    let answer = summariser.summarise(digest).await;
    let (outcome, record, used) = match answer {
        Ok(summary) => {
            let n = Narrative::from_summary(summary, lookout_core::time::now_ms().max(now));
            let used = n.tokens();
            digest.narrative = Some(n);
            (Outcome::Written, Ok(()), used)
        }
        Err(e) => {
            let outcome = match &e {
                SummaryError::TimedOut(_) => Outcome::TimedOut,
                SummaryError::Refused(_) => Outcome::Refused,
                SummaryError::RateLimited(_) => Outcome::RateLimited,
                SummaryError::NotConfigured | SummaryError::Failed(_) => Outcome::Failed,
            };
            tracing::warn!(scope, error = %e, "narrative: none for this digest");
            // A call that failed is charged its whole bound: the server may have counted it.
            (outcome, Err(e.to_string()), bound)
        }
    };
    let recorded = match (&record, &digest.narrative) {
        (Ok(()), Some(n)) => store.record_narrative(&scope, hour, Ok(n)).await,
        (Err(why), _) => store.record_narrative(&scope, hour, Err(why)).await,
        (Ok(()), None) => Ok(()),
    };
    if let Err(e) = recorded {
        tracing::warn!(scope, error = %e, "narrative: outcome not recorded");
    }
    give_back(used as i64 - bound as i64).await;
    (outcome, used)
}

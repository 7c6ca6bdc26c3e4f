//! The ledger of narrative calls: at most one call per scope and hour, and the month's tokens.

use std::future::Future;

use super::StoreError;
use lookout_core::digest::narrative::Narrative;

/// Days a scope-and-hour record is kept (40): long enough for any re-run of an hour the
/// digests still hold at full resolution, short enough to stay a small partition.
pub const NARRATIVE_CALL_TTL_DAYS: u32 = 40;

/// Days a month's token count is kept (400).
pub const TOKEN_MONTH_TTL_DAYS: u32 = 400;

/// Longest reason kept for a call without a narrative, in characters.
pub const MAX_REASON_CHARS: usize = 300;

/// What the ledger holds for one scope and hour when a run asks for its call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NarrativeClaim {
    /// Nothing yet: this caller now holds the hour's one call.
    Granted,
    /// An earlier run made the call and stored this narrative.
    Done(Narrative),
    /// An earlier run made (or claimed) the call and has no narrative: its outcome in words
    /// (`failed: ...`, `timeout: ...`; `claimed` while that run is still at it, or when it
    /// ended before recording: a run that died after its claim may have made the call, so
    /// its hour is not called again).
    Tried(String),
}

/// The outcome of a claim not yet recorded (and of one whose run died before recording).
pub const CLAIMED: &str = "claimed";

/// The ledger of narrative calls. Records are `NARRATIVE#<scope>` / `<hour start>` (kept
/// [`NARRATIVE_CALL_TTL_DAYS`]) and `NARRATIVE_TOKENS` / `<YYYY-MM>` (kept
/// [`TOKEN_MONTH_TTL_DAYS`]) in DynamoDB.
pub trait NarrativeLedger {
    /// Claims the one call of `scope` (a target id or `global`) for the hour starting at
    /// `hour` (epoch ms), at `now` (epoch ms). One write decides between concurrent callers:
    /// exactly one gets [`NarrativeClaim::Granted`].
    fn claim_narrative(
        &self,
        scope: &str,
        hour: i64,
        now: i64,
    ) -> impl Future<Output = Result<NarrativeClaim, StoreError>> + Send;

    /// Gives back a granted claim on which no call was made (the month's budget had no room,
    /// or the reservation failed), so that a later run of the hour may call: the record goes
    /// only while it is still [`CLAIMED`]. Nothing to give back is not an error.
    fn release_narrative(
        &self,
        scope: &str,
        hour: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records the outcome of a granted call: the narrative, or why there is none (words
    /// without secrets, at most [`MAX_REASON_CHARS`] characters; longer ones are cut).
    fn record_narrative(
        &self,
        scope: &str,
        hour: i64,
        outcome: Result<&Narrative, &str>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Adds `tokens` to the count of `month` (`YYYY-MM`, UTC) if the count stays at most
    /// `budget`; `Ok(false)` (nothing added) when it would pass it. One conditional write, so
    /// concurrent reservations never take the count over the budget.
    fn reserve_tokens(
        &self,
        month: &str,
        tokens: u64,
        budget: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Adds `delta` to the count of `month` (negative: a reservation's unused part given back;
    /// positive: a call that used more than its bound, which may take the count past the
    /// budget: it says what was used). The count never goes below 0: a give-back larger than
    /// the count (the month's record gone) leaves 0.
    fn adjust_tokens(
        &self,
        month: &str,
        delta: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The tokens counted for `month` (0 before the first call).
    fn tokens_used(&self, month: &str) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

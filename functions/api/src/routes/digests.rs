//! Uptime and digest routes: `GET /v1/targets/{id}/uptime`, `GET /v1/digests` and
//! `GET /v1/digests/latest`, from the rollups and digests the digest function writes.
//!
//! A digest carries a language model's retelling (`narrative`, marked `"generated": true`)
//! when the digest function has one configured (`LOOKOUT_LLM_*`) and its call answered; the
//! global digest also carries what its run did about narratives (`narration`). Both are left
//! out of the JSON when absent. `GET /v1/digests` adds the deployment's narrative settings and
//! the month's tokens ([`NarrativesView`]).

use lookout_app::ports::{DigestStore, NarrativeLedger, TargetStore};
use lookout_core::digest::report::{Digest, GLOBAL};
use lookout_core::digest::rollup::{uptime as windows, Period, DAY_MS, HOUR_MS};
use serde_json::{json, Value};

use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::{params, AppState};
use crate::extract::{Path, Query};
use crate::{ApiError, Json, Store};

/// Query of `GET /v1/digests`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct DigestsQuery {
    /// A target id; none for the global digests.
    #[param(value_type = String, pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub target: Option<String>,
    /// Only digests that start before this time.
    #[param(value_type = String, format = DateTime)]
    pub before: Option<String>,
    /// Digests, 1 to 200 (default 24).
    #[param(value_type = u32, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
}

/// Query of `GET /v1/digests/latest`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct LatestQuery {
    /// A target id; none for the newest global digest.
    #[param(value_type = String, pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub target: Option<String>,
}

/// Target ids and `global`: what a digest scope may be (the target id rules).
fn scope(target: Option<&str>) -> Result<String, ApiError> {
    let s = target.unwrap_or(GLOBAL);
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if !ok {
        return Err(ApiError::bad_request(
            "target must be a target id (letters, digits, '-', '_', '.', at most 64)",
        ));
    }
    Ok(s.to_string())
}

/// Uptime over 24 hours, 7, 30 and 365 days, from the hourly and daily rollups
///
/// In whole UTC hours up to the end of the current one, from the hourly rollups of the last 7 days and the daily
/// rollups of the last 365 (two queries). A window with no checks has `uptime_percent` null.
///
/// # Errors
/// 404 for an unknown target.
#[utoipa::path(get, path = "/v1/targets/{id}/uptime", tag = "public",
    params(("id" = String, Path, min_length = 1, description = "Target id")),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn target_uptime<S: Store>(
    State(app): State<AppState<S>>,
    Path(id): Path<String>,
) -> Result<Json, ApiError> {
    Ok(Json::ok(uptime(&app.store, &id).await?))
}

/// The uptime windows of target `id`.
async fn uptime<S: TargetStore + DigestStore>(store: &S, id: &str) -> Result<Value, ApiError> {
    let target = store.get_target(id).await?.ok_or_else(|| {
        ApiError::not_found(format!("no target {}", lookout_core::redact::clip(id, 64)))
    })?;
    let kind = target.kind();
    // Whole hours, the one in progress included (its rollup exists once the digest ran it).
    let until = Period::Hour.start_of(lookout_core::time::now_ms()) + HOUR_MS;
    let hours = store
        .rollups(id, kind, Period::Hour, until - 7 * DAY_MS - HOUR_MS, until)
        .await?;
    let days = store
        .rollups(id, kind, Period::Day, until - 366 * DAY_MS, until)
        .await?;
    let w = windows(until, &hours, &days);
    Ok(json!({
        "target": id,
        "until": lookout_core::time::rfc3339(until),
        "windows": w.iter().map(|u| json!({
            "window": u.window,
            "since": lookout_core::time::rfc3339(u.since),
            "checks": u.checks,
            "failures": u.failures,
            "uptime_percent": u.uptime_percent,
        })).collect::<Vec<_>>(),
        "hours": hours.iter().rev().take(24).rev().collect::<Vec<_>>(),
    }))
}

/// The answer of `GET /v1/digests`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DigestsAnswer {
    /// The scope asked for: a target id or `global`.
    pub scope: String,
    /// The digests, newest first. Each may hold `narrative` (a language model's retelling,
    /// schema `Narrative`, `"generated": true`) and, the global ones, `narration` (schema
    /// `NarrationCounts`); both are absent when there is none.
    #[schema(value_type = Vec<Object>)]
    pub digests: Vec<Digest>,
    /// The `before` of the next page (RFC 3339), `null` on the last page.
    #[schema(nullable)]
    pub next_before: Option<String>,
    /// The narratives' settings and the month's tokens.
    pub narratives: NarrativesView,
}

/// The narratives as deployed: `{"configured": true, "model": "gpt-4o-mini", "month":
/// "2026-12", "tokens_used": 1234, "monthly_token_budget": 2000000}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct NarrativesView {
    /// Whether a language model is configured (`LOOKOUT_LLM_BASE_URL` set).
    pub configured: bool,
    /// The model asked for (`LOOKOUT_LLM_MODEL`); `null` when not configured.
    #[schema(nullable)]
    pub model: Option<String>,
    /// The month counted, `YYYY-MM` (UTC, now): the token budget's period.
    pub month: String,
    /// Tokens (request and answer) the month's calls used or hold reserved, as the ledger
    /// counts them; calls made before narratives were turned off still count.
    pub tokens_used: u64,
    /// Tokens a month may use (`LOOKOUT_LLM_MONTHLY_TOKENS`); `null` when not configured.
    #[schema(nullable)]
    pub monthly_token_budget: Option<u64>,
}

/// A language model's retelling of a digest, as stored in its `narrative` (documentation of
/// [`lookout_core::digest::narrative::Narrative`]'s JSON; a test keeps the two alike).
#[derive(Debug, utoipa::ToSchema)]
#[schema(as = Narrative)]
pub struct NarrativeSchema {
    /// Always `true`: written by a language model from the digest's figures, not computed
    /// from the checks; show it as such. The digest's `summary` is the record.
    pub generated: bool,
    /// The model that wrote it.
    pub model: String,
    /// The text, at most 8,000 characters, in any script (show it with `dir="auto"`).
    pub text: String,
    /// When it was written, epoch ms.
    pub generated_at: i64,
    /// Tokens of the request, as the model's server counted them (0: not said).
    pub prompt_tokens: u64,
    /// Tokens of the answer (0: not said).
    pub completion_tokens: u64,
}

/// What a digest run did about narratives, on the global digest as `narration`
/// (documentation of [`lookout_core::digest::narrative::NarrationCounts`]'s JSON). Each digest
/// `considered` lands in exactly one of the other counts but `tokens`.
#[derive(Debug, utoipa::ToSchema)]
#[schema(as = NarrationCounts)]
pub struct NarrationSchema {
    /// Digests that could get a narrative in the run.
    pub considered: u32,
    /// Narratives written by a call of this run.
    pub written: u32,
    /// Narratives of an earlier run of the same hour, kept without a call.
    pub reused: u32,
    /// No call: an earlier run of the same hour already called and got none.
    pub already_tried: u32,
    /// No call: the month's token budget would be passed.
    pub over_budget: u32,
    /// No call and no claim: the run's narration window (90 s) had passed; a later run of the
    /// hour may call.
    pub deferred: u32,
    /// Calls that failed (HTTP error, not a chat completion, connection, API key).
    pub failed: u32,
    /// Calls cut at the timeout.
    pub timed_out: u32,
    /// Calls the model refused.
    pub refused: u32,
    /// Calls answered 429.
    pub rate_limited: u32,
    /// No call: the ledger could not be written.
    pub store_errors: u32,
    /// Tokens the run's calls used.
    pub tokens: u64,
}

/// The narratives' view at `now` (epoch ms): the settings' model and budget, the ledger's
/// count of the month.
///
/// # Errors
/// The ledger's storage failure.
pub async fn narratives<L: NarrativeLedger>(
    ledger: &L,
    settings: Option<&lookout_app::narrative::NarrativeSettings>,
    now: i64,
) -> Result<NarrativesView, ApiError> {
    let month = lookout_app::usecases::digest_run::narrate::month_of(now);
    let tokens_used = ledger.tokens_used(&month).await?;
    Ok(NarrativesView {
        configured: settings.is_some(),
        model: settings.map(|s| s.model.clone()),
        month,
        tokens_used,
        monthly_token_budget: settings.map(|s| s.monthly_tokens),
    })
}

/// Hourly digests of a target (target=) or global ones, newest first
///
/// The newest digests of a target, or the global ones (no `target`), newest first; `before`
/// (RFC 3339) pages back, `limit` 1 to 200 (default 24). A digest's `narrative`, when present,
/// is a language model's retelling (`"generated": true`, the model, the text, when, tokens),
/// written from the digest's figures only; the `summary` is computed from the checks and is
/// the record. The global digests carry `narration`: what their run did about narratives
/// (written, reused, failed, timed out, refused, rate limited, over budget, tokens).
/// `narratives` says whether a model is configured, which, and the month's tokens used of the
/// monthly budget.
///
/// # Errors
/// 400 for a bad `target`, `before` or `limit`; 503 when the table does not answer.
#[utoipa::path(get, path = "/v1/digests", tag = "read", params(DigestsQuery),
    responses((status = 200, description = "OK", body = DigestsAnswer)))]
pub async fn digests<S: Store>(
    State(app): State<AppState<S>>,
    Query(q): Query<DigestsQuery>,
) -> Result<Json, ApiError> {
    let scope = scope(q.target.as_deref())?;
    let limit = params::limit(q.limit.as_deref(), 24, 200)?;
    let before = params::time(q.before.as_deref(), "before")?.unwrap_or(i64::MAX);
    let digests = app.store.digests(&scope, before, limit).await?;
    let next_before = (digests.len() == limit)
        .then(|| digests.last().map(|d| lookout_core::time::rfc3339(d.start)))
        .flatten();
    let narratives = narratives(
        &app.store,
        app.narrative.as_ref(),
        lookout_core::time::now_ms(),
    )
    .await?;
    let answer = DigestsAnswer {
        scope,
        digests,
        next_before,
        narratives,
    };
    Ok(Json::ok(
        serde_json::to_value(answer).map_err(ApiError::internal)?,
    ))
}

/// The newest digest of a target (target=) or the newest global one
///
/// The digest as `GET /v1/digests` lists it: with `narrative` (a language model's retelling,
/// `"generated": true`) when one was written, and on a global digest `narration` (the run's
/// narrative counts) when a model is configured.
///
/// # Errors
/// 400 for a bad `target`; 404 when there is none yet.
#[utoipa::path(get, path = "/v1/digests/latest", tag = "read", params(LatestQuery),
    responses((status = 200, description = "OK", body = Object)))]
pub async fn latest_digest<S: Store>(
    State(app): State<AppState<S>>,
    Query(q): Query<LatestQuery>,
) -> Result<Json, ApiError> {
    let scope = scope(q.target.as_deref())?;
    app.store
        .digests(&scope, i64::MAX, 1)
        .await?
        .into_iter()
        .next()
        .map(|d| Json::ok(json!(d)))
        .ok_or_else(|| ApiError::not_found(format!("no digest of {scope} yet")))
}

/// The newest global digest, for `GET /v1/summary` (`None` before the first).
///
/// # Errors
/// A storage failure.
pub async fn newest_global<S: DigestStore>(store: &S) -> Result<Option<Value>, ApiError> {
    Ok(store
        .digests(GLOBAL, i64::MAX, 1)
        .await?
        .into_iter()
        .next()
        .map(|d| json!(d)))
}

//! The shapes of the SLO routes' bodies and answers for the OpenAPI document. The answers are
//! serialised from the domain's own types (`Slo`, `SloStatus`, `Firing`); these structs only
//! describe them (the tests check an answer against them).

#![allow(dead_code)]

use utoipa::ToSchema;

/// The SLO routes and their schemas, merged into the API's document
/// ([`crate::openapi::document`]).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        super::list_slos,
        super::get_slo,
        super::create_slo,
        super::patch_slo,
        super::delete_slo,
    ),
    components(schemas(
        SloWindowName,
        SliType,
        SliSchema,
        SliPatchSchema,
        SloBody,
        SloPatchBody,
        BudgetSchema,
        BurnRateSchema,
        SloStatusSchema,
        FiringSchema,
        FiringAlertsSchema,
        SloView,
        SlosAnswer,
        SloAnswer,
        SloWritten,
    ))
)]
pub struct SloDoc;

/// `28d`, `30d` or `calendar_month`.
#[derive(ToSchema)]
pub enum SloWindowName {
    /// The last 28 days, rolling.
    #[schema(rename = "28d")]
    Rolling28d,
    /// The last 30 days, rolling.
    #[schema(rename = "30d")]
    Rolling30d,
    /// The calendar month so far (UTC).
    #[schema(rename = "calendar_month")]
    CalendarMonth,
}

/// An SLI's type.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum SliType {
    /// Successful checks / checks.
    Availability,
    /// Successful checks within `threshold_ms` / successful checks.
    Latency,
}

/// What a good event is: `{"type": "availability"}` or `{"type": "latency", "threshold_ms": N}`.
#[derive(ToSchema)]
pub struct SliSchema {
    /// `availability` or `latency`.
    #[schema(rename = "type")]
    pub kind: SliType,
    /// Latency a good check stays within, ms (1 to 120,000); only for `latency`, where it is
    /// required.
    #[schema(minimum = 1, maximum = 120_000)]
    pub threshold_ms: Option<u64>,
}

/// An SLI in a patch: a new `type` replaces the SLI; `threshold_ms` alone changes a latency
/// SLI's threshold.
#[derive(ToSchema)]
pub struct SliPatchSchema {
    /// `availability` or `latency`.
    #[schema(rename = "type")]
    pub kind: Option<SliType>,
    /// Latency a good check stays within, ms (1 to 120,000).
    #[schema(minimum = 1, maximum = 120_000)]
    pub threshold_ms: Option<u64>,
}

/// The body of `POST /v1/slos`: exactly one of `target`, `group`, `tag`.
#[derive(ToSchema)]
pub struct SloBody {
    /// 1 to 64 characters of `a-z`, `0-9`, `-`, `_`, `.`.
    #[schema(pattern = r"^[a-z0-9._-]{1,64}$")]
    pub id: String,
    /// 1 to 200 characters, not blank, no control characters.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// At most 1,000 characters.
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    /// One target, by id.
    #[schema(min_length = 1, max_length = 64)]
    pub target: Option<String>,
    /// Every target of a group or pool.
    #[schema(min_length = 1, max_length = 64)]
    pub group: Option<String>,
    /// Every target carrying a tag.
    #[schema(min_length = 1, max_length = 64)]
    pub tag: Option<String>,
    /// Percent of good events, above 0 and at most 99.999 (99.9: a 0.1 % error budget).
    #[schema(minimum = 0.001, maximum = 99.999)]
    pub objective: f64,
    /// The compliance window.
    pub window: SloWindowName,
    /// What a good event is.
    pub sli: SliSchema,
    /// Leave checks made in a maintenance window of their target out (default true).
    pub exclude_maintenance: Option<bool>,
    /// Raise the burn-rate alerts (default true).
    pub alerts: Option<bool>,
}

/// The body of `PATCH /v1/slos/{id}`: a JSON merge patch of [`SloBody`] with the `version`
/// read (optional; a stale one is 409). A selector given replaces the stored one.
#[derive(ToSchema)]
pub struct SloPatchBody {
    /// The version read; a stale one is 409.
    pub version: Option<u64>,
    /// A new name.
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// A new description; `null` removes it.
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    /// A target instead of the stored selector.
    #[schema(min_length = 1, max_length = 64)]
    pub target: Option<String>,
    /// A group instead of the stored selector.
    #[schema(min_length = 1, max_length = 64)]
    pub group: Option<String>,
    /// A tag instead of the stored selector.
    #[schema(min_length = 1, max_length = 64)]
    pub tag: Option<String>,
    /// A new objective, percent.
    #[schema(minimum = 0.001, maximum = 99.999)]
    pub objective: Option<f64>,
    /// A new window.
    pub window: Option<SloWindowName>,
    /// A new SLI or latency threshold.
    pub sli: Option<SliPatchSchema>,
    /// Leave maintenance out; `null`: the default (true).
    pub exclude_maintenance: Option<bool>,
    /// Raise the burn-rate alerts; `null`: the default (true).
    pub alerts: Option<bool>,
}

/// The error budget of the window so far.
#[derive(ToSchema)]
pub struct BudgetSchema {
    /// Bad events the objective allows over the valid events so far.
    pub allowed_bad: f64,
    /// Bad events so far.
    pub bad: u64,
    /// Share of the budget spent: 0 none, 1 all, above 1 overspent.
    pub spent_share: f64,
    /// `1 - spent_share` (negative when overspent).
    pub remaining_share: f64,
    /// The budget as minutes of full outage over the whole window (43.2 for 99.9 % over 30
    /// days).
    pub total_minutes: f64,
    /// Minutes of full outage spent.
    pub spent_minutes: f64,
    /// Minutes of full outage left (negative when overspent).
    pub remaining_minutes: f64,
}

/// One burn rate.
#[derive(ToSchema)]
pub struct BurnRateSchema {
    /// `1h`, `6h`, `24h` or `3d`.
    pub window: String,
    /// Error ratio over the window / (1 - objective); 1 spends the budget exactly over the
    /// compliance window.
    pub rate: f64,
    /// Valid events in the window.
    pub events: u64,
}

/// An SLO's status now: the SLI over the window, the error budget, burn rates, and when the
/// budget runs out at the 6-hour burn rate. Times epoch ms.
#[derive(ToSchema)]
pub struct SloStatusSchema {
    /// When it was computed.
    pub at: i64,
    /// The window's start.
    pub window_start: i64,
    /// The window's end (a calendar month's: the next month's start).
    pub window_end: i64,
    /// Good / valid events over the window so far, percent; `null` without valid events.
    pub sli: Option<f64>,
    /// Valid events so far.
    pub events: u64,
    /// Good events so far.
    pub good: u64,
    /// Checks left out (maintenance).
    pub excluded: u64,
    /// The error budget.
    pub budget: BudgetSchema,
    /// Over 1 h, 6 h, 24 h and 3 days.
    pub burn_rates: Vec<BurnRateSchema>,
    /// When the remaining budget is spent at the 6-hour burn rate; `null` when nothing burns.
    pub exhausted_at: Option<i64>,
}

/// A burn-rate alert that is firing.
#[derive(ToSchema)]
pub struct FiringSchema {
    /// Firing since, epoch ms.
    pub since: i64,
    /// The rules that made it fire (`page_1h`, `page_6h`, `ticket_3d`).
    pub rules: Vec<String>,
    /// The highest long-window burn rate of those rules when it started.
    pub burn_long: f64,
    /// That rule's short-window burn rate.
    pub burn_short: f64,
    /// No alert was sent (maintenance, or the SLO's alerts off).
    pub silenced: Option<bool>,
}

/// The SLO's two alerts: `page` (`page_1h` or `page_6h`) and `ticket` (`ticket_3d`), each
/// `null` when not firing.
#[derive(ToSchema)]
pub struct FiringAlertsSchema {
    /// The page alert.
    pub page: Option<FiringSchema>,
    /// The ticket alert.
    pub ticket: Option<FiringSchema>,
}

/// An SLO: its definition (one of `target`, `group`, `tag`), its status and its firing alerts.
#[derive(ToSchema)]
pub struct SloView {
    /// The id.
    pub id: String,
    /// The name.
    pub name: String,
    /// Words for people.
    pub description: Option<String>,
    /// One target, by id.
    pub target: Option<String>,
    /// Every target of a group or pool.
    pub group: Option<String>,
    /// Every target carrying a tag.
    pub tag: Option<String>,
    /// Percent of good events.
    pub objective: f64,
    /// The compliance window.
    pub window: SloWindowName,
    /// What a good event is.
    pub sli: SliSchema,
    /// Checks in maintenance windows are left out.
    pub exclude_maintenance: bool,
    /// The burn-rate alerts are raised.
    pub alerts: bool,
    /// Goes up with every change.
    pub version: u64,
    /// Created, epoch ms.
    pub created_at: i64,
    /// Last changed, epoch ms.
    pub updated_at: i64,
    /// The status now.
    pub status: SloStatusSchema,
    /// The burn-rate alerts firing now.
    pub firing: FiringAlertsSchema,
}

/// `GET /v1/slos`.
#[derive(ToSchema)]
pub struct SlosAnswer {
    /// Every SLO, by id.
    pub slos: Vec<SloView>,
}

/// `GET /v1/slos/{id}`.
#[derive(ToSchema)]
pub struct SloAnswer {
    /// The SLO.
    pub slo: SloView,
}

/// `POST /v1/slos` and `PATCH /v1/slos/{id}`.
#[derive(ToSchema)]
pub struct SloWritten {
    /// The SLO as written, with its status.
    pub slo: SloView,
    /// What may not be what was meant (a selector that names no target yet); empty when none.
    pub warnings: Vec<String>,
}

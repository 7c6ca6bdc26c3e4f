//! An SLO's status: the SLI over its window, the error budget (total, spent, remaining, as a
//! share and as minutes of full outage), the burn rates over 1 h, 6 h, 24 h and 3 days, and the
//! time the budget runs out at the 6-hour burn rate.
//!
//! The arithmetic is the Google SRE Workbook's (chapter 2, "Implementing SLOs", and chapter 5,
//! "Alerting on SLOs"): the error budget is `1 - objective` of the window's valid events; the
//! burn rate over a window is its error ratio divided by `1 - objective` (a burn rate of 1 spends
//! exactly the whole budget over the compliance window).

use serde::{Deserialize, Serialize};

use super::series::SloSeries;
use super::Slo;
use crate::time::{DAY_MS, HOUR_MS, MINUTE_MS};

/// The windows burn rates are reported over: name and length, ms.
pub const BURN_WINDOWS: [(&str, i64); 4] = [
    ("1h", HOUR_MS),
    ("6h", 6 * HOUR_MS),
    ("24h", DAY_MS),
    ("3d", 3 * DAY_MS),
];

/// The error budget of the window so far.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BudgetFigures {
    /// Bad events the objective allows over the valid events so far: `(1 - objective) × valid`.
    pub allowed_bad: f64,
    /// Bad events so far.
    pub bad: u64,
    /// `bad / allowed_bad`: 0 when none spent, 1 when all of it, above 1 when overspent.
    pub spent_share: f64,
    /// `1 - spent_share` (negative when overspent).
    pub remaining_share: f64,
    /// The budget as minutes of full outage over the whole window: `(1 - objective) × window
    /// minutes` (43.2 for 99.9 % over 30 days).
    pub total_minutes: f64,
    /// The bad events as minutes of full outage: the error ratio × the minutes of the window
    /// that held events (so `spent_share × total_minutes` once the SLO is as old as its window;
    /// a bad minute is a minute in a calendar month under way or a young SLO).
    pub spent_minutes: f64,
    /// `total_minutes - spent_minutes`: the full outage the rest of the window can take and
    /// still meet the objective (negative when overspent).
    pub remaining_minutes: f64,
}

/// One burn rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BurnRate {
    /// `1h`, `6h`, `24h` or `3d`.
    pub window: String,
    /// Error ratio over the window / `(1 - objective)`; 0 without valid events.
    pub rate: f64,
    /// Valid events in the window.
    pub events: u64,
}

/// What `GET /v1/slos/{id}` answers beside the definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SloStatus {
    /// When it was computed, epoch ms.
    pub at: i64,
    /// The window's start and end, epoch ms (a calendar month's end is the next month's start).
    pub window_start: i64,
    /// See `window_start`.
    pub window_end: i64,
    /// Good / valid events over the window so far, percent; `None` without valid events.
    pub sli: Option<f64>,
    /// Valid events so far.
    pub events: u64,
    /// Good events so far.
    pub good: u64,
    /// Checks left out (maintenance).
    pub excluded: u64,
    /// The error budget.
    pub budget: BudgetFigures,
    /// Burn rates over [`BURN_WINDOWS`].
    pub burn_rates: Vec<BurnRate>,
    /// When the remaining budget is spent if the 6-hour burn rate goes on, epoch ms (see
    /// `exhaustion`): `Some(at)` now when it is spent already; `None` when it does not run
    /// out (a rolling window burning no faster than it has spent, a calendar month that lasts
    /// to its end) or there are no events.
    pub exhausted_at: Option<i64>,
}

/// The status of `slo` at `now_ms` (epoch ms) from its `series`.
pub fn status(slo: &Slo, series: &SloSeries, now_ms: i64) -> SloStatus {
    let (start, end) = slo.window.bounds(now_ms);
    // A calendar month from its first hour; a rolling window as the last 28 or 30 days
    // (`SloSeries::last`: whole minutes, the oldest hour's share of them).
    let counts = match slo.window {
        super::SloWindow::CalendarMonth => series.since(start, now_ms),
        _ => series.last(now_ms, end - start),
    };
    let fraction = slo.budget_fraction();
    let window_ms = (end - start) as f64;
    let allowed_bad = fraction * counts.total as f64;
    let spent_share = if counts.bad() == 0 {
        0.0
    } else if allowed_bad > 0.0 {
        counts.bad() as f64 / allowed_bad
    } else {
        f64::INFINITY
    };
    let total_minutes = fraction * window_ms / MINUTE_MS as f64;
    // The bad events as minutes of full outage: the error ratio over the time the window has
    // been counted (all of it once the SLO is as old as its window), so that a bad minute early
    // in a calendar month, or in a young SLO, is a minute, not its share of the few events so
    // far spread over the whole window.
    let covered_minutes = covered_ms(slo, start, now_ms) as f64 / MINUTE_MS as f64;
    let spent_minutes = counts.error_ratio() * covered_minutes;
    let budget = BudgetFigures {
        allowed_bad,
        bad: counts.bad(),
        spent_share,
        remaining_share: 1.0 - spent_share,
        total_minutes,
        spent_minutes,
        remaining_minutes: total_minutes - spent_minutes,
    };
    let burn_rates: Vec<BurnRate> = BURN_WINDOWS
        .iter()
        .map(|(name, len)| {
            let c = series.last(now_ms, *len);
            BurnRate {
                window: (*name).to_string(),
                rate: burn_rate(c.error_ratio(), fraction),
                events: c.total,
            }
        })
        .collect();
    let exhausted_at = exhaustion(
        slo,
        &budget,
        burn_rates[1].rate,
        counts.total,
        (now_ms, end),
    );
    SloStatus {
        at: now_ms,
        window_start: start,
        window_end: end,
        sli: counts.ratio().map(|r| r * 100.0),
        events: counts.total,
        good: counts.good,
        excluded: counts.excluded,
        budget,
        burn_rates,
        exhausted_at,
    }
}

/// How long (ms) the window has been counted at `now_ms`: from the window's start, or from
/// the SLO's creation when that is later (an SLO younger than its window); at least a minute.
fn covered_ms(slo: &Slo, start: i64, now_ms: i64) -> i64 {
    (now_ms - start.max(slo.created_at)).max(MINUTE_MS)
}

/// When the budget runs out if the 6-hour burn rate `burn` goes on (epoch ms): now when it is
/// spent already; for a rolling window `W` with `s` of it spent, after `W × (1 - s) / (burn -
/// s)` (what leaves the window's far end is spent at the same share as the whole), never when
/// `burn <= s`; for a calendar month after `W × (1 - s) / burn`, never when that is past the
/// month's end. `None`: it does not run out (or there are no events).
fn exhaustion(
    slo: &Slo,
    budget: &BudgetFigures,
    burn: f64,
    events: u64,
    (now_ms, end): (i64, i64),
) -> Option<i64> {
    if events == 0 {
        return None;
    }
    let s = budget.spent_share;
    if s >= 1.0 {
        return Some(now_ms);
    }
    let window_ms = slo.window.length_ms(now_ms) as f64;
    let left_ms = match slo.window {
        super::SloWindow::CalendarMonth if burn > 0.0 => window_ms * (1.0 - s) / burn,
        super::SloWindow::CalendarMonth => return None,
        _ if burn > s => window_ms * (1.0 - s) / (burn - s),
        _ => return None,
    };
    let at = now_ms.saturating_add(left_ms.min(i64::MAX as f64 / 2.0) as i64);
    match slo.window {
        super::SloWindow::CalendarMonth if at >= end => None,
        _ => Some(at),
    }
}

/// `error_ratio / budget_fraction`; 0 when the budget fraction is not positive.
pub fn burn_rate(error_ratio: f64, budget_fraction: f64) -> f64 {
    if budget_fraction > 0.0 {
        error_ratio / budget_fraction
    } else {
        0.0
    }
}

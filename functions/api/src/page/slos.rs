//! The page's "Service level objectives" section: for each SLO the page names
//! ([`StatusPage::slos`](lookout_core::domain::status_page::StatusPage), in its order; an id of
//! no SLO is left out) its name, objective, window, the SLI so far, the error budget left and
//! whether one of its burn-rate alerts fires. The HTML view and the JSON version both read this
//! model; numbers are computed by [`lookout_core::domain::slo::status`] at the page's time.
//! Percentages keep Latin digits, as the rest of the page's do ([`super::labels`]).

use std::collections::HashMap;

use futures::future::try_join_all;
use lookout_app::ports::{SloStore, StoreError};
use lookout_core::domain::slo::{status, Sli, Slo, SloRecord, SloStatus, SloWindow};
use serde::Serialize;
use utoipa::ToSchema;

use super::labels::Labels;

/// One SLO the page lists, in no language.
#[derive(Debug, Clone)]
pub struct SloData {
    /// The definition.
    pub slo: Slo,
    /// Its status at the page's time (no events before its first record).
    pub status: SloStatus,
    /// `page` when its page alert fires, else `ticket` when its ticket alert does.
    pub firing: Option<&'static str>,
}

impl SloData {
    /// The error budget left, percent of the budget (negative when overspent).
    pub fn budget_remaining(&self) -> f64 {
        self.status.budget.remaining_share * 100.0
    }
}

/// Reads the SLOs `ids` names and their records: nothing when `ids` is empty, else the SLO
/// listing and one record read per SLO found (concurrently).
///
/// # Errors
/// [`StoreError`] when the store cannot be read.
pub async fn read<S: SloStore>(
    store: &S,
    ids: &[String],
    now_ms: i64,
) -> Result<Vec<SloData>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let all = store.slos().await?;
    let shown = pick(ids, all);
    let records = try_join_all(shown.iter().map(|s| store.slo_record(&s.id))).await?;
    Ok(shown
        .into_iter()
        .zip(records)
        .map(|(slo, record)| data(slo, record.as_ref(), now_ms))
        .collect())
}

/// The SLOs of `all` that `ids` names, in the order of `ids` (each once; ids of no SLO left
/// out).
pub fn pick(ids: &[String], all: Vec<Slo>) -> Vec<Slo> {
    let mut by_id: HashMap<String, Slo> = all.into_iter().map(|s| (s.id.clone(), s)).collect();
    ids.iter().filter_map(|id| by_id.remove(id)).collect()
}

/// What the page shows of `slo` with its `record` (none: no events yet) at `now_ms`.
pub fn data(slo: Slo, record: Option<&SloRecord>, now_ms: i64) -> SloData {
    let empty = SloRecord::default();
    let record = record.unwrap_or(&empty);
    let firing = ["page", "ticket"]
        .into_iter()
        .find(|a| record.alerts.firing.contains_key(*a));
    SloData {
        status: status(&slo, &record.series, now_ms),
        slo,
        firing,
    }
}

/// An SLO in the JSON version.
#[derive(Debug, Serialize, ToSchema)]
pub struct SloJson {
    pub id: String,
    pub name: String,
    /// The objective, percent (e.g. 99.9).
    pub objective: f64,
    /// `28d`, `30d` or `calendar_month`.
    pub window: String,
    /// Good / valid events over the window so far, percent, 4 decimals rounded down; null
    /// without events.
    pub sli: Option<f64>,
    /// The error budget left, percent of the budget, 2 decimals (negative when overspent).
    pub budget_remaining: f64,
    /// Whether a burn-rate alert (page or ticket) fires.
    pub burning: bool,
}

impl SloJson {
    /// The JSON of `d`.
    pub fn of(d: &SloData) -> Self {
        SloJson {
            id: d.slo.id.clone(),
            name: d.slo.name.clone(),
            objective: d.slo.objective,
            window: d.slo.window.as_str().into(),
            sli: d.status.sli.map(|v| floor_to(v, 4)),
            budget_remaining: finite((d.budget_remaining() * 100.0).round() / 100.0),
            burning: d.firing.is_some(),
        }
    }
}

/// 0 for a value JSON cannot hold (never expected: the budget's figures are finite).
fn finite(v: f64) -> f64 {
    if v.is_finite() {
        v
    } else {
        0.0
    }
}

/// `v` rounded down to `decimals` decimals, so an SLI short of 100 % never shows as 100 (with
/// a millionth of the last decimal's slack, so that `99.9996` stays `99.9996` when the division
/// that made it lands a hair below).
fn floor_to(v: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    ((v * scale) + 1e-6).floor() / scale
}

/// An SLO in the HTML view: every value a word or number in the reader's language.
pub struct SloView {
    pub id: String,
    pub name: String,
    /// `99.9%`.
    pub objective: String,
    /// `30 days`, `calendar month`, in the reader's words and digits.
    pub window: String,
    /// `availability` or `latency ≤ 300 ms`, in the reader's words and digits.
    pub kind: String,
    /// The SLI so far (`99.95%`, one decimal more than the objective has, at least two, rounded
    /// down), or the words for no data.
    pub sli: String,
    /// The budget left, `63.2%` (negative when overspent).
    pub budget: String,
    /// The bar's filled width, percent, 0 to 100.
    pub width: u8,
    /// The bar's class: `g` above 25 % left, `a` above 0, `r` spent.
    pub class: &'static str,
    /// The word when an alert fires, and its class (`page` or `ticket`).
    pub burning: Option<(&'static str, &'static str)>,
}

/// Decimals of `objective` as written (`99.9` has 1), at most 3.
fn decimals(objective: f64) -> i32 {
    (0..3)
        .find(|d| {
            let scaled = objective * 10f64.powi(*d);
            (scaled - scaled.round()).abs() < 1e-6
        })
        .unwrap_or(3)
}

impl SloView {
    /// The view of `d` in `l`'s words.
    pub fn of(l: &Labels, d: &SloData) -> Self {
        let left = d.budget_remaining();
        let window = match d.slo.window {
            SloWindow::Rolling28d => l.digits(&format!("28 {}", l.days)),
            SloWindow::Rolling30d => l.digits(&format!("30 {}", l.days)),
            SloWindow::CalendarMonth => l.calendar_month.to_string(),
        };
        let kind = match d.slo.sli {
            Sli::Availability => l.availability.to_string(),
            Sli::Latency { threshold_ms } => {
                l.digits(&format!("{} ≤ {threshold_ms} ms", l.latency))
            }
        };
        let places = (decimals(d.slo.objective) + 1).max(2);
        SloView {
            id: d.slo.id.clone(),
            name: d.slo.name.clone(),
            objective: format!("{}%", d.slo.objective),
            window,
            kind,
            sli: d.status.sli.map_or_else(
                || l.no_data.to_string(),
                |v| format!("{:.*}%", places as usize, floor_to(v, places)),
            ),
            budget: if left.is_finite() {
                format!("{left:.1}%")
            } else {
                "–".into()
            },
            width: if left.is_finite() {
                left.clamp(0.0, 100.0).round() as u8
            } else {
                0
            },
            class: if left > 25.0 {
                "g"
            } else if left > 0.0 {
                "a"
            } else {
                "r"
            },
            burning: d.firing.map(|a| {
                if a == "page" {
                    (l.burning_fast, "page")
                } else {
                    (l.burning, "ticket")
                }
            }),
        }
    }
}

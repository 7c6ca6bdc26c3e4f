//! The service level objectives' families of `/metrics`: one gauge per SLO and figure, labelled
//! with the SLO (`slo` id, `name`, `sli` `availability`|`latency`, `window` `28d`|`30d`|
//! `calendar_month`, `objective` in percent as written, e.g. `99.9`), computed at the scrape
//! from each SLO's record by [`lookout_core::domain::slo::status`]:
//!
//! | family | value |
//! | --- | --- |
//! | `lookout_slo_sli_ratio` | good / valid events over the window, 0 to 1; absent without events |
//! | `lookout_slo_objective_ratio` | the objective, 0 to 1 |
//! | `lookout_slo_error_budget_remaining_ratio` | share of the error budget left (negative when overspent) |
//! | `lookout_slo_error_budget_remaining_minutes` | the budget left as minutes of full outage (negative when overspent) |
//! | `lookout_slo_burn_rate{burn_window="1h"\|"6h"\|"24h"\|"3d"}` | error ratio over that window / (1 - objective) |
//! | `lookout_slo_alert_firing{alert="page"\|"ticket"}` | 1 while the burn-rate alert fires |
//! | `lookout_slo_events` | valid events in the window (a gauge: the window slides) |
//!
//! The burn rate's own window is the label `burn_window`, since `window` is the SLO's compliance
//! window on every family (a label set cannot name `window` twice).

use std::collections::HashMap;

use lookout_core::domain::slo::{status, Slo, SloRecord, SloStatus, ALERTS};
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet};
use prometheus_client::metrics::MetricType;

use super::{family, finite};

/// The labels every SLO family carries.
#[derive(Debug, Clone, EncodeLabelSet)]
pub(super) struct SloLabels {
    slo: String,
    name: String,
    sli: &'static str,
    window: &'static str,
    objective: String,
}

/// The labels of `lookout_slo_burn_rate`.
#[derive(Debug, EncodeLabelSet)]
struct BurnLabels {
    #[prometheus(flatten)]
    slo: SloLabels,
    burn_window: String,
}

/// The labels of `lookout_slo_alert_firing`.
#[derive(Debug, EncodeLabelSet)]
struct AlertLabels {
    #[prometheus(flatten)]
    slo: SloLabels,
    alert: &'static str,
}

/// What the metrics say about one SLO.
#[derive(Debug)]
pub(super) struct SloRow {
    labels: SloLabels,
    /// The objective, percent.
    objective: f64,
    status: SloStatus,
    /// Whether each of [`ALERTS`] fires, in that order.
    firing: [bool; 2],
}

/// One row per SLO in `slos` (their order), from its record in `records` (an SLO without a
/// record has no events yet), at `now_ms` (epoch ms).
pub(super) fn rows(slos: &[Slo], records: &[SloRecord], now_ms: i64) -> Vec<SloRow> {
    let records: HashMap<&str, &SloRecord> =
        records.iter().map(|r| (r.slo_id.as_str(), r)).collect();
    let empty = SloRecord::default();
    slos.iter()
        .map(|slo| {
            let record = records.get(slo.id.as_str()).copied().unwrap_or(&empty);
            SloRow {
                labels: SloLabels {
                    slo: slo.id.clone(),
                    name: slo.name.clone(),
                    sli: slo.sli.as_str(),
                    window: slo.window.as_str(),
                    objective: slo.objective.to_string(),
                },
                objective: slo.objective,
                status: status(slo, &record.series, now_ms),
                firing: ALERTS.map(|a| record.alerts.firing.contains_key(a)),
            }
        })
        .collect()
}

/// Writes the SLO families of `rows`; nothing at all when there is no SLO.
pub(super) fn encode(e: &mut DescriptorEncoder, rows: &[SloRow]) -> Result<(), std::fmt::Error> {
    use MetricType::Gauge;
    if rows.is_empty() {
        return Ok(());
    }
    family(
        e,
        "lookout_slo_sli_ratio",
        Gauge,
        "Good / valid events over the SLO's window so far, 0 to 1 (absent without events).",
        rows.iter()
            .filter_map(|r| r.status.sli.map(|p| (&r.labels, finite(p / 100.0)))),
    )?;
    family(
        e,
        "lookout_slo_objective_ratio",
        Gauge,
        "The SLO's objective, 0 to 1.",
        rows.iter().map(|r| (&r.labels, r.objective / 100.0)),
    )?;
    family(
        e,
        "lookout_slo_error_budget_remaining_ratio",
        Gauge,
        "Share of the error budget left over the window so far (negative when overspent).",
        rows.iter()
            .map(|r| (&r.labels, finite(r.status.budget.remaining_share))),
    )?;
    family(
        e,
        "lookout_slo_error_budget_remaining_minutes",
        Gauge,
        "The error budget left, as minutes of full outage (negative when overspent).",
        rows.iter()
            .map(|r| (&r.labels, finite(r.status.budget.remaining_minutes))),
    )?;
    let burns: Vec<(BurnLabels, f64)> = rows
        .iter()
        .flat_map(|r| {
            r.status.burn_rates.iter().map(|b| {
                let labels = BurnLabels {
                    slo: r.labels.clone(),
                    burn_window: b.window.clone(),
                };
                (labels, finite(b.rate))
            })
        })
        .collect();
    family(
        e,
        "lookout_slo_burn_rate",
        Gauge,
        "Error ratio over burn_window / (1 - objective): 1 spends the budget over the SLO's window.",
        burns.iter().map(|(l, v)| (l, *v)),
    )?;
    let alerts: Vec<(AlertLabels, i64)> = rows
        .iter()
        .flat_map(|r| {
            ALERTS.into_iter().zip(r.firing).map(|(alert, on)| {
                let labels = AlertLabels {
                    slo: r.labels.clone(),
                    alert,
                };
                (labels, i64::from(on))
            })
        })
        .collect();
    family(
        e,
        "lookout_slo_alert_firing",
        Gauge,
        "1 while the SLO's burn-rate alert (page or ticket) fires, 0 otherwise.",
        alerts.iter().map(|(l, v)| (l, *v)),
    )?;
    family(
        e,
        "lookout_slo_events",
        Gauge,
        "Valid events (checks counted by the SLI) in the SLO's window so far.",
        rows.iter().map(|r| (&r.labels, r.status.events)),
    )
}

//! Multiwindow, multi-burn-rate alerts, as the Google SRE Workbook recommends (chapter 5,
//! "Alerting on SLOs", table 5-8 "Recommended parameters for a 99.9% SLO alerting
//! configuration"): a rule fires when the burn rate over its long window **and** over its short
//! window (1/12 of the long one) are both at or above its threshold, and resolves as soon as
//! either falls below.
//!
//! | rule | budget spent | long window | short window | burn rate | severity |
//! | --- | --- | --- | --- | --- | --- |
//! | `page_1h` | 2 % | 1 h | 5 min | 14.4 | page |
//! | `page_6h` | 5 % | 6 h | 30 min | 6 | page |
//! | `ticket_3d` | 10 % | 3 days | 6 h | 1 | ticket |
//!
//! The budget shares are of a 30-day budget (`burn rate × long window / 30 days`); the burn
//! rates are the same for a 28-day or calendar-month window.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::budget::burn_rate;
use super::series::SloSeries;
use super::Slo;
use crate::time::{DAY_MS, HOUR_MS, MINUTE_MS};

/// One burn-rate rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurnRule {
    /// `page_1h`, `page_6h` or `ticket_3d`.
    pub name: &'static str,
    /// Pages (critical) or opens a ticket (warning).
    pub page: bool,
    /// The burn rate both windows must reach.
    pub burn_rate: f64,
    /// The long window, ms.
    pub long_ms: i64,
    /// The short window, ms.
    pub short_ms: i64,
    /// Share of a 30-day budget spent when the long window alone reaches the rate.
    pub budget_share: f64,
}

/// The workbook's three rules, fastest first.
pub const RULES: [BurnRule; 3] = [
    BurnRule {
        name: "page_1h",
        page: true,
        burn_rate: 14.4,
        long_ms: HOUR_MS,
        short_ms: 5 * MINUTE_MS,
        budget_share: 0.02,
    },
    BurnRule {
        name: "page_6h",
        page: true,
        burn_rate: 6.0,
        long_ms: 6 * HOUR_MS,
        short_ms: 30 * MINUTE_MS,
        budget_share: 0.05,
    },
    BurnRule {
        name: "ticket_3d",
        page: false,
        burn_rate: 1.0,
        long_ms: 3 * DAY_MS,
        short_ms: 6 * HOUR_MS,
        budget_share: 0.10,
    },
];

/// A rule by name.
pub fn rule(name: &str) -> Option<&'static BurnRule> {
    RULES.iter().find(|r| r.name == name)
}

/// One rule's verdict at one time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleVerdict {
    /// The rule's name.
    pub rule: String,
    /// Both burn rates at or above the rule's.
    pub firing: bool,
    /// Burn rate over the long window.
    pub burn_long: f64,
    /// Burn rate over the short window.
    pub burn_short: f64,
}

/// Each rule's verdict for `slo` at `now_ms` (epoch ms), in [`RULES`] order.
pub fn evaluate(slo: &Slo, series: &SloSeries, now_ms: i64) -> Vec<RuleVerdict> {
    let fraction = slo.budget_fraction();
    RULES
        .iter()
        .map(|r| {
            let long = series.last(now_ms, r.long_ms);
            let short = series.last(now_ms, r.short_ms);
            let burn_long = burn_rate(long.error_ratio(), fraction);
            let burn_short = burn_rate(short.error_ratio(), fraction);
            RuleVerdict {
                rule: r.name.to_string(),
                // A tiny tolerance: 14.4 × 0.001 is not exactly 0.0144 in floating point.
                firing: long.total > 0
                    && short.total > 0
                    && burn_long >= r.burn_rate * (1.0 - 1e-9)
                    && burn_short >= r.burn_rate * (1.0 - 1e-9),
                burn_long,
                burn_short,
            }
        })
        .collect()
}

/// The two alerts an SLO raises, as the workbook's final configuration does: one `page` alert
/// for `page_1h` or `page_6h`, one `ticket` alert for `ticket_3d`.
pub const ALERTS: [&str; 2] = ["page", "ticket"];

/// An alert (`page` or `ticket`) that is firing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Firing {
    /// When it started firing, epoch ms (part of its alerts' keys).
    pub since: i64,
    /// The rules that made it fire when it started.
    pub rules: Vec<String>,
    /// The highest long-window burn rate of those rules when it started.
    pub burn_long: f64,
    /// The short-window burn rate of that rule.
    pub burn_short: f64,
    /// No alert was sent when it started (every target of the SLO in maintenance, or the SLO's
    /// alerts off), so none is sent when it resolves.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub silenced: bool,
}

/// Which of an SLO's alerts are firing, by alert name (`page`, `ticket`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SloAlertState {
    /// Alert name → since when.
    #[serde(default)]
    pub firing: BTreeMap<String, Firing>,
}

/// An alert that started or stopped firing.
#[derive(Debug, Clone, PartialEq)]
pub enum SloEvent {
    /// `alert` started firing at `firing.since`.
    Fired {
        /// `page` or `ticket`.
        alert: String,
        /// Its firing state.
        firing: Firing,
    },
    /// `alert`, firing since `firing.since`, stopped at `at`.
    Resolved {
        /// `page` or `ticket`.
        alert: String,
        /// Its firing state until now.
        firing: Firing,
        /// When it stopped, epoch ms.
        at: i64,
    },
}

impl SloAlertState {
    /// Applies `verdicts` (from [`evaluate`]) at `now_ms`: an alert one of whose rules fires and
    /// that was not firing starts (recorded `silenced` when `silenced`); one that fires and none
    /// of whose rules fires any more stops. Returns what changed, `page` first.
    pub fn step(&mut self, verdicts: &[RuleVerdict], now_ms: i64, silenced: bool) -> Vec<SloEvent> {
        let mut events = Vec::new();
        for alert in ALERTS {
            let page = alert == "page";
            let hot: Vec<&RuleVerdict> = verdicts
                .iter()
                .filter(|v| v.firing && rule(&v.rule).is_some_and(|r| r.page == page))
                .collect();
            match (hot.is_empty(), self.firing.contains_key(alert)) {
                (false, false) => {
                    let top = hot
                        .iter()
                        .max_by(|a, b| a.burn_long.total_cmp(&b.burn_long))
                        .copied();
                    let firing = Firing {
                        since: now_ms,
                        rules: hot.iter().map(|v| v.rule.clone()).collect(),
                        burn_long: top.map_or(0.0, |v| v.burn_long),
                        burn_short: top.map_or(0.0, |v| v.burn_short),
                        silenced,
                    };
                    self.firing.insert(alert.to_string(), firing.clone());
                    events.push(SloEvent::Fired {
                        alert: alert.to_string(),
                        firing,
                    });
                }
                (true, true) => {
                    if let Some(firing) = self.firing.remove(alert) {
                        events.push(SloEvent::Resolved {
                            alert: alert.to_string(),
                            firing,
                            at: now_ms,
                        });
                    }
                }
                _ => {}
            }
        }
        events
    }
}

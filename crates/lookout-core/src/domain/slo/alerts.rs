//! The alerts an SLO raises when one of its burn-rate alerts ([`ALERTS`](super::ALERTS): `page`,
//! `ticket`) starts or stops firing ([`SloEvent`]): one [`Alert`] of kind `slo_burn` or
//! `slo_burn_resolved` each, with the SLO's figures in [`Alert::slo`].
//!
//! | alert | kind | severity | statuses | key |
//! | --- | --- | --- | --- | --- |
//! | `page` fires | `slo_burn` | critical | healthy → down | `slo#<id>#page#<since ms>` |
//! | `ticket` fires | `slo_burn` | warning | healthy → degraded | `slo#<id>#ticket#<since ms>` |
//! | `page` stops | `slo_burn_resolved` | info | down → healthy | `slo#<id>#page#<since ms>#resolved` |
//! | `ticket` stops | `slo_burn_resolved` | info | degraded → healthy | `slo#<id>#ticket#<since ms>#resolved` |
//!
//! `target_id` is empty and `target_name` is the SLO's name; `group` is the SLO's group when it
//! selects a group, `tags` its tag when it selects a tag (notification routes select on both);
//! `targets` lists the ids of the targets it counts (at most [`MAX_LISTED_TARGETS`]). A firing
//! alert that was `silenced` (every target of the SLO in maintenance, or the SLO's `alerts`
//! off) raises no alert when it starts, and none when it stops.

use serde::{Deserialize, Serialize};

use super::burn::{rule, RuleVerdict, SloEvent};
use super::{Slo, SloSelector, SloStatus, SloWindow};
use crate::domain::alert::{Alert, AlertKind, Severity};
use crate::domain::state::Status;
use crate::domain::target::{Target, TargetKind};
use crate::redact::clip;
use crate::time::{DAY_MS, HOUR_MS, MINUTE_MS};

/// Most target ids an SLO alert lists in `targets`.
pub const MAX_LISTED_TARGETS: usize = 100;

/// What an SLO alert says about its SLO ([`Alert::slo`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SloAlert {
    /// The SLO's id.
    pub id: String,
    /// The SLO's name.
    pub name: String,
    /// `page` or `ticket`.
    pub alert: String,
    /// The rules that fired (`page_1h`, `page_6h`, `ticket_3d`); for a resolve, the rules that
    /// had made it fire.
    pub rules: Vec<String>,
    /// The objective, percent.
    pub objective: f64,
    /// The compliance window.
    pub window: SloWindow,
    /// Burn rate over the long window of the fastest of `rules` (for a resolve, now).
    pub burn_long: f64,
    /// Burn rate over that rule's short window (for a resolve, now).
    pub burn_short: f64,
    /// Share of the window's error budget spent so far (from [`super::status`]; 1 is all of
    /// it, above 1 overspent).
    pub budget_spent_share: f64,
}

/// Where an SLO's alerts come from: the round that raised them.
#[derive(Debug, Clone, Copy)]
pub struct AlertContext<'a> {
    /// The kind of the round that counted the checks (what `target_kind` says).
    pub target_kind: TargetKind,
    /// The ids of the targets the SLO counts (listed up to [`MAX_LISTED_TARGETS`]).
    pub targets: &'a [String],
    /// The rules' verdicts at the time of the events ([`super::evaluate`]).
    pub verdicts: &'a [RuleVerdict],
    /// The SLO's status at that time.
    pub status: &'a SloStatus,
}

/// The alerts of `events` (from [`super::SloAlertState::step`]) of `slo`: one per event that
/// was not silenced, in the order of `events`.
pub fn slo_alerts(slo: &Slo, ctx: &AlertContext<'_>, events: &[SloEvent]) -> Vec<Alert> {
    events
        .iter()
        .filter_map(|e| match e {
            SloEvent::Fired { alert, firing } if !firing.silenced => Some(fired(
                slo,
                ctx,
                alert,
                firing.since,
                &firing.rules,
                (firing.burn_long, firing.burn_short),
            )),
            SloEvent::Resolved { alert, firing, at } if !firing.silenced => {
                Some(resolved(slo, ctx, alert, firing.since, &firing.rules, *at))
            }
            _ => None,
        })
        .collect()
}

/// Whether the alerts `slo` raises at `at_ms` (epoch ms) are silenced (recorded, not sent):
/// its `alerts` is off, or every one of `targets` (the targets it counts) is inside a
/// maintenance window then. No targets known: not silenced.
pub fn silenced(slo: &Slo, targets: &[&Target], at_ms: i64) -> bool {
    !slo.alerts
        || (!targets.is_empty() && targets.iter().all(|t| t.maintenance_at(at_ms).is_some()))
}

/// A finite share (a budget of zero bad events spent is `inf`, which JSON cannot carry).
fn finite(x: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        f64::MAX
    }
}

/// `14.4`, `1000`, `0.25`: at most one decimal, none when it is whole.
fn rate(x: f64) -> String {
    let r = (x * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// `2 d`, `5 h`, `40 min`: a duration in its largest sensible unit.
fn span(ms: f64) -> String {
    let ms = ms.max(0.0);
    if ms >= 2.0 * DAY_MS as f64 {
        format!("{} d", rate(ms / DAY_MS as f64))
    } else if ms >= HOUR_MS as f64 {
        format!("{} h", rate(ms / HOUR_MS as f64))
    } else {
        format!("{} min", rate(ms / MINUTE_MS as f64))
    }
}

/// The alert fields every SLO alert shares.
fn base(
    slo: &Slo,
    ctx: &AlertContext<'_>,
    kind: AlertKind,
    severity: Severity,
    (old_status, new_status): (Status, Status),
) -> Alert {
    Alert {
        key: String::new(),
        kind,
        severity,
        target_id: String::new(),
        target_name: slo.name.clone(),
        target_kind: ctx.target_kind,
        group: match &slo.selector {
            SloSelector::Group(g) => g.clone(),
            _ => String::new(),
        },
        old_status,
        new_status,
        at: ctx.status.at,
        subject: String::new(),
        text: String::new(),
        targets: ctx
            .targets
            .iter()
            .take(MAX_LISTED_TARGETS)
            .cloned()
            .collect(),
        changes: Vec::new(),
        tags: match &slo.selector {
            SloSelector::Tag(t) => vec![t.clone()],
            _ => Vec::new(),
        },
        locations: None,
        slo: None,
    }
}

/// What the SLO counts and promises, for the texts: `group checkout, 99.9 % availability over
/// 30d`.
fn promise(slo: &Slo) -> String {
    let sli = match slo.sli {
        super::Sli::Availability => "availability".to_string(),
        super::Sli::Latency { threshold_ms } => format!("checks under {threshold_ms} ms"),
    };
    format!(
        "{} {}, {} % {sli} over {}",
        slo.selector.field(),
        slo.selector.value(),
        slo.objective,
        slo.window.as_str()
    )
}

fn fired(
    slo: &Slo,
    ctx: &AlertContext<'_>,
    alert: &str,
    since: i64,
    rules: &[String],
    (burn_long, burn_short): (f64, f64),
) -> Alert {
    let page = alert == "page";
    let (severity, new_status) = if page {
        (Severity::Critical, Status::Down)
    } else {
        (Severity::Warning, Status::Degraded)
    };
    let mut a = base(
        slo,
        ctx,
        AlertKind::SloBurn,
        severity,
        (Status::Healthy, new_status),
    );
    a.key = format!("slo#{}#{alert}#{since}", slo.id);
    a.at = since;
    // The fastest rule that fired names the alert (RULES is fastest first).
    let top = rules.iter().filter_map(|r| rule(r)).next();
    let spent = finite(ctx.status.budget.spent_share);
    let window_ms = slo.window.length_ms(since) as f64;
    let (rule_name, rule_words) = top.map_or((String::new(), String::new()), |r| {
        (
            r.name.to_string(),
            format!(
                "{}: {} % of the 30-day budget in {}",
                r.name,
                rate(r.budget_share * 100.0),
                span(r.long_ms as f64)
            ),
        )
    });
    a.subject = clip(
        &format!(
            "[{}] SLO {}: error budget burning {}x ({rule_words})",
            severity.as_str().to_uppercase(),
            slo.name,
            rate(burn_long)
        ),
        99,
    );
    let windows = top.map_or(String::new(), |r| {
        format!(
            " over the last {} ({}x over the last {}; the rule fires at {}x on both)",
            span(r.long_ms as f64),
            rate(burn_short),
            span(r.short_ms as f64),
            rate(r.burn_rate)
        )
    });
    let lasts = if burn_long > 0.0 {
        span(window_ms / burn_long)
    } else {
        "ever".into()
    };
    let meaning = if page {
        format!(
            "A fast burn: at this rate a whole {} budget is gone in about {lasts}. Page the \
             on-call now: find what fails in the SLO's targets and fix it or roll it back.",
            slo.window.as_str()
        )
    } else {
        format!(
            "A slow burn: at this rate a whole {} budget is gone in about {lasts}, before the \
             window ends. Not urgent, but open a ticket and look at it within working hours.",
            slo.window.as_str()
        )
    };
    a.text = crate::redact::redact_text(&format!(
        "SLO {} ({}; {}) is burning its error budget {}x as fast as the objective \
         allows{windows}. Rules firing: {}. Spent so far: {} % of the window's budget.\n{meaning}",
        slo.name,
        slo.id,
        promise(slo),
        rate(burn_long),
        if rules.is_empty() {
            rule_name
        } else {
            rules.join(", ")
        },
        rate(spent * 100.0)
    ));
    a.slo = Some(SloAlert {
        id: slo.id.clone(),
        name: slo.name.clone(),
        alert: alert.to_string(),
        rules: rules.to_vec(),
        objective: slo.objective,
        window: slo.window,
        burn_long,
        burn_short,
        budget_spent_share: spent,
    });
    a
}

fn resolved(
    slo: &Slo,
    ctx: &AlertContext<'_>,
    alert: &str,
    since: i64,
    rules: &[String],
    at: i64,
) -> Alert {
    let old_status = if alert == "page" {
        Status::Down
    } else {
        Status::Degraded
    };
    let mut a = base(
        slo,
        ctx,
        AlertKind::SloBurnResolved,
        Severity::Info,
        (old_status, Status::Healthy),
    );
    a.key = format!("slo#{}#{alert}#{since}#resolved", slo.id);
    a.at = at;
    // The burn now of the fastest rule that had made it fire.
    let now = rules
        .iter()
        .find_map(|r| ctx.verdicts.iter().find(|v| &v.rule == r));
    let (burn_long, burn_short) = now.map_or((0.0, 0.0), |v| (v.burn_long, v.burn_short));
    let spent = finite(ctx.status.budget.spent_share);
    a.subject = clip(
        &format!(
            "[INFO] SLO {}: {alert} alert resolved, burn now {}x",
            slo.name,
            rate(burn_long)
        ),
        99,
    );
    a.text = crate::redact::redact_text(&format!(
        "SLO {} ({}; {}): its {alert} alert, firing since {} ({}), stopped: none of its rules \
         fires any more (now {}x over the long window, {}x over the short one). Spent so far: \
         {} % of the window's budget.",
        slo.name,
        slo.id,
        promise(slo),
        crate::time::rfc3339(since),
        rules.join(", "),
        rate(burn_long),
        rate(burn_short),
        rate(spent * 100.0)
    ));
    a.slo = Some(SloAlert {
        id: slo.id.clone(),
        name: slo.name.clone(),
        alert: alert.to_string(),
        rules: rules.to_vec(),
        objective: slo.objective,
        window: slo.window,
        burn_long,
        burn_short,
        budget_spent_share: spent,
    });
    a
}

#[cfg(test)]
#[path = "alerts_tests.rs"]
mod tests;

/// The resolves of `slo`'s alerts firing in `state` when the SLO goes away or starts counting
/// afresh (`why`: `deleted`, `counts what it selects afresh`): one `slo_burn_resolved` per
/// alert that was sent (silenced ones were not, so neither are their resolves), at `at_ms`,
/// so that a channel's incident (PagerDuty, Opsgenie) does not stay open. `status` is the
/// SLO's status before.
pub fn closed_alerts(
    slo: &Slo,
    state: &super::SloAlertState,
    status: &SloStatus,
    at_ms: i64,
    why: &str,
) -> Vec<Alert> {
    let ctx = AlertContext {
        target_kind: TargetKind::Server,
        targets: &[],
        verdicts: &[],
        status,
    };
    state
        .firing
        .iter()
        .filter(|(_, f)| !f.silenced)
        .map(|(alert, f)| {
            let mut a = resolved(slo, &ctx, alert, f.since, &f.rules, at_ms);
            a.subject = clip(
                &format!(
                    "[INFO] SLO {}: {alert} alert closed, the SLO {why}",
                    slo.name
                ),
                99,
            );
            a.text = crate::redact::redact_text(&format!(
                "SLO {} ({}): its {alert} alert, firing since {}, is closed because the SLO {why}.",
                slo.name,
                promise(slo),
                crate::time::rfc3339(f.since),
            ));
            a
        })
        .collect()
}

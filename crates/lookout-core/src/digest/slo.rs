//! The digest's SLO lines: one sentence per SLO worth a word (budget spent at least
//! [`SPENT_WORTH_A_LINE`], a 6-hour burn rate above 1, or a burn-rate alert firing), in English,
//! Arabic or Persian:
//!
//! > Checkout API has used 63 % of its 30-day error budget (SLI 99.87 %, objective 99.9 %); at
//! > the current rate it runs out on 24 December.
//!
//! An SLO within budget gets no line. Numbers stay in ASCII digits in all three languages, as
//! in [`crate::notify::i18n`], so percentages and dates read the same everywhere.

use serde::{Deserialize, Serialize};

use crate::domain::slo::{Slo, SloStatus, SloWindow};
use crate::notify::channel::Language;

/// Budget spent from which an SLO gets a line in the digest, share (25 %).
pub const SPENT_WORTH_A_LINE: f64 = 0.25;

/// One SLO's line in the global digest (`slos` in `GET /v1/digests`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SloLine {
    /// The SLO's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its objective, percent.
    pub objective: f64,
    /// Its compliance window.
    pub window: SloWindow,
    /// Good / valid events over the window so far, percent; `None` without valid events.
    pub sli: Option<f64>,
    /// Error budget spent, percent (above 100 when overspent).
    pub spent_percent: f64,
    /// Burn rate over the last 6 hours.
    pub burn_6h: f64,
    /// When the budget runs out at the 6-hour burn rate, epoch ms (see [`SloStatus`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exhausted_at: Option<i64>,
    /// The burn-rate alerts firing (`page`, `ticket`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub firing: Vec<String>,
    /// The sentence, in English.
    pub text: String,
}

/// The 6-hour burn rate of `status` (0 when absent).
pub fn burn_6h(status: &SloStatus) -> f64 {
    status
        .burn_rates
        .iter()
        .find(|b| b.window == "6h")
        .map_or(0.0, |b| b.rate)
}

/// Whether an SLO gets a line: budget spent at least [`SPENT_WORTH_A_LINE`], a 6-hour burn
/// rate above 1, or an alert `firing`.
pub fn worth_a_line(status: &SloStatus, firing: &[String]) -> bool {
    status.budget.spent_share >= SPENT_WORTH_A_LINE || burn_6h(status) > 1.0 || !firing.is_empty()
}

/// The line of `slo` with `status` and its alerts `firing`, or `None` when it is within budget
/// ([`worth_a_line`]).
pub fn slo_line(slo: &Slo, status: &SloStatus, firing: &[String]) -> Option<SloLine> {
    worth_a_line(status, firing).then(|| SloLine {
        id: slo.id.clone(),
        name: slo.name.clone(),
        objective: slo.objective,
        window: slo.window,
        sli: status.sli,
        spent_percent: status.budget.spent_share * 100.0,
        burn_6h: burn_6h(status),
        exhausted_at: status.exhausted_at,
        firing: firing.to_vec(),
        text: sentence(Language::En, slo, status, firing),
    })
}

/// How the budget fares at the current rate.
enum Outlook {
    /// Spent already.
    Spent,
    /// Runs out at this time, epoch ms.
    RunsOut(i64),
    /// A rolling window's budget that does not run out (6-hour burn rate under 1).
    Lasts,
    /// A calendar month's budget that lasts to the month's end.
    LastsTheMonth,
    /// Nothing was spent in the last 6 hours.
    Idle,
}

fn outlook(slo: &Slo, status: &SloStatus) -> Outlook {
    let burn = burn_6h(status);
    match status.exhausted_at {
        _ if status.budget.remaining_share <= 0.0 && status.events > 0 => Outlook::Spent,
        None if burn <= 0.0 => Outlook::Idle,
        None if slo.window == SloWindow::CalendarMonth => Outlook::LastsTheMonth,
        None => Outlook::Lasts,
        Some(at) => Outlook::RunsOut(at),
    }
}

/// The digest's sentence about `slo` with `status` and its alerts `firing`, in `lang`:
/// the budget spent (whole percent, rounded down), the SLI and the objective, how the budget
/// fares at the 6-hour burn rate, and the alerts firing.
pub fn sentence(lang: Language, slo: &Slo, status: &SloStatus, firing: &[String]) -> String {
    let name = &slo.name;
    let spent = whole_percent(status.budget.spent_share * 100.0);
    let sli = status
        .sli
        .map_or_else(|| "n/a".to_string(), |s| sli_percent(s, slo.objective));
    let obj = objective(slo.objective);
    let month = month_name(lang, status.window_start);
    let budget = match (lang, slo.window) {
        (Language::En, SloWindow::Rolling28d) => "its 28-day error budget".to_string(),
        (Language::En, SloWindow::Rolling30d) => "its 30-day error budget".to_string(),
        (Language::En, SloWindow::CalendarMonth) => format!("its error budget for {month}"),
        (Language::Ar, SloWindow::Rolling28d) => "ميزانية الأخطاء لمدة 28 يومًا".to_string(),
        (Language::Ar, SloWindow::Rolling30d) => "ميزانية الأخطاء لمدة 30 يومًا".to_string(),
        (Language::Ar, SloWindow::CalendarMonth) => format!("ميزانية الأخطاء لشهر {month}"),
        (Language::Fa, SloWindow::Rolling28d) => "بودجهٔ خطای 28 روزهٔ خود".to_string(),
        (Language::Fa, SloWindow::Rolling30d) => "بودجهٔ خطای 30 روزهٔ خود".to_string(),
        (Language::Fa, SloWindow::CalendarMonth) => format!("بودجهٔ خطای ماه {month} خود"),
    };
    let mut text = match lang {
        Language::En => {
            format!("{name} has used {spent} % of {budget} (SLI {sli} %, objective {obj} %)")
        }
        Language::Ar => format!("استهلك {name} {spent} % من {budget} (SLI {sli} %، الهدف {obj} %)"),
        Language::Fa => {
            format!("{name} {spent} % از {budget} را مصرف کرده است (SLI {sli} %، هدف {obj} %)")
        }
    };
    let clause = match (lang, outlook(slo, status)) {
        (Language::En, Outlook::Spent) => ": the budget is spent.".to_string(),
        (Language::En, Outlook::RunsOut(at)) => format!(
            "; at the current rate it runs out on {}.",
            date(lang, at, status.at)
        ),
        (Language::En, Outlook::Lasts) => "; at the current rate it does not run out.".into(),
        (Language::En, Outlook::LastsTheMonth) => {
            "; at the current rate it lasts the month.".into()
        }
        (Language::En, Outlook::Idle) => "; none of it was spent in the last 6 hours.".into(),
        (Language::Ar, Outlook::Spent) => "؛ نفدت الميزانية.".to_string(),
        (Language::Ar, Outlook::RunsOut(at)) => {
            format!("؛ بالمعدل الحالي تنفد في {}.", date(lang, at, status.at))
        }
        (Language::Ar, Outlook::Lasts) => "؛ بالمعدل الحالي لا تنفد.".into(),
        (Language::Ar, Outlook::LastsTheMonth) => "؛ بالمعدل الحالي تكفي حتى نهاية الشهر.".into(),
        (Language::Ar, Outlook::Idle) => "؛ لم يُستهلك منها شيء في الساعات الست الأخيرة.".into(),
        (Language::Fa, Outlook::Spent) => "؛ بودجه تمام شده است.".to_string(),
        (Language::Fa, Outlook::RunsOut(at)) => format!(
            "؛ با نرخ کنونی در {} تمام می\u{200c}شود.",
            date(lang, at, status.at)
        ),
        (Language::Fa, Outlook::Lasts) => "؛ با نرخ کنونی تمام نمی\u{200c}شود.".into(),
        (Language::Fa, Outlook::LastsTheMonth) => "؛ با نرخ کنونی تا پایان ماه کافی است.".into(),
        (Language::Fa, Outlook::Idle) => "؛ در 6 ساعت گذشته چیزی از آن مصرف نشده است.".into(),
    };
    text.push_str(&clause);
    if !firing.is_empty() {
        let names: Vec<&str> = firing.iter().map(|a| alert_name(lang, a)).collect();
        text.push_str(&match lang {
            Language::En => format!(" Alerts firing: {}.", names.join(", ")),
            Language::Ar => format!(" التنبيهات النشطة: {}.", names.join("، ")),
            Language::Fa => format!(" هشدارهای فعال: {}.", names.join("، ")),
        });
    }
    text
}

/// An SLO alert's name (`page`, `ticket`) in `lang`; another name as it is.
fn alert_name(lang: Language, alert: &str) -> &str {
    match (lang, alert) {
        (Language::Ar, "page") => "استدعاء عاجل",
        (Language::Ar, "ticket") => "تذكرة",
        (Language::Fa, "page") => "فراخوان فوری",
        (Language::Fa, "ticket") => "تیکت",
        _ => alert,
    }
}

/// `percent` rounded down to a whole number (63.9 → `63`), so a budget not yet spent never
/// reads 100.
fn whole_percent(percent: f64) -> String {
    format!("{}", (percent + 1e-9).floor().max(0.0) as i64)
}

/// An objective without trailing zeros: `99.9`, `99`, `99.95`.
fn objective(objective: f64) -> String {
    let text = format!("{objective:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// An SLI, percent, with one decimal more than its objective and at least two, rounded down
/// (`99.87`; 99.9999 is never shown as 100).
fn sli_percent(sli: f64, objective_percent: f64) -> String {
    let decimals = objective(objective_percent)
        .split_once('.')
        .map_or(0, |(_, d)| d.len())
        .saturating_add(1)
        .max(2);
    let scale = 10f64.powi(decimals as i32);
    let shown = ((sli * scale) + 1e-6).floor() / scale;
    format!("{shown:.decimals$}")
}

const MONTHS: [[&str; 12]; 3] = [
    [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    [
        "يناير",
        "فبراير",
        "مارس",
        "أبريل",
        "مايو",
        "يونيو",
        "يوليو",
        "أغسطس",
        "سبتمبر",
        "أكتوبر",
        "نوفمبر",
        "ديسمبر",
    ],
    [
        "ژانویه",
        "فوریه",
        "مارس",
        "آوریل",
        "مه",
        "ژوئن",
        "ژوئیه",
        "اوت",
        "سپتامبر",
        "اکتبر",
        "نوامبر",
        "دسامبر",
    ],
];

/// `(year, month 1-12, day)` of `ms` (epoch ms) in UTC.
fn ymd(ms: i64) -> (i16, i8, i8) {
    let ts = jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let d = ts.to_zoned(jiff::tz::TimeZone::UTC).date();
    (d.year(), d.month(), d.day())
}

/// The (Gregorian) month of `ms` (epoch ms, UTC) in `lang`: `December`, `ديسمبر`, `دسامبر`.
pub fn month_name(lang: Language, ms: i64) -> &'static str {
    let row = match lang {
        Language::En => 0,
        Language::Ar => 1,
        Language::Fa => 2,
    };
    let (_, month, _) = ymd(ms);
    MONTHS[row][usize::try_from(month - 1).unwrap_or(0).min(11)]
}

/// `ms` (epoch ms) as a day in `lang`, UTC: `24 December`, with the year when it is not the
/// year of `now_ms` (`3 January 2027`).
pub fn date(lang: Language, ms: i64, now_ms: i64) -> String {
    let (year, _, day) = ymd(ms);
    let mut text = format!("{day} {}", month_name(lang, ms));
    if year != ymd(now_ms).0 {
        text.push_str(&format!(" {year}"));
    }
    text
}

/// Most SLO lines a digest carries (a digest is one DynamoDB item of at most 400 KB, and the
/// daily report one SNS message): the first in [`reading_order`].
pub const MAX_LINES: usize = 20;

/// Puts `lines` (in [`reading_order`]) into the global digest `digest`: the first
/// [`MAX_LINES`] into its `slos` and their sentences at the end of its `summary`, then how
/// many more there are (`3 more SLOs need attention: see GET /v1/slos.`).
pub fn add_to_digest(digest: &mut super::report::Digest, mut lines: Vec<SloLine>) {
    let more = lines.len().saturating_sub(MAX_LINES);
    lines.truncate(MAX_LINES);
    for line in &lines {
        digest.summary.push(' ');
        digest.summary.push_str(&line.text);
    }
    if more > 0 {
        digest.summary.push_str(&format!(
            " {more} more SLO{} need{} attention: see GET /v1/slos.",
            if more == 1 { "" } else { "s" },
            if more == 1 { "s" } else { "" }
        ));
    }
    digest.slos = lines;
}

/// The order lines are read in: those with an alert firing first, then by budget spent (most
/// first), then by id.
pub fn reading_order(a: &SloLine, b: &SloLine) -> std::cmp::Ordering {
    a.firing
        .is_empty()
        .cmp(&b.firing.is_empty())
        .then_with(|| b.spent_percent.total_cmp(&a.spent_percent))
        .then_with(|| a.id.cmp(&b.id))
}

#[cfg(test)]
mod tests;

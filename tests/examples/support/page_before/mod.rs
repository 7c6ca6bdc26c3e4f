//! The ANCHOR of the page benchmark (`tests/examples/page_bench.rs`): a copy of the status
//! page's renderer as it was on main at commit 2873a4e (`functions/api/src/page.rs`,
//! `templates/page.html` and `templates/page.css`, the page issue 18 replaces), built against
//! the store ports only, so that the benchmark can render today's page and the new one from
//! the same table in the same run. Not product code: kept as it was, minimal changes only:
//! - the definitions come from [`DefsCache`] here (listed once, then kept, as a warm API
//!   instance keeps them within its 15 s), the latest states from `StateStore::latest` and
//!   `overrides` as `routes::defs::latest_all` reads them, caught up with `catch_up_all`;
//! - the location verdicts as `routes::locations::verdicts_all` reads them;
//! - errors are boxed instead of `ApiError`, and [`page`] answers the HTML text instead of a
//!   `lambda_http` response;
//! - the escaper is this module's copy of `HtmlEntities` (`askama.toml` beside it).
//!
//! What it showed (the original's doc): groups and pools with their active target, each
//! target's status as colour and word, uptime over the last 24 hours (from the history) and
//! over 7, 30 and 365 days (from the digest's uptime table), a latency chart of the last 24
//! hours (inline SVG), each location's latest latency, maintenance notices and the incidents
//! (alerts) of the last 24 hours; labels in English, Arabic and Persian.
#![allow(dead_code)]

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt::{self, Write as _};

use askama::Template;
use lookout_app::ports::{
    AlertLog, AlertRecord, DigestStore, HistoryStore, Latest, LocationStore, StateStore,
    TargetStore,
};
use lookout_core::digest::rollup::Uptime;
use lookout_core::domain::failover::choose_all;
use lookout_core::domain::location::LocationVerdict;
use lookout_core::domain::state::DAY_MS;
use lookout_core::domain::{CheckResult, Status, Target, TargetKind, TargetState};

/// Any failure of the store or the template.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The definitions as a warm instance keeps them: listed by the first call, then reused.
#[derive(Debug, Default)]
pub struct DefsCache(std::sync::Mutex<Option<Vec<Target>>>);

impl DefsCache {
    async fn get<S: TargetStore>(&self, store: &S) -> Result<Vec<Target>, Error> {
        if let Some(defs) = self.0.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(defs);
        }
        let defs = store.list_targets(None).await?;
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(defs.clone());
        Ok(defs)
    }
}

/// Targets, the latest entry of each checked one and every state (`routes::defs::load_cached`).
async fn load_cached<S: TargetStore + StateStore>(
    store: &S,
    cache: &DefsCache,
) -> Result<
    (
        Vec<Target>,
        HashMap<String, Latest>,
        HashMap<String, TargetState>,
    ),
    Error,
> {
    let targets = cache.get(store).await?;
    let mut latest = store.latest(TargetKind::Server).await?;
    latest.extend(store.latest(TargetKind::Proxy).await?);
    for kind in TargetKind::ALL {
        for o in store.overrides(kind).await? {
            let result = latest.remove(&o.target_id).and_then(|l| l.result);
            latest.insert(o.target_id.clone(), Latest::new(o, result));
        }
    }
    lookout_app::ports::catch_up_all(&mut latest, &targets);
    let states = targets
        .iter()
        .map(|t| {
            let state = latest
                .get(&t.id)
                .map_or_else(|| TargetState::new(&t.id), |l| l.state.clone());
            (t.id.clone(), state)
        })
        .collect();
    Ok((targets, latest, states))
}

/// Each location's verdicts by target (`routes::locations::verdicts_all`).
async fn verdicts_all<S: LocationStore>(
    store: &S,
) -> Result<HashMap<String, Vec<LocationVerdict>>, Error> {
    let mut all: HashMap<String, Vec<LocationVerdict>> = HashMap::new();
    for kind in TargetKind::ALL {
        for (id, list) in store.verdicts(kind).await? {
            all.entry(id).or_default().extend(list);
        }
    }
    for list in all.values_mut() {
        list.sort_by(|a, b| a.location.cmp(&b.location));
    }
    Ok(all)
}

/// Most targets of a kind whose 24-hour history the public page reads (8 chunks × 25 hours =
/// 200 queries at most).
pub const HISTORY_TARGETS: usize = 800;

/// The page templates' escaper (see `templates/askama.toml`): `&`, `<`, `>`, `"` and `'` as
/// `&amp;`, `&lt;`, `&gt;`, `&quot;` and `&#39;`, safe in element content and quoted attribute
/// values. askama's built-in HTML escaper escapes the same characters as numeric references
/// (`&#60;`); the page keeps the named ones it always had.
#[derive(Debug, Clone, Copy, Default)]
pub struct HtmlEntities;

impl askama::filters::Escaper for HtmlEntities {
    fn write_escaped_str<W: fmt::Write>(&self, mut dest: W, text: &str) -> fmt::Result {
        let mut last = 0;
        for (i, c) in text.char_indices() {
            let entity = match c {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                _ => continue,
            };
            dest.write_str(&text[last..i])?;
            dest.write_str(entity)?;
            last = i + 1;
        }
        dest.write_str(&text[last..])
    }
}

/// The page's words in one language.
struct Labels {
    code: &'static str,
    rtl: bool,
    title: &'static str,
    all_ok: &'static str,
    some_down: &'static str,
    active: &'static str,
    none_usable: &'static str,
    uptime_24h: &'static str,
    uptime_total: &'static str,
    /// Labels of the 7, 30 and 365-day uptime windows.
    windows: [&'static str; 3],
    latency: &'static str,
    incidents: &'static str,
    no_incidents: &'static str,
    maintenance: &'static str,
    updated: &'static str,
    servers: &'static str,
    proxies: &'static str,
    /// Heads the per-location latencies of a target.
    locations: &'static str,
    statuses: [&'static str; 5],
}

const EN: Labels = Labels {
    code: "en",
    rtl: false,
    title: "Service status",
    all_ok: "All systems operational",
    some_down: "Some systems have problems",
    active: "Active",
    none_usable: "none usable",
    uptime_24h: "Uptime 24 h",
    uptime_total: "since reset",
    windows: ["7 d", "30 d", "365 d"],
    latency: "Latency, last 24 hours",
    incidents: "Incidents in the last 24 hours",
    no_incidents: "No incidents.",
    maintenance: "Maintenance",
    updated: "Updated",
    servers: "Servers",
    proxies: "Proxy pools",
    locations: "By location",
    statuses: ["healthy", "degraded", "down", "blocked", "unknown"],
};

const AR: Labels = Labels {
    code: "ar",
    rtl: true,
    title: "حالة الخدمة",
    all_ok: "جميع الأنظمة تعمل",
    some_down: "بعض الأنظمة بها مشكلات",
    active: "النشط",
    none_usable: "لا يوجد صالح",
    uptime_24h: "التوفر 24 ساعة",
    uptime_total: "منذ إعادة الضبط",
    windows: ["7 أيام", "30 يومًا", "365 يومًا"],
    latency: "زمن الاستجابة، آخر 24 ساعة",
    incidents: "الحوادث في آخر 24 ساعة",
    no_incidents: "لا توجد حوادث.",
    maintenance: "صيانة",
    updated: "آخر تحديث",
    servers: "الخوادم",
    proxies: "مجموعات البروكسي",
    locations: "حسب الموقع",
    statuses: ["سليم", "متدهور", "متوقف", "محظور", "غير معروف"],
};

const FA: Labels = Labels {
    code: "fa",
    rtl: true,
    title: "وضعیت سرویس",
    all_ok: "همه سامانه‌ها فعال هستند",
    some_down: "برخی سامانه‌ها مشکل دارند",
    active: "فعال",
    none_usable: "هیچ‌کدام قابل استفاده نیست",
    uptime_24h: "دسترس‌پذیری ۲۴ ساعت",
    uptime_total: "از آخرین بازنشانی",
    windows: ["۷ روز", "۳۰ روز", "۳۶۵ روز"],
    latency: "تأخیر، ۲۴ ساعت گذشته",
    incidents: "رخدادهای ۲۴ ساعت گذشته",
    no_incidents: "رخدادی نیست.",
    maintenance: "نگهداری",
    updated: "به‌روزرسانی",
    servers: "سرورها",
    proxies: "استخرهای پراکسی",
    locations: "به تفکیک مکان",
    statuses: ["سالم", "کند", "از کار افتاده", "مسدود", "نامشخص"],
};

fn labels(lang: Option<&str>) -> &'static Labels {
    match lang {
        Some("ar") => &AR,
        Some("fa") => &FA,
        _ => &EN,
    }
}

fn status_word(l: &Labels, s: Status) -> &'static str {
    let i = match s {
        Status::Healthy => 0,
        Status::Degraded => 1,
        Status::Down => 2,
        Status::Blocked => 3,
        Status::Unknown => 4,
    };
    l.statuses[i]
}

fn colour(s: Status) -> &'static str {
    match s {
        Status::Healthy => "#1a7f37",
        Status::Degraded => "#b08800",
        Status::Down => "#cf222e",
        Status::Blocked => "#8250df",
        Status::Unknown => "#6e7781",
    }
}

/// The numbers of a target's latency chart, an inline SVG polyline of the latencies (ms) of the
/// successful checks over the last 24 hours; the template draws it.
struct Chart {
    /// Width and height of the view box, in SVG user units.
    width: f64,
    height: f64,
    /// Highest latency drawn, whole ms (at least 1).
    max: String,
    /// The polyline's `x,y` points, one decimal, left (24 hours ago) to right (now).
    points: String,
}

impl Chart {
    /// The chart of `results` over the 24 hours ending at `now` (epoch ms).
    fn new(results: &[&CheckResult], now: i64) -> Self {
        let (width, height) = (240.0, 40.0);
        let points: Vec<(f64, f64)> = results
            .iter()
            .filter(|r| r.ok())
            .map(|r| {
                (
                    (r.at - (now - DAY_MS)) as f64 / DAY_MS as f64,
                    r.latency_ms as f64,
                )
            })
            .filter(|(x, _)| (0.0..=1.0).contains(x))
            .collect();
        let max = points.iter().map(|p| p.1).fold(1.0, f64::max);
        let mut path = String::new();
        for (x, y) in &points {
            let _ = write!(
                path,
                "{:.1},{:.1} ",
                x * width,
                height - y / max * (height - 2.0) - 1.0
            );
        }
        Self {
            width,
            height,
            max: format!("{max:.0}"),
            points: path.trim_end().to_string(),
        }
    }
}

/// One location's view of a target: its name, latest latency and status colour.
struct LocationCell {
    name: String,
    /// The latest check's latency from there, `123 ms`, or `–`.
    latency: String,
    /// The colour of that location's verdict (CSS).
    colour: &'static str,
    /// That location's verdict, in words.
    status: &'static str,
}

/// One target's row.
struct Row {
    id: String,
    name: String,
    /// The status colour (CSS) and word.
    colour: &'static str,
    status: &'static str,
    /// Uptime over the last 24 hours, `12.34%` or `–`.
    uptime_24h: String,
    /// The 7, 30 and 365-day windows' labels and uptimes once the digest has run.
    windows: Option<Vec<(&'static str, String)>>,
    /// Uptime since the last statistics reset, shown until the digest has run.
    since_reset: String,
    /// The latest check's latency, `123 ms`, or empty.
    latency: String,
    chart: Chart,
    /// The reason of the maintenance window in force (empty without one), if any.
    maintenance: Option<String>,
    /// Each location's latency, by location name (empty unless probed from several).
    locations: Vec<LocationCell>,
}

/// A group or pool with its active target.
struct Group<'a> {
    name: &'a str,
    /// The active target's name, or the words for none.
    active: &'a str,
    targets: Vec<Row>,
}

/// The groups of one kind, under the kind's heading.
struct Section<'a> {
    heading: &'static str,
    groups: Vec<Group<'a>>,
}

/// An alert of the last 24 hours.
struct Incident<'a> {
    /// RFC 3339.
    at: String,
    subject: &'a str,
}

/// The page: `templates/page.html`, escaped with [`HtmlEntities`].
#[derive(Template)]
#[template(
    path = "page.html",
    config = "examples/support/page_before/askama.toml"
)]
struct PageView<'a> {
    l: &'static Labels,
    /// Whether an enabled target is down or blocked.
    bad: bool,
    sections: Vec<Section<'a>>,
    /// Newest first, at most 50.
    incidents: Vec<Incident<'a>>,
    /// RFC 3339.
    updated: String,
}

/// `v` in percent with two decimals, `–` when unknown.
fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_string(), |v| format!("{v:.2}%"))
}

/// What the page shows, read from the store at `now` (epoch ms).
struct PageData {
    now: i64,
    targets: Vec<Target>,
    /// The latest entry (state and result) of each checked target.
    latest: HashMap<String, Latest>,
    /// The state of every target.
    states: HashMap<String, TargetState>,
    /// The results of the last 24 hours by target, oldest first.
    history: HashMap<String, Vec<CheckResult>>,
    /// The digest's uptime windows by target.
    windows: HashMap<String, Vec<Uptime>>,
    /// The alerts of the last 24 hours, oldest first.
    incidents: Vec<AlertRecord>,
    /// Each location's verdict by target (targets probed from several locations).
    verdicts: HashMap<String, Vec<LocationVerdict>>,
}

impl PageData {
    async fn read<
        S: TargetStore + StateStore + HistoryStore + AlertLog + DigestStore + LocationStore,
    >(
        store: &S,
        cache: &DefsCache,
    ) -> Result<Self, Error> {
        let now = lookout_core::time::now_ms();
        let (targets, latest, states) = load_cached(store, cache).await?;
        let mut history: HashMap<String, Vec<CheckResult>> = HashMap::new();
        for kind in TargetKind::ALL {
            let n = targets.iter().filter(|t| t.kind() == kind).count();
            // The page is public: its cost must stay small whoever asks. The history of 24 hours
            // is one query per hour and chunk of 100 targets, so it is read for up to
            // HISTORY_TARGETS targets of a kind; beyond, the page shows no chart and no 24-hour
            // uptime (the API's results routes and the metrics have them).
            if n == 0 || n > HISTORY_TARGETS {
                continue;
            }
            for r in store.history(kind, now - DAY_MS, now, n).await? {
                history.entry(r.target_id.clone()).or_default().push(r);
            }
        }
        let incidents = store.alerts(now - DAY_MS, now).await?;
        // Uptime over 7, 30 and 365 days from the digest's table: one query per kind.
        let mut windows = HashMap::new();
        for kind in TargetKind::ALL {
            for t in store.uptime_table(kind).await? {
                windows.insert(t.target_id, t.windows);
            }
        }
        let verdicts = verdicts_all(store).await?;
        Ok(Self {
            now,
            targets,
            latest,
            states,
            history,
            windows,
            incidents,
            verdicts,
        })
    }

    /// The page in the words of `l`.
    fn view(&self, l: &'static Labels) -> PageView<'_> {
        let choices = choose_all(&self.targets, &self.states);
        let mut by_group: BTreeMap<(TargetKind, &str), Vec<&Target>> = BTreeMap::new();
        for t in self.targets.iter().filter(|t| t.enabled) {
            by_group
                .entry((t.kind(), t.group.as_str()))
                .or_default()
                .push(t);
        }
        let sections = TargetKind::ALL
            .into_iter()
            .map(|kind| Section {
                heading: if kind == TargetKind::Server {
                    l.servers
                } else {
                    l.proxies
                },
                groups: by_group
                    .iter()
                    .filter(|((k, _), _)| *k == kind)
                    .map(|((_, group), members)| {
                        let active = choices
                            .iter()
                            .find(|c| c.kind == kind && c.group == *group)
                            .and_then(|c| c.active.as_deref())
                            .and_then(|id| members.iter().find(|t| t.id == id))
                            .map_or(l.none_usable, |t| t.name.as_str());
                        Group {
                            name: group,
                            active,
                            targets: members.iter().map(|t| self.row(t, l)).collect(),
                        }
                    })
                    .collect(),
            })
            .filter(|s| !s.groups.is_empty())
            .collect();
        PageView {
            l,
            bad: self
                .targets
                .iter()
                .filter(|t| t.enabled)
                .any(|t| matches!(self.state(t).status, Status::Down | Status::Blocked)),
            sections,
            incidents: self
                .incidents
                .iter()
                .rev()
                .take(50)
                .map(|r| Incident {
                    at: lookout_core::time::rfc3339(r.alert.at),
                    subject: &r.alert.subject,
                })
                .collect(),
            updated: lookout_core::time::rfc3339(self.now),
        }
    }

    /// The state of `t`: `unknown` when there is none (`load_cached` gives every target one).
    fn state(&self, t: &Target) -> Cow<'_, TargetState> {
        self.states
            .get(&t.id)
            .map_or_else(|| Cow::Owned(TargetState::new(&t.id)), Cow::Borrowed)
    }

    /// The row of `t` in the words of `l`.
    fn row(&self, t: &Target, l: &'static Labels) -> Row {
        let s = self.state(t);
        let results: Vec<&CheckResult> = self
            .history
            .get(&t.id)
            .map(|v| v.iter().collect())
            .unwrap_or_default();
        let windows = self.windows.get(&t.id);
        let rolled = |name: &str| {
            windows
                .and_then(|w| w.iter().find(|u| u.window == name))
                .and_then(|u| u.uptime_percent)
        };
        let day_uptime = if results.is_empty() {
            rolled("24h")
        } else {
            Some(100.0 * results.iter().filter(|r| r.ok()).count() as f64 / results.len() as f64)
        };
        Row {
            id: t.id.clone(),
            name: t.name.clone(),
            colour: colour(s.status),
            status: status_word(l, s.status),
            uptime_24h: percent(day_uptime),
            // 7, 30 and 365 days once the digest has run; the lifetime counter before.
            windows: windows.map(|_| {
                ["7d", "30d", "365d"]
                    .into_iter()
                    .zip(l.windows)
                    .map(|(w, label)| (label, percent(rolled(w))))
                    .collect()
            }),
            since_reset: percent(s.uptime_percent()),
            latency: self
                .latest
                .get(&t.id)
                .and_then(|x| x.result.as_ref())
                .map(|r| format!("{} ms", r.latency_ms))
                .unwrap_or_default(),
            chart: Chart::new(&results, self.now),
            maintenance: t
                .maintenance_at(self.now)
                .map(|w| w.reason.clone().unwrap_or_default()),
            locations: self
                .verdicts
                .get(&t.id)
                .into_iter()
                .flatten()
                .map(|v| LocationCell {
                    name: v.location.clone(),
                    latency: v
                        .latency_ms
                        .map_or_else(|| "–".to_string(), |ms| format!("{ms} ms")),
                    colour: colour(v.status),
                    status: status_word(l, v.status),
                })
                .collect(),
        }
    }
}

/// Renders the page: the HTML.
///
/// # Errors
/// The store that cannot be read, or the template that fails.
pub async fn page<
    S: TargetStore + StateStore + HistoryStore + AlertLog + DigestStore + LocationStore,
>(
    store: &S,
    cache: &DefsCache,
    lang: Option<&str>,
) -> Result<String, Error> {
    let data = PageData::read(store, cache).await?;
    Ok(data.view(labels(lang)).render()?)
}

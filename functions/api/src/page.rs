//! `GET /`: the public status page, rendered on the server. Groups and pools with their active
//! target, each target's status as colour and word, uptime over the last 24 hours (from the
//! history) and over 7, 30 and 365 days (from the digest's uptime table; since the last
//! statistics reset until the digest has run), a latency chart of the last 24 hours (inline
//! SVG), maintenance notices and the incidents of the last 24 hours. Labels in English, Arabic and
//! Persian (`?lang=ar`, `?lang=fa`, right to left). Every user-given string is escaped; a little
//! inline script reloads the page every minute.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use lookout::domain::failover::choose_all;
use lookout::domain::state::DAY_MS;
use lookout::domain::{CheckResult, Status, Target, TargetKind};
use lookout::ports::{AlertLog, DigestStore, HistoryStore, StateStore, TargetStore};

use crate::error::ApiError;

/// Most targets of a kind whose 24-hour history the public page reads (8 chunks × 25 hours =
/// 200 queries at most).
pub const HISTORY_TARGETS: usize = 800;

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
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

/// An inline SVG polyline of latencies (ms) over the last 24 hours ending at `now`.
fn chart(results: &[&CheckResult], now: i64) -> String {
    let (w, h) = (240.0, 40.0);
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
        let _ = write!(path, "{:.1},{:.1} ", x * w, h - y / max * (h - 2.0) - 1.0);
    }
    format!(
        "<svg class=\"chart\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"latency, max {max:.0} ms\">\
         <polyline fill=\"none\" stroke=\"#0969da\" stroke-width=\"1.5\" points=\"{}\"/></svg>",
        path.trim()
    )
}

/// Renders the page.
///
/// # Errors
/// [`ApiError`] when the store cannot be read.
pub async fn page<S: TargetStore + StateStore + HistoryStore + AlertLog + DigestStore>(
    store: &S,
    cache: &crate::routes::DefsCache,
    lang: Option<&str>,
) -> Result<Response<Body>, ApiError> {
    let l = labels(lang);
    let now = lookout::time::now_ms();
    let (targets, latest, states) = crate::routes::load_cached(store, cache).await?;
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
    let mut windows: HashMap<String, Vec<lookout::digest::rollup::Uptime>> = HashMap::new();
    for kind in TargetKind::ALL {
        for t in store.uptime_table(kind).await? {
            windows.insert(t.target_id, t.windows);
        }
    }
    let choices = choose_all(&targets, &states);
    let bad = targets
        .iter()
        .filter(|t| t.enabled)
        .any(|t| matches!(states[&t.id].status, Status::Down | Status::Blocked));
    let mut html = String::new();
    let dir = if l.rtl { "rtl" } else { "ltr" };
    let _ = write!(
        html,
        "<!doctype html><html lang=\"{}\" dir=\"{dir}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{}</style></head><body><main>",
        l.code,
        escape(l.title),
        STYLE
    );
    let _ = write!(
        html,
        "<header><h1>{}</h1><p class=\"banner {}\">{}</p>\
         <nav><a href=\"?lang=en\">English</a> · <a href=\"?lang=ar\">العربية</a> · \
         <a href=\"?lang=fa\">فارسی</a></nav></header>",
        escape(l.title),
        if bad { "bad" } else { "good" },
        escape(if bad { l.some_down } else { l.all_ok })
    );
    let mut by_group: BTreeMap<(TargetKind, &str), Vec<&Target>> = BTreeMap::new();
    for t in targets.iter().filter(|t| t.enabled) {
        by_group
            .entry((t.kind(), t.group.as_str()))
            .or_default()
            .push(t);
    }
    for kind in TargetKind::ALL {
        let groups: Vec<_> = by_group.iter().filter(|((k, _), _)| *k == kind).collect();
        if groups.is_empty() {
            continue;
        }
        let _ = write!(
            html,
            "<h2>{}</h2>",
            escape(if kind == TargetKind::Server {
                l.servers
            } else {
                l.proxies
            })
        );
        for ((_, group), members) in groups {
            let active = choices
                .iter()
                .find(|c| c.kind == kind && c.group == *group)
                .and_then(|c| c.active.clone());
            let active = active
                .as_deref()
                .and_then(|id| members.iter().find(|t| t.id == id))
                .map_or_else(|| l.none_usable.to_string(), |t| t.name.clone());
            let _ = write!(
                html,
                "<section class=\"group\"><h3>{}</h3><p class=\"active\">{}: {}</p><ul>",
                escape(group),
                escape(l.active),
                escape(&active)
            );
            for t in members {
                let s = &states[&t.id];
                let results: Vec<&CheckResult> = history
                    .get(&t.id)
                    .map(|v| v.iter().collect())
                    .unwrap_or_default();
                let rolled = |name: &str| {
                    windows
                        .get(&t.id)
                        .and_then(|w| w.iter().find(|u| u.window == name))
                        .and_then(|u| u.uptime_percent)
                };
                let day_uptime = if results.is_empty() {
                    rolled("24h")
                } else {
                    Some(
                        100.0 * results.iter().filter(|r| r.ok()).count() as f64
                            / results.len() as f64,
                    )
                };
                let pct =
                    |v: Option<f64>| v.map_or_else(|| "–".to_string(), |v| format!("{v:.2}%"));
                // 7, 30 and 365 days once the digest has run; the lifetime counter before.
                let longer = if windows.contains_key(&t.id) {
                    ["7d", "30d", "365d"]
                        .iter()
                        .zip(l.windows)
                        .map(|(w, label)| format!("{} {}", escape(label), pct(rolled(w))))
                        .collect::<Vec<_>>()
                        .join(" · ")
                } else {
                    format!("{} {}", pct(s.uptime_percent()), escape(l.uptime_total))
                };
                let latency = latest
                    .get(&t.id)
                    .and_then(|x| x.result.as_ref())
                    .map(|r| format!("{} ms", r.latency_ms))
                    .unwrap_or_default();
                let maintenance = t.maintenance_at(now).map(|w| {
                    format!(
                        "<p class=\"maint\">{}: {}</p>",
                        escape(l.maintenance),
                        escape(w.reason.as_deref().unwrap_or(""))
                    )
                });
                let _ = write!(
                    html,
                    "<li class=\"target\" data-id=\"{}\"><span class=\"dot\" style=\"background:{}\"></span>\
                     <span class=\"name\">{}</span> <span class=\"status\" style=\"color:{}\">{}</span>\
                     <span class=\"num\">{} {} · {} · {}</span>{}{}</li>",
                    escape(&t.id),
                    colour(s.status),
                    escape(&t.name),
                    colour(s.status),
                    escape(status_word(l, s.status)),
                    escape(l.uptime_24h),
                    pct(day_uptime),
                    longer,
                    escape(&latency),
                    chart(&results, now),
                    maintenance.unwrap_or_default()
                );
            }
            html.push_str("</ul></section>");
        }
    }
    let _ = write!(
        html,
        "<h2>{}</h2><ul class=\"incidents\">",
        escape(l.incidents)
    );
    if incidents.is_empty() {
        let _ = write!(html, "<li>{}</li>", escape(l.no_incidents));
    }
    for r in incidents.iter().rev().take(50) {
        let _ = write!(
            html,
            "<li><time>{}</time> {}</li>",
            escape(&lookout::time::rfc3339(r.alert.at)),
            escape(&r.alert.subject)
        );
    }
    let _ = write!(
        html,
        "</ul><footer>{}: <time>{}</time> · <span class=\"chart-label\">{}</span></footer></main>\
         <script>setTimeout(function () {{ location.reload(); }}, 60000);</script></body></html>",
        escape(l.updated),
        escape(&lookout::time::rfc3339(now)),
        escape(l.latency)
    );
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "text/html; charset=utf-8")
        .header("cache-control", "no-store")
        .body(Body::Text(html))
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Tahoma,sans-serif;margin:0;\
background:#f6f8fa;color:#1f2328}main{max-width:960px;margin:auto;padding:1rem}\
h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.2rem;margin-top:1.5rem}h3{margin:.2rem 0}\
.banner{padding:.6rem 1rem;border-radius:6px;color:#fff;font-weight:600}.good{background:#1a7f37}\
.bad{background:#cf222e}.group{background:#fff;border:1px solid #d0d7de;border-radius:6px;\
padding:.6rem 1rem;margin:.6rem 0}ul{list-style:none;padding:0;margin:0}\
.target{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem;padding:.4rem 0;\
border-top:1px solid #eaeef2}.dot{width:.8rem;height:.8rem;border-radius:50%;display:inline-block}\
.name{font-weight:600}.num{color:#57606a;font-size:.9rem}.chart{width:240px;height:40px;\
margin-inline-start:auto}.maint{width:100%;margin:0;color:#9a6700}.active{margin:.2rem 0;color:#57606a}\
.incidents li{padding:.3rem 0;border-top:1px solid #eaeef2}footer{margin-top:1.5rem;color:#57606a;\
font-size:.85rem}@media (max-width:600px){.chart{width:100%;margin:0}}";

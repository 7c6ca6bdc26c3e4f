//! The words of a target's page and of the Atom feed, in English, Arabic and Persian (the
//! languages of the status page, `?lang=ar|fa`; both right to left).

use lookout_core::domain::incident::{Incident, IncidentKind, IncidentStatus};
use lookout_core::domain::Status;

use crate::ApiError;

/// The words in one language.
#[derive(Debug)]
pub struct Labels {
    /// `en`, `ar` or `fa` (the `lang` attribute).
    pub code: &'static str,
    /// Right to left.
    pub rtl: bool,
    /// Healthy, degraded, down, blocked, unknown.
    pub statuses: [&'static str; 5],
    /// A disabled target.
    pub paused: &'static str,
    /// A target back up (an auto incident's update).
    pub back_up: &'static str,
    /// Investigating, identified, monitoring, resolved, scheduled, in progress, completed.
    pub incident_statuses: [&'static str; 7],
    pub incident: &'static str,
    pub maintenance: &'static str,
    pub postmortem: &'static str,
    /// The feed's title.
    pub feed_title: &'static str,
    pub group: &'static str,
    pub status: &'static str,
    pub chart_24h: &'static str,
    pub chart_30d: &'static str,
    pub p50: &'static str,
    pub p95: &'static str,
    pub ms: &'static str,
    pub no_data: &'static str,
    pub locations: &'static str,
    pub latency: &'static str,
    pub incidents: &'static str,
    pub no_incidents: &'static str,
    pub certificate: &'static str,
    /// `{n}` is replaced by the number of days.
    pub cert_days: &'static str,
    pub cert_expired: &'static str,
    pub times_in: &'static str,
    pub back: &'static str,
    pub not_found: &'static str,
    pub not_found_text: &'static str,
    /// What a TCP, TLS, DNS or heartbeat target checks ([`CheckWords`]).
    pub check: &'static CheckWords,
}

/// The words of the "what is checked" section of a TCP, TLS, DNS or heartbeat target's page.
#[derive(Debug)]
pub struct CheckWords {
    /// The section's heading.
    pub heading: &'static str,
    /// TCP, TLS, DNS, heartbeat (push): what the target is.
    pub kinds: [&'static str; 4],
    pub kind: &'static str,
    /// `host:port`.
    pub address: &'static str,
    pub server_name: &'static str,
    /// The plain-text protocol upgraded to TLS.
    pub starttls: &'static str,
    pub query: &'static str,
    pub record_type: &'static str,
    pub resolver: &'static str,
    /// A ping expected every …
    pub period: &'static str,
    pub grace: &'static str,
    /// Seconds, minutes, hours, days (after a number).
    pub units: [&'static str; 4],
    pub last_pings: &'static str,
    pub no_pings: &'static str,
    /// ok, fail, start, log.
    pub ping_statuses: [&'static str; 4],
    pub exit_code: &'static str,
}

/// English.
pub const CHECK_EN: CheckWords = CheckWords {
    heading: "What is checked",
    kinds: [
        "TCP port",
        "TLS certificate",
        "DNS record",
        "Heartbeat (push)",
    ],
    kind: "Check",
    address: "Address",
    server_name: "Server name",
    starttls: "STARTTLS",
    query: "Name",
    record_type: "Record type",
    resolver: "Resolver",
    period: "A ping expected every",
    grace: "Grace time",
    units: ["s", "min", "h", "d"],
    last_pings: "Last pings",
    no_pings: "No ping yet",
    ping_statuses: ["Success", "Failure", "Started", "Log"],
    exit_code: "exit code",
};

/// Arabic.
pub const CHECK_AR: CheckWords = CheckWords {
    heading: "ما الذي يُفحص",
    kinds: ["منفذ TCP", "شهادة TLS", "سجل DNS", "نبضة (دفع)"],
    kind: "الفحص",
    address: "العنوان",
    server_name: "اسم الخادم",
    starttls: "STARTTLS",
    query: "الاسم",
    record_type: "نوع السجل",
    resolver: "خادم الأسماء",
    period: "نبضة متوقعة كل",
    grace: "مهلة السماح",
    units: ["ث", "د", "س", "ي"],
    last_pings: "آخر النبضات",
    no_pings: "لا نبضة بعد",
    ping_statuses: ["نجاح", "فشل", "بدء", "ملاحظة"],
    exit_code: "رمز الخروج",
};

/// Persian.
pub const CHECK_FA: CheckWords = CheckWords {
    heading: "آنچه بررسی می‌شود",
    kinds: ["درگاه TCP", "گواهی TLS", "رکورد DNS", "ضربان (ارسالی)"],
    kind: "بررسی",
    address: "نشانی",
    server_name: "نام سرور",
    starttls: "STARTTLS",
    query: "نام",
    record_type: "نوع رکورد",
    resolver: "سرور نام",
    period: "انتظار یک ضربان هر",
    grace: "مهلت",
    units: ["ثانیه", "دقیقه", "ساعت", "روز"],
    last_pings: "آخرین ضربان‌ها",
    no_pings: "هنوز ضربانی نرسیده",
    ping_statuses: ["موفق", "ناموفق", "شروع", "یادداشت"],
    exit_code: "کد خروج",
};

/// English.
pub const EN: Labels = Labels {
    code: "en",
    rtl: false,
    statuses: ["Operational", "Degraded", "Down", "Blocked", "Unknown"],
    paused: "Paused",
    back_up: "Back up",
    incident_statuses: [
        "Investigating",
        "Identified",
        "Monitoring",
        "Resolved",
        "Scheduled",
        "In progress",
        "Completed",
    ],
    incident: "Incident",
    maintenance: "Maintenance",
    postmortem: "Postmortem",
    feed_title: "Status: incidents and maintenance",
    group: "Group",
    status: "Status",
    chart_24h: "Response time, last 24 hours",
    chart_30d: "Response time, last 30 days",
    p50: "p50 (median)",
    p95: "p95",
    ms: "ms",
    no_data: "No data",
    locations: "Latency by location",
    latency: "Latency",
    incidents: "Recent incidents",
    no_incidents: "No incidents in the last 30 days.",
    certificate: "TLS certificate",
    cert_days: "expires in {n} days",
    cert_expired: "expired",
    times_in: "Times in",
    back: "Back to the status page",
    not_found: "Not found",
    not_found_text: "There is no such target.",
    check: &CHECK_EN,
};

/// Arabic.
pub const AR: Labels = Labels {
    code: "ar",
    rtl: true,
    statuses: ["يعمل", "متدهور", "متوقف", "محظور", "غير معروف"],
    paused: "متوقف مؤقتًا",
    back_up: "عاد للعمل",
    incident_statuses: [
        "قيد التحقيق",
        "تم تحديد السبب",
        "قيد المراقبة",
        "تم الحل",
        "مجدولة",
        "قيد التنفيذ",
        "مكتملة",
    ],
    incident: "حادث",
    maintenance: "صيانة",
    postmortem: "تحليل ما بعد الحادث",
    feed_title: "الحالة: الحوادث والصيانة",
    group: "المجموعة",
    status: "الحالة",
    chart_24h: "زمن الاستجابة، آخر 24 ساعة",
    chart_30d: "زمن الاستجابة، آخر 30 يومًا",
    p50: "p50 (الوسيط)",
    p95: "p95",
    ms: "مللي ثانية",
    no_data: "لا توجد بيانات",
    locations: "زمن الاستجابة حسب الموقع",
    latency: "زمن الاستجابة",
    incidents: "الحوادث الأخيرة",
    no_incidents: "لا حوادث في آخر 30 يومًا.",
    certificate: "شهادة TLS",
    cert_days: "تنتهي خلال {n} يومًا",
    cert_expired: "منتهية",
    times_in: "الأوقات بتوقيت",
    back: "العودة إلى صفحة الحالة",
    not_found: "غير موجود",
    not_found_text: "لا يوجد هدف بهذا المعرّف.",
    check: &CHECK_AR,
};

/// Persian.
pub const FA: Labels = Labels {
    code: "fa",
    rtl: true,
    statuses: ["سالم", "کند", "از کار افتاده", "مسدود", "نامشخص"],
    paused: "متوقف",
    back_up: "دوباره سالم",
    incident_statuses: [
        "در حال بررسی",
        "علت شناسایی شد",
        "در حال پایش",
        "برطرف شد",
        "زمان‌بندی‌شده",
        "در حال انجام",
        "انجام شد",
    ],
    incident: "رخداد",
    maintenance: "نگهداری",
    postmortem: "گزارش پس از رخداد",
    feed_title: "وضعیت: رخدادها و نگهداری",
    group: "گروه",
    status: "وضعیت",
    chart_24h: "زمان پاسخ، ۲۴ ساعت گذشته",
    chart_30d: "زمان پاسخ، ۳۰ روز گذشته",
    p50: "p50 (میانه)",
    p95: "p95",
    ms: "میلی‌ثانیه",
    no_data: "داده‌ای نیست",
    locations: "زمان پاسخ به تفکیک مکان",
    latency: "زمان پاسخ",
    incidents: "رخدادهای اخیر",
    no_incidents: "در ۳۰ روز گذشته رخدادی نبوده است.",
    certificate: "گواهی TLS",
    cert_days: "{n} روز دیگر منقضی می‌شود",
    cert_expired: "منقضی شده",
    times_in: "زمان‌ها به وقت",
    back: "بازگشت به صفحهٔ وضعیت",
    not_found: "پیدا نشد",
    not_found_text: "چنین هدفی وجود ندارد.",
    check: &CHECK_FA,
};

/// The words of `lang` (`en` when absent).
///
/// # Errors
/// 400 naming `lang` for another language.
pub fn labels(lang: Option<&str>) -> Result<&'static Labels, ApiError> {
    match lang {
        None | Some("en") => Ok(&EN),
        Some("ar") => Ok(&AR),
        Some("fa") => Ok(&FA),
        Some(_) => Err(ApiError::bad_request("lang: en, ar or fa")),
    }
}

impl Labels {
    /// A target's status in words.
    pub fn status_word(&self, s: Status) -> &'static str {
        self.statuses[crate::page::labels::status_index(s)]
    }

    /// An incident's status in words.
    pub fn incident_status(&self, s: IncidentStatus) -> &'static str {
        self.incident_statuses[crate::page::labels::incident_status_index(s)]
    }

    /// A target's change in an auto incident: `Back up` for healthy, else the status word.
    pub fn change_word(&self, s: Status) -> &'static str {
        if s == Status::Healthy {
            self.back_up
        } else {
            self.status_word(s)
        }
    }

    /// The certificate's remaining days in words.
    pub fn cert(&self, days: i64) -> String {
        if days < 0 {
            self.cert_expired.to_string()
        } else {
            self.cert_days.replace("{n}", &days.to_string())
        }
    }

    /// An incident's title: the operator's as given; for one opened from status changes (empty
    /// title), its targets by the status they went to (`Down: api, web`), at most five names
    /// and the count of the rest. `name` gives a target's current name by id.
    pub fn incident_title<'a>(
        &self,
        incident: &'a Incident,
        name: impl Fn(&'a str) -> Option<&'a str>,
    ) -> String {
        if !incident.title.is_empty() {
            return incident.title.clone();
        }
        // The status each target went to when the incident opened (the first update's
        // changes), else the one it has now.
        let opened = incident
            .updates
            .first()
            .map(|u| u.changes.as_slice())
            .filter(|c| !c.is_empty())
            .unwrap_or(&incident.targets);
        let mut by_status: Vec<(Status, Vec<&str>)> = Vec::new();
        for t in opened {
            let shown = name(&t.id).unwrap_or(if t.name.is_empty() { &t.id } else { &t.name });
            match by_status.iter_mut().find(|(s, _)| *s == t.status) {
                Some((_, names)) => names.push(shown),
                None => by_status.push((t.status, vec![shown])),
            }
        }
        if by_status.is_empty() {
            return match incident.kind {
                IncidentKind::Incident => self.incident.to_string(),
                IncidentKind::Maintenance => self.maintenance.to_string(),
            };
        }
        by_status
            .iter()
            .map(|(s, names)| {
                let mut list = names.iter().take(5).copied().collect::<Vec<_>>().join(", ");
                if names.len() > 5 {
                    list.push_str(&format!(" (+{})", names.len() - 5));
                }
                format!("{}: {list}", self.change_word(*s))
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

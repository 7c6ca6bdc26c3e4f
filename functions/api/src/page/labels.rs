//! Every word the status page shows, in English, Arabic and Persian (`?lang=ar`, `?lang=fa`,
//! right to left), and the formatting of times and dates per language: `YYYY-MM-DD HH:MM` in
//! the reader's time zone, with Arabic-Indic digits (`٠١٢`) in Arabic and Extended Arabic-Indic
//! digits (`۰۱۲`) in Persian. Percentages keep Latin digits in every language (as the uptime
//! numbers of Persian and Arabic monitoring pages commonly do).

use lookout_core::domain::incident::IncidentStatus;
use lookout_core::domain::Status;

/// The page's words in one language.
pub struct Labels {
    /// BCP 47 code, the `lang` attribute.
    pub code: &'static str,
    /// Right to left (`dir="rtl"`).
    pub rtl: bool,
    /// The default heading and `<title>`.
    pub title: &'static str,
    /// The banner when nothing is wrong.
    pub all_ok: &'static str,
    /// The banner when a target is down or blocked.
    pub some_down: &'static str,
    /// The banner when a target is degraded (none down).
    pub some_degraded: &'static str,
    /// Before a failover group's active target.
    pub active: &'static str,
    /// A failover group with no usable target.
    pub none_usable: &'static str,
    /// Heads the 30-day uptime at a row's end.
    pub uptime_30d: &'static str,
    /// Shown where a window has no checks.
    pub no_data: &'static str,
    /// Before the first day with checks when a target is younger than the window (`since`).
    pub since: &'static str,
    /// The bar's cell title: uptime and incidents words.
    pub uptime: &'static str,
    /// After a day's incident count in the bar's titles.
    pub incidents_word: &'static str,
    /// The bar's ends: `90 days ago` and `today`.
    pub days_ago: &'static str,
    /// The bar's right end.
    pub today: &'static str,
    /// Heads the open incidents.
    pub open_incidents: &'static str,
    /// Heads the incidents closed in the last 14 days.
    pub past_incidents: &'static str,
    /// When there were none.
    pub no_incidents: &'static str,
    /// A target in maintenance now (its status word).
    pub maintenance: &'static str,
    /// Heads the maintenance announced ahead.
    pub upcoming: &'static str,
    /// Before the page's time.
    pub updated: &'static str,
    /// The kind of a group of servers.
    pub servers: &'static str,
    /// The kind of a proxy pool.
    pub proxies: &'static str,
    /// Heads the per-location latencies of a target.
    pub locations: &'static str,
    /// Totals: operational, degraded, down or blocked, in maintenance, not yet checked.
    pub totals: [&'static str; 5],
    /// healthy, degraded, down, blocked, unknown.
    pub statuses: [&'static str; 5],
    /// investigating, identified, monitoring, resolved, scheduled, in progress, completed.
    pub incident_statuses: [&'static str; 7],
    /// `times in` before the zone's name; the label of UTC.
    pub times_in: &'static str,
    /// The search box's placeholder.
    pub search: &'static str,
    /// Before an incident's targets.
    pub affected: &'static str,
    /// Heads a postmortem.
    pub postmortem: &'static str,
    /// Between the names of a list and before the last one (`, ` and ` and `), and `N more`.
    pub list_sep: &'static str,
    /// Before the last name of a list.
    pub list_and: &'static str,
    /// After the count of names left out (`10 more`).
    pub more: &'static str,
    /// The word for targets.
    pub targets_word: &'static str,
    /// Before a window's start.
    pub starts: &'static str,
    /// Before a window's end.
    pub ends: &'static str,
    /// The word for latency.
    pub latency: &'static str,
    /// The 404 page of an unknown slug.
    pub not_found: &'static str,
    /// Heads the service level objectives.
    pub slos: &'static str,
    /// Before an SLO's objective.
    pub objective: &'static str,
    /// After the length of a rolling window (`30 days`).
    pub days: &'static str,
    /// A calendar-month window.
    pub calendar_month: &'static str,
    /// An availability SLI.
    pub availability: &'static str,
    /// After an SLO's SLI (`99.95% so far`).
    pub so_far: &'static str,
    /// After the share of the error budget left (`63.2% of error budget left`).
    pub budget_left: &'static str,
    /// An SLO whose ticket alert fires.
    pub burning: &'static str,
    /// An SLO whose page alert fires.
    pub burning_fast: &'static str,
}

pub const EN: Labels = Labels {
    code: "en",
    rtl: false,
    title: "Service status",
    all_ok: "All systems operational",
    some_down: "Some systems are down",
    some_degraded: "Some systems are degraded",
    active: "Active",
    none_usable: "none usable",
    uptime_30d: "30 d",
    no_data: "no data",
    since: "since",
    uptime: "uptime",
    incidents_word: "incidents",
    days_ago: "90 days ago",
    today: "today",
    open_incidents: "Open incidents",
    past_incidents: "Past incidents (14 days)",
    no_incidents: "No incidents in the last 14 days.",
    maintenance: "Maintenance",
    upcoming: "Scheduled maintenance",
    updated: "Updated",
    servers: "Servers",
    proxies: "Proxy pool",
    locations: "By location",
    totals: [
        "operational",
        "degraded",
        "down",
        "in maintenance",
        "not yet checked",
    ],
    statuses: ["operational", "degraded", "down", "blocked", "unknown"],
    incident_statuses: [
        "investigating",
        "identified",
        "monitoring",
        "resolved",
        "scheduled",
        "in progress",
        "completed",
    ],
    times_in: "Times in",
    search: "Filter by name or group",
    affected: "Affected",
    postmortem: "Postmortem",
    list_sep: ", ",
    list_and: " and ",
    more: "more",
    targets_word: "targets",
    starts: "from",
    ends: "to",
    latency: "latency",
    not_found: "No such status page.",
    slos: "Service level objectives",
    objective: "objective",
    days: "days",
    calendar_month: "calendar month",
    availability: "availability",
    so_far: "so far",
    budget_left: "of error budget left",
    burning: "burning budget",
    burning_fast: "burning budget fast",
};

pub const AR: Labels = Labels {
    code: "ar",
    rtl: true,
    title: "حالة الخدمة",
    all_ok: "جميع الأنظمة تعمل",
    some_down: "بعض الأنظمة متوقفة",
    some_degraded: "بعض الأنظمة متدهورة",
    active: "النشط",
    none_usable: "لا يوجد صالح",
    uptime_30d: "30 يومًا",
    no_data: "لا بيانات",
    since: "منذ",
    uptime: "التوفر",
    incidents_word: "حوادث",
    days_ago: "قبل 90 يومًا",
    today: "اليوم",
    open_incidents: "حوادث جارية",
    past_incidents: "الحوادث السابقة (14 يومًا)",
    no_incidents: "لا حوادث في آخر 14 يومًا.",
    maintenance: "صيانة",
    upcoming: "صيانة مجدولة",
    updated: "آخر تحديث",
    servers: "الخوادم",
    proxies: "مجموعة البروكسي",
    locations: "حسب الموقع",
    totals: ["تعمل", "متدهورة", "متوقفة", "قيد الصيانة", "لم تُفحص بعد"],
    statuses: ["يعمل", "متدهور", "متوقف", "محظور", "غير معروف"],
    incident_statuses: [
        "قيد التحقيق",
        "تم تحديد السبب",
        "قيد المراقبة",
        "تم الحل",
        "مجدولة",
        "جارية",
        "اكتملت",
    ],
    times_in: "الأوقات بتوقيت",
    search: "تصفية حسب الاسم أو المجموعة",
    affected: "المتأثر",
    postmortem: "تقرير ما بعد الحادثة",
    list_sep: "، ",
    list_and: " و",
    more: "أخرى",
    targets_word: "أهداف",
    starts: "من",
    ends: "إلى",
    latency: "زمن الاستجابة",
    not_found: "لا توجد صفحة حالة بهذا الاسم.",
    slos: "أهداف مستوى الخدمة",
    objective: "الهدف",
    days: "يومًا",
    calendar_month: "الشهر الجاري",
    availability: "التوفر",
    so_far: "حتى الآن",
    budget_left: "متبقٍ من ميزانية الأخطاء",
    burning: "يستهلك الميزانية",
    burning_fast: "يستهلك الميزانية بسرعة",
};

pub const FA: Labels = Labels {
    code: "fa",
    rtl: true,
    title: "وضعیت سرویس",
    all_ok: "همه سامانه‌ها فعال هستند",
    some_down: "برخی سامانه‌ها از کار افتاده‌اند",
    some_degraded: "برخی سامانه‌ها کند هستند",
    active: "فعال",
    none_usable: "هیچ‌کدام قابل استفاده نیست",
    uptime_30d: "۳۰ روز",
    no_data: "بدون داده",
    since: "از",
    uptime: "دسترس‌پذیری",
    incidents_word: "رخداد",
    days_ago: "۹۰ روز پیش",
    today: "امروز",
    open_incidents: "رخدادهای باز",
    past_incidents: "رخدادهای گذشته (۱۴ روز)",
    no_incidents: "در ۱۴ روز گذشته رخدادی نبوده است.",
    maintenance: "نگهداری",
    upcoming: "نگهداری برنامه‌ریزی‌شده",
    updated: "به‌روزرسانی",
    servers: "سرورها",
    proxies: "استخر پراکسی",
    locations: "به تفکیک مکان",
    totals: [
        "فعال",
        "کند",
        "از کار افتاده",
        "در حال نگهداری",
        "هنوز بررسی نشده",
    ],
    statuses: ["فعال", "کند", "از کار افتاده", "مسدود", "نامشخص"],
    incident_statuses: [
        "در حال بررسی",
        "علت شناسایی شد",
        "در حال پایش",
        "برطرف شد",
        "برنامه‌ریزی‌شده",
        "در حال انجام",
        "انجام شد",
    ],
    times_in: "زمان‌ها به وقت",
    search: "جستجو بر اساس نام یا گروه",
    affected: "تحت تأثیر",
    postmortem: "گزارش پس از رخداد",
    list_sep: "، ",
    list_and: " و ",
    more: "مورد دیگر",
    targets_word: "هدف",
    starts: "از",
    ends: "تا",
    latency: "تأخیر",
    not_found: "چنین صفحه وضعیتی وجود ندارد.",
    slos: "اهداف سطح خدمت",
    objective: "هدف",
    days: "روز",
    calendar_month: "ماه جاری",
    availability: "دسترس‌پذیری",
    so_far: "تاکنون",
    budget_left: "از بودجه خطا باقی مانده",
    burning: "در حال مصرف بودجه",
    burning_fast: "مصرف سریع بودجه",
};

/// The words of `lang` (`ar`, `fa`; anything else English).
pub fn labels(lang: Option<&str>) -> &'static Labels {
    match lang {
        Some("ar") => &AR,
        Some("fa") => &FA,
        _ => &EN,
    }
}

/// Where a target status's word stands in a language's five status words (healthy, degraded,
/// down, blocked, unknown), for the status page's and a target page's word lists.
pub fn status_index(s: Status) -> usize {
    match s {
        Status::Healthy => 0,
        Status::Degraded => 1,
        Status::Down => 2,
        Status::Blocked => 3,
        Status::Unknown => 4,
    }
}

/// Where an incident status's word stands in a language's seven incident status words
/// (investigating, identified, monitoring, resolved, scheduled, in progress, completed).
pub fn incident_status_index(s: IncidentStatus) -> usize {
    match s {
        IncidentStatus::Investigating => 0,
        IncidentStatus::Identified => 1,
        IncidentStatus::Monitoring => 2,
        IncidentStatus::Resolved => 3,
        IncidentStatus::Scheduled => 4,
        IncidentStatus::InProgress => 5,
        IncidentStatus::Completed => 6,
    }
}

impl Labels {
    /// A target status in words.
    pub fn status(&self, s: Status) -> &'static str {
        self.statuses[status_index(s)]
    }

    /// An incident status in words.
    pub fn incident_status(&self, s: IncidentStatus) -> &'static str {
        self.incident_statuses[incident_status_index(s)]
    }

    /// `text` with its ASCII digits in this language's digits.
    pub fn digits(&self, text: &str) -> String {
        let zero = match self.code {
            "ar" => '\u{0660}',
            "fa" => '\u{06F0}',
            _ => return text.to_string(),
        };
        text.chars()
            .map(|c| match c.to_digit(10) {
                Some(d) if c.is_ascii_digit() => char::from_u32(zero as u32 + d).unwrap_or(c),
                _ => c,
            })
            .collect()
    }

    /// Names as a list a reader says: `a, b and c`; beyond `shown` names, `a, b and 10 more`.
    pub fn name_list(&self, names: &[String], shown: usize) -> String {
        let (head, rest) = names.split_at(names.len().min(shown));
        let mut parts: Vec<String> = head.to_vec();
        if !rest.is_empty() {
            parts.push(self.digits(&format!("{} {}", rest.len(), self.more)));
        }
        match parts.split_last() {
            None => String::new(),
            Some((last, [])) => last.clone(),
            Some((last, init)) => format!("{}{}{last}", init.join(self.list_sep), self.list_and),
        }
    }

    /// The title of an incident opened from status changes: its targets and what happened to
    /// them (`api-1, api-2 and 10 more are down`), in this language.
    pub fn auto_title(&self, names: &[String], status: Option<Status>) -> String {
        let list = self.name_list(names, 3);
        let word = status.map_or(self.totals[1], |s| self.status(s));
        match self.code {
            "ar" => format!("{list}: {word}"),
            "fa" => format!("{list}: {word}"),
            _ => {
                let verb = if names.len() == 1 { "is" } else { "are" };
                let word = match status {
                    Some(Status::Healthy) => "back up",
                    Some(_) => word,
                    None => "having problems",
                };
                format!("{list} {verb} {word}")
            }
        }
    }
}

/// `ms` (epoch ms) as `YYYY-MM-DD HH:MM` in `tz`, in `l`'s digits.
pub fn time(l: &Labels, tz: &jiff::tz::TimeZone, ms: i64) -> String {
    fmt(l, tz, ms, "%Y-%m-%d %H:%M")
}

/// `ms` (epoch ms) as `YYYY-MM-DD` in `tz`, in `l`'s digits.
pub fn date(l: &Labels, tz: &jiff::tz::TimeZone, ms: i64) -> String {
    fmt(l, tz, ms, "%Y-%m-%d")
}

fn fmt(l: &Labels, tz: &jiff::tz::TimeZone, ms: i64, pattern: &str) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) => l.digits(&ts.to_zoned(tz.clone()).strftime(pattern).to_string()),
        Err(_) => String::new(),
    }
}

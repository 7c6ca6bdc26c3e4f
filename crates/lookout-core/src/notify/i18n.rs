//! Message texts in English, Arabic and Persian: the headline of each alert kind, status and
//! severity words and field labels, used by every renderer. The alert's own `text` (the
//! technical reason, in English) is appended as it is.
//!
//! Persian is written with the Persian letters ی (U+06CC) and ک (U+06A9), never the Arabic
//! ي (U+064A) and ك (U+0643), and with the zero-width non-joiner (U+200C) where Persian
//! spelling has a half space (می‌شود). Numbers stay in ASCII digits in all three languages, so
//! ids, times and counts read the same everywhere.

use crate::domain::{AlertKind, LocationSplit, Severity, Status, TargetKind};

use super::channel::Language;

/// A field label in a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    /// The target (name and id).
    Target,
    /// The group or pool.
    Group,
    /// The status, before and after.
    Status,
    /// How urgent.
    Severity,
    /// When it happened.
    Time,
    /// The technical reason (the alert's text).
    Details,
    /// The kind of target (server or proxy).
    Kind,
    /// The probe location an alert is about (`location_silent`, `location_back`).
    Location,
    /// Which probe locations saw a target failing ([`locations`]).
    Locations,
}

impl Language {
    /// Whether the language is written right to left (Arabic, Persian).
    pub fn rtl(self) -> bool {
        matches!(self, Language::Ar | Language::Fa)
    }

    /// The BCP 47 tag (`en`, `ar`, `fa`).
    pub fn tag(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Ar => "ar",
            Language::Fa => "fa",
        }
    }
}

/// The label of a field.
pub fn label(lang: Language, l: Label) -> &'static str {
    use Label::*;
    match (lang, l) {
        (Language::En, Target) => "Target",
        (Language::En, Group) => "Group",
        (Language::En, Status) => "Status",
        (Language::En, Severity) => "Severity",
        (Language::En, Time) => "Time",
        (Language::En, Details) => "Details",
        (Language::En, Kind) => "Kind",
        (Language::En, Location) => "Location",
        (Language::En, Locations) => "Locations",
        (Language::Ar, Target) => "الهدف",
        (Language::Ar, Group) => "المجموعة",
        (Language::Ar, Status) => "الحالة",
        (Language::Ar, Severity) => "الخطورة",
        (Language::Ar, Time) => "الوقت",
        (Language::Ar, Details) => "التفاصيل",
        (Language::Ar, Kind) => "النوع",
        (Language::Ar, Location) => "الموقع",
        (Language::Ar, Locations) => "المواقع",
        (Language::Fa, Target) => "هدف",
        (Language::Fa, Group) => "گروه",
        (Language::Fa, Status) => "وضعیت",
        (Language::Fa, Severity) => "شدت",
        (Language::Fa, Time) => "زمان",
        (Language::Fa, Details) => "جزئیات",
        (Language::Fa, Kind) => "نوع",
        (Language::Fa, Location) => "مکان",
        (Language::Fa, Locations) => "مکان\u{200c}ها",
    }
}

/// A status as a word (`down`, `متوقف`, `از کار افتاده`).
pub fn status(lang: Language, s: Status) -> &'static str {
    match (lang, s) {
        (Language::En, _) => s.as_str(),
        (Language::Ar, Status::Healthy) => "سليم",
        (Language::Ar, Status::Degraded) => "بطيء",
        (Language::Ar, Status::Down) => "متوقف",
        (Language::Ar, Status::Blocked) => "محظور",
        (Language::Ar, Status::Unknown) => "غير معروف",
        (Language::Fa, Status::Healthy) => "سالم",
        (Language::Fa, Status::Degraded) => "کند",
        (Language::Fa, Status::Down) => "از کار افتاده",
        (Language::Fa, Status::Blocked) => "مسدود",
        (Language::Fa, Status::Unknown) => "نامشخص",
    }
}

/// A severity as a word (`Critical`, `حرج`, `بحرانی`).
pub fn severity(lang: Language, s: Severity) -> &'static str {
    match (lang, s) {
        (Language::En, Severity::Info) => "Info",
        (Language::En, Severity::Warning) => "Warning",
        (Language::En, Severity::Critical) => "Critical",
        (Language::Ar, Severity::Info) => "معلومة",
        (Language::Ar, Severity::Warning) => "تحذير",
        (Language::Ar, Severity::Critical) => "حرج",
        (Language::Fa, Severity::Info) => "اطلاع",
        (Language::Fa, Severity::Warning) => "هشدار",
        (Language::Fa, Severity::Critical) => "بحرانی",
    }
}

/// A kind of target as a word (`server`, `خادم`, `سرور`).
pub fn target_kind(lang: Language, k: TargetKind) -> &'static str {
    match (lang, k) {
        (Language::En, _) => k.as_str(),
        (Language::Ar, TargetKind::Server) => "خادم",
        (Language::Ar, TargetKind::Proxy) => "بروكسي",
        (Language::Fa, TargetKind::Server) => "سرور",
        (Language::Fa, TargetKind::Proxy) => "پروکسی",
    }
}

/// A group (of servers) or pool (of proxies) named `name`: `group web`, `المجموعة web`,
/// `گروه web`.
pub fn group_name(lang: Language, k: TargetKind, name: &str) -> String {
    let word = match (lang, k) {
        (Language::En, TargetKind::Server) => "Group",
        (Language::En, TargetKind::Proxy) => "Pool",
        (Language::Ar, TargetKind::Server) => "المجموعة",
        (Language::Ar, TargetKind::Proxy) => "مجموعة البروكسي",
        (Language::Fa, TargetKind::Server) => "گروه",
        (Language::Fa, TargetKind::Proxy) => "مجموعهٔ پروکسی",
    };
    format!("{word} {name}")
}

/// What a headline is about: the alert kind and the words it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject<'a> {
    /// The alert kind.
    pub kind: AlertKind,
    /// The target's name (or, for group alerts, the group's).
    pub name: &'a str,
    /// Server or proxy.
    pub target_kind: TargetKind,
    /// The new status (status changes).
    pub new_status: Status,
    /// How many targets (storms).
    pub count: usize,
}

/// The headline of an alert: `web is down`, `web متوقف`, `web از کار افتاده است`.
pub fn title(lang: Language, s: &Subject<'_>) -> String {
    let name = s.name;
    let st = status(lang, s.new_status);
    match (lang, s.kind) {
        (Language::En, AlertKind::StatusChange) => format!("{name} is {st}"),
        (Language::En, AlertKind::Recovery) => format!("{name} recovered"),
        (Language::En, AlertKind::GroupCritical) => format!("{name} is critical"),
        (Language::En, AlertKind::GroupRecovered) => format!("{name} recovered"),
        (Language::En, AlertKind::Reminder) => format!("{name} is still down"),
        (Language::En, AlertKind::CertExpiring) => {
            format!("The certificate of {name} expires soon")
        }
        (Language::En, AlertKind::Traffic) => format!("{name} is over its traffic limit"),
        (Language::En, AlertKind::Storm) => format!(
            "{} {} changed status at once",
            s.count,
            s.target_kind.plural()
        ),
        (Language::En, AlertKind::DailyReport) => {
            format!("Daily report: {}", s.target_kind.plural())
        }
        (Language::En, AlertKind::LocationSilent) => {
            format!("Probe location {name} is not reporting")
        }
        (Language::En, AlertKind::LocationBack) => format!("Probe location {name} reports again"),
        (Language::En, AlertKind::Flapping) => format!("{name} is flapping"),
        (Language::En, AlertKind::FlappingStopped) => format!("{name} stopped flapping"),
        (Language::En, AlertKind::SloBurn) => format!("SLO {name} is burning its error budget"),
        (Language::En, AlertKind::SloBurnResolved) => {
            format!("SLO {name} no longer burns its error budget too fast")
        }

        (Language::Ar, AlertKind::StatusChange) => format!("{name} {st}"),
        (Language::Ar, AlertKind::Recovery) => format!("{name} عاد إلى العمل"),
        (Language::Ar, AlertKind::GroupCritical) => format!("{name} في حالة حرجة"),
        (Language::Ar, AlertKind::GroupRecovered) => format!("{name} عادت إلى العمل"),
        (Language::Ar, AlertKind::Reminder) => format!("{name} لا يزال متوقفًا"),
        (Language::Ar, AlertKind::CertExpiring) => {
            format!("شهادة {name} تنتهي صلاحيتها قريبًا")
        }
        (Language::Ar, AlertKind::Traffic) => format!("{name} تجاوز حد حركة البيانات"),
        (Language::Ar, AlertKind::Storm) => match s.target_kind {
            TargetKind::Server => format!("عدد الخوادم التي تغيرت حالتها معًا: {}", s.count),
            TargetKind::Proxy => format!("عدد البروكسيات التي تغيرت حالتها معًا: {}", s.count),
        },
        (Language::Ar, AlertKind::DailyReport) => match s.target_kind {
            TargetKind::Server => "التقرير اليومي: الخوادم".into(),
            TargetKind::Proxy => "التقرير اليومي: البروكسيات".into(),
        },
        (Language::Ar, AlertKind::LocationSilent) => {
            format!("موقع الفحص {name} لا يرسل تقارير")
        }
        (Language::Ar, AlertKind::LocationBack) => {
            format!("موقع الفحص {name} عاد إلى إرسال التقارير")
        }
        (Language::Ar, AlertKind::Flapping) => format!("حالة {name} متقلبة"),
        (Language::Ar, AlertKind::FlappingStopped) => format!("حالة {name} استقرت"),
        (Language::Ar, AlertKind::SloBurn) => {
            format!("هدف مستوى الخدمة {name} يستهلك ميزانية الأخطاء بسرعة")
        }
        (Language::Ar, AlertKind::SloBurnResolved) => {
            format!("هدف مستوى الخدمة {name} توقف عن استهلاك ميزانية الأخطاء بسرعة")
        }

        (Language::Fa, AlertKind::StatusChange) => format!("{name} {st} است"),
        (Language::Fa, AlertKind::Recovery) => format!("{name} دوباره سالم شد"),
        (Language::Fa, AlertKind::GroupCritical) => format!("{name} در وضعیت بحرانی است"),
        (Language::Fa, AlertKind::GroupRecovered) => format!("{name} دوباره سالم شد"),
        (Language::Fa, AlertKind::Reminder) => format!("{name} هنوز از کار افتاده است"),
        (Language::Fa, AlertKind::CertExpiring) => {
            format!("گواهی {name} به\u{200c}زودی منقضی می\u{200c}شود")
        }
        (Language::Fa, AlertKind::Traffic) => format!("ترافیک {name} از سقف مجاز گذشته است"),
        (Language::Fa, AlertKind::Storm) => format!(
            "وضعیت {} {} هم\u{200c}زمان تغییر کرد",
            s.count,
            target_kind(lang, s.target_kind)
        ),
        (Language::Fa, AlertKind::DailyReport) => match s.target_kind {
            TargetKind::Server => "گزارش روزانه: سرورها".into(),
            TargetKind::Proxy => "گزارش روزانه: پروکسی\u{200c}ها".into(),
        },
        (Language::Fa, AlertKind::LocationSilent) => {
            format!("مکان پایش {name} گزارش نمی\u{200c}دهد")
        }
        (Language::Fa, AlertKind::LocationBack) => {
            format!("مکان پایش {name} دوباره گزارش می\u{200c}دهد")
        }
        (Language::Fa, AlertKind::Flapping) => format!("وضعیت {name} ناپایدار است"),
        (Language::Fa, AlertKind::FlappingStopped) => format!("وضعیت {name} پایدار شد"),
        (Language::Fa, AlertKind::SloBurn) => {
            format!("هدف سطح خدمت {name} بودجهٔ خطا را با سرعت مصرف می\u{200c}کند")
        }
        (Language::Fa, AlertKind::SloBurnResolved) => {
            format!("هدف سطح خدمت {name} دیگر بودجهٔ خطا را با سرعت مصرف نمی\u{200c}کند")
        }
    }
}

/// Which locations saw a target failing, in `lang` (`status` is the decided status): English is
/// [`LocationSplit::describe`] (`down from 2 of 3 locations (eu-west-1, us-east-1); ap-south-1
/// sees it healthy`); Arabic `متوقف وفق 2 من أصل 3 مواقع (eu-west-1، us-east-1)؛ ويراه سليمًا:
/// ap-south-1`; Persian `از دید 2 از 3 مکان (eu-west-1، us-east-1) از کار افتاده است؛ از دید
/// ap-south-1 سالم است`. Locations left out as stale are listed last.
pub fn locations(lang: Language, split: &LocationSplit, st: Status) -> String {
    if lang == Language::En {
        return split.describe(st);
    }
    let failing = matches!(st, Status::Down | Status::Blocked);
    let (agree, others) = if failing {
        (&split.failing, &split.passing)
    } else {
        (&split.passing, &split.failing)
    };
    let reporting = split.failing.len() + split.passing.len();
    let word = status(lang, st);
    let list = |l: &[String]| l.join("، ");
    let mut s = match lang {
        Language::Ar => format!(
            "{word} وفق {} من أصل {reporting} مواقع ({})",
            agree.len(),
            list(agree)
        ),
        _ => format!(
            "از دید {} از {reporting} مکان ({}) {word} است",
            agree.len(),
            list(agree)
        ),
    };
    if !others.is_empty() {
        let other_word = match (lang, failing) {
            (Language::Ar, true) => "ويراه سليمًا",
            (Language::Ar, false) => "ويراه متوقفًا",
            (_, true) => "سالم",
            (_, false) => "از کار افتاده",
        };
        match lang {
            Language::Ar => s.push_str(&format!("؛ {other_word}: {}", list(others))),
            _ => s.push_str(&format!("؛ از دید {} {other_word} است", list(others))),
        }
    }
    if !split.stale.is_empty() {
        let word = match lang {
            Language::Ar => "لا ترسل تقارير",
            _ => "بدون گزارش",
        };
        s.push_str(&format!("؛ {word}: {}", list(&split.stale)));
    }
    s
}

/// The headline of a channel's test message.
pub fn test_title(lang: Language, channel_name: &str) -> String {
    match lang {
        Language::En => format!("Test message from Lookout to {channel_name}"),
        Language::Ar => format!("رسالة اختبار من Lookout إلى {channel_name}"),
        Language::Fa => format!("پیام آزمایشی از Lookout به {channel_name}"),
    }
}

/// The body of a channel's test message.
pub fn test_text(lang: Language) -> &'static str {
    match lang {
        Language::En => "This channel works: alerts that its route takes will arrive here.",
        Language::Ar => "هذه القناة تعمل: ستصل إلى هنا التنبيهات التي يقبلها مسارها.",
        Language::Fa => "این کانال کار می\u{200c}کند: هشدارهایی که مسیر آن می\u{200c}پذیرد به اینجا می\u{200c}رسند.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_KINDS: [AlertKind; 15] = AlertKind::ALL;

    fn split() -> LocationSplit {
        LocationSplit {
            failing: vec!["eu-west-1".into(), "us-east-1".into()],
            passing: vec!["ap-south-1".into()],
            stale: Vec::new(),
        }
    }

    /// Every text of `lang`: titles of every kind and status, labels, words.
    fn every_text(lang: Language) -> Vec<String> {
        let mut out = Vec::new();
        for kind in ALL_KINDS {
            for st in Status::ALL {
                for tk in TargetKind::ALL {
                    out.push(title(
                        lang,
                        &Subject {
                            kind,
                            name: "web",
                            target_kind: tk,
                            new_status: st,
                            count: 12,
                        },
                    ));
                    out.push(group_name(lang, tk, "g"));
                    out.push(target_kind(lang, tk).into());
                }
            }
        }
        for l in [
            Label::Target,
            Label::Group,
            Label::Status,
            Label::Severity,
            Label::Time,
            Label::Details,
            Label::Kind,
            Label::Location,
            Label::Locations,
        ] {
            out.push(label(lang, l).into());
        }
        let mut stale = split();
        stale.stale.push("sa-east-1".into());
        for st in Status::ALL {
            out.push(locations(lang, &stale, st));
        }
        for s in [Severity::Info, Severity::Warning, Severity::Critical] {
            out.push(severity(lang, s).into());
        }
        out.push(test_title(lang, "ops"));
        out.push(test_text(lang).into());
        out
    }

    #[test]
    fn persian_uses_persian_yeh_and_keheh_and_arabic_uses_arabic_ones() {
        for t in every_text(Language::Fa) {
            assert!(
                !t.contains('\u{064A}') && !t.contains('\u{0643}'),
                "Arabic ي or ك in Persian text {t:?}"
            );
        }
        for t in every_text(Language::Ar) {
            assert!(
                !t.contains('\u{06CC}') && !t.contains('\u{06A9}') && !t.contains('\u{06AF}'),
                "Persian letter in Arabic text {t:?}"
            );
        }
    }

    #[test]
    fn titles_name_the_target_and_read_in_the_language() {
        let s = Subject {
            kind: AlertKind::StatusChange,
            name: "web",
            target_kind: TargetKind::Server,
            new_status: Status::Down,
            count: 0,
        };
        assert_eq!(title(Language::En, &s), "web is down");
        assert_eq!(title(Language::Ar, &s), "web متوقف");
        assert_eq!(title(Language::Fa, &s), "web از کار افتاده است");
        let r = Subject {
            kind: AlertKind::Recovery,
            ..s
        };
        assert_eq!(title(Language::En, &r), "web recovered");
        assert_eq!(title(Language::Fa, &r), "web دوباره سالم شد");
        for lang in [Language::Ar, Language::Fa] {
            assert!(lang.rtl());
            for t in every_text(lang) {
                assert!(
                    t.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)),
                    "{t:?} is not in {lang:?}"
                );
            }
        }
        assert!(!Language::En.rtl());
    }

    #[test]
    fn the_location_sentence_reads_in_each_language() {
        assert_eq!(
            locations(Language::En, &split(), Status::Down),
            "down from 2 of 3 locations (eu-west-1, us-east-1); ap-south-1 sees it healthy"
        );
        assert_eq!(
            locations(Language::Ar, &split(), Status::Down),
            "متوقف وفق 2 من أصل 3 مواقع (eu-west-1، us-east-1)؛ ويراه سليمًا: ap-south-1"
        );
        assert_eq!(
            locations(Language::Fa, &split(), Status::Down),
            "از دید 2 از 3 مکان (eu-west-1، us-east-1) از کار افتاده است؛ از دید ap-south-1 سالم است"
        );
        let back = LocationSplit {
            failing: Vec::new(),
            passing: vec!["a".into(), "b".into()],
            stale: vec!["c".into()],
        };
        assert_eq!(
            locations(Language::Fa, &back, Status::Healthy),
            "از دید 2 از 2 مکان (a، b) سالم است؛ بدون گزارش: c"
        );
        assert_eq!(
            locations(Language::Ar, &back, Status::Healthy),
            "سليم وفق 2 من أصل 2 مواقع (a، b)؛ لا ترسل تقارير: c"
        );
    }

    #[test]
    fn location_alerts_are_titled_by_the_location() {
        for (kind, en) in [
            (
                AlertKind::LocationSilent,
                "Probe location eu-west-1 is not reporting",
            ),
            (
                AlertKind::LocationBack,
                "Probe location eu-west-1 reports again",
            ),
        ] {
            let s = Subject {
                kind,
                name: "eu-west-1",
                target_kind: TargetKind::Server,
                new_status: Status::Down,
                count: 0,
            };
            assert_eq!(title(Language::En, &s), en);
            for lang in [Language::Ar, Language::Fa] {
                assert!(title(lang, &s).contains("eu-west-1"));
            }
        }
    }
}

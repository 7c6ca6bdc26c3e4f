//! The field table of the target form: every field of a definition of each kind, as
//! `lookout_core::domain::target` reads it (the common fields of `validate.rs`'s
//! `COMMON_FIELDS`, and each kind's own: `SERVER_FIELDS`, `PROXY_FIELDS` and the `FIELDS` of
//! `tcp.rs`, `tls.rs`, `dns.rs`, `heartbeat.rs`), with its label in English, Arabic and
//! Persian and its input. A field's input is named by its JSON path.
//!
//! The form's text goes both ways: [`raw_of`] turns a definition (JSON, as `GET
//! /v1/targets/{id}` answers it) into the inputs' text, [`parse`] turns the inputs' text back
//! into a definition. An empty input is a field left out (the API's default applies); a number
//! that does not parse is sent as text, so that the API's refusal names the field.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::console::view::Lang;

/// How a field is entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// One line of text.
    Text,
    /// Several lines of text, sent as they are (a request body, PEM certificates).
    Area,
    /// A number (an integer or a decimal).
    Number,
    /// A checkbox: `true` or `false`, always sent (a hidden `false` before the box), with the
    /// definition's default shown when the field is unset.
    Checkbox(bool),
    /// One of the enum's values (`""`: unset, for an optional one).
    Select(&'static [&'static str]),
    /// A list of text, one entry a line.
    Lines,
    /// A list of numbers (or text such as a status range `200-299`), one a line.
    NumLines,
    /// A header map, `Name: value` a line.
    Headers,
    /// Any JSON value (a nested object or list).
    Json,
}

/// Which part of the form a field is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Id, name, group, tags.
    Identity,
    /// What the kind checks.
    Probe,
    /// Schedule, timeouts and thresholds.
    Schedule,
    /// Failover, maintenance, locations.
    Advanced,
}

/// One field of the form.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The JSON path, also the input's name.
    pub path: &'static str,
    /// The label in English, Arabic and Persian.
    pub label: [&'static str; 3],
    /// How it is entered.
    pub input: Input,
    /// Where it is shown.
    pub section: Section,
}

impl Field {
    /// The label in `lang`.
    pub fn label(&self, lang: Lang) -> &'static str {
        lang.t(self.label[0], self.label[1], self.label[2])
    }
}

const fn f(path: &'static str, label: [&'static str; 3], input: Input, section: Section) -> Field {
    Field {
        path,
        label,
        input,
        section,
    }
}

use Input::*;
use Section::*;

/// The fields every kind has (`kind` and `version` are hidden inputs, not in the table).
#[rustfmt::skip]
pub const COMMON: &[Field] = &[
    f("id", ["Id (a-z, 0-9, - _ .)", "المعرّف (a-z، 0-9، - _ .)", "شناسه (a-z، 0-9، - _ .)"], Text, Identity),
    f("name", ["Name", "الاسم", "نام"], Text, Identity),
    f("group", ["Group", "المجموعة", "گروه"], Text, Identity),
    f("tags", ["Tags (one a line)", "الوسوم (واحد في كل سطر)", "برچسب‌ها (هر خط یکی)"], Lines, Identity),
    f("enabled", ["Enabled", "مفعّل", "فعال"], Checkbox(true), Identity),
    f("interval_s", ["Interval, s (default 60)", "الفاصل، ث (الافتراضي 60)", "فاصله، ثانیه (پیش‌فرض ۶۰)"], Number, Schedule),
    f("timeout_ms", ["Timeout, ms (default 10000)", "المهلة، مللي ث (الافتراضي 10000)", "مهلت، میلی‌ثانیه (پیش‌فرض ۱۰۰۰۰)"], Number, Schedule),
    f("connect_timeout_ms", ["Connect timeout, ms", "مهلة الاتصال، مللي ث", "مهلت اتصال، میلی‌ثانیه"], Number, Schedule),
    f("retries", ["Retries (0 to 10)", "إعادة المحاولة (0 إلى 10)", "تلاش دوباره (۰ تا ۱۰)"], Number, Schedule),
    f("backoff_ms", ["Backoff before a retry, ms (default 200)", "الانتظار قبل إعادة المحاولة، مللي ث (الافتراضي 200)", "مکث پیش از تلاش دوباره، میلی‌ثانیه (پیش‌فرض ۲۰۰)"], Number, Schedule),
    f("failure_threshold", ["Failures before down (default 3)", "الإخفاقات قبل التوقف (الافتراضي 3)", "شکست‌ها پیش از ازکارافتادن (پیش‌فرض ۳)"], Number, Schedule),
    f("recovery_threshold", ["Successes before up (default 1)", "النجاحات قبل العودة (الافتراضي 1)", "موفقیت‌ها پیش از بازگشت (پیش‌فرض ۱)"], Number, Schedule),
    f("degraded_latency_ms", ["Degraded above, ms (default 2000)", "متدهور فوق، مللي ث (الافتراضي 2000)", "کُند بالاتر از، میلی‌ثانیه (پیش‌فرض ۲۰۰۰)"], Number, Schedule),
    f("reminder_every_min", ["Reminder while down, every min (0: none)", "تذكير أثناء التوقف، كل دقيقة (0: لا شيء)", "یادآوری هنگام ازکارافتادن، هر دقیقه (۰: هیچ)"], Number, Schedule),
    f("flap_detection", ["Flap detection", "كشف التذبذب", "تشخیص نوسان"], Checkbox(true), Schedule),
    f("priority", ["Failover priority (lower first)", "أولوية التبديل (الأدنى أولاً)", "اولویت جایگزینی (کمتر اول)"], Number, Advanced),
    f("maintenance", ["Maintenance windows (JSON list)", "نوافذ الصيانة (قائمة JSON)", "بازه‌های نگهداری (فهرست JSON)"], Json, Advanced),
    f("locations", ["Probe locations (one a line; none: all)", "مواقع الفحص (واحد في كل سطر؛ لا شيء: الكل)", "مکان‌های بررسی (هر خط یکی؛ خالی: همه)"], Lines, Advanced),
    f("quorum", ["Quorum (JSON: {\"count\": n} or {\"share\": x})", "النصاب (JSON: {\"count\": n} أو {\"share\": x})", "حد نصاب (JSON: {\"count\": n} یا {\"share\": x})"], Json, Advanced),
];

#[rustfmt::skip]
const SERVER: &[Field] = &[
    f("url", ["URL (http or https)", "الرابط (http أو https)", "نشانی (http یا https)"], Text, Probe),
    f("method", ["Method (default GET)", "الطريقة (الافتراضي GET)", "روش (پیش‌فرض GET)"], Text, Probe),
    f("headers", ["Request headers (Name: value, one a line)", "ترويسات الطلب (الاسم: القيمة، واحدة في كل سطر)", "سرآیندهای درخواست (نام: مقدار، هر خط یکی)"], Headers, Probe),
    f("secret_headers", ["Secret headers (names, one a line)", "ترويسات سرية (الأسماء، واحد في كل سطر)", "سرآیندهای محرمانه (نام‌ها، هر خط یکی)"], Lines, Probe),
    f("body", ["Request body", "جسم الطلب", "بدنهٔ درخواست"], Area, Probe),
    f("expected_status", ["Accepted statuses (200 or 200-299, one a line)", "الحالات المقبولة (200 أو 200-299، واحدة في كل سطر)", "وضعیت‌های پذیرفته (۲۰۰ یا ۲۰۰-۲۹۹، هر خط یکی)"], NumLines, Probe),
    f("body_contains", ["The body contains", "الجسم يحتوي على", "بدنه شامل است"], Text, Probe),
    f("body_not_contains", ["The body does not contain", "الجسم لا يحتوي على", "بدنه شامل نیست"], Text, Probe),
    f("json_pointer", ["JSON pointer (/status)", "مؤشر JSON (/status)", "اشاره‌گر JSON (/status)"], Text, Probe),
    f("json_equals", ["…equals (JSON value)", "…يساوي (قيمة JSON)", "…برابر است با (مقدار JSON)"], Json, Probe),
    f("max_body_bytes", ["Body bytes read (default 65536)", "بايتات الجسم المقروءة (الافتراضي 65536)", "بایت‌های خوانده‌شدهٔ بدنه (پیش‌فرض ۶۵۵۳۶)"], Number, Probe),
    f("follow_redirects", ["Follow redirects", "اتباع إعادة التوجيه", "دنبال کردن تغییر مسیر"], Checkbox(false), Probe),
    f("cert_expiry_warn_days", ["Warn when the certificate has fewer days left (default 14)", "التنبيه عندما تقل أيام الشهادة عن (الافتراضي 14)", "هشدار وقتی روزهای گواهی کمتر باشد (پیش‌فرض ۱۴)"], Number, Probe),
    f("ca_pem", ["Private CA (PEM)", "جهة إصدار خاصة (PEM)", "مرجع صدور خصوصی (PEM)"], Area, Probe),
];

#[rustfmt::skip]
const PROXY: &[Field] = &[
    f("proxy_url", ["Proxy URL (http, https or socks5; user:password@ allowed)", "رابط الوكيل (http أو https أو socks5؛ يُسمح بـ user:password@)", "نشانی پراکسی (http، https یا socks5؛ user:password@ مجاز)"], Text, Probe),
    f("proxy_type", ["Proxy type", "نوع الوكيل", "نوع پراکسی"], Select(&["vps", "datacenter", "residential"]), Probe),
    f("cost_per_gb", ["Cost per GB", "التكلفة لكل غيغابايت", "هزینه برای هر گیگابایت"], Number, Probe),
    f("test_urls", ["Test URLs (one a line)", "روابط الاختبار (واحد في كل سطر)", "نشانی‌های آزمون (هر خط یکی)"], Lines, Probe),
    f("accept_status", ["Statuses that prove it works (default 200, 401, 404)", "الحالات التي تثبت عمله (الافتراضي 200، 401، 404)", "وضعیت‌های گواه کارکرد (پیش‌فرض ۲۰۰، ۴۰۱، ۴۰۴)"], NumLines, Probe),
    f("block_status", ["Statuses that mean blocked (default 403, 429)", "الحالات التي تعني الحظر (الافتراضي 403، 429)", "وضعیت‌های به معنای مسدود (پیش‌فرض ۴۰۳، ۴۲۹)"], NumLines, Probe),
    f("expect_body", ["Text only the upstream's answer holds", "نص لا يحمله إلا جواب الخادم الأصلي", "متنی که فقط پاسخ سرور اصلی دارد"], Text, Probe),
    f("traffic_alert_gb", ["Traffic alert above, GB a day", "تنبيه حركة المرور فوق، غيغابايت يومياً", "هشدار ترافیک بالاتر از، گیگابایت در روز"], Number, Probe),
    f("ca_pem", ["Private CA (PEM)", "جهة إصدار خاصة (PEM)", "مرجع صدور خصوصی (PEM)"], Area, Probe),
];

#[rustfmt::skip]
const TCP: &[Field] = &[
    f("host", ["Host", "المضيف", "میزبان"], Text, Probe),
    f("port", ["Port", "المنفذ", "درگاه"], Number, Probe),
    f("send", ["Send once connected", "يُرسَل بعد الاتصال", "ارسال پس از اتصال"], Area, Probe),
    f("expect_prefix", ["The answer starts with", "الجواب يبدأ بـ", "پاسخ آغاز می‌شود با"], Text, Probe),
    f("expect_regex", ["The answer matches (regular expression)", "الجواب يطابق (تعبير نمطي)", "پاسخ مطابق است با (عبارت باقاعده)"], Text, Probe),
];

#[rustfmt::skip]
const TLS: &[Field] = &[
    f("host", ["Host", "المضيف", "میزبان"], Text, Probe),
    f("port", ["Port", "المنفذ", "درگاه"], Number, Probe),
    f("server_name", ["Server name (SNI; default the host)", "اسم الخادم (SNI؛ الافتراضي المضيف)", "نام سرور (SNI؛ پیش‌فرض میزبان)"], Text, Probe),
    f("starttls", ["STARTTLS first", "STARTTLS أولاً", "ابتدا STARTTLS"], Select(&["", "smtp", "imap", "pop3", "postgres"]), Probe),
    f("cert_expiry_warn_days", ["Warn when the certificate has fewer days left (default 14)", "التنبيه عندما تقل أيام الشهادة عن (الافتراضي 14)", "هشدار وقتی روزهای گواهی کمتر باشد (پیش‌فرض ۱۴)"], Number, Probe),
    f("ca_pem", ["Private CA (PEM)", "جهة إصدار خاصة (PEM)", "مرجع صدور خصوصی (PEM)"], Area, Probe),
];

#[rustfmt::skip]
const DNS: &[Field] = &[
    f("query_name", ["Name asked for", "الاسم المطلوب", "نام پرسیده‌شده"], Text, Probe),
    f("record_type", ["Record type", "نوع السجل", "نوع رکورد"], Select(&["A", "AAAA", "CNAME", "MX", "TXT", "NS"]), Probe),
    f("resolver", ["Resolver (IP address, optional port)", "المحلّل (عنوان IP، منفذ اختياري)", "حل‌کننده (نشانی IP، درگاه اختیاری)"], Text, Probe),
    f("transport", ["Transport", "النقل", "انتقال"], Select(&["udp", "tcp"]), Probe),
    f("expect_contains", ["Answers that must be there (one a line)", "أجوبة يجب وجودها (واحد في كل سطر)", "پاسخ‌هایی که باید باشند (هر خط یکی)"], Lines, Probe),
    f("expect_equals", ["The answers are exactly (one a line)", "الأجوبة هي بالضبط (واحد في كل سطر)", "پاسخ‌ها دقیقاً (هر خط یکی)"], Lines, Probe),
    f("expect_count", ["Number of answers (JSON: {\"min\": 1, \"max\": 4})", "عدد الأجوبة (JSON: {\"min\": 1, \"max\": 4})", "تعداد پاسخ‌ها (JSON: {\"min\": 1, \"max\": 4})"], Json, Probe),
];

#[rustfmt::skip]
const HEARTBEAT: &[Field] = &[
    f("period_s", ["Period between pings, s", "المدة بين النبضات، ث", "فاصلهٔ پینگ‌ها، ثانیه"], Number, Probe),
    f("grace_s", ["Grace, s (default 300)", "المهلة الإضافية، ث (الافتراضي 300)", "مهلت اضافه، ثانیه (پیش‌فرض ۳۰۰)"], Number, Probe),
    f("token", ["Push token (empty: made for you, or kept on edit)", "رمز الدفع (فارغ: يُنشأ لك، أو يُبقى عند التعديل)", "توکن ارسال (خالی: ساخته می‌شود، یا در ویرایش حفظ می‌شود)"], Text, Probe),
    f("token_sha256", ["…or the token's SHA-256 (hex)", "…أو SHA-256 للرمز (ست عشري)", "…یا SHA-256 توکن (هگز)"], Text, Probe),
];

/// The check kinds, as `kind` spells them.
pub const KINDS: [&str; 6] = ["server", "proxy", "tcp", "tls", "dns", "heartbeat"];

/// A kind's name in `lang`.
pub fn kind_word(lang: Lang, kind: &str) -> &'static str {
    match kind {
        "server" => lang.t("HTTP server", "خادم HTTP", "سرور HTTP"),
        "proxy" => lang.t("Proxy", "وكيل", "پراکسی"),
        "tcp" => lang.t("TCP port", "منفذ TCP", "درگاه TCP"),
        "tls" => lang.t("TLS port", "منفذ TLS", "درگاه TLS"),
        "dns" => lang.t("DNS name", "اسم DNS", "نام DNS"),
        "heartbeat" => lang.t("Heartbeat (push)", "نبضة (دفع)", "ضربان (ارسال)"),
        _ => lang.t("Target", "هدف", "هدف"),
    }
}

/// The kind's own fields, `None` for an unknown kind.
pub fn own(kind: &str) -> Option<&'static [Field]> {
    Some(match kind {
        "server" => SERVER,
        "proxy" => PROXY,
        "tcp" => TCP,
        "tls" => TLS,
        "dns" => DNS,
        "heartbeat" => HEARTBEAT,
        _ => return None,
    })
}

/// Every field of a kind's form, common ones first.
pub fn table(kind: &str) -> Vec<Field> {
    let mut all = COMMON.to_vec();
    all.extend_from_slice(own(kind).unwrap_or(&[]));
    all
}

/// The name of the "other fields" textarea (a JSON object merged last).
pub const OTHER: &str = "_other";

/// Keys of a definition that are no input of the table: fixed (`kind`) or carried in a hidden
/// input (`version`).
pub const HIDDEN: [&str; 2] = ["kind", "version"];

/// The inputs' text of definition `def` (a JSON object) for `kind`'s table, and the "other
/// fields" (keys the table does not know) as a JSON object's text, empty when none.
pub fn raw_of(kind: &str, def: &Value) -> (BTreeMap<String, String>, String) {
    let fields = table(kind);
    let mut raw = BTreeMap::new();
    for field in &fields {
        let v = def.get(field.path).unwrap_or(&Value::Null);
        raw.insert(field.path.to_string(), text_of(field.input, v));
    }
    let others: Map<String, Value> = def
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, _)| {
                    !HIDDEN.contains(&k.as_str()) && !fields.iter().any(|f| f.path == k.as_str())
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    let other = if others.is_empty() {
        String::new()
    } else {
        serde_json::to_string_pretty(&Value::Object(others)).unwrap_or_default()
    };
    (raw, other)
}

/// The text of one input for value `v` (`Null` when the field is unset).
fn text_of(input: Input, v: &Value) -> String {
    let scalar = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    match input {
        Checkbox(default) => v.as_bool().unwrap_or(default).to_string(),
        Lines | NumLines => match v {
            Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join("\n"),
            other => scalar(other),
        },
        Headers => match v {
            Value::Object(o) => o
                .iter()
                .map(|(k, v)| format!("{k}: {}", scalar(v)))
                .collect::<Vec<_>>()
                .join("\n"),
            other => scalar(other),
        },
        Json => match v {
            Value::Null => String::new(),
            other => serde_json::to_string_pretty(other).unwrap_or_default(),
        },
        Text | Area | Number | Select(_) => scalar(v),
    }
}

/// A field the form could not read, before the API saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's path (or [`OTHER`]).
    pub path: String,
    /// What is wrong, in the reader's language.
    pub message: String,
}

/// The definition of `kind` from the inputs' text `raw` (by path) and the "other fields" text:
/// empty inputs left out, `kind` set, then the other fields merged over it.
///
/// # Errors
/// Every input that cannot be read: a header line without `:`, JSON that does not parse,
/// "other fields" that are not a JSON object.
pub fn parse(
    lang: Lang,
    kind: &str,
    raw: &BTreeMap<String, String>,
    other: &str,
) -> Result<Map<String, Value>, Vec<FieldError>> {
    let mut out = Map::new();
    let mut errors = Vec::new();
    out.insert("kind".into(), Value::String(kind.to_string()));
    for field in table(kind) {
        let text = raw.get(field.path).map(String::as_str).unwrap_or("");
        match value_of(lang, field.input, text) {
            Ok(Some(v)) => {
                out.insert(field.path.to_string(), v);
            }
            Ok(None) => {}
            Err(message) => errors.push(FieldError {
                path: field.path.to_string(),
                message,
            }),
        }
    }
    if !other.trim().is_empty() {
        match serde_json::from_str::<Value>(other) {
            Ok(Value::Object(o)) => out.extend(o),
            _ => errors.push(FieldError {
                path: OTHER.into(),
                message: lang
                    .t(
                        "must be a JSON object, such as {\"field\": 1}",
                        "يجب أن يكون كائن JSON، مثل {\"field\": 1}",
                        "باید یک شیء JSON باشد، مانند {\"field\": 1}",
                    )
                    .into(),
            }),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// A number when `text` is one, else the text (the API names the field it cannot read).
fn number_or_text(text: &str) -> Value {
    if let Ok(n) = text.parse::<i64>() {
        return Value::from(n);
    }
    if let Ok(n) = text.parse::<u64>() {
        return Value::from(n);
    }
    text.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or_else(|| Value::String(text.to_string()), Value::Number)
}

/// One input's value: `None` for an empty one.
fn value_of(lang: Lang, input: Input, text: &str) -> Result<Option<Value>, String> {
    let lines = || {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
    };
    if text.trim().is_empty() && !matches!(input, Checkbox(_)) {
        return Ok(None);
    }
    Ok(Some(match input {
        Text | Select(_) => Value::String(text.trim().to_string()),
        // Sent as typed: a TCP conversation's line ends and a PEM's lines matter.
        Area => Value::String(text.to_string()),
        Number => number_or_text(text.trim()),
        Checkbox(default) => Value::Bool(match text.trim() {
            "true" | "on" => true,
            "false" => false,
            _ => default,
        }),
        Lines => Value::Array(lines().into_iter().map(|l| l.into()).collect()),
        NumLines => Value::Array(lines().into_iter().map(number_or_text).collect()),
        Headers => {
            let mut map = Map::new();
            for line in lines() {
                let Some((name, value)) = line.split_once(':') else {
                    return Err(format!(
                        "{} {line:?}",
                        lang.t(
                            "write each header as Name: value; not",
                            "اكتب كل ترويسة بالشكل الاسم: القيمة؛ وليس",
                            "هر سرآیند را به شکل نام: مقدار بنویسید؛ نه",
                        )
                    ));
                };
                map.insert(name.trim().to_string(), Value::String(value.trim().into()));
            }
            Value::Object(map)
        }
        Json => serde_json::from_str(text).map_err(|e| {
            format!(
                "{} ({e})",
                lang.t("is not JSON", "ليس JSON صالحاً", "JSON معتبر نیست",)
            )
        })?,
    }))
}

/// The field of `table` an API refusal naming `path` belongs to: the field itself, or the
/// closest one above it (`headers.X-Key` → `headers`, `test_urls[1]` → `test_urls`,
/// `expect_count.min` → `expect_count`); `None` when no field of the table is named.
pub fn closest<'a>(fields: &'a [Field], path: &str) -> Option<&'a Field> {
    fields
        .iter()
        .filter(|f| {
            path == f.path
                || path
                    .strip_prefix(f.path)
                    .is_some_and(|rest| rest.starts_with(['.', '[']))
        })
        .max_by_key(|f| f.path.len())
}

/// Whether a value read back from the form is the value that was shown: equal, or text equal
/// but for the line ends a browser sends (CRLF) and the spaces the form trims, so that an
/// untouched field is not rewritten (a PEM's or a TCP `send`'s LF line ends, say).
fn same(shown: &Value, back: &Value) -> bool {
    match (shown, back) {
        (Value::String(a), Value::String(b)) => {
            a == b || a.replace("\r\n", "\n").trim() == b.replace("\r\n", "\n").trim()
        }
        _ => shown == back,
    }
}

/// The path (`proxy_url`, `test_urls[1]`, `headers.X-Key`) of the first text in `patch` that
/// still holds the mask `***` of a secret: a masked value edited around its mask, which the
/// API would store as written (it puts a secret back only for a value left exactly as shown).
pub fn masked_change(patch: &Value) -> Option<String> {
    fn walk(v: &Value, at: &str) -> Option<String> {
        match v {
            Value::String(s) if s.contains("***") => Some(at.to_string()),
            Value::Object(m) => m.iter().find_map(|(k, v)| {
                walk(
                    v,
                    &if at.is_empty() {
                        k.clone()
                    } else {
                        format!("{at}.{k}")
                    },
                )
            }),
            Value::Array(a) => a
                .iter()
                .enumerate()
                .find_map(|(i, v)| walk(v, &format!("{at}[{i}]"))),
            _ => None,
        }
    }
    walk(patch, "")
}

/// An RFC 7396 merge patch that turns `old` into `new`: keys of `old` missing from `new` are
/// `null` (removed, so the API's default applies), nested objects patched key by key, other
/// values replaced whole.
pub fn merge_patch(old: &Value, new: &Value) -> Value {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut patch = Map::new();
            for k in o.keys().filter(|k| !n.contains_key(*k)) {
                patch.insert(k.clone(), Value::Null);
            }
            for (k, v) in n {
                match o.get(k) {
                    Some(ov) if same(ov, v) => {}
                    Some(ov @ Value::Object(_)) if v.is_object() => {
                        patch.insert(k.clone(), merge_patch(ov, v));
                    }
                    _ => {
                        patch.insert(k.clone(), v.clone());
                    }
                }
            }
            Value::Object(patch)
        }
        _ => new.clone(),
    }
}

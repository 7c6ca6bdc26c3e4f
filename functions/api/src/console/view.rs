//! What every console page shares: the reader's language ([`Lang`]: English, Arabic, Persian,
//! right to left for the last two), the page's frame ([`Chrome`]: links, CSRF token, role,
//! notice), the HTML answer with its security headers ([`html`]) and the error page.
//!
//! Words are written where they are used, as `c.t("English", "عربي", "فارسی")`, in the
//! templates or the handlers: no shared table for the console's modules to collide in.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::client::Refusal;
use super::session::{Role, Session, LANG_COOKIE};

/// The console's languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English (the default).
    En,
    /// Arabic, right to left.
    Ar,
    /// Persian, right to left.
    Fa,
}

impl Lang {
    /// `en`, `ar` or `fa`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ar => "ar",
            Lang::Fa => "fa",
        }
    }

    /// The language of a code (`ar`, `fa-IR`, `en-US`...), if one of ours.
    pub fn parse(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "ar" => Some(Lang::Ar),
            "fa" => Some(Lang::Fa),
            _ => None,
        }
    }

    /// The reader's language: `?lang=`, else the `lookout_lang` cookie, else the first of
    /// ours in `Accept-Language` (in the order given, weights ignored), else English.
    pub fn of(query_lang: Option<&str>, headers: &HeaderMap) -> Lang {
        query_lang
            .and_then(Lang::parse)
            .or_else(|| super::session::read_cookie(headers, LANG_COOKIE).and_then(Lang::parse))
            .or_else(|| {
                headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.split(',').find_map(|t| Lang::parse(t.split(';').next()?)))
            })
            .unwrap_or(Lang::En)
    }

    /// Whether the language is written right to left.
    pub fn rtl(self) -> bool {
        self != Lang::En
    }

    /// The word in this language.
    pub fn t(self, en: &'static str, ar: &'static str, fa: &'static str) -> &'static str {
        match self {
            Lang::En => en,
            Lang::Ar => ar,
            Lang::Fa => fa,
        }
    }
}

/// The frame of every signed-in page: put in the request's extensions by the gate
/// ([`super::gate`]); templates reach it as `c`.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// The reader's language.
    pub lang: Lang,
    /// `<LOOKOUT_BASE_PATH>/console`: every console link starts with it.
    pub base: String,
    /// `LOOKOUT_BASE_PATH`: links to the status page and the API start with it.
    pub root: String,
    /// The session's CSRF token, the `_csrf` field of every form.
    pub csrf: String,
    /// Admin or read.
    pub role: Role,
    /// The request's path and query as the router saw it (below the base path), for the
    /// language links.
    pub here: String,
    /// A notice from the `?done=` of a redirect after a form ([`notice`]).
    pub notice: Option<&'static str>,
}

impl Chrome {
    /// The frame of `session`'s page at `here`.
    pub fn new(lang: Lang, root: &str, session: &Session, key: &[u8; 32], here: &str) -> Chrome {
        let query_done = here
            .split_once('?')
            .and_then(|(_, q)| url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "done"))
            .map(|(_, v)| v.into_owned());
        Chrome {
            lang,
            base: format!("{root}/console"),
            root: root.to_string(),
            csrf: session.csrf(key),
            role: session.role,
            here: here.to_string(),
            notice: query_done.and_then(|d| notice(lang, &d)),
        }
    }

    /// The word in the reader's language.
    pub fn t(&self, en: &'static str, ar: &'static str, fa: &'static str) -> &'static str {
        self.lang.t(en, ar, fa)
    }

    /// `en`, `ar` or `fa`.
    pub fn code(&self) -> &'static str {
        self.lang.code()
    }

    /// `rtl` or `ltr`.
    pub fn dir(&self) -> &'static str {
        if self.lang.rtl() {
            "rtl"
        } else {
            "ltr"
        }
    }

    /// Whether this session may submit forms (forms and buttons are shown to admins only).
    pub fn can_write(&self) -> bool {
        self.role == Role::Admin
    }

    /// The URL of a console asset (`console.css`, `console.js`) with its version.
    pub fn asset(&self, file: &str) -> String {
        format!("{}/assets/{file}?v={}", self.base, asset_version())
    }

    /// `<base>/console` + `path` (`path` starts with `/`, or is empty).
    pub fn href(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The current page in language `code` (`?lang=` replaced).
    pub fn lang_href(&self, code: &str) -> String {
        let (path, query) = self.here.split_once('?').unwrap_or((&self.here, ""));
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            if k != "lang" && k != "done" {
                q.append_pair(&k, &v);
            }
        }
        q.append_pair("lang", code);
        format!("{}{path}?{}", self.root, q.finish())
    }

    /// A redirect (303) to `<base>/console` + `path`, with `?done=<done>` when given.
    pub fn redirect(&self, path: &str, done: Option<&str>) -> Response {
        let sep = if path.contains('?') { '&' } else { '?' };
        let to = match done {
            Some(d) => format!("{}{path}{sep}done={d}", self.base),
            None => self.href(path),
        };
        see_other(&to)
    }

    /// The error page for an API refusal (its status and message; the field, if any, named).
    pub fn refused(&self, r: &Refusal) -> Response {
        let text = match &r.field {
            Some(f) => format!("{} ({}: {f})", r.message, self.t("field", "الحقل", "فیلد")),
            None => r.message.clone(),
        };
        self.error(r.status, &text)
    }

    /// The error page: `status` and `message` inside the console's frame.
    pub fn error(&self, status: StatusCode, message: &str) -> Response {
        let page = ErrorPage {
            c: self,
            status: status.as_u16(),
            message,
        };
        html(status, &page)
    }
}

/// `templates/console/error.html`.
#[derive(askama::Template)]
#[template(path = "console/error.html")]
struct ErrorPage<'a> {
    c: &'a Chrome,
    status: u16,
    message: &'a str,
}

/// The words of a `?done=` after a form, in `lang`; `None` for an unknown key (never echoed).
pub fn notice(lang: Lang, done: &str) -> Option<&'static str> {
    Some(match done {
        "created" => lang.t("Created.", "تم الإنشاء.", "ساخته شد."),
        "saved" => lang.t("Saved.", "تم الحفظ.", "ذخیره شد."),
        "deleted" => lang.t("Deleted.", "تم الحذف.", "حذف شد."),
        "enabled" => lang.t("Enabled.", "تم التفعيل.", "فعال شد."),
        "disabled" => lang.t("Disabled.", "تم التعطيل.", "غیرفعال شد."),
        "marked_down" => lang.t("Marked down.", "عُلِّم معطلاً.", "از کار افتاده علامت خورد."),
        "marked_healthy" => lang.t("Marked healthy.", "عُلِّم سليماً.", "سالم علامت خورد."),
        "reset" => lang.t(
            "Statistics reset.",
            "أُعيد ضبط الإحصاءات.",
            "آمار بازنشانی شد.",
        ),
        "imported" => lang.t(
            "Target file applied.",
            "طُبِّق ملف الأهداف.",
            "فایل اهداف اعمال شد.",
        ),
        "dump_started" => lang.t("Dump started.", "بدأ التفريغ.", "نسخه‌برداری آغاز شد."),
        "verified" => lang.t("Dump verified.", "تم التحقق من التفريغ.", "نسخه بررسی شد."),
        "restore_started" => lang.t("Restore started.", "بدأت الاستعادة.", "بازیابی آغاز شد."),
        "sent" => lang.t("Sent.", "تم الإرسال.", "ارسال شد."),
        _ => return None,
    })
}

/// A refusal for the console script's inline submit: `<p class="form-error">` with `text`
/// escaped, nothing else (no frame to nest inside the page).
pub fn fragment_error(status: StatusCode, text: &str) -> Response {
    let mut escaped = String::with_capacity(text.len());
    // The status page's escaper, the one the templates' values go through too.
    let _ =
        askama::filters::Escaper::write_escaped_str(&crate::page::HtmlEntities, &mut escaped, text);
    with_headers(
        status,
        format!("<p class=\"form-error\" role=\"alert\">{escaped}</p>"),
        "text/html; charset=utf-8",
    )
}

/// The console's stylesheet and script named with a version (`?v=` and 12 hex digits of the
/// SHA-256 of both), so that a browser holding the day's cache of an older deployment's files
/// fetches the new ones.
pub fn asset_version() -> &'static str {
    static V: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    V.get_or_init(|| {
        use sha2::Digest as _;
        let mut h = sha2::Sha256::new();
        h.update(super::auth_pages::CONSOLE_CSS);
        h.update(super::auth_pages::CONSOLE_JS);
        h.update(super::auth_pages::PAGE_CSS);
        hex::encode(h.finalize())[..12].to_string()
    })
}

/// A 303 to `location`.
pub fn see_other(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// The console's Content-Security-Policy: scripts and styles from the console only (no inline
/// script or style), images from itself and `data:`, no framing, forms posting to itself only.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/// Renders `page` as an HTML answer with `status`: `no-store`, the [`CSP`], `nosniff`,
/// `X-Frame-Options: DENY`, `Referrer-Policy: same-origin`. A template that fails to render
/// (a bug) is a 500 with a plain message.
pub fn html<T: askama::Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(body) => with_headers(status, body, "text/html; charset=utf-8"),
        Err(e) => {
            tracing::error!(error = %e, "console template failed");
            with_headers(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page failed to render".into(),
                "text/plain; charset=utf-8",
            )
        }
    }
}

/// `body` with the console's security headers.
pub fn with_headers(status: StatusCode, body: String, content_type: &'static str) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    r
}

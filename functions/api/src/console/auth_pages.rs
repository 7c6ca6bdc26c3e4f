//! Sign-in, sign-out, the console's home and its two static files.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::session::{self, Role, Session, LOGIN_COOKIE, LOGIN_TTL_S, SESSION_COOKIE};
use super::view::{self, Lang};
use super::ChromeExt;
use crate::extract::{Path, Query};
use crate::routes::AppState;
use crate::{Access, App, Store};

/// The console's stylesheet (after the status page's `page.css`).
pub(crate) const CONSOLE_CSS: &str = include_str!("../../templates/console/console.css");
/// The console's one script: inline results and confirmations; every page works without it.
pub(crate) const CONSOLE_JS: &str = include_str!("../../templates/console/console.js");
/// The status page's stylesheet: the console's look starts from it.
pub(crate) const PAGE_CSS: &str = include_str!("../../templates/page.css");

/// `templates/console/login.html`.
#[derive(askama::Template)]
#[template(path = "console/login.html")]
struct LoginPage<'a> {
    lang: Lang,
    root: &'a str,
    csrf: &'a str,
    /// Why the last attempt failed, if it did.
    error: Option<&'a str>,
    /// Neither token is configured: no one can sign in.
    closed: bool,
}

impl LoginPage<'_> {
    fn v(&self) -> &'static str {
        view::asset_version()
    }
    fn t(&self, en: &'static str, ar: &'static str, fa: &'static str) -> &'static str {
        self.lang.t(en, ar, fa)
    }
    fn dir(&self) -> &'static str {
        if self.lang.rtl() {
            "rtl"
        } else {
            "ltr"
        }
    }
}

/// `?lang=` of the sign-in page.
#[derive(serde::Deserialize, Default)]
pub struct LangQuery {
    lang: Option<String>,
}

/// Whether the console's cookies get `Secure`: always, unless the browser reached a loopback
/// host over plain HTTP (no `X-Forwarded-Proto: https` from a proxy in front).
fn secure<S>(_app: &App<S>, headers: &HeaderMap) -> bool {
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    https
        || !headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .is_some_and(session::is_loopback_host)
}

fn set_cookie(r: &mut Response, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Renders the sign-in page with a fresh nonce cookie.
fn login_form<S>(
    app: &App<S>,
    headers: &HeaderMap,
    lang: Lang,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let nonce = session::random_id();
    let csrf = session::key(app)
        .map(|k| session::login_csrf(&k, &nonce))
        .unwrap_or_default();
    let page = LoginPage {
        lang,
        root: &app.base_path,
        csrf: &csrf,
        error,
        closed: session::key(app).is_none(),
    };
    let mut r = view::html(status, &page);
    let path = format!("{}/console", app.base_path);
    set_cookie(
        &mut r,
        &session::cookie(
            LOGIN_COOKIE,
            &nonce,
            &path,
            Some(LOGIN_TTL_S),
            secure(app, headers),
        ),
    );
    r
}

/// `GET /console/login?lang=`: the sign-in form (a token field, password-masked).
pub async fn login_page<S: Store>(
    State(app): State<AppState<S>>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = Lang::of(q.lang.as_deref(), &headers);
    login_form(&app, &headers, lang, StatusCode::OK, None)
}

/// `POST /console/login` (`token`, `_csrf`): the token checked as the API checks a bearer token;
/// the admin token opens an admin session, the read token a read session. A wrong token is 401
/// on the sign-in page again; a missing or wrong `_csrf` 403.
pub async fn login<S: Store>(
    State(app): State<AppState<S>>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
    body: axum::body::Bytes,
) -> Response {
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let lang = Lang::of(q.lang.as_deref().or(field("lang")), &headers);
    let Some(key) = session::key(&app) else {
        return login_form(&app, &headers, lang, StatusCode::UNAUTHORIZED, None);
    };
    let nonce = session::read_cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    let csrf_ok = !nonce.is_empty() && {
        use subtle::ConstantTimeEq as _;
        bool::from(
            session::login_csrf(&key, nonce)
                .as_bytes()
                .ct_eq(field("_csrf").unwrap_or("").as_bytes()),
        )
    };
    if !csrf_ok {
        let text = lang.t(
            "The sign-in form expired or did not come from this console; it has been opened again.",
            "انتهت صلاحية نموذج الدخول أو لم يأتِ من هذه اللوحة؛ فُتح من جديد.",
            "فرم ورود منقضی شده یا از این کنسول نیامده است؛ دوباره باز شد.",
        );
        return login_form(&app, &headers, lang, StatusCode::FORBIDDEN, Some(text));
    }
    let token = field("token").unwrap_or("").trim();
    let mut bearer = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&format!("Bearer {token}")) {
        bearer.insert(header::AUTHORIZATION, v);
    }
    let role = match app.authorize(&bearer, Access::Read) {
        Ok(caller) if caller.name == "admin" => Some(Role::Admin),
        Ok(caller) if caller.name == "read" => Some(Role::Read),
        _ => None,
    };
    let Some(role) = role else {
        let text = lang.t(
            "That token is neither the admin token nor the read token.",
            "هذا الرمز ليس رمز المسؤول ولا رمز القراءة.",
            "این توکن نه توکن مدیر است و نه توکن خواندن.",
        );
        return login_form(&app, &headers, lang, StatusCode::UNAUTHORIZED, Some(text));
    };
    let session = Session::new(role, token, session::now_ms());
    let path = format!("{}/console", app.base_path);
    let secure = secure(&app, &headers);
    let mut r = view::see_other(&format!("{path}/targets"));
    set_cookie(
        &mut r,
        &session::cookie(SESSION_COOKIE, &session.seal(&key), &path, None, secure),
    );
    set_cookie(
        &mut r,
        &session::cookie(LOGIN_COOKIE, "", &path, Some(0), secure),
    );
    r
}

/// `POST /console/logout`: the session cookie deleted, back to the sign-in page.
pub async fn logout<S: Store>(State(app): State<AppState<S>>, headers: HeaderMap) -> Response {
    let path = format!("{}/console", app.base_path);
    let mut r = view::see_other(&format!("{path}/login"));
    set_cookie(
        &mut r,
        &session::cookie(SESSION_COOKIE, "", &path, Some(0), secure(&app, &headers)),
    );
    r
}

/// `GET /console`: to the targets.
pub async fn home<S: Store>(axum::Extension(c): ChromeExt) -> Response {
    c.redirect("/targets", None)
}

/// `GET /console/assets/{file}`: `console.css` (the status page's `page.css` and the console's
/// own rules) or `console.js`; cached a day.
pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, content_type) = match file.as_str() {
        "console.css" => (
            format!("{PAGE_CSS}\n{CONSOLE_CSS}"),
            "text/css; charset=utf-8",
        ),
        "console.js" => (CONSOLE_JS.to_string(), "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let mut r = view::with_headers(StatusCode::OK, body, content_type);
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    r
}

/// An error page with no session (the sign-in link only).
pub fn bare_error<S>(app: &App<S>, lang: Lang, status: StatusCode, message: &str) -> Response {
    let page = BareError {
        lang,
        root: &app.base_path,
        status: status.as_u16(),
        message,
    };
    view::html(status, &page)
}

/// `templates/console/bare_error.html`.
#[derive(askama::Template)]
#[template(path = "console/bare_error.html")]
struct BareError<'a> {
    lang: Lang,
    root: &'a str,
    status: u16,
    message: &'a str,
}

impl BareError<'_> {
    fn v(&self) -> &'static str {
        view::asset_version()
    }
    fn t(&self, en: &'static str, ar: &'static str, fa: &'static str) -> &'static str {
        self.lang.t(en, ar, fa)
    }
    fn dir(&self) -> &'static str {
        if self.lang.rtl() {
            "rtl"
        } else {
            "ltr"
        }
    }
}

//! The admin console: server-rendered HTML pages under `/console`, served by the API function,
//! built on the API itself.
//!
//! - **Sign-in** (`GET`/`POST /console/login`): the admin or the read token, exchanged for a
//!   signed session cookie ([`session`]); `POST /console/logout` ends it. The token is in no
//!   page, URL or cookie.
//! - **The gate** ([`gate`]) in front of every other console route: no session is a redirect to
//!   the sign-in page (`GET`) or a 401 page; every `POST` needs the session's CSRF token
//!   (`_csrf` field, or the `X-CSRF-Token` header) and an admin session (403 otherwise, the read
//!   token may only look); so does any other method but `GET` and `HEAD`; the form's fields
//!   are handed on as [`FormData`]. A refusal of the console script's inline submit is a bare
//!   `<p class="form-error">`, not a page.
//! - **Pages** read and write through the API's own routes in process ([`client::Api`]), so a
//!   refused form shows the API's own error at the field it names.
//! - Markup: askama templates under `templates/console/` (auto-escaped by askama's HTML
//!   escaper, as numeric references: `&#60;`), the status page's look (`page.css`) plus `console.css`,
//!   and one small script (`console.js`: inline results, confirmations); no bundler, no CDN.
//!   English, Arabic and Persian ([`view::Lang`]), right to left for the last two.
//!
//! | path | what |
//! | --- | --- |
//! | `/console/login`, `/console/logout` | sign-in and sign-out ([`auth_pages`]) |
//! | `/console/targets` | targets: status, group, kind, latency, uptime; filters and search ([`targets`]) |
//! | `/console/targets/new`, `/console/targets/{id}/edit`, `…/delete`, `…/enable`, `…/disable`, `…/check`, `…/actions/{action}`, `/console/import`, `/console/export` | the target forms ([`forms`]) |
//! | `/console/targets/{id}` | a target's detail ([`detail`]) |
//! | `/console/pools` | proxy pools in cost order ([`pools`]) |
//! | `/console/alerts`, `/console/runs` (+ `/console/leases/{kind}/release`), `/console/digests`, `/console/dumps` (+ `/{id}/verify`, `/{id}/restore`, `/{id}/delete`), `/console/channels` (+ `/{id}/test`), `/console/deliveries/{id}/retry`, `/console/incidents`, `/console/audit` | operations ([`ops`]) |

pub mod auth_pages;
pub mod client;
pub mod detail;
pub mod forms;
pub mod narrative;
pub mod ops;
pub mod pools;
pub mod session;
pub mod targets;
pub mod view;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::routes::AppState;
use crate::Store;
use session::{Session, LANG_COOKIE};
use view::{Chrome, Lang};

/// Largest form body the console reads, bytes (4 MiB: a pasted target file of 1 MiB, URL-encoded).
pub const MAX_FORM_BYTES: usize = 4 * 1024 * 1024;

/// The fields of a submitted form (`application/x-www-form-urlencoded`), in order; put in the
/// request's extensions by the [`gate`] once the CSRF token checked out.
#[derive(Debug, Clone, Default)]
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Every console route: the sign-in pages open, the others behind the [`gate`].
pub fn routes<S: Store>(app: &AppState<S>) -> Router<AppState<S>> {
    let open = Router::new()
        .route(
            "/console/login",
            get(auth_pages::login_page::<S>).post(auth_pages::login::<S>),
        )
        .route("/console/assets/{file}", get(auth_pages::asset));
    let gated = Router::new()
        .route("/console", get(auth_pages::home::<S>))
        .route(
            "/console/logout",
            axum::routing::post(auth_pages::logout::<S>),
        )
        .merge(targets::routes::<S>())
        .merge(forms::routes::<S>())
        .merge(detail::routes::<S>())
        .merge(pools::routes::<S>())
        .merge(ops::routes::<S>())
        .route_layer(from_fn_with_state(app.clone(), gate::<S>));
    open.merge(gated)
        .route_layer(from_fn(crate::request_log::tag_route))
}

/// In front of every console route but sign-in: opens the session cookie, checks every `POST`'s
/// CSRF token and role, and puts the [`Session`], the [`Chrome`] and (for a `POST`) the
/// [`FormData`] in the request's extensions. A `?lang=` is kept in the `lookout_lang` cookie.
///
/// - no or a bad session: `GET`/`HEAD` are 303 to `/console/login`; others 401;
/// - a `POST` (any method but `GET`/`HEAD`) of a read session (sign-out aside): 403;
/// - a `POST` whose `_csrf` (or `X-CSRF-Token`) is not the session's: 403;
/// - a body over [`MAX_FORM_BYTES`]: 413.
pub async fn gate<S: Store>(State(app): State<AppState<S>>, req: Request, next: Next) -> Response {
    let query_lang = req
        .uri()
        .query()
        .and_then(|q| url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "lang"))
        .map(|(_, v)| v.into_owned());
    let lang = Lang::of(query_lang.as_deref(), req.headers());
    let here = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_string(), |p| p.as_str().to_string());
    let key = session::key(&app);
    let session = key.as_ref().and_then(|_| {
        session::read_cookie(req.headers(), session::SESSION_COOKIE)
            .and_then(|v| Session::open(&app, v, session::now_ms()))
    });
    let fragment = wants_fragment(req.headers());
    let (Some(key), Some(session)) = (key, session) else {
        let text = lang.t(
            "Sign in first: this form needs a session.",
            "سجّل الدخول أولاً: هذا النموذج يحتاج إلى جلسة.",
            "ابتدا وارد شوید: این فرم به نشست نیاز دارد.",
        );
        return if req.method() == Method::GET || req.method() == Method::HEAD {
            view::see_other(&format!("{}/console/login", app.base_path))
        } else if fragment {
            view::fragment_error(StatusCode::UNAUTHORIZED, text)
        } else {
            auth_pages::bare_error(&app, lang, StatusCode::UNAUTHORIZED, text)
        };
    };
    let chrome = Chrome::new(lang, &app.base_path, &session, &key, &here);
    let (mut parts, body) = req.into_parts();
    // Every method but GET and HEAD writes: only POST is routed today, and any other one added
    // later is checked the same way.
    if parts.method != Method::GET && parts.method != Method::HEAD {
        let refuse = |status: StatusCode, text: &str| {
            if fragment {
                view::fragment_error(status, text)
            } else {
                chrome.error(status, text)
            }
        };
        let logout = parts.uri.path() == "/console/logout";
        if !session.can_write() && !logout {
            return refuse(
                StatusCode::FORBIDDEN,
                chrome.t(
                    "The read token may look but not change anything: sign in with the admin token to submit forms.",
                    "رمز القراءة يتيح العرض فقط: سجّل الدخول برمز المسؤول لإرسال النماذج.",
                    "توکن خواندن فقط اجازهٔ دیدن می‌دهد: برای ارسال فرم با توکن مدیر وارد شوید.",
                ),
            );
        }
        let bytes = match axum::body::to_bytes(body, MAX_FORM_BYTES).await {
            Ok(b) => b,
            Err(_) => {
                return refuse(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    chrome.t(
                        "The form is too large (4 MiB at most).",
                        "النموذج كبير جداً (4 ميغابايت كحد أقصى).",
                        "فرم بیش از حد بزرگ است (حداکثر ۴ مگابایت).",
                    ),
                )
            }
        };
        let form = FormData(
            url::form_urlencoded::parse(&bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        );
        let given = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .or_else(|| form.get("_csrf"))
            .unwrap_or("");
        if !session.csrf_ok(&key, given) {
            return refuse(
                StatusCode::FORBIDDEN,
                chrome.t(
                    "This form did not come from this console session (no or a wrong CSRF token). Open the page again and resubmit.",
                    "لم يأتِ هذا النموذج من جلسة هذه اللوحة (رمز CSRF مفقود أو خاطئ). افتح الصفحة مجدداً وأعد الإرسال.",
                    "این فرم از نشست این کنسول نیامده است (توکن CSRF نیست یا نادرست است). صفحه را دوباره باز کنید و دوباره بفرستید.",
                ),
            );
        }
        parts.extensions.insert(form);
        let mut req = Request::from_parts(parts, Body::from(bytes));
        req.extensions_mut().insert(session);
        req.extensions_mut().insert(chrome);
        return keep_lang(next.run(req).await, query_lang.as_deref(), &app);
    }
    let mut req = Request::from_parts(parts, body);
    req.extensions_mut().insert(session);
    req.extensions_mut().insert(chrome);
    keep_lang(next.run(req).await, query_lang.as_deref(), &app)
}

/// Adds the `lookout_lang` cookie when the request chose a language with `?lang=`.
fn keep_lang<S>(mut response: Response, query_lang: Option<&str>, app: &crate::App<S>) -> Response {
    if let Some(lang) = query_lang.and_then(Lang::parse) {
        let value = format!(
            "{LANG_COOKIE}={}; Path={}/console; Max-Age=31536000; SameSite=Strict",
            lang.code(),
            app.base_path
        );
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

/// The session of a request that passed the [`gate`] (for handlers: `Extension<Session>`).
pub type SessionExt = axum::Extension<Session>;
/// The frame of a request that passed the [`gate`] (for handlers: `Extension<Chrome>`).
pub type ChromeExt = axum::Extension<Chrome>;
/// The form of a `POST` that passed the [`gate`] (for handlers: `Extension<FormData>`).
pub type FormExt = axum::Extension<FormData>;

/// The API as the request's session sees it.
pub fn api<S: Store>(app: &AppState<S>, session: &Session) -> client::Api<S> {
    client::Api::new(app.clone(), session)
}

/// Whether the request asks for a fragment (the console script's inline submit sends
/// `X-Console-Fragment: 1`) rather than a whole page.
pub fn wants_fragment(headers: &axum::http::HeaderMap) -> bool {
    headers.get("x-console-fragment").is_some()
}

#[cfg(test)]
pub(crate) mod testkit;
#[cfg(test)]
mod tests;

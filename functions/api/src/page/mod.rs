//! The public status pages (`GET /`, `GET /p/{slug}`) and their JSON version for embedding
//! (`GET /status.json`, `GET /p/{slug}/status.json`), rendered on the server.
//!
//! A page shows, top to bottom: its title, description and logo (a [`StatusPage`], or the
//! default words when none is stored), the overall banner and the totals (operational,
//! degraded, down, in maintenance), the open incidents with their timelines, the maintenance
//! announced ahead, the service level objectives the page names ([`slos`]: objective, window,
//! SLI so far, error budget left as a bar and a percent, a word while an alert burns), then one
//! compact row per enabled target, grouped and ordered problems first
//! ([`rows`]): status, name, a 90-day uptime bar of daily cells from the digest's uptime table
//! and the 30-day uptime; and the incidents closed in the last 14 days ([`incidents`]). Words in
//! English, Arabic and Persian ([`labels`]; `?lang=ar|fa`, right to left), times in the
//! reader's zone (`?tz=<IANA name>`, default UTC, labelled).
//!
//! Reads per request: the definitions (through [`DefsCache`]), the latest states, the uptime
//! table of each kind (kept [`UPTIME_TTL`] by the instance: the digest writes it hourly), the
//! locations' verdicts, the incidents of the bar's 90 days and the open ones (kept 60 s by
//! [`crate::routes::IncidentsCache`]), and for a page that names SLOs their listing and
//! records. No history: the
//! page's cost does not grow with the check rate.
//!
//! The markup is the askama template `templates/page.html` (with `page.css` and `page.js`),
//! which escapes every value it prints with [`HtmlEntities`]; the one pre-built fragment, the
//! bar ([`rows::bar`]), is made of our own words, numbers and dates, escaped all the same.

pub mod incidents;
pub mod json;
pub mod labels;
pub mod rows;
pub mod slos;
#[cfg(test)]
mod tests;

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use lookout_app::ports::{Latest, TargetUptime};
use lookout_core::digest::rollup::BAR_DAYS;
use lookout_core::domain::incident::Incident;
use lookout_core::domain::state::DAY_MS;
use lookout_core::domain::status_page::{StatusPage, DEFAULT_SLUG};
use lookout_core::domain::{Target, TargetKind, TargetState};

use crate::error::ApiError;
use crate::routes::{AppState, DefsCache};
use crate::Store;
use labels::Labels;

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

/// Longest `tz` accepted, characters (the longest IANA names are about 30).
const MAX_TZ_CHARS: usize = 64;

/// The reader's time zone: `tz` (an IANA name such as `Asia/Tehran`, from the bundled
/// database), UTC when absent.
///
/// # Errors
/// 400 naming `tz` for an unknown or overlong name.
pub fn time_zone(tz: Option<&str>) -> Result<(jiff::tz::TimeZone, String), ApiError> {
    match tz {
        None | Some("") => Ok((jiff::tz::TimeZone::UTC, "UTC".into())),
        Some(name) if name.chars().count() <= MAX_TZ_CHARS => jiff::tz::TimeZone::get(name)
            .map(|z| (z, name.to_string()))
            .map_err(|_| {
                ApiError::bad_request("tz: an IANA time zone such as Europe/Berlin or Asia/Tehran")
            }),
        Some(_) => Err(ApiError::bad_request(format!(
            "tz: at most {MAX_TZ_CHARS} characters"
        ))),
    }
}

/// Who reads the page: their words and time zone.
pub struct Reader {
    /// The reader's words.
    pub l: &'static Labels,
    /// The reader's time zone (`?tz`, default UTC).
    pub tz: jiff::tz::TimeZone,
    /// The zone's IANA name as asked (`UTC` by default).
    pub tz_name: String,
    /// The query's `tz` as given, for the page's own links.
    tz_asked: Option<String>,
}

impl Reader {
    /// The reader of `?lang=&tz=`.
    ///
    /// # Errors
    /// 400 naming `tz` when it is not an IANA time zone.
    pub fn new(lang: Option<&str>, tz: Option<&str>) -> Result<Self, ApiError> {
        let (zone, _) = time_zone(tz.map(str::trim))?;
        Ok(Self {
            l: labels::labels(lang),
            tz_name: zone.iana_name().unwrap_or("UTC").to_string(),
            tz: zone,
            tz_asked: tz.map(str::to_string).filter(|t| !t.trim().is_empty()),
        })
    }

    /// The query string of a link to this page in `lang`, keeping the time zone.
    fn link(&self, lang: &str) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("lang", lang);
        if let Some(tz) = &self.tz_asked {
            q.append_pair("tz", tz);
        }
        format!("?{}", q.finish())
    }
}

/// How long an API instance keeps the digest's uptime table (60 s; the digest writes it hourly).
pub const UPTIME_TTL: Duration = Duration::from_secs(60);

/// The uptime tables an instance read, by the application they were read for (a process
/// serves one application; tests build several, each with its own store).
type UptimeEntry = (
    Weak<dyn Any + Send + Sync>,
    Instant,
    Arc<HashMap<String, TargetUptime>>,
);
static UPTIME: Mutex<Vec<UptimeEntry>> = Mutex::new(Vec::new());

/// The uptime tables of both kinds, by target id, read at most every [`UPTIME_TTL`].
async fn uptime_cached<S: Store>(
    app: &AppState<S>,
) -> Result<Arc<HashMap<String, TargetUptime>>, ApiError> {
    let me: Arc<dyn Any + Send + Sync> = app.clone();
    {
        let mut cache = UPTIME.lock().unwrap_or_else(|p| p.into_inner());
        cache.retain(|(w, at, _)| w.strong_count() > 0 && at.elapsed() < UPTIME_TTL);
        if let Some((_, _, table)) = cache
            .iter()
            .find(|(w, ..)| w.upgrade().is_some_and(|a| Arc::ptr_eq(&a, &me)))
        {
            return Ok(table.clone());
        }
    }
    let (servers, proxies) = tokio::join!(
        app.store.uptime_table(TargetKind::Server),
        app.store.uptime_table(TargetKind::Proxy)
    );
    let table: Arc<HashMap<String, TargetUptime>> = Arc::new(
        servers?
            .into_iter()
            .chain(proxies?)
            .map(|t| (t.target_id.clone(), t))
            .collect(),
    );
    let mut cache = UPTIME.lock().unwrap_or_else(|p| p.into_inner());
    cache.push((Arc::downgrade(&me), Instant::now(), table.clone()));
    Ok(table)
}

/// Everything a page shows, read from the store at `now` (epoch ms).
pub struct PageData {
    /// When it was read, epoch ms.
    pub now: i64,
    /// The page's settings (the default words when none is stored).
    pub page: StatusPage,
    /// Every definition.
    pub targets: Vec<Target>,
    /// The latest entry of each checked target.
    pub latest: HashMap<String, Latest>,
    /// The state of every target.
    pub states: HashMap<String, TargetState>,
    /// The digest's uptime table by target id.
    pub uptime: Arc<HashMap<String, TargetUptime>>,
    /// Each location's verdict by target.
    pub verdicts: HashMap<String, Vec<lookout_core::domain::location::LocationVerdict>>,
    /// Not resolved, newest first.
    pub open: Vec<Incident>,
    /// Open at some time over the bar's days, newest first.
    pub recent: Vec<Incident>,
    /// The SLOs the page names, in its order (ids of no SLO left out).
    pub slos: Vec<slos::SloData>,
}

/// The page of `slug`: the stored one, or for [`DEFAULT_SLUG`] the default words and every
/// group when none is stored; `None` for an unknown slug.
pub async fn settings<S: Store>(
    app: &AppState<S>,
    slug: &str,
) -> Result<Option<StatusPage>, ApiError> {
    match app.store.status_page(slug).await? {
        Some(p) => Ok(Some(p)),
        None if slug == DEFAULT_SLUG => Ok(Some(StatusPage {
            slug: DEFAULT_SLUG.into(),
            title: String::new(),
            description: String::new(),
            logo_url: None,
            groups: Vec::new(),
            slos: Vec::new(),
            footer: String::new(),
            version: 0,
        })),
        None => Ok(None),
    }
}

impl PageData {
    /// Reads what `page` shows.
    ///
    /// # Errors
    /// [`ApiError`] when the store cannot be read.
    pub async fn read<S: Store>(app: &AppState<S>, page: StatusPage) -> Result<Self, ApiError> {
        let now = lookout_core::time::now_ms();
        let defs: &DefsCache = &app.defs;
        let (loaded, uptime, verdicts, open, recent, slos) = tokio::join!(
            crate::routes::load_cached(&app.store, defs),
            uptime_cached(app),
            crate::routes::locations::verdicts_all(&app.store),
            app.incidents.open(&app.store),
            app.incidents
                .between(&app.store, now - BAR_DAYS as i64 * DAY_MS, now),
            // On the heap: the join's future is large in debug builds (2 MiB thread stacks).
            Box::pin(slos::read(&app.store, &page.slos, now)),
        );
        let (targets, latest, states) = loaded?;
        Ok(Self {
            now,
            page,
            targets,
            latest,
            states,
            uptime: uptime?,
            verdicts: verdicts?,
            open: open?,
            recent: recent?,
            slos: slos?,
        })
    }

    /// The rows' inputs.
    fn inputs(&self) -> rows::Inputs<'_> {
        rows::Inputs {
            now: self.now,
            targets: &self.targets,
            latest: &self.latest,
            states: &self.states,
            uptime: &self.uptime,
            verdicts: &self.verdicts,
            only: &self.page.groups,
        }
    }

    /// Whether an incident names a target the page shows (a page of some groups shows only
    /// their incidents; one naming no target shows on every page).
    fn shows(&self, i: &Incident, shown: &std::collections::HashSet<&str>) -> bool {
        self.page.groups.is_empty()
            || i.targets.is_empty()
            || i.targets.iter().any(|t| shown.contains(t.id.as_str()))
    }
}

mod view;
pub use view::{html_page, not_found_page};

/// Adds `Access-Control-Allow-Origin: *` (the JSON version is for embedding anywhere).
pub fn cors(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r
}

/// An HTML answer.
fn html_response(status: StatusCode, html: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

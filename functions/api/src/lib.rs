//! The HTTP API: an axum [`Router`] that `lambda_http::run` serves behind an API Gateway HTTP
//! API or a function URL. Every route is listed once, grouped by access, in
//! [`routes::router`]; the handlers live in `routes/<resource>.rs`.
//!
//! | route | access | answer |
//! | --- | --- | --- |
//! | `GET /v1/health` | public | `{"status":"ok","version"}` |
//! | `GET /v1/status` | public | every target (redacted) with state and latest result (and each location's verdict when probed from several); the active target of every group |
//! | `GET /v1/status?limit=&cursor=&fields=` | public | one page of the status (`next_cursor`), only the row fields named |
//! | `GET /v1/cache/stats` | read | per cache of the instance (status, summary, metrics, page, defs): hits, misses, hit rate, entries, bytes, age |
//! | `GET /v1/locations` | read | every probe location's dead man's switch: last report, silent, overdue |
//! | `GET /v1/summary` | public | counts by status and kind, last run per kind, proxy traffic and cost, the latest global digest |
//! | `GET /v1/targets/{id}/uptime` | public | uptime over 24 h, 7, 30 and 365 days from the rollups, and the last 24 hourly rollups |
//! | `GET /v1/digests?target=&before=&limit=` | read | digests of a target or global ones, newest first |
//! | `GET /v1/digests/latest?target=` | read | the newest digest of a target, or the newest global one |
//! | `GET /v1/targets` | read | target definitions (redacted) |
//! | `POST /v1/targets` | admin | create one target, a list, or `{"targets":[...]}`: 201, 409 if an id exists, 422 naming the field |
//! | `POST /v1/checks` | admin | check now (`{"ids":[..]}`, `{"kind":..}`, `{"group":..}` or `{}` for all enabled); returns results, changes no state |
//! | `GET /v1/system` | read | CPU count, memory, process RSS and uptime of the function instance |
//! | `GET /v1/leases` | admin | each kind's run lease: holder and until (epoch ms and RFC 3339) |
//! | `DELETE /v1/leases/{kind}` | admin | release a stuck run lease: 204 |
//! | `GET /v1/channels` | admin | notification channels (secrets `***`) |
//! | `POST /v1/channels` | admin | create a channel: 201 with `Location`, 409 if the id exists, 422 naming the field |
//! | `GET /v1/channels/{id}` | admin | one channel (secrets `***`) |
//! | `PATCH /v1/channels/{id}` | admin | JSON merge patch with the version read; `***` keeps a secret; a new `kind` needs a whole `config` |
//! | `DELETE /v1/channels/{id}` | admin | delete a channel: 204 |
//! | `POST /v1/channels/{id}/test` | admin | send a test message: `{"channel","ok","answers"}`, what the provider said |
//! | `GET /?lang=&tz=`, `GET /p/{slug}?lang=&tz=` | public | a status page (HTML): totals, open incidents, announced maintenance, one row per target (problems first, a 90-day uptime bar, 30-day uptime), past incidents; 404 HTML for an unknown slug |
//! | `GET /status.json`, `GET /p/{slug}/status.json?lang=&tz=&days=` | public | the page as JSON for embedding, `Access-Control-Allow-Origin: *` |
//! | `GET /v1/pages`, `GET /v1/pages/{slug}` | admin | the status pages' settings |
//! | `PUT /v1/pages/{slug}` | admin | create (201) or change (200, with the version read; 409 when stale) a page: title, description, logo URL (https), groups, footer; 422 naming the field |
//! | `DELETE /v1/pages/{slug}` | admin | delete a page: 204 |
//! | `GET /v1/deliveries?status=&channel=&limit=&cursor=` | admin | delivery records of alerts to channels, newest first |
//! | `POST /v1/deliveries/{id}/retry` | admin | send a failed delivery again: the record afterwards |
//! | `GET /v1/audit?since=&until=&actor=&object=&limit=&cursor=` | admin | the audit log of admin writes, newest first: `{"entries":[...],"next_cursor"}` ([`audit`]) |
//! | `GET`/`HEAD`/`POST /v1/push/{token}[/start\|/fail\|/log\|/<exit status>]?status=&msg=&exit_code=` | none: the token in the path is the secret | a heartbeat's ping (body kept, 100 KiB at most): `{"ok":true,"status","at"}`; 404 unknown token or disabled target; 503 + `Retry-After` when not stored ([`routes::push`]) |
//! | `POST /v1/targets/{id}/push-token` | admin | a new push token for a heartbeat: `push_url` shown once |
//! | `GET /v1/targets/{id}/pings` | read | a heartbeat's last 10 pings, newest first |
//!
//! The whole list, with parameters and answers, is the OpenAPI document at
//! `GET /v1/openapi.json` ([`openapi`]).
//!
//! Admin routes need `Authorization: Bearer <LOOKOUT_ADMIN_TOKEN>`, compared in constant time
//! ([`auth`]). Errors are `{"error":{"code","message"}}` ([`ApiError`]): 400 bad JSON, 401, 403,
//! 404, 405, 409, 413 (body over 1 MiB), 422 (with `field`, the JSON path, when one field is to
//! blame), 500 (no internal detail), 503 `unavailable` (the table does not answer;
//! `Retry-After`).

pub mod audit;
pub mod auth;
pub mod badges;
pub mod cache;
pub mod console;
pub mod error;
mod extract;
pub mod feed;
mod metrics;
pub mod page;
pub mod request_log;
pub mod routes;
pub mod target_page;

use std::sync::Arc;

use axum::Router;
use lambda_http::{Body, Request, Response};
use lookout_app::ports::{
    AlertLog, AuditLog, ChannelStore, DeliveryLog, DigestStore, HistoryStore, IncidentStore,
    LocationStore, RunLease, RunStore, SloStore, StateStore, StatusPageStore, SummaryStore,
    TargetStore,
};
use lookout_app::probe::Prober;

pub use auth::Access;
pub use error::{ApiError, Json};
pub use routes::{digests, dumps, leases, openapi};

/// Largest request body accepted, in bytes (1 MiB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Every table port the API reads or writes (one store implements them all).
pub trait Store:
    TargetStore
    + ChannelStore
    + DeliveryLog
    + StateStore
    + RunStore
    + AlertLog
    + HistoryStore
    + SummaryStore
    + DigestStore
    + RunLease
    + LocationStore
    + IncidentStore
    + StatusPageStore
    + AuditLog
    + SloStore
    + lookout_app::ports::HeartbeatStore
    + lookout_app::ports::NarrativeLedger
    + lookout_app::ports::Outbox
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: TargetStore
        + ChannelStore
        + DeliveryLog
        + StateStore
        + RunStore
        + AlertLog
        + HistoryStore
        + SummaryStore
        + DigestStore
        + RunLease
        + LocationStore
        + IncidentStore
        + StatusPageStore
        + AuditLog
        + SloStore
        + lookout_app::ports::HeartbeatStore
        + lookout_app::ports::NarrativeLedger
        + lookout_app::ports::Outbox
        + Send
        + Sync
        + 'static
{
}

/// What the handler needs: the store ports it reads and writes, the prober for manual checks and
/// the admin token.
pub struct App<S> {
    /// Targets, states and run records.
    pub store: S,
    /// Probe engine for `POST /v1/checks`.
    pub prober: Prober,
    /// Resolves secret references for manual checks and `GET /v1/proxies/active`.
    pub secrets: lookout_app::secrets::Secrets,
    /// `LOOKOUT_ADMIN_TOKEN`; `None` disables the admin routes (401).
    pub admin_token: Option<String>,
    /// `LOOKOUT_READ_TOKEN`: opens the read routes (and the public ones when they are not
    /// public); refused on admin routes (403).
    pub read_token: Option<String>,
    /// `LOOKOUT_PUBLIC_STATUS` (default true): the status page, status, summary, health and
    /// metrics need no token.
    pub public_status: bool,
    /// `LOOKOUT_BASE_PATH`: the path prefix the browser reaches the API under (empty on AWS);
    /// the console's links and cookie path start with it ([`console`]).
    pub base_path: String,
    /// The AWS dependencies `GET /v1/health` checks (none in unit tests).
    pub health: Option<lookout_aws::health::AwsHealth>,
    /// Target definitions cached for the bulk views.
    pub defs: routes::DefsCache,
    /// The incident list cached for `GET /v1/incidents` and `GET /feed.atom`.
    pub incidents: routes::IncidentsCache,
    /// The answers of the status, summary, metrics and status pages kept by this instance
    /// ([`cache`]).
    pub cache: cache::Caches,
    /// Probes in flight at once for manual checks.
    pub concurrency: usize,
    /// The dump routes' bucket and table; `None` (no `LOOKOUT_BUCKET`) answers them 503.
    pub dumps: Option<dumps::Dumps>,
    /// What `POST /v1/channels/{id}/test` and `POST /v1/deliveries/{id}/retry` send with.
    pub notify: NotifyDeps,
    /// The probe locations deployed (`LOOKOUT_LOCATIONS`, `LOOKOUT_HOME_LOCATION`,
    /// `LOOKOUT_LOCATION_GRACE_S`); `None` with one location. `GET /v1/locations` and
    /// `/metrics` judge a location overdue after its grace ([`App::location_grace_ms`]).
    pub locations: Option<lookout_app::usecases::probe_run::LocationSetup>,
    /// The narratives' language model (`LOOKOUT_LLM_*`, [`lookout_app::config::Settings`]'s
    /// `narrative`); `None` when not configured. `GET /v1/digests` names its model and monthly
    /// token budget; the API never calls the model (the digest function does) and never shows
    /// the base URL or the key's reference.
    pub narrative: Option<lookout_app::narrative::NarrativeSettings>,
}

impl<S> App<S> {
    /// An instance over `store` with nothing else set up: no tokens (the admin routes answer
    /// 401), public status, the prober allowed to reach private and loopback addresses, no
    /// secrets, no health checks, no dumps, one location, no narratives, notifications as
    /// [`NotifyDeps::local`], four manual checks at once, empty caches. Tests, benchmarks and
    /// local tools start from it and set what they need with struct update syntax:
    /// `App { admin_token: Some(..), ..App::local(store) }`.
    ///
    /// # Panics
    /// When the prober's HTTP client cannot be built (no TLS roots), which only a broken
    /// build does.
    pub fn local(store: S) -> Self {
        App {
            store,
            prober: Prober::with_options(lookout_app::probe::ProbeOptions::allow_private())
                .expect("the prober builds"),
            secrets: lookout_app::secrets::Secrets::none(),
            admin_token: None,
            read_token: None,
            public_status: true,
            base_path: String::new(),
            health: None,
            defs: routes::DefsCache::default(),
            incidents: routes::IncidentsCache::default(),
            cache: cache::Caches::default(),
            concurrency: 4,
            dumps: None,
            notify: NotifyDeps::local(),
            locations: None,
            narrative: None,
        }
    }

    /// How long a location may stay silent before it is overdue, ms: the settings' grace
    /// (`LOOKOUT_LOCATION_GRACE_S`), or the default of 180 s without locations set up.
    pub fn location_grace_ms(&self) -> i64 {
        self.locations.as_ref().map_or(
            lookout_app::usecases::probe_run::DEFAULT_LOCATION_GRACE_S * 1000,
            |l| l.grace_ms,
        )
    }
}

/// What the notification routes send with: the [`Notifier`](lookout_app::usecases::notify::Notifier)'s
/// senders and settings (the channels and delivery records are the [`App`]'s store).
pub struct NotifyDeps {
    /// HTTP to the providers (Slack, Telegram, Discord, Teams, PagerDuty, Opsgenie, webhooks).
    pub http: lookout_app::notify::HttpNotifier,
    /// E-mail channels' sender: SES or SNS, or [`AwsMail::disabled`](lookout_aws::mail::AwsMail::disabled).
    pub mail: lookout_aws::mail::AwsMail,
    /// How the notifier claims, retries and records (provider base URLs included).
    pub settings: lookout_app::usecases::notify::NotifySettings,
    /// The status page's e-mail subscriptions (`POST /v1/subscriptions`), on the topic
    /// `LOOKOUT_STATUS_TOPIC_ARN`; [`SnsIncidentNotices::none`](lookout_aws::sns::SnsIncidentNotices::none)
    /// answers 503.
    pub subscriptions: lookout_aws::sns::SnsIncidentNotices,
}

impl NotifyDeps {
    /// The providers' own URLs and default retries, posting to private and loopback
    /// addresses too, e-mail disabled (an e-mail channel's test answers an error): for tests
    /// and tools without AWS.
    pub fn local() -> Self {
        NotifyDeps {
            http: lookout_app::notify::HttpNotifier::allow_private(),
            mail: lookout_aws::mail::AwsMail::disabled(),
            settings: Default::default(),
            subscriptions: lookout_aws::sns::SnsIncidentNotices::none(),
        }
    }
}

impl App<lookout_aws::dynamodb::DynamoStore> {
    /// Reads the settings and builds the adapters from the environment.
    ///
    /// # Errors
    /// A message naming the missing setting, or the HTTP client that failed to build.
    pub async fn from_env() -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let settings = lookout_app::config::Settings::from_env()?;
        Self::from_aws(settings, &lookout_aws::Aws::from_env().await).await
    }

    /// Builds the adapters from `aws` for `settings`. The table's client gives up quickly
    /// ([`Aws::interactive_store`](lookout_aws::Aws::interactive_store)), so that an outage of
    /// the table is a 503 in about a second, not a 500 after several seconds of retries. No SDK
    /// client is made before the first request that needs it.
    ///
    /// # Errors
    /// The token parameter that cannot be read, or the HTTP client that failed to build.
    pub async fn from_aws(
        settings: lookout_app::config::Settings,
        aws: &lookout_aws::Aws,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let (mut admin_token, mut read_token) =
            (settings.admin_token.clone(), settings.read_token.clone());
        if let Some(name) = &settings.token_param {
            let tokens = aws.read_tokens(name).await?;
            admin_token = tokens.admin;
            read_token = tokens.read;
        }
        let dumps = aws.dump_store(&settings).ok().map(|store| dumps::Dumps {
            store,
            table: aws.store(&settings),
            options: lookout_app::dump::DumpOptions {
                segments: settings.dump_segments,
                include: settings.dump_include.clone(),
                ..Default::default()
            },
            retention: (settings.retention_days, settings.max_dumps),
            runner: aws.dump_runner(&settings),
        });
        let notify = lookout_app::usecases::notify::NotifySettings::from_settings(&settings);
        Ok(App {
            notify: NotifyDeps {
                http: lookout_app::notify::HttpNotifier::from_settings(&settings),
                mail: aws.mail_sender(&settings),
                settings: notify,
                subscriptions: aws.incident_notices(&settings),
            },
            dumps,
            locations: settings.locations.clone(),
            narrative: settings.narrative.clone(),
            health: Some(aws.health(&settings)),
            defs: routes::DefsCache::default(),
            incidents: routes::IncidentsCache::default(),
            cache: cache::Caches::default(),
            store: aws.interactive_store(&settings),
            prober: Prober::with_options(settings.probe_options())?,
            secrets: aws.secrets(),
            admin_token,
            read_token,
            public_status: settings.public_status,
            base_path: settings.base_path.clone(),
            concurrency: lookout_app::probe::concurrency_limit(settings.probe_concurrency),
        })
    }
}

/// The router of every route over `app` ([`routes::router`]): what `main` hands to
/// `lambda_http::run`.
pub fn router<S: Store>(app: Arc<App<S>>) -> Router {
    routes::router(app)
}

/// Answers one request through [`router`]; never fails: every problem is a JSON error answer.
/// The body is `Body::Text` when it is UTF-8, `Body::Empty` when there is none (HEAD, 204),
/// else `Body::Binary`. Builds the router for each call (tests, benches, the local server);
/// the Lambda function builds it once.
pub async fn handle<S: Store>(app: &Arc<App<S>>, req: Request) -> Response<Body> {
    use tower::ServiceExt as _;
    let response = match router(Arc::clone(app))
        .oneshot(req.map(axum::body::Body::new))
        .await
    {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let body = if bytes.is_empty() {
        Body::Empty
    } else {
        match String::from_utf8(bytes.to_vec()) {
            Ok(text) => Body::Text(text),
            Err(e) => Body::Binary(e.into_bytes()),
        }
    };
    Response::from_parts(parts, body)
}

#[cfg(test)]
pub(crate) use routes::ROUTES;

#[cfg(test)]
mod tests;

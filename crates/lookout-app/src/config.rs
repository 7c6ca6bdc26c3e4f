//! Settings read once from the environment, with errors that name the variable.

use std::env;

use base64::Engine as _;

/// A missing or malformed environment variable.
#[derive(Debug, thiserror::Error)]
#[error("setting {name}: {problem}")]
pub struct ConfigError {
    /// The environment variable.
    pub name: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

/// Days the raw check results (with run records and alert rows) are kept by default. Older
/// figures live on in the rollups (hourly 35 days, daily 400): two weeks of raw results keep
/// the table, and so its storage and each daily dump's scan, at about a third of what 30 days
/// took (BENCHMARKS.md, the bill).
pub const DEFAULT_HISTORY_TTL_DAYS: u32 = 14;

/// Days audit entries are kept by default (issue 19: a configurable time, default 400 days,
/// as the daily rollups).
pub const DEFAULT_AUDIT_RETENTION_DAYS: u32 = 400;

/// Settings renamed to carry the `LOOKOUT_` prefix: (new name, old name). For one release the
/// old name is still read when the new one is unset, with a warning naming both (once per
/// process and name); errors name the new one.
pub const RENAMED: &[(&str, &str)] = &[
    ("LOOKOUT_STORM_THRESHOLD", "STORM_THRESHOLD"),
    ("LOOKOUT_RETENTION_DAYS", "RETENTION_DAYS"),
    ("LOOKOUT_MAX_DUMPS", "MAX_DUMPS"),
    ("LOOKOUT_DUMP_SEGMENTS", "DUMP_SEGMENTS"),
    ("LOOKOUT_DUMP_INCLUDE", "DUMP_INCLUDE"),
    ("LOOKOUT_DUMP_FUNCTION", "LOOKOUT_EXPORT_FUNCTION"),
];

/// Everything the functions read from the environment. Endpoints of the AWS services are not
/// here: the SDK reads the standard `AWS_ENDPOINT_URL_<SERVICE>` variables itself.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `LOOKOUT_TABLE`: the DynamoDB table (required).
    pub table: String,
    /// `LOOKOUT_TOPIC_ARN`: the SNS topic for alerts (required by probe).
    pub topic_arn: Option<String>,
    /// `LOOKOUT_STATUS_TOPIC_ARN`: the SNS topic of the status page's e-mail subscribers
    /// (probe and API). Unset: `POST /v1/subscriptions` answers 503 and no incident notice is
    /// sent.
    pub status_topic_arn: Option<String>,
    /// `LOOKOUT_BUCKET`: the S3 bucket for dumps (required by the dump function).
    pub bucket: Option<String>,
    /// `LOOKOUT_ADMIN_TOKEN`: bearer token of admin routes; unset means admin routes answer 401.
    pub admin_token: Option<String>,
    /// `LOOKOUT_READ_TOKEN`: bearer token of the read routes (unset: only the admin token reads).
    pub read_token: Option<String>,
    /// `LOOKOUT_TOKEN_PARAM`: an SSM parameter (SecureString) holding the tokens, read at cold
    /// start instead of `LOOKOUT_ADMIN_TOKEN` / `LOOKOUT_READ_TOKEN` (see
    /// `lookout_aws::ssm::read_tokens` for its shape).
    pub token_param: Option<String>,
    /// `LOOKOUT_PUBLIC_STATUS`: `false` makes the status page, status, summary, health and
    /// metrics need a token (default `true`).
    pub public_status: bool,
    /// `LOOKOUT_BASE_PATH`: the path the browser reaches the API under, without a trailing slash
    /// (default empty: the API at the root of its domain, as API Gateway's `$default` stage
    /// serves it; `/lambda-url/api` under `cargo lambda watch`). The admin console
    /// (`/console`) builds its links and its cookie's `Path` from it.
    pub base_path: String,
    /// `LOOKOUT_PROBE_CONCURRENCY`: probes in flight at once (default 256; lowered at run time to
    /// what the open-file limit allows, see `crate::probe::concurrency_limit`).
    pub probe_concurrency: usize,
    /// `LOOKOUT_ALLOW_PRIVATE_TARGETS`: `true` turns the probes' address guard off so loopback
    /// and private targets can be probed (local stack and tests only; default `false`).
    pub allow_private_targets: bool,
    /// `LOOKOUT_ALLOWED_CIDRS`: comma-separated private ranges the address guard lets through
    /// (`10.20.0.0/16,fd12::/48`); link-local and cloud metadata addresses stay refused whatever
    /// it lists (default: none).
    pub allowed_cidrs: Vec<ipnet::IpNet>,
    /// `LOOKOUT_PROBE_RESOLVE`: `host=ip[,host=ip...]`, host names the probes connect to at
    /// that address instead of asking DNS, as curl's `--resolve` (still through the address
    /// guard; see [`crate::probe::resolve`]). Default: none.
    pub probe_resolve: crate::probe::resolve::Pins,
    /// `LOOKOUT_STORM_THRESHOLD`: more status changes than this in one run of one kind are sent as one
    /// grouped alert (default 10).
    pub storm_threshold: usize,
    /// `LOOKOUT_HISTORY_TTL_DAYS`: days history, run records and alert rows are kept (default
    /// [`DEFAULT_HISTORY_TTL_DAYS`]).
    pub history_ttl_days: u32,
    /// `LOOKOUT_AUDIT_RETENTION_DAYS`: days the audit log's entries are kept (TTL; default
    /// [`DEFAULT_AUDIT_RETENTION_DAYS`]).
    pub audit_retention_days: u32,
    /// `LOOKOUT_RETENTION_DAYS`: dumps younger than this many days are kept (default 7).
    pub retention_days: u32,
    /// `LOOKOUT_MAX_DUMPS`: at most this many dumps are kept (default 30).
    pub max_dumps: usize,
    /// `LOOKOUT_DUMP_SEGMENTS`: parallel scan segments of a dump (default 2).
    pub dump_segments: u32,
    /// `LOOKOUT_DUMP_INCLUDE`: item types a dump holds, `all` (default) or a comma list of
    /// definitions, state, history, rollups, alerts, audit.
    pub dump_include: crate::dump::Include,
    /// `LOOKOUT_DUMP_FUNCTION` (formerly `LOOKOUT_EXPORT_FUNCTION`): the dump function's name;
    /// when set, the API hands dumps and restores to it (asynchronous Lambda invoke) instead of
    /// running them itself.
    pub dump_function: Option<String>,
    /// `LOOKOUT_KMS_KEY_ID`: the KMS key (id, ARN or `alias/...`) whose data keys seal inline
    /// secrets of target definitions (see `lookout_aws::sealing`). Wins over
    /// `LOOKOUT_SECRETS_KEY`.
    pub kms_key_id: Option<String>,
    /// `LOOKOUT_SECRETS_KEY`: a 256-bit key, base64, that seals inline secrets where there is no
    /// KMS (the local stack). With neither key, inline secrets are refused.
    pub secrets_key: Option<LocalKey>,
    /// `LOOKOUT_TELEGRAM_API_URL`: the Telegram Bot API's base URL (default
    /// `https://api.telegram.org`; tests point it at a loopback server).
    pub telegram_api_url: String,
    /// `LOOKOUT_PAGERDUTY_EVENTS_URL`: the PagerDuty Events API's base URL (default
    /// `https://events.pagerduty.com`).
    pub pagerduty_events_url: String,
    /// `LOOKOUT_OPSGENIE_API_URL`: the Opsgenie API's base URL (default
    /// `https://api.opsgenie.com`; EU accounts use `https://api.eu.opsgenie.com`).
    pub opsgenie_api_url: String,
    /// `LOOKOUT_SES_FROM`: the sender address of e-mail channels; when set, e-mail goes
    /// through SES to each channel's `to`, else to the channel's SNS topic (default: unset).
    pub ses_from: Option<String>,
    /// `LOOKOUT_NOTIFY_ATTEMPTS`: requests per notification at most, the first and its
    /// retries (default 4, at least 1).
    pub notify_attempts: u32,
    /// `LOOKOUT_NOTIFY_MAX_WAIT_S`: the longest `Retry-After` (or Telegram `retry_after`)
    /// honoured inside one delivery, seconds; a longer one ends the delivery as a retryable
    /// failure and the queue brings the message back later (default 30).
    pub notify_max_wait_s: u64,
    /// `LOOKOUT_NOTIFY_TIMEOUT_MS`: the timeout of one request to a provider, connection
    /// included, ms (default 10,000, at least 100).
    pub notify_timeout_ms: u64,
    /// `LOOKOUT_DELIVERY_TTL_DAYS`: days a delivery record is kept (its TTL) and so how long
    /// an alert key is remembered as sent (default 30, at least 1).
    pub delivery_ttl_days: u32,
    /// The probe locations (`LOOKOUT_LOCATION`, `LOOKOUT_LOCATIONS`, `LOOKOUT_HOME_LOCATION`,
    /// `LOOKOUT_LOCATION_GRACE_S`); `None` with fewer than two locations deployed (one location
    /// decides alone, as before).
    pub locations: Option<crate::usecases::probe_run::LocationSetup>,
    /// `LOOKOUT_SHARD_TARGETS`: targets one probe worker takes before a run fans out into
    /// shards (default 10,000, at least 1).
    pub shard_targets: usize,
    /// `LOOKOUT_PROBE_QUEUE_URL`: the SQS queue of shard tasks; without it a run never fans out.
    pub probe_queue_url: Option<String>,
    /// `LOOKOUT_TABLE_REGION`: the region of the table when it is not the function's own (a
    /// location other than the home one writes the home table).
    pub table_region: Option<String>,
    /// `LOOKOUT_LLM_*`: the narratives' language model (`None`: no narratives, the default).
    pub narrative: Option<crate::narrative::NarrativeSettings>,
}

impl Settings {
    /// Reads the settings from the process environment.
    ///
    /// # Errors
    /// [`ConfigError`] naming the variable when `LOOKOUT_TABLE` is missing or a number does not
    /// parse.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| env::var(k).ok())
    }

    /// Reads the settings through `get` (the environment in production, a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let text = |name: &'static str| lookup(&get, name);
        let defaults = lookout_core::notify::Endpoints::default();
        Ok(Settings {
            table: text("LOOKOUT_TABLE").ok_or(ConfigError {
                name: "LOOKOUT_TABLE",
                problem: "is not set; it names the DynamoDB table".into(),
            })?,
            topic_arn: text("LOOKOUT_TOPIC_ARN"),
            status_topic_arn: text("LOOKOUT_STATUS_TOPIC_ARN"),
            bucket: text("LOOKOUT_BUCKET"),
            admin_token: text("LOOKOUT_ADMIN_TOKEN"),
            read_token: text("LOOKOUT_READ_TOKEN"),
            token_param: text("LOOKOUT_TOKEN_PARAM"),
            public_status: flag("LOOKOUT_PUBLIC_STATUS", text("LOOKOUT_PUBLIC_STATUS"), true)?,
            base_path: text("LOOKOUT_BASE_PATH")
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_string(),
            probe_concurrency: num(
                "LOOKOUT_PROBE_CONCURRENCY",
                text("LOOKOUT_PROBE_CONCURRENCY"),
                256,
            )?
            .max(1),
            storm_threshold: num(
                "LOOKOUT_STORM_THRESHOLD",
                text("LOOKOUT_STORM_THRESHOLD"),
                lookout_core::domain::grouped::DEFAULT_STORM_THRESHOLD,
            )?,
            allow_private_targets: flag(
                "LOOKOUT_ALLOW_PRIVATE_TARGETS",
                text("LOOKOUT_ALLOW_PRIVATE_TARGETS"),
                false,
            )?,
            allowed_cidrs: cidrs(text("LOOKOUT_ALLOWED_CIDRS"))?,
            probe_resolve: crate::probe::resolve::Pins::parse(
                text("LOOKOUT_PROBE_RESOLVE").as_deref().unwrap_or_default(),
            )
            .map_err(|e| ConfigError {
                name: "LOOKOUT_PROBE_RESOLVE",
                problem: format!("{e}; expected host=ip[,host=ip...]"),
            })?,
            history_ttl_days: num(
                "LOOKOUT_HISTORY_TTL_DAYS",
                text("LOOKOUT_HISTORY_TTL_DAYS"),
                DEFAULT_HISTORY_TTL_DAYS,
            )?,
            audit_retention_days: num(
                "LOOKOUT_AUDIT_RETENTION_DAYS",
                text("LOOKOUT_AUDIT_RETENTION_DAYS"),
                DEFAULT_AUDIT_RETENTION_DAYS,
            )?,
            retention_days: num("LOOKOUT_RETENTION_DAYS", text("LOOKOUT_RETENTION_DAYS"), 7)?,
            max_dumps: num("LOOKOUT_MAX_DUMPS", text("LOOKOUT_MAX_DUMPS"), 30)?,
            dump_segments: num("LOOKOUT_DUMP_SEGMENTS", text("LOOKOUT_DUMP_SEGMENTS"), 2)?
                .clamp(1, 64),
            dump_include: crate::dump::Include::parse(
                text("LOOKOUT_DUMP_INCLUDE").as_deref().unwrap_or("all"),
            )
            .map_err(|e| ConfigError {
                name: "LOOKOUT_DUMP_INCLUDE",
                problem: e.to_string(),
            })?,
            dump_function: text("LOOKOUT_DUMP_FUNCTION"),
            kms_key_id: text("LOOKOUT_KMS_KEY_ID"),
            secrets_key: text("LOOKOUT_SECRETS_KEY")
                .map(|k| LocalKey::parse(&k))
                .transpose()
                .map_err(|e| ConfigError {
                    name: "LOOKOUT_SECRETS_KEY",
                    problem: e.to_string(),
                })?,
            telegram_api_url: base_url(
                "LOOKOUT_TELEGRAM_API_URL",
                text("LOOKOUT_TELEGRAM_API_URL"),
                &defaults.telegram,
            )?,
            pagerduty_events_url: base_url(
                "LOOKOUT_PAGERDUTY_EVENTS_URL",
                text("LOOKOUT_PAGERDUTY_EVENTS_URL"),
                &defaults.pagerduty,
            )?,
            opsgenie_api_url: base_url(
                "LOOKOUT_OPSGENIE_API_URL",
                text("LOOKOUT_OPSGENIE_API_URL"),
                &defaults.opsgenie,
            )?,
            ses_from: text("LOOKOUT_SES_FROM"),
            notify_attempts: num(
                "LOOKOUT_NOTIFY_ATTEMPTS",
                text("LOOKOUT_NOTIFY_ATTEMPTS"),
                4,
            )?
            .max(1),
            notify_max_wait_s: num(
                "LOOKOUT_NOTIFY_MAX_WAIT_S",
                text("LOOKOUT_NOTIFY_MAX_WAIT_S"),
                30,
            )?,
            notify_timeout_ms: num(
                "LOOKOUT_NOTIFY_TIMEOUT_MS",
                text("LOOKOUT_NOTIFY_TIMEOUT_MS"),
                10_000,
            )?
            .max(100),
            delivery_ttl_days: num(
                "LOOKOUT_DELIVERY_TTL_DAYS",
                text("LOOKOUT_DELIVERY_TTL_DAYS"),
                30,
            )?
            .max(1),
            locations: location_setup(&text)?,
            shard_targets: num(
                "LOOKOUT_SHARD_TARGETS",
                text("LOOKOUT_SHARD_TARGETS"),
                lookout_core::domain::shard::DEFAULT_TARGETS_PER_SHARD,
            )?
            .max(1),
            probe_queue_url: text("LOOKOUT_PROBE_QUEUE_URL"),
            table_region: text("LOOKOUT_TABLE_REGION"),
            narrative: crate::narrative::NarrativeSettings::from_lookup(text)?,
        })
    }

    /// The notification providers' base URLs (`LOOKOUT_TELEGRAM_API_URL`,
    /// `LOOKOUT_PAGERDUTY_EVENTS_URL`, `LOOKOUT_OPSGENIE_API_URL`).
    pub fn notify_endpoints(&self) -> lookout_core::notify::Endpoints {
        lookout_core::notify::Endpoints {
            telegram: self.telegram_api_url.clone(),
            pagerduty: self.pagerduty_events_url.clone(),
            opsgenie: self.opsgenie_api_url.clone(),
        }
    }

    /// The probe engine's options: the address guard's switch and allow-list, and the pinned
    /// addresses.
    pub fn probe_options(&self) -> crate::probe::ProbeOptions {
        crate::probe::ProbeOptions {
            allow_private_targets: self.allow_private_targets,
            allowed_cidrs: self.allowed_cidrs.clone(),
            resolve: self.probe_resolve.clone(),
        }
    }

    /// The topic ARN, or an error naming `LOOKOUT_TOPIC_ARN`.
    pub fn require_topic(&self) -> Result<&str, ConfigError> {
        self.topic_arn.as_deref().ok_or(ConfigError {
            name: "LOOKOUT_TOPIC_ARN",
            problem: "is not set; it names the SNS topic for alerts".into(),
        })
    }

    /// The bucket, or an error naming `LOOKOUT_BUCKET`.
    pub fn require_bucket(&self) -> Result<&str, ConfigError> {
        self.bucket.as_deref().ok_or(ConfigError {
            name: "LOOKOUT_BUCKET",
            problem: "is not set; it names the S3 bucket for dumps".into(),
        })
    }
}

/// The value of setting `name` through `get`, blank counting as unset; a setting that was
/// renamed is still read by its old name (with a warning) when the new one is unset.
fn lookup(get: &impl Fn(&str) -> Option<String>, name: &'static str) -> Option<String> {
    let set = |n: &str| get(n).filter(|v| !v.trim().is_empty());
    set(name).or_else(|| {
        let (_, old) = RENAMED.iter().find(|(new, _)| *new == name)?;
        let value = set(old)?;
        warn_old_name(name, old);
        Some(value)
    })
}

/// A `true`/`1` or `false`/`0` setting, `default` when unset.
///
/// # Errors
/// [`ConfigError`] naming the variable for any other value.
fn flag(name: &'static str, v: Option<String>, default: bool) -> Result<bool, ConfigError> {
    match v.as_deref().map(str::trim) {
        None => Ok(default),
        Some("true" | "1") => Ok(true),
        Some("false" | "0") => Ok(false),
        Some(other) => Err(ConfigError {
            name,
            problem: format!("expected true or false, got {other:?}"),
        }),
    }
}

/// A whole-number setting, `default` when unset.
///
/// # Errors
/// [`ConfigError`] naming the variable when it does not parse.
fn num<T: std::str::FromStr>(
    name: &'static str,
    v: Option<String>,
    default: T,
) -> Result<T, ConfigError> {
    match v {
        None => Ok(default),
        Some(s) => s.trim().parse().map_err(|_| ConfigError {
            name,
            problem: format!("expected a whole number, got {s:?}"),
        }),
    }
}

/// Logs once per process and old name that `old` was read in place of `new`; true when it
/// logged.
fn warn_old_name(new: &'static str, old: &'static str) -> bool {
    static WARNED: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    let mut warned = WARNED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if warned.contains(&old) {
        return false;
    }
    warned.push(old);
    tracing::warn!(
        old,
        new,
        "setting {old} is deprecated and will stop being read: rename it to {new}"
    );
    true
}

/// A provider's base URL: an `http` or `https` URL without a query, its trailing `/` dropped
/// (paths are appended to it); `default` when unset.
///
/// # Errors
/// [`ConfigError`] naming the variable for anything else.
fn base_url(name: &'static str, v: Option<String>, default: &str) -> Result<String, ConfigError> {
    let Some(v) = v else {
        return Ok(default.to_string());
    };
    let v = v.trim().trim_end_matches('/');
    match url::Url::parse(v) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.query().is_none() => Ok(v.into()),
        _ => Err(ConfigError {
            name,
            problem: format!(
                "expected an http(s) base URL like https://api.telegram.org, got {:?}",
                lookout_core::redact::redact_url(v)
            ),
        }),
    }
}

/// Parses `LOOKOUT_ALLOWED_CIDRS`: ranges like `10.20.0.0/16` or `fd12::/48`, comma-separated.
fn cidrs(raw: Option<String>) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    raw.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| {
            c.parse::<ipnet::IpNet>().map_err(|e| ConfigError {
                name: "LOOKOUT_ALLOWED_CIDRS",
                problem: format!("{c:?} is not a CIDR range like 10.20.0.0/16 ({e})"),
            })
        })
        .collect()
}

/// Why a [`LocalKey`] text was refused; the messages never show the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocalKeyError {
    /// Neither standard nor URL-safe base64.
    #[error("is not base64 (make one with `openssl rand -base64 32`)")]
    NotBase64,
    /// Base64 of this many bytes, not 32.
    #[error("holds {0} bytes; AES-256 needs 32")]
    WrongLength(usize),
}

/// A 256-bit key from the environment (`LOOKOUT_SECRETS_KEY`) that seals inline secrets where
/// there is no KMS; its `Debug` shows only the fingerprint. Defined here, not with the sealing
/// (`lookout_aws::sealing`), so that the settings need no adapter.
#[derive(Clone, PartialEq, Eq)]
pub struct LocalKey([u8; 32]);

impl LocalKey {
    /// Parses 32 bytes in standard or URL-safe base64 (`openssl rand -base64 32`).
    ///
    /// # Errors
    /// [`LocalKeyError`] (its message never shows the key) when it is not base64 of 32 bytes.
    pub fn parse(text: &str) -> Result<Self, LocalKeyError> {
        let text = text.trim();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .or_else(|_| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text.trim_end_matches('='))
            })
            .map_err(|_| LocalKeyError::NotBase64)?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| LocalKeyError::WrongLength(b.len()))?;
        Ok(LocalKey(key))
    }

    /// A key of these bytes.
    pub fn from_bytes(key: [u8; 32]) -> Self {
        LocalKey(key)
    }

    /// The key's bytes, for the AES-256-GCM sealing of `lookout_aws::sealing`.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The first 8 hex digits of the key's SHA-256: names the key in sealed values.
    pub fn fingerprint(&self) -> String {
        use sha2::Digest as _;
        hex::encode(&sha2::Sha256::digest(self.0)[..4])
    }
}

impl std::fmt::Debug for LocalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LocalKey({})", self.fingerprint())
    }
}

#[cfg(test)]
mod tests;

/// The locations' settings: `LOOKOUT_LOCATIONS` (comma-separated, every location deployed),
/// `LOOKOUT_LOCATION` (this one, one of them), `LOOKOUT_HOME_LOCATION` (the one that decides;
/// default the first listed) and `LOOKOUT_LOCATION_GRACE_S` (default 180, at least 60). `None`
/// when fewer than two locations are listed.
fn location_setup(
    text: &impl Fn(&'static str) -> Option<String>,
) -> Result<Option<crate::usecases::probe_run::LocationSetup>, ConfigError> {
    use lookout_core::domain::location::valid_location;
    let all: Vec<String> = text("LOOKOUT_LOCATIONS")
        .unwrap_or_default()
        .split(',')
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    if all.len() < 2 {
        return Ok(None);
    }
    let bad = |name: &'static str, problem: String| ConfigError { name, problem };
    if let Some((i, l)) = all.iter().enumerate().find(|(i, l)| all[..*i].contains(l)) {
        return Err(bad(
            "LOOKOUT_LOCATIONS",
            format!("lists {l:?} twice (entry {})", i + 1),
        ));
    }
    if let Some(l) = all.iter().find(|l| !valid_location(l)) {
        return Err(bad(
            "LOOKOUT_LOCATIONS",
            format!("lists {l:?}; a location is 1 to 32 characters of a-z, 0-9 or '-'"),
        ));
    }
    let name = text("LOOKOUT_LOCATION").ok_or_else(|| {
        bad(
            "LOOKOUT_LOCATION",
            "is not set; with LOOKOUT_LOCATIONS it names this location".into(),
        )
    })?;
    if !all.contains(&name) {
        return Err(bad(
            "LOOKOUT_LOCATION",
            format!("is {name:?}, which LOOKOUT_LOCATIONS does not list"),
        ));
    }
    let home = text("LOOKOUT_HOME_LOCATION").unwrap_or_else(|| all[0].clone());
    if !all.contains(&home) {
        return Err(bad(
            "LOOKOUT_HOME_LOCATION",
            format!("is {home:?}, which LOOKOUT_LOCATIONS does not list"),
        ));
    }
    let grace_s: i64 = num(
        "LOOKOUT_LOCATION_GRACE_S",
        text("LOOKOUT_LOCATION_GRACE_S"),
        crate::usecases::probe_run::DEFAULT_LOCATION_GRACE_S,
    )?;
    Ok(Some(crate::usecases::probe_run::LocationSetup {
        name,
        home,
        all,
        // At most a week: a longer grace would never find a location silent.
        grace_ms: grace_s.clamp(60, 7 * 86_400) * 1000,
    }))
}

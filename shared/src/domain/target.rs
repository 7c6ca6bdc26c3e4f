//! Targets: what is probed, and how.
//!
//! JSON shape (servers and proxies share the top-level fields; `kind` picks the rest):
//! ```json
//! {"id": "api-primary", "name": "API primary", "kind": "server", "group": "api",
//!  "url": "https://api.example.com/health", "expected_status": [200, "300-399"]}
//! {"id": "proxy-vps", "kind": "proxy", "group": "pool", "proxy_url": "http://u:p@1.2.3.4:3128",
//!  "proxy_type": "vps", "cost_per_gb": 0, "test_urls": ["https://api.example.com/ping"]}
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::redact::{is_secret_header, redact_url, redact_url_and_query};
use crate::secrets::refs::without_refs;

/// What a target is: an HTTP server, or a forward proxy reached through to a test URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// An HTTP(S) server probed directly.
    Server,
    /// A forward proxy probed by requesting a test URL through it.
    Proxy,
}

impl TargetKind {
    /// Both kinds, in the order runs handle them.
    pub const ALL: [TargetKind; 2] = [TargetKind::Server, TargetKind::Proxy];

    /// `server` or `proxy`.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Server => "server",
            TargetKind::Proxy => "proxy",
        }
    }

    /// `servers` or `proxies`, for text.
    pub fn plural(self) -> &'static str {
        match self {
            TargetKind::Server => "servers",
            TargetKind::Proxy => "proxies",
        }
    }

    /// Parses `server` or `proxy`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "server" => Some(TargetKind::Server),
            "proxy" => Some(TargetKind::Proxy),
            _ => None,
        }
    }
}

/// How a proxy is billed and hosted; it sets the derived failover priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProxyType {
    /// A proxy on a rented VPS: a flat monthly price, tried first.
    Vps,
    /// A datacenter IP from a proxy provider.
    Datacenter,
    /// A residential IP, usually billed per GB: tried last.
    Residential,
}

/// An inclusive range of HTTP status codes. Deserializes from `200`, `"200"` or `"200-299"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusRange {
    /// Lowest accepted code.
    pub from: u16,
    /// Highest accepted code.
    pub to: u16,
}

impl StatusRange {
    /// Whether `code` lies in the range.
    pub fn contains(&self, code: u16) -> bool {
        (self.from..=self.to).contains(&code)
    }

    fn parse(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a status code or a range like \"200-299\"");
        let (a, b) = match s.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (s.trim(), s.trim()),
        };
        let from: u16 = a.parse().map_err(|_| bad())?;
        let to: u16 = b.parse().map_err(|_| bad())?;
        if !(100..=599).contains(&from) || !(100..=599).contains(&to) || from > to {
            return Err(bad());
        }
        Ok(StatusRange { from, to })
    }
}

impl Serialize for StatusRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.from == self.to {
            s.serialize_u16(self.from)
        } else {
            s.serialize_str(&format!("{}-{}", self.from, self.to))
        }
    }
}

impl<'de> Deserialize<'de> for StatusRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(u64),
            Text(String),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Num(n) => n.to_string(),
            Raw::Text(t) => t,
        };
        StatusRange::parse(&text).map_err(serde::de::Error::custom)
    }
}

fn yes() -> bool {
    true
}
fn default_interval_s() -> u32 {
    60
}
fn default_timeout_ms() -> u64 {
    10_000
}
fn default_failure_threshold() -> u32 {
    3
}
fn default_recovery_threshold() -> u32 {
    1
}
fn default_degraded_latency_ms() -> u64 {
    2_000
}
fn default_method() -> String {
    "GET".into()
}
fn default_expected_status() -> Vec<StatusRange> {
    vec![StatusRange { from: 200, to: 299 }]
}
fn default_accept_status() -> Vec<u16> {
    vec![200, 401, 404]
}
fn default_block_status() -> Vec<u16> {
    vec![403, 429]
}
fn default_backoff_ms() -> u64 {
    200
}
fn default_max_body_bytes() -> usize {
    64 * 1024
}
fn default_cert_expiry_warn_days() -> u32 {
    14
}
fn is_false(b: &bool) -> bool {
    !*b
}
fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A monitored target: its identity, schedule, thresholds and the check to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// Stable id: 1 to 64 characters of `a-z`, `0-9`, `-`, `_`, `.`.
    pub id: String,
    /// Human name; defaults to the id.
    #[serde(default)]
    pub name: String,
    /// Servers of one backend, or one proxy pool. Failover picks inside a group.
    pub group: String,
    /// Disabled targets are not probed.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Seconds between checks (default 60).
    #[serde(default = "default_interval_s")]
    pub interval_s: u32,
    /// Total time allowed for one attempt, in ms (default 10 000).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Time allowed to open the connection (DNS, TCP, TLS and any proxy handshake), in ms;
    /// unset means the whole `timeout_ms`. At most `timeout_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout_ms: Option<u64>,
    /// Extra attempts inside one run after a failed one (default 0, at most 10).
    #[serde(default)]
    pub retries: u32,
    /// Base delay before the first retry, in ms (default 200, 1 to 10 000). Retry `n` waits
    /// `backoff_ms × 2^(n-1)`, scaled by a random factor in [0.5, 1] ("equal jitter", from
    /// AWS Architecture Blog, "Exponential Backoff And Jitter", 2015) so that many targets failing
    /// together do not retry in lockstep.
    #[serde(default = "default_backoff_ms")]
    pub backoff_ms: u64,
    /// Consecutive failures before the target is `down` (default 3).
    #[serde(default = "default_failure_threshold")]
    pub failure_threshold: u32,
    /// Consecutive successes before a `down` target is up again (default 1).
    #[serde(default = "default_recovery_threshold")]
    pub recovery_threshold: u32,
    /// A successful answer slower than this many ms makes the target `degraded` (default 2000).
    #[serde(default = "default_degraded_latency_ms")]
    pub degraded_latency_ms: u64,
    /// Free labels for filtering.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Failover priority inside the group, lower first. Proxies derive it from type and cost
    /// when unset (see [`Target::priority`]); servers default to 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u32>,
    /// Maintenance windows: alerts about this target are silenced while one is active (checks
    /// and state go on). At most 20; see [`crate::domain::maintenance`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub maintenance: Vec<super::maintenance::MaintenanceWindow>,
    /// Minutes between reminder alerts while the target stays `down` (0, the default: no
    /// reminders).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reminder_every_min: u32,
    /// Optimistic-locking version, set by the store; ignored on input.
    #[serde(default)]
    pub version: u64,
    /// The kind-specific check, tagged by `kind`.
    #[serde(flatten)]
    pub check: Check,
}

/// The kind-specific part of a target, tagged by `kind` (`server` or `proxy`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Check {
    /// An HTTP(S) server.
    Server(ServerCheck),
    /// A forward proxy.
    Proxy(ProxyCheck),
}

/// How to check a server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerCheck {
    /// `http` or `https` URL to request.
    pub url: String,
    /// HTTP method (default `GET`).
    #[serde(default = "default_method")]
    pub method: String,
    /// Request headers. Values of secret-looking headers are masked in API answers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Optional request body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Accepted status codes and ranges (default `"200-299"`).
    #[serde(default = "default_expected_status")]
    pub expected_status: Vec<StatusRange>,
    /// The body must contain this text (case-sensitive), within the first `max_body_bytes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_contains: Option<String>,
    /// The body must not contain this text (e.g. `"maintenance"`), within `max_body_bytes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_not_contains: Option<String>,
    /// A JSON pointer (RFC 6901, e.g. `/status` or `/checks/0/ok`) into the body parsed as
    /// JSON. Alone, the value must exist; with `json_equals`, it must equal that value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_pointer: Option<String>,
    /// The value `json_pointer` must point at (any JSON value; `"ok"`, `true`, `3` ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_equals: Option<serde_json::Value>,
    /// At most this many body bytes are read for the assertions (default 65 536, at most
    /// 1 048 576); the rest is not downloaded, so a huge body cannot exhaust memory.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// For `https` URLs: a certificate expiring in fewer days than this makes the check
    /// `degraded` with the days left as its reason (default 14, 0 turns it off).
    #[serde(default = "default_cert_expiry_warn_days")]
    pub cert_expiry_warn_days: u32,
    /// PEM certificate(s) of a private CA to trust for this target, in addition to the public
    /// roots (at most 16 KiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
    /// Follow redirects (at most [`MAX_REDIRECTS`], each hop checked by the address guard
    /// again). Off by default: a 3xx is judged like any other status.
    #[serde(default, skip_serializing_if = "is_false")]
    pub follow_redirects: bool,
    /// Names of headers whose values are secrets (masked in every answer and log), in addition
    /// to the ones recognised by name (`Authorization`, `Cookie`, anything with `token`, `key`,
    /// `secret`, `password` or `auth`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_headers: Vec<String>,
}

/// Most redirects a server check follows when `follow_redirects` is on.
pub const MAX_REDIRECTS: usize = 5;

/// Largest `max_body_bytes` a target may ask for (1 MiB).
pub const MAX_BODY_CAP_BYTES: usize = 1024 * 1024;

impl ServerCheck {
    /// Names of the headers whose values are secrets ([`ServerCheck::is_secret_header`]).
    pub fn secret_header_names(&self) -> Vec<String> {
        self.headers
            .keys()
            .filter(|name| self.is_secret_header(name))
            .cloned()
            .collect()
    }

    /// Whether the value of header `name` is a secret: recognised by its name, or listed in
    /// `secret_headers` (case-insensitive).
    pub fn is_secret_header(&self, name: &str) -> bool {
        is_secret_header(name)
            || self
                .secret_headers
                .iter()
                .any(|h| h.eq_ignore_ascii_case(name))
    }
}

/// How to check a forward proxy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProxyCheck {
    /// `http://`, `https://` or `socks5://` URL of the proxy, with `user:password@` if it needs
    /// them. Redacted everywhere but the admin active-proxy answer.
    pub proxy_url: String,
    /// Hosting and billing type (default `datacenter`).
    #[serde(default = "default_proxy_type")]
    pub proxy_type: ProxyType,
    /// Price per GB of traffic in the account's currency (default 0).
    #[serde(default)]
    pub cost_per_gb: f64,
    /// URLs requested through the proxy, in order; the first answer decides.
    pub test_urls: Vec<String>,
    /// Statuses that prove the proxy works (default 200, 401, 404: a test API that refuses a
    /// fake token still proves the path works).
    #[serde(default = "default_accept_status")]
    pub accept_status: Vec<u16>,
    /// Statuses that mean the upstream refuses this proxy's IP: `blocked` (default 403, 429).
    #[serde(default = "default_block_status")]
    pub block_status: Vec<u16>,
    /// Alert when this proxy's traffic in one UTC day goes over this many GB (10^9 bytes);
    /// unset: no traffic alert. Meant for residential proxies billed per GB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic_alert_gb: Option<f64>,
    /// PEM certificate(s) of a private CA to trust for an `https://` proxy and the test URLs,
    /// in addition to the public roots (at most 16 KiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
    /// Text only the upstream's answer holds (a marker of the test URL, at most 256 bytes,
    /// looked for in the first 64 KiB of the body): an answer without it is the proxy's own, a
    /// `failed` / `proxy` result. Proves over plain `http` test URLs that the answer is not the
    /// proxy's (see `lookout::probe` for the provenance rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_body: Option<String>,
}

fn default_proxy_type() -> ProxyType {
    ProxyType::Datacenter
}

/// A target definition that is not acceptable, naming the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The offending field, e.g. `url` or `test_urls[1]`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> ValidationError {
    ValidationError {
        field: field.into(),
        message: message.into(),
    }
}

/// Largest target definition accepted, as JSON (64 KiB): far below DynamoDB's 400 KB item limit.
pub const MAX_DEFINITION_BYTES: usize = 64 * 1024;

/// Longest a single check may take: `timeout_ms × (retries + 1) × test URLs` (ms).
pub const MAX_CHECK_MS: u64 = 120_000;

const COMMON_FIELDS: &[&str] = &[
    "id",
    "name",
    "kind",
    "group",
    "enabled",
    "interval_s",
    "timeout_ms",
    "retries",
    "connect_timeout_ms",
    "backoff_ms",
    "failure_threshold",
    "recovery_threshold",
    "degraded_latency_ms",
    "tags",
    "priority",
    "version",
    "maintenance",
    "reminder_every_min",
];
const SERVER_FIELDS: &[&str] = &[
    "url",
    "method",
    "headers",
    "body",
    "expected_status",
    "body_contains",
    "body_not_contains",
    "json_pointer",
    "json_equals",
    "max_body_bytes",
    "cert_expiry_warn_days",
    "ca_pem",
    "follow_redirects",
    "secret_headers",
];
const PROXY_FIELDS: &[&str] = &[
    "proxy_url",
    "proxy_type",
    "cost_per_gb",
    "test_urls",
    "accept_status",
    "block_status",
    "ca_pem",
    "traffic_alert_gb",
    "expect_body",
];

fn check_url(field: &str, raw: &str, schemes: &[&str]) -> Result<url::Url, ValidationError> {
    let u = url::Url::parse(raw).map_err(|e| invalid(field, format!("not a valid URL ({e})")))?;
    if !schemes.contains(&u.scheme()) {
        return Err(invalid(
            field,
            format!("scheme must be one of {}", schemes.join(", ")),
        ));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(invalid(field, "has no host"));
    }
    Ok(u)
}

fn validate_ca_pem(pem: Option<&str>) -> Result<(), ValidationError> {
    let Some(pem) = pem else { return Ok(()) };
    if pem.len() > 16 * 1024 || !pem.contains("-----BEGIN CERTIFICATE-----") {
        return Err(invalid(
            "ca_pem",
            "must be PEM certificates (-----BEGIN CERTIFICATE-----), at most 16 KiB",
        ));
    }
    if reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_or(true, |c| c.is_empty()) {
        return Err(invalid("ca_pem", "holds no certificate that parses"));
    }
    Ok(())
}

fn validate_assertions(s: &ServerCheck) -> Result<(), ValidationError> {
    for (field, text) in [
        ("body_contains", &s.body_contains),
        ("body_not_contains", &s.body_not_contains),
    ] {
        if text
            .as_ref()
            .is_some_and(|t| t.is_empty() || t.len() > 1024)
        {
            return Err(invalid(field, "must be 1 to 1024 bytes of text"));
        }
    }
    match (&s.json_pointer, &s.json_equals) {
        (Some(p), _) if !p.is_empty() && !p.starts_with('/') => {
            return Err(invalid(
                "json_pointer",
                "must be a JSON pointer such as \"/status\" (RFC 6901)",
            ))
        }
        (None, Some(_)) => return Err(invalid("json_equals", "needs a json_pointer")),
        _ => {}
    }
    if !(1..=MAX_BODY_CAP_BYTES).contains(&s.max_body_bytes) {
        return Err(invalid(
            "max_body_bytes",
            format!("must be between 1 and {MAX_BODY_CAP_BYTES}"),
        ));
    }
    if s.cert_expiry_warn_days > 365 {
        return Err(invalid("cert_expiry_warn_days", "must be at most 365"));
    }
    validate_ca_pem(s.ca_pem.as_deref())?;
    for (i, h) in s.secret_headers.iter().enumerate() {
        if reqwest::header::HeaderName::from_bytes(h.as_bytes()).is_err() {
            return Err(invalid(
                format!("secret_headers[{i}]"),
                "is not a header name",
            ));
        }
    }
    Ok(())
}

/// Deserializes `value` as `T`; a value of the wrong type or shape is a [`ValidationError`]
/// naming its JSON path (`timeout_ms`, `expected_status[0]`, `headers.X-Token`), or
/// `definition` when serde cannot tell one (a missing field, an unknown `kind`).
fn typed<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, ValidationError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." || path.contains('?') {
            "definition".to_string()
        } else {
            path
        };
        let mut message = crate::redact::redact_text(&e.inner().to_string());
        // A field that holds secrets never has its text echoed back, even mistyped: serde's
        // `invalid type: string "..."` would quote a header value or a URL with a password.
        let secret_place = ["headers", "url", "proxy_url", "test_urls", "body", "ca_pem"]
            .iter()
            .any(|f| {
                field == *f
                    || field.starts_with(&format!("{f}."))
                    || field.starts_with(&format!("{f}["))
            });
        if secret_place {
            message = quoted_strings_masked(&message);
        }
        invalid(field, message)
    })
}

/// `text` with every `"..."` replaced by `a string`.
fn quoted_strings_masked(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut inside = false;
    for c in text.chars() {
        match (c, inside) {
            ('"', false) => {
                inside = true;
                out.push_str("(a string)");
            }
            ('"', true) => inside = false,
            (_, true) => {}
            (c, false) => out.push(c),
        }
    }
    out
}

/// Methods a server check refuses: `CONNECT` opens a tunnel rather than asking for a resource,
/// and `TRACE` echoes the request back, headers and credentials included (RFC 9110 §9.3.6, §9.3.8).
pub const REFUSED_METHODS: [&str; 2] = ["CONNECT", "TRACE"];

impl Target {
    /// The longest one check of this target may take, in ms: every attempt of every test URL
    /// at `timeout_ms`, plus the longest backoff before each retry.
    pub fn max_check_ms(&self) -> u64 {
        let urls = self.proxy().map_or(1, |p| p.test_urls.len().max(1)) as u64;
        let backoff: u64 = (0..self.retries)
            .map(|i| self.backoff_ms.saturating_mul(1 << i.min(6)))
            .sum();
        self.timeout_ms
            .saturating_mul(u64::from(self.retries) + 1)
            .saturating_mul(urls)
            .saturating_add(backoff)
    }

    /// The maintenance window active at `at_ms`, if any.
    pub fn maintenance_at(&self, at_ms: i64) -> Option<&super::maintenance::MaintenanceWindow> {
        super::maintenance::active_window(&self.maintenance, at_ms)
    }

    /// `server` or `proxy`.
    pub fn kind(&self) -> TargetKind {
        match self.check {
            Check::Server(_) => TargetKind::Server,
            Check::Proxy(_) => TargetKind::Proxy,
        }
    }

    /// The proxy part, if this is a proxy.
    pub fn proxy(&self) -> Option<&ProxyCheck> {
        match &self.check {
            Check::Proxy(p) => Some(p),
            Check::Server(_) => None,
        }
    }

    /// Price per GB for proxies, 0 for servers.
    pub fn cost_per_gb(&self) -> f64 {
        self.proxy().map_or(0.0, |p| p.cost_per_gb)
    }

    /// Failover priority, lower first. Set explicitly, or for proxies derived from type and cost:
    /// a VPS 10, a datacenter proxy 20 plus ten per currency unit per GB up to 40, anything else
    /// `cost_per_gb × 10` but never below 41, so a pool is tried cheapest first. Servers 100.
    pub fn priority(&self) -> u32 {
        if let Some(p) = self.priority {
            return p;
        }
        match self.proxy() {
            None => 100,
            Some(p) => {
                let per_gb = (p.cost_per_gb.max(0.0) * 10.0).round().min(1e6) as u32;
                match p.proxy_type {
                    ProxyType::Vps => 10,
                    ProxyType::Datacenter => (20 + per_gb).min(40),
                    ProxyType::Residential => per_gb.max(41),
                }
            }
        }
    }

    /// Parses a definition from JSON, refusing unknown fields (a typo such as
    /// `failure_treshold` must not be silently ignored) and definitions over
    /// [`MAX_DEFINITION_BYTES`], then [validates](Target::validate) it.
    ///
    /// # Errors
    /// [`ValidationError`] naming the field, or `definition` when the JSON does not have the
    /// target's shape (the message then quotes serde's, which names the field).
    pub fn from_json(value: serde_json::Value) -> Result<Self, ValidationError> {
        let obj = value
            .as_object()
            .ok_or_else(|| invalid("definition", "must be a JSON object"))?;
        if value.to_string().len() > MAX_DEFINITION_BYTES {
            return Err(invalid(
                "definition",
                format!("is over {MAX_DEFINITION_BYTES} bytes"),
            ));
        }
        let specific: &[&str] = match obj.get("kind").and_then(|k| k.as_str()) {
            Some("server") => SERVER_FIELDS,
            Some("proxy") => PROXY_FIELDS,
            _ => &[],
        };
        if !specific.is_empty() {
            if let Some(unknown) = obj
                .keys()
                .find(|k| !COMMON_FIELDS.contains(&k.as_str()) && !specific.contains(&k.as_str()))
            {
                return Err(invalid(unknown.as_str(), "unknown field (a typo?)"));
            }
        }
        // The kind-specific fields on their own first: inside the whole target they are a
        // flattened, internally tagged part, which serde reads from a buffer that loses the
        // path of a wrong value.
        let only = |fields: &[&str]| {
            serde_json::Value::Object(
                obj.iter()
                    .filter(|(k, _)| fields.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            )
        };
        match obj.get("kind").and_then(|k| k.as_str()) {
            Some("server") => {
                typed::<ServerCheck>(only(SERVER_FIELDS))?;
            }
            Some("proxy") => {
                typed::<ProxyCheck>(only(PROXY_FIELDS))?;
            }
            _ => {}
        }
        typed::<Target>(value)?.validate()
    }

    /// Checks a definition and fills the defaults that depend on other fields (the name).
    ///
    /// # Errors
    /// [`ValidationError`] naming the first field that is wrong.
    pub fn validate(mut self) -> Result<Self, ValidationError> {
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 64
            && self
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
        if !id_ok {
            return Err(invalid(
                "id",
                "must be 1 to 64 characters of a-z, 0-9, '-', '_' or '.'",
            ));
        }
        // As a path segment (`/v1/targets/{id}`) they mean this folder and its parent.
        if self.id == "." || self.id == ".." {
            return Err(invalid(
                "id",
                "cannot be \".\" or \"..\" (they cannot be read, patched or deleted by URL)",
            ));
        }
        if self.name.trim().is_empty() {
            self.name = self.id.clone();
        }
        if self.name.chars().count() > 100 || self.name.chars().any(char::is_control) {
            return Err(invalid(
                "name",
                "must be at most 100 characters without line breaks",
            ));
        }
        if self.group.trim().is_empty()
            || self.group.chars().count() > 64
            || self.group.chars().any(char::is_control)
        {
            return Err(invalid(
                "group",
                "must be 1 to 64 characters without line breaks",
            ));
        }
        if !(1..=120_000).contains(&self.degraded_latency_ms) {
            return Err(invalid(
                "degraded_latency_ms",
                "must be between 1 and 120000 ms",
            ));
        }
        if !(1..=86_400).contains(&self.interval_s) {
            return Err(invalid("interval_s", "must be between 1 and 86400 seconds"));
        }
        if !(1..=120_000).contains(&self.timeout_ms) {
            return Err(invalid("timeout_ms", "must be between 1 and 120000 ms"));
        }
        if self.retries > 10 {
            return Err(invalid("retries", "must be at most 10"));
        }
        if self.maintenance.len() > 20 {
            return Err(invalid("maintenance", "must list at most 20 windows"));
        }
        for (i, w) in self.maintenance.iter().enumerate() {
            w.validate()
                .map_err(|m| invalid(format!("maintenance[{i}]"), m))?;
        }
        if self.reminder_every_min > 10_080 {
            return Err(invalid(
                "reminder_every_min",
                "must be at most 10080 (a week)",
            ));
        }
        if !(1..=10_000).contains(&self.backoff_ms) {
            return Err(invalid("backoff_ms", "must be between 1 and 10000 ms"));
        }
        if let Some(c) = self.connect_timeout_ms {
            if c == 0 || c > self.timeout_ms {
                return Err(invalid(
                    "connect_timeout_ms",
                    "must be between 1 ms and timeout_ms",
                ));
            }
        }
        if !(1..=100).contains(&self.failure_threshold) {
            return Err(invalid("failure_threshold", "must be between 1 and 100"));
        }
        if !(1..=100).contains(&self.recovery_threshold) {
            return Err(invalid("recovery_threshold", "must be between 1 and 100"));
        }
        // One target must not hold a run up: every attempt of every test URL, back to back,
        // with the longest backoff between attempts.
        if self.max_check_ms() > MAX_CHECK_MS {
            return Err(invalid(
                "timeout_ms",
                format!(
                    "timeout_ms × (retries + 1) × test URLs plus the backoff must be at most \
                     {MAX_CHECK_MS} ms"
                ),
            ));
        }
        match &self.check {
            Check::Server(s) => {
                check_url("url", &without_refs(&s.url), &["http", "https"])
                    .map_err(|e| invalid(e.field, redact_url(&e.message)))?;
                if reqwest::Method::from_bytes(s.method.as_bytes()).is_err() {
                    return Err(invalid(
                        "method",
                        format!("{:?} is not an HTTP method", s.method),
                    ));
                }
                if REFUSED_METHODS
                    .iter()
                    .any(|m| m.eq_ignore_ascii_case(&s.method))
                {
                    return Err(invalid(
                        "method",
                        format!(
                            "{} cannot be checked: CONNECT opens a tunnel and TRACE echoes the \
                             request, credentials included",
                            s.method
                        ),
                    ));
                }
                if s.expected_status.is_empty() {
                    return Err(invalid("expected_status", "must list at least one status"));
                }
                for (name, value) in &s.headers {
                    if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err()
                        || reqwest::header::HeaderValue::from_str(value).is_err()
                    {
                        return Err(invalid(format!("headers.{name}"), "is not a valid header"));
                    }
                }
                validate_assertions(s)?;
            }
            Check::Proxy(p) => {
                check_url(
                    "proxy_url",
                    &without_refs(&p.proxy_url),
                    &["http", "https", "socks5", "socks5h"],
                )
                .map_err(|e| invalid(e.field, redact_url(&e.message)))?;
                if !p.cost_per_gb.is_finite() || p.cost_per_gb < 0.0 {
                    return Err(invalid("cost_per_gb", "must be a number 0 or above"));
                }
                if p.traffic_alert_gb
                    .is_some_and(|g| !g.is_finite() || g <= 0.0)
                {
                    return Err(invalid("traffic_alert_gb", "must be a number above 0"));
                }
                if p.test_urls.is_empty() {
                    return Err(invalid("test_urls", "must list at least one URL"));
                }
                for (i, u) in p.test_urls.iter().enumerate() {
                    check_url(&format!("test_urls[{i}]"), u, &["http", "https"])?;
                }
                for (field, list) in [
                    ("accept_status", &p.accept_status),
                    ("block_status", &p.block_status),
                ] {
                    if let Some(bad) = list.iter().find(|c| !(100..=599).contains(*c)) {
                        return Err(invalid(field, format!("{bad} is not an HTTP status")));
                    }
                }
                validate_ca_pem(p.ca_pem.as_deref())?;
                if p.expect_body
                    .as_ref()
                    .is_some_and(|m| m.is_empty() || m.len() > 256)
                {
                    return Err(invalid("expect_body", "must be 1 to 256 bytes"));
                }
            }
        }
        crate::secrets::validate_refs(&self)?;
        Ok(self)
    }

    /// Puts back the secrets `old` holds where `self` carries their masked form from
    /// [`Target::redacted`] (a definition read from the API, edited and sent back): the proxy
    /// URL, test and server URLs with masked credentials or query secrets, masked header values
    /// and a masked body. Anything else in `self` wins.
    pub fn restore_secrets(&mut self, old: &Target) {
        let shown = old.redacted();
        match (&mut self.check, &old.check, &shown.check) {
            (Check::Proxy(new), Check::Proxy(old), Check::Proxy(shown)) => {
                if new.proxy_url == shown.proxy_url {
                    new.proxy_url.clone_from(&old.proxy_url);
                }
                for (i, u) in new.test_urls.iter_mut().enumerate() {
                    if shown.test_urls.get(i) == Some(u) {
                        if let Some(o) = old.test_urls.get(i) {
                            u.clone_from(o);
                        }
                    }
                }
            }
            (Check::Server(new), Check::Server(old), Check::Server(shown)) => {
                if new.url == shown.url {
                    new.url.clone_from(&old.url);
                }
                if new.body.is_some() && new.body == shown.body {
                    new.body.clone_from(&old.body);
                }
                for (name, value) in new.headers.iter_mut() {
                    if value == "***" {
                        if let Some(o) = old.headers.get(name) {
                            value.clone_from(o);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// A copy safe to show: proxy credentials and secret header values masked.
    pub fn redacted(&self) -> Target {
        let mut t = self.clone();
        match &mut t.check {
            Check::Proxy(p) => {
                p.proxy_url = redact_url(&p.proxy_url);
                for u in p.test_urls.iter_mut() {
                    *u = redact_url_and_query(u);
                }
            }
            Check::Server(s) => {
                s.url = redact_url_and_query(&s.url);
                if s.body.is_some() {
                    s.body = Some("***".into());
                }
                for name in s.secret_header_names() {
                    s.headers.insert(name, "***".into());
                }
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> Result<Target, ValidationError> {
        serde_json::from_value::<Target>(v)
            .map_err(|e| invalid("body", e.to_string()))?
            .validate()
    }

    #[test]
    fn a_minimal_server_gets_the_documented_defaults() {
        let t = parse(json!({"id":"a","group":"g","kind":"server","url":"http://127.0.0.1:1/"}))
            .unwrap();
        assert_eq!(
            (t.name.as_str(), t.interval_s, t.failure_threshold),
            ("a", 60, 3)
        );
        assert_eq!(t.degraded_latency_ms, 2000);
        let Check::Server(s) = &t.check else {
            panic!("server")
        };
        assert_eq!(s.method, "GET");
        assert!(s.expected_status[0].contains(204) && !s.expected_status[0].contains(301));
    }

    #[test]
    fn status_ranges_parse_from_numbers_and_text_and_reject_nonsense() {
        let t = parse(
            json!({"id":"a","group":"g","kind":"server","url":"http://h/",
            "expected_status":[200, "301-302"]}),
        )
        .unwrap();
        let Check::Server(s) = &t.check else { panic!() };
        assert!(s.expected_status.iter().any(|r| r.contains(302)));
        let e = serde_json::from_value::<Target>(json!({"id":"a","group":"g","kind":"server",
            "url":"http://h/","expected_status":["299-200"]}))
        .unwrap_err();
        assert!(e.to_string().contains("299-200"), "{e}");
    }

    #[test]
    fn a_bad_definition_names_the_field() {
        let e = parse(json!({"id":"a","group":"g","kind":"server","url":"ftp://h/"})).unwrap_err();
        assert_eq!(e.field, "url");
        let e =
            parse(json!({"id":"A B","group":"g","kind":"server","url":"http://h/"})).unwrap_err();
        assert_eq!(e.field, "id");
        let e = parse(
            json!({"id":"p","group":"g","kind":"proxy","proxy_url":"http://u:p@h:1",
            "test_urls":["http://x/","nope"]}),
        )
        .unwrap_err();
        assert_eq!(e.field, "test_urls[1]");
        let e = parse(
            json!({"id":"p","group":"g","kind":"proxy","proxy_url":"http://h:1",
            "cost_per_gb": -1, "test_urls":["http://x/"]}),
        )
        .unwrap_err();
        assert_eq!(e.field, "cost_per_gb");
    }

    #[test]
    fn from_json_refuses_unknown_fields_and_impossible_time_budgets() {
        let e = Target::from_json(
            json!({"id":"a","group":"g","kind":"server","url":"http://h/",
            "failure_treshold": 5}),
        )
        .unwrap_err();
        assert_eq!(e.field, "failure_treshold");
        let e = Target::from_json(
            json!({"id":"a","group":"g","kind":"server","url":"http://h/",
            "timeout_ms": 60000, "retries": 2}),
        )
        .unwrap_err();
        assert_eq!(e.field, "timeout_ms");
        let e = Target::from_json(
            json!({"id":"a","group":"g","kind":"server","url":"http://h/",
            "name": "two\nlines"}),
        )
        .unwrap_err();
        assert_eq!(e.field, "name");
        let e = Target::from_json(
            json!({"id":"a","group":"g","kind":"server","url":"http://h/",
            "body": "x".repeat(MAX_DEFINITION_BYTES)}),
        )
        .unwrap_err();
        assert_eq!(e.field, "definition");
        let e = Target::from_json(json!({"id":"a","group":"g","kind":"server"})).unwrap_err();
        assert!(e.message.contains("missing field `url`"), "{e}");
        assert!(
            Target::from_json(json!({"id":"a","group":"g","kind":"server","url":"http://h/"}))
                .is_ok()
        );
    }

    #[test]
    fn server_urls_bodies_and_query_tokens_are_redacted() {
        let s = parse(json!({"id":"s","group":"g","kind":"server",
            "url":"https://bob:pw1@h/x?token=t0k&page=1","body":"{\"password\":\"p2\"}"}))
        .unwrap();
        let shown = serde_json::to_string(&s.redacted()).unwrap();
        assert!(
            !["bob", "pw1", "t0k", "p2"]
                .iter()
                .any(|s| shown.contains(s)),
            "{shown}"
        );
        assert!(shown.contains("page=1"), "{shown}");
    }

    #[test]
    fn derived_proxy_priority_orders_a_pool_cheapest_first() {
        let mk = |ty: &str, cost: f64| {
            parse(
                json!({"id":"p","group":"g","kind":"proxy","proxy_url":"http://h:1",
                "proxy_type": ty, "cost_per_gb": cost, "test_urls":["http://x/"]}),
            )
            .unwrap()
        };
        let (vps, dc, res) = (
            mk("vps", 0.0),
            mk("datacenter", 0.5),
            mk("residential", 8.0),
        );
        assert_eq!(
            (vps.priority(), dc.priority(), res.priority()),
            (10, 25, 80)
        );
        assert_eq!(mk("datacenter", 9.0).priority(), 40);
        assert_eq!(mk("residential", 0.1).priority(), 41);
    }

    #[test]
    fn redacted_targets_hide_credentials_and_secret_headers() {
        let p = parse(
            json!({"id":"p","group":"g","kind":"proxy","proxy_url":"http://user:pw@h:1",
            "test_urls":["http://x/"]}),
        )
        .unwrap();
        let shown = serde_json::to_string(&p.redacted()).unwrap();
        assert!(!shown.contains("user") && !shown.contains("pw@"), "{shown}");
        let s = parse(
            json!({"id":"s","group":"g","kind":"server","url":"http://h/",
            "headers":{"Authorization":"Bearer abc","Accept":"text/plain"}}),
        )
        .unwrap();
        let shown = serde_json::to_string(&s.redacted()).unwrap();
        assert!(
            !shown.contains("abc") && shown.contains("text/plain"),
            "{shown}"
        );
    }

    #[test]
    fn every_probe_option_is_validated_with_the_field_named() {
        let base = json!({"id":"s","group":"g","kind":"server","url":"https://h/"});
        let with = |extra: serde_json::Value| {
            let mut v = base.clone();
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            Target::from_json(v)
        };
        for (extra, field) in [
            (json!({"timeout_ms": 0}), "timeout_ms"),
            (json!({"timeout_ms": 120_001}), "timeout_ms"),
            (json!({"url": "gopher://h/"}), "url"),
            (json!({"url": "not a url"}), "url"),
            (json!({"connect_timeout_ms": 0}), "connect_timeout_ms"),
            (
                json!({"timeout_ms": 1000, "connect_timeout_ms": 2000}),
                "connect_timeout_ms",
            ),
            (json!({"backoff_ms": 0}), "backoff_ms"),
            (json!({"retries": 11}), "retries"),
            (
                json!({"timeout_ms": 30000, "retries": 3, "backoff_ms": 10000}),
                "timeout_ms",
            ),
            (json!({"json_pointer": "status"}), "json_pointer"),
            (json!({"json_equals": 1}), "json_equals"),
            (json!({"body_contains": ""}), "body_contains"),
            (json!({"max_body_bytes": 0}), "max_body_bytes"),
            (json!({"max_body_bytes": 2 << 20}), "max_body_bytes"),
            (
                json!({"cert_expiry_warn_days": 400}),
                "cert_expiry_warn_days",
            ),
            (json!({"ca_pem": "hello"}), "ca_pem"),
            (
                json!({"ca_pem": "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----"}),
                "ca_pem",
            ),
            (
                json!({"secret_headers": ["bad header"]}),
                "secret_headers[0]",
            ),
            (json!({"follow_redirect": true}), "follow_redirect"),
        ] {
            let e = with(extra.clone()).expect_err(&extra.to_string());
            assert_eq!(e.field, field, "{extra}: {e}");
        }
        let t = with(
            json!({"connect_timeout_ms": 500, "backoff_ms": 100, "retries": 2,
            "body_contains": "ok", "body_not_contains": "error", "json_pointer": "/status",
            "json_equals": "ok", "max_body_bytes": 4096, "cert_expiry_warn_days": 30,
            "follow_redirects": true}),
        )
        .unwrap();
        assert_eq!(t.max_check_ms(), 10_000 * 3 + 100 + 200);
        let p = Target::from_json(json!({"id":"p","group":"g","kind":"proxy",
            "proxy_url":"ftp://h:1","test_urls":["http://x/"]}))
        .unwrap_err();
        assert_eq!(p.field, "proxy_url");
        let p = Target::from_json(json!({"id":"p","group":"g","kind":"proxy",
            "proxy_url":"socks5://u:pw@h:1080","test_urls":[]}))
        .unwrap_err();
        assert_eq!(p.field, "test_urls");
    }

    #[test]
    fn headers_marked_secret_are_masked_too() {
        let s = Target::from_json(
            json!({"id":"s","group":"g","kind":"server","url":"http://h/",
            "headers":{"X-Tenant":"acme-7781","Accept":"text/plain"},
            "secret_headers":["x-tenant"]}),
        )
        .unwrap();
        let shown = serde_json::to_string(&s.redacted()).unwrap();
        assert!(
            !shown.contains("acme-7781") && shown.contains("text/plain"),
            "{shown}"
        );
    }

    #[test]
    fn a_redacted_definition_sent_back_keeps_the_stored_secrets() {
        let old = Target::from_json(json!({"id":"p","group":"g","kind":"proxy",
            "proxy_url":"http://user:pw9@h:1","test_urls":["http://x/?token=t0k"]}))
        .unwrap();
        let mut edited = old.redacted();
        edited.interval_s = 30;
        edited.restore_secrets(&old);
        assert_eq!(edited.proxy().unwrap().proxy_url, "http://user:pw9@h:1");
        assert_eq!(edited.proxy().unwrap().test_urls[0], "http://x/?token=t0k");
        let s = Target::from_json(
            json!({"id":"s","group":"g","kind":"server","url":"http://h/",
            "headers":{"Authorization":"Bearer abc"},"body":"{\"password\":\"p\"}"}),
        )
        .unwrap();
        let mut back = s.redacted();
        back.restore_secrets(&s);
        assert_eq!(back, s);
        // A new value is kept.
        let mut changed = s.redacted();
        if let Check::Server(c) = &mut changed.check {
            c.headers
                .insert("Authorization".into(), "Bearer new".into());
        }
        changed.restore_secrets(&s);
        assert!(serde_json::to_string(&changed)
            .unwrap()
            .contains("Bearer new"));
    }

    #[test]
    fn a_mistyped_secret_field_is_named_but_its_text_is_not_echoed() {
        let e = Target::from_json(serde_json::json!({"id":"a","group":"g","kind":"server",
            "url":"http://h/","headers":"Authorization: Bearer hunter2"}))
        .unwrap_err();
        assert_eq!(e.field, "headers");
        assert!(!e.message.contains("hunter2"), "{}", e.message);
        assert!(e.message.contains("invalid type"), "{}", e.message);
    }

    #[test]
    fn a_value_of_the_wrong_type_is_named_by_its_json_path() {
        let server = |extra: serde_json::Value| {
            let mut v = json!({"id":"a","group":"g","kind":"server","url":"http://h/"});
            for (k, x) in extra.as_object().unwrap() {
                v[k] = x.clone();
            }
            Target::from_json(v).unwrap_err()
        };
        for (extra, field, says) in [
            (
                json!({"timeout_ms":"fast"}),
                "timeout_ms",
                "invalid type: string \"fast\", expected u64",
            ),
            (json!({"enabled":"yes"}), "enabled", "expected a boolean"),
            (json!({"tags":"a"}), "tags", "expected a sequence"),
            (json!({"tags":["a", 1]}), "tags[1]", "expected a string"),
            (json!({"headers":["X: 1"]}), "headers", "expected a map"),
            (
                json!({"headers":{"X-Token": 1}}),
                "headers.X-Token",
                "expected a string",
            ),
            (json!({"interval_s":-5}), "interval_s", "-5"),
            (json!({"priority":1.5}), "priority", "1.5"),
            (json!({"url":42}), "url", "expected a string"),
            (
                json!({"expected_status":["999-100"]}),
                "expected_status[0]",
                "999-100",
            ),
            (
                json!({"maintenance":[{"start": 5}]}),
                "maintenance[0].start",
                "",
            ),
        ] {
            let e = server(extra.clone());
            assert_eq!(e.field, field, "{extra}: {e}");
            assert!(e.message.contains(says), "{extra}: {e}");
        }
        let e = Target::from_json(json!({"id":"p","group":"g","kind":"proxy",
            "proxy_url":"http://h:1","test_urls":["http://x/"],"cost_per_gb":"cheap"}))
        .unwrap_err();
        assert_eq!(e.field, "cost_per_gb", "{e}");
        // No single field to name: the whole definition.
        let e = Target::from_json(json!({"id":"a","group":"g","kind":"server"})).unwrap_err();
        assert_eq!(e.to_string(), "definition: missing field `url`");
    }

    #[test]
    fn dot_ids_and_tunnel_or_echo_methods_are_refused() {
        for id in [".", ".."] {
            let e =
                Target::from_json(json!({"id": id,"group":"g","kind":"server","url":"http://h/"}))
                    .unwrap_err();
            assert_eq!(e.field, "id", "{id}");
        }
        assert!(Target::from_json(
            json!({"id":"a.b","group":"g","kind":"server","url":"http://h/"})
        )
        .is_ok());
        for method in ["CONNECT", "TRACE", "trace"] {
            let e = Target::from_json(json!({"id":"a","group":"g","kind":"server",
                "url":"http://h/","method": method}))
            .unwrap_err();
            assert_eq!(e.field, "method", "{method}");
        }
        for method in ["GET", "HEAD", "OPTIONS", "PURGE"] {
            assert!(
                Target::from_json(json!({"id":"a","group":"g","kind":"server",
                "url":"http://h/","method": method}))
                .is_ok()
            );
        }
    }
}

//! Parsing and validation of target definitions: every refusal names the field.

use super::*;
use crate::domain::secret_ref::{validate_refs, without_refs};
use crate::redact::redact_url;

/// A target definition that is not acceptable, naming the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The offending field, e.g. `url` or `test_urls[1]`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

pub(super) fn invalid(field: impl Into<String>, message: impl Into<String>) -> ValidationError {
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
    "locations",
    "quorum",
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
    "flap_detection",
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
/// A host name or an IP address (no scheme, port or path), at most 253 characters: what
/// `tcp` and `tls` targets connect to.
pub(super) fn valid_host(field: &str, host: &str) -> Result<(), ValidationError> {
    let bad = || {
        invalid(
            field,
            "must be a host name or an IP address, without scheme or port",
        )
    };
    if host.is_empty() || host.len() > 253 {
        return Err(bad());
    }
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    match url::Host::parse(host) {
        Ok(url::Host::Domain(d)) if d == host.to_ascii_lowercase() => Ok(()),
        _ => Err(bad()),
    }
}

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

pub(super) fn validate_ca_pem(pem: Option<&str>) -> Result<(), ValidationError> {
    let Some(pem) = pem else { return Ok(()) };
    if pem.len() > 16 * 1024 || !pem.contains("-----BEGIN CERTIFICATE-----") {
        return Err(invalid(
            "ca_pem",
            "must be PEM certificates (-----BEGIN CERTIFICATE-----), at most 16 KiB",
        ));
    }
    if !holds_certificates(pem) {
        return Err(invalid("ca_pem", "holds no certificate that parses"));
    }
    Ok(())
}

/// Whether `pem` holds at least one `CERTIFICATE` block and every one decodes (what the
/// probe's TLS setup will load: `rustls-pki-types`' PEM reader).
fn holds_certificates(pem: &str) -> bool {
    use rustls_pki_types::{pem::PemObject, CertificateDer};
    let mut certs = CertificateDer::pem_slice_iter(pem.as_bytes()).peekable();
    certs.peek().is_some() && certs.all(|c| c.is_ok())
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
        if http::header::HeaderName::from_bytes(h.as_bytes()).is_err() {
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
        let secret_place = [
            "headers",
            "url",
            "proxy_url",
            "test_urls",
            "body",
            "ca_pem",
            "send",
            "token",
        ]
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

/// The most locations a target may list.
pub const MAX_LOCATIONS: usize = 16;

/// Methods a server check refuses: `CONNECT` opens a tunnel rather than asking for a resource,
/// and `TRACE` echoes the request back, headers and credentials included (RFC 9110 §9.3.6, §9.3.8).
pub const REFUSED_METHODS: [&str; 2] = ["CONNECT", "TRACE"];

impl Target {
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
        let kind = obj.get("kind").and_then(|k| k.as_str()).map(str::to_string);
        let kind = kind.as_deref();
        let specific: &[&str] = match kind {
            Some("server") => SERVER_FIELDS,
            Some("proxy") => PROXY_FIELDS,
            Some("tcp") => tcp::FIELDS,
            Some("tls") => tls::FIELDS,
            Some("dns") => dns::FIELDS,
            Some("heartbeat") => heartbeat::FIELDS,
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
        match kind {
            Some("server") => drop(typed::<ServerCheck>(only(SERVER_FIELDS))?),
            Some("proxy") => drop(typed::<ProxyCheck>(only(PROXY_FIELDS))?),
            Some("tcp") => drop(typed::<TcpCheck>(only(tcp::FIELDS))?),
            Some("tls") => drop(typed::<TlsCheck>(only(tls::FIELDS))?),
            Some("dns") => drop(typed::<DnsCheck>(only(dns::FIELDS))?),
            Some("heartbeat") => drop(typed::<HeartbeatCheck>(only(heartbeat::FIELDS))?),
            _ => {}
        }
        let mut value = value;
        // A heartbeat is late once: one failed look at its pings is enough to be `down`.
        if kind == Some("heartbeat") {
            if let Some(obj) = value.as_object_mut() {
                obj.entry("failure_threshold").or_insert(1.into());
            }
        }
        typed::<Target>(value)?.validate()
    }

    /// Checks a definition and fills the defaults that depend on other fields (the name).
    ///
    /// # Errors
    /// [`ValidationError`] naming the first field that is wrong.
    pub fn validate(mut self) -> Result<Self, ValidationError> {
        self.validate_names()?;
        self.validate_schedule()?;
        let interval_s = self.interval_s;
        match &mut self.check {
            Check::Server(s) => validate_server(s)?,
            Check::Proxy(p) => validate_proxy(p)?,
            Check::Tcp(c) => tcp::validate(c)?,
            Check::Tls(c) => tls::validate(c)?,
            Check::Dns(c) => dns::validate(c)?,
            Check::Heartbeat(c) => {
                heartbeat::validate(c)?;
                // The pings are judged every `interval_s`: a longer one would tell of a late
                // job long after its grace ran out.
                if interval_s > c.grace_s {
                    return Err(invalid(
                        "interval_s",
                        "a heartbeat's pings are judged every interval_s: at most grace_s",
                    ));
                }
                c.seal_token();
            }
        }
        validate_refs(&self)?;
        self.validate_locations()?;
        Ok(self)
    }

    /// `locations`: 1 to [`MAX_LOCATIONS`] distinct valid names; `quorum`: a count of 1 to
    /// [`MAX_LOCATIONS`] or a share above 0 and at most 1.
    fn validate_locations(&self) -> Result<(), ValidationError> {
        use crate::domain::location::{valid_location, Quorum, MAX_LOCATION_LEN};
        if let Some(list) = &self.locations {
            if list.is_empty() || list.len() > MAX_LOCATIONS {
                return Err(invalid(
                    "locations",
                    format!("must list 1 to {MAX_LOCATIONS} locations (leave it out for all)"),
                ));
            }
            for (i, name) in list.iter().enumerate() {
                if !valid_location(name) {
                    return Err(invalid(
                        format!("locations[{i}]"),
                        format!("must be 1 to {MAX_LOCATION_LEN} characters of a-z, 0-9 or '-'"),
                    ));
                }
                if list[..i].contains(name) {
                    return Err(invalid(format!("locations[{i}]"), "is listed twice"));
                }
            }
        }
        match self.quorum {
            Some(Quorum::Count(c)) if c == 0 || c as usize > MAX_LOCATIONS => Err(invalid(
                "quorum.count",
                format!("must be between 1 and {MAX_LOCATIONS}"),
            )),
            Some(Quorum::Share(s)) if !(s > 0.0 && s <= 1.0) => {
                Err(invalid("quorum.share", "must be above 0 and at most 1"))
            }
            _ => Ok(()),
        }
    }

    /// The id, the name (defaulted to the id) and the group.
    fn validate_names(&mut self) -> Result<(), ValidationError> {
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
        Ok(())
    }

    /// Interval, timeouts, retries, thresholds, maintenance windows and reminders, and the time
    /// budget of one check.
    fn validate_schedule(&self) -> Result<(), ValidationError> {
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
                .map_err(|m| invalid(format!("maintenance[{i}]"), m.to_string()))?;
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
        Ok(())
    }
}

/// The server part: URL, method, statuses, headers and the body assertions.
fn validate_server(s: &ServerCheck) -> Result<(), ValidationError> {
    check_url("url", &without_refs(&s.url), &["http", "https"])
        .map_err(|e| invalid(e.field, redact_url(&e.message)))?;
    if http::Method::from_bytes(s.method.as_bytes()).is_err() {
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
        if http::header::HeaderName::from_bytes(name.as_bytes()).is_err()
            || http::header::HeaderValue::from_str(value).is_err()
        {
            return Err(invalid(format!("headers.{name}"), "is not a valid header"));
        }
    }
    validate_assertions(s)?;
    Ok(())
}

/// The proxy part: proxy URL, cost, traffic alert, test URLs, statuses, CA and body marker.
fn validate_proxy(p: &ProxyCheck) -> Result<(), ValidationError> {
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
    Ok(())
}

//! What a server check asks: the request, the accepted statuses and the assertions on the body.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::redact::is_secret_header;

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

    pub(crate) fn parse(s: &str) -> Result<Self, StatusRangeError> {
        let bad = || StatusRangeError(s.to_string());
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

/// Text that is not a status code (100 to 599) or a range like `"200-299"`; holds the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a status code or a range like \"200-299\"")]
pub struct StatusRangeError(pub String);

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

fn default_method() -> String {
    "GET".into()
}
fn default_expected_status() -> Vec<StatusRange> {
    vec![StatusRange { from: 200, to: 299 }]
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

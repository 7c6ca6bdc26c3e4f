//! What a DNS check asks: one query of a record type for a name, sent to a chosen resolver,
//! and what the answer must hold.
//!
//! JSON: `{"kind": "dns", "query_name": "example.com", "record_type": "A", "resolver": "10.0.0.2",
//! "expect_contains": ["93.184.215.14"]}`. The result's `latency_ms` is the query time.
//!
//! Answers are compared as text ([`DnsRecordType`] says the form of each type), names without
//! their final dot and case-insensitively; `NOERROR` is required (`NXDOMAIN`, `SERVFAIL` and
//! `REFUSED` fail the check with the `dns` error kind).

use serde::{Deserialize, Serialize};

use super::validate::{invalid, ValidationError};

/// The record types a DNS check may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DnsRecordType {
    /// IPv4 addresses, as `192.0.2.1`.
    A,
    /// IPv6 addresses, in RFC 5952's canonical text (`2001:db8::1`).
    #[serde(rename = "AAAA")]
    Aaaa,
    /// The canonical name, as `target.example.com`.
    #[serde(rename = "CNAME")]
    Cname,
    /// Mail exchangers, as `10 mail.example.com` (preference, space, host).
    #[serde(rename = "MX")]
    Mx,
    /// Text records, each record's strings joined with nothing between them.
    #[serde(rename = "TXT")]
    Txt,
    /// Name servers, as `ns1.example.com`.
    #[serde(rename = "NS")]
    Ns,
}

impl DnsRecordType {
    /// `A`, `AAAA`, `CNAME`, `MX`, `TXT` or `NS`.
    pub fn as_str(self) -> &'static str {
        match self {
            DnsRecordType::A => "A",
            DnsRecordType::Aaaa => "AAAA",
            DnsRecordType::Cname => "CNAME",
            DnsRecordType::Mx => "MX",
            DnsRecordType::Txt => "TXT",
            DnsRecordType::Ns => "NS",
        }
    }
}

/// The transport of the query.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DnsTransport {
    /// UDP, and TCP again when the answer comes back truncated (the default).
    #[default]
    Udp,
    /// TCP only.
    Tcp,
}

/// How many answers are acceptable, inclusive bounds: `{"min": 1, "max": 4}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerCount {
    /// At least this many answers of the record type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u32>,
    /// At most this many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
}

/// How to check a name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DnsCheck {
    /// The name asked for (`example.com`, a final dot allowed), at most 253 characters.
    /// (`name` is the target's human name.)
    pub query_name: String,
    /// The record type asked for.
    pub record_type: DnsRecordType,
    /// The resolver's address: an IP address with an optional port (`10.0.0.2`,
    /// `10.0.0.2:5353`, `[2001:db8::53]:53`); port 53 by default. Checked by the address
    /// guard. No host names: the resolver is what resolves them.
    pub resolver: String,
    /// `udp` (default, TCP again when truncated) or `tcp`.
    #[serde(default)]
    pub transport: DnsTransport,
    /// Every one of these must be among the answers (at most 32).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expect_contains: Vec<String>,
    /// The answers, as a set, must be exactly these (at most 32).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_equals: Option<Vec<String>>,
    /// How many answers are acceptable. With no expectation at all, at least one answer is
    /// required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_count: Option<AnswerCount>,
}

impl DnsCheck {
    /// The resolver's socket address (port 53 when none is given), or `None` when
    /// `resolver` is not an IP address with an optional port.
    pub fn resolver_addr(&self) -> Option<std::net::SocketAddr> {
        parse_resolver(&self.resolver)
    }
}

fn parse_resolver(text: &str) -> Option<std::net::SocketAddr> {
    if let Ok(ip) = text.parse::<std::net::IpAddr>() {
        return Some(std::net::SocketAddr::new(ip, 53));
    }
    text.parse::<std::net::SocketAddr>()
        .ok()
        .filter(|a| a.port() != 0)
}

/// The fields a `dns` definition may carry besides the common ones.
pub(super) const FIELDS: &[&str] = &[
    "query_name",
    "record_type",
    "resolver",
    "transport",
    "expect_contains",
    "expect_equals",
    "expect_count",
];

/// The query name, the resolver and the expectations.
pub(super) fn validate(c: &DnsCheck) -> Result<(), ValidationError> {
    let name = c.query_name.strip_suffix('.').unwrap_or(&c.query_name);
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
    };
    if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) {
        return Err(invalid(
            "query_name",
            "must be a domain name of at most 253 characters (labels of a-z, 0-9, '-', '_'; \
             punycode for other scripts)",
        ));
    }
    if c.resolver_addr().is_none() {
        return Err(invalid(
            "resolver",
            "must be an IP address with an optional port, such as 10.0.0.2 or [2001:db8::53]:53",
        ));
    }
    let too_long =
        |v: &Vec<String>| v.len() > 32 || v.iter().any(|s| s.is_empty() || s.len() > 255);
    if too_long(&c.expect_contains) {
        return Err(invalid(
            "expect_contains",
            "must list at most 32 answers of 1 to 255 characters",
        ));
    }
    if c.expect_equals.as_ref().is_some_and(too_long) {
        return Err(invalid(
            "expect_equals",
            "must list at most 32 answers of 1 to 255 characters",
        ));
    }
    if let Some(AnswerCount { min, max }) = c.expect_count {
        if min.is_none() && max.is_none() {
            return Err(invalid("expect_count", "needs min, max or both"));
        }
        if let (Some(a), Some(b)) = (min, max) {
            if a > b {
                return Err(invalid("expect_count.min", "must be at most max"));
            }
        }
    }
    Ok(())
}

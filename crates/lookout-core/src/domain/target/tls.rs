//! What a TLS check asks: a handshake with `host:port` (after a STARTTLS upgrade where the
//! protocol needs one), for the certificate's chain, name and days to expiry. No request is
//! sent after the handshake.
//!
//! JSON: `{"kind": "tls", "host": "imap.example.com", "port": 993}` or
//! `{"kind": "tls", "host": "smtp.example.com", "port": 587, "starttls": "smtp"}`.
//! The result's `cert_days_left` holds the days left and its `message` the subject and issuer.

use serde::{Deserialize, Serialize};

use super::validate::{invalid, valid_host, validate_ca_pem, ValidationError};

/// The plain-text protocol spoken before the TLS handshake on ports that upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StartTls {
    /// SMTP (RFC 3207): read the greeting, `EHLO`, `STARTTLS`, expect `220`.
    Smtp,
    /// IMAP (RFC 9051 §6.2.1 / RFC 3501): read the greeting, `a STARTTLS`, expect `a OK`.
    Imap,
    /// POP3 (RFC 2595 §4): read the greeting, `STLS`, expect `+OK`.
    Pop3,
    /// PostgreSQL (protocol 3, `SSLRequest`): send the 8-byte request, expect `S`.
    Postgres,
}

fn default_cert_expiry_warn_days() -> u32 {
    14
}

/// How to check a TLS port.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TlsCheck {
    /// Host name or IP address (no scheme, no port), checked by the address guard.
    pub host: String,
    /// Port, 1 to 65 535.
    pub port: u16,
    /// The name sent as SNI and that the certificate must be valid for; defaults to `host`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// Upgrade a plain-text connection first (`smtp`, `imap`, `pop3`, `postgres`); unset for
    /// a port that speaks TLS at once (HTTPS, IMAPS 993, SMTPS 465 ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starttls: Option<StartTls>,
    /// A certificate expiring in fewer days than this makes the check `degraded` and raises
    /// the certificate alert (default 14, 0 turns it off).
    #[serde(default = "default_cert_expiry_warn_days")]
    pub cert_expiry_warn_days: u32,
    /// PEM certificate(s) of a private CA to trust, in addition to the public roots (at most
    /// 16 KiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
}

/// The fields a `tls` definition may carry besides the common ones.
pub(super) const FIELDS: &[&str] = &[
    "host",
    "port",
    "server_name",
    "starttls",
    "cert_expiry_warn_days",
    "ca_pem",
];

/// `host`, `port`, `server_name` and `ca_pem`.
pub(super) fn validate(c: &TlsCheck) -> Result<(), ValidationError> {
    valid_host("host", &c.host)?;
    if c.port == 0 {
        return Err(invalid("port", "must be between 1 and 65535"));
    }
    if let Some(name) = &c.server_name {
        valid_host("server_name", name)?;
    }
    if c.cert_expiry_warn_days > 3650 {
        return Err(invalid("cert_expiry_warn_days", "must be at most 3650"));
    }
    validate_ca_pem(c.ca_pem.as_deref())
}

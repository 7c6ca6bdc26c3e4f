//! The `tls` check: the guarded connect (as the [`tcp`](super::tcp) check's), the STARTTLS
//! dialogue when the check asks for one ([`starttls`]), then the TLS handshake with SNI
//! `server_name` (default `host`), trusting the public roots and the target's `ca_pem`
//! ([`transport::TlsConfigs`]). Nothing is sent after the handshake.
//!
//! - A certificate refused (expired, another name, an untrusted issuer) is `cert`, any other
//!   handshake failure `tls` (the HTTP probe's mapping, [`transport::tls_handshake`]); a
//!   STARTTLS upgrade the server refuses is `tls` too, quoting its reply.
//! - A good handshake records `cert_days_left` and says whose certificate it is in the
//!   message: "certificate CN=db.internal issued by CN=Lookout Test CA, 12 days left". Under
//!   `cert_expiry_warn_days` the result is `degraded` (the state machine raises the certificate
//!   alert); above `degraded_latency_ms` it is `slow`.
//! - `connect_ms` is the guarded connect (DNS and TCP); `latency_ms` the whole attempt
//!   (connect, STARTTLS and handshake). No ALPN protocol is offered and no session is resumed,
//!   so every check sees the certificate the server presents now.

mod starttls;

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{cert_days_left, connect, transport, Attempt, Failure, Prober};
use lookout_core::domain::{ErrorKind, Outcome, Target, TlsCheck};
use lookout_core::redact::clip;

impl Prober {
    /// One attempt of a TLS check (see the module's documentation).
    pub(super) async fn check_tls(
        &self,
        target: &Target,
        c: &TlsCheck,
        ctx: &connect::ConnectContext,
    ) -> Attempt {
        let started = Instant::now();
        let deadline = started + Duration::from_millis(target.timeout_ms);
        let config = match self.tls.get(c.ca_pem.as_deref()) {
            Ok(base) => port_config(&base),
            Err(f) => return Attempt::failed(f, 0),
        };
        let work = async {
            let mut sock = self.open_port(&c.host, c.port, ctx, deadline).await?;
            if let Some(protocol) = c.starttls {
                starttls::upgrade(&mut sock, protocol).await?;
            }
            let name = c.server_name.as_deref().unwrap_or(&c.host);
            let (_io, leaf) = transport::tls_handshake(Box::new(sock), name, config).await?;
            leaf.ok_or_else(|| Failure::new(ErrorKind::Tls, "tls: the server sent no certificate"))
        };
        let leaf = match tokio::time::timeout_at(deadline.into(), work).await {
            Ok(r) => r,
            Err(_) => Err(Failure::new(
                ErrorKind::Timeout,
                format!(
                    "timeout: the handshake did not finish within {} ms",
                    target.timeout_ms
                ),
            )),
        };
        let latency = super::tcp::elapsed_ms(started);
        match leaf {
            Ok(der) => judge(target, c, &der, latency),
            Err(f) => Attempt::failed(f, latency),
        }
    }
}

/// The probes' configuration for `ca_pem` without ALPN (a port that is not HTTP; PostgreSQL
/// refuses a protocol other than its own) and without session resumption.
fn port_config(base: &Arc<rustls::ClientConfig>) -> Arc<rustls::ClientConfig> {
    let mut config = (**base).clone();
    config.alpn_protocols.clear();
    config.resumption = rustls::client::Resumption::disabled();
    Arc::new(config)
}

/// The verdict on a certificate the handshake accepted: days left and whose it is; `degraded`
/// under `cert_expiry_warn_days`, else `slow` above `degraded_latency_ms`, else `up`.
fn judge(target: &Target, c: &TlsCheck, der: &[u8], latency_ms: u64) -> Attempt {
    let days = cert_days_left(der);
    let mut attempt = Attempt::up(0, latency_ms);
    attempt.cert_days_left = days;
    let mut message = describe(der);
    if let Some(days) = days {
        message.push_str(&format!(", {days} day(s) left"));
    }
    match days {
        Some(days) if c.cert_expiry_warn_days > 0 && days < i64::from(c.cert_expiry_warn_days) => {
            attempt.outcome = Outcome::Degraded;
            message.push_str(&format!(
                ", under cert_expiry_warn_days {}",
                c.cert_expiry_warn_days
            ));
        }
        _ if latency_ms > target.degraded_latency_ms => {
            attempt.outcome = Outcome::Slow;
            message.push_str(&format!(
                "; handshake in {latency_ms} ms, over degraded_latency_ms {}",
                target.degraded_latency_ms
            ));
        }
        _ => {}
    }
    attempt.message = Some(clip(&message, 300));
    attempt
}

/// "certificate CN=<subject CN> issued by CN=<issuer CN>" (the whole distinguished name where
/// there is no common name), from the leaf's DER.
pub(crate) fn describe(der: &[u8]) -> String {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return "certificate (not parsed)".to_string();
    };
    let name = |dn: &x509_parser::x509::X509Name<'_>| match dn
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
    {
        Some(cn) => format!("CN={cn}"),
        None if dn.iter().next().is_some() => dn.to_string(),
        None => "(no name)".to_string(),
    };
    format!(
        "certificate {} issued by {}",
        clip(&name(cert.subject()), 100),
        clip(&name(cert.issuer()), 120)
    )
}

#[cfg(test)]
#[path = "tls_port_tests.rs"]
mod tests;

//! The copy of a definition safe to show, and the secrets put back into an edited copy.

use super::*;
use crate::redact::{redact_url, redact_url_and_query};

impl Target {
    /// Puts back the secrets `old` holds where `self` carries their masked form from
    /// [`Target::redacted`] (a definition read from the API, edited and sent back): the proxy
    /// URL, test and server URLs with masked credentials or query secrets, masked header values
    /// a masked body, a TCP check's masked `send`, and a heartbeat's token hash when the edit
    /// gives no token. Anything else in `self` wins.
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
            (Check::Tcp(new), Check::Tcp(old), Check::Tcp(shown))
                if new.send.is_some() && new.send == shown.send =>
            {
                new.send.clone_from(&old.send);
            }
            // The push token is stored as its hash only: an edit that gives neither a new
            // token nor a hash keeps the old one.
            (Check::Heartbeat(new), Check::Heartbeat(old), _)
                if new.token.is_none() && new.token_sha256.is_none() =>
            {
                new.token_sha256.clone_from(&old.token_sha256);
            }
            _ => {}
        }
    }

    /// A copy safe to show: proxy credentials, secret header values and a TCP check's `send`
    /// masked; a heartbeat's token hash left out.
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
            // What a TCP check sends may hold a password (Redis `AUTH`, SMTP `AUTH PLAIN`).
            Check::Tcp(c) => {
                if c.send.is_some() {
                    c.send = Some("***".into());
                }
            }
            // Not even the token's hash: a token someone chose could be guessed offline from it.
            Check::Heartbeat(h) => {
                h.token = None;
                h.token_sha256 = None;
            }
            Check::Tls(_) | Check::Dns(_) => {}
        }
        t
    }
}

//! Pinned addresses: host names the probe answers with a given address instead of asking DNS
//! (`LOOKOUT_PROBE_RESOLVE=host=ip[,host=ip...]`), as curl's `--resolve host:port:addr` does.
//!
//! A location's path to a target can differ this way (the local three-location test points one
//! location's name for a target at a loopback address that refuses), and a team can pin a
//! target to one backend address behind its load balancer. The URL, the `Host` header and the
//! TLS server name keep the name; only the address connected to changes.
//!
//! A pinned address passes the [address guard](super::guard) like a resolved one: pinning a
//! public name to `127.0.0.1` is refused unless private targets are allowed. Pins apply where
//! the probe resolves a name: a server URL and its redirects, a proxy's own host, and the
//! destination of a `socks5://` proxy. Through an HTTP(S) proxy or `socks5h://` the proxy
//! resolves the destination, so a pin of that name does not apply there. Notifications
//! (`notify::HttpNotifier`) resolve through DNS: pins are the probes'.

use std::net::IpAddr;

/// A malformed entry of `LOOKOUT_PROBE_RESOLVE`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    /// No `=` between a host name and an address.
    #[error("entry {0:?} is not host=ip")]
    NotPair(String),
    /// The host part is not a DNS name (letters, digits, `-`, `_` and dots; at most 253 bytes).
    #[error("{0:?} is not a host name")]
    BadHost(String),
    /// The address part is not an IPv4 or IPv6 address (`[::1]` brackets allowed).
    #[error("{0:?} is not an IP address")]
    BadAddress(String),
}

/// Host names and the addresses the probe connects to for them, in the order given (a name
/// listed twice has two addresses, tried as resolved addresses are). Names are kept in lower
/// case without a trailing dot, and matched so.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pins(Vec<(String, IpAddr)>);

impl Pins {
    /// Parses `host=ip[,host=ip...]` (spaces around entries and parts ignored; blank entries
    /// skipped). `api.example.com=203.0.113.7,api.example.com=[2001:db8::7]`.
    ///
    /// # Errors
    /// [`PinError`] naming the first entry, host or address that does not parse.
    pub fn parse(text: &str) -> Result<Pins, PinError> {
        let mut pins = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (host, ip) = entry
                .split_once('=')
                .ok_or_else(|| PinError::NotPair(entry.to_string()))?;
            let host = normal(host.trim());
            if !valid_host(&host) {
                return Err(PinError::BadHost(host));
            }
            let ip = ip.trim();
            let addr = ip
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .map_err(|_| PinError::BadAddress(ip.to_string()))?;
            pins.push((host, addr));
        }
        Ok(Pins(pins))
    }

    /// The addresses pinned for `host` (any case, a trailing dot or brackets ignored); empty
    /// when it has none and DNS decides.
    pub fn get(&self, host: &str) -> Vec<IpAddr> {
        let host = normal(host.trim_start_matches('[').trim_end_matches(']'));
        self.0
            .iter()
            .filter(|(h, _)| *h == host)
            .map(|(_, ip)| *ip)
            .collect()
    }

    /// Whether nothing is pinned.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A host name as pins keep it: lower case, no trailing dot.
fn normal(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// Whether `host` is a DNS name: labels of letters, digits, `-` and `_`, 1 to 63 bytes each, at
/// most 253 bytes in all.
fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests;

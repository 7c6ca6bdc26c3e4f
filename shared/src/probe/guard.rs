//! The address guard: keeps probes away from the function's own network (SSRF protection).
//!
//! A probe refuses loopback, private (RFC 1918), link-local, unique-local (RFC 4193), carrier-grade
//! NAT (RFC 6598), unspecified, multicast, reserved and cloud metadata addresses
//! (`169.254.169.254`, `fd00:ec2::254`), including their IPv4-mapped, IPv4-compatible, NAT64
//! (RFC 6052) and 6to4 (RFC 3056) IPv6 forms. Special-purpose ranges follow the IANA IPv4 and IPv6
//! Special-Purpose Address Registries.
//!
//! The guard is applied where the address is chosen, so DNS rebinding cannot slip past it: host
//! names are resolved by [`GuardedResolver`], which hands the HTTP client only the allowed
//! addresses it then connects to (the same resolver serves proxy hosts and, for `socks5://`,
//! destinations); IP literals, which the client does not resolve, are checked by
//! [`check_url`] before each request and each redirect hop. `LOOKOUT_ALLOW_PRIVATE_TARGETS=true`
//! turns the guard off (the local stack and the tests, never the SAM template).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why an IP address is refused, or `None` when a probe may connect to it.
///
/// Examples: `127.0.0.1` is `loopback`, `10.1.2.3` `private`, `169.254.169.254`
/// `cloud metadata`, `::ffff:192.168.0.1` `private`, `8.8.8.8` allowed.
pub fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => v6_reason(v6),
    }
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip == Ipv4Addr::new(169, 254, 169, 254) => "cloud metadata",
        (0, ..) => "unspecified",
        (10, ..) => "private",
        (172, 16..=31, _) => "private",
        (192, 168, _) => "private",
        (127, ..) => "loopback",
        (169, 254, _) => "link-local",
        (100, 64..=127, _) => "carrier-grade NAT",
        (192, 0, 0) => "reserved",
        (198, 18..=19, _) => "reserved",
        (224..=239, ..) => "multicast",
        (240..=255, ..) => "reserved",
        _ => return None,
    })
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    let seg = ip.segments();
    if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        return Some("cloud metadata");
    }
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    let embedded = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    // ::ffff:a.b.c.d (IPv4-mapped) reaches a.b.c.d.
    if seg[..6] == [0, 0, 0, 0, 0, 0xffff] {
        return v4_reason(embedded(seg[6], seg[7]));
    }
    // ::a.b.c.d (IPv4-compatible) is deprecated (RFC 4291) and never routed.
    if seg[..6] == [0; 6] {
        return Some(v4_reason(embedded(seg[6], seg[7])).unwrap_or("IPv4-compatible"));
    }
    // 64:ff9b::a.b.c.d, the NAT64 well-known prefix, reaches the embedded IPv4 address.
    if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return v4_reason(embedded(seg[6], seg[7]));
    }
    // 2002:AABB:CCDD::/48 is 6to4 for a.b.c.d.
    if seg[0] == 0x2002 {
        return v4_reason(embedded(seg[1], seg[2]));
    }
    Some(match seg[0] {
        0x64 if seg[1] == 0xff9b && seg[2] == 1 => "NAT64 local-use",
        0x100 if seg[1..4] == [0, 0, 0] => "discard",
        0x2001 if seg[1] == 0 => "Teredo tunnel",
        s if s & 0xfe00 == 0xfc00 => "unique-local",
        s if s & 0xffc0 == 0xfe80 => "link-local",
        s if s & 0xffc0 == 0xfec0 => "site-local",
        s if s & 0xff00 == 0xff00 => "multicast",
        _ => return None,
    })
}

/// A refusal by the guard; its text always contains `address guard`, which is how the probe
/// engine recognises it inside an HTTP client error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refused by the address guard: {0}")]
pub struct Refused(pub String);

/// Checks a URL before a request: the scheme must be one of `schemes`, and a host that is an IP
/// literal must not be forbidden. Host names are left to [`GuardedResolver`].
///
/// # Errors
/// [`Refused`] naming the scheme or the address and why.
pub fn check_url(url: &url::Url, schemes: &[&str], allow_private: bool) -> Result<(), Refused> {
    if !schemes.contains(&url.scheme()) {
        return Err(Refused(format!(
            "scheme {:?} is not one of {}",
            url.scheme(),
            schemes.join(", ")
        )));
    }
    if allow_private {
        return Ok(());
    }
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        _ => return Ok(()),
    };
    match forbidden_reason(ip) {
        Some(reason) => Err(Refused(format!("{ip} is a {reason} address"))),
        None => Ok(()),
    }
}

/// Keeps the addresses a probe may connect to.
///
/// # Errors
/// [`Refused`] when every address of `host` is forbidden (or there is none).
pub fn filter_addrs(
    host: &str,
    addrs: impl IntoIterator<Item = SocketAddr>,
) -> Result<Vec<SocketAddr>, Refused> {
    let mut first_refused = None;
    let allowed: Vec<SocketAddr> = addrs
        .into_iter()
        .filter(|a| match forbidden_reason(a.ip()) {
            None => true,
            Some(reason) => {
                first_refused.get_or_insert((a.ip(), reason));
                false
            }
        })
        .collect();
    match (allowed.is_empty(), first_refused) {
        (false, _) => Ok(allowed),
        (true, Some((ip, reason))) => Err(Refused(format!(
            "{host} resolves to {ip}, a {reason} address"
        ))),
        (true, None) => Err(Refused(format!("{host} resolves to no address"))),
    }
}

/// The HTTP client's DNS resolver: resolves with the system resolver and returns only the
/// addresses [`forbidden_reason`] allows (all of them when `allow_private` is set), so the client
/// connects only to checked addresses.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    /// Turn the guard off (`LOOKOUT_ALLOW_PRIVATE_TARGETS=true`).
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let addrs = if allow_private {
                addrs
            } else {
                filter_addrs(&host, addrs)?
            };
            let iter: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(iter)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(s: &str) -> Option<&'static str> {
        forbidden_reason(s.parse().unwrap())
    }

    #[test]
    fn internal_ipv4_ranges_are_refused_and_public_ones_pass() {
        for (ip, why) in [
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("10.0.0.1", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "cloud metadata"),
            ("169.254.10.1", "link-local"),
            ("100.64.0.1", "carrier-grade NAT"),
            ("100.100.100.200", "carrier-grade NAT"),
            ("0.0.0.0", "unspecified"),
            ("224.0.0.1", "multicast"),
            ("255.255.255.255", "reserved"),
            ("198.18.0.1", "reserved"),
        ] {
            assert_eq!(reason(ip), Some(why), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "1.1.1.1",
            "192.169.0.1",
        ] {
            assert_eq!(reason(ip), None, "{ip}");
        }
    }

    #[test]
    fn internal_ipv6_ranges_and_ipv4_in_ipv6_forms_are_refused() {
        for (ip, why) in [
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fd00:ec2::254", "cloud metadata"),
            ("fd12:3456::1", "unique-local"),
            ("fc00::1", "unique-local"),
            ("fe80::1", "link-local"),
            ("ff02::1", "multicast"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "cloud metadata"),
            ("::ffff:10.0.0.1", "private"),
            ("::ffff:100.64.0.1", "carrier-grade NAT"),
            ("::127.0.0.1", "loopback"),
            ("::8.8.8.8", "IPv4-compatible"),
            ("64:ff9b::a9fe:a9fe", "cloud metadata"),
            ("64:ff9b::192.168.0.1", "private"),
            ("2002:c0a8:0101::1", "private"),
            ("2002:7f00:0001::1", "loopback"),
        ] {
            assert_eq!(reason(ip), Some(why), "{ip}");
        }
        for ip in [
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
            "2002:0808:0808::1",
        ] {
            assert_eq!(reason(ip), None, "{ip}");
        }
    }

    #[test]
    fn urls_are_checked_for_scheme_and_literal_addresses() {
        let u = |s: &str| url::Url::parse(s).unwrap();
        let web = ["http", "https"];
        assert!(check_url(&u("http://127.0.0.1:8080/"), &web, false).is_err());
        assert!(check_url(&u("http://[::ffff:7f00:1]/"), &web, false).is_err());
        assert!(
            check_url(&u("http://169.254.169.254/latest/meta-data/"), &web, false)
                .unwrap_err()
                .0
                .contains("cloud metadata")
        );
        assert!(
            check_url(&u("http://0x7f.1/"), &web, false).is_err(),
            "hex IPv4 form"
        );
        assert!(
            check_url(&u("http://2130706433/"), &web, false).is_err(),
            "decimal form"
        );
        assert!(check_url(&u("file:///etc/passwd"), &web, true).is_err());
        assert!(check_url(&u("gopher://h/"), &web, false).is_err());
        assert!(check_url(&u("http://127.0.0.1/"), &web, true).is_ok());
        assert!(check_url(&u("https://example.com/"), &web, false).is_ok());
        assert!(check_url(&u("http://8.8.8.8/"), &web, false).is_ok());
    }

    #[test]
    fn resolved_addresses_are_filtered_and_all_forbidden_is_refused() {
        let a = |s: &str| -> SocketAddr { s.parse().unwrap() };
        let mixed = filter_addrs("h", [a("10.0.0.1:0"), a("8.8.8.8:0")]).unwrap();
        assert_eq!(mixed, vec![a("8.8.8.8:0")]);
        let e = filter_addrs("rebind.example", [a("127.0.0.1:0"), a("[::1]:0")]).unwrap_err();
        assert!(
            e.0.contains("rebind.example resolves to 127.0.0.1, a loopback"),
            "{e}"
        );
        assert!(filter_addrs("h", []).is_err());
    }

    #[tokio::test]
    async fn the_resolver_refuses_localhost_unless_private_targets_are_allowed() {
        use reqwest::dns::Resolve;
        use std::str::FromStr;
        let name = || reqwest::dns::Name::from_str("localhost").unwrap();
        let guarded = GuardedResolver {
            allow_private: false,
        };
        let err = guarded.resolve(name()).await.err().expect("refused");
        assert!(err.to_string().contains("address guard"), "{err}");
        let open = GuardedResolver {
            allow_private: true,
        };
        let addrs: Vec<_> = open.resolve(name()).await.expect("resolves").collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()) && !addrs.is_empty());
    }
}

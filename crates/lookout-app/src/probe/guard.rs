//! The address guard: keeps probes away from the function's own network (SSRF protection).
//!
//! A probe refuses loopback, private (RFC 1918), link-local, unique-local (RFC 4193), carrier-grade
//! NAT (RFC 6598), unspecified, multicast, reserved and cloud metadata addresses
//! (`169.254.169.254`, `fd00:ec2::254`), including their IPv4-mapped, IPv4-compatible, NAT64
//! (RFC 6052) and 6to4 (RFC 3056) IPv6 forms. Special-purpose ranges follow the IANA IPv4 and IPv6
//! Special-Purpose Address Registries.
//!
//! The guard is applied where the address is chosen, so DNS rebinding cannot slip past it: every
//! probe connection (server URL, each redirect hop, proxy of every scheme, `socks5://`
//! destinations) is opened by `probe::transport::connect_guarded`, which resolves the host
//! (literal or name) and connects only to addresses [`Guard::refusal`] allows. [`check_url`]
//! refuses literal destinations a proxy would be asked to reach, and gives clear messages early.
//! `LOOKOUT_ALLOW_PRIVATE_TARGETS=true` turns the guard off (the local stack and the tests,
//! never the SAM template); `LOOKOUT_ALLOWED_CIDRS` lists private ranges to allow.

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

/// Reasons no allow-list lifts: link-local (where cloud metadata services live), cloud metadata
/// itself, loopback (the function's own host: on Lambda the Runtime API listens there),
/// unspecified and multicast addresses are never monitoring targets.
const ALWAYS_REFUSED: &[&str] = &[
    "cloud metadata",
    "link-local",
    "loopback",
    "unspecified",
    "multicast",
];

/// The guard's policy, from the settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Guard {
    /// `LOOKOUT_ALLOW_PRIVATE_TARGETS=true`: the guard is off (the local stack and the tests).
    pub allow_private: bool,
    /// `LOOKOUT_ALLOWED_CIDRS`: private ranges a team does monitor (e.g. `10.20.0.0/16`),
    /// allowed although [`forbidden_reason`] names them. Link-local, cloud metadata, unspecified
    /// and multicast addresses stay refused whatever it lists; an IPv4 range also allows the
    /// IPv4-mapped, NAT64 and 6to4 forms of its addresses.
    pub allowed: Vec<ipnet::IpNet>,
    /// Host names answered with pinned addresses instead of DNS (the probes'
    /// `LOOKOUT_PROBE_RESOLVE`, see [`super::resolve`]); those addresses are judged by this
    /// guard like resolved ones.
    pub pins: super::resolve::Pins,
}

impl Guard {
    /// Why the probe may not connect to `ip`, or `None` when it may.
    pub fn refusal(&self, ip: IpAddr) -> Option<&'static str> {
        if self.allow_private {
            return None;
        }
        // An IPv6 form of an IPv4 address (mapped, NAT64, 6to4) is judged as that address, so
        // an IPv6 entry such as `64:ff9b::/96` cannot let a refused IPv4 address through.
        if let Some(v4) = embedded_v4(ip) {
            if ip != IpAddr::V4(v4) && forbidden_reason(IpAddr::V4(v4)).is_some() {
                return self.refusal(IpAddr::V4(v4));
            }
        }
        let reason = forbidden_reason(ip)?;
        if ALWAYS_REFUSED.contains(&reason) {
            return Some(reason);
        }
        if self.allowed.iter().any(|net| net.contains(&ip)) {
            None
        } else {
            Some(reason)
        }
    }

    /// [`check_url`] under this policy.
    ///
    /// # Errors
    /// [`Refused`] naming the scheme or the address and why.
    pub fn check_url(&self, url: &url::Url, schemes: &[&str]) -> Result<(), Refused> {
        check_scheme(url, schemes)?;
        match url_ip(url) {
            Some(ip) => match self.refusal(ip) {
                Some(reason) => Err(Refused(format!("{ip} is a {reason} address"))),
                None => Ok(()),
            },
            None => Ok(()),
        }
    }

    /// [`filter_addrs`] under this policy.
    ///
    /// # Errors
    /// [`Refused`] when every address of `host` is refused (or there is none).
    pub fn filter_addrs(
        &self,
        host: &str,
        addrs: impl IntoIterator<Item = SocketAddr>,
    ) -> Result<Vec<SocketAddr>, Refused> {
        filter_with(host, addrs, |ip| self.refusal(ip))
    }
}

/// The IPv4 address an IPv6 address reaches (IPv4-mapped, IPv4-compatible, NAT64, 6to4).
fn embedded_v4(ip: IpAddr) -> Option<Ipv4Addr> {
    let IpAddr::V6(v6) = ip else { return None };
    let seg = v6.segments();
    let v4 = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    if seg[..6] == [0, 0, 0, 0, 0, 0xffff]
        || seg[..6] == [0; 6]
        || seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
    {
        Some(v4(seg[6], seg[7]))
    } else if seg[0] == 0x2002 {
        Some(v4(seg[1], seg[2]))
    } else {
        None
    }
}

/// The IP a URL's host stands for when it is a literal: an IPv4 or IPv6 host, or (for schemes
/// the URL standard does not normalise, such as `socks5`) a host name that reads as an IP
/// address, with a trailing dot or not.
fn url_ip(url: &url::Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(d) => d.trim_end_matches('.').parse().ok(),
    }
}

fn check_scheme(url: &url::Url, schemes: &[&str]) -> Result<(), Refused> {
    if schemes.contains(&url.scheme()) {
        Ok(())
    } else {
        Err(Refused(format!(
            "scheme {:?} is not one of {}",
            url.scheme(),
            schemes.join(", ")
        )))
    }
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
    Guard {
        allow_private,
        ..Guard::default()
    }
    .check_url(url, schemes)
}

/// Keeps the addresses a probe may connect to.
///
/// # Errors
/// [`Refused`] when every address of `host` is forbidden (or there is none).
pub fn filter_addrs(
    host: &str,
    addrs: impl IntoIterator<Item = SocketAddr>,
) -> Result<Vec<SocketAddr>, Refused> {
    filter_with(host, addrs, forbidden_reason)
}

fn filter_with(
    host: &str,
    addrs: impl IntoIterator<Item = SocketAddr>,
    refusal: impl Fn(IpAddr) -> Option<&'static str>,
) -> Result<Vec<SocketAddr>, Refused> {
    let mut first_refused = None;
    let allowed: Vec<SocketAddr> = addrs
        .into_iter()
        .filter(|a| match refusal(a.ip()) {
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

    #[test]
    fn the_allow_list_lifts_private_ranges_but_never_metadata_or_link_local() {
        let g = Guard {
            allow_private: false,
            allowed: vec![
                "10.20.0.0/16".parse().unwrap(),
                "169.254.0.0/16".parse().unwrap(),
            ],
            ..Guard::default()
        };
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(g.refusal(ip("10.20.3.4")), None);
        assert_eq!(g.refusal(ip("::ffff:10.20.3.4")), None, "IPv4-mapped form");
        assert_eq!(g.refusal(ip("10.21.0.1")), Some("private"));
        assert_eq!(g.refusal(ip("169.254.169.254")), Some("cloud metadata"));
        assert_eq!(g.refusal(ip("169.254.1.1")), Some("link-local"));
        let wide = Guard {
            allow_private: false,
            allowed: vec!["0.0.0.0/0".parse().unwrap(), "::/0".parse().unwrap()],
            ..Guard::default()
        };
        assert_eq!(
            wide.refusal(ip("127.0.0.1")),
            Some("loopback"),
            "never loopback"
        );
        assert_eq!(wide.refusal(ip("64:ff9b::7f00:1")), Some("loopback"));
        assert_eq!(
            wide.refusal(ip("::ffff:169.254.169.254")),
            Some("cloud metadata")
        );
        assert_eq!(wide.refusal(ip("10.9.9.9")), None);
        let u = |s: &str| url::Url::parse(s).unwrap();
        assert!(g.check_url(&u("socks5h://10.20.0.9"), &["socks5h"]).is_ok());
        assert!(g.check_url(&u("socks5h://10.0.0.1"), &["socks5h"]).is_err());
        assert!(g
            .check_url(&u("socks5h://10.0.0.1."), &["socks5h"])
            .is_err());
        let off = Guard {
            allow_private: true,
            ..Guard::default()
        };
        assert_eq!(off.refusal(ip("127.0.0.1")), None);
    }
}

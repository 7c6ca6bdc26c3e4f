//! The proxy protocols a probe speaks itself: proxy URLs, and the HTTP `CONNECT` tunnel (RFC 9110
//! §9.3.6) with the proxy's own reply read, status and headers. SOCKS5 is in `socks5.rs`.

use super::*;

/// Largest proxy reply head read (`CONNECT` answer), in bytes.
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// A parsed proxy URL.
#[derive(Clone)]
pub(crate) struct ProxySpec {
    pub scheme: ProxyScheme,
    pub host: String,
    pub port: u16,
    /// `user`, `password`, percent-decoded.
    pub auth: Option<(String, String)>,
}

/// The proxy protocols a probe speaks.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ProxyScheme {
    Http,
    Https,
    /// SOCKS5, the destination resolved by the probe (through the guard).
    Socks5,
    /// SOCKS5, the destination name resolved by the proxy.
    Socks5h,
}

impl ProxySpec {
    /// Parses `http`, `https`, `socks5` or `socks5h` URLs; the default ports are 80, 443 and
    /// 1080 (the reqwest and curl defaults).
    pub fn parse(raw: &str) -> Result<ProxySpec, Failure> {
        let bad = |why: String| Failure::new(ErrorKind::Proxy, clip(&redact_text(&why), 200));
        let u = url::Url::parse(raw).map_err(|e| bad(format!("bad proxy url: {e}")))?;
        let (scheme, default_port) = match u.scheme() {
            "http" => (ProxyScheme::Http, 80),
            "https" => (ProxyScheme::Https, 443),
            "socks5" => (ProxyScheme::Socks5, 1080),
            "socks5h" => (ProxyScheme::Socks5h, 1080),
            other => {
                return Err(Failure::new(
                    ErrorKind::Forbidden,
                    format!("refused by the address guard: scheme {other:?} is not a proxy scheme"),
                ))
            }
        };
        let host = match u.host() {
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            Some(h) => h.to_string(),
            None => return Err(bad("bad proxy url: no host".into())),
        };
        let decode = |s: &str| {
            percent_decode(s).ok_or_else(|| bad("bad proxy url: credentials are not UTF-8".into()))
        };
        let auth = if u.username().is_empty() && u.password().is_none() {
            None
        } else {
            Some((decode(u.username())?, decode(u.password().unwrap_or(""))?))
        };
        Ok(ProxySpec {
            scheme,
            host,
            port: u.port().unwrap_or(default_port),
            auth,
        })
    }

    /// `host:port`, for messages (never the credentials).
    pub fn display(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    pub(super) fn basic_auth(&self) -> Option<String> {
        self.auth.as_ref().map(|(u, p)| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )
        })
    }
}

pub(super) fn percent_decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// A proxy's own refusal: its status and its authentication challenge, if any.
pub(super) fn proxy_refusal(
    status: u16,
    reason: &str,
    challenge: Option<&str>,
    sent_auth: bool,
) -> Failure {
    let challenge_text = challenge
        .map(|c| format!(" ({})", clip(c, 60)))
        .unwrap_or_default();
    if status == 407 || (status == 401 && challenge.is_some()) {
        let what = if sent_auth {
            "the proxy refused the credentials"
        } else {
            "the proxy asks for credentials"
        };
        return Failure::new(
            ErrorKind::ProxyAuth,
            clip(
                &redact_text(&format!(
                    "{what}: CONNECT answered {status}{challenge_text}"
                )),
                200,
            ),
        );
    }
    let mut f = Failure::new(
        ErrorKind::Proxy,
        clip(
            &redact_text(&format!("proxy CONNECT refused: HTTP {status} {reason}")),
            200,
        ),
    );
    // The proxy answered; it could not or would not reach this destination.
    f.upstream = true;
    f
}

/// Sends `CONNECT host:port` and reads the proxy's reply head; a 2xx opens the tunnel.
pub(super) async fn connect_tunnel(
    io: &mut Box<dyn Io>,
    host: &str,
    port: u16,
    proxy: &ProxySpec,
) -> Result<(), Failure> {
    let req = connect_request(host, port, proxy);
    let io_err = |e: std::io::Error| tunnel_io_failure(proxy, e);
    io.write_all(req.as_bytes()).await.map_err(io_err)?;
    io.flush().await.map_err(io_err)?;
    let head = read_connect_head(io, proxy).await?;
    connect_answer(&head, proxy)
}

/// The `CONNECT` request text (IPv6 literals bracketed, credentials when set).
fn connect_request(host: &str, port: u16, proxy: &ProxySpec) -> String {
    let authority = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut req = format!(
        "CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: {}\r\n",
        crate::probe::USER_AGENT
    );
    if let Some(a) = proxy.basic_auth() {
        req.push_str(&format!("Proxy-Authorization: {a}\r\n"));
    }
    req.push_str("\r\n");
    req
}

/// An I/O error talking to the HTTP proxy, marked as failing while connecting.
fn tunnel_io_failure(proxy: &ProxySpec, e: std::io::Error) -> Failure {
    let mut f = Failure::new(
        ErrorKind::Proxy,
        clip(&format!("proxy {}: {e}", proxy.display()), 200),
    );
    f.connecting = true;
    f
}

/// Reads the answer head to its blank line (at most `MAX_HEAD_BYTES`).
async fn read_connect_head(io: &mut Box<dyn Io>, proxy: &ProxySpec) -> Result<Vec<u8>, Failure> {
    let mut head = Vec::with_capacity(1024);
    let mut byte = [0u8; 1];
    // Byte by byte until the blank line: nothing of the tunnel's own bytes is consumed.
    while !(head.ends_with(b"\r\n\r\n") || head.ends_with(b"\n\n")) {
        if head.len() >= MAX_HEAD_BYTES {
            return Err(Failure::new(
                ErrorKind::Proxy,
                format!(
                    "proxy {}: CONNECT answer head over {MAX_HEAD_BYTES} bytes",
                    proxy.display()
                ),
            ));
        }
        match io.read(&mut byte).await {
            Ok(0) => {
                let mut f = Failure::new(
                    ErrorKind::Proxy,
                    format!(
                        "proxy {} closed the connection before answering CONNECT",
                        proxy.display()
                    ),
                );
                f.connecting = true;
                return Err(f);
            }
            Ok(_) => head.push(byte[0]),
            Err(e) => return Err(tunnel_io_failure(proxy, e)),
        }
    }
    Ok(head)
}

/// Parses the answer head: a 2xx opens the tunnel, anything else is a refusal.
fn connect_answer(head: &[u8], proxy: &ProxySpec) -> Result<(), Failure> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut headers);
    let parsed = resp.parse(head);
    let (Ok(httparse::Status::Complete(_)), Some(status)) = (parsed, resp.code) else {
        return Err(Failure::new(
            ErrorKind::Proxy,
            format!("proxy {}: CONNECT answer is not HTTP", proxy.display()),
        ));
    };
    if (200..300).contains(&status) {
        return Ok(());
    }
    let challenge = resp
        .headers
        .iter()
        .find(|h| {
            h.name.eq_ignore_ascii_case("proxy-authenticate")
                || h.name.eq_ignore_ascii_case("www-authenticate")
        })
        .map(|h| String::from_utf8_lossy(h.value).into_owned());
    Err(proxy_refusal(
        status,
        resp.reason.unwrap_or(""),
        challenge.as_deref(),
        proxy.auth.is_some(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_urls_parse_with_default_ports_and_decoded_credentials() {
        let p = ProxySpec::parse("socks5h://10.0.0.1").unwrap();
        assert_eq!(
            (p.scheme, p.host.as_str(), p.port),
            (ProxyScheme::Socks5h, "10.0.0.1", 1080)
        );
        let p = ProxySpec::parse("http://u%40x:p%3Aw@proxy.example").unwrap();
        assert_eq!(p.port, 80);
        assert_eq!(p.auth, Some(("u@x".into(), "p:w".into())));
        let p = ProxySpec::parse("https://[::1]:8443").unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, p.display()),
            ("::1", 8443, "[::1]:8443".into())
        );
        assert!(ProxySpec::parse("ftp://h").is_err());
    }

    #[test]
    fn percent_decoding_keeps_a_trailing_percent() {
        assert_eq!(percent_decode("a%2"), Some("a%2".into()));
        assert_eq!(percent_decode("%41b"), Some("Ab".into()));
        assert_eq!(percent_decode("%zz"), Some("%zz".into()));
    }

    #[test]
    fn a_proxy_challenge_on_connect_is_proxy_auth_and_other_refusals_are_upstream() {
        let f = proxy_refusal(401, "Unauthorized", Some("Basic realm=\"Tinyproxy\""), true);
        assert_eq!(f.kind, ErrorKind::ProxyAuth);
        assert!(
            f.message.contains("refused the credentials"),
            "{}",
            f.message
        );
        assert_eq!(
            proxy_refusal(407, "", None, false).kind,
            ErrorKind::ProxyAuth
        );
        let f = proxy_refusal(403, "Forbidden", None, true);
        assert_eq!(f.kind, ErrorKind::Proxy);
        assert!(f.upstream);
    }
}

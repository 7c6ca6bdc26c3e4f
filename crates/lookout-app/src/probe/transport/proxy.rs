//! The proxy protocols a probe speaks itself: proxy URLs, the HTTP `CONNECT` tunnel (RFC 9110
//! §9.3.6) with the proxy's own reply read, status and headers, and SOCKS5 (RFC 1928) with
//! username/password authentication (RFC 1929).

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

pub(super) enum SocksDest {
    Addr(SocketAddr),
    Name(String, u16),
}

/// RFC 1928 reply codes in words.
pub(super) fn socks_reply_text(code: u8) -> &'static str {
    match code {
        1 => "general SOCKS server failure",
        2 => "connection not allowed by ruleset",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused",
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => "unknown reply code",
    }
}

/// A SOCKS step's failure: `socks: {msg}`, redacted, clipped to 200 characters, marked as
/// failing while connecting.
fn socks_fail(kind: ErrorKind, msg: String) -> Failure {
    let mut f = Failure::new(kind, clip(&redact_text(&format!("socks: {msg}")), 200));
    f.connecting = true;
    f
}

/// An I/O error at `stage` of the SOCKS exchange with the proxy shown as `at`; an early end of
/// stream reads as the proxy closing the connection.
fn socks_io_fail(at: &str, stage: &str, e: std::io::Error) -> Failure {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        socks_fail(
            ErrorKind::Proxy,
            format!("proxy {at} closed the connection {stage}"),
        )
    } else {
        socks_fail(ErrorKind::Proxy, format!("proxy {at} {stage}: {e}"))
    }
}

/// The SOCKS5 greeting, RFC 1929 authentication when the proxy asks for it, and CONNECT.
pub(super) async fn socks5_handshake(
    io: &mut Box<dyn Io>,
    dest: &SocksDest,
    proxy: &ProxySpec,
) -> Result<(), Failure> {
    let at = proxy.display();
    let method = socks5_greet(io, proxy, &at).await?;
    socks5_authenticate(io, method, proxy, &at).await?;
    let req = socks5_connect_request(dest)?;
    io.write_all(&req)
        .await
        .map_err(|e| socks_io_fail(&at, "at CONNECT", e))?;
    socks5_read_reply(io, &at).await
}

/// Sends the greeting (offering user/password only when credentials are set) and returns the
/// method the proxy chose.
async fn socks5_greet(io: &mut Box<dyn Io>, proxy: &ProxySpec, at: &str) -> Result<u8, Failure> {
    let greeting: &[u8] = if proxy.auth.is_some() {
        &[5, 2, 0, 2]
    } else {
        &[5, 1, 0]
    };
    io.write_all(greeting)
        .await
        .map_err(|e| socks_io_fail(at, "at the greeting", e))?;
    let mut choice = [0u8; 2];
    if let Err(e) = io.read_exact(&mut choice).await {
        if proxy.auth.is_none() && e.kind() == std::io::ErrorKind::UnexpectedEof {
            // Some servers (pproxy) hang up on a greeting without credentials instead of
            // answering "no acceptable method".
            return Err(socks_fail(
                ErrorKind::ProxyAuth,
                format!("proxy {at} hung up on a greeting without credentials: it requires authentication"),
            ));
        }
        return Err(socks_io_fail(at, "after the greeting", e));
    }
    if choice[0] != 5 {
        return Err(socks_fail(
            ErrorKind::Proxy,
            format!(
                "proxy {at} is not a SOCKS5 proxy (version byte {})",
                choice[0]
            ),
        ));
    }
    Ok(choice[1])
}

/// Acts on the chosen `method`: nothing for "no auth", RFC 1929 user/password when asked and
/// set, a failure otherwise.
async fn socks5_authenticate(
    io: &mut Box<dyn Io>,
    method: u8,
    proxy: &ProxySpec,
    at: &str,
) -> Result<(), Failure> {
    match (method, &proxy.auth) {
        (0, _) => Ok(()),
        (2, Some((user, pass))) => socks5_user_pass(io, user, pass, at).await,
        (2, None) => Err(socks_fail(
            ErrorKind::ProxyAuth,
            format!("proxy {at} asks for credentials and none are set"),
        )),
        (0xff, Some(_)) => Err(socks_fail(
            ErrorKind::ProxyAuth,
            format!("proxy {at} accepts none of the offered methods (no auth, user/password)"),
        )),
        (0xff, None) => Err(socks_fail(
            ErrorKind::ProxyAuth,
            format!("proxy {at} asks for authentication and none is set"),
        )),
        (m, _) => Err(socks_fail(
            ErrorKind::Proxy,
            format!("proxy {at} chose unsupported method {m}"),
        )),
    }
}

/// RFC 1929: sends user and password (each at most 255 bytes) and reads the status.
async fn socks5_user_pass(
    io: &mut Box<dyn Io>,
    user: &str,
    pass: &str,
    at: &str,
) -> Result<(), Failure> {
    if user.len() > 255 || pass.len() > 255 {
        return Err(socks_fail(
            ErrorKind::ProxyAuth,
            "user or password over 255 bytes (RFC 1929)".into(),
        ));
    }
    let mut req = vec![1, user.len() as u8];
    req.extend_from_slice(user.as_bytes());
    req.push(pass.len() as u8);
    req.extend_from_slice(pass.as_bytes());
    io.write_all(&req)
        .await
        .map_err(|e| socks_io_fail(at, "at authentication", e))?;
    let mut status = [0u8; 2];
    match io.read_exact(&mut status).await {
        Ok(_) if status[1] == 0 => Ok(()),
        Ok(_) => Err(socks_fail(
            ErrorKind::ProxyAuth,
            format!(
                "proxy {at} refused the credentials (RFC 1929 status {})",
                status[1]
            ),
        )),
        // Some servers (pproxy) hang up on bad credentials instead of answering.
        Err(e) => Err(socks_fail(
            ErrorKind::ProxyAuth,
            format!("proxy {at} hung up after the credentials were sent ({e}): refused"),
        )),
    }
}

/// The SOCKS5 CONNECT request for `dest` (an address, or a name of at most 255 bytes).
fn socks5_connect_request(dest: &SocksDest) -> Result<Vec<u8>, Failure> {
    let mut req = vec![5, 1, 0];
    match dest {
        SocksDest::Addr(SocketAddr::V4(a)) => {
            req.push(1);
            req.extend_from_slice(&a.ip().octets());
            req.extend_from_slice(&a.port().to_be_bytes());
        }
        SocksDest::Addr(SocketAddr::V6(a)) => {
            req.push(4);
            req.extend_from_slice(&a.ip().octets());
            req.extend_from_slice(&a.port().to_be_bytes());
        }
        SocksDest::Name(name, port) => {
            if name.len() > 255 {
                return Err(socks_fail(
                    ErrorKind::Other,
                    "host name over 255 bytes".into(),
                ));
            }
            req.push(3);
            req.push(name.len() as u8);
            req.extend_from_slice(name.as_bytes());
            req.extend_from_slice(&port.to_be_bytes());
        }
    }
    Ok(req)
}

/// Reads the CONNECT reply: a non-zero code is an upstream failure; the bound address that
/// follows is read and dropped so the tunnel starts clean.
async fn socks5_read_reply(io: &mut Box<dyn Io>, at: &str) -> Result<(), Failure> {
    let mut reply = [0u8; 4];
    io.read_exact(&mut reply)
        .await
        .map_err(|e| socks_io_fail(at, "after CONNECT", e))?;
    if reply[1] != 0 {
        let mut f = socks_fail(
            ErrorKind::Proxy,
            format!(
                "proxy {at} could not connect to the destination: {} (reply {})",
                socks_reply_text(reply[1]),
                reply[1]
            ),
        );
        f.upstream = true;
        return Err(f);
    }
    let rest = match reply[3] {
        1 => 4 + 2,
        4 => 16 + 2,
        3 => {
            let mut len = [0u8; 1];
            io.read_exact(&mut len)
                .await
                .map_err(|e| socks_io_fail(at, "after CONNECT", e))?;
            usize::from(len[0]) + 2
        }
        t => {
            return Err(socks_fail(
                ErrorKind::Proxy,
                format!("proxy {at} answered with address type {t}"),
            ))
        }
    };
    let mut skip = vec![0u8; rest];
    io.read_exact(&mut skip)
        .await
        .map_err(|e| socks_io_fail(at, "after CONNECT", e))?;
    Ok(())
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

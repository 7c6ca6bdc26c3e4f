//! The one path every probe connection takes: guarded resolve-and-connect, then the proxy
//! handshake (HTTP CONNECT or SOCKS5), then TLS, then one HTTP/1.1 exchange.
//!
//! Nothing else in the probe engine opens a socket. [`connect_guarded`] resolves the host (an IP
//! literal in any form the URL parser or the system resolver accepts, or a name), drops every
//! address the [address guard](super::guard) refuses and connects only to what is left, so no URL
//! shape, proxy scheme, missing port or redirect can reach a refused address.
//!
//! Through a proxy the engine speaks the proxy protocol itself, so it sees the proxy's own answer
//! and can tell it from the upstream's (see [`super`] for the rule):
//! - `http://` / `https://` proxies (TLS to the proxy for `https://`): plain-HTTP test URLs are
//!   sent in absolute form (RFC 9112 §3.2.2) with `Proxy-Authorization: Basic`; `https://` test
//!   URLs open a `CONNECT` tunnel (RFC 9110 §9.3.6) whose reply is read here, status and
//!   headers, then TLS to the test URL's host inside the tunnel.
//! - `socks5://` (the destination resolved here, through the guard) and `socks5h://` (the proxy
//!   resolves it): RFC 1928 with RFC 1929 username/password.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use http_body_util::BodyExt as _;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{guard, Failure};
use crate::domain::ErrorKind;
use crate::redact::{clip, redact_text};

/// A byte stream: TCP, or TLS over TCP or over a tunnel.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Largest proxy reply head read (`CONNECT` answer), in bytes.
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// Resolves `host` and connects to the first address the guard allows (all of them when
/// `guard.allow_private`). `host` may be a name, an IP literal (brackets and a trailing dot
/// allowed) or any numeric form the system resolver accepts (`2130706433`, `0x7f.1`,
/// `0177.0.0.1`): every address it stands for is checked before a connection is tried.
///
/// # Errors
/// A [`Failure`] of kind `forbidden` (every address refused), `dns` (no address) or `connect`.
pub(crate) async fn connect_guarded(
    host: &str,
    port: u16,
    guard: &guard::Guard,
) -> Result<TcpStream, Failure> {
    let addrs = resolve_guarded(host, port, guard).await?;
    connect_any(addrs).await.map_err(|e| {
        let mut f = Failure::new(ErrorKind::Connect, clip(&format!("connect: {e}"), 200));
        f.connecting = true;
        f
    })
}

/// Delay before the next address is tried beside a connection attempt that has not answered
/// yet (Happy Eyeballs, RFC 8305 §5, which recommends 250 ms; hyper-util's connector uses
/// 300 ms).
const NEXT_ADDRESS_DELAY: Duration = Duration::from_millis(250);

/// Connects to the first of `addrs` that answers: the next address is tried when the one before
/// fails, or after [`NEXT_ADDRESS_DELAY`] beside it, so one black-holed address (an AAAA record
/// without a route) does not use up the connect timeout. Only addresses already checked by the
/// guard come here.
///
/// # Errors
/// The last connection error when none connects (`no address` for an empty list).
async fn connect_any(addrs: Vec<SocketAddr>) -> std::io::Result<TcpStream> {
    use futures::stream::{FuturesUnordered, StreamExt as _};
    let mut rest = addrs.into_iter();
    let mut trying = FuturesUnordered::new();
    let mut last = None;
    if let Some(first) = rest.next() {
        trying.push(TcpStream::connect(first));
    }
    while !trying.is_empty() {
        let more = rest.len() > 0;
        tokio::select! {
            done = trying.next() => match done {
                Some(Ok(s)) => {
                    let _ = s.set_nodelay(true);
                    return Ok(s);
                }
                Some(Err(e)) => {
                    last = Some(e);
                    if let Some(next) = rest.next() {
                        trying.push(TcpStream::connect(next));
                    }
                }
                None => break,
            },
            () = tokio::time::sleep(NEXT_ADDRESS_DELAY), if more => {
                if let Some(next) = rest.next() {
                    trying.push(TcpStream::connect(next));
                }
            }
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no address")))
}

/// The addresses of `host:port` a probe may connect to; see [`connect_guarded`].
///
/// # Errors
/// As [`connect_guarded`], without `connect`.
pub(crate) async fn resolve_guarded(
    host: &str,
    port: u16,
    guard: &guard::Guard,
) -> Result<Vec<SocketAddr>, Failure> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match bare.trim_end_matches('.').parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => match tokio::net::lookup_host((bare, port)).await {
            Ok(a) => a.collect(),
            Err(e) => {
                let mut f = Failure::new(
                    ErrorKind::Dns,
                    clip(&redact_text(&format!("dns: {bare}: {e}")), 200),
                );
                f.connecting = true;
                return Err(f);
            }
        },
    };
    guard.filter_addrs(bare, addrs).map_err(|r| {
        let mut f = Failure::from(r);
        f.connecting = true;
        f
    })
}

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

    fn basic_auth(&self) -> Option<String> {
        self.auth.as_ref().map(|(u, p)| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )
        })
    }
}

fn percent_decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// TLS client settings: the public roots (webpki-roots, as reqwest's `rustls-tls`) plus an
/// optional private CA, ALPN `http/1.1`. Built once per distinct `ca_pem` and cached.
#[derive(Clone, Default)]
pub(crate) struct TlsConfigs {
    cache: Arc<Mutex<std::collections::HashMap<String, Arc<rustls::ClientConfig>>>>,
}

/// Most TLS configurations kept (one per distinct `ca_pem`) before the cache is emptied.
const MAX_TLS_CONFIGS: usize = 256;

impl TlsConfigs {
    /// The configuration that trusts the public roots and `ca_pem`.
    pub fn get(&self, ca_pem: Option<&str>) -> Result<Arc<rustls::ClientConfig>, Failure> {
        let key = ca_pem.unwrap_or("").to_string();
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cache.get(&key) {
            return Ok(c.clone());
        }
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(pem) = ca_pem {
            use rustls::pki_types::{pem::PemObject, CertificateDer};
            let mut added = 0;
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let cert = cert.map_err(|e| {
                    Failure::new(ErrorKind::Cert, format!("cert: ca_pem does not parse: {e}"))
                })?;
                roots.add(cert).map_err(|e| {
                    Failure::new(ErrorKind::Cert, format!("cert: ca_pem is not usable: {e}"))
                })?;
                added += 1;
            }
            if added == 0 {
                return Err(Failure::new(
                    ErrorKind::Cert,
                    "cert: ca_pem holds no certificate",
                ));
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Failure::new(ErrorKind::Tls, format!("tls: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let config = Arc::new(config);
        if cache.len() >= MAX_TLS_CONFIGS {
            cache.clear();
        }
        cache.insert(key, config.clone());
        Ok(config)
    }
}

/// TLS over `io` to `host`; returns the stream and the leaf certificate's DER.
async fn tls_handshake(
    io: Box<dyn Io>,
    host: &str,
    config: Arc<rustls::ClientConfig>,
) -> Result<(Box<dyn Io>, Option<Vec<u8>>), Failure> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let name = rustls::pki_types::ServerName::try_from(bare.to_string())
        .map_err(|e| Failure::new(ErrorKind::Tls, format!("tls: bad server name: {e}")))?;
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, io)
        .await
        .map_err(|e| tls_failure(&e))?;
    let leaf = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.as_ref().to_vec());
    Ok((Box::new(tls), leaf))
}

/// Maps a TLS handshake error: an invalid certificate is `cert`, the rest `tls`; the peer
/// closing is `connect`.
fn tls_failure(e: &std::io::Error) -> Failure {
    let inner = e
        .get_ref()
        .and_then(|i| i.downcast_ref::<rustls::Error>())
        .cloned();
    let mut f = match inner {
        Some(rustls::Error::InvalidCertificate(c)) => {
            Failure::new(ErrorKind::Cert, format!("certificate: {c:?}"))
        }
        Some(other) => Failure::new(ErrorKind::Tls, format!("tls: {other}")),
        None if matches!(
            e.kind(),
            std::io::ErrorKind::UnexpectedEof
                | std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::BrokenPipe
        ) =>
        {
            Failure::new(
                ErrorKind::Tls,
                format!("tls: the peer closed the connection during the handshake ({e})"),
            )
        }
        None => Failure::new(ErrorKind::Tls, format!("tls: {e}")),
    };
    f.message = clip(&redact_text(&f.message), 200);
    f.connecting = true;
    f
}

/// Where a request goes and how.
pub(crate) struct Route<'a> {
    /// The destination URL (`http` or `https`).
    pub url: &'a url::Url,
    pub proxy: Option<&'a ProxySpec>,
    pub tls: Arc<rustls::ClientConfig>,
    pub guard: &'a guard::Guard,
    /// Set by [`open`] once the connection to the proxy is up (TCP, and TLS to an `https://`
    /// proxy): a timeout after it is the destination's, not the proxy's.
    pub proxy_up: std::sync::atomic::AtomicBool,
}

/// An open connection to a destination, ready for one request.
pub(crate) struct Opened {
    io: Box<dyn Io>,
    /// Send the request in absolute form (a plain-HTTP request to an HTTP proxy).
    absolute_form: bool,
    /// Leaf certificate of the destination (HTTPS only).
    pub leaf_der: Option<Vec<u8>>,
    /// The `Proxy-Authorization` value for an absolute-form request.
    proxy_authorization: Option<String>,
}

/// Opens the connection a request to `route.url` needs: TCP to the destination or the proxy
/// (guarded), TLS to an `https://` proxy, the CONNECT tunnel or SOCKS5 handshake, TLS to an
/// `https` destination.
///
/// # Errors
/// A [`Failure`]: `forbidden`, `dns`, `connect`, `tls`, `cert`, `proxy` (with `upstream` set when
/// the proxy could not reach this destination) or `proxy_auth`.
pub(crate) async fn open(route: &Route<'_>) -> Result<Opened, Failure> {
    let url = route.url;
    let host = url
        .host_str()
        .ok_or_else(|| Failure::new(ErrorKind::Other, "bad url: no host"))?
        .to_string();
    let port = url
        .port_or_known_default()
        .ok_or_else(|| Failure::new(ErrorKind::Other, "bad url: no port"))?;
    let https = url.scheme() == "https";
    let Some(proxy) = route.proxy else {
        let tcp: Box<dyn Io> = Box::new(connect_guarded(&host, port, route.guard).await?);
        return finish(tcp, https, &host, route, false, None).await;
    };
    let mut io: Box<dyn Io> =
        Box::new(connect_guarded(&proxy.host, proxy.port, route.guard).await?);
    let up = || {
        route
            .proxy_up
            .store(true, std::sync::atomic::Ordering::SeqCst)
    };
    match proxy.scheme {
        ProxyScheme::Http | ProxyScheme::Https => {
            if proxy.scheme == ProxyScheme::Https {
                io = tls_handshake(io, &proxy.host, route.tls.clone())
                    .await
                    .map_err(|mut f| {
                        // The proxy itself failed: another test URL cannot help.
                        f.kind = ErrorKind::Proxy;
                        f.message = format!("TLS to the proxy: {}", f.message);
                        f
                    })?
                    .0;
            }
            up();
            if !https {
                return Ok(Opened {
                    io,
                    absolute_form: true,
                    leaf_der: None,
                    proxy_authorization: proxy.basic_auth(),
                });
            }
            connect_tunnel(&mut io, &host, port, proxy).await?;
        }
        ProxyScheme::Socks5 | ProxyScheme::Socks5h => {
            up();
            let dest = if proxy.scheme == ProxyScheme::Socks5 {
                let addrs = resolve_guarded(&host, port, route.guard)
                    .await
                    .map_err(|mut f| {
                        f.connecting = false;
                        f
                    })?;
                SocksDest::Addr(addrs[0])
            } else {
                let bare = host.trim_start_matches('[').trim_end_matches(']');
                match bare.parse::<IpAddr>() {
                    // A literal goes as an address (RFC 1928 ATYP 1 or 4), not as a name.
                    Ok(ip) => SocksDest::Addr(SocketAddr::new(ip, port)),
                    Err(_) => SocksDest::Name(bare.to_string(), port),
                }
            };
            socks5_handshake(&mut io, &dest, proxy).await?;
        }
    }
    finish(io, https, &host, route, false, None).await
}

async fn finish(
    io: Box<dyn Io>,
    https: bool,
    host: &str,
    route: &Route<'_>,
    absolute_form: bool,
    proxy_authorization: Option<String>,
) -> Result<Opened, Failure> {
    if !https {
        return Ok(Opened {
            io,
            absolute_form,
            leaf_der: None,
            proxy_authorization,
        });
    }
    let (io, leaf_der) = tls_handshake(io, host, route.tls.clone()).await?;
    Ok(Opened {
        io,
        absolute_form,
        leaf_der,
        proxy_authorization,
    })
}

/// A proxy's own refusal: its status and its authentication challenge, if any.
fn proxy_refusal(status: u16, reason: &str, challenge: Option<&str>, sent_auth: bool) -> Failure {
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
async fn connect_tunnel(
    io: &mut Box<dyn Io>,
    host: &str,
    port: u16,
    proxy: &ProxySpec,
) -> Result<(), Failure> {
    let authority = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut req = format!(
        "CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: {}\r\n",
        super::USER_AGENT
    );
    if let Some(a) = proxy.basic_auth() {
        req.push_str(&format!("Proxy-Authorization: {a}\r\n"));
    }
    req.push_str("\r\n");
    let io_err = |e: std::io::Error| {
        let mut f = Failure::new(
            ErrorKind::Proxy,
            clip(&format!("proxy {}: {e}", proxy.display()), 200),
        );
        f.connecting = true;
        f
    };
    io.write_all(req.as_bytes()).await.map_err(io_err)?;
    io.flush().await.map_err(io_err)?;
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
            Err(e) => return Err(io_err(e)),
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut headers);
    let parsed = resp.parse(&head);
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

enum SocksDest {
    Addr(SocketAddr),
    Name(String, u16),
}

/// RFC 1928 reply codes in words.
fn socks_reply_text(code: u8) -> &'static str {
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

/// The SOCKS5 greeting, RFC 1929 authentication when the proxy asks for it, and CONNECT.
async fn socks5_handshake(
    io: &mut Box<dyn Io>,
    dest: &SocksDest,
    proxy: &ProxySpec,
) -> Result<(), Failure> {
    let at = proxy.display();
    let fail = |kind: ErrorKind, msg: String| {
        let mut f = Failure::new(kind, clip(&redact_text(&format!("socks: {msg}")), 200));
        f.connecting = true;
        f
    };
    let io_fail = |stage: &str, e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            fail(
                ErrorKind::Proxy,
                format!("proxy {at} closed the connection {stage}"),
            )
        } else {
            fail(ErrorKind::Proxy, format!("proxy {at} {stage}: {e}"))
        }
    };
    let greeting: &[u8] = if proxy.auth.is_some() {
        &[5, 2, 0, 2]
    } else {
        &[5, 1, 0]
    };
    io.write_all(greeting)
        .await
        .map_err(|e| io_fail("at the greeting", e))?;
    let mut choice = [0u8; 2];
    if let Err(e) = io.read_exact(&mut choice).await {
        if proxy.auth.is_none() && e.kind() == std::io::ErrorKind::UnexpectedEof {
            // Some servers (pproxy) hang up on a greeting without credentials instead of
            // answering "no acceptable method".
            return Err(fail(
                ErrorKind::ProxyAuth,
                format!("proxy {at} hung up on a greeting without credentials: it requires authentication"),
            ));
        }
        return Err(io_fail("after the greeting", e));
    }
    if choice[0] != 5 {
        return Err(fail(
            ErrorKind::Proxy,
            format!(
                "proxy {at} is not a SOCKS5 proxy (version byte {})",
                choice[0]
            ),
        ));
    }
    match (choice[1], &proxy.auth) {
        (0, _) => {}
        (2, Some((user, pass))) => {
            if user.len() > 255 || pass.len() > 255 {
                return Err(fail(
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
                .map_err(|e| io_fail("at authentication", e))?;
            let mut status = [0u8; 2];
            match io.read_exact(&mut status).await {
                Ok(_) if status[1] == 0 => {}
                Ok(_) => {
                    return Err(fail(
                        ErrorKind::ProxyAuth,
                        format!(
                            "proxy {at} refused the credentials (RFC 1929 status {})",
                            status[1]
                        ),
                    ))
                }
                // Some servers (pproxy) hang up on bad credentials instead of answering.
                Err(e) => {
                    return Err(fail(
                        ErrorKind::ProxyAuth,
                        format!(
                            "proxy {at} hung up after the credentials were sent ({e}): refused"
                        ),
                    ))
                }
            }
        }
        (2, None) => {
            return Err(fail(
                ErrorKind::ProxyAuth,
                format!("proxy {at} asks for credentials and none are set"),
            ))
        }
        (0xff, Some(_)) => {
            return Err(fail(
                ErrorKind::ProxyAuth,
                format!("proxy {at} accepts none of the offered methods (no auth, user/password)"),
            ))
        }
        (0xff, None) => {
            return Err(fail(
                ErrorKind::ProxyAuth,
                format!("proxy {at} asks for authentication and none is set"),
            ))
        }
        (m, _) => {
            return Err(fail(
                ErrorKind::Proxy,
                format!("proxy {at} chose unsupported method {m}"),
            ))
        }
    }
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
                return Err(fail(ErrorKind::Other, "host name over 255 bytes".into()));
            }
            req.push(3);
            req.push(name.len() as u8);
            req.extend_from_slice(name.as_bytes());
            req.extend_from_slice(&port.to_be_bytes());
        }
    }
    io.write_all(&req)
        .await
        .map_err(|e| io_fail("at CONNECT", e))?;
    let mut reply = [0u8; 4];
    io.read_exact(&mut reply)
        .await
        .map_err(|e| io_fail("after CONNECT", e))?;
    if reply[1] != 0 {
        let mut f = fail(
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
                .map_err(|e| io_fail("after CONNECT", e))?;
            usize::from(len[0]) + 2
        }
        t => {
            return Err(fail(
                ErrorKind::Proxy,
                format!("proxy {at} answered with address type {t}"),
            ))
        }
    };
    let mut skip = vec![0u8; rest];
    io.read_exact(&mut skip)
        .await
        .map_err(|e| io_fail("after CONNECT", e))?;
    Ok(())
}

/// A request to send over an [`Opened`] connection.
pub(crate) struct Outgoing<'a> {
    pub method: http::Method,
    pub url: &'a url::Url,
    pub headers: Vec<(&'a str, &'a str)>,
    pub body: Option<Vec<u8>>,
}

/// The answer to one request: head, the first `cap` bytes of the body, and the bytes counted.
pub(crate) struct Exchanged {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
    /// Bytes received: status line and headers (approximate) plus the whole body read.
    pub bytes: u64,
    /// From `started` to the answer's head, in ms.
    pub ttfb_ms: u64,
}

/// Aborts a spawned task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);
impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Sends one HTTP/1.1 request over `opened` and reads the answer's head and at most `cap` body
/// bytes (the rest is never downloaded).
///
/// # Errors
/// A [`Failure`]: `connect` when the peer closed before a full answer, `other` for an answer
/// that is not HTTP.
pub(crate) async fn exchange(
    opened: Opened,
    out: Outgoing<'_>,
    started: Instant,
    cap: usize,
) -> Result<Exchanged, Failure> {
    // Title-case header names (`Proxy-Authorization`): some proxies (pproxy) look them up
    // case-sensitively.
    let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
        .title_case_headers(true)
        .handshake(TokioIo::new(opened.io))
        .await
        .map_err(|e| hyper_failure(&e))?;
    let _conn = AbortOnDrop(tokio::spawn(async move {
        let _ = conn.await;
    }));
    let target = if opened.absolute_form {
        // Never the test URL's own userinfo or fragment: proxies log request lines.
        let mut bare = out.url.clone();
        let _ = bare.set_username("");
        let _ = bare.set_password(None);
        bare.set_fragment(None);
        bare.as_str().to_string()
    } else {
        let mut t = out.url.path().to_string();
        if let Some(q) = out.url.query() {
            t.push('?');
            t.push_str(q);
        }
        t
    };
    let host = match (out.url.host_str(), out.url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => String::new(),
    };
    let mut req = http::Request::builder()
        .method(out.method)
        .uri(target)
        .header(http::header::HOST, host)
        .header(http::header::USER_AGENT, super::USER_AGENT)
        .header(http::header::ACCEPT, "*/*");
    if let Some(a) = &opened.proxy_authorization {
        req = req.header("proxy-authorization", a);
    }
    let body = out.body.unwrap_or_default();
    if !body.is_empty() {
        req = req.header(http::header::CONTENT_LENGTH, body.len());
    }
    let mut req = req
        .body(http_body_util::Full::new(bytes::Bytes::from(body)))
        .map_err(|e| Failure::new(ErrorKind::Other, clip(&format!("bad request: {e}"), 200)))?;
    // The target's own headers replace the defaults (`Host`, `User-Agent`, `Accept`): one of
    // each on the wire.
    let mut added = std::collections::HashSet::new();
    for (k, v) in &out.headers {
        let (Ok(name), Ok(value)) = (
            http::header::HeaderName::from_bytes(k.as_bytes()),
            http::header::HeaderValue::from_str(v),
        ) else {
            return Err(Failure::new(
                ErrorKind::Other,
                format!("bad request: header {:?} is not valid", clip(k, 60)),
            ));
        };
        if added.insert(name.clone()) {
            req.headers_mut().insert(name, value);
        } else {
            req.headers_mut().append(name, value);
        }
    }
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| hyper_failure(&e))?;
    let ttfb_ms = started.elapsed().as_millis() as u64;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let mut bytes: u64 = 12
        + headers
            .iter()
            .map(|(k, v)| (k.as_str().len() + v.len() + 4) as u64)
            .sum::<u64>();
    let mut body = Vec::new();
    let mut incoming = resp.into_body();
    while body.len() < cap {
        match incoming.frame().await {
            Some(Ok(frame)) => {
                if let Ok(chunk) = frame.into_data() {
                    bytes += chunk.len() as u64;
                    let room = cap - body.len();
                    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
            }
            None => break,
            Some(Err(e)) => return Err(hyper_failure(&e)),
        }
    }
    Ok(Exchanged {
        status,
        headers,
        body,
        bytes,
        ttfb_ms,
    })
}

/// Maps a hyper error to a failure kind.
fn hyper_failure(e: &hyper::Error) -> Failure {
    let mut text = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        text = format!("{text}: {s}");
        src = s.source();
    }
    let (kind, word) = if e.is_incomplete_message() || e.is_canceled() || e.is_closed() {
        (ErrorKind::Connect, "connect")
    } else if e.is_parse() || e.is_parse_status() {
        (ErrorKind::Other, "not an HTTP answer")
    } else if e.is_timeout() {
        (ErrorKind::Timeout, "timeout")
    } else if text.to_ascii_lowercase().contains("reset") {
        (ErrorKind::Connect, "connect")
    } else {
        (ErrorKind::Other, "error")
    };
    Failure::new(kind, clip(&redact_text(&format!("{word}: {text}")), 200))
}

/// Opens the route and runs one exchange, cut at `timeout`; connection time (DNS, TCP, proxy
/// handshake, TLS) is added to `ctx` and cut at its `connect_timeout`.
///
/// # Errors
/// As [`open`] and [`exchange`]; `timeout` when the whole exchange outlives `timeout`.
pub(crate) async fn request(
    route: &Route<'_>,
    out: Outgoing<'_>,
    ctx: Option<&super::connect::ConnectContext>,
    timeout: Duration,
    cap: usize,
) -> Result<(Exchanged, Option<Vec<u8>>), Failure> {
    let started = Instant::now();
    let work = async {
        let opening = Instant::now();
        let limit = ctx.and_then(|c| c.connect_timeout);
        let opened = match limit {
            Some(limit) => match tokio::time::timeout(limit, open(route)).await {
                Ok(r) => r,
                Err(_) => Err(opening_timeout(
                    route,
                    limit,
                    format!(
                        "connect timeout: connect timed out after {} ms",
                        limit.as_millis()
                    ),
                )),
            },
            None => open(route).await,
        };
        if let Some(ctx) = ctx {
            ctx.record(opening.elapsed());
        }
        let opened = opened?;
        let leaf = opened.leaf_der.clone();
        let answer = exchange(opened, out, started, cap).await?;
        Ok((answer, leaf))
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        // Cut while the proxy was still being reached: the proxy's fault, as a connect
        // timeout is.
        Err(_)
            if route.proxy.is_some()
                && !route.proxy_up.load(std::sync::atomic::Ordering::SeqCst) =>
        {
            Err(opening_timeout(
                route,
                timeout,
                format!("timeout: no answer within {} ms", timeout.as_millis()),
            ))
        }
        Err(_) => Err(Failure::new(
            ErrorKind::Timeout,
            format!("timeout: no answer within {} ms", timeout.as_millis()),
        )),
    }
}

/// A timeout while a connection opened: before the proxy answered it is the proxy's
/// (`connecting`); after, the proxy could not reach the destination in time (`upstream`).
fn opening_timeout(route: &Route<'_>, limit: Duration, plain: String) -> Failure {
    let proxy_up = route.proxy_up.load(std::sync::atomic::Ordering::SeqCst);
    let mut f = Failure::new(
        ErrorKind::Timeout,
        if proxy_up {
            format!(
                "timeout: the proxy did not get through to the destination within {} ms",
                limit.as_millis()
            )
        } else {
            plain
        },
    );
    f.connecting = !proxy_up;
    f.upstream = proxy_up;
    f
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

    #[tokio::test]
    async fn a_black_holed_first_address_does_not_keep_the_next_one_waiting() {
        // A listener whose accept queue is full drops new SYNs: a black hole on loopback.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let full = socket.listen(0).unwrap();
        let hole = full.local_addr().unwrap();
        let mut fillers = Vec::new();
        for _ in 0..64 {
            match tokio::time::timeout(Duration::from_millis(200), TcpStream::connect(hole)).await {
                Ok(Ok(s)) => fillers.push(s),
                _ => break,
            }
        }
        let good = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let good_addr = good.local_addr().unwrap();
        let started = std::time::Instant::now();
        let s = tokio::time::timeout(Duration::from_secs(5), connect_any(vec![hole, good_addr]))
            .await
            .expect("not stuck on the black hole")
            .expect("connects to the second address");
        assert_eq!(s.peer_addr().unwrap(), good_addr);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        drop(full);
    }

    #[tokio::test]
    async fn every_numeric_form_of_a_refused_address_is_refused_before_connecting() {
        for host in [
            "127.0.0.1",
            "127.0.0.1.",
            "2130706433",
            "0x7f.1",
            "0177.0.0.1",
            "127.1",
            "[::1]",
            "::ffff:127.0.0.1",
            "10.0.0.1",
            "169.254.169.254",
            "localhost",
        ] {
            let r = resolve_guarded(host, 80, &guard::Guard::default()).await;
            match r {
                Err(f) => assert!(
                    matches!(f.kind, ErrorKind::Forbidden | ErrorKind::Dns),
                    "{host}: {}",
                    f.message
                ),
                Ok(a) => panic!("{host} resolved to {a:?}"),
            }
        }
    }
}

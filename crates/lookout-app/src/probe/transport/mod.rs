//! The one path every probe connection takes: guarded resolve-and-connect, then the proxy
//! handshake (HTTP CONNECT or SOCKS5), then TLS, then one HTTP/1.1 exchange.
//!
//! Nothing else in the probe engine opens a socket. [`connect_guarded`] resolves the host (an IP
//! literal in any form the URL parser or the system resolver accepts, a name, or a name pinned
//! by [`super::resolve`]), drops every
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
use lookout_core::domain::ErrorKind;
use lookout_core::redact::{clip, redact_text};

/// A byte stream: TCP, or TLS over TCP or over a tunnel.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

mod http1;
mod proxy;
mod socks5;
mod tls;

pub(crate) use http1::{exchange, Exchanged, Outgoing};
use proxy::connect_tunnel;
pub(crate) use proxy::{ProxyScheme, ProxySpec};
use socks5::{socks5_handshake, SocksDest};
pub(crate) use tls::tls_handshake;
pub(crate) use tls::TlsConfigs;

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

/// The addresses of `host:port` a probe may connect to: those pinned for the name in
/// `guard.pins`, else the resolver's; see [`connect_guarded`].
///
/// # Errors
/// As [`connect_guarded`], without `connect`.
pub(crate) async fn resolve_guarded(
    host: &str,
    port: u16,
    guard: &guard::Guard,
) -> Result<Vec<SocketAddr>, Failure> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let pinned = guard.pins.get(bare);
    let addrs: Vec<SocketAddr> = match bare.trim_end_matches('.').parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        // A pinned name (`LOOKOUT_PROBE_RESOLVE`) is answered without DNS, then guarded.
        Err(_) if !pinned.is_empty() => pinned
            .into_iter()
            .map(|ip| SocketAddr::new(ip, port))
            .collect(),
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

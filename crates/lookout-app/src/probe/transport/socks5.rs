//! SOCKS5 (RFC 1928) with username/password authentication (RFC 1929): the greeting, the
//! authentication, the CONNECT request and its reply, each step a function of its own.

use super::proxy::ProxySpec;
use super::*;

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

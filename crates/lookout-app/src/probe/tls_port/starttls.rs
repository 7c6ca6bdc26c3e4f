//! The plain-text dialogues that turn a connection into one ready for the TLS handshake:
//! - `smtp` (RFC 3207): greeting `220`, `EHLO lookout` → `250`, `STARTTLS` → `220`;
//! - `imap` (RFC 9051 §6.2.1): greeting `* OK`, `a STARTTLS` → `a OK`;
//! - `pop3` (RFC 2595 §4): greeting `+OK`, `STLS` → `+OK`;
//! - `postgres` (protocol 3 `SSLRequest`): the 8 bytes `00 00 00 08 04 d2 16 2f` → `S`.
//!
//! Each reply is read up to [`MAX_REPLY_BYTES`]; the whole dialogue is cut by the check's
//! `timeout_ms` (the caller's deadline). A reply that is not the expected one is `tls`,
//! quoting at most 80 characters of it; the peer closing is `connect`.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::super::Failure;
use lookout_core::domain::target::StartTls;
use lookout_core::domain::ErrorKind;
use lookout_core::redact::{clip, redact_text};

/// Most bytes of one reply read during a STARTTLS dialogue (4 KiB: an SMTP `EHLO` reply lists
/// a dozen extensions in a few hundred bytes).
pub const MAX_REPLY_BYTES: usize = 4096;

/// PostgreSQL's `SSLRequest`: length 8, then the request code 80877103 (`1234 << 16 | 5679`).
const PG_SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// Runs the dialogue of `protocol` on `sock`.
///
/// # Errors
/// `tls` when the server does not offer or refuses the upgrade, `connect` when it closes.
pub(super) async fn upgrade(sock: &mut TcpStream, protocol: StartTls) -> Result<(), Failure> {
    let mut line = Lines::default();
    match protocol {
        StartTls::Smtp => {
            let greeting = line.smtp_reply(sock, "greeting").await?;
            expect(&greeting, "220", "smtp", "greeting")?;
            send(sock, b"EHLO lookout\r\n").await?;
            let ehlo = line.smtp_reply(sock, "EHLO").await?;
            expect(&ehlo, "250", "smtp", "EHLO")?;
            send(sock, b"STARTTLS\r\n").await?;
            let reply = line.smtp_reply(sock, "STARTTLS").await?;
            expect(&reply, "220", "smtp", "STARTTLS")
        }
        StartTls::Imap => {
            let greeting = line.next(sock, "greeting").await?;
            expect(&greeting, "* OK", "imap", "greeting")?;
            send(sock, b"a STARTTLS\r\n").await?;
            // Untagged lines (`* CAPABILITY ...`) may come before the tagged reply: all of
            // them together at most MAX_REPLY_BYTES, like one reply.
            let mut seen = 0;
            loop {
                let reply = line.next(sock, "STARTTLS").await?;
                if !reply.starts_with('*') {
                    return expect(&reply, "a OK", "imap", "STARTTLS");
                }
                seen += reply.len() + 2;
                if seen >= MAX_REPLY_BYTES {
                    return Err(Failure::new(
                        ErrorKind::Tls,
                        format!(
                            "starttls: imap sent {MAX_REPLY_BYTES} bytes of untagged lines \
                             without answering STARTTLS"
                        ),
                    ));
                }
            }
        }
        StartTls::Pop3 => {
            let greeting = line.next(sock, "greeting").await?;
            expect(&greeting, "+OK", "pop3", "greeting")?;
            send(sock, b"STLS\r\n").await?;
            let reply = line.next(sock, "STLS").await?;
            expect(&reply, "+OK", "pop3", "STLS")
        }
        StartTls::Postgres => {
            send(sock, &PG_SSL_REQUEST).await?;
            let mut answer = [0u8; 1];
            match sock.read(&mut answer).await {
                Ok(1) if answer[0] == b'S' => Ok(()),
                Ok(1) if answer[0] == b'N' => Err(Failure::new(
                    ErrorKind::Tls,
                    "starttls postgres: the server does not accept SSL (answered N)",
                )),
                Ok(1) => Err(Failure::new(
                    ErrorKind::Tls,
                    format!(
                        "starttls postgres: unexpected answer {:?} to SSLRequest",
                        char::from(answer[0])
                    ),
                )),
                Ok(_) => Err(closed("postgres", "SSLRequest")),
                Err(e) => Err(io_failure("postgres", &e)),
            }
        }
    }
}

/// Writes `bytes`.
async fn send(sock: &mut TcpStream, bytes: &[u8]) -> Result<(), Failure> {
    sock.write_all(bytes)
        .await
        .map_err(|e| io_failure("dialogue", &e))
}

/// `Ok` when `reply` starts with `want`, else a `tls` failure quoting it.
fn expect(reply: &str, want: &str, protocol: &str, step: &str) -> Result<(), Failure> {
    if reply.starts_with(want) {
        return Ok(());
    }
    Err(Failure::new(
        ErrorKind::Tls,
        format!(
            "starttls {protocol}: expected {want:?} to {step}, the server answered {:?}",
            clip(&redact_text(reply), 80)
        ),
    ))
}

fn closed(protocol: &str, step: &str) -> Failure {
    Failure::new(
        ErrorKind::Connect,
        format!("starttls {protocol}: the server closed the connection before answering {step}"),
    )
}

fn io_failure(protocol: &str, e: &std::io::Error) -> Failure {
    Failure::new(
        ErrorKind::Connect,
        clip(&format!("starttls {protocol}: {e}"), 200),
    )
}

/// Reads CRLF- (or LF-) terminated lines, keeping what came after the last one.
#[derive(Default)]
struct Lines {
    buf: Vec<u8>,
}

impl Lines {
    /// The next line, without its line end.
    async fn next(&mut self, sock: &mut TcpStream, step: &str) -> Result<String, Failure> {
        let mut read = 0usize;
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                let text = String::from_utf8_lossy(&line);
                return Ok(text.trim_end_matches(['\r', '\n']).to_string());
            }
            if read >= MAX_REPLY_BYTES {
                return Err(Failure::new(
                    ErrorKind::Tls,
                    format!("starttls: no line end in the first {MAX_REPLY_BYTES} bytes of the reply to {step}"),
                ));
            }
            let mut chunk = [0u8; 512];
            match sock.read(&mut chunk).await {
                Ok(0) => return Err(closed("dialogue", step)),
                Ok(n) => {
                    read += n;
                    self.buf.extend_from_slice(&chunk[..n]);
                }
                Err(e) => return Err(io_failure("dialogue", &e)),
            }
        }
    }

    /// An SMTP reply (RFC 5321 §4.2.1): lines `NNN-text` up to the last, `NNN text` or `NNN`;
    /// returns the last line. At most [`MAX_REPLY_BYTES`] in all.
    async fn smtp_reply(&mut self, sock: &mut TcpStream, step: &str) -> Result<String, Failure> {
        let mut total = 0usize;
        loop {
            let line = self.next(sock, step).await?;
            total += line.len() + 2;
            let continued = line.len() > 3 && line.as_bytes()[3] == b'-';
            if !continued {
                return Ok(line);
            }
            if total > MAX_REPLY_BYTES {
                return Err(Failure::new(
                    ErrorKind::Tls,
                    format!("starttls smtp: the reply to {step} is over {MAX_REPLY_BYTES} bytes"),
                ));
            }
        }
    }
}

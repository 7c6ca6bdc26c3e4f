//! The `tcp` check: connect to `host:port` through the guarded connect of [`transport`] (the
//! address guard, `LOOKOUT_PROBE_RESOLVE` pins, Happy Eyeballs, `connect_timeout_ms`), then,
//! when the check has a conversation, send `send` and read the answer until `expect_prefix` /
//! `expect_regex` are met, the peer closes, [`MAX_TCP_BYTES`] were read or `timeout_ms` ran out.
//!
//! - Without `send` or expectations the check is `up` once connected; with `send` only, once
//!   the bytes are written.
//! - An expectation not met is `failed` / `assertion`, quoting at most [`QUOTE_BYTES`] bytes of
//!   what came back (credentials redacted, and the text sent masked where the peer echoes it).
//!   Nothing at all before the timeout is `timeout`.
//! - `connect_ms` is the guarded connect (DNS and TCP); `latency_ms` the whole exchange, `slow`
//!   above `degraded_latency_ms` as for servers; `bytes` counts bytes sent and read.
//! - Refused is `connect`, the guard `forbidden`, a name that does not resolve `dns`.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{connect, transport, Attempt, Failure, Prober};
use lookout_core::domain::target::tcp::MAX_TCP_BYTES;
use lookout_core::domain::{ErrorKind, Outcome, Target, TcpCheck};
use lookout_core::redact::{clip, redact_text};

/// Most bytes of the peer's answer quoted in a failed expectation's message (64).
pub const QUOTE_BYTES: usize = 64;

/// The answer read after `send`, and why the reading stopped.
struct Read {
    got: Vec<u8>,
    stop: Stop,
}

/// Why the reading of an answer stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// The expectations hold.
    Met,
    /// The bytes read can no longer meet `expect_prefix`.
    Mismatch,
    /// The peer closed (or reset) the connection.
    Closed,
    /// [`MAX_TCP_BYTES`] were read.
    Full,
    /// `timeout_ms` ran out.
    TimedOut,
}

impl Prober {
    /// One attempt of a TCP check (see the module's documentation).
    pub(super) async fn check_tcp(
        &self,
        target: &Target,
        c: &TcpCheck,
        ctx: &connect::ConnectContext,
    ) -> Attempt {
        let started = Instant::now();
        let deadline = started + Duration::from_millis(target.timeout_ms);
        let elapsed = || elapsed_ms(started);
        let regex = match c.expect_regex.as_deref().map(compile).transpose() {
            Ok(r) => r,
            Err(f) => return Attempt::failed(f, 0),
        };
        let mut sock = match self.open_port(&c.host, c.port, ctx, deadline).await {
            Ok(s) => s,
            Err(f) => return Attempt::failed(f, elapsed()),
        };
        let mut sent = 0u64;
        if let Some(send) = &c.send {
            let write = tokio::time::timeout_at(deadline.into(), sock.write_all(send.as_bytes()));
            match write.await {
                Ok(Ok(())) => sent = send.len() as u64,
                Ok(Err(e)) => {
                    let f = Failure::new(ErrorKind::Connect, clip(&format!("send: {e}"), 200));
                    return Attempt::failed(f, elapsed());
                }
                Err(_) => return Attempt::failed(timed_out(target, "sending"), elapsed()),
            }
        }
        if !c.expects_answer() {
            return verdict(target, Attempt::up(sent, elapsed()));
        }
        let read = read_answer(&mut sock, deadline, |got| {
            expectation(c, regex.as_ref(), got)
        })
        .await;
        let bytes = sent + read.got.len() as u64;
        let latency = elapsed();
        if read.stop == Stop::Met {
            return verdict(target, Attempt::up(bytes, latency));
        }
        let f = if read.got.is_empty() && read.stop == Stop::TimedOut {
            timed_out(target, "waiting for an answer")
        } else {
            Failure::new(ErrorKind::Assertion, unmet(c, &read))
        };
        let mut attempt = Attempt::failed(f, latency);
        attempt.bytes = bytes;
        attempt
    }

    /// The guarded connect to `host:port` ([`transport::connect_guarded`]), cut at the check's
    /// `connect_timeout_ms` and at `deadline`; its time is added to `ctx` (`connect_ms`).
    ///
    /// # Errors
    /// `forbidden`, `dns`, `connect` as [`transport::connect_guarded`]; `timeout` when the
    /// connection did not open in time.
    pub(super) async fn open_port(
        &self,
        host: &str,
        port: u16,
        ctx: &connect::ConnectContext,
        deadline: Instant,
    ) -> Result<TcpStream, Failure> {
        let opening = Instant::now();
        let left = deadline.saturating_duration_since(opening);
        let limit = ctx.connect_timeout.map_or(left, |c| c.min(left));
        let r =
            tokio::time::timeout(limit, transport::connect_guarded(host, port, &self.guard)).await;
        ctx.record(opening.elapsed());
        match r {
            Ok(r) => r,
            Err(_) => {
                let mut f = Failure::new(
                    ErrorKind::Timeout,
                    format!(
                        "connect timeout: connect timed out after {} ms",
                        limit.as_millis()
                    ),
                );
                f.connecting = true;
                Err(f)
            }
        }
    }
}

impl Attempt {
    /// An `up` attempt without an HTTP answer.
    pub(super) fn up(bytes: u64, latency_ms: u64) -> Self {
        Attempt {
            outcome: Outcome::Up,
            status_code: None,
            latency_ms,
            ttfb_ms: None,
            cert_days_left: None,
            bytes,
            error: None,
            message: None,
        }
    }
}

/// Whole ms since `started`, rounded up as `connect_ms` is (so `latency_ms >= connect_ms`).
pub(super) fn elapsed_ms(started: Instant) -> u64 {
    (started.elapsed().as_micros() as u64).div_ceil(1000)
}

/// `up` becomes `slow` above the target's `degraded_latency_ms`, as for servers.
fn verdict(target: &Target, mut attempt: Attempt) -> Attempt {
    if attempt.outcome == Outcome::Up && attempt.latency_ms > target.degraded_latency_ms {
        attempt.outcome = Outcome::Slow;
        attempt.message = Some(format!(
            "answered in {} ms, over degraded_latency_ms {}",
            attempt.latency_ms, target.degraded_latency_ms
        ));
    }
    attempt
}

/// A `timeout` failure: nothing came within the target's `timeout_ms` while `doing`.
fn timed_out(target: &Target, doing: &str) -> Failure {
    Failure::new(
        ErrorKind::Timeout,
        format!(
            "timeout: no answer within {} ms ({doing})",
            target.timeout_ms
        ),
    )
}

/// The `expect_regex` of a definition (validated already; compiled with the same size limit).
fn compile(re: &str) -> Result<regex::Regex, Failure> {
    regex::RegexBuilder::new(re)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| {
            Failure::new(
                ErrorKind::Other,
                clip(
                    &format!("expect_regex is not a regular expression: {e}"),
                    200,
                ),
            )
        })
}

/// Whether the answer read so far meets the expectations: `Some(Met)`, `Some(Mismatch)` when
/// it never can (the prefix differs), `None` while more bytes may still meet them.
fn expectation(c: &TcpCheck, regex: Option<&regex::Regex>, got: &[u8]) -> Option<Stop> {
    let prefix_met = match c.expect_prefix.as_deref().map(str::as_bytes) {
        None => true,
        Some(p) if got.starts_with(p) => true,
        Some(p) if !p.starts_with(&got[..got.len().min(p.len())]) => return Some(Stop::Mismatch),
        Some(_) => false,
    };
    let regex_met = regex.is_none_or(|r| r.is_match(&String::from_utf8_lossy(got)));
    (prefix_met && regex_met).then_some(Stop::Met)
}

/// Reads from `sock` until `judge` decides, the peer closes, [`MAX_TCP_BYTES`] were read or
/// `deadline` passes.
async fn read_answer(
    sock: &mut TcpStream,
    deadline: Instant,
    judge: impl Fn(&[u8]) -> Option<Stop>,
) -> Read {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let room = (MAX_TCP_BYTES - got.len()).min(buf.len());
        let stop = match tokio::time::timeout_at(deadline.into(), sock.read(&mut buf[..room])).await
        {
            Err(_) => Stop::TimedOut,
            Ok(Ok(0) | Err(_)) => Stop::Closed,
            Ok(Ok(n)) => {
                got.extend_from_slice(&buf[..n]);
                match judge(&got) {
                    Some(stop) => stop,
                    None if got.len() >= MAX_TCP_BYTES => Stop::Full,
                    None => continue,
                }
            }
        };
        return Read { got, stop };
    }
}

/// The message of an expectation not met: what was expected, why the reading stopped and at
/// most [`QUOTE_BYTES`] bytes of what came back.
fn unmet(c: &TcpCheck, read: &Read) -> String {
    let wanted = match (&c.expect_prefix, &c.expect_regex) {
        (Some(p), Some(r)) => format!(
            "an answer starting with {:?} and matching /{}/",
            clip(p, 40),
            clip(r, 60)
        ),
        (Some(p), None) => format!("an answer starting with {:?}", clip(p, 40)),
        (None, Some(r)) => format!("an answer matching /{}/", clip(r, 60)),
        (None, None) => "an answer".to_string(),
    };
    let why = match read.stop {
        Stop::Closed => "the peer closed the connection",
        Stop::Full => "read the most bytes a check reads",
        Stop::TimedOut => "the timeout ran out",
        Stop::Mismatch | Stop::Met => "the answer differs",
    };
    if read.got.is_empty() {
        return format!("expected {wanted}; {why} without answering");
    }
    format!(
        "expected {wanted}; {why} after {} byte(s): {:?}",
        read.got.len(),
        quote(&read.got, c.send.as_deref())
    )
}

/// At most [`QUOTE_BYTES`] bytes of `got` as text: credentials in URLs redacted, and what was
/// sent (it may hold a password, as Redis `AUTH` does) masked where the peer echoes it.
fn quote(got: &[u8], sent: Option<&str>) -> String {
    let mut text = String::from_utf8_lossy(&got[..got.len().min(QUOTE_BYTES)]).into_owned();
    if let Some(sent) = sent {
        // The whole text sent, each of its lines and each of its words of 4 bytes or more,
        // where they come back (an echo cut at QUOTE_BYTES still shows its start: the
        // pieces' beginnings are masked too). Words, because a peer may quote one argument
        // alone: Redis answers `-ERR unknown command 'X', with args beginning with: 'pw'`.
        let lines = sent.split(['\r', '\n']).map(str::trim);
        let words = sent.split(|c: char| c.is_whitespace() || "'\"`,;:=".contains(c));
        let mut pieces: Vec<&str> = lines.chain(words).filter(|l| l.len() >= 4).collect();
        pieces.dedup();
        pieces.push(sent);
        pieces.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for p in pieces {
            text = text.replace(p, "***");
            // An echo cut at the quote's end.
            if let Some(i) = (0..text.len())
                .filter(|&i| text.is_char_boundary(i) && text.len() - i >= 4)
                .find(|&i| p.starts_with(&text[i..]))
            {
                text.replace_range(i.., "***");
            }
        }
    }
    redact_text(&text)
}

#[cfg(test)]
#[path = "tcp_tests.rs"]
mod tests;

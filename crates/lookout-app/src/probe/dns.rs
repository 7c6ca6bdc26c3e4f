//! The `dns` check: one query of `record_type` for `query_name`, sent to the target's
//! `resolver` only, and the answers checked against the expectations.
//!
//! - **One server, no cache**: the query goes through `hickory-net`'s client straight to the
//!   resolver's address (no system configuration, no search domains: the name is taken as
//!   fully qualified; no cache), with recursion desired and EDNS. One UDP datagram per attempt
//!   (the target's `retries` are the retries); an answer with the TC bit set is asked again over
//!   TCP (RFC 7766); `transport: tcp` asks over TCP only. The whole attempt has the target's
//!   `timeout_ms`, a TCP connection its `connect_timeout_ms` too.
//! - **Guard**: the resolver's address passes the [address guard](super::guard) before
//!   anything is sent (`forbidden`): a loopback, private or metadata resolver is refused unless
//!   private targets are allowed (or, for a private range, `LOOKOUT_ALLOWED_CIDRS` lists it).
//! - **Answers** are the answer section's records of the asked type, as text (the forms of
//!   [`DnsRecordType`]): so for `A`/`AAAA` a CNAME chain the resolver followed leaves only the
//!   final addresses, and a `CNAME` query gives the alias's target. They are compared
//!   case-insensitively, names without their final dot, addresses as addresses
//!   (`2001:DB8:0::1` equals `2001:db8::1`).
//! - **Verdict**: an rcode other than `NOERROR` fails with the `dns` error kind naming it
//!   (`NXDOMAIN`, `SERVFAIL`, `REFUSED` …); then `expect_contains`, `expect_equals` and
//!   `expect_count` must hold, or with none of them at least one answer must come back
//!   (`assertion`, the message listing up to 5 answers); no answer in time is `timeout`. An
//!   answer slower than `degraded_latency_ms` is `slow`.
//! - **Timings**: `latency_ms` is the query time (the TCP retry included); `connect_ms` the TCP
//!   connection's opening, when one was made.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::{Duration, Instant};

use hickory_net::client::{Client, ClientHandle};
use hickory_net::proto::op::{DnsResponse, ResponseCode};
use hickory_net::proto::rr::{DNSClass, Name, RData, RecordType};
use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::tcp::TcpClientStream;
use hickory_net::udp::UdpClientStream;
use hickory_net::NetError;

use super::{connect, Attempt, Failure, Prober};
use lookout_core::domain::target::{DnsRecordType, DnsTransport};
use lookout_core::domain::{DnsCheck, ErrorKind, Outcome, Target};
use lookout_core::redact::clip;

/// Answers a failure message lists at most.
const LISTED_ANSWERS: usize = 5;

/// Characters of one answer a failure message shows at most.
const ANSWER_CHARS: usize = 80;

impl Prober {
    pub(super) async fn check_dns(
        &self,
        target: &Target,
        c: &DnsCheck,
        ctx: &connect::ConnectContext,
    ) -> Attempt {
        let started = Instant::now();
        let Some(addr) = c.resolver_addr() else {
            let f = Failure::new(ErrorKind::Other, "resolver is not an IP address");
            return Attempt::failed(f, 0);
        };
        if let Some(reason) = self.guard.refusal(addr.ip()) {
            let f = Failure::new(
                ErrorKind::Forbidden,
                format!("resolver {} is a {reason} address", addr.ip()),
            );
            return Attempt::failed(f, 0);
        }
        let Ok(mut name) = Name::from_str(&c.query_name) else {
            let f = Failure::new(ErrorKind::Other, "query_name is not a domain name");
            return Attempt::failed(f, 0);
        };
        name.set_fqdn(true);
        let rtype = record_type(c.record_type);
        let timeout = Duration::from_millis(target.timeout_ms);
        let asked = async {
            match c.transport {
                DnsTransport::Tcp => query_tcp(addr, &name, rtype, timeout, ctx).await,
                DnsTransport::Udp => match query_udp(addr, &name, rtype, timeout).await {
                    Ok(r) if r.truncation => query_tcp(addr, &name, rtype, timeout, ctx).await,
                    other => other,
                },
            }
        };
        let response = tokio::time::timeout(timeout, asked).await;
        let latency_ms = started.elapsed().as_millis() as u64;
        let response = match response {
            Err(_) => Err(timed_out(addr, target.timeout_ms)),
            Ok(Err(NetError::Timeout)) => Err(timed_out(addr, target.timeout_ms)),
            Ok(Err(e)) => Err(Failure::new(
                ErrorKind::Connect,
                clip(&format!("DNS query to {addr} failed: {e}"), 200),
            )),
            Ok(Ok(r)) => Ok(r),
        };
        let response = match response {
            Ok(r) => r,
            Err(f) => return Attempt::failed(f, latency_ms),
        };
        let bytes = response.as_buffer().len() as u64;
        let mut attempt = judge(target, c, &name, &response, latency_ms);
        attempt.bytes = bytes;
        attempt
    }
}

/// The verdict on an answer: its rcode, then the expectations, then its speed.
fn judge(
    target: &Target,
    c: &DnsCheck,
    name: &Name,
    response: &DnsResponse,
    latency_ms: u64,
) -> Attempt {
    let code = response.response_code;
    if code != ResponseCode::NoError {
        let f = Failure::new(
            ErrorKind::Dns,
            format!(
                "{} for {} {} from {}",
                rcode_name(code),
                trim_dot(&name.to_ascii()),
                c.record_type.as_str(),
                c.resolver
            ),
        );
        return Attempt::failed(f, latency_ms);
    }
    let rtype = record_type(c.record_type);
    let answers: Vec<String> = response
        .answers
        .iter()
        .filter(|r| r.record_type() == rtype)
        .filter_map(|r| answer_text(&r.data))
        .collect();
    if let Err(message) = expectations(c, &answers) {
        return Attempt::failed(Failure::new(ErrorKind::Assertion, message), latency_ms);
    }
    let (outcome, message) = if latency_ms > target.degraded_latency_ms {
        let m = format!(
            "answered in {latency_ms} ms, over degraded_latency_ms {}",
            target.degraded_latency_ms
        );
        (Outcome::Slow, Some(m))
    } else {
        (Outcome::Up, None)
    };
    Attempt {
        outcome,
        status_code: None,
        latency_ms,
        ttfb_ms: None,
        cert_days_left: None,
        bytes: 0,
        error: None,
        message,
    }
}

/// Checks `expect_contains`, `expect_equals` and `expect_count` (or, with none of them, that
/// there is an answer); `Err` is the failure's message.
pub(super) fn expectations(c: &DnsCheck, answers: &[String]) -> Result<(), String> {
    // TXT data is compared as it is (a verification token or a DKIM key differs by case);
    // names and addresses are not case-sensitive.
    let txt = c.record_type == lookout_core::domain::target::DnsRecordType::Txt;
    let normalise = |text: &str| {
        if txt {
            text.trim().to_string()
        } else {
            normalise(text)
        }
    };
    let have: Vec<String> = answers.iter().map(|a| normalise(a)).collect();
    let got = || listing(answers);
    let ty = c.record_type.as_str();
    for want in &c.expect_contains {
        if !have.contains(&normalise(want)) {
            return Err(format!(
                "expected {} among the {ty} answers; got {}",
                clip(want, ANSWER_CHARS),
                got()
            ));
        }
    }
    if let Some(equals) = &c.expect_equals {
        let mut want: Vec<String> = equals.iter().map(|w| normalise(w)).collect();
        let mut set = have.clone();
        want.sort();
        want.dedup();
        set.sort();
        set.dedup();
        if want != set {
            return Err(format!(
                "expected the {ty} answers to be exactly {}; got {}",
                listing(equals),
                got()
            ));
        }
    }
    if let Some(count) = c.expect_count {
        let n = answers.len() as u64;
        let low = count.min.is_some_and(|m| n < u64::from(m));
        let high = count.max.is_some_and(|m| n > u64::from(m));
        if low || high {
            let bound = match (count.min, count.max) {
                (Some(a), Some(b)) => format!("{a} to {b}"),
                (Some(a), None) => format!("at least {a}"),
                (None, Some(b)) => format!("at most {b}"),
                (None, None) => "any number of".into(),
            };
            return Err(format!("expected {bound} {ty} answer(s); got {}", got()));
        }
    }
    let none_expected =
        c.expect_contains.is_empty() && c.expect_equals.is_none() && c.expect_count.is_none();
    if none_expected && answers.is_empty() {
        return Err(format!("no {ty} answer for {}", trim_dot(&c.query_name)));
    }
    Ok(())
}

/// `n answer(s): a, b, c, d, e …` (at most [`LISTED_ANSWERS`], each clipped), or `no answer`.
fn listing(answers: &[String]) -> String {
    if answers.is_empty() {
        return "no answer".into();
    }
    let shown: Vec<String> = answers
        .iter()
        .take(LISTED_ANSWERS)
        .map(|a| clip(a, ANSWER_CHARS))
        .collect();
    let more = if answers.len() > LISTED_ANSWERS {
        format!(" and {} more", answers.len() - LISTED_ANSWERS)
    } else {
        String::new()
    };
    format!("{} answer(s): {}{more}", answers.len(), shown.join(", "))
}

/// The comparable form of an answer or an expected one: an IP address in its canonical text,
/// anything else lower case without a final dot.
fn normalise(text: &str) -> String {
    let text = text.trim();
    match text.parse::<IpAddr>() {
        Ok(ip) => ip.to_string(),
        Err(_) => trim_dot(text).to_ascii_lowercase(),
    }
}

fn trim_dot(text: &str) -> &str {
    text.strip_suffix('.').unwrap_or(text)
}

/// One record's data as text, in [`DnsRecordType`]'s forms; `None` for other types.
pub(super) fn answer_text(data: &RData) -> Option<String> {
    let host = |n: &Name| trim_dot(&n.to_ascii()).to_string();
    Some(match data {
        RData::A(a) => a.0.to_string(),
        // std's `Ipv6Addr` display is RFC 5952's canonical form.
        RData::AAAA(a) => a.0.to_string(),
        RData::CNAME(n) => host(&n.0),
        RData::NS(n) => host(&n.0),
        RData::MX(mx) => format!("{} {}", mx.preference, host(&mx.exchange)),
        RData::TXT(txt) => txt
            .txt_data
            .iter()
            .map(|s| String::from_utf8_lossy(s))
            .collect(),
        _ => return None,
    })
}

fn record_type(t: DnsRecordType) -> RecordType {
    match t {
        DnsRecordType::A => RecordType::A,
        DnsRecordType::Aaaa => RecordType::AAAA,
        DnsRecordType::Cname => RecordType::CNAME,
        DnsRecordType::Mx => RecordType::MX,
        DnsRecordType::Txt => RecordType::TXT,
        DnsRecordType::Ns => RecordType::NS,
    }
}

/// The rcode's mnemonic (RFC 1035, RFC 6895's registry): `NXDOMAIN`, `SERVFAIL` …
fn rcode_name(code: ResponseCode) -> String {
    match code {
        ResponseCode::NoError => "NOERROR".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        ResponseCode::Refused => "REFUSED".into(),
        ResponseCode::YXDomain => "YXDOMAIN".into(),
        ResponseCode::YXRRSet => "YXRRSET".into(),
        ResponseCode::NXRRSet => "NXRRSET".into(),
        ResponseCode::NotAuth => "NOTAUTH".into(),
        ResponseCode::NotZone => "NOTZONE".into(),
        other => format!("rcode {}", u16::from(other)),
    }
}

fn timed_out(addr: SocketAddr, timeout_ms: u64) -> Failure {
    Failure::new(
        ErrorKind::Timeout,
        format!("timeout: no DNS answer from {addr} within {timeout_ms} ms"),
    )
}

/// One UDP datagram to `addr` (no resend) and its answer.
async fn query_udp(
    addr: SocketAddr,
    name: &Name,
    rtype: RecordType,
    timeout: Duration,
) -> Result<DnsResponse, NetError> {
    let stream = UdpClientStream::builder(addr, TokioRuntimeProvider::new())
        .with_timeout(Some(timeout))
        .with_max_retries(1)
        .build();
    let (mut client, background) = Client::<TokioRuntimeProvider>::from_sender(stream);
    let task = tokio::spawn(background);
    let answer = client.query(name.clone(), DNSClass::IN, rtype).await;
    task.abort();
    answer
}

/// The query over one TCP connection to `addr`, its opening timed into `ctx` and cut at the
/// target's `connect_timeout_ms`.
async fn query_tcp(
    addr: SocketAddr,
    name: &Name,
    rtype: RecordType,
    timeout: Duration,
    ctx: &connect::ConnectContext,
) -> Result<DnsResponse, NetError> {
    let connect_timeout = ctx.connect_timeout.map_or(timeout, |c| c.min(timeout));
    let (connecting, handle) = TcpClientStream::new(
        addr,
        None,
        Some(connect_timeout),
        TokioRuntimeProvider::new(),
    );
    let opened = Instant::now();
    let stream = connecting.await;
    ctx.record(opened.elapsed());
    let (mut client, background) =
        Client::<TokioRuntimeProvider>::with_timeout(stream?, handle, timeout);
    let task = tokio::spawn(background);
    let answer = client.query(name.clone(), DNSClass::IN, rtype).await;
    task.abort();
    answer
}

#[cfg(test)]
#[path = "dns_tests.rs"]
mod tests;

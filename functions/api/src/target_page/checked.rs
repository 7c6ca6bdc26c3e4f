//! The "what is checked" section of a target's page for the kinds that have no URL: a TCP
//! port (`host:port`), a TLS port (`host:port`, the server name, STARTTLS), a DNS record (the
//! name, the record type, the resolver) and a heartbeat (the period, the grace time and the
//! last pings: time, status and exit code; never a ping's message or body, nor the token).
//! HTTP servers and proxies have none: their URLs can carry credentials. A TCP check's `send`
//! and the expectations are not shown either (`send` is a secret).

use jiff::tz::TimeZone;
use lookout_core::domain::heartbeat::{PingRecord, PingStatus};
use lookout_core::domain::target::{Check, StartTls};
use lookout_core::domain::Target;

use super::labels::{CheckWords, Labels};

/// One line of the section: a label and its value (shown left to right: addresses, names).
pub struct CheckedRow {
    /// The label, in the reader's language.
    pub label: &'static str,
    /// The value as text (escaped by the template).
    pub value: String,
}

/// One ping of a heartbeat, as the page shows it.
pub struct PingRow {
    /// When, in the reader's zone.
    pub at: String,
    /// What it reported, in words.
    pub status: &'static str,
    /// The status's colour (CSS).
    pub colour: &'static str,
    /// `exit code 3`, when the job sent one.
    pub exit: Option<String>,
}

/// The section: its lines, and a heartbeat's last pings (`None` for the other kinds).
pub struct Checked {
    /// Kind, address, names ... in order.
    pub rows: Vec<CheckedRow>,
    /// A heartbeat's newest pings, newest first.
    pub pings: Option<Vec<PingRow>>,
}

/// `host:port`, the host in brackets when it is an IPv6 address.
fn address(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Seconds in the largest whole unit: `90 s`, `5 min`, `2 h`, `1 d`.
pub fn duration(s: u32, w: &CheckWords) -> String {
    let (n, unit) = if s > 0 && s.is_multiple_of(86_400) {
        (s / 86_400, w.units[3])
    } else if s > 0 && s.is_multiple_of(3_600) {
        (s / 3_600, w.units[2])
    } else if s > 0 && s.is_multiple_of(60) {
        (s / 60, w.units[1])
    } else {
        (s, w.units[0])
    };
    format!("{n} {unit}")
}

fn starttls(s: StartTls) -> &'static str {
    match s {
        StartTls::Smtp => "SMTP",
        StartTls::Imap => "IMAP",
        StartTls::Pop3 => "POP3",
        StartTls::Postgres => "PostgreSQL",
    }
}

fn ping_row(p: &lookout_core::domain::heartbeat::Ping, w: &CheckWords, tz: &TimeZone) -> PingRow {
    let (i, colour) = match p.status {
        PingStatus::Ok => (0, "#1a7f37"),
        PingStatus::Fail => (1, "#cf222e"),
        PingStatus::Start => (2, "#0969da"),
        PingStatus::Log => (3, "#6e7781"),
    };
    PingRow {
        at: super::local(p.at, tz, "%Y-%m-%d %H:%M:%S"),
        status: w.ping_statuses[i],
        colour,
        exit: p.exit_code.map(|c| format!("{} {c}", w.exit_code)),
    }
}

/// The section of `t`, or `None` for an HTTP server or a proxy. `pings` is a heartbeat's
/// record (`None` before its first ping).
pub fn checked(
    t: &Target,
    l: &Labels,
    pings: Option<&PingRecord>,
    tz: &TimeZone,
) -> Option<Checked> {
    let w = l.check;
    let row = |label, value: String| CheckedRow { label, value };
    let (kind, mut rows, pings) = match &t.check {
        Check::Server(_) | Check::Proxy(_) => return None,
        Check::Tcp(c) => (0, vec![row(w.address, address(&c.host, c.port))], None),
        Check::Tls(c) => {
            let mut rows = vec![row(w.address, address(&c.host, c.port))];
            if let Some(name) = &c.server_name {
                rows.push(row(w.server_name, name.clone()));
            }
            if let Some(s) = c.starttls {
                rows.push(row(w.starttls, starttls(s).to_string()));
            }
            (1, rows, None)
        }
        Check::Dns(c) => (
            2,
            vec![
                row(w.query, c.query_name.clone()),
                row(w.record_type, c.record_type.as_str().to_string()),
                row(w.resolver, c.resolver.clone()),
            ],
            None,
        ),
        Check::Heartbeat(h) => (
            3,
            vec![
                row(w.period, duration(h.period_s, w)),
                row(w.grace, duration(h.grace_s, w)),
            ],
            Some(
                pings
                    .map(|r| r.pings.iter().map(|p| ping_row(p, w, tz)).collect())
                    .unwrap_or_default(),
            ),
        ),
    };
    rows.insert(0, row(w.kind, w.kinds[kind].to_string()));
    Some(Checked { rows, pings })
}

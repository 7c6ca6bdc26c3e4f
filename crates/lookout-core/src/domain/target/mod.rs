//! Targets: what is probed, and how.
//!
//! JSON shape (servers and proxies share the top-level fields; `kind` picks the rest):
//! ```json
//! {"id": "api-primary", "name": "API primary", "kind": "server", "group": "api",
//!  "url": "https://api.example.com/health", "expected_status": [200, "300-399"]}
//! {"id": "proxy-vps", "kind": "proxy", "group": "pool", "proxy_url": "http://u:p@1.2.3.4:3128",
//!  "proxy_type": "vps", "cost_per_gb": 0, "test_urls": ["https://api.example.com/ping"]}
//! ```
//!
//! The definition is split by concern: [`check`] (what a server check asks), [`proxy`] (what a
//! proxy check asks), [`validate`] (parsing and validation of definitions) and [`redaction`]
//! (the copy safe to show, and the secrets put back into an edited copy).

use serde::{Deserialize, Serialize};

pub mod check;
pub mod dns;
pub mod heartbeat;
pub mod proxy;
mod redaction;
pub mod tcp;
pub mod tls;
pub mod validate;

pub use check::{ServerCheck, StatusRange, MAX_BODY_CAP_BYTES, MAX_REDIRECTS};
pub use dns::{AnswerCount, DnsCheck, DnsRecordType, DnsTransport};
pub use heartbeat::{push_token_hash, valid_push_token, HeartbeatCheck};
pub use proxy::{ProxyCheck, ProxyType};
pub use tcp::TcpCheck;
pub use tls::{StartTls, TlsCheck};
pub use validate::{ValidationError, MAX_CHECK_MS, MAX_DEFINITION_BYTES, REFUSED_METHODS};

/// What a target is: an HTTP server, or a forward proxy reached through to a test URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// An HTTP(S) server probed directly.
    Server,
    /// A forward proxy probed by requesting a test URL through it.
    Proxy,
}

impl TargetKind {
    /// Both kinds, in the order runs handle them.
    pub const ALL: [TargetKind; 2] = [TargetKind::Server, TargetKind::Proxy];

    /// `server` or `proxy`.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Server => "server",
            TargetKind::Proxy => "proxy",
        }
    }

    /// `servers` or `proxies`, for text.
    pub fn plural(self) -> &'static str {
        match self {
            TargetKind::Server => "servers",
            TargetKind::Proxy => "proxies",
        }
    }

    /// Parses `server` or `proxy`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "server" => Some(TargetKind::Server),
            "proxy" => Some(TargetKind::Proxy),
            _ => None,
        }
    }
}

fn yes() -> bool {
    true
}
fn default_interval_s() -> u32 {
    60
}
fn default_timeout_ms() -> u64 {
    10_000
}
fn default_failure_threshold() -> u32 {
    3
}
fn default_recovery_threshold() -> u32 {
    1
}
fn default_degraded_latency_ms() -> u64 {
    2_000
}
fn default_backoff_ms() -> u64 {
    200
}
fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A monitored target: its identity, schedule, thresholds and the check to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// Stable id: 1 to 64 characters of `a-z`, `0-9`, `-`, `_`, `.`.
    pub id: String,
    /// Human name; defaults to the id.
    #[serde(default)]
    pub name: String,
    /// Servers of one backend, or one proxy pool. Failover picks inside a group.
    pub group: String,
    /// Disabled targets are not probed.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Seconds between checks (default 60).
    #[serde(default = "default_interval_s")]
    pub interval_s: u32,
    /// Total time allowed for one attempt, in ms (default 10 000).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Time allowed to open the connection (DNS, TCP, TLS and any proxy handshake), in ms;
    /// unset means the whole `timeout_ms`. At most `timeout_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout_ms: Option<u64>,
    /// Extra attempts inside one run after a failed one (default 0, at most 10).
    #[serde(default)]
    pub retries: u32,
    /// Base delay before the first retry, in ms (default 200, 1 to 10 000). Retry `n` waits
    /// `backoff_ms × 2^(n-1)`, scaled by a random factor in [0.5, 1] ("equal jitter", from
    /// AWS Architecture Blog, "Exponential Backoff And Jitter", 2015) so that many targets failing
    /// together do not retry in lockstep.
    #[serde(default = "default_backoff_ms")]
    pub backoff_ms: u64,
    /// Consecutive failures before the target is `down` (default 3).
    #[serde(default = "default_failure_threshold")]
    pub failure_threshold: u32,
    /// Consecutive successes before a `down` target is up again (default 1).
    #[serde(default = "default_recovery_threshold")]
    pub recovery_threshold: u32,
    /// A successful answer slower than this many ms makes the target `degraded` (default 2000).
    #[serde(default = "default_degraded_latency_ms")]
    pub degraded_latency_ms: u64,
    /// Free labels for filtering.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Failover priority inside the group, lower first. Proxies derive it from type and cost
    /// when unset (see [`Target::priority`]); servers default to 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u32>,
    /// Maintenance windows: alerts about this target are silenced while one is active (checks
    /// and state go on). At most 20; see [`crate::domain::maintenance`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub maintenance: Vec<super::maintenance::MaintenanceWindow>,
    /// Minutes between reminder alerts while the target stays `down` (0, the default: no
    /// reminders).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reminder_every_min: u32,
    /// Flap detection (default true): a target whose checks keep changing state raises one
    /// `flapping` alert and holds its status instead of one alert per change (see
    /// [`crate::domain::state::flap`]); false for an alert on every change.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub flap_detection: bool,
    /// The probe locations that check this target (names as in `LOOKOUT_LOCATION`, at most
    /// 16); `None` (the default) for every location. With one location deployed this is
    /// ignored. The home location (`LOOKOUT_HOME_LOCATION`) decides the status of every
    /// target; see [`crate::domain::location`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locations: Option<Vec<String>>,
    /// How many failing locations make the target fail: `{"count": n}` or `{"share": x}`;
    /// `None` (the default) for at least half of the reporting locations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum: Option<super::location::Quorum>,
    /// Optimistic-locking version, set by the store; ignored on input.
    #[serde(default)]
    pub version: u64,
    /// The kind-specific check, tagged by `kind`.
    #[serde(flatten)]
    pub check: Check,
}

/// The kind-specific part of a target, tagged by `kind`: `server` (HTTP), `proxy`, `tcp`,
/// `tls`, `dns` or `heartbeat`. Every kind but `proxy` runs in the server run
/// ([`TargetKind::Server`]): same state machine, failover (best healthy first), alerts,
/// rollups, digests, SLOs and status page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Check {
    /// An HTTP(S) server.
    Server(ServerCheck),
    /// A forward proxy.
    Proxy(ProxyCheck),
    /// A TCP port: connect, optionally send and expect.
    Tcp(TcpCheck),
    /// A TLS port: the handshake and the certificate.
    Tls(TlsCheck),
    /// A DNS name asked of a chosen resolver.
    Dns(DnsCheck),
    /// A job that pings its push URL (nothing is probed).
    Heartbeat(HeartbeatCheck),
}

/// What a target's check is: the definition's `kind` (`server` is the HTTP check). The run a
/// target belongs to is [`CheckKind::run_kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    /// An HTTP(S) server.
    Server,
    /// A forward proxy.
    Proxy,
    /// A TCP port.
    Tcp,
    /// A TLS port.
    Tls,
    /// A DNS name.
    Dns,
    /// A push (heartbeat) target.
    Heartbeat,
}

impl CheckKind {
    /// Every check kind, in the order of [`Check`]'s variants.
    pub const ALL: [CheckKind; 6] = [
        CheckKind::Server,
        CheckKind::Proxy,
        CheckKind::Tcp,
        CheckKind::Tls,
        CheckKind::Dns,
        CheckKind::Heartbeat,
    ];

    /// `server`, `proxy`, `tcp`, `tls`, `dns` or `heartbeat`.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::Server => "server",
            CheckKind::Proxy => "proxy",
            CheckKind::Tcp => "tcp",
            CheckKind::Tls => "tls",
            CheckKind::Dns => "dns",
            CheckKind::Heartbeat => "heartbeat",
        }
    }

    /// Parses what [`CheckKind::as_str`] gives.
    pub fn parse(s: &str) -> Option<Self> {
        CheckKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The run that checks targets of this kind: [`TargetKind::Proxy`] for proxies,
    /// [`TargetKind::Server`] for every other kind.
    pub fn run_kind(self) -> TargetKind {
        match self {
            CheckKind::Proxy => TargetKind::Proxy,
            _ => TargetKind::Server,
        }
    }
}

impl Target {
    /// The longest one check of this target may take, in ms: every attempt of every test URL
    /// at `timeout_ms`, plus the longest backoff before each retry.
    pub fn max_check_ms(&self) -> u64 {
        let urls = self.proxy().map_or(1, |p| p.test_urls.len().max(1)) as u64;
        let backoff: u64 = (0..self.retries)
            .map(|i| self.backoff_ms.saturating_mul(1 << i.min(6)))
            .sum();
        self.timeout_ms
            .saturating_mul(u64::from(self.retries) + 1)
            .saturating_mul(urls)
            .saturating_add(backoff)
    }

    /// The maintenance window active at `at_ms`, if any.
    pub fn maintenance_at(&self, at_ms: i64) -> Option<&super::maintenance::MaintenanceWindow> {
        super::maintenance::active_window(&self.maintenance, at_ms)
    }

    /// The run this target belongs to: `proxy` for proxies, `server` for every other kind
    /// (HTTP, TCP, TLS, DNS and heartbeat targets).
    pub fn kind(&self) -> TargetKind {
        self.check_kind().run_kind()
    }

    /// What the check is: the definition's `kind`.
    pub fn check_kind(&self) -> CheckKind {
        match self.check {
            Check::Server(_) => CheckKind::Server,
            Check::Proxy(_) => CheckKind::Proxy,
            Check::Tcp(_) => CheckKind::Tcp,
            Check::Tls(_) => CheckKind::Tls,
            Check::Dns(_) => CheckKind::Dns,
            Check::Heartbeat(_) => CheckKind::Heartbeat,
        }
    }

    /// The proxy part, if this is a proxy.
    pub fn proxy(&self) -> Option<&ProxyCheck> {
        match &self.check {
            Check::Proxy(p) => Some(p),
            _ => None,
        }
    }

    /// The heartbeat part, if this is a heartbeat (push) target.
    pub fn heartbeat(&self) -> Option<&HeartbeatCheck> {
        match &self.check {
            Check::Heartbeat(h) => Some(h),
            _ => None,
        }
    }

    /// Days of certificate validity under which a check is `degraded` and the certificate
    /// alert is raised, for the kinds that see a certificate (HTTP and TLS); 0 is off.
    pub fn cert_expiry_warn_days(&self) -> u32 {
        match &self.check {
            Check::Server(s) => s.cert_expiry_warn_days,
            Check::Tls(t) => t.cert_expiry_warn_days,
            _ => 0,
        }
    }

    /// Whether the probe location `location` checks this target (every location unless
    /// [`Target::locations`] names others).
    pub fn probed_from(&self, location: &str) -> bool {
        self.locations
            .as_ref()
            .is_none_or(|l| l.iter().any(|x| x == location))
    }

    /// The target's quorum, or the default ([`super::location::Quorum::default`]).
    pub fn quorum(&self) -> super::location::Quorum {
        self.quorum.unwrap_or_default()
    }

    /// Price per GB for proxies, 0 for servers.
    pub fn cost_per_gb(&self) -> f64 {
        self.proxy().map_or(0.0, |p| p.cost_per_gb)
    }

    /// Failover priority, lower first. Set explicitly, or for proxies derived from type and cost:
    /// a VPS 10, a datacenter proxy 20 plus ten per currency unit per GB up to 40, anything else
    /// `cost_per_gb × 10` but never below 41, so a pool is tried cheapest first. Servers 100.
    pub fn priority(&self) -> u32 {
        if let Some(p) = self.priority {
            return p;
        }
        match self.proxy() {
            None => 100,
            Some(p) => {
                let per_gb = (p.cost_per_gb.max(0.0) * 10.0).round().min(1e6) as u32;
                match p.proxy_type {
                    ProxyType::Vps => 10,
                    ProxyType::Datacenter => (20 + per_gb).min(40),
                    ProxyType::Residential => per_gb.max(41),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;

fn is_true(b: &bool) -> bool {
    *b
}

//! What a proxy check asks: the proxy, its billing type and the test URLs requested through it.

use serde::{Deserialize, Serialize};

/// How a proxy is billed and hosted; it sets the derived failover priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProxyType {
    /// A proxy on a rented VPS: a flat monthly price, tried first.
    Vps,
    /// A datacenter IP from a proxy provider.
    Datacenter,
    /// A residential IP, usually billed per GB: tried last.
    Residential,
}

fn default_accept_status() -> Vec<u16> {
    vec![200, 401, 404]
}
fn default_block_status() -> Vec<u16> {
    vec![403, 429]
}

/// How to check a forward proxy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProxyCheck {
    /// `http://`, `https://` or `socks5://` URL of the proxy, with `user:password@` if it needs
    /// them. Redacted everywhere but the admin active-proxy answer.
    pub proxy_url: String,
    /// Hosting and billing type (default `datacenter`).
    #[serde(default = "default_proxy_type")]
    pub proxy_type: ProxyType,
    /// Price per GB of traffic in the account's currency (default 0).
    #[serde(default)]
    pub cost_per_gb: f64,
    /// URLs requested through the proxy, in order; the first answer decides.
    pub test_urls: Vec<String>,
    /// Statuses that prove the proxy works (default 200, 401, 404: a test API that refuses a
    /// fake token still proves the path works).
    #[serde(default = "default_accept_status")]
    pub accept_status: Vec<u16>,
    /// Statuses that mean the upstream refuses this proxy's IP: `blocked` (default 403, 429).
    #[serde(default = "default_block_status")]
    pub block_status: Vec<u16>,
    /// Alert when this proxy's traffic in one UTC day goes over this many GB (10^9 bytes);
    /// unset: no traffic alert. Meant for residential proxies billed per GB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic_alert_gb: Option<f64>,
    /// PEM certificate(s) of a private CA to trust for an `https://` proxy and the test URLs,
    /// in addition to the public roots (at most 16 KiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
    /// Text only the upstream's answer holds (a marker of the test URL, at most 256 bytes,
    /// looked for in the first 64 KiB of the body): an answer without it is the proxy's own, a
    /// `failed` / `proxy` result. Proves over plain `http` test URLs that the answer is not the
    /// proxy's (see `lookout_app::probe` for the provenance rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_body: Option<String>,
}

fn default_proxy_type() -> ProxyType {
    ProxyType::Datacenter
}

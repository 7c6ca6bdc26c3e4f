//! The status pages an operator publishes: each has its own address (`/p/<slug>`, the default
//! one also at `/`), words, logo, the groups it shows and the service level objectives it lists.

use serde::{Deserialize, Serialize};

/// One status page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusPage {
    /// Its address: `/p/<slug>`; `default` is also served at `/`. Lower-case letters, digits
    /// and `-`, 1 to 64 characters.
    pub slug: String,
    /// The heading and the `<title>` (at most 100 characters).
    pub title: String,
    /// A line under the heading (at most 500 characters).
    #[serde(default)]
    pub description: String,
    /// An `https://` URL of a logo image the reader's browser loads (at most 2,048 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
    /// The groups and pools it shows, in this order; empty: every group.
    #[serde(default)]
    pub groups: Vec<String>,
    /// The SLOs it lists in its "Service level objectives" section, by id, in this order;
    /// empty: no such section. An id of no SLO (one deleted since) is left out when the page is
    /// shown.
    #[serde(default)]
    pub slos: Vec<String>,
    /// The footer text (at most 500 characters).
    #[serde(default)]
    pub footer: String,
    /// Bumped by every write; writes are conditional on it (1 for the first).
    #[serde(default)]
    pub version: u64,
}

/// The slug of the page served at `/` when no page of that slug was written: every group, the
/// default words.
pub const DEFAULT_SLUG: &str = "default";

//! Several probe locations: every location probes the targets that ask for it and keeps its
//! own verdict of each ([`lookout_core::domain::location::LocationVerdict`], in the [`crate::ports::LocationStore`]); the home
//! location decides each target's status by the quorum of the fresh verdicts
//! ([`lookout_core::domain::location::decide`]) and alone writes states and raises alerts, so
//! that one transition raises one alert however many locations saw it. Every location beats
//! its dead man's switch each round; the home location marks a location silent (one alert)
//! once it has not reported for the grace period, and the location raises the "back" alert when
//! it reports again.
//!
//! Why the home location decides: the table lives in the home region (one home table that
//! every location writes, see ARCHITECTURE.md), so when the home region is down no location
//! could write a verdict anyway; the decision adds no failure of its own.

/// The default grace period: a location whose verdicts or heartbeat are older than this leaves
/// the quorum and is alerted on, seconds (three one-minute runs).
pub const DEFAULT_LOCATION_GRACE_S: i64 = 180;

/// The probe locations deployed, as this location sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationSetup {
    /// This location's name (`LOOKOUT_LOCATION`).
    pub name: String,
    /// The location that decides statuses (`LOOKOUT_HOME_LOCATION`).
    pub home: String,
    /// Every location deployed, this one included (`LOOKOUT_LOCATIONS`).
    pub all: Vec<String>,
    /// A verdict or heartbeat older than this is stale, ms.
    pub grace_ms: i64,
}

impl LocationSetup {
    /// Whether this location is the home location.
    pub fn is_home(&self) -> bool {
        self.name == self.home
    }
}

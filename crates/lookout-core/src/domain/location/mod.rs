//! Probe locations and the quorum that decides a target's status from their verdicts.
//!
//! Every location (an AWS region running the probe stack, named by `LOOKOUT_LOCATION`) probes
//! the targets that ask for it and keeps its own verdict of each: a [`LocationVerdict`], the
//! status that location's checks alone call for (the same rules as [`crate::domain::next_state`]:
//! `failure_threshold`, `recovery_threshold`, `degraded_latency_ms`). The target's status is then
//! decided by a [`Quorum`] over the verdicts that are fresh ([`decide`]): by default a target is
//! `down` when at least half of the reporting locations see it failing, as OpenStatus does
//! (docs.openstatus.dev, "Alerting": "an alert is triggered when at least half of the regions
//! fail"). Route 53 instead calls an endpoint healthy when more than 18 % of its checkers do
//! (docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-determining-health-of-endpoints.html):
//! a share of 0.82 here.
//!
//! A location whose verdict is older than the grace period is *stale*: it leaves the quorum, so
//! a probe region that died never pages as a dead target (and is alerted on by its own
//! dead man's switch, [`LocationHealth`]).

use serde::{Deserialize, Serialize};

mod alerts;
pub use alerts::{back_alert, silent_alert};

use super::result::CheckResult;
use super::state::{next_state, Status, TargetState};
use super::target::Target;

/// The longest location name, in bytes.
pub const MAX_LOCATION_LEN: usize = 32;

/// The quorum share when a target sets none: down when at least half of the reporting
/// locations see it failing (OpenStatus's rule).
pub const DEFAULT_QUORUM_SHARE: f64 = 0.5;

/// Whether `name` is a valid location name: 1 to [`MAX_LOCATION_LEN`] bytes of `a-z`, `0-9`
/// and `-` (AWS region names such as `eu-west-1` are).
pub fn valid_location(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_LOCATION_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// How many failing locations make a target fail. JSON: `{"count": 2}` or `{"share": 0.5}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Quorum {
    /// At least this many reporting locations must see the target failing (capped at the
    /// number reporting, so that a count of 3 still decides when only 2 locations report).
    Count(u32),
    /// At least this share (0 < share ≤ 1) of the reporting locations, rounded up, at least one.
    Share(f64),
}

impl Default for Quorum {
    fn default() -> Self {
        Quorum::Share(DEFAULT_QUORUM_SHARE)
    }
}

impl Quorum {
    /// Failing locations needed when `reporting` locations report (at least 1, at most
    /// `reporting`; 0 only when none reports).
    pub fn needed(self, reporting: usize) -> usize {
        if reporting == 0 {
            return 0;
        }
        let n = match self {
            Quorum::Count(c) => c as usize,
            Quorum::Share(s) => (s * reporting as f64 - 1e-9).ceil().max(0.0) as usize,
        };
        n.clamp(1, reporting)
    }
}

/// One location's verdict of one target: the status its own checks call for, with the latest
/// check's time, latency and error. Times in epoch ms, latency in ms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocationVerdict {
    /// The target's id.
    pub target_id: String,
    /// The location's name (`LOOKOUT_LOCATION`).
    pub location: String,
    /// The status this location's checks call for.
    pub status: Status,
    /// When that status began.
    pub since: i64,
    /// When this location last checked the target.
    pub at: i64,
    /// Latency of the latest check, ms (failed checks too: time to the failure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// The latest failure's message, redacted; `None` after a success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Failures in a row at this location.
    #[serde(default)]
    pub consecutive_failures: u32,
    /// Successes in a row at this location.
    #[serde(default)]
    pub consecutive_successes: u32,
}

impl LocationVerdict {
    /// The verdict after `result`, from the previous verdict of the same location (`None` for
    /// a target this location never checked), by the rules of [`next_state`] (thresholds and
    /// latency), without alerts.
    pub fn observe(
        prev: Option<&LocationVerdict>,
        location: &str,
        result: &CheckResult,
        target: &Target,
    ) -> LocationVerdict {
        let mut state = TargetState::new(&target.id);
        if let Some(p) = prev {
            state.status = p.status;
            state.status_since = p.since;
            state.consecutive_failures = p.consecutive_failures;
            state.consecutive_successes = p.consecutive_successes;
        }
        let (next, _) = next_state(&state, result, target);
        LocationVerdict {
            target_id: target.id.clone(),
            location: location.to_string(),
            status: next.status,
            since: if prev.is_none() || next.status != state.status {
                result.at
            } else {
                state.status_since
            },
            at: result.at,
            latency_ms: Some(result.latency_ms),
            error: if result.ok() {
                None
            } else {
                result.message.clone()
            },
            consecutive_failures: next.consecutive_failures,
            consecutive_successes: next.consecutive_successes,
        }
    }

    /// Whether this verdict counts as failing (`down` or `blocked`).
    pub fn failing(&self) -> bool {
        matches!(self.status, Status::Down | Status::Blocked)
    }
}

/// Keeps the newest verdict of each location in `verdicts` (by `at`), in location order: a
/// store reading verdicts from more than one place (shard partitions across a re-shard)
/// may hold two of one location.
pub fn newest_per_location(verdicts: &mut Vec<LocationVerdict>) {
    verdicts.sort_by(|a, b| a.location.cmp(&b.location).then(b.at.cmp(&a.at)));
    verdicts.dedup_by(|later, first| later.location == first.location);
}

/// What the quorum decided for one target, and who said what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuorumDecision {
    /// The decided status; `unknown` when no fresh location has a verdict yet.
    pub status: Status,
    /// Fresh locations that see the target failing (`down` or `blocked`), sorted.
    pub failing: Vec<String>,
    /// Fresh locations that see it `healthy` or `degraded`, sorted.
    pub passing: Vec<String>,
    /// Locations whose verdict is older than the grace period (left out of the quorum), sorted.
    pub stale: Vec<String>,
    /// Failing locations the quorum needed.
    pub needed: usize,
}

impl QuorumDecision {
    /// Fresh locations with a verdict (failing plus passing).
    pub fn reporting(&self) -> usize {
        self.failing.len() + self.passing.len()
    }

    /// The split, for alerts and the API.
    pub fn split(&self) -> LocationSplit {
        LocationSplit {
            failing: self.failing.clone(),
            passing: self.passing.clone(),
            stale: self.stale.clone(),
        }
    }
}

/// Which locations saw a target failing and which did not, as alerts carry it. The sentence is
/// [`LocationSplit::describe`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationSplit {
    /// Locations that see it failing, sorted.
    pub failing: Vec<String>,
    /// Locations that see it healthy or degraded, sorted.
    pub passing: Vec<String>,
    /// Locations left out as stale, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stale: Vec<String>,
}

impl LocationSplit {
    /// English, for alert texts: `down from 2 of 3 locations (eu-west-1, us-east-1);
    /// ap-south-1 sees it healthy` when failing, `healthy from 3 of 3 locations` otherwise
    /// (`status` is the decided status).
    pub fn describe(&self, status: Status) -> String {
        let reporting = self.failing.len() + self.passing.len();
        let (agree, others, other_word) = if matches!(status, Status::Down | Status::Blocked) {
            (&self.failing, &self.passing, "healthy")
        } else {
            (&self.passing, &self.failing, "failing")
        };
        let mut s = format!(
            "{} from {} of {reporting} location{} ({})",
            status.as_str(),
            agree.len(),
            if reporting == 1 { "" } else { "s" },
            agree.join(", ")
        );
        if !others.is_empty() {
            let verb = if others.len() == 1 { "sees" } else { "see" };
            s.push_str(&format!("; {} {verb} it {other_word}", others.join(", ")));
        }
        if !self.stale.is_empty() {
            s.push_str(&format!("; not reporting: {}", self.stale.join(", ")));
        }
        s
    }
}

/// Decides a target's status from the locations' verdicts: those checked at or after
/// `now_ms - grace_ms` report, the others are stale. At least `quorum.needed(reporting)`
/// failing locations make it fail: `blocked` when most of the failing ones see it blocked,
/// `down` otherwise. Else it is `degraded` when most passing locations see it degraded,
/// `healthy` otherwise. No fresh verdict: `unknown`.
pub fn decide(
    verdicts: &[LocationVerdict],
    now_ms: i64,
    grace_ms: i64,
    quorum: Quorum,
) -> QuorumDecision {
    let mut failing = Vec::new();
    let mut passing = Vec::new();
    let mut stale = Vec::new();
    let (mut blocked, mut degraded) = (0usize, 0usize);
    for v in verdicts {
        if v.at < now_ms - grace_ms {
            stale.push(v.location.clone());
        } else if v.failing() {
            blocked += usize::from(v.status == Status::Blocked);
            failing.push(v.location.clone());
        } else if v.status.eligible() {
            degraded += usize::from(v.status == Status::Degraded);
            passing.push(v.location.clone());
        }
        // `unknown` (not enough checks yet) neither reports nor is stale.
    }
    failing.sort();
    passing.sort();
    stale.sort();
    let reporting = failing.len() + passing.len();
    let needed = quorum.needed(reporting);
    let status = if reporting == 0 {
        Status::Unknown
    } else if failing.len() >= needed {
        if 2 * blocked > failing.len() {
            Status::Blocked
        } else {
            Status::Down
        }
    } else if 2 * degraded > passing.len() {
        Status::Degraded
    } else {
        Status::Healthy
    };
    QuorumDecision {
        status,
        failing,
        passing,
        stale,
        needed,
    }
}

/// A location's dead man's switch as stored: when its probe last reported, and whether it was
/// declared silent (alerted on) since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationHealth {
    /// The location's name.
    pub location: String,
    /// When its probe run last reported, epoch ms (0: never).
    pub last_seen: i64,
    /// Whether it was declared silent (its alert raised) and has not reported since.
    pub silent: bool,
}

impl LocationHealth {
    /// Whether the location has not reported for longer than `grace_ms` at `now_ms`.
    pub fn overdue(&self, now_ms: i64, grace_ms: i64) -> bool {
        self.last_seen < now_ms - grace_ms
    }
}

#[cfg(test)]
mod tests;

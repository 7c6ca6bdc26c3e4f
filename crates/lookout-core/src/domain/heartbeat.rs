//! Heartbeat (push) targets' pings: what a job reported, kept per target as a [`PingRecord`].
//!
//! A job pings `POST /v1/push/{token}` when it finishes well, with `?status=fail` when it
//! failed, `?status=start` when it begins (so its run time is measured and a run that never
//! finishes is caught) and `?status=log` for a note that changes nothing. The definition's
//! side is [`crate::domain::target::HeartbeatCheck`].

use serde::{Deserialize, Serialize};

mod judge;
pub use judge::{duration, evaluate};

/// Pings kept per target, newest first.
pub const MAX_PINGS: usize = 10;
/// Bytes of a ping's body kept (4 KiB; the rest is cut at a character boundary).
pub const MAX_PING_BODY_BYTES: usize = 4096;
/// Characters of a ping's `msg` kept.
pub const MAX_PING_MESSAGE_CHARS: usize = 200;

/// What a ping reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PingStatus {
    /// The job finished well (the default).
    Ok,
    /// The job failed: the target is down until the next `ok` ping.
    Fail,
    /// The job started: it must finish (`ok` or `fail`) within the target's `grace_s`.
    Start,
    /// A note: kept, changes nothing.
    Log,
}

impl PingStatus {
    /// `ok`, `fail`, `start` or `log`.
    pub fn as_str(self) -> &'static str {
        match self {
            PingStatus::Ok => "ok",
            PingStatus::Fail => "fail",
            PingStatus::Start => "start",
            PingStatus::Log => "log",
        }
    }
}

/// One ping as received.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ping {
    /// When it arrived, epoch ms.
    pub at: i64,
    /// What it reports.
    pub status: PingStatus,
    /// The job's exit code, when the job sent one (`?exit_code=N`; not 0 means `fail`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The `msg` query parameter, redacted, at most [`MAX_PING_MESSAGE_CHARS`] characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The request body as text (invalid UTF-8 replaced), redacted, at most
    /// [`MAX_PING_BODY_BYTES`] bytes: a job's last lines of output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// What is kept of one heartbeat target's pings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PingRecord {
    /// The target's id.
    pub target_id: String,
    /// Optimistic-locking version, set by the store (1 for the first write).
    #[serde(default)]
    pub version: u64,
    /// The newest `ok` ping, epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ok_at: Option<i64>,
    /// The newest `fail` ping, epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_fail_at: Option<i64>,
    /// The newest `start` ping, epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_start_at: Option<i64>,
    /// The newest [`MAX_PINGS`] pings, newest first.
    #[serde(default)]
    pub pings: Vec<Ping>,
}

impl PingRecord {
    /// An empty record for `target_id`.
    pub fn new(target_id: &str) -> Self {
        PingRecord {
            target_id: target_id.to_string(),
            ..PingRecord::default()
        }
    }

    /// Adds `ping`: the `last_*` time of its status moves to it when it is newer, and the list
    /// keeps the newest [`MAX_PINGS`] in time order.
    pub fn add(&mut self, ping: Ping) {
        let slot = match ping.status {
            PingStatus::Ok => Some(&mut self.last_ok_at),
            PingStatus::Fail => Some(&mut self.last_fail_at),
            PingStatus::Start => Some(&mut self.last_start_at),
            PingStatus::Log => None,
        };
        if let Some(slot) = slot {
            *slot = Some(slot.map_or(ping.at, |t| t.max(ping.at)));
        }
        let at = self.pings.partition_point(|p| p.at > ping.at);
        self.pings.insert(at, ping);
        self.pings.truncate(MAX_PINGS);
    }
}

#[cfg(test)]
mod judge_tests;
#[cfg(test)]
mod tests {
    use super::*;

    fn ping(at: i64, status: PingStatus) -> Ping {
        Ping {
            at,
            status,
            exit_code: None,
            message: None,
            body: None,
        }
    }

    #[test]
    fn add_keeps_the_newest_pings_in_order_and_the_latest_time_of_each_status() {
        let mut r = PingRecord::new("job");
        for i in 0..15 {
            r.add(ping(i * 1000, PingStatus::Ok));
        }
        r.add(ping(3_500, PingStatus::Fail));
        r.add(ping(20_000, PingStatus::Start));
        r.add(ping(21_000, PingStatus::Log));
        assert_eq!(r.pings.len(), MAX_PINGS);
        assert_eq!(r.pings[0].at, 21_000);
        assert!(r.pings.windows(2).all(|w| w[0].at >= w[1].at));
        assert_eq!(r.last_ok_at, Some(14_000));
        assert_eq!(r.last_fail_at, Some(3_500));
        assert_eq!(r.last_start_at, Some(20_000));
        // An older ok ping arriving late does not move the time back.
        r.add(ping(1_000, PingStatus::Ok));
        assert_eq!(r.last_ok_at, Some(14_000));
    }
}

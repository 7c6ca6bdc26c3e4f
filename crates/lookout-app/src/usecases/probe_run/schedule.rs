//! When targets are due, how long an invocation keeps checking, and which deadlines count.

use lookout_core::domain::{Target, TargetState};

/// A target last checked this long before its interval is over counts as due, so that a
/// schedule firing a little early does not skip it for a whole period (ms).
pub const DUE_SLACK_MS: i64 = 5_000;

/// The period of the probe schedule (EventBridge fires every minute): targets with a shorter
/// `interval_s` are checked again inside one invocation until the period is over (seconds).
pub const SCHEDULE_PERIOD_S: u32 = 60;

/// Default `window_s` of a scheduled invocation: the schedule's period less 5 s, so that the
/// invocation has ended (and released its lease) when the next tick arrives.
pub const DEFAULT_WINDOW_S: u32 = SCHEDULE_PERIOD_S - 5;

/// Time kept free before the function's deadline to write the snapshot, history and run record
/// after the last probe (ms).
pub const FINISH_MARGIN_MS: u64 = 3_000;

/// Lambda's longest timeout (15 minutes), in ms.
pub const MAX_LAMBDA_TIMEOUT_MS: i64 = 900_000;

/// Whether a target is due at `now_ms`: never checked, or checked `interval_s` ago, less a
/// slack for schedule jitter of a tenth of the interval, at most [`DUE_SLACK_MS`].
pub fn is_due(target: &Target, state: Option<&TargetState>, now_ms: i64) -> bool {
    match state.and_then(|s| s.last_check) {
        None => true,
        Some(last) => now_ms >= next_due_ms(target, last),
    }
}

/// When a target last checked at `last_ms` is due again (epoch ms).
pub fn next_due_ms(target: &Target, last_ms: i64) -> i64 {
    let interval = i64::from(target.interval_s) * 1000;
    last_ms + interval - (interval / 10).min(DUE_SLACK_MS)
}

/// The invocation's deadline if it is believable: later than `now_ms` and at most Lambda's
/// longest timeout away. Local emulators send other values (cargo-lambda 1.9 sends a deadline
/// long past); those are ignored with a warning rather than skipping every target.
pub fn usable_deadline(deadline_ms: Option<i64>, now_ms: i64) -> Option<i64> {
    let d = deadline_ms?;
    let left = d - now_ms;
    if left > 0 && left <= MAX_LAMBDA_TIMEOUT_MS {
        Some(d)
    } else {
        tracing::warn!(
            time_left_ms = left,
            "the invocation deadline is not believable; ignored"
        );
        None
    }
}

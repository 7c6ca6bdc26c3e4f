//! Flap detection: a target whose checks change state too often is `flapping`, and while it
//! flaps it raises one alert when flapping starts and one when it stops, instead of one per
//! change.
//!
//! The rule is Nagios Core's ("Detection and Handling of State Flapping", Nagios Core 4
//! documentation; Naemon and Icinga follow it): keep the state each of the last 21 checks
//! called for, find the 20 transitions between them, and weigh each change from 0.75 (the
//! oldest) to 1.25 (the newest) (`flapping.c`'s `low_curve_value` / `high_curve_value`), so that
//! recent changes count more. The percent state change is the weighted changes × 100 / 20. A
//! target starts flapping when it reaches [`FLAP_HIGH_PERCENT`] and stops when it falls below
//! [`FLAP_LOW_PERCENT`].
//!
//! The thresholds are higher than Nagios's defaults (`high_service_flap_threshold` 20,
//! `low_service_flap_threshold` 5) and Icinga 2's (30 and 25): at 50 % a target must change
//! state at 9 of its last 20 transitions (a target that fails every other check gets there at
//! its ninth change), so a target that goes down and comes back a few times still alerts on
//! every change; it is the one that keeps alternating for many minutes that is held.
//!
//! The state a check calls for is its own verdict before thresholds ([`check_state`]):
//! `healthy`, `degraded` (slow), `down` (failed) or `blocked`, or, with several locations, the
//! quorum's decision.

use super::{Status, TargetState};

/// Percent state change at or above which a target starts flapping.
pub const FLAP_HIGH_PERCENT: f64 = 50.0;
/// Percent state change below which a flapping target stops flapping.
pub const FLAP_LOW_PERCENT: f64 = 25.0;
/// Checks in a row that agree and end a flap at once when they call for another status than
/// the one held (at least; the target's `failure_threshold` and `recovery_threshold` when
/// larger): a real outage during flapping shows within these checks, not only once the change
/// rate has fallen below [`FLAP_LOW_PERCENT`] (about 15 checks after alternating).
pub const FLAP_SETTLE_CHECKS: u32 = 3;
/// Transitions kept: between the last 21 checks.
pub const FLAP_TRANSITIONS: u32 = 20;
/// Weight of the oldest change kept.
const LOW_CURVE: f64 = 0.75;
/// Weight of the newest change.
const HIGH_CURVE: f64 = 1.25;

/// The weighted percent state change of `changes` (bit 0: the newest check changed state from
/// the one before; bit 19: the oldest transition kept), 0 to 100.
pub fn percent_state_change(changes: u32) -> f64 {
    let n = FLAP_TRANSITIONS;
    let step = (HIGH_CURVE - LOW_CURVE) / f64::from(n - 1);
    let weighted: f64 = (0..n)
        .filter(|i| changes & (1 << i) != 0)
        // Bit i is the transition i checks back: the newest weighs HIGH_CURVE.
        .map(|i| HIGH_CURVE - f64::from(i) * step)
        .sum();
    // `+ 0.0`: an empty float sum is -0.0.
    weighted * 100.0 / f64::from(n) + 0.0
}

/// What flap detection made of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flap {
    /// Not flapping, before and after.
    Steady,
    /// This check started flapping.
    Started,
    /// Flapping, before and after.
    Holding,
    /// This check stopped flapping.
    Stopped,
}

/// Records the check's own state `called` in `s` (changes and last state) and decides whether
/// the target flaps. `enabled` false (the target's `flap_detection`) still records the
/// changes, but never flaps (and a target flapping when it was turned off stops). A flapping
/// target whose last `settle` checks (at least [`FLAP_SETTLE_CHECKS`]) all called for the same
/// state, other than the status held (`s.status`), stops at once and its change history starts
/// again, so that it does not start flapping again on the next check.
pub(super) fn observe(s: &mut TargetState, called: Status, enabled: bool, settle: u32) -> Flap {
    let changed = s.flap_last.is_some_and(|last| last != called);
    s.flap_changes = ((s.flap_changes << 1) | u32::from(changed)) & ((1 << FLAP_TRANSITIONS) - 1);
    s.flap_last = Some(called);
    let pct = percent_state_change(s.flap_changes);
    // No change in the last `settle - 1` transitions: the last `settle` checks agree.
    let run = settle.clamp(FLAP_SETTLE_CHECKS, FLAP_TRANSITIONS);
    let settled = s.flap_changes & ((1 << (run - 1)) - 1) == 0 && called != s.status;
    match (s.flapping, enabled) {
        (false, true) if pct >= FLAP_HIGH_PERCENT => {
            s.flapping = true;
            Flap::Started
        }
        (false, _) => Flap::Steady,
        (true, true) if settled => {
            s.flapping = false;
            s.flap_changes = 0;
            Flap::Stopped
        }
        (true, true) if pct >= FLAP_LOW_PERCENT => Flap::Holding,
        (true, _) => {
            s.flapping = false;
            Flap::Stopped
        }
    }
}

//! The SLI's events in buckets: one-minute buckets for the last [`MINUTES_KEPT`] minutes (the
//! burn-rate windows up to 6 h, exact to the minute) and one-hour buckets for the last
//! [`HOURS_KEPT`] hours (the 24-hour and 3-day windows and the compliance windows: whole hours,
//! and of a rolling window's oldest hour the share of its minutes inside the window, see
//! [`SloSeries::last`]). Each event is added to both.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::SliEvent;
use crate::time::{HOUR_MS, MINUTE_MS};

/// Minute buckets kept: 6 hours and 5 minutes (the longest window read from them is 6 h).
pub const MINUTES_KEPT: i64 = 6 * 60 + 5;

/// Hour buckets kept: 32 days and 1 hour (a calendar month of 31 days, the 30-day window).
pub const HOURS_KEPT: i64 = 32 * 24 + 1;

/// Windows up to this long are read from the minute buckets; longer ones from the hours.
pub const MINUTE_HORIZON_MS: i64 = 6 * HOUR_MS;

/// Events counted in a bucket or a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SliCounts {
    /// Valid events that met the objective.
    #[serde(rename = "g", default)]
    pub good: u64,
    /// Valid events (good and bad).
    #[serde(rename = "t", default)]
    pub total: u64,
    /// Checks left out (maintenance).
    #[serde(rename = "x", default, skip_serializing_if = "is_zero")]
    pub excluded: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl SliCounts {
    /// Valid events that did not meet the objective.
    pub fn bad(&self) -> u64 {
        self.total.saturating_sub(self.good)
    }

    /// Good / valid, 0 to 1; `None` without valid events.
    pub fn ratio(&self) -> Option<f64> {
        (self.total > 0).then(|| self.good as f64 / self.total as f64)
    }

    /// Bad / valid, 0 to 1; 0 without valid events.
    pub fn error_ratio(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.bad() as f64 / self.total as f64
        }
    }

    fn add(&mut self, other: &SliCounts) {
        self.good += other.good;
        self.total += other.total;
        self.excluded += other.excluded;
    }

    fn count(&mut self, event: SliEvent) {
        match event {
            SliEvent::Good => {
                self.good += 1;
                self.total += 1;
            }
            SliEvent::Bad => self.total += 1,
            SliEvent::Excluded => self.excluded += 1,
            SliEvent::NotValid => {}
        }
    }
}

/// An SLO's events: minute and hour buckets keyed by their start (epoch ms).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SloSeries {
    /// One-minute buckets, by start ms; the last [`MINUTES_KEPT`].
    #[serde(rename = "m", default)]
    pub minutes: BTreeMap<i64, SliCounts>,
    /// One-hour buckets, by start ms; the last [`HOURS_KEPT`].
    #[serde(rename = "h", default)]
    pub hours: BTreeMap<i64, SliCounts>,
}

impl SloSeries {
    /// Adds one event of a check made at `at_ms` (epoch ms).
    pub fn add(&mut self, at_ms: i64, event: SliEvent) {
        if event == SliEvent::NotValid {
            return;
        }
        let minute = at_ms.div_euclid(MINUTE_MS) * MINUTE_MS;
        let hour = at_ms.div_euclid(HOUR_MS) * HOUR_MS;
        self.minutes.entry(minute).or_default().count(event);
        self.hours.entry(hour).or_default().count(event);
    }

    /// Adds `counts` to the bucket of `at_ms` at both resolutions (a synthetic history, or
    /// counts made elsewhere).
    pub fn add_counts(&mut self, at_ms: i64, counts: SliCounts) {
        let minute = at_ms.div_euclid(MINUTE_MS) * MINUTE_MS;
        let hour = at_ms.div_euclid(HOUR_MS) * HOUR_MS;
        self.minutes.entry(minute).or_default().add(&counts);
        self.hours.entry(hour).or_default().add(&counts);
    }

    /// Drops the buckets too old to be read at `now_ms`.
    pub fn prune(&mut self, now_ms: i64) {
        let minute_floor =
            now_ms.div_euclid(MINUTE_MS) * MINUTE_MS - (MINUTES_KEPT - 1) * MINUTE_MS;
        let hour_floor = now_ms.div_euclid(HOUR_MS) * HOUR_MS - (HOURS_KEPT - 1) * HOUR_MS;
        self.minutes = self.minutes.split_off(&minute_floor);
        self.hours = self.hours.split_off(&hour_floor);
    }

    /// The events of the `len_ms` before `now_ms` (epoch ms), as whole minutes: the minute
    /// buckets that start after the minute holding `now_ms - len_ms`, up to the current one
    /// (5 buckets for 5 minutes).
    ///
    /// Windows up to [`MINUTE_HORIZON_MS`] are read from the minute buckets, exactly. Longer
    /// ones are read from the hour buckets: the whole hours after the one holding the window's
    /// first minute, the current one included, and of that oldest hour the share of its
    /// minutes inside the window (its counts scaled by that share and rounded: events spread
    /// evenly within an hour are counted exactly, so the 3-day window of a steady history
    /// holds 3 days of events, not up to an hour more).
    pub fn last(&self, now_ms: i64, len_ms: i64) -> SliCounts {
        let first_minute = (now_ms - len_ms).div_euclid(MINUTE_MS) * MINUTE_MS + MINUTE_MS;
        if len_ms <= MINUTE_HORIZON_MS {
            return sum(self.minutes.range(first_minute..=now_ms).map(|(_, c)| c));
        }
        let oldest_hour = first_minute.div_euclid(HOUR_MS) * HOUR_MS;
        let mut out = sum(self
            .hours
            .range(oldest_hour + HOUR_MS..=now_ms)
            .map(|(_, c)| c));
        if let Some(c) = self.hours.get(&oldest_hour) {
            let share = (oldest_hour + HOUR_MS - first_minute) as f64 / HOUR_MS as f64;
            let part = |n: u64| (n as f64 * share).round() as u64;
            out.add(&SliCounts {
                good: part(c.good),
                total: part(c.total),
                excluded: part(c.excluded),
            });
        }
        out
    }

    /// The events of the hour buckets from the hour holding `since_ms` up to `until_ms` (epoch
    /// ms, inclusive).
    pub fn since(&self, since_ms: i64, until_ms: i64) -> SliCounts {
        let from = since_ms.div_euclid(HOUR_MS) * HOUR_MS;
        sum(self.hours.range(from..=until_ms).map(|(_, c)| c))
    }
}

fn sum<'a>(counts: impl Iterator<Item = &'a SliCounts>) -> SliCounts {
    let mut out = SliCounts::default();
    for c in counts {
        out.add(c);
    }
    out
}

//! Maintenance windows: times when a target's alerts are silenced (its checks and state go on).
//!
//! JSON shapes, in a target's `maintenance` list:
//! ```json
//! {"start": "2026-12-01T02:00:00Z", "end": "2026-12-01T04:00:00Z", "reason": "DB upgrade"}
//! {"days": ["sat", "sun"], "from": "22:00", "to": "02:00", "tz": "Europe/Berlin"}
//! ```
//! A one-off window runs from `start` to `end` (RFC 3339). A weekly window runs on each of
//! `days` from `from` to `to` (local `HH:MM` in the IANA time zone `tz`, default UTC); a `to`
//! earlier than `from` runs past midnight into the next day. Start times are inclusive, end
//! times exclusive.

use serde::{Deserialize, Serialize};

/// One maintenance window, one-off or weekly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceWindow {
    /// One-off: start, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// One-off: end, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// Weekly: days, `mon` to `sun`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days: Vec<String>,
    /// Weekly: local start time, `HH:MM`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Weekly: local end time, `HH:MM`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Weekly: IANA time zone (default `UTC`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tz: Option<String>,
    /// Why, shown in the status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// What is wrong with a maintenance window, in words (the caller names the field).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// `from` or `to` is not `HH:MM`.
    #[error("{0:?} is not a time like \"22:30\"")]
    BadClock(String),
    /// `start` or `end` is not RFC 3339 (the text, the parser's message).
    #[error("{0:?} is not an RFC 3339 time ({1})")]
    BadInstant(String, String),
    /// `days` names something else than `mon` to `sun`.
    #[error("{0:?} is not one of {days}", days = DAYS.join(", "))]
    BadDay(String),
    /// `tz` is not an IANA time zone.
    #[error("{0:?} is not an IANA time zone")]
    BadZone(String),
    /// Any other rule of the window's shape, in words.
    #[error("{0}")]
    Shape(&'static str),
}

fn minutes(hhmm: &str) -> Result<u32, WindowError> {
    let bad = || WindowError::BadClock(hhmm.to_string());
    let (h, m) = hhmm.split_once(':').ok_or_else(bad)?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn instant(text: &str) -> Result<i64, WindowError> {
    text.parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|e| WindowError::BadInstant(text.to_string(), e.to_string()))
}

impl MaintenanceWindow {
    /// Checks the window's shape.
    ///
    /// # Errors
    /// [`WindowError`]: what is wrong, in words (the caller names the field).
    pub fn validate(&self) -> Result<(), WindowError> {
        let once = self.start.is_some() || self.end.is_some();
        let weekly = !self.days.is_empty() || self.from.is_some() || self.to.is_some();
        match (once, weekly) {
            (true, false) => {
                let (Some(start), Some(end)) = (&self.start, &self.end) else {
                    return Err(WindowError::Shape("a one-off window needs start and end"));
                };
                if instant(end)? <= instant(start)? {
                    return Err(WindowError::Shape("end must be after start"));
                }
                if self.tz.is_some() {
                    return Err(WindowError::Shape(
                        "tz is for weekly windows (start and end carry their offset)",
                    ));
                }
            }
            (false, true) => {
                let (Some(from), Some(to)) = (&self.from, &self.to) else {
                    return Err(WindowError::Shape(
                        "a weekly window needs days, from and to",
                    ));
                };
                if self.days.is_empty() {
                    return Err(WindowError::Shape("a weekly window needs days"));
                }
                if let Some(d) = self.days.iter().find(|d| !DAYS.contains(&d.as_str())) {
                    return Err(WindowError::BadDay(d.clone()));
                }
                if minutes(from)? == minutes(to)? {
                    return Err(WindowError::Shape("from and to must differ"));
                }
                if let Some(tz) = &self.tz {
                    jiff::tz::TimeZone::get(tz).map_err(|_| WindowError::BadZone(tz.clone()))?;
                }
            }
            _ => {
                return Err(WindowError::Shape(
                    "give either start and end (one-off) or days, from and to (weekly)",
                ))
            }
        }
        if self
            .reason
            .as_ref()
            .is_some_and(|r| r.chars().count() > 200)
        {
            return Err(WindowError::Shape("reason must be at most 200 characters"));
        }
        Ok(())
    }

    /// Whether the window covers `at_ms` (epoch ms). A window that does not validate covers
    /// nothing.
    pub fn contains(&self, at_ms: i64) -> bool {
        if let (Some(start), Some(end)) = (&self.start, &self.end) {
            return matches!((instant(start), instant(end)), (Ok(s), Ok(e)) if s <= at_ms && at_ms < e);
        }
        let (Some(from), Some(to)) = (&self.from, &self.to) else {
            return false;
        };
        let (Ok(from), Ok(to)) = (minutes(from), minutes(to)) else {
            return false;
        };
        let tz = match &self.tz {
            Some(name) => match jiff::tz::TimeZone::get(name) {
                Ok(tz) => tz,
                Err(_) => return false,
            },
            None => jiff::tz::TimeZone::UTC,
        };
        let Ok(ts) = jiff::Timestamp::from_millisecond(at_ms) else {
            return false;
        };
        let local = ts.to_zoned(tz);
        let now = u32::from(local.hour() as u8) * 60 + u32::from(local.minute() as u8);
        let today = local.weekday().to_monday_zero_offset() as usize;
        let yesterday = (today + 6) % 7;
        let on = |d: usize| self.days.iter().any(|x| x == DAYS[d]);
        if from < to {
            on(today) && from <= now && now < to
        } else {
            (on(today) && now >= from) || (on(yesterday) && now < to)
        }
    }
}

/// The first of `windows` covering `at_ms`, if any.
pub fn active_window(windows: &[MaintenanceWindow], at_ms: i64) -> Option<&MaintenanceWindow> {
    windows.iter().find(|w| w.contains(at_ms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn window(v: serde_json::Value) -> MaintenanceWindow {
        let w: MaintenanceWindow = serde_json::from_value(v).unwrap();
        w.validate().unwrap();
        w
    }

    fn at(text: &str) -> i64 {
        instant(text).unwrap()
    }

    #[test]
    fn a_one_off_window_covers_start_but_not_end() {
        let w = window(json!({"start":"2026-12-01T02:00:00Z","end":"2026-12-01T04:00:00+00:00"}));
        assert!(!w.contains(at("2026-12-01T01:59:59Z")));
        assert!(w.contains(at("2026-12-01T02:00:00Z")));
        assert!(w.contains(at("2026-12-01T03:59:59Z")));
        assert!(!w.contains(at("2026-12-01T04:00:00Z")));
    }

    #[test]
    fn a_weekly_window_follows_its_time_zone_and_runs_past_midnight() {
        // Saturday and Sunday 22:00 to 02:00 in Berlin (UTC+1 in winter, UTC+2 in summer).
        let w =
            window(json!({"days":["sat","sun"],"from":"22:00","to":"02:00","tz":"Europe/Berlin"}));
        // Saturday 2026-11-28, 22:30 Berlin = 21:30 UTC.
        assert!(w.contains(at("2026-11-28T21:30:00Z")));
        assert!(
            !w.contains(at("2026-11-28T20:30:00Z")),
            "21:30 Berlin, before from"
        );
        // Sunday 01:30 Berlin (the night from Saturday) = Sunday 00:30 UTC.
        assert!(w.contains(at("2026-11-29T00:30:00Z")));
        // Monday 01:30 Berlin, the night from Sunday: still inside.
        assert!(w.contains(at("2026-11-30T00:30:00Z")));
        // Tuesday 01:30 Berlin: the night from Monday is not a window day.
        assert!(!w.contains(at("2026-12-01T00:30:00Z")));
        // Summer: Saturday 2026-07-04 22:30 Berlin = 20:30 UTC.
        assert!(w.contains(at("2026-07-04T20:30:00Z")));
        let utc = window(json!({"days":["mon"],"from":"09:00","to":"10:00"}));
        assert!(utc.contains(at("2026-11-30T09:15:00Z")));
    }

    #[test]
    fn bad_windows_are_refused_with_a_reason() {
        for (v, want) in [
            (
                json!({"start":"2026-12-01T02:00:00Z"}),
                "needs start and end",
            ),
            (
                json!({"start":"2026-12-01T04:00:00Z","end":"2026-12-01T02:00:00Z"}),
                "after start",
            ),
            (
                json!({"start":"yesterday","end":"2026-12-01T02:00:00Z"}),
                "RFC 3339",
            ),
            (
                json!({"days":["sat"],"from":"25:00","to":"02:00"}),
                "not a time",
            ),
            (
                json!({"days":["saturday"],"from":"22:00","to":"02:00"}),
                "not one of",
            ),
            (
                json!({"days":["sat"],"from":"22:00","to":"02:00","tz":"Mars/Olympus"}),
                "IANA",
            ),
            (
                json!({"days":["sat"],"start":"2026-12-01T02:00:00Z"}),
                "either",
            ),
            (json!({}), "either"),
        ] {
            let w: MaintenanceWindow = serde_json::from_value(v.clone()).unwrap();
            let e = w.validate().unwrap_err().to_string();
            assert!(e.contains(want), "{v}: {e}");
        }
        assert!(serde_json::from_value::<MaintenanceWindow>(json!({"strat":"x"})).is_err());
    }
}

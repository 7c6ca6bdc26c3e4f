//! Time helpers: the domain counts time in epoch milliseconds (UTC). Formatting and parsing go
//! through `jiff`.

use jiff::{civil::DateTime, tz::TimeZone, Timestamp};

/// One minute in milliseconds.
pub const MINUTE_MS: i64 = 60_000;
/// One hour in milliseconds.
pub const HOUR_MS: i64 = 3_600_000;
/// One day (24 hours, UTC) in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

/// The instant `ms`, or `None` outside the years -9999 to 9999.
fn timestamp(ms: i64) -> Option<Timestamp> {
    Timestamp::from_millisecond(ms).ok()
}

/// `ms` in the UTC format `fmt` (strftime), or the number itself outside the supported years.
fn utc(ms: i64, fmt: &str) -> String {
    timestamp(ms).map_or_else(|| ms.to_string(), |t| t.strftime(fmt).to_string())
}

/// RFC 3339 text of an epoch-milliseconds instant in UTC, e.g. `2026-11-21T22:54:00.123Z`; the
/// fraction only when there is one, without trailing zeros (`…:00.12Z`, `…:00Z`).
pub fn rfc3339(ms: i64) -> String {
    timestamp(ms).map_or_else(|| ms.to_string(), |t| t.to_string())
}

/// `YYYY-MM-DD` of an epoch-milliseconds instant (UTC): the day partition of alert rows.
pub fn day(ms: i64) -> String {
    utc(ms, "%Y-%m-%d")
}

/// `YYYY-MM-DDTHH` of an epoch-milliseconds instant (UTC): the hour partition of history rows.
pub fn hour(ms: i64) -> String {
    utc(ms, "%Y-%m-%dT%H")
}

/// `HH:MM` of an epoch-milliseconds instant (UTC), for text.
pub fn hhmm(ms: i64) -> String {
    utc(ms, "%H:%M")
}

/// The format of [`compact`] stamps (strftime).
const COMPACT: &str = "%Y%m%dT%H%M%SZ";

/// Compact UTC stamp `YYYYMMDDTHHMMSSZ` (ISO 8601 basic format), used in dump folder names.
pub fn compact(ms: i64) -> String {
    utc(ms, COMPACT)
}

/// Parses a [`compact`] stamp back to epoch milliseconds; `None` if it is not one (16 ASCII
/// characters exactly).
pub fn parse_compact(s: &str) -> Option<i64> {
    if !s.is_ascii()
        || s.len() != 16
        || !s.bytes().all(|b| b.is_ascii_digit() || b"TZ".contains(&b))
    {
        return None;
    }
    let t = DateTime::strptime(COMPACT, s).ok()?;
    Some(t.to_zoned(TimeZone::UTC).ok()?.timestamp().as_millisecond())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_stamps_round_trip_to_the_second() {
        let ms = 1_795_000_000_000; // 2026-11-18T...
        let c = compact(ms);
        assert_eq!(c.len(), 16);
        assert_eq!(parse_compact(&c), Some(ms));
        assert_eq!(parse_compact("not-a-stamp"), None);
        assert_eq!(
            parse_compact("2026112ÄT00000Z"),
            None,
            "non-ASCII text is refused, not sliced"
        );
    }

    #[test]
    fn day_and_hour_partitions_are_utc_prefixes() {
        assert_eq!(day(0), "1970-01-01");
        assert_eq!(hour(3_600_000 * 5), "1970-01-01T05");
    }

    #[test]
    fn rfc3339_text_is_utc_with_the_fraction_only_when_there_is_one() {
        assert_eq!(rfc3339(1_796_144_400_000), "2026-12-01T17:00:00Z");
        assert_eq!(rfc3339(1_796_144_400_123), "2026-12-01T17:00:00.123Z");
        assert_eq!(rfc3339(1_796_144_400_120), "2026-12-01T17:00:00.12Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(compact(1_796_144_400_123), "20261201T170000Z");
        assert_eq!(day(1_796_144_400_000), "2026-12-01");
        assert_eq!(hour(1_796_144_400_000), "2026-12-01T17");
        assert_eq!(rfc3339(i64::MAX), i64::MAX.to_string());
    }
}

//! Time helpers: the domain counts time in epoch milliseconds (UTC).

use time::{format_description::well_known::Rfc3339, OffsetDateTime};

/// One hour, ms.
pub const HOUR_MS: i64 = 3_600_000;

/// One day, ms.
pub const DAY_MS: i64 = 86_400_000;

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// RFC 3339 text of an epoch-milliseconds instant, e.g. `2026-11-21T22:54:00.123Z`.
pub fn rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| ms.to_string())
}

/// `YYYY-MM-DD` of an epoch-milliseconds instant (UTC): the day partition of alert rows.
pub fn day(ms: i64) -> String {
    let t = rfc3339(ms);
    t.get(..10).unwrap_or(&t).to_string()
}

/// `YYYY-MM-DDTHH` of an epoch-milliseconds instant (UTC): the hour partition of history rows.
pub fn hour(ms: i64) -> String {
    let t = rfc3339(ms);
    t.get(..13).unwrap_or(&t).to_string()
}

/// Compact UTC stamp `YYYYMMDDTHHMMSSZ` (ISO 8601 basic format), used in dump folder names.
pub fn compact(ms: i64) -> String {
    let t = rfc3339(ms);
    format!(
        "{}{}{}T{}{}{}Z",
        &t[0..4],
        &t[5..7],
        &t[8..10],
        &t[11..13],
        &t[14..16],
        &t[17..19]
    )
}

/// Parses a [`compact`] stamp back to epoch milliseconds; `None` if it is not one.
pub fn parse_compact(s: &str) -> Option<i64> {
    if !s.is_ascii() || s.len() != 16 || &s[8..9] != "T" || !s.ends_with('Z') {
        return None;
    }
    let text = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &s[0..4],
        &s[4..6],
        &s[6..8],
        &s[9..11],
        &s[11..13],
        &s[13..15]
    );
    OffsetDateTime::parse(&text, &Rfc3339)
        .ok()
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
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
}

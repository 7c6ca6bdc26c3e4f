//! The buckets: what `last` and `since` read equals a brute-force count of the raw events,
//! and `prune` keeps everything they read.

use super::*;
use crate::domain::slo::series::{HOURS_KEPT, MINUTE_HORIZON_MS};
use proptest::prelude::*;

/// Brute force: the events at `at` with `keep(at)`.
fn count(events: &[(i64, SliEvent)], keep: impl Fn(i64) -> bool) -> SliCounts {
    let mut c = SliCounts::default();
    for (_, e) in events.iter().filter(|(at, _)| keep(*at)) {
        match e {
            SliEvent::Good => {
                c.good += 1;
                c.total += 1;
            }
            SliEvent::Bad => c.total += 1,
            SliEvent::Excluded => c.excluded += 1,
            SliEvent::NotValid => {}
        }
    }
    c
}

fn floor(at: i64, unit: i64) -> i64 {
    at.div_euclid(unit) * unit
}

/// What `last(now, len)` reads, counted from the raw events: the whole minutes after the one
/// holding `now - len`; beyond 6 hours, whole hours and the oldest hour's share of its events.
fn brute_last(events: &[(i64, SliEvent)], now: i64, len: i64) -> SliCounts {
    let first = floor(now - len, MINUTE_MS) + MINUTE_MS;
    if len <= MINUTE_HORIZON_MS {
        return count(events, |at| at >= first && at <= now);
    }
    let oldest = floor(first, HOUR_MS);
    let mut c = count(events, |at| at >= oldest + HOUR_MS && at <= now);
    let part = count(events, |at| floor(at, HOUR_MS) == oldest);
    let share = (oldest + HOUR_MS - first) as f64 / HOUR_MS as f64;
    let scale = |n: u64| (n as f64 * share).round() as u64;
    c.good += scale(part.good);
    c.total += scale(part.total);
    c.excluded += scale(part.excluded);
    c
}

const LENS: [i64; 9] = [
    MINUTE_MS,
    5 * MINUTE_MS,
    30 * MINUTE_MS,
    HOUR_MS,
    6 * HOUR_MS,
    DAY_MS,
    3 * DAY_MS,
    28 * DAY_MS,
    30 * DAY_MS,
];

fn event() -> impl Strategy<Value = SliEvent> {
    prop_oneof![
        4 => Just(SliEvent::Good),
        2 => Just(SliEvent::Bad),
        1 => Just(SliEvent::Excluded),
        1 => Just(SliEvent::NotValid),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn windows_equal_a_brute_force_count_before_and_after_pruning(
        // Events over the last 33 days, crowded into the last 7 hours half of the time.
        offsets in proptest::collection::vec(
            (prop_oneof![0i64..33 * DAY_MS, 0i64..7 * HOUR_MS], event()), 0..400),
        now_offset in 0i64..HOUR_MS,
    ) {
        let now = T + now_offset;
        let events: Vec<(i64, SliEvent)> =
            offsets.iter().map(|(o, e)| (now - o, *e)).collect();
        let mut series = SloSeries::default();
        for (at, e) in &events {
            series.add(*at, *e);
        }
        let mut pruned = series.clone();
        pruned.prune(now);
        for len in LENS {
            let expected = brute_last(&events, now, len);
            prop_assert_eq!(series.last(now, len), expected, "last {}", len);
            prop_assert_eq!(pruned.last(now, len), expected, "pruned last {}", len);
        }
        // Calendar-month reads: the hour buckets from any hour of the kept range.
        for hours_back in [0, 1, 24, 31 * 24, HOURS_KEPT - 1] {
            let since = floor(now, HOUR_MS) - hours_back * HOUR_MS;
            let expected = count(&events, |at| at >= since && at <= now);
            prop_assert_eq!(series.since(since, now), expected);
            prop_assert_eq!(pruned.since(since, now), expected, "pruned since {}", hours_back);
        }
    }
}

#[test]
fn pruning_drops_what_no_window_reads() {
    let mut series = SloSeries::default();
    let now = T;
    series.add(now - 7 * HOUR_MS, SliEvent::Bad);
    series.add(now - 33 * DAY_MS, SliEvent::Bad);
    series.add(now, SliEvent::Good);
    series.prune(now);
    assert_eq!(series.minutes.len(), 1, "the 7-hour-old minute is gone");
    assert_eq!(series.hours.len(), 2, "the 33-day-old hour is gone");
}

#[test]
fn a_steady_history_fills_each_window_exactly() {
    let mut series = SloSeries::default();
    clean(&mut series, T + MINUTE_MS, 31 * 24 * 60, 1);
    series.prune(T);
    for len in LENS {
        assert_eq!(
            series.last(T + MINUTE_MS / 2, len).total,
            (len / MINUTE_MS) as u64
        );
    }
}

use super::chart::{nice_ceiling, Chart};
use super::labels::{labels, EN, FA};
use super::*;
use lookout_core::digest::rollup::Latency;
use lookout_core::domain::TargetKind;

/// 2026-11-21T14:00Z.
const HOUR: i64 = 1_795_269_600_000;

fn hour(start: i64, p50: u64, p95: u64) -> Rollup {
    Rollup {
        checks: 60,
        latency: Some(Latency {
            min: 1,
            mean: p50 as f64,
            p50,
            p95,
            max: p95,
        }),
        ..Rollup::empty("a", TargetKind::Server, Period::Hour, start)
    }
}

#[test]
fn the_latency_axis_tops_at_one_two_or_five_times_a_power_of_ten() {
    let tops: Vec<u64> = [1, 2, 3, 7, 10, 11, 180, 201, 4_999, 5_001]
        .into_iter()
        .map(nice_ceiling)
        .collect();
    assert_eq!(tops, [1, 2, 5, 10, 10, 20, 200, 500, 5_000, 10_000]);
}

#[test]
fn a_chart_has_both_lines_axes_and_breaks_at_gaps() {
    let from = HOUR - 23 * HOUR_MS;
    let mut rollups: Vec<Rollup> = (0..24)
        .filter(|h| *h != 10) // no rollup at 10
        .map(|h| hour(from + h * HOUR_MS, 100 + h as u64, 300))
        .collect();
    // A rollup without a latency (every check failed) breaks the lines too.
    rollups[15].latency = None;
    let ticks = vec![(from, "a".to_string()), (from - 1, "before".to_string())];
    let c = Chart::new(&rollups, HOUR_MS, from, from + DAY_MS, ticks, "ms").unwrap();
    assert_eq!(c.p50.len(), 3, "{:?}", c.p50);
    assert_eq!(c.p95.len(), 3);
    assert_eq!(
        c.p50.iter().map(|r| r.split(' ').count()).sum::<usize>(),
        22
    );
    let labels: Vec<&str> = c.y_ticks.iter().map(|t| t.label.as_str()).collect();
    assert_eq!(labels, ["0", "250", "500"]);
    assert_eq!(c.unit, "ms");
    assert_eq!(c.x_ticks.len(), 1, "a tick before the span is left out");
    // p95 (300) is drawn above p50 (about 110): a smaller y.
    let y = |points: &str| -> f64 { points.split([' ', ',']).nth(1).unwrap().parse().unwrap() };
    assert!(y(&c.p95[0]) < y(&c.p50[0]));
    // Nothing with a latency: no chart ("no data").
    let mut none = rollups.clone();
    for r in &mut none {
        r.latency = None;
    }
    assert!(Chart::new(&none, HOUR_MS, from, from + DAY_MS, vec![], "ms").is_none());
    assert!(Chart::new(&[], HOUR_MS, from, from + DAY_MS, vec![], "ms").is_none());
}

#[test]
fn the_time_zone_is_checked_and_used() {
    let (utc, name) = time_zone(None).unwrap();
    assert_eq!(name, "UTC");
    assert_eq!(local(HOUR, &utc, "%H:%M"), "14:00");
    let (tehran, name) = time_zone(Some("Asia/Tehran")).unwrap();
    assert_eq!(name, "Asia/Tehran");
    assert_eq!(local(HOUR, &tehran, "%H:%M"), "17:30");
    for bad in ["Mars/Olympus", "<script>", &"x".repeat(65)] {
        let err = time_zone(Some(bad)).unwrap_err();
        assert!(err.to_string().starts_with("tz:"), "{err}");
    }
}

#[test]
fn languages_are_checked_and_every_word_is_translated() {
    assert_eq!(labels(None).unwrap().code, "en");
    assert_eq!(labels(Some("fa")).unwrap().code, "fa");
    assert!(labels(Some("fr"))
        .unwrap_err()
        .to_string()
        .starts_with("lang:"));
    assert_eq!((FA.rtl, EN.rtl), (true, false));
    assert_ne!(FA.chart_24h, EN.chart_24h);
    assert_eq!(FA.cert(12), "12 روز دیگر منقضی می‌شود");
    assert_eq!(EN.cert(-1), "expired");
}

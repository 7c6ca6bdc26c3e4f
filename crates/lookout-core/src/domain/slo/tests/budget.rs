//! The error budget's figures: total minutes per window, spent and remaining as shares and
//! minutes, overspent, no events, the exhaustion date, and calendar months.

use super::*;

/// 2026-12-15T12:00:00Z.
const MID_DECEMBER: i64 = 1_797_336_000_000;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9 * b.abs().max(1.0)
}

/// A 30-day history of one check a minute up to the minute starting at `now`, the last `bad`
/// minutes failing.
fn one_a_minute(now: i64, bad: i64) -> SloSeries {
    let mut series = SloSeries::default();
    for m in (0..30 * 24 * 60 + 60).rev() {
        minute(&mut series, now - m * MINUTE_MS, 1, u64::from(m < bad));
    }
    series.prune(now);
    series
}

#[test]
fn the_budget_in_minutes_is_the_objectives_share_of_the_window() {
    let empty = SloSeries::default();
    for (window, now, minutes) in [
        (SloWindow::Rolling30d, MID_DECEMBER, 43.2),
        (SloWindow::Rolling28d, MID_DECEMBER, 40.32),
        // December: 31 days.
        (SloWindow::CalendarMonth, MID_DECEMBER, 44.64),
        // February 2026: 28 days; 2028: 29.
        (SloWindow::CalendarMonth, 1_770_681_600_000, 40.32),
        (
            SloWindow::CalendarMonth,
            1_832_976_000_000 + 5 * DAY_MS,
            41.76,
        ),
    ] {
        let st = status(&slo_over(99.9, window), &empty, now);
        assert!(
            close(st.budget.total_minutes, minutes),
            "{window:?}: {}",
            st.budget.total_minutes
        );
    }
    let st = status(&slo(99.0), &empty, MID_DECEMBER);
    assert!(close(st.budget.total_minutes, 432.0));
}

#[test]
fn without_events_nothing_is_spent_and_nothing_runs_out() {
    let st = status(&slo(99.9), &SloSeries::default(), MID_DECEMBER);
    assert_eq!(st.sli, None);
    assert_eq!((st.events, st.good, st.budget.bad), (0, 0, 0));
    assert_eq!(st.budget.spent_share, 0.0);
    assert_eq!(st.budget.remaining_share, 1.0);
    assert!(close(st.budget.remaining_minutes, 43.2));
    assert_eq!(st.exhausted_at, None);
    assert!(st.burn_rates.iter().all(|b| b.rate == 0.0 && b.events == 0));
}

#[test]
fn twenty_minutes_of_full_outage_spend_twenty_of_43_2_minutes() {
    let now = MID_DECEMBER;
    let st = status(&slo(99.9), &one_a_minute(now, 20), now);
    assert_eq!(st.events, 30 * 24 * 60);
    assert_eq!(st.budget.bad, 20);
    assert!(close(st.budget.allowed_bad, 43.2));
    assert!(close(st.budget.spent_share, 20.0 / 43.2));
    assert!(close(st.budget.remaining_share, 1.0 - 20.0 / 43.2));
    assert!(close(st.budget.spent_minutes, 20.0));
    assert!(close(st.budget.remaining_minutes, 23.2));
    let sli = st.sli.expect("events");
    assert!(close(sli, (43_200.0 - 20.0) / 43_200.0 * 100.0), "{sli}");
    // The last 20 minutes: 20 of 60 failed over 1 h, 20 of 360 over 6 h.
    assert!(close(st.burn_rates[0].rate, 20.0 / 60.0 / 0.001));
    assert!(close(st.burn_rates[1].rate, 20.0 / 360.0 / 0.001));
    assert_eq!(
        st.burn_rates.iter().map(|b| b.events).collect::<Vec<_>>(),
        vec![60, 360, 24 * 60, 3 * 24 * 60]
    );
}

#[test]
fn an_overspent_budget_is_negative_and_exhausted_now() {
    let now = MID_DECEMBER;
    let st = status(&slo(99.9), &one_a_minute(now, 60), now);
    assert!(close(st.budget.spent_share, 60.0 / 43.2));
    assert!(st.budget.remaining_share < 0.0);
    assert!(close(st.budget.remaining_minutes, 43.2 - 60.0));
    assert_eq!(st.exhausted_at, Some(now));
}

#[test]
fn a_known_burn_runs_out_on_a_known_date() {
    let now = MID_DECEMBER;
    let mut series = SloSeries::default();
    // 1,000 checks a minute for 30 days, 2 failing a minute over the last 6 hours: a 6-hour
    // burn rate of 2 at 99.9 %, 720 failures of 43,200 allowed (1/60 of the budget).
    for m in (0..30 * 24 * 60 + 60).rev() {
        let bad = if m < 360 { 2 } else { 0 };
        minute(&mut series, now - m * MINUTE_MS, 1_000, bad);
    }
    series.prune(now);
    let st = status(&slo(99.9), &series, now);
    assert!(close(st.burn_rates[1].rate, 2.0), "{:?}", st.burn_rates);
    assert!(close(st.budget.spent_share, 1.0 / 60.0));
    // The remaining 59/60 of a 30-day budget, spent at 2 while the window's far end gives back
    // 1/60: 30 d × (59/60) / (2 - 1/60) = 14.87 days.
    let expected = now + (30.0 * DAY_MS as f64 * (59.0 / 60.0) / (2.0 - 1.0 / 60.0)) as i64;
    let at = st.exhausted_at.expect("burning");
    assert!((at - expected).abs() <= 1, "{at} against {expected}");
    assert_eq!(crate::time::day(at), "2026-12-30");
    // Once the failures are older than 6 hours the 6-hour burn is 0: no date.
    let later = now + 7 * HOUR_MS;
    for m in 1..=7 * 60 {
        minute(&mut series, now + m * MINUTE_MS, 1_000, 0);
    }
    let st = status(&slo(99.9), &series, later);
    assert!(st.budget.spent_share > 0.0);
    assert_eq!(st.exhausted_at, None);
}

#[test]
fn calendar_months_run_from_the_first_to_the_next_first() {
    // (a moment, its month's first instant, the next month's).
    for (at, start, end) in [
        // 2026-02-10: February 2026.
        (1_770_681_600_000, 1_769_904_000_000, 1_772_323_200_000),
        // The last millisecond of December 2026, and the first of January 2027.
        (1_798_761_600_000 - 1, 1_796_083_200_000, 1_798_761_600_000),
        (
            1_798_761_600_000,
            1_798_761_600_000,
            1_798_761_600_000 + 31 * DAY_MS,
        ),
        // 2028-02-06: a leap February of 29 days.
        (
            1_832_976_000_000 + 5 * DAY_MS,
            1_832_976_000_000,
            1_835_481_600_000,
        ),
    ] {
        assert_eq!(
            month_bounds(at),
            (start, end),
            "{}",
            crate::time::rfc3339(at)
        );
        assert_eq!(SloWindow::CalendarMonth.bounds(at), (start, end));
    }
    assert_eq!(
        SloWindow::CalendarMonth.length_ms(1_832_976_000_000),
        29 * DAY_MS
    );
}

#[test]
fn a_calendar_month_counts_only_its_own_events() {
    // 2027-01-01T02:00Z: November and December failed, January's two hours are clean.
    let now = 1_798_761_600_000 + 2 * HOUR_MS;
    let mut series = SloSeries::default();
    for m in (1..=3 * 24 * 60).rev() {
        let at = now - m * MINUTE_MS;
        minute(&mut series, at, 1, u64::from(at < 1_798_761_600_000));
    }
    let st = status(&slo_over(99.9, SloWindow::CalendarMonth), &series, now);
    assert_eq!(st.window_start, 1_798_761_600_000);
    assert_eq!((st.events, st.budget.bad), (120, 0));
    assert_eq!(st.sli, Some(100.0));
    assert!(close(st.budget.total_minutes, 44.64));
    // The rolling window over the same history sees the failures.
    let st = status(&slo(99.9), &series, now);
    assert_eq!(st.budget.bad, 3 * 24 * 60 - 120);
}

/// A window the SLO covers in part (a month under way, an SLO younger than its window): a bad
/// minute is a minute of full outage, while the share is of the events so far.
#[test]
fn a_window_covered_in_part_spends_a_minute_per_bad_minute() {
    // 2026-12-01T02:00:00Z: two hours into December, one check a minute, one failed.
    let month_start = 1_796_083_200_000;
    let now = month_start + 2 * HOUR_MS;
    let mut series = SloSeries::default();
    for m in 0..120 {
        minute(
            &mut series,
            month_start + m * MINUTE_MS,
            1,
            u64::from(m == 30),
        );
    }
    let st = status(&slo_over(99.9, SloWindow::CalendarMonth), &series, now);
    assert!(
        (st.budget.spent_minutes - 1.0).abs() < 0.01,
        "{:?}",
        st.budget
    );
    assert!((st.budget.remaining_minutes - 43.64).abs() < 0.01);
    assert!((st.budget.spent_share - 1.0 / 0.12).abs() < 1e-6);
    // A 30-day SLO one day old with 10 bad minutes of 1,440: 10 minutes of 43.2.
    let now = MID_DECEMBER;
    let mut series = SloSeries::default();
    for m in 0..24 * 60 {
        minute(
            &mut series,
            now - (24 * 60 - m) * MINUTE_MS,
            1,
            u64::from(m < 10),
        );
    }
    let young = Slo {
        created_at: now - DAY_MS,
        ..slo_over(99.9, SloWindow::Rolling30d)
    };
    let st = status(&young, &series, now);
    assert!(
        (st.budget.spent_minutes - 10.0).abs() < 0.01,
        "{:?}",
        st.budget
    );
    assert!((st.budget.remaining_minutes - 33.2).abs() < 0.5);
}

/// The exhaustion date: none while a rolling window burns no faster than it has spent, none
/// for a calendar month that lasts to its end.
#[test]
fn a_budget_that_lasts_has_no_exhaustion_date() {
    let now = MID_DECEMBER;
    let mut series = SloSeries::default();
    // 1,000 checks a minute for 30 days, 1 failing every other minute: burn 0.5 everywhere.
    for m in (0..30 * 24 * 60 + 60).rev() {
        minute(
            &mut series,
            now - m * MINUTE_MS,
            1_000,
            u64::from(m % 2 == 0),
        );
    }
    series.prune(now);
    let rolling = status(&slo_over(99.9, SloWindow::Rolling30d), &series, now);
    assert!((rolling.burn_rates[1].rate - 0.5).abs() < 0.01);
    assert_eq!(rolling.exhausted_at, None, "{:?}", rolling.budget);
    // Half a month at burn 0.5 has spent a quarter of the month's budget; the rest lasts.
    let month = status(&slo_over(99.9, SloWindow::CalendarMonth), &series, now);
    assert!(month.budget.spent_share < 1.0);
    assert_eq!(month.exhausted_at, None, "{:?}", month.budget);
}

//! Unit tests of the page's pieces: labels, the bar, the order, incidents' words.

use askama::filters::Escaper as _;

use super::HtmlEntities;

#[test]
fn the_escaper_spells_the_five_html_characters_as_named_entities() {
    let mut out = String::new();
    HtmlEntities
        .write_escaped_str(&mut out, "<a title=\"x\">Tom & Jerry's</a> خادم")
        .unwrap();
    assert_eq!(
        out,
        "&lt;a title=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt; خادم"
    );
}

use lookout_core::digest::rollup::DayCell;
use lookout_core::domain::maintenance::MaintenanceWindow;
use lookout_core::domain::state::DAY_MS;
use lookout_core::domain::Status;

use super::incidents::next_window;
use super::labels::{AR, EN, FA};
use super::rows::{bar, cell_class};

fn names(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("api-{i}")).collect()
}

#[test]
fn auto_titles_name_their_targets_and_count_the_rest_in_each_language() {
    assert_eq!(
        EN.auto_title(&names(13), Some(Status::Down)),
        "api-1, api-2, api-3 and 10 more are down"
    );
    assert_eq!(
        EN.auto_title(&names(1), Some(Status::Blocked)),
        "api-1 is blocked"
    );
    assert_eq!(
        EN.auto_title(&names(2), None),
        "api-1 and api-2 are having problems"
    );
    assert_eq!(
        EN.auto_title(&names(2), Some(Status::Healthy)),
        "api-1 and api-2 are back up"
    );
    assert_eq!(
        AR.auto_title(&names(5), Some(Status::Down)),
        "api-1، api-2، api-3 و٢ أخرى: متوقف"
    );
    assert_eq!(
        FA.auto_title(&names(4), Some(Status::Down)),
        "api-1، api-2، api-3 و ۱ مورد دیگر: از کار افتاده"
    );
}

#[test]
fn digits_follow_the_language() {
    assert_eq!(EN.digits("2026-12-01 09:30"), "2026-12-01 09:30");
    assert_eq!(AR.digits("2026-12-01 09:30"), "٢٠٢٦-١٢-٠١ ٠٩:٣٠");
    assert_eq!(FA.digits("2026-12-01 09:30"), "۲۰۲۶-۱۲-۰۱ ۰۹:۳۰");
}

#[test]
fn cells_are_coloured_at_the_documented_thresholds() {
    let cases = [
        (None, ""),
        (Some(100.0), "g"),
        (Some(99.9), "g"),
        (Some(99.89), "l"),
        (Some(99.0), "l"),
        (Some(98.99), "a"),
        (Some(95.0), "a"),
        (Some(94.99), "r"),
        (Some(0.0), "r"),
    ];
    for (uptime, class) in cases {
        assert_eq!(cell_class(uptime), class, "{uptime:?}");
    }
}

#[test]
fn quiet_days_merge_and_a_day_with_an_incident_keeps_its_own_titled_cell() {
    let day = |start: i64, failures: u64| {
        (
            start,
            Some(DayCell {
                start,
                checks: 100,
                failures,
            }),
        )
    };
    let days = vec![
        (0, None),
        (DAY_MS, None),
        day(2 * DAY_MS, 0),
        day(3 * DAY_MS, 0),
        day(4 * DAY_MS, 0),
        day(5 * DAY_MS, 3),
    ];
    let html = bar(&EN, &jiff::tz::TimeZone::UTC, &days, |start| {
        usize::from(start == 4 * DAY_MS)
    });
    assert_eq!(
        html,
        "<i style=\"grid-column:span 2\"></i><i class=g style=\"grid-column:span 2\"></i>\
         <i class=g title=\"1970-01-05 · uptime 100.00% · 1 incidents\"></i>\
         <i class=a title=\"1970-01-06 · uptime 97.00% · 0 incidents\"></i>"
    );
}

#[test]
fn a_weekly_window_is_announced_at_its_next_start_within_the_horizon() {
    // 2026-12-02 is a Wednesday; 10:00 UTC.
    let now = "2026-12-02T10:00:00Z"
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_millisecond();
    let weekly = MaintenanceWindow {
        start: None,
        end: None,
        days: vec!["sat".into()],
        from: Some("22:00".into()),
        to: Some("02:00".into()),
        tz: Some("Asia/Tehran".into()),
        reason: None,
    };
    let (start, end) = next_window(&weekly, now, 7 * DAY_MS).expect("Saturday's");
    assert_eq!(lookout_core::time::rfc3339(start), "2026-12-05T18:30:00Z");
    assert_eq!(end - start, 4 * 3_600_000);
    assert_eq!(
        next_window(&weekly, now, 2 * DAY_MS),
        None,
        "beyond the horizon"
    );
}

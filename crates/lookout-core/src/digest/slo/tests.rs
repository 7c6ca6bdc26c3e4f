//! The SLO sentences in English, Arabic and Persian, and which SLOs get one.

use super::*;
use crate::domain::slo::budget::{BudgetFigures, BurnRate};
use crate::domain::slo::{status, Sli, SliCounts, SloSelector, SloSeries};
use crate::time::{DAY_MS, MINUTE_MS};

/// 2026-12-02T08:00:00Z.
const NOW: i64 = 1_796_198_400_000;
/// 2026-12-24T10:00:00Z.
const DEC_24: i64 = 1_798_106_400_000;

fn slo(window: SloWindow) -> Slo {
    Slo {
        id: "checkout".into(),
        name: "Checkout API".into(),
        description: None,
        selector: SloSelector::Group("checkout".into()),
        objective: 99.9,
        window,
        sli: Sli::Availability,
        exclude_maintenance: true,
        alerts: true,
        version: 1,
        created_at: 0,
        updated_at: 0,
    }
}

/// A status with `spent` of the budget spent, SLI `sli`, a 6-hour burn rate `burn` and the
/// budget running out at `exhausted_at`.
fn st(window: SloWindow, spent: f64, sli: f64, burn: f64, exhausted_at: Option<i64>) -> SloStatus {
    let (window_start, window_end) = window.bounds(NOW);
    SloStatus {
        at: NOW,
        window_start,
        window_end,
        sli: Some(sli),
        events: 43_200,
        good: 43_170,
        excluded: 0,
        budget: BudgetFigures {
            allowed_bad: 43.2,
            bad: 27,
            spent_share: spent,
            remaining_share: 1.0 - spent,
            total_minutes: 43.2,
            spent_minutes: spent * 43.2,
            remaining_minutes: (1.0 - spent) * 43.2,
        },
        burn_rates: vec![BurnRate {
            window: "6h".into(),
            rate: burn,
            events: 360,
        }],
        exhausted_at,
    }
}

const LANGS: [Language; 3] = [Language::En, Language::Ar, Language::Fa];

#[test]
fn the_issues_sentence_reads_in_three_languages() {
    let s = slo(SloWindow::Rolling30d);
    let status = st(SloWindow::Rolling30d, 0.637, 99.8765, 2.5, Some(DEC_24));
    assert_eq!(
        sentence(Language::En, &s, &status, &[]),
        "Checkout API has used 63 % of its 30-day error budget (SLI 99.87 %, objective 99.9 %); \
         at the current rate it runs out on 24 December."
    );
    assert_eq!(
        sentence(Language::Ar, &s, &status, &[]),
        "استهلك Checkout API 63 % من ميزانية الأخطاء لمدة 30 يومًا (SLI 99.87 %، الهدف 99.9 %)؛ \
         بالمعدل الحالي تنفد في 24 ديسمبر."
    );
    assert_eq!(
        sentence(Language::Fa, &s, &status, &[]),
        "Checkout API 63 % از بودجهٔ خطای 30 روزهٔ خود را مصرف کرده است (SLI 99.87 %، هدف 99.9 %)؛ \
         با نرخ کنونی در 24 دسامبر تمام می\u{200c}شود."
    );
}

#[test]
fn a_calendar_month_names_its_month_and_may_last_it() {
    let s = slo(SloWindow::CalendarMonth);
    let status = st(SloWindow::CalendarMonth, 0.4, 99.96, 1.5, Some(DEC_24));
    assert_eq!(
        sentence(Language::En, &s, &status, &[]),
        "Checkout API has used 40 % of its error budget for December (SLI 99.96 %, objective \
         99.9 %); at the current rate it runs out on 24 December."
    );
    assert!(sentence(Language::Ar, &s, &status, &[]).contains("لشهر ديسمبر"));
    assert!(sentence(Language::Fa, &s, &status, &[]).contains("ماه دسامبر"));
    // Does not run out before the month's end (`status` gives no date): it lasts the month.
    let lasting = st(SloWindow::CalendarMonth, 0.4, 99.96, 1.5, None);
    assert!(sentence(Language::En, &s, &lasting, &[])
        .ends_with("; at the current rate it lasts the month."));
    assert!(sentence(Language::Fa, &s, &lasting, &[]).contains("تا پایان ماه"));
}

#[test]
fn a_date_in_another_year_carries_the_year() {
    // 2027-01-03, seen on 2026-12-02.
    assert_eq!(date(Language::En, 1_798_934_400_000, NOW), "3 January 2027");
    assert_eq!(date(Language::Ar, 1_798_934_400_000, NOW), "3 يناير 2027");
    assert_eq!(date(Language::Fa, 1_798_934_400_000, NOW), "3 ژانویه 2027");
    assert_eq!(date(Language::Fa, DEC_24, NOW), "24 دسامبر");
}

#[test]
fn spent_idle_and_steady_budgets_say_so_and_alerts_are_named() {
    let s = slo(SloWindow::Rolling30d);
    let spent = st(SloWindow::Rolling30d, 1.25, 99.875, 3.0, Some(NOW));
    let page = vec!["page".to_string(), "ticket".to_string()];
    assert_eq!(
        sentence(Language::En, &s, &spent, &page),
        "Checkout API has used 125 % of its 30-day error budget (SLI 99.87 %, objective 99.9 %): \
         the budget is spent. Alerts firing: page, ticket."
    );
    assert!(sentence(Language::Ar, &s, &spent, &page)
        .ends_with("؛ نفدت الميزانية. التنبيهات النشطة: استدعاء عاجل، تذكرة."));
    assert!(sentence(Language::Fa, &s, &spent, &page)
        .ends_with("؛ بودجه تمام شده است. هشدارهای فعال: فراخوان فوری، تیکت."));
    let idle = st(SloWindow::Rolling30d, 0.3, 99.97, 0.0, None);
    assert!(sentence(Language::En, &s, &idle, &[])
        .ends_with("; none of it was spent in the last 6 hours."));
    // A rolling budget the current rate does not run out (`status` gives no date).
    let steady = st(SloWindow::Rolling30d, 0.3, 99.97, 0.5, None);
    assert!(sentence(Language::En, &s, &steady, &[])
        .ends_with("; at the current rate it does not run out."));
    assert!(sentence(Language::Ar, &s, &steady, &[]).ends_with("؛ بالمعدل الحالي لا تنفد."));
}

#[test]
fn a_budget_almost_spent_never_reads_100_and_the_sli_keeps_its_decimals() {
    let s = slo(SloWindow::Rolling30d);
    let status = st(
        SloWindow::Rolling30d,
        0.9999,
        99.90001,
        1.0,
        Some(NOW + DAY_MS),
    );
    let text = sentence(Language::En, &s, &status, &[]);
    assert!(text.contains("used 99 %"), "{text}");
    assert!(text.contains("SLI 99.90 %"), "{text}");
    let strict = Slo {
        objective: 99.99,
        ..slo(SloWindow::Rolling30d)
    };
    let text = sentence(
        Language::En,
        &strict,
        &st(SloWindow::Rolling30d, 0.5, 99.99999, 1.0, None),
        &[],
    );
    assert!(text.contains("(SLI 99.999 %, objective 99.99 %)"), "{text}");
}

#[test]
fn only_slos_over_a_quarter_spent_burning_or_firing_get_a_line() {
    let s = slo(SloWindow::Rolling30d);
    let quiet = st(SloWindow::Rolling30d, 0.24, 99.98, 1.0, Some(NOW + DAY_MS));
    assert_eq!(slo_line(&s, &quiet, &[]), None);
    for (spent, burn, firing) in [
        (0.25, 0.0, vec![]),
        (0.0, 1.01, vec![]),
        (0.0, 0.0, vec!["ticket".to_string()]),
    ] {
        let status = st(SloWindow::Rolling30d, spent, 99.98, burn, None);
        let line = slo_line(&s, &status, &firing).expect("a line");
        assert_eq!(line.text, sentence(Language::En, &s, &status, &firing));
        assert_eq!((line.id.as_str(), line.firing), ("checkout", firing));
    }
}

#[test]
fn a_line_from_a_real_status_has_its_numbers() {
    // One check a minute for 30 days, the last 30 minutes failing: 30 of 43.2 minutes spent,
    // a 6-hour burn rate of 30/360 / 0.001.
    let mut series = SloSeries::default();
    for m in (0..30 * 24 * 60).rev() {
        let failed = u64::from(m < 30);
        series.add_counts(
            NOW - m * MINUTE_MS,
            SliCounts {
                good: 1 - failed,
                total: 1,
                excluded: 0,
            },
        );
    }
    let s = slo(SloWindow::Rolling30d);
    let status = status(&s, &series, NOW);
    let line = slo_line(&s, &status, &["page".to_string()]).expect("a line");
    assert_eq!(line.spent_percent.floor(), 69.0);
    assert!((line.burn_6h - 30.0 / 360.0 / 0.001).abs() < 1e-6);
    // 13.2 of 43.2 minutes left at a burn rate of 83.3: 13.2 × 30 days / 83.3 = 6.84 hours.
    assert_eq!(
        line.text,
        "Checkout API has used 69 % of its 30-day error budget (SLI 99.93 %, objective 99.9 %); \
         at the current rate it runs out on 2 December. Alerts firing: page."
    );
}

#[test]
fn persian_and_arabic_keep_their_own_letters_and_ascii_digits() {
    let mut texts = Vec::new();
    for window in [
        SloWindow::Rolling28d,
        SloWindow::Rolling30d,
        SloWindow::CalendarMonth,
    ] {
        let s = slo(window);
        for (spent, burn, at) in [
            (0.63, 2.0, Some(DEC_24)),
            (1.2, 2.0, Some(NOW)),
            (0.3, 0.0, None),
            (0.3, 0.5, Some(NOW + 60 * DAY_MS)),
        ] {
            let status = st(window, spent, 99.9, burn, at);
            for lang in LANGS {
                texts.push((
                    lang,
                    sentence(lang, &s, &status, &["page".into(), "ticket".into()]),
                ));
            }
        }
    }
    for m in 0..12 {
        for lang in LANGS {
            texts.push((lang, month_name(lang, NOW + m * 31 * DAY_MS).to_string()));
        }
    }
    for (lang, t) in texts {
        assert!(
            !t.chars().any(|c| ('\u{0660}'..='\u{0669}').contains(&c)
                || ('\u{06F0}'..='\u{06F9}').contains(&c)),
            "non-ASCII digits in {t:?}"
        );
        match lang {
            Language::Fa => assert!(
                !t.contains('\u{064A}') && !t.contains('\u{0643}'),
                "Arabic ي or ك in Persian {t:?}"
            ),
            Language::Ar => assert!(
                !t.contains('\u{06CC}') && !t.contains('\u{06A9}') && !t.contains('\u{06AF}'),
                "Persian letter in Arabic {t:?}"
            ),
            Language::En => assert!(t.is_ascii(), "{t:?}"),
        }
        if lang.rtl() {
            assert!(
                t.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)),
                "{t:?}"
            );
        }
    }
}

#[test]
fn a_digest_carries_at_most_twenty_lines_and_counts_the_rest() {
    let s = slo(SloWindow::Rolling30d);
    let status = st(SloWindow::Rolling30d, 0.5, 99.95, 2.0, Some(DEC_24));
    let mut lines: Vec<SloLine> = (0..23)
        .map(|i| SloLine {
            id: format!("slo-{i:02}"),
            spent_percent: 50.0 + i as f64,
            ..slo_line(&s, &status, &[]).expect("a line")
        })
        .collect();
    lines[22].firing = vec!["page".into()];
    lines.sort_by(reading_order);
    // Firing first, then most spent.
    assert_eq!(lines[0].id, "slo-22");
    assert_eq!(lines[1].id, "slo-21");
    let mut digest = crate::digest::report::global_digest(NOW, &[], Vec::new(), NOW);
    let before = digest.summary.clone();
    add_to_digest(&mut digest, lines);
    assert_eq!(digest.slos.len(), MAX_LINES);
    assert_eq!(digest.slos[0].id, "slo-22");
    assert!(digest.summary.starts_with(&before));
    assert_eq!(digest.summary.matches("has used 50 %").count(), MAX_LINES);
    assert!(
        digest
            .summary
            .ends_with(" 3 more SLOs need attention: see GET /v1/slos."),
        "{}",
        digest.summary
    );
}

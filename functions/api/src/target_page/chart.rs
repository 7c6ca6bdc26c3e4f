//! The numbers of a target page's response-time chart: p50 and p95 per period (hour or day)
//! from the rollups, as SVG polylines over a time axis with labelled ticks and a latency axis
//! in ms. The template draws them; every label here is a number or a time.

use std::fmt::Write as _;

use lookout_core::digest::rollup::Rollup;

/// The view box's size and the plot's margins, in SVG user units.
/// Narrow enough that 14-unit text stays readable when a phone scales the chart down to about
/// 360 px.
pub const WIDTH: f64 = 480.0;
pub const HEIGHT: f64 = 220.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 22.0;
const TOP: f64 = 26.0;
const BOTTOM: f64 = 30.0;

/// A labelled tick: its position along its axis and its text.
pub struct Tick {
    /// x for the time axis, y for the latency axis.
    pub at: f64,
    pub label: String,
}

/// A chart ready to draw.
pub struct Chart {
    pub width: f64,
    pub height: f64,
    /// The plot area: left, top, right and bottom edges.
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
    /// The p50 line: one `points` attribute per run of periods with data (a gap breaks it).
    pub p50: Vec<String>,
    /// The p95 line, likewise.
    pub p95: Vec<String>,
    /// Latency ticks (0, half, top), labelled with the number of ms.
    pub y_ticks: Vec<Tick>,
    /// The latency axis's unit (the word for ms), written above it.
    pub unit: String,
    /// Time ticks.
    pub x_ticks: Vec<Tick>,
}

/// The smallest 1, 2 or 5 × 10ⁿ at or above `v` (ms, at least 1): the latency axis's top.
pub fn nice_ceiling(v: u64) -> u64 {
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            let top = step.saturating_mul(m);
            if top >= v || top == u64::MAX {
                return top;
            }
        }
        step = step.saturating_mul(10);
    }
}

impl Chart {
    /// The chart of `rollups` (one target's, of one period length `period_ms`) from `from` to
    /// `to` (epoch ms), each drawn at its period's middle; `x_ticks` are (time, label) pairs
    /// and `ms` the unit's word. `None` when no rollup in the span has a latency.
    pub fn new(
        rollups: &[Rollup],
        period_ms: i64,
        from: i64,
        to: i64,
        x_ticks: Vec<(i64, String)>,
        ms: &str,
    ) -> Option<Chart> {
        let inside: Vec<&Rollup> = rollups
            .iter()
            .filter(|r| r.start >= from && r.start < to)
            .collect();
        let max = inside
            .iter()
            .filter_map(|r| r.latency.map(|l| l.p95.max(l.p50)))
            .max()?;
        let top_ms = nice_ceiling(max.max(1));
        let (right, bottom) = (WIDTH - RIGHT, HEIGHT - BOTTOM);
        let span = (to - from).max(1) as f64;
        let x = |t: i64| LEFT + (t - from) as f64 / span * (right - LEFT);
        let y = |v: u64| bottom - v as f64 / top_ms as f64 * (bottom - TOP);
        let mut sorted = inside;
        sorted.sort_by_key(|r| r.start);
        let line = |pick: fn(&lookout_core::digest::rollup::Latency) -> u64| {
            let mut runs: Vec<String> = Vec::new();
            let mut current = String::new();
            let mut last: Option<i64> = None;
            for r in &sorted {
                let Some(l) = r.latency.as_ref() else {
                    if !current.is_empty() {
                        runs.push(std::mem::take(&mut current));
                    }
                    last = None;
                    continue;
                };
                // A missing period (no rollup at all) breaks the line too.
                if last.is_some_and(|s| r.start - s > period_ms) && !current.is_empty() {
                    runs.push(std::mem::take(&mut current));
                }
                let _ = write!(
                    current,
                    "{:.1},{:.1} ",
                    x(r.start + period_ms / 2),
                    y(pick(l))
                );
                last = Some(r.start);
            }
            if !current.is_empty() {
                runs.push(current);
            }
            runs.into_iter().map(|s| s.trim_end().to_string()).collect()
        };
        let p50 = line(|l| l.p50);
        let p95 = line(|l| l.p95);
        let y_ticks = [0, top_ms / 2, top_ms]
            .into_iter()
            .map(|v| Tick {
                at: y(v),
                label: v.to_string(),
            })
            .collect();
        let x_ticks = x_ticks
            .into_iter()
            .filter(|(t, _)| *t >= from && *t <= to)
            .map(|(t, label)| Tick { at: x(t), label })
            .collect();
        Some(Chart {
            width: WIDTH,
            height: HEIGHT,
            left: LEFT,
            top: TOP,
            right,
            bottom,
            p50,
            p95,
            y_ticks,
            unit: ms.to_string(),
            x_ticks,
        })
    }
}

//! One kind's part of a digest run: the hour's rollups and the kind's overall one, anomalies,
//! each target's digest and uptime windows, and the kind's uptime table.

use std::collections::HashMap;

use futures::{StreamExt as _, TryStreamExt as _};

use crate::ports::{DigestStore, HistoryStore, Latest, StateStore, StoreError, TargetUptime};
use lookout_core::digest::anomaly::{detect, Anomaly, Thresholds};
use lookout_core::digest::report::{target_digest, Digest};
use lookout_core::digest::rollup::{
    overall, roll_up_hour, uptime, DayCell, Period, Rollup, BAR_DAYS, DAY_MS, HOUR_MS,
};
use lookout_core::domain::{Target, TargetKind};

use super::{DigestError, BASELINE_HOURS, CONCURRENCY};

/// The hour digested and what follows from it.
pub(super) struct Span {
    /// Start of the hour, epoch ms.
    pub hour: i64,
    /// The time of the run, epoch ms.
    pub now: i64,
    /// The hour is the last of its UTC day and is over: day rollups and daily reports are due.
    pub day_ends: bool,
    /// Start of the hour's UTC day, epoch ms.
    pub day_start: i64,
}

impl Span {
    /// The span of the hour starting at `hour`, digested at `now` (epoch ms).
    pub fn new(hour: i64, now: i64) -> Self {
        Span {
            hour,
            now,
            day_ends: (hour + HOUR_MS).rem_euclid(DAY_MS) == 0 && hour + HOUR_MS <= now,
            day_start: Period::Day.start_of(hour),
        }
    }

    /// The end of the hour (exclusive), epoch ms.
    fn until(&self) -> i64 {
        self.hour + HOUR_MS
    }

    /// The start of the baseline before the hour, epoch ms.
    fn baseline_from(&self) -> i64 {
        self.hour - BASELINE_HOURS * HOUR_MS
    }
}

/// One target's part of the run.
pub(super) struct Judged {
    pub target_id: String,
    pub digest: Digest,
    /// Its day rollup, after a day's last hour.
    pub day: Option<Rollup>,
    /// Its uptime bar: the days with checks of the last [`BAR_DAYS`], oldest first, the last
    /// being the hour's day so far.
    pub days: Vec<DayCell>,
}

/// One kind's part of the run.
pub(super) struct KindDigest {
    pub kind: TargetKind,
    /// The targets' digests, by id.
    pub judged: Vec<Judged>,
    /// Anomalies of all the kind's targets together.
    pub anomalies: Vec<Anomaly>,
    pub rollups_written: usize,
    /// The targets' states (snapshot caught up), for the daily report.
    pub latest: HashMap<String, Latest>,
}

/// Digests the hour of one kind's `targets` (not empty): writes the hourly rollups, the kind's
/// overall rollup (and its day rollup after a day's last hour) and the uptime table; returns
/// the targets' digests with their day rollups, for the caller to write.
pub(super) async fn digest_kind<S>(
    store: &S,
    kind: TargetKind,
    targets: &[&Target],
    span: &Span,
) -> Result<KindDigest, DigestError>
where
    S: StateStore + HistoryStore + DigestStore + Sync,
{
    let thresholds = Thresholds::default();
    let mut latest = store.latest(kind).await?;
    crate::ports::catch_up_all(&mut latest, targets.iter().copied());
    let (hourly, anomalies, rollups_written) =
        roll_up_kind(store, kind, targets, span, &thresholds).await?;
    let names: HashMap<&str, &str> = targets
        .iter()
        .map(|t| (t.id.as_str(), t.name.as_str()))
        .collect();
    // Uptime windows: 24 h and 7 d from the hours read for the baseline; 30 and 365 d from the
    // day rollups, read again after a day ends (or for a target the table lacks), otherwise
    // kept from the last run. The uptime bar likewise: its earlier days are kept from the last
    // run (read again when that run had none), today's counts from its hours.
    let previous: HashMap<String, TargetUptime> = store
        .uptime_table(kind)
        .await?
        .into_iter()
        .map(|t| (t.target_id.clone(), t))
        .collect();
    let ctx = TargetRun {
        kind,
        span,
        thresholds: &thresholds,
        latest: &latest,
        previous: &previous,
    };
    let mut judged: Vec<Judged> = futures::stream::iter(hourly.into_iter().map(|current| {
        let name = names
            .get(current.target_id.as_str())
            .copied()
            .unwrap_or_default();
        judge_target(store, &ctx, name, current)
    }))
    .buffer_unordered(CONCURRENCY)
    .try_collect()
    .await?;
    judged.sort_by(|a, b| a.target_id.cmp(&b.target_id));
    let table: Vec<TargetUptime> = judged
        .iter()
        .map(|j| TargetUptime {
            target_id: j.target_id.clone(),
            windows: j.digest.uptime.clone(),
            days: j.days.clone(),
        })
        .collect();
    store.put_uptime(kind, &table).await?;
    Ok(KindDigest {
        kind,
        judged,
        anomalies,
        rollups_written,
        latest,
    })
}

/// Rolls up the hour's history of the kind: writes the targets' hourly rollups and the
/// overall one (and after a day's last hour the overall day rollup), and looks for anomalies of
/// the kind as a whole. Returns the targets' hourly rollups, those anomalies and the number of
/// rollups written.
async fn roll_up_kind<S: HistoryStore + DigestStore + Sync>(
    store: &S,
    kind: TargetKind,
    targets: &[&Target],
    span: &Span,
    thresholds: &Thresholds,
) -> Result<(Vec<Rollup>, Vec<Anomaly>, usize), DigestError> {
    let results = store
        .history(kind, span.hour, span.until() - 1, targets.len())
        .await?;
    // Disabled targets count only if they were checked in the hour.
    let checked: std::collections::HashSet<&str> =
        results.iter().map(|r| r.target_id.as_str()).collect();
    let ids: Vec<(String, TargetKind)> = targets
        .iter()
        .filter(|t| t.enabled || checked.contains(t.id.as_str()))
        .map(|t| (t.id.clone(), kind))
        .collect();
    let hourly = roll_up_hour(&ids, span.hour, &results);
    let all = overall(kind, span.hour, &hourly);
    let mut writes = hourly.clone();
    writes.push(all.clone());
    store.put_rollups(&writes).await?;
    let mut written = writes.len();
    // All targets of the kind together.
    let mut series = store
        .rollups("*", kind, Period::Hour, span.baseline_from(), span.hour)
        .await?;
    series.push(all);
    let mut anomalies = detect(&series, thresholds);
    for a in &mut anomalies {
        a.explanation = format!("{}: {}", kind.plural(), a.explanation);
    }
    if span.day_ends {
        let day: Vec<&Rollup> = series
            .iter()
            .filter(|r| r.start >= span.day_start)
            .collect();
        let merged = Rollup::merge("*", kind, Period::Day, span.day_start, &day);
        store.put_rollups(&[merged]).await?;
        written += 1;
    }
    Ok((hourly, anomalies, written))
}

/// What judging one target of a kind reads.
struct TargetRun<'a> {
    kind: TargetKind,
    span: &'a Span,
    thresholds: &'a Thresholds,
    /// The kind's states.
    latest: &'a HashMap<String, Latest>,
    /// The uptime table of the last run, by target id.
    previous: &'a HashMap<String, TargetUptime>,
}

/// One target's digest: its hour (`current`) against its baseline, its anomalies, its uptime
/// windows and (after a day's last hour) its day rollup. `name` is empty when the target has
/// none; its id is used then.
async fn judge_target<S>(
    store: &S,
    ctx: &TargetRun<'_>,
    name: &str,
    current: Rollup,
) -> Result<Judged, StoreError>
where
    S: DigestStore + Sync,
{
    let (kind, span) = (ctx.kind, ctx.span);
    let id = current.target_id.clone();
    let mut series = store
        .rollups(&id, kind, Period::Hour, span.baseline_from(), span.hour)
        .await?;
    let baseline_len = series.len();
    series.push(current.clone());
    let anomalies = detect(&series, ctx.thresholds);
    let state = ctx.latest.get(&id).map(|l| &l.state);
    let name = if name.is_empty() { id.as_str() } else { name };
    let mut digest = target_digest(
        name,
        &current,
        &series[..baseline_len],
        anomalies,
        state,
        Vec::new(),
        span.now,
    );
    let day = span.day_ends.then(|| {
        let hours: Vec<&Rollup> = series
            .iter()
            .filter(|r| r.start >= span.day_start)
            .collect();
        Rollup::merge(&id, kind, Period::Day, span.day_start, &hours)
    });
    let kept = ctx.previous.get(&id).filter(|_| !span.day_ends);
    // Days before today; today counts from its hours in `series`.
    let read_days = kept.is_none_or(|k| k.days.is_empty());
    let mut days = Vec::new();
    if read_days {
        days = store
            .rollups(
                &id,
                kind,
                Period::Day,
                span.until() - 365 * DAY_MS,
                span.day_start,
            )
            .await?;
    }
    let mut windows = uptime(span.until(), &series, &days);
    for w in windows
        .iter_mut()
        .filter(|w| w.window == "30d" || w.window == "365d")
    {
        if let Some(o) = kept.and_then(|old| old.windows.iter().find(|o| o.window == w.window)) {
            *w = o.clone();
        }
    }
    let earlier: Vec<DayCell> = if read_days {
        days.iter().map(cell_of).collect()
    } else {
        kept.map(|k| k.days.clone()).unwrap_or_default()
    };
    let bar = uptime_bar(span.day_start, &earlier, &series);
    digest.uptime = windows;
    Ok(Judged {
        target_id: id,
        digest,
        day,
        days: bar,
    })
}

/// The counts of a day rollup as a bar cell.
fn cell_of(r: &Rollup) -> DayCell {
    DayCell {
        start: r.start,
        checks: r.checks,
        failures: r.failures,
    }
}

/// The uptime bar of the day starting at `today` (epoch ms, UTC midnight): the cells of
/// `earlier` of the [`BAR_DAYS`] `- 1` days before it, then today's from the hourly rollups in
/// `hours` that start today. Days without checks are left out; the cells are oldest first.
pub(super) fn uptime_bar(today: i64, earlier: &[DayCell], hours: &[Rollup]) -> Vec<DayCell> {
    let from = today - (BAR_DAYS as i64 - 1) * DAY_MS;
    let mut bar: Vec<DayCell> = earlier
        .iter()
        .filter(|c| c.start >= from && c.start < today && c.checks > 0)
        .copied()
        .collect();
    bar.sort_by_key(|c| c.start);
    bar.dedup_by_key(|c| c.start);
    let mut now = DayCell {
        start: today,
        checks: 0,
        failures: 0,
    };
    for h in hours
        .iter()
        .filter(|h| h.start >= today && h.start < today + DAY_MS)
    {
        now.checks += h.checks;
        now.failures += h.failures;
    }
    if now.checks > 0 {
        bar.push(now);
    }
    bar
}

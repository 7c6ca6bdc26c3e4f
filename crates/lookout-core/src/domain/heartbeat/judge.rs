//! How a heartbeat (push) target's pings become a check result, as healthchecks.io judges a
//! check ("how checks work": period and grace, `/start` and measured run time, `/fail`, exit
//! codes). Pure: the probe run and `POST /v1/checks` call [`evaluate`] with the record as
//! stored and the time of the round.
//!
//! The rules, newest news first (a finishing ping is an `ok` or a `fail`; a `fail` wins a tie
//! of the same millisecond; `log` pings change nothing):
//! 1. never pinged, or only `log` pings, or a first run started and still within `grace_s`:
//!    no result (healthchecks' "new"): the target waits for its first ping and raises nothing;
//! 2. a `start` newer than the last finishing ping, more than `grace_s` ago: `failed`,
//!    [`ErrorKind::Late`] (the run is taking too long or died without a word);
//! 3. the last finishing ping was a `fail`, or an `ok` with a non-zero exit code: `failed`,
//!    [`ErrorKind::Reported`], with the job's message; it stays so until the next `ok`;
//! 4. the last finishing ping more than `period_s + grace_s` ago (exactly at the limit is still
//!    in time), and no run started before that limit: `failed`, [`ErrorKind::Late`] ("no ping
//!    for 2 h 5 min, expected every 1 h with 5 min grace");
//! 5. else `up`, with `latency_ms` the last run's time (its `start` to its finish) when a
//!    `start` preceded the finish (within 72 h), else 0. The outcome is `up` however long the run took:
//!    `degraded_latency_ms` is for answers, and a job's run time is not one (a job that runs
//!    too long is caught by rule 2), so a long job is never `slow`.
//!
//! A `start` within `grace_s` gives the run until `start + grace_s` even when the period is
//! over (rule 4 waits for it), but never brings a failed target up: only a finishing ping
//! does.

use super::{PingRecord, PingStatus};
use crate::domain::result::{CheckResult, ErrorKind, Outcome};
use crate::domain::target::{HeartbeatCheck, Target};
use crate::time::{DAY_MS, HOUR_MS, MINUTE_MS};

/// The check result of heartbeat `target` (whose check is `check`) at `now_ms` (epoch ms)
/// from its ping record; `None` while there is nothing to judge (rule 1 of the module's doc).
/// The result's `at` is `now_ms`, `attempts` 1, `bytes` 0.
pub fn evaluate(
    target: &Target,
    check: &HeartbeatCheck,
    record: Option<&PingRecord>,
    now_ms: i64,
) -> Option<CheckResult> {
    let record = record?;
    let grace_ms = i64::from(check.grace_s) * 1000;
    let period_ms = i64::from(check.period_s) * 1000;
    // The newest finishing ping: (time, whether it was a fail). A fail wins a tie.
    let done = match (record.last_ok_at, record.last_fail_at) {
        (Some(ok), Some(fail)) if fail >= ok => Some((fail, true)),
        (Some(ok), _) => Some((ok, false)),
        (None, Some(fail)) => Some((fail, true)),
        (None, None) => None,
    };
    let running = record
        .last_start_at
        .filter(|s| done.is_none_or(|(at, _)| *s > at));
    let result = |outcome, error, message: String, latency_ms| CheckResult {
        target_id: target.id.clone(),
        kind: target.kind(),
        at: now_ms,
        outcome,
        status_code: None,
        latency_ms,
        connect_ms: None,
        ttfb_ms: None,
        cert_days_left: None,
        bytes: 0,
        attempts: 1,
        error,
        message: Some(message),
    };
    if let Some(start) = running.filter(|s| now_ms - s > grace_ms) {
        let message = format!(
            "the run started {} ago and has not finished; runs may last {} (grace)",
            duration(now_ms - start),
            duration(grace_ms)
        );
        return Some(result(Outcome::Failed, Some(ErrorKind::Late), message, 0));
    }
    let (done_at, failed) = done?;
    let status = if failed {
        PingStatus::Fail
    } else {
        PingStatus::Ok
    };
    let finish = record
        .pings
        .iter()
        .position(|p| p.at == done_at && p.status == status);
    let exit_code = finish
        .and_then(|i| record.pings[i].exit_code)
        .filter(|c| *c != 0);
    if failed || exit_code.is_some() {
        let mut message = String::from("the job reported failure");
        let finish = finish.map(|i| &record.pings[i]);
        if let Some(code) = finish.and_then(|p| p.exit_code) {
            message.push_str(&format!(" (exit code {code})"));
        }
        if let Some(m) = finish.and_then(|p| p.message.as_deref()) {
            message.push_str(": ");
            message.push_str(m);
        }
        return Some(result(
            Outcome::Failed,
            Some(ErrorKind::Reported),
            message,
            0,
        ));
    }
    let deadline = done_at + period_ms + grace_ms;
    if now_ms > deadline && running.is_none_or(|s| s > deadline) {
        let message = format!(
            "no ping for {}, expected every {} with {} grace",
            duration(now_ms - done_at),
            duration(period_ms),
            duration(grace_ms)
        );
        return Some(result(Outcome::Failed, Some(ErrorKind::Late), message, 0));
    }
    let latency_ms = finish.map_or(0, |i| run_time_ms(record, i));
    let message = format!("last ping {} ago", duration(now_ms - done_at));
    Some(result(Outcome::Up, None, message, latency_ms))
}

/// A `start` and a finish further apart than this are not one run (healthchecks.io's
/// "measuring script run time": 72 hours), ms.
pub const MAX_RUN_TIME_MS: i64 = 72 * HOUR_MS;

/// The run time of the run whose finishing ping is `record.pings[finish]`, ms: from the
/// nearest older ping other than a `log`, when it is a `start` at most [`MAX_RUN_TIME_MS`]
/// earlier; else 0 (no start, or the pings kept no longer reach it).
fn run_time_ms(record: &PingRecord, finish: usize) -> u64 {
    let done_at = record.pings[finish].at;
    match record.pings[finish + 1..]
        .iter()
        .find(|p| p.status != PingStatus::Log)
    {
        Some(p) if p.status == PingStatus::Start && done_at - p.at <= MAX_RUN_TIME_MS => {
            u64::try_from(done_at - p.at).unwrap_or(0)
        }
        _ => 0,
    }
}

/// A duration for people: its two largest units among d, h, min and s, zeros left out
/// (`2 h 5 min`, `1 d`, `45 s`); under a second is `0 s`.
pub fn duration(ms: i64) -> String {
    let ms = ms.max(0);
    let units = [
        (DAY_MS, "d"),
        (HOUR_MS, "h"),
        (MINUTE_MS, "min"),
        (1000, "s"),
    ];
    let parts: Vec<String> = units
        .iter()
        .scan(ms, |left, (unit, name)| {
            let n = *left / unit;
            *left %= unit;
            Some((n, *name))
        })
        .skip_while(|(n, _)| *n == 0)
        .take(2)
        .filter(|(n, _)| *n > 0)
        .map(|(n, name)| format!("{n} {name}"))
        .collect();
    if parts.is_empty() {
        "0 s".to_string()
    } else {
        parts.join(" ")
    }
}

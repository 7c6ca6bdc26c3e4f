//! The hourly digest's SLO lines: each SLO's status at the time of the run from its record,
//! a line for those worth a word (`lookout_core::digest::slo::worth_a_line`), alerts firing
//! and most spent first.

use std::collections::HashMap;

use crate::ports::{SloStore, StoreError};
use lookout_core::digest::slo::{reading_order, slo_line, SloLine};
use lookout_core::domain::slo::{status, Slo, SloRecord};

/// The lines of the SLOs worth a word at `now` (epoch ms), with their definitions. An SLO
/// without a record yet (no check counted) has no events and gets no line.
///
/// # Errors
/// [`StoreError`] when the SLOs or their records cannot be read.
pub(super) async fn lines<S: SloStore + Sync>(
    store: &S,
    now: i64,
) -> Result<Vec<(Slo, SloLine)>, StoreError> {
    let slos = store.slos().await?;
    if slos.is_empty() {
        return Ok(Vec::new());
    }
    let records: HashMap<String, SloRecord> = store
        .slo_records()
        .await?
        .into_iter()
        .map(|r| (r.slo_id.clone(), r))
        .collect();
    let mut out: Vec<(Slo, SloLine)> = Vec::new();
    for slo in slos {
        let Some(record) = records.get(&slo.id) else {
            continue;
        };
        let firing: Vec<String> = record.alerts.firing.keys().cloned().collect();
        if let Some(line) = slo_line(&slo, &status(&slo, &record.series, now), &firing) {
            out.push((slo, line));
        }
    }
    out.sort_by(|a, b| reading_order(&a.1, &b.1));
    Ok(out)
}

#[cfg(test)]
mod tests;

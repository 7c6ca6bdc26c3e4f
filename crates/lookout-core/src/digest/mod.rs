//! The hourly digest: rollups of the check history, anomaly detection on them, plain-words
//! summaries per target and overall, and the daily report.
//!
//! - [`rollup`]: per target and hour (and day): checks, failures, uptime, latency min, mean,
//!   p50, p95, max; uptime over 24 hours, 7, 30 and 365 days.
//! - [`anomaly`]: latency, error-rate and flapping detectors with a score, a window and an
//!   explanation.
//! - [`report`]: the digests per target and overall, in plain words with recommendations.
//! - [`narrative`]: a language model's retelling of a digest (optional), its prompt of the
//!   digest's facts only, and what a run counts of its calls.
//! - [`slo`]: the global digest's SLO lines (budget spent, the date it runs out), in English,
//!   Arabic and Persian.

pub mod anomaly;
pub mod narrative;
pub mod report;
pub mod rollup;
pub mod slo;

//! The use cases: the flows the functions run, written against the [`crate::ports`] and the
//! [`crate::clock::Clock`], with no AWS types. A function crate builds the adapters, reads its
//! event and calls one use case.
//!
//! - [`probe_run`]: probe the due targets of one kind or both, apply the status state machine,
//!   commit the changes with their alerts, publish, and record the snapshot, history and runs.
//! - [`digest_run`]: roll up one hour, look for anomalies, write the digests and the uptime
//!   table, and after a day's last hour the day rollups and the daily report.
//! - [`delivery`]: alerts from the outbox to the publisher, each claimed first so that it is
//!   published once, and marked published after.
//! - [`incidents`]: alerts to the status page's incidents (opened, updated, resolved), and a
//!   notice of each change to the page's subscribers.
//! - [`notify`]: alerts to notification channels (Slack, Telegram, PagerDuty, ...), once per
//!   alert per channel, retried, recorded.
//! - [`sqs`]: Lambda's SQS event and partial batch response (notify, probe workers).
//! - [`event`]: what the functions' typed events share (a field that keeps a bad value so that
//!   the use case can say what is wrong with it).

pub mod delivery;
pub mod digest_run;
pub mod event;
pub mod incidents;
pub mod notify;
pub mod probe_run;
pub mod sqs;

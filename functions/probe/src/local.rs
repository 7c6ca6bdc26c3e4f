//! `probe --poll <queue url>`: the local stand-in of the work queue's event source mapping (the
//! local stack has none). Each round receives one task ([`QueuePoller`] with a batch of 1, as
//! the template's `BatchSize: 1`, long poll 1 s), hands it to [`crate::handle_tasks`] as the
//! SQS event Lambda would, and deletes it unless it was reported as failed; a failed one comes
//! back after the queue's visibility timeout and goes to its dead-letter queue after
//! `maxReceiveCount` receives. N workers are N processes (`make dev` runs one).
//!
//! Options after the URL: `--rounds N` stops after N rounds, `--until-idle` after the first
//! round that receives nothing (the demo and tests); by default it polls until killed.

use lookout_app::ports::{AlertPublisher, ShardLayout, Sharded};
use lookout_app::probe::Prober;
use lookout_app::usecases::probe_run::RunConfig;
use lookout_aws::sqs::{PollReport, QueueError, QueueMessage, QueuePoller};

use crate::event::{SqsAttributes, SqsEvent, SqsMessage};
use crate::{handle_tasks, ProbeStore};

/// How long to wait after a receive or delete failed (the queue is down), ms.
const BACKOFF_MS: u64 = 1_000;

/// What `--poll` asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollArgs {
    /// The queue to poll.
    pub queue_url: String,
    /// Rounds at most (`--rounds N`); `u64::MAX` by default.
    pub rounds: u64,
    /// Stop after a round that received nothing.
    pub until_idle: bool,
}

impl PollArgs {
    /// Reads `--poll <url> [--rounds N] [--until-idle]` from the program's arguments (without
    /// the program name); `Ok(None)` without `--poll` (run as a Lambda function).
    ///
    /// # Errors
    /// A message naming the argument that is missing or wrong.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<PollArgs>, String> {
        let mut args = args.into_iter();
        let mut url = None;
        let mut rounds = u64::MAX;
        let mut until_idle = false;
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--poll" => url = Some(args.next().ok_or("--poll needs the queue URL")?),
                "--rounds" => {
                    rounds = args
                        .next()
                        .and_then(|n| n.parse().ok())
                        .ok_or("--rounds needs a number")?;
                }
                "--until-idle" => until_idle = true,
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(url.map(|queue_url| PollArgs {
            queue_url,
            rounds,
            until_idle,
        }))
    }
}

/// The SQS event Lambda would give for `messages`.
pub fn event_of(messages: &[QueueMessage]) -> SqsEvent {
    SqsEvent {
        records: messages
            .iter()
            .map(|m| SqsMessage {
                message_id: m.message_id.clone(),
                body: m.body.clone(),
                attributes: SqsAttributes {
                    approximate_receive_count: Some(m.receive_count.to_string()),
                },
            })
            .collect(),
    }
}

/// A worker: the store, publisher, prober and settings a shard run needs.
pub struct Worker<'a, S, P> {
    /// The table (whole; narrowed per task).
    pub store: &'a S,
    /// Alert publisher.
    pub publisher: &'a P,
    /// Probe engine.
    pub prober: &'a Prober,
    /// Run settings.
    pub config: &'a RunConfig,
}

impl<S, P> Worker<'_, S, P>
where
    S: ProbeStore + Sharded + ShardLayout,
    P: AlertPublisher + Sync,
{
    /// One round: receive, run the tasks, delete those not reported failed. No deadline (the
    /// run's own bound: its window, the longest check and the finishing margin).
    ///
    /// # Errors
    /// [`QueueError`] when receiving or deleting fails.
    pub async fn poll_once(&self, poller: &QueuePoller) -> Result<PollReport, QueueError> {
        poller
            .poll_once(|messages| async move {
                let answer = handle_tasks(
                    self.store,
                    self.publisher,
                    self.prober,
                    self.config,
                    event_of(&messages),
                    None,
                )
                .await;
                Ok::<_, std::convert::Infallible>(answer.failed_ids())
            })
            .await
    }

    /// Polls as `args` say; answers the totals.
    pub async fn run(&self, poller: &QueuePoller, args: &PollArgs) -> PollReport {
        tracing::info!(queue = %poller.queue_url(), "polling the probe work queue (local event source mapping)");
        let mut total = PollReport::default();
        for _ in 0..args.rounds {
            match self.poll_once(poller).await {
                Ok(report) => {
                    total.received += report.received;
                    total.deleted += report.deleted;
                    total.failed += report.failed;
                    if report.received == 0 && args.until_idle {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "polling failed; trying again in a second");
                    tokio::time::sleep(std::time::Duration::from_millis(BACKOFF_MS)).await;
                }
            }
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Result<Option<PollArgs>, String> {
        PollArgs::parse(a.iter().map(|s| s.to_string()))
    }

    #[test]
    fn poll_arguments_read_in_any_order_and_nothing_means_lambda() {
        assert_eq!(args(&[]).unwrap(), None);
        let a = args(&["--until-idle", "--poll", "http://q", "--rounds", "3"])
            .unwrap()
            .unwrap();
        assert_eq!(
            a,
            PollArgs {
                queue_url: "http://q".into(),
                rounds: 3,
                until_idle: true
            }
        );
        assert_eq!(
            args(&["--poll", "http://q"]).unwrap().unwrap().rounds,
            u64::MAX
        );
        assert!(args(&["--poll"]).is_err());
        assert!(args(&["--poll", "q", "--rounds", "x"]).is_err());
        assert!(args(&["--bogus"]).is_err());
    }
}

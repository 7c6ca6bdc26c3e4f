//! Notifications end to end against DynamoDB Local and moto: alerts published to an SNS topic,
//! delivered into the notify queue (raw delivery on, as the template subscribes it, or off),
//! received by the local event source mapping (`lookout_aws::sqs::QueuePoller`) and handed to
//! the notify function's handler, which sends to the fake providers
//! (`common::providers`) through the production wiring (`notify::Deps::new`: channels and
//! delivery records in the table, secrets sealed at rest).
//!
//! The queue is the local stack's: visibility timeout 2 s, and after 3 receives moto's
//! `RedrivePolicy` moves a message to the dead-letter queue.

use aws_sdk_sqs::types::QueueAttributeName;
use lookout_app::ports::{ChannelStore, DeliveryLog};
use lookout_app::testing::logs::LogCapture;
use lookout_aws::sns::SnsPublisher;
use lookout_aws::sqs::{PollReport, QueuePoller};
use lookout_core::domain::Alert;
use lookout_core::notify::{Channel, DeliveryStatus};
use serde_json::{json, Value};

use crate::common::providers::{opsgenie_close_alias, Answer, FakeProviders, Provider};
use crate::common::{self, unique};

/// The local stack's sealing key (infra/local/local.env): channel secrets are sealed at rest.
const SECRETS_KEY: &str = "8Qveu7fL5tgDHBfdxdIrvZtOI57DMc8bfIpKY6SWjkY";
/// Receives before the dead-letter queue (the local stack's `maxReceiveCount`).
const MAX_RECEIVES: u32 = 3;

/// Secrets of the channels: none may appear in a log line or a delivery record.
const SLACK_SECRET: &str = "T0SLACK/B0SLACK/slacksecretslacksecret";
const DISCORD_SECRET: &str = "discordtokendiscordtoken";
const TEAMS_SECRET: &str = "teamssecretteamssecret";
const BOT_TOKEN: &str = "123456:telegramBotTokenSecret";
const ROUTING_KEY: &str = "R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY32";
const GENIE_KEY: &str = "genie-key-genie-key-secret";
const WEBHOOK_PATH_SECRET: &str = "webhookpathsecret";
const SIGNING_SECRET: &str = "signing-secret-signing-secret";
const SECRETS: &[&str] = &[
    SLACK_SECRET,
    "slacksecretslacksecret",
    DISCORD_SECRET,
    TEAMS_SECRET,
    BOT_TOKEN,
    "telegramBotTokenSecret",
    ROUTING_KEY,
    GENIE_KEY,
    WEBHOOK_PATH_SECRET,
    SIGNING_SECRET,
];

struct Pipeline {
    deps: notify::Deps,
    publisher: SnsPublisher,
    sqs: aws_sdk_sqs::Client,
    queue: String,
    dlq: String,
    poller: QueuePoller,
    fake: FakeProviders,
}

/// A fresh table, topic, notify queue and dead-letter queue (subscribed as the template does:
/// alerts only, raw delivery `raw`), fake providers, and the function's wiring pointed at them.
async fn pipeline(raw: bool) -> Pipeline {
    let sdk = common::aws().await;
    let (_, table) = common::fresh_table(&sdk).await;
    let sns = aws_sdk_sns::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let name = unique("lookout-notify");
    let topic = sns
        .create_topic()
        .name(&name)
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let arn_of = |url: String| {
        let sqs = sqs.clone();
        async move {
            sqs.get_queue_attributes()
                .queue_url(url)
                .attribute_names(QueueAttributeName::QueueArn)
                .send()
                .await
                .unwrap()
                .attributes()
                .unwrap()[&QueueAttributeName::QueueArn]
                .clone()
        }
    };
    let dlq = sqs
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let redrive = json!({"deadLetterTargetArn": arn_of(dlq.clone()).await,
        "maxReceiveCount": MAX_RECEIVES});
    let queue = sqs
        .create_queue()
        .queue_name(&name)
        .attributes(QueueAttributeName::VisibilityTimeout, "2")
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(arn_of(queue.clone()).await)
        .attributes("RawMessageDelivery", raw.to_string())
        .attributes("FilterPolicyScope", "MessageAttributes")
        .attributes(
            "FilterPolicy",
            json!({"kind": [{"exists": true}]}).to_string(),
        )
        .send()
        .await
        .unwrap();

    let fake = FakeProviders::start().await;
    let base = fake.base().to_string();
    let env = [
        ("LOOKOUT_TABLE", table.as_str()),
        ("LOOKOUT_SECRETS_KEY", SECRETS_KEY),
        ("LOOKOUT_ALLOW_PRIVATE_TARGETS", "true"),
        ("LOOKOUT_TELEGRAM_API_URL", &base),
        ("LOOKOUT_PAGERDUTY_EVENTS_URL", &base),
        ("LOOKOUT_OPSGENIE_API_URL", &base),
        ("LOOKOUT_NOTIFY_ATTEMPTS", "3"),
        ("LOOKOUT_NOTIFY_MAX_WAIT_S", "5"),
        ("LOOKOUT_NOTIFY_TIMEOUT_MS", "1000"),
    ];
    let settings = lookout_app::config::Settings::from_lookup(|k| {
        env.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    })
    .unwrap();
    let mut deps = notify::Deps::new(&lookout_aws::Aws::from_sdk_config(sdk.clone()), &settings);
    // Retries 50 ms apart rather than the production second (Retry-After still honoured).
    deps.notifier.settings.backoff_ms = 50;
    Pipeline {
        deps,
        publisher: SnsPublisher::new(sns, topic),
        poller: QueuePoller::new(sqs.clone(), &queue),
        sqs,
        queue,
        dlq,
        fake,
    }
}

impl Pipeline {
    /// Stores a channel (as the API would: secrets sealed by the store).
    async fn channel(&self, v: Value) -> Channel {
        let c: Channel = serde_json::from_value(v).unwrap();
        self.deps
            .notifier
            .channels
            .put_channel(&c, None)
            .await
            .unwrap()
    }

    /// Every kind that posts over HTTP, pointed at the fake providers.
    async fn http_channels(&self) {
        let f = &self.fake;
        for v in [
            json!({"id": "slack", "name": "Slack", "kind": "slack",
                "config": {"webhook_url": f.slack_url(SLACK_SECRET)}}),
            json!({"id": "telegram", "name": "Telegram", "kind": "telegram", "language": "fa",
                "config": {"bot_token": BOT_TOKEN, "chat_id": "-1001234"}}),
            json!({"id": "discord", "name": "Discord", "kind": "discord",
                "config": {"webhook_url": f.discord_url(DISCORD_SECRET)}}),
            json!({"id": "teams", "name": "Teams", "kind": "teams", "language": "ar",
                "config": {"webhook_url": f.teams_url(TEAMS_SECRET)}}),
            json!({"id": "pagerduty", "name": "PagerDuty", "kind": "pagerduty",
                "config": {"routing_key": ROUTING_KEY}}),
            json!({"id": "opsgenie", "name": "Opsgenie", "kind": "opsgenie",
                "config": {"api_key": GENIE_KEY}}),
            json!({"id": "webhook", "name": "Webhook", "kind": "webhook",
                "config": {"url": f.webhook_url(WEBHOOK_PATH_SECRET, SIGNING_SECRET),
                    "secret": SIGNING_SECRET}}),
        ] {
            self.channel(v).await;
        }
    }

    async fn publish(&self, alert: &Alert) {
        use lookout_app::ports::AlertPublisher;
        self.publisher.publish(alert).await.unwrap();
    }

    /// The local event source mapping until the queue stays empty for longer than the
    /// visibility timeout (so failed messages had their chance to come back): rounds of a 1 s
    /// long poll, at most 40.
    async fn pump(&self) -> PollReport {
        let mut total = PollReport::default();
        let mut quiet = 0;
        for _ in 0..40 {
            let r = notify::local::poll_once(&self.poller, &self.deps.notifier)
                .await
                .unwrap();
            total.received += r.received;
            total.deleted += r.deleted;
            total.failed += r.failed;
            quiet = if r.received == 0 { quiet + 1 } else { 0 };
            if quiet >= 4 {
                break;
            }
        }
        total
    }

    /// The bodies in the dead-letter queue (received, not deleted).
    async fn dead_letters(&self) -> Vec<String> {
        let got = self
            .sqs
            .receive_message()
            .queue_url(&self.dlq)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        got.messages()
            .iter()
            .filter_map(|m| m.body.clone())
            .collect()
    }
}

/// A status change of `target` from `old` to `new` at `at` (epoch ms), as the probe run
/// raises it.
fn alert(target: &str, old: &str, new: &str, at: i64) -> Alert {
    let recovery = new == "healthy";
    serde_json::from_value(json!({
        "key": format!("{target}#{new}#{at}"),
        "kind": if recovery { "recovery" } else { "status_change" },
        "severity": if recovery { "info" } else { "critical" },
        "target_id": target, "target_name": format!("Web <{target}> & co"),
        "target_kind": "server", "group": "edge", "old_status": old, "new_status": new,
        "at": at, "subject": format!("{target} is {new}"),
        "text": format!("{target} is {new}: connection refused"), "tags": ["prod"]
    }))
    .unwrap()
}

fn no_problems(p: &Pipeline) {
    let problems = p.fake.problems();
    assert!(
        problems.is_empty(),
        "requests off the providers' formats: {problems:#?}"
    );
}

#[tokio::test]
async fn one_message_per_alert_per_channel_when_a_run_publishes_twice_and_a_message_is_handled_twice(
) {
    let p = pipeline(true).await;
    p.http_channels().await;
    p.channel(
        json!({"id": "elsewhere", "name": "Other team", "kind": "slack",
        "config": {"webhook_url": p.fake.slack_url("other/team/secret")},
        "route": {"tags": ["staging"]}}),
    )
    .await;
    let now = lookout_core::time::now_ms();
    let down = alert("web", "healthy", "down", now);
    // A run that published twice (SNS delivers both).
    p.publish(&down).await;
    p.publish(&down).await;
    let report = p.pump().await;
    assert_eq!((report.received, report.failed), (2, 0), "{report:?}");
    no_problems(&p);
    for provider in [
        Provider::Slack,
        Provider::Telegram,
        Provider::Discord,
        Provider::Teams,
        Provider::Pagerduty,
        Provider::Opsgenie,
        Provider::Webhook,
    ] {
        assert_eq!(
            p.fake.accepted_by(provider).len(),
            1,
            "{provider:?}: one message for the alert"
        );
    }
    assert!(
        !p.fake
            .received()
            .iter()
            .any(|r| r.path.contains("other/team")),
        "a channel whose route does not take the alert gets nothing"
    );

    // The same SQS message handed to the handler twice (SNS or SQS delivering it again).
    let other = alert("api", "healthy", "down", now + 1);
    p.publish(&other).await;
    let mut messages = Vec::new();
    for _ in 0..5 {
        messages = p.poller.receive().await.unwrap();
        if !messages.is_empty() {
            break;
        }
    }
    assert_eq!(messages.len(), 1);
    let event = notify::local::event_of(&messages);
    for _ in 0..2 {
        let answer = notify::handle(&p.deps.notifier, event.clone(), None)
            .await
            .unwrap();
        assert!(answer.batch_item_failures.is_empty(), "{answer:?}");
    }
    p.poller
        .delete(&messages.iter().collect::<Vec<_>>())
        .await
        .unwrap();
    assert_eq!(
        p.fake.accepted_by(Provider::Slack).len(),
        2,
        "one per alert"
    );
    assert_eq!(
        p.fake.accepted_by(Provider::Webhook).len(),
        2,
        "one per alert"
    );
    let record = p
        .deps
        .notifier
        .log
        .delivery("slack", &other.key)
        .await
        .unwrap()
        .expect("a delivery record");
    assert_eq!(record.status, DeliveryStatus::Sent);
}

#[tokio::test]
async fn a_recovery_resolves_the_pagerduty_incident_and_closes_the_opsgenie_alert_it_opened() {
    // Raw delivery off: the body is the SNS envelope.
    let p = pipeline(false).await;
    p.channel(json!({"id": "pd", "name": "PagerDuty", "kind": "pagerduty",
        "config": {"routing_key": ROUTING_KEY}}))
        .await;
    p.channel(json!({"id": "og", "name": "Opsgenie", "kind": "opsgenie",
        "config": {"api_key": GENIE_KEY}}))
        .await;
    let t = lookout_core::time::now_ms();
    p.publish(&alert("db", "healthy", "down", t)).await;
    p.publish(&alert("db", "down", "healthy", t + 60_000)).await;
    let report = p.pump().await;
    assert_eq!(report.failed, 0, "{report:?}");
    no_problems(&p);

    let pd = p.fake.accepted_by(Provider::Pagerduty);
    let actions: Vec<(&str, &str)> = pd
        .iter()
        .map(|r| {
            (
                r.body["event_action"].as_str().unwrap(),
                r.body["dedup_key"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(actions.len(), 2, "{actions:?}");
    assert_eq!(actions[0].0, "trigger");
    assert_eq!(actions[1].0, "resolve");
    assert_eq!(
        actions[0].1, actions[1].1,
        "the resolve names the trigger's dedup_key"
    );
    assert_eq!(pd[0].body["routing_key"], ROUTING_KEY);

    let og = p.fake.accepted_by(Provider::Opsgenie);
    assert_eq!(og.len(), 2, "{og:?}");
    assert_eq!(og[0].path, "/v2/alerts");
    let alias = og[0].body["alias"]
        .as_str()
        .expect("the create has an alias");
    assert_eq!(opsgenie_close_alias(&og[1].path).as_deref(), Some(alias));
    assert_eq!(og[1].query.as_deref(), Some("identifierType=alias"));
    assert_eq!(
        og[0].headers["authorization"],
        format!("GenieKey {GENIE_KEY}")
    );
}

#[tokio::test]
async fn a_429_is_retried_after_the_time_the_provider_asked_for() {
    let p = pipeline(true).await;
    p.channel(json!({"id": "slack", "name": "Slack", "kind": "slack",
        "config": {"webhook_url": p.fake.slack_url(SLACK_SECRET)}}))
        .await;
    p.channel(json!({"id": "tg", "name": "Telegram", "kind": "telegram",
        "config": {"bot_token": BOT_TOKEN, "chat_id": "42"}}))
        .await;
    // Slack says when in Retry-After, Telegram in the body's parameters.retry_after.
    p.fake
        .script(Provider::Slack, &[Answer::TooMany { retry_after_s: 1 }]);
    p.fake
        .script(Provider::Telegram, &[Answer::TooMany { retry_after_s: 2 }]);
    p.publish(&alert(
        "web",
        "healthy",
        "down",
        lookout_core::time::now_ms(),
    ))
    .await;
    let report = p.pump().await;
    assert_eq!((report.received, report.failed), (1, 0), "{report:?}");
    no_problems(&p);
    for (provider, wait_ms) in [(Provider::Slack, 1_000), (Provider::Telegram, 2_000)] {
        let got = p.fake.received_by(provider);
        assert_eq!(
            got.iter().map(|r| r.status).collect::<Vec<_>>(),
            [429, 200],
            "{provider:?}"
        );
        let waited = got[1].at_ms - got[0].at_ms;
        assert!(
            waited >= wait_ms - 50,
            "{provider:?} retried after {waited} ms, asked for {wait_ms}"
        );
    }
}

#[tokio::test]
async fn a_channel_answering_500_gets_the_message_again_until_it_is_dead_lettered_and_recorded_failed(
) {
    let p = pipeline(true).await;
    p.channel(json!({"id": "hook", "name": "Webhook", "kind": "webhook",
        "config": {"url": p.fake.webhook_url(WEBHOOK_PATH_SECRET, SIGNING_SECRET),
            "secret": SIGNING_SECRET}}))
        .await;
    p.fake.always(Provider::Webhook, Answer::Status(500));
    let down = alert("web", "healthy", "down", lookout_core::time::now_ms());
    p.publish(&down).await;
    let report = p.pump().await;
    assert_eq!(report.received, MAX_RECEIVES as usize, "{report:?}");
    assert_eq!(report.deleted, 0);
    no_problems(&p);
    // Every receive tried the channel (3 attempts each: the signature verified every time).
    assert_eq!(
        p.fake.received_by(Provider::Webhook).len(),
        (MAX_RECEIVES * 3) as usize
    );
    let dead = p.dead_letters().await;
    assert_eq!(
        dead.len(),
        1,
        "the message is kept in the dead-letter queue"
    );
    assert_eq!(notify::alert_of(&dead[0]).unwrap().key, down.key);
    let record = p
        .deps
        .notifier
        .log
        .delivery("hook", &down.key)
        .await
        .unwrap()
        .expect("a delivery record");
    assert_eq!(record.status, DeliveryStatus::Failed);
    assert_eq!(record.provider_status, Some(500));
    assert!(record.attempts >= 3 * MAX_RECEIVES, "{record:?}");
}

#[tokio::test]
async fn a_message_without_an_alert_goes_to_the_dead_letter_queue_untouched() {
    let p = pipeline(true).await;
    p.http_channels().await;
    let body = "this is not an alert";
    p.sqs
        .send_message()
        .queue_url(&p.queue)
        .message_body(body)
        .send()
        .await
        .unwrap();
    let report = p.pump().await;
    assert_eq!(
        (report.received, report.deleted),
        (MAX_RECEIVES as usize, 0)
    );
    assert_eq!(p.dead_letters().await, [body]);
    assert!(p.fake.received().is_empty(), "no provider was called");
}

#[tokio::test]
async fn no_secret_appears_in_any_log_line_or_delivery_record_of_a_run_with_failures() {
    // The test's runtime is single-threaded: every task of the run logs here.
    let logs = LogCapture::start(tracing::Level::DEBUG);

    let p = pipeline(true).await;
    p.http_channels().await;
    p.fake
        .script(Provider::Slack, &[Answer::TooMany { retry_after_s: 1 }]);
    p.fake.script(Provider::Telegram, &[Answer::Hang]);
    p.fake.always(Provider::Discord, Answer::Status(500));
    p.fake.script(Provider::Opsgenie, &[Answer::Status(503)]);
    let down = alert("web", "healthy", "down", lookout_core::time::now_ms());
    p.publish(&down).await;
    p.sqs
        .send_message()
        .queue_url(&p.queue)
        .message_body(format!("garbage {BOT_TOKEN}"))
        .send()
        .await
        .unwrap();
    p.pump().await;

    let text = logs.text();
    for expected in ["alert delivered to the channels", "dead-letter"] {
        assert!(
            text.contains(expected),
            "no captured line says {expected:?} ({} lines captured)",
            text.lines().count()
        );
    }
    let mut records = Vec::new();
    for id in [
        "slack",
        "telegram",
        "discord",
        "teams",
        "pagerduty",
        "opsgenie",
        "webhook",
    ] {
        let r = p.deps.notifier.log.delivery(id, &down.key).await.unwrap();
        records.push(format!("{r:?}"));
    }
    assert!(records.iter().any(|r| r.contains("Failed")), "{records:?}");
    for secret in SECRETS {
        for line in text.lines() {
            assert!(!line.contains(secret), "a secret in a log line: {line}");
        }
        for r in &records {
            assert!(!r.contains(secret), "a secret in a delivery record: {r}");
        }
    }
}

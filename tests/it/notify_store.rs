//! Notification channels and delivery records in DynamoDB Local, and e-mail through moto:
//! channels' secrets sealed in the table and in dumps, opened on read, `***` for a masked
//! store, refused without a key; writes conditional on the version; one conditional claim per
//! `(channel, alert key)` (one winner among concurrent claims, a failed or abandoned delivery
//! claimable again, a finish only under the claim it holds); records with a TTL, listed newest
//! first by status and by channel in pages (past the page budget of a status partition too);
//! resolve notes per `(channel, incident key)` that only move forward; mail published to an SNS
//! topic and sent through SES v2.

use crate::common;

use lookout_app::dump::{self, DumpOptions};
use lookout_app::ports::{
    ChannelStore, Claim, DeliveryLog, DeliveryOutcome, MailSender, StoreError,
};
use lookout_aws::dynamodb::DynamoStore;
use lookout_aws::mail::AwsMail;
use lookout_aws::s3::S3DumpStore;
use lookout_aws::sealing::{LocalKey, Sealer};
use lookout_core::domain::{Alert, AlertKind, Severity, Status, TargetKind};
use lookout_core::notify::render::Mail;
use lookout_core::notify::{Channel, DeliveryStatus};
use serde_json::json;

const SLACK_URL: &str = "https://hooks.slack.com/services/T000/B000/Sl4ckS3cretXYZ";
const HOOK_SECRET: &str = "whsec-0123456789abcdef";
const HOOK_URL: &str = "https://example.net/hook?token=H00kT0ken42";

fn key() -> LocalKey {
    LocalKey::parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap()
}

fn channels() -> Vec<Channel> {
    [
        json!({"id":"ops-slack","name":"Ops","kind":"slack",
               "config":{"webhook_url": SLACK_URL},"route":{"min_severity":"warning"}}),
        json!({"id":"hook","name":"Hook","kind":"webhook",
               "config":{"url": HOOK_URL, "secret": HOOK_SECRET},"language":"fa"}),
        json!({"id":"tg","name":"Telegram","kind":"telegram",
               "config":{"bot_token":"{{ssm:/lookout/tg}}","chat_id":"-100"}}),
    ]
    .into_iter()
    .map(|v| serde_json::from_value(v).unwrap())
    .collect()
}

fn assert_no_plaintext(text: &str, place: &str) {
    for secret in ["Sl4ckS3cretXYZ", HOOK_SECRET, "H00kT0ken42"] {
        assert!(!text.contains(secret), "{place} holds {secret}: {text}");
    }
}

/// Every item of `table`, as text.
async fn raw_items(ddb: &aws_sdk_dynamodb::Client, table: &str) -> String {
    let got = ddb.scan().table_name(table).send().await.unwrap();
    format!("{:?}", got.items())
}

fn alert(key: &str, at: i64) -> Alert {
    Alert {
        key: key.into(),
        kind: AlertKind::StatusChange,
        severity: Severity::Critical,
        target_id: "web".into(),
        target_name: "Web".into(),
        target_kind: TargetKind::Server,
        group: "api".into(),
        old_status: Status::Healthy,
        new_status: Status::Down,
        at,
        subject: "[CRITICAL] server Web is down".into(),
        text: "connection refused".into(),
        targets: Vec::new(),
        changes: Vec::new(),
        tags: vec!["prod".into()],
        locations: None,
        slo: None,
    }
}

fn outcome(status: DeliveryStatus, provider_status: Option<u16>) -> DeliveryOutcome {
    DeliveryOutcome {
        status,
        attempts: 2,
        provider_status,
        last_error: (status == DeliveryStatus::Failed).then(|| "HTTP 500".to_string()),
    }
}

async fn store() -> (aws_sdk_dynamodb::Client, String, DynamoStore) {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let store = DynamoStore::new(ddb.clone(), &table, 30).with_sealer(Sealer::local(key()));
    (ddb, table, store)
}

#[tokio::test]
async fn channel_secrets_are_sealed_in_the_table_and_the_dump_and_open_on_read() {
    let aws = common::aws().await;
    let (ddb, table, store) = store().await;
    let want = channels();
    for c in &want {
        let stored = store.put_channel(c, None).await.unwrap();
        assert_eq!(stored.version, 1);
    }
    let raw = raw_items(&ddb, &table).await;
    assert_no_plaintext(&raw, "the table");
    assert!(raw.contains("enc:v1:local:"), "{raw}");
    assert!(
        raw.contains("{{ssm:/lookout/tg}}") && raw.contains("-100"),
        "references and the rest stay readable: {raw}"
    );

    let read = store.channels().await.unwrap();
    let ids: Vec<&str> = read.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["hook", "ops-slack", "tg"]);
    for c in &want {
        let mut got = store.channel(&c.id).await.unwrap().unwrap();
        assert_eq!(got.version, 1);
        got.version = 0;
        assert_eq!(&got, c, "{} reads back as written", c.id);
    }
    assert!(store.channel("nope").await.unwrap().is_none());

    // A dump holds the channels (definitions), sealed.
    let (s3, bucket) = common::fresh_bucket(&aws).await;
    let dumps = S3DumpStore::new(s3.clone(), &bucket);
    let options = DumpOptions {
        segments: 1,
        include: lookout_app::dump::Include::parse("definitions").unwrap(),
        ..DumpOptions::default()
    };
    let manifest = dump::dump(&store, &dumps, &options, lookout_core::time::now_ms())
        .await
        .unwrap();
    let mut text = String::new();
    for part in &manifest.parts {
        let bytes = common::object_bytes(&s3, &bucket, &part.key).await;
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
            .unwrap();
    }
    assert_eq!(text.matches("\"CHANNEL\"").count(), 3, "{text}");
    assert!(text.contains("enc:v1:local:"), "{text}");
    assert_no_plaintext(&text, "the dump");
}

#[tokio::test]
async fn a_masked_store_shows_stars_a_moved_value_does_not_open_and_no_key_refuses() {
    let (ddb, table, store) = store().await;
    for c in channels() {
        store.put_channel(&c, None).await.unwrap();
    }
    let masked = DynamoStore::new(ddb.clone(), &table, 30).with_sealer(Sealer::masked());
    let slack = masked.channel("ops-slack").await.unwrap().unwrap();
    assert_eq!(
        serde_json::to_value(&slack).unwrap()["config"]["webhook_url"],
        "***"
    );
    let hook = serde_json::to_value(masked.channel("hook").await.unwrap().unwrap()).unwrap();
    assert_eq!(hook["config"], json!({"url":"***","secret":"***"}));
    let tg = serde_json::to_value(masked.channel("tg").await.unwrap().unwrap()).unwrap();
    assert_eq!(tg["config"]["bot_token"], "{{ssm:/lookout/tg}}");

    // The sealed value of one channel copied into another does not open there.
    let item = ddb
        .get_item()
        .table_name(&table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("CHANNEL".into()),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("ops-slack".into()),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let mut def: serde_json::Value = serde_json::from_str(item["def"].as_s().unwrap()).unwrap();
    def["id"] = json!("copy");
    let mut copy = item.clone();
    copy.insert(
        "sk".into(),
        aws_sdk_dynamodb::types::AttributeValue::S("copy".into()),
    );
    copy.insert(
        "def".into(),
        aws_sdk_dynamodb::types::AttributeValue::S(def.to_string()),
    );
    ddb.put_item()
        .table_name(&table)
        .set_item(Some(copy))
        .send()
        .await
        .unwrap();
    let e = store.channel("copy").await.unwrap_err();
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e}");
    assert_no_plaintext(&e.to_string(), "the error");
    // The list is not held up by it: the others open, and it is listed still sealed (which
    // the notifier never sends with).
    let listed = store.channels().await.unwrap();
    assert_eq!(listed.len(), 4);
    let copy = serde_json::to_value(listed.iter().find(|c| c.id == "copy").unwrap()).unwrap();
    assert!(
        copy["config"]["webhook_url"]
            .as_str()
            .unwrap()
            .starts_with(lookout_aws::sealing::SEALED_PREFIX),
        "{copy}"
    );
    let slack = serde_json::to_value(listed.iter().find(|c| c.id == "ops-slack").unwrap()).unwrap();
    assert_eq!(slack["config"]["webhook_url"], SLACK_URL);

    // Without a key an inline secret is refused; a reference is stored as it is.
    let keyless = DynamoStore::new(ddb.clone(), &table, 30).with_sealer(Sealer::refusing());
    let mut slack = channels().remove(0);
    slack.id = "new-slack".into();
    let e = keyless.put_channel(&slack, None).await.unwrap_err();
    assert!(matches!(e, StoreError::Refused(_)), "{e}");
    assert!(e.to_string().contains("LOOKOUT_SECRETS_KEY"), "{e}");
    assert_no_plaintext(&e.to_string(), "the error");
    assert!(store.channel("new-slack").await.unwrap().is_none());
    let mut tg = channels().remove(2);
    tg.id = "tg2".into();
    keyless.put_channel(&tg, None).await.unwrap();
}

#[tokio::test]
async fn channel_writes_are_conditional_on_the_version() {
    let (_, _, store) = store().await;
    let c = channels().remove(0);
    let v1 = store.put_channel(&c, None).await.unwrap();
    let e = store.put_channel(&c, None).await.unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e}");
    let mut edit = v1.clone();
    edit.name = "Ops team".into();
    let v2 = store.put_channel(&edit, Some(1)).await.unwrap();
    assert_eq!(v2.version, 2);
    let e = store.put_channel(&edit, Some(1)).await.unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e}");
    let read = store.channel(&c.id).await.unwrap().unwrap();
    assert_eq!((read.name.as_str(), read.version), ("Ops team", 2));
    // An update of a channel that does not exist is a conflict, not a create.
    let mut ghost = c.clone();
    ghost.id = "ghost".into();
    assert!(matches!(
        store.put_channel(&ghost, Some(1)).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(store.delete_channel(&c.id).await.unwrap());
    assert!(!store.delete_channel(&c.id).await.unwrap());
    assert!(store.channel(&c.id).await.unwrap().is_none());
}

#[tokio::test]
async fn a_delivery_is_claimed_once_until_it_fails_or_its_claim_runs_out() {
    let (_, _, store) = store().await;
    let a = alert("web#down#1000", 1_000);
    let (now, until, ttl) = (10_000, 70_000, 2_000_000_000);
    assert_eq!(
        store
            .claim_delivery("ops", &a, now, until, ttl)
            .await
            .unwrap(),
        Claim::Won
    );
    assert_eq!(
        store
            .claim_delivery("ops", &a, now + 1, until, ttl)
            .await
            .unwrap(),
        Claim::Taken(DeliveryStatus::Sending)
    );
    // Another channel is another delivery.
    assert_eq!(
        store
            .claim_delivery("dev", &a, now, until, ttl)
            .await
            .unwrap(),
        Claim::Won
    );
    store
        .finish_delivery(
            "ops",
            &a.key,
            until,
            &outcome(DeliveryStatus::Sent, Some(200)),
            20_000,
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .claim_delivery("ops", &a, 30_000, 90_000, ttl)
            .await
            .unwrap(),
        Claim::Taken(DeliveryStatus::Sent)
    );
    // Long after the claim would have run out, a sent delivery stays sent.
    assert_eq!(
        store
            .claim_delivery("ops", &a, 999_000, 999_999, ttl)
            .await
            .unwrap(),
        Claim::Taken(DeliveryStatus::Sent)
    );
    let sent = store.delivery("ops", &a.key).await.unwrap().unwrap();
    assert_eq!(
        (sent.status, sent.attempts, sent.provider_status),
        (DeliveryStatus::Sent, 2, Some(200))
    );
    assert_eq!((sent.created_at, sent.updated_at), (10_000, 20_000));

    // A failed delivery is claimed again (a retry), and its attempts add up.
    store
        .finish_delivery(
            "dev",
            &a.key,
            until,
            &outcome(DeliveryStatus::Failed, Some(500)),
            20_000,
        )
        .await
        .unwrap();
    let failed = store.delivery("dev", &a.key).await.unwrap().unwrap();
    assert_eq!(failed.last_error.as_deref(), Some("HTTP 500"));
    assert_eq!(
        store
            .claim_delivery("dev", &a, 30_000, 90_000, ttl)
            .await
            .unwrap(),
        Claim::Won
    );
    store
        .finish_delivery(
            "dev",
            &a.key,
            90_000,
            &outcome(DeliveryStatus::Sent, None),
            40_000,
        )
        .await
        .unwrap();
    let retried = store.delivery("dev", &a.key).await.unwrap().unwrap();
    assert_eq!(
        (
            retried.status,
            retried.attempts,
            retried.provider_status,
            retried.last_error
        ),
        (DeliveryStatus::Sent, 4, None, None)
    );
    assert_eq!(retried.created_at, 10_000, "the first claim's time stays");
    // Finishing twice is a conflict: the second finisher lost its claim.
    let e = store
        .finish_delivery(
            "dev",
            &a.key,
            90_000,
            &outcome(DeliveryStatus::Failed, None),
            50_000,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e}");

    // A sender that died: its claim runs out and the next one wins.
    let b = alert("web#down#2000", 2_000);
    assert_eq!(
        store
            .claim_delivery("ops", &b, now, until, ttl)
            .await
            .unwrap(),
        Claim::Won
    );
    assert_eq!(
        store
            .claim_delivery("ops", &b, until - 1, until + 60_000, ttl)
            .await
            .unwrap(),
        Claim::Taken(DeliveryStatus::Sending)
    );
    assert_eq!(
        store
            .claim_delivery("ops", &b, until + 1, until + 60_000, ttl)
            .await
            .unwrap(),
        Claim::Won
    );
}

#[tokio::test]
async fn a_finish_by_a_sender_whose_claim_was_taken_over_is_refused_and_writes_nothing() {
    let (_, _, store) = store().await;
    let a = alert("web#down#1000", 1_000);
    let ttl = 2_000_000_000;
    // The first sender claims until 70_000 and stalls; the next takes over after that.
    let (first, second) = (70_000, 130_001);
    for (now, until) in [(10_000, first), (first + 1, second)] {
        assert_eq!(
            store
                .claim_delivery("ops", &a, now, until, ttl)
                .await
                .unwrap(),
            Claim::Won
        );
    }
    let e = store
        .finish_delivery(
            "ops",
            &a.key,
            first,
            &outcome(DeliveryStatus::Sent, Some(202)),
            80_000,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e}");
    let r = store.delivery("ops", &a.key).await.unwrap().unwrap();
    assert_eq!(
        (r.status, r.attempts, r.provider_status, r.updated_at),
        (DeliveryStatus::Sending, 0, None, first + 1),
        "the late finish wrote nothing"
    );
    // The claim still holds: the late sender's finish did not end it.
    assert_eq!(
        store
            .claim_delivery("ops", &a, 90_000, 150_000, ttl)
            .await
            .unwrap(),
        Claim::Taken(DeliveryStatus::Sending)
    );
    store
        .finish_delivery(
            "ops",
            &a.key,
            second,
            &outcome(DeliveryStatus::Failed, Some(500)),
            95_000,
        )
        .await
        .unwrap();
    let r = store.delivery("ops", &a.key).await.unwrap().unwrap();
    assert_eq!(
        (r.status, r.attempts, r.provider_status, r.updated_at),
        (DeliveryStatus::Failed, 2, Some(500), 95_000)
    );
}

#[tokio::test]
async fn ten_concurrent_claims_of_one_delivery_have_exactly_one_winner() {
    let (_, _, store) = store().await;
    let a = alert("web#down#1000", 1_000);
    let claims = (0..10).map(|i| {
        let (store, a) = (store.clone(), a.clone());
        tokio::spawn(async move {
            store
                .claim_delivery("ops", &a, 10_000 + i, 70_000, 2_000_000_000)
                .await
                .unwrap()
        })
    });
    let got: Vec<Claim> = futures::future::join_all(claims)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        got.iter().filter(|c| **c == Claim::Won).count(),
        1,
        "{got:?}"
    );
    assert_eq!(
        got.iter()
            .filter(|c| **c == Claim::Taken(DeliveryStatus::Sending))
            .count(),
        9,
        "{got:?}"
    );
}

#[tokio::test]
async fn a_delivery_record_expires_by_ttl_and_keeps_the_alert_for_a_retry() {
    let (ddb, table, store) = store().await;
    let a = alert("web#down#1000", 1_000);
    store
        .claim_delivery("ops", &a, 10_000, 70_000, 1_900_000_000)
        .await
        .unwrap();
    let item = ddb
        .get_item()
        .table_name(&table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("DELIVERY#ops".into()),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S(a.key.clone()),
        )
        .send()
        .await
        .unwrap()
        .item
        .expect("the record, keyed by channel and alert key");
    assert_eq!(item["expires_at"].as_n().unwrap(), "1900000000");
    assert_eq!(item["status"].as_s().unwrap(), "sending");
    let record = store.delivery("ops", &a.key).await.unwrap().unwrap();
    assert_eq!(record.alert, a);
    assert_eq!(record.id, lookout_core::notify::delivery_id("ops", &a.key));
    assert_eq!((record.channel_id.as_str(), record.attempts), ("ops", 0));
    assert!(store.delivery("ops", "other").await.unwrap().is_none());
}

#[tokio::test]
async fn deliveries_list_newest_first_by_status_and_by_channel_in_pages() {
    let (_, _, store) = store().await;
    let ttl = 2_000_000_000;
    // 5 failed and 2 sent on "ops", 3 failed on "dev", one still sending on "dev".
    for i in 0..10i64 {
        let channel = if i < 7 { "ops" } else { "dev" };
        let a = alert(&format!("t{i}#down#{i}"), i);
        let at = 1_000 * (i + 1);
        store
            .claim_delivery(channel, &a, at, at + 60_000, ttl)
            .await
            .unwrap();
        let status = if (5..7).contains(&i) {
            DeliveryStatus::Sent
        } else {
            DeliveryStatus::Failed
        };
        store
            .finish_delivery(
                channel,
                &a.key,
                at + 60_000,
                &outcome(status, Some(500)),
                at + 1,
            )
            .await
            .unwrap();
    }
    let sending = alert("t10#down#10", 10);
    store
        .claim_delivery("dev", &sending, 50_000, 110_000, ttl)
        .await
        .unwrap();

    let keys = |records: &[lookout_core::notify::DeliveryRecord]| {
        records
            .iter()
            .map(|r| r.alert_key.split('#').next().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    // Failed, every channel, pages of 3.
    let mut seen = Vec::new();
    let mut cursor = None;
    for _ in 0..10 {
        let page = store
            .deliveries(Some(DeliveryStatus::Failed), None, 3, cursor.as_deref())
            .await
            .unwrap();
        assert!(page.records.len() <= 3);
        assert!(page
            .records
            .iter()
            .all(|r| r.status == DeliveryStatus::Failed));
        seen.extend(keys(&page.records));
        cursor = page.next;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen, ["t9", "t8", "t7", "t4", "t3", "t2", "t1", "t0"]);

    // Failed on one channel.
    let page = store
        .deliveries(Some(DeliveryStatus::Failed), Some("dev"), 2, None)
        .await
        .unwrap();
    assert_eq!(keys(&page.records), ["t9", "t8"]);
    let rest = store
        .deliveries(
            Some(DeliveryStatus::Failed),
            Some("dev"),
            2,
            page.next.as_deref(),
        )
        .await
        .unwrap();
    assert_eq!(keys(&rest.records), ["t7"]);
    assert!(rest.next.is_none());

    // One channel, every status, newest first across them.
    let mut seen = Vec::new();
    let mut cursor = None;
    for _ in 0..10 {
        let page = store
            .deliveries(None, Some("dev"), 2, cursor.as_deref())
            .await
            .unwrap();
        seen.extend(keys(&page.records));
        cursor = page.next;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen, ["t10", "t9", "t8", "t7"]);
    let all = store.deliveries(None, None, 100, None).await.unwrap();
    assert_eq!(all.records.len(), 11);
    assert!(all.next.is_none());
    let sent = store
        .deliveries(Some(DeliveryStatus::Sent), Some("ops"), 10, None)
        .await
        .unwrap();
    assert_eq!(keys(&sent.records), ["t6", "t5"]);
}

/// Writes a failed delivery record of `channel` updated at each of `times` (epoch ms) straight
/// into the table, 25 per batch: filler that a listing filtered by another channel reads and
/// skips.
async fn put_filler(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    channel: &str,
    times: impl Iterator<Item = i64>,
) {
    use aws_sdk_dynamodb::types::{AttributeValue as V, PutRequest, WriteRequest};
    let items: Vec<WriteRequest> = times
        .map(|at| {
            let key = format!("f#down#{at}");
            let item = [
                ("pk", V::S(format!("DELIVERY#{channel}"))),
                ("sk", V::S(key.clone())),
                ("gsi1pk", V::S("DELIVERIES#failed".into())),
                ("gsi1sk", V::S(format!("{at:013}#{channel}#{key}"))),
                ("status", V::S("failed".into())),
                ("channel_id", V::S(channel.into())),
                ("alert_key", V::S(key)),
                ("updated_at", V::N(at.to_string())),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
            let put = PutRequest::builder().set_item(Some(item)).build().unwrap();
            WriteRequest::builder().put_request(put).build()
        })
        .collect();
    for chunk in items.chunks(25) {
        let mut pending = Some(std::collections::HashMap::from([(
            table.to_string(),
            chunk.to_vec(),
        )]));
        for _ in 0..20 {
            let Some(batch) = pending.take().filter(|b| !b.is_empty()) else {
                break;
            };
            let out = ddb
                .batch_write_item()
                .set_request_items(Some(batch))
                .send()
                .await
                .unwrap();
            pending = out.unprocessed_items;
        }
        assert!(
            pending.is_none_or(|p| p.is_empty()),
            "filler left unwritten"
        );
    }
}

#[tokio::test]
async fn a_channel_filtered_listing_past_the_page_budget_skips_no_record() {
    let (ddb, table, store) = store().await;
    // 1,010 failed records updated at T..T+1009 ms, 3 of them of channel "rare": at T+4, T+10
    // and T+509. Newest first, one listing reads at most 10 requests of 100 index items, so
    // the last item the first listing evaluates (where its budget runs out) is the rare one at
    // T+10: it was read, matched, and must be listed once.
    const T: i64 = 1_000_000;
    let rare = [T + 509, T + 10, T + 4];
    put_filler(
        &ddb,
        &table,
        "busy",
        (T..T + 1010).filter(|t| !rare.contains(t)),
    )
    .await;
    for at in rare {
        let a = alert(&format!("r#down#{at}"), at);
        store
            .claim_delivery("rare", &a, 500_000, 560_000, 2_000_000_000)
            .await
            .unwrap();
        store
            .finish_delivery(
                "rare",
                &a.key,
                560_000,
                &outcome(DeliveryStatus::Failed, None),
                at,
            )
            .await
            .unwrap();
    }
    for status in [Some(DeliveryStatus::Failed), None] {
        let (mut seen, mut cursor, mut pages) = (Vec::new(), None, 0);
        for _ in 0..10 {
            let page = store
                .deliveries(status, Some("rare"), 10, cursor.as_deref())
                .await
                .unwrap();
            pages += 1;
            seen.extend(page.records.iter().map(|r| r.updated_at));
            cursor = page.next;
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(seen, rare, "status {status:?}");
        assert!(pages > 1, "the page budget ran out at least once");
    }
}

#[tokio::test]
async fn a_resolve_note_keeps_the_latest_at_per_channel_and_incident_with_a_ttl() {
    use aws_sdk_dynamodb::types::AttributeValue as V;
    let (ddb, table, store) = store().await;
    let key = "lookout/target/web";
    assert_eq!(store.resolved_at("pd", key).await.unwrap(), None);
    store
        .note_resolved("pd", key, 60_000, 1_900_000_000)
        .await
        .unwrap();
    // An older resolve noted late (and an equal one) change nothing, not even the TTL.
    for at in [30_000, 60_000] {
        store
            .note_resolved("pd", key, at, 1_950_000_000)
            .await
            .unwrap();
    }
    assert_eq!(store.resolved_at("pd", key).await.unwrap(), Some(60_000));
    let raw = |sk: &'static str| {
        let (ddb, table) = (ddb.clone(), table.clone());
        async move {
            ddb.get_item()
                .table_name(&table)
                .key("pk", V::S("INCIDENT#pd".into()))
                .key("sk", V::S(sk.into()))
                .send()
                .await
                .unwrap()
                .item
                .expect("the note, keyed by channel and incident key")
        }
    };
    let item = raw("lookout/target/web").await;
    assert_eq!(item["resolved_at"].as_n().unwrap(), "60000");
    assert_eq!(item["expires_at"].as_n().unwrap(), "1900000000");
    store
        .note_resolved("pd", key, 90_000, 1_990_000_000)
        .await
        .unwrap();
    assert_eq!(store.resolved_at("pd", key).await.unwrap(), Some(90_000));
    let item = raw("lookout/target/web").await;
    assert_eq!(item["expires_at"].as_n().unwrap(), "1990000000");
    // Per channel and per incident.
    assert_eq!(store.resolved_at("og", key).await.unwrap(), None);
    assert_eq!(
        store.resolved_at("pd", "lookout/target/db").await.unwrap(),
        None
    );
    // The notes are not delivery records: no listing shows them.
    let all = store.deliveries(None, None, 100, None).await.unwrap();
    assert!(all.records.is_empty(), "{all:?}");
}

#[tokio::test]
async fn a_cursor_the_listing_did_not_give_is_invalid() {
    let (_, _, store) = store().await;
    for bad in ["not base64!", "eHl6", "", &"A".repeat(5000)] {
        let e = store
            .deliveries(Some(DeliveryStatus::Failed), None, 10, Some(bad))
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::Invalid(_)), "{bad}: {e}");
    }
}

fn mail(to: Vec<String>, topic_arn: Option<String>) -> Mail {
    Mail {
        to,
        topic_arn,
        subject: "[CRITICAL] server Web is down".into(),
        text: "Web (api) is down since 12:00 UTC: connection refused".into(),
    }
}

#[tokio::test]
async fn mail_without_ses_is_published_to_the_channels_topic() {
    let aws = common::aws().await;
    let (topic, queue, sqs) = common::fresh_topic(&aws).await;
    let sender = AwsMail::from_config(&aws, None);
    let answer = sender.send_mail(&mail(vec![], Some(topic))).await.unwrap();
    assert!(answer.accepted() && !answer.body.is_empty(), "{answer:?}");
    let got = common::drain(&sqs, &queue).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["Subject"], "[CRITICAL] server Web is down");
    assert_eq!(
        got[0]["Message"],
        "Web (api) is down since 12:00 UTC: connection refused"
    );
    // A topic that does not exist: the service's answer, not a panic.
    let answer = sender
        .send_mail(&mail(
            vec![],
            Some("arn:aws:sns:us-east-1:123456789012:no-such-topic".into()),
        ))
        .await
        .unwrap();
    assert!(!answer.accepted(), "{answer:?}");
}

#[tokio::test]
async fn mail_with_ses_is_sent_from_the_verified_sender() {
    let aws = common::aws().await;
    let moto = std::env::var("AWS_ENDPOINT_URL_SNS").unwrap();
    let ses = aws_sdk_sesv2::Client::from_conf(
        aws_sdk_sesv2::config::Builder::from(&aws)
            .endpoint_url(&moto)
            .build(),
    );
    let from = format!("{}@example.com", common::unique("lookout"));
    let sns = aws_sdk_sns::Client::new(&aws);
    // Not verified yet: SES refuses it, and the answer says so.
    let sender = AwsMail::new(Some((ses.clone(), from.clone())), sns);
    let to = vec!["ops@example.com".to_string()];
    let refused = sender.send_mail(&mail(to.clone(), None)).await.unwrap();
    assert!(!refused.accepted() && !refused.retryable(), "{refused:?}");
    ses.create_email_identity()
        .email_identity(&from)
        .send()
        .await
        .expect("verify the sender in moto");
    let answer = sender.send_mail(&mail(to, None)).await.unwrap();
    assert!(answer.accepted() && !answer.body.is_empty(), "{answer:?}");
    // moto keeps what it sent: the sender, subject and text body. Its record
    // (`/moto-api/data.json`) fails as a whole while any model of the shared moto process
    // cannot be read (an S3 object of a deleted bucket); then the accepted answer above is
    // the evidence.
    let data = reqwest::get(format!("{moto}/moto-api/data.json"))
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await;
    let Ok(data) = data else {
        eprintln!("moto's model record is not readable now; checked the SES answer only");
        return;
    };
    let sent = data["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let ours: Vec<_> = sent.iter().filter(|m| m["source"] == json!(from)).collect();
    assert_eq!(ours.len(), 1, "{sent:?}");
    assert_eq!(ours[0]["subject"], "[CRITICAL] server Web is down");
    assert_eq!(
        ours[0]["body"],
        "Web (api) is down since 12:00 UTC: connection refused"
    );
}

//! Secrets at rest against the local stack: inline secrets sealed with a moto KMS data key (and
//! with a local key) in DynamoDB Local items and in dump parts in moto S3, opened on read and
//! after a restore into a fresh table; refused without a key; `{{ssm:...}}` references resolved
//! when the probe function checks, a changed parameter seen after the cache TTL, a missing one
//! failing its check with a message naming it.

use crate::common;

use std::time::Duration;

use lookout_app::dump::{self, DumpOptions, RestoreOptions};
use lookout_app::ports::{StateStore, StoreError, TargetStore};
use lookout_app::testing::{Reply, TestServer};
use lookout_aws::dynamodb::DynamoStore;
use lookout_aws::s3::S3DumpStore;
use lookout_aws::sealing::{LocalKey, Sealer, DATA_KEY_TTL};
use lookout_aws::secrets::AwsSecrets;
use lookout_core::domain::{ErrorKind, Outcome, Target, TargetKind};
use serde_json::json;

const PROXY_PW: &str = "Pr0xy-S3cret-77";
const HEADER_SECRET: &str = "Hdr-S3cret-1";
const TENANT_SECRET: &str = "acme-tenant-998";

fn targets() -> Vec<Target> {
    [
        json!({"id":"px","group":"pool","kind":"proxy",
               "proxy_url": format!("http://bob:{PROXY_PW}@127.0.0.1:3128"),
               "test_urls":["http://127.0.0.1:9/ip"]}),
        json!({"id":"api","group":"api","kind":"server","url":"http://127.0.0.1:9/health",
               "secret_headers":["X-Tenant"],
               "headers":{"Authorization": format!("Bearer {HEADER_SECRET}"),
                          "X-Tenant": TENANT_SECRET, "Accept":"application/json"}}),
    ]
    .into_iter()
    .map(|v| Target::from_json(v).unwrap())
    .collect()
}

/// A fresh symmetric KMS key in moto.
async fn kms_key(aws: &aws_config::SdkConfig) -> (aws_sdk_kms::Client, String) {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_KMS").unwrap_or_default();
    assert!(
        endpoint.starts_with("http://127.0.0.1") || endpoint.starts_with("http://localhost"),
        "AWS_ENDPOINT_URL_KMS must point at moto on loopback (got {endpoint:?}): see infra/local/local.env"
    );
    let kms = aws_sdk_kms::Client::new(aws);
    let key = kms
        .create_key()
        .description("lookout test")
        .send()
        .await
        .expect("create a KMS key in moto")
        .key_metadata
        .unwrap()
        .key_id;
    (kms, key)
}

/// Every item of `table` as text (the DynamoDB JSON of the SDK's Debug is enough to search).
async fn raw_items(ddb: &aws_sdk_dynamodb::Client, table: &str) -> String {
    let got = ddb.scan().table_name(table).send().await.unwrap();
    format!("{:?}", got.items())
}

/// The decompressed text of every part of a dump.
async fn dump_text(s3: &aws_sdk_s3::Client, bucket: &str, manifest: &dump::Manifest) -> String {
    let mut out = String::new();
    for part in &manifest.parts {
        let bytes = common::object_bytes(s3, bucket, &part.key).await;
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut out)
            .unwrap();
    }
    out
}

fn assert_no_plaintext(text: &str, place: &str) {
    for secret in [PROXY_PW, HEADER_SECRET, TENANT_SECRET] {
        assert!(!text.contains(secret), "{place} holds {secret}: {text}");
    }
}

#[tokio::test]
async fn kms_sealed_secrets_stay_out_of_the_table_and_the_dump_and_a_restore_reads_them_back() {
    let aws = common::aws().await;
    let (kms, key) = kms_key(&aws).await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let (s3, bucket) = common::fresh_bucket(&aws).await;
    let sealer = Sealer::kms(kms.clone(), &key, DATA_KEY_TTL);
    let store = DynamoStore::new(ddb.clone(), &table, 30).with_sealer(sealer.clone());
    let want = targets();
    for t in &want {
        store.create_target(t).await.unwrap();
    }
    // An update seals again.
    let mut px = store.get_target("px").await.unwrap().unwrap();
    px.interval_s = 30;
    store.update_target(&px, px.version).await.unwrap();

    let raw = raw_items(&ddb, &table).await;
    assert_no_plaintext(&raw, "the table");
    assert!(raw.contains("enc:v1:kms:"), "{raw}");
    assert!(
        raw.contains("application/json") && raw.contains("127.0.0.1:3128"),
        "the rest stays readable: {raw}"
    );
    let read = store.list_targets(None).await.unwrap();
    let by_id = |ts: &[Target], id: &str| ts.iter().find(|t| t.id == id).unwrap().clone();
    assert_eq!(
        by_id(&read, "px").proxy().unwrap().proxy_url,
        format!("http://bob:{PROXY_PW}@127.0.0.1:3128")
    );
    let mut api = by_id(&read, "api");
    api.version = 0;
    let mut want_api = want[1].clone();
    want_api.version = 0;
    assert_eq!(api, want_api, "secret headers read back in plain text");

    // The dump copies items as stored: ciphertext only.
    let dumps = S3DumpStore::new(s3.clone(), &bucket);
    let now = lookout_core::time::now_ms();
    let options = DumpOptions {
        segments: 1,
        ..DumpOptions::default()
    };
    let manifest = dump::dump(&store, &dumps, &options, now).await.unwrap();
    let text = dump_text(&s3, &bucket, &manifest).await;
    assert!(text.contains("enc:v1:kms:"), "{text}");
    assert_no_plaintext(&text, "the dump");

    // Restored into a fresh table, the same key opens them: a working table.
    let restored = format!("{table}-restore");
    let id = lookout_core::time::compact(now);
    dump::restore(&dumps, &store, &table, &id, &RestoreOptions::new(&restored))
        .await
        .unwrap();
    // A new process: nothing cached, the data key comes from KMS Decrypt.
    let fresh = DynamoStore::new(ddb.clone(), &restored, 30).with_sealer(Sealer::kms(
        kms.clone(),
        &key,
        DATA_KEY_TTL,
    ));
    let back = fresh.list_targets(None).await.unwrap();
    assert_eq!(
        back, read,
        "the restored table reads back the same definitions"
    );

    // Without the key: a clear error, not plaintext and not a guess.
    let keyless = DynamoStore::new(ddb.clone(), &restored, 30).with_sealer(Sealer::refusing());
    let e = keyless.get_target("px").await.unwrap_err();
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e}");
    assert!(!e.to_string().contains(PROXY_PW), "{e}");
    // The digest's view: masked, no key needed.
    let masked = DynamoStore::new(ddb, &restored, 30).with_sealer(Sealer::masked());
    let px = masked.get_target("px").await.unwrap().unwrap();
    assert_eq!(
        px.proxy().unwrap().proxy_url,
        "http://bob:***@127.0.0.1:3128"
    );
}

#[tokio::test]
async fn a_local_key_seals_too_and_without_any_key_inline_secrets_are_refused() {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let key = LocalKey::parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap();
    let store = DynamoStore::new(ddb.clone(), &table, 30).with_sealer(Sealer::local(key));
    for t in targets() {
        store.create_target(&t).await.unwrap();
    }
    let raw = raw_items(&ddb, &table).await;
    assert_no_plaintext(&raw, "the table");
    assert!(raw.contains("enc:v1:local:"), "{raw}");
    let px = store.get_target("px").await.unwrap().unwrap();
    assert!(px.proxy().unwrap().proxy_url.contains(PROXY_PW));

    let refusing = DynamoStore::new(ddb.clone(), &table, 30).with_sealer(Sealer::refusing());
    let mut other = targets().remove(0);
    other.id = "px2".into();
    let e = refusing.create_target(&other).await.unwrap_err();
    assert!(matches!(e, StoreError::Refused(_)), "{e}");
    assert!(e.to_string().contains("LOOKOUT_KMS_KEY_ID"), "{e}");
    assert!(refusing.get_target("px2").await.unwrap().is_none());
    // A reference instead of the password is no inline secret: stored as it is.
    other.check = match other.check {
        lookout_core::domain::target::Check::Proxy(mut p) => {
            p.proxy_url = "http://bob:{{ssm:/lookout/px2}}@127.0.0.1:3128".into();
            lookout_core::domain::target::Check::Proxy(p)
        }
        c => c,
    };
    refusing.create_target(&other).await.unwrap();
    assert!(raw_items(&ddb, &table)
        .await
        .contains("{{ssm:/lookout/px2}}"));
}

#[tokio::test]
async fn ssm_references_resolve_when_the_probe_checks_and_a_change_is_seen_after_the_ttl() {
    let aws = common::aws().await;
    let ssm = aws_sdk_ssm::Client::new(&aws);
    let (ddb, table) = common::fresh_table(&aws).await;
    let (topic, _queue, _sqs) = common::fresh_topic(&aws).await;
    let publisher = lookout_aws::sns::SnsPublisher::new(aws_sdk_sns::Client::new(&aws), topic);
    let store = DynamoStore::new(ddb.clone(), &table, 30);
    let param = format!("/lookout/{}", common::unique("api-token"));
    let put = |value: &'static str| {
        ssm.put_parameter()
            .name(&param)
            .value(value)
            .overwrite(true)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send()
    };
    put("tok-one").await.unwrap();
    // The server accepts only the token the parameter holds now.
    let accepted = std::sync::Arc::new(std::sync::Mutex::new("tok-one"));
    let server = {
        let accepted = accepted.clone();
        TestServer::start(move |req| {
            let want = format!("Bearer {}", accepted.lock().unwrap());
            if req.header("authorization") == Some(want.as_str()) {
                Reply::text(200, "ok")
            } else {
                Reply::text(401, "who are you")
            }
        })
        .await
    };
    for t in [
        json!({"id":"ref","group":"api","kind":"server","url": format!("{}/health", server.url),
               "degraded_latency_ms": 30000,
               "headers":{"Authorization": format!("Bearer {{{{ssm:{param}}}}}")}}),
        json!({"id":"gone","group":"api","kind":"server","url": format!("{}/health", server.url),
               "headers":{"X-Api-Key": "{{ssm:/lookout/does-not-exist-7}}"}}),
    ] {
        store
            .create_target(&Target::from_json(t).unwrap())
            .await
            .unwrap();
    }
    let stored = raw_items(&ddb, &table).await;
    assert!(stored.contains(&format!("{{{{ssm:{param}}}}}")) && !stored.contains("tok-one"));

    // Long enough for two runs on a loaded machine.
    let ttl = Duration::from_secs(5);
    let config = probe::RunConfig {
        secrets: AwsSecrets::cached(&aws).with_ttl(ttl),
        ..probe::RunConfig::new(4)
    };
    let prober =
        lookout_app::probe::Prober::with_options(lookout_app::probe::ProbeOptions::allow_private())
            .unwrap();
    let now = probe::ProbeRequest::forced(&[TargetKind::Server]);
    let run = || async {
        probe::run(&store, &publisher, &prober, &now, &config)
            .await
            .unwrap();
        let latest = store.latest(TargetKind::Server).await.unwrap();
        (
            latest["ref"].result.clone().unwrap(),
            latest["gone"].result.clone().unwrap(),
        )
    };
    let (ok, gone) = run().await;
    assert_eq!(ok.outcome, Outcome::Up, "{ok:?}");
    assert_eq!(
        (gone.outcome, gone.error),
        (Outcome::Failed, Some(ErrorKind::Other))
    );
    let message = gone.message.unwrap();
    assert!(
        message.contains("{{ssm:/lookout/does-not-exist-7}}"),
        "{message}"
    );

    // Rotated: the server wants the new token, the cache still holds the old one.
    put("tok-two").await.unwrap();
    *accepted.lock().unwrap() = "tok-two";
    let (stale, _) = run().await;
    assert_eq!(
        stale.status_code,
        Some(401),
        "cached for the TTL: {stale:?}"
    );
    tokio::time::sleep(ttl + Duration::from_millis(200)).await;
    let (fresh, _) = run().await;
    assert_eq!(
        fresh.outcome,
        Outcome::Up,
        "read again after the TTL: {fresh:?}"
    );
    for r in [&ok, &stale, &fresh] {
        let text = serde_json::to_string(r).unwrap();
        assert!(
            !text.contains("tok-one") && !text.contains("tok-two"),
            "{text}"
        );
    }
}

/// The API built as `main` builds it (`App::from_aws` with the local stack's settings) seals
/// what `POST /v1/targets` stores: the raw item holds no inline password or header value, and
/// the API reads them back for the admin active-proxy answer.
#[tokio::test]
async fn the_api_as_deployed_seals_inline_secrets_it_stores() {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let settings = lookout_app::config::Settings::from_lookup(|name| match name {
        "LOOKOUT_TABLE" => Some(table.clone()),
        "LOOKOUT_ADMIN_TOKEN" => Some("admin".into()),
        "LOOKOUT_SECRETS_KEY" => Some("8Qveu7fL5tgDHBfdxdIrvZtOI57DMc8bfIpKY6SWjkY".into()),
        "LOOKOUT_ALLOW_PRIVATE_TARGETS" => Some("true".into()),
        _ => None,
    })
    .unwrap();
    let app = std::sync::Arc::new(
        api::App::from_aws(settings, &lookout_aws::Aws::from_sdk_config(aws))
            .await
            .unwrap(),
    );
    let body = json!({"targets": [
        {"id":"px","group":"pool","kind":"proxy","proxy_type":"vps",
         "proxy_url":"http://bob:api-hunter2@127.0.0.1:3128","test_urls":["http://127.0.0.1:9/"]},
        {"id":"web","group":"web","kind":"server","url":"http://127.0.0.1:9/",
         "headers":{"Authorization":"Bearer api-t0ken-77"}}
    ]});
    let req = lambda_http::http::Request::builder()
        .method("POST")
        .uri("https://lookout.example/v1/targets")
        .header("authorization", "Bearer admin")
        .body(lambda_http::Body::Text(body.to_string()))
        .unwrap();
    let resp = api::handle(&app, req).await;
    assert_eq!(resp.status(), 201);
    let raw = raw_items(&ddb, &table).await;
    assert!(raw.contains("enc:v1:"), "{raw}");
    for secret in ["api-hunter2", "api-t0ken-77"] {
        assert!(
            !raw.contains(secret),
            "{secret} stored in plain text: {raw}"
        );
    }
    let stored = app.store.get_target("px").await.unwrap().unwrap();
    assert!(
        format!("{stored:?}").contains("api-hunter2"),
        "opened on read"
    );
}

/// One definition whose sealed secrets do not open (sealed under another key) does not blind
/// the listing the probe runs and the status read: it is listed with its secrets masked, the
/// others as they are.
#[tokio::test]
async fn a_definition_sealed_under_another_key_is_listed_masked_and_the_rest_read_normally() {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let old_key = LocalKey::parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap();
    let new_key = LocalKey::parse("8Qveu7fL5tgDHBfdxdIrvZtOI57DMc8bfIpKY6SWjkY").unwrap();
    let before = DynamoStore::new(ddb.clone(), &table, 30).with_sealer(Sealer::local(old_key));
    let after = DynamoStore::new(ddb.clone(), &table, 30).with_sealer(Sealer::local(new_key));
    let px = Target::from_json(json!({"id":"old-px","group":"pool","kind":"proxy",
        "proxy_url":"http://bob:0ld-pw@127.0.0.1:3128","test_urls":["http://127.0.0.1:9/"]}))
    .unwrap();
    let fresh = Target::from_json(json!({"id":"new-px","group":"pool","kind":"proxy",
        "proxy_url":"http://amy:n3w-pw@127.0.0.1:3129","test_urls":["http://127.0.0.1:9/"]}))
    .unwrap();
    before.create_target(&px).await.unwrap();
    after.create_target(&fresh).await.unwrap();
    let listed = after
        .list_targets(None)
        .await
        .expect("the listing still works");
    let by_id = |id: &str| listed.iter().find(|t| t.id == id).unwrap().clone();
    let old = by_id("old-px").proxy().unwrap().proxy_url.clone();
    assert!(!old.contains("0ld-pw") && !old.contains("enc:v1"), "{old}");
    assert!(by_id("new-px")
        .proxy()
        .unwrap()
        .proxy_url
        .contains("n3w-pw"));
}

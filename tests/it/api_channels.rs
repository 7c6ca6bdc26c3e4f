//! The notification routes of the API over DynamoDB Local: a channel created through the API
//! is sealed in the table and shown `***`, a `***` sent back in a patch keeps the secret, the
//! test route reaches a loopback provider, and a failed delivery is listed and retried through
//! the API; a cursor the table's listing cannot read is a 400 naming it.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;

use lookout_app::ports::ChannelStore;
use lookout_app::testing::{Reply, TestServer};
use lookout_aws::dynamodb::DynamoStore;
use lookout_aws::sealing::{LocalKey, Sealer};
use lookout_core::domain::{Alert, AlertKind, Severity, Status, TargetKind};
use lookout_core::notify::ChannelConfig;
use serde_json::json;

use crate::common;

const SIGNING: &str = "whsec-api-0123456789abcdef";
const PATH_SECRET: &str = "H00kPathT0ken77";

async fn app() -> (aws_sdk_dynamodb::Client, String, Arc<api::App<DynamoStore>>) {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let key = LocalKey::parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap();
    let store = DynamoStore::new(ddb.clone(), &table, 30).with_sealer(Sealer::local(key));
    let mut notify = api::NotifyDeps::local();
    notify.settings.attempts = 1;
    notify.settings.backoff_ms = 1;
    let app = Arc::new(api::App {
        notify,
        prober: lookout_app::probe::Prober::new().unwrap(),
        admin_token: Some("admin".into()),
        ..api::App::local(store)
    });
    (ddb, table, app)
}

fn assert_no_secret(text: &str, place: &str) {
    for s in [SIGNING, PATH_SECRET] {
        assert!(!text.contains(s), "{place} holds {s}: {text}");
    }
}

#[tokio::test]
async fn a_channel_made_through_the_api_is_sealed_shown_masked_kept_on_patch_and_its_failed_delivery_is_retried(
) {
    let (ddb, table, app) = app().await;
    let status = Arc::new(AtomicU16::new(500));
    let answer = status.clone();
    let provider = TestServer::start(move |req| {
        Reply::json(answer.load(Ordering::SeqCst), &json!({"echo": req.path}))
    })
    .await;
    let url = format!("{}/hook/{PATH_SECRET}", provider.url);
    let hook = json!({"id": "hook", "name": "Hook", "kind": "webhook",
                      "config": {"url": url, "secret": SIGNING}});
    let (code, body) = common::call(&app, "POST", "/v1/channels", &hook.to_string()).await;
    assert_eq!(code, 201, "{body}");
    assert_eq!(
        body["channel"]["config"],
        json!({"url": "***", "secret": "***"})
    );
    let raw = format!(
        "{:?}",
        ddb.scan().table_name(&table).send().await.unwrap().items()
    );
    assert!(raw.contains("enc:v1:local:"), "{raw}");
    assert_no_secret(&raw, "the table");

    let patch = json!({"version": 1, "name": "Renamed", "config": {"url": "***", "secret": "***"}});
    let (code, body) = common::call(&app, "PATCH", "/v1/channels/hook", &patch.to_string()).await;
    assert_eq!(code, 200, "{body}");
    assert_no_secret(&body.to_string(), "the patch answer");
    let stored = app.store.channel("hook").await.unwrap().unwrap();
    assert_eq!(
        (stored.name.as_str(), stored.version, &stored.config),
        (
            "Renamed",
            2,
            &ChannelConfig::Webhook {
                url: url.clone(),
                secret: SIGNING.into()
            }
        )
    );

    let (code, body) = common::call(&app, "POST", "/v1/channels/hook/test", "").await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        (&body["ok"], &body["answers"][0]["status"]),
        (&json!(false), &json!(500))
    );
    assert_no_secret(&body.to_string(), "the test answer");

    let alert = Alert {
        key: "web#down#1700000000000".into(),
        kind: AlertKind::StatusChange,
        severity: Severity::Critical,
        target_id: "web".into(),
        target_name: "Web".into(),
        target_kind: TargetKind::Server,
        group: "api".into(),
        old_status: Status::Healthy,
        new_status: Status::Down,
        at: 1_700_000_000_000,
        subject: "Web is down".into(),
        text: "connection refused".into(),
        targets: Vec::new(),
        changes: Vec::new(),
        tags: Vec::new(),
        locations: None,
        slo: None,
    };
    let notifier = lookout_app::usecases::notify::Notifier {
        channels: &app.store,
        log: &app.store,
        http: &app.notify.http,
        mail: &app.notify.mail,
        clock: lookout_app::clock::SystemClock::shared(),
        settings: app.notify.settings.clone(),
        secrets: lookout_app::secrets::Secrets::none(),
    };
    notifier.deliver(&stored, &alert).await;
    let (code, body) =
        common::call(&app, "GET", "/v1/deliveries?status=failed&channel=hook", "").await;
    assert_eq!(code, 200, "{body}");
    assert_no_secret(&body.to_string(), "the deliveries");
    let id = body["deliveries"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(body["deliveries"].as_array().unwrap().len(), 1, "{body}");

    status.store(200, Ordering::SeqCst);
    let (code, body) = common::call(&app, "POST", &format!("/v1/deliveries/{id}/retry"), "").await;
    assert_eq!(
        (code, &body["delivery"]["status"]),
        (200, &json!("sent")),
        "{body}"
    );
    let (code, _) = common::call(&app, "POST", &format!("/v1/deliveries/{id}/retry"), "").await;
    assert_eq!(code, 409);

    let (code, body) = common::call(&app, "GET", "/v1/deliveries?cursor=bm90LWEta2V5", "").await;
    assert_eq!(code, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("cursor"),
        "{body}"
    );
    // Ids past the table's key limits are a 404 (or a 400 for the filter), not a 500.
    let long = "x".repeat(2_000);
    let huge = lookout_core::notify::delivery_id("hook", &"k".repeat(2_000));
    for (method, path, want) in [
        ("GET", format!("/v1/channels/{long}"), 404),
        ("DELETE", format!("/v1/channels/{long}"), 404),
        ("POST", format!("/v1/channels/{long}/test"), 404),
        ("POST", format!("/v1/deliveries/{huge}/retry"), 404),
        ("GET", format!("/v1/deliveries?channel={long}"), 400),
    ] {
        let (code, body) = common::call(&app, method, &path, "").await;
        assert_eq!(code, want, "{method} {}: {body}", &path[..40]);
    }
    let (code, _) = common::call(&app, "DELETE", "/v1/channels/hook", "").await;
    assert_eq!(code, 204);
    assert!(app.store.channels().await.unwrap().is_empty());
}

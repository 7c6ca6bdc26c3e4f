//! The console browser test's data: a fresh DynamoDB Local table with two servers (up and
//! down), a pool of two real forward proxies on loopback with different costs, and a server
//! with a hostile name; their states from one real probe run; the API over it with an admin
//! and a read token.

use std::sync::Arc;

use lookout_app::ports::TargetStore;
use lookout_app::probe::{ProbeOptions, Prober};
use lookout_app::testing::closed_port;
use lookout_aws::dynamodb::DynamoStore;
use lookout_core::domain::{Target, TargetKind};
use serde_json::{json, Value};

use crate::common;

/// The hostile name: an image whose error runs a script, and a script; both must stay text.
pub const HOSTILE: &str = "<img src=x onerror=alert(1)> <script>alert(1)</script>";
/// The proxy pool's group.
pub const POOL: &str = "pool-eu";
/// The cheap proxy (tinyproxy, 1 per GB): the pool's active proxy after the probe run.
pub const CHEAP_PROXY: &str = "proxy-cheap";
/// The dear proxy (microsocks, 4 per GB): the fallback.
pub const DEAR_PROXY: &str = "proxy-dear";

/// What the browser test runs against.
pub struct Seeded {
    /// The API over the seeded table, with both tokens.
    pub app: Arc<api::App<DynamoStore>>,
    /// `LOOKOUT_ADMIN_TOKEN` of `app`.
    pub admin_token: String,
    /// `LOOKOUT_READ_TOKEN` of `app`.
    pub read_token: String,
    /// What the script needs to know (`LOOKOUT_CONSOLE_FIXTURE`, JSON): `up_id`, `down_id`,
    /// `hostile_id`, `hostile_name`, `pool`, `proxies` (ids, cheapest first), `server_url` (a
    /// URL that answers 200, for the created server), `proxy_url` and `test_url` (for the
    /// created proxy).
    pub fixture: Value,
    /// The proxies' processes, alive as long as this is.
    pub proxies: Vec<common::ForwardProxy>,
}

fn target(v: Value) -> Target {
    let mut v = v;
    v["timeout_ms"] = 3000.into();
    v["failure_threshold"] = 1.into();
    Target::from_json(v.clone()).unwrap_or_else(|e| panic!("target {v}: {e}"))
}

/// Seeds a fresh table, runs one probe run over it and answers the API's `App` with a random
/// admin and read token.
pub async fn seeded() -> Seeded {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let store = DynamoStore::new(ddb, table, 30);
    // The up server lives as long as the test's runtime.
    let up = lookout_app::testing::serve(200, "ok").await;
    let down = closed_port().await;
    let cheap = common::tinyproxy("demo", "secret").await;
    let dear = common::microsocks("demo", "secret").await;
    let targets = vec![
        target(
            json!({"id": "web-up", "name": "Web (up)", "group": "web", "kind": "server",
                      "url": format!("{up}/health")}),
        ),
        target(
            json!({"id": "web-down", "name": "Web (down)", "group": "web", "kind": "server",
                      "url": format!("{down}/health")}),
        ),
        target(
            json!({"id": "hostile", "name": HOSTILE, "group": "web", "kind": "server",
                      "url": format!("{up}/hostile")}),
        ),
        target(
            json!({"id": CHEAP_PROXY, "name": "Cheap proxy (tinyproxy)", "group": POOL,
                      "kind": "proxy", "proxy_type": "datacenter", "cost_per_gb": 1.0,
                      "proxy_url": format!("http://demo:secret@{}", cheap.addr),
                      "test_urls": [format!("{up}/ip")]}),
        ),
        target(
            json!({"id": DEAR_PROXY, "name": "Dear proxy (microsocks)", "group": POOL,
                      "kind": "proxy", "proxy_type": "datacenter", "cost_per_gb": 4.0,
                      "proxy_url": format!("socks5://demo:secret@{}", dear.addr),
                      "test_urls": [format!("{up}/ip")]}),
        ),
    ];
    for t in &targets {
        store.create_target(t).await.expect("create target");
    }
    let prober = Prober::with_options(ProbeOptions::allow_private()).unwrap();
    let publisher = lookout_app::memory::MemoryPublisher::default();
    let report = probe::run(
        &store,
        &publisher,
        &prober,
        &probe::ProbeRequest::forced(&TargetKind::ALL),
        &probe::RunConfig::new(8),
    )
    .await
    .expect("one probe run");
    let checked: usize = report.runs.iter().map(|r| r.checked).sum();
    assert_eq!(checked, targets.len(), "the probe run checks every target");
    let admin_token = common::unique("console-admin");
    let read_token = common::unique("console-read");
    let app = Arc::new(api::App {
        admin_token: Some(admin_token.clone()),
        read_token: Some(read_token.clone()),
        // App::local's prober reaches loopback: "check now" probes the loopback servers.
        ..api::App::local(store)
    });
    let fixture = json!({
        "up_id": "web-up",
        "down_id": "web-down",
        "hostile_id": "hostile",
        "hostile_name": HOSTILE,
        "pool": POOL,
        "proxies": [CHEAP_PROXY, DEAR_PROXY],
        "server_url": format!("{up}/created"),
        "proxy_url": format!("http://demo:secret@{}", cheap.addr),
        "test_url": format!("{up}/ip"),
    });
    Seeded {
        app,
        admin_token,
        read_token,
        fixture,
        proxies: vec![cheap, dear],
    }
}

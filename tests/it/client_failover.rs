//! `lookout_client::request_with_failover` against the API served over real HTTP, real
//! proxy.py proxies (one with other credentials) and a dead one, and a real upstream.

use crate::common;

use std::sync::Arc;

use lookout_app::memory::MemoryStore;
use lookout_app::ports::{Latest, StateStore, TargetStore};

use lookout_app::testing::{closed_port, Reply, TestServer};
use lookout_client::{Client, ClientError};
use lookout_core::domain::{Status, Target, TargetKind, TargetState};
use serde_json::json;

#[tokio::test]
async fn a_request_fails_over_down_the_cost_order_and_reports_usage() {
    let upstream = TestServer::start(|r| match r.path.as_str() {
        "/limited" => Reply::text(429, "slow down"),
        _ => Reply::text(200, "the payload"),
    })
    .await;
    let strict = common::forward_proxy("app:right-pw").await;
    let store = MemoryStore::default();
    let dead = closed_port().await.replace("http://", "");
    for t in [
        json!({"id":"px-vps","group":"pool","kind":"proxy","proxy_type":"vps",
               "proxy_url": format!("http://app:right-pw@{dead}"),"test_urls":["http://127.0.0.1:9/"]}),
        json!({"id":"px-dc","group":"pool","kind":"proxy","proxy_type":"datacenter","cost_per_gb":0.5,
               "proxy_url": format!("http://app:stale-pw@{}", strict.addr),"test_urls":["http://127.0.0.1:9/"]}),
        json!({"id":"px-res","group":"pool","kind":"proxy","proxy_type":"residential","cost_per_gb":8,
               "proxy_url": format!("http://app:right-pw@{}", strict.addr),"test_urls":["http://127.0.0.1:9/"]}),
    ] {
        store
            .create_target(&Target::from_json(t).unwrap())
            .await
            .unwrap();
    }
    // All three healthy as far as the probes know.
    let snapshot: Vec<Latest> = ["px-dc", "px-res", "px-vps"]
        .iter()
        .map(|id| {
            let state = TargetState {
                status: Status::Healthy,
                ..TargetState::new(id)
            };
            Latest::new(state, None)
        })
        .collect();
    store
        .record_run(TargetKind::Proxy, 1, &snapshot, true)
        .await
        .unwrap();
    let app = Arc::new(api::App {
        admin_token: Some("admin".into()),
        ..api::App::local(store)
    });
    let base = common::serve_api(app.clone()).await;
    let client = Client::new(&base, "admin").unwrap();

    let answer = client
        .request_with_failover(
            "pool",
            reqwest::Method::GET,
            &format!("{}/data", upstream.url),
            None,
        )
        .await
        .unwrap();
    assert_eq!((answer.proxy_id.as_str(), answer.status), ("px-res", 200));
    assert_eq!(answer.body, b"the payload");
    let tried: Vec<&str> = answer.failed.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        tried,
        ["px-vps", "px-dc"],
        "cheapest first: {:?}",
        answer.failed
    );
    assert!(answer.failed[1].1.contains("407"), "{:?}", answer.failed);
    assert!(
        !format!("{:?}", answer.failed).contains("pw"),
        "no credentials in reasons"
    );
    // The usage counts in the state, as probes do.
    let states = app.store.overrides(TargetKind::Proxy).await.unwrap();
    let res = states.iter().find(|s| s.target_id == "px-res").unwrap();
    assert!(res.traffic_bytes > 0 && res.cost > 0.0, "{res:?}");
    let dc = states.iter().find(|s| s.target_id == "px-dc").unwrap();
    assert_eq!(dc.failures, 1);

    let limited = client
        .request_with_failover(
            "pool",
            reqwest::Method::GET,
            &format!("{}/limited", upstream.url),
            None,
        )
        .await
        .unwrap_err();
    let ClientError::AllProxiesFailed(reasons) = limited else {
        panic!("{limited}")
    };
    assert!(
        reasons
            .iter()
            .any(|(id, why)| id == "px-res" && why.contains("429")),
        "{reasons:?}"
    );
    let unknown = client.active_proxies("nope").await.unwrap_err();
    assert!(
        matches!(unknown, ClientError::Api { status: 404, .. }),
        "{unknown}"
    );
}

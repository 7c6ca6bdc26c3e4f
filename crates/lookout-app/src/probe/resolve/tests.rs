//! Tests of `resolve.rs`: parsing the pins, and probes connecting to a pinned address through
//! the guard (loopback servers only).

use super::*;
use crate::probe::{guard::Guard, transport, ProbeOptions, Prober};
use crate::testing::{closed_port, Reply, TestServer};
use lookout_core::domain::{ErrorKind, Outcome, Target};

/// A name no resolver answers (RFC 6761 `.invalid`): reaching it proves the pin was used.
const NAME: &str = "svc.location.invalid";

fn pins(text: &str) -> Pins {
    Pins::parse(text).unwrap()
}

fn target(url: &str) -> Target {
    Target::from_json(serde_json::json!({
        "id": "pinned", "group": "g", "kind": "server", "url": url,
        "timeout_ms": 3000, "retries": 0,
    }))
    .unwrap()
}

fn port_of(url: &str) -> u16 {
    url::Url::parse(url).unwrap().port().unwrap()
}

#[test]
fn entries_parse_and_bad_ones_are_named() {
    let p = pins(" API.Example.com.=203.0.113.7 , api.example.com=[2001:db8::7],,b_1.x=::1");
    assert_eq!(
        p.get("api.example.com"),
        vec![
            "203.0.113.7".parse::<IpAddr>().unwrap(),
            "2001:db8::7".parse().unwrap()
        ]
    );
    assert_eq!(p.get("API.EXAMPLE.COM."), p.get("api.example.com"));
    assert_eq!(p.get("b_1.x"), vec!["::1".parse::<IpAddr>().unwrap()]);
    assert!(p.get("example.com").is_empty());
    assert!(pins("").is_empty() && pins(" , ").is_empty());
    assert_eq!(
        Pins::parse("a.example=1.2.3.4,b.example"),
        Err(PinError::NotPair("b.example".into()))
    );
    assert_eq!(
        Pins::parse("http://a=1.2.3.4"),
        Err(PinError::BadHost("http://a".into()))
    );
    assert_eq!(
        Pins::parse("a..b=1.2.3.4"),
        Err(PinError::BadHost("a..b".into()))
    );
    assert_eq!(
        Pins::parse("a=1.2.3"),
        Err(PinError::BadAddress("1.2.3".into()))
    );
    assert_eq!(
        Pins::parse("a=localhost"),
        Err(PinError::BadAddress("localhost".into()))
    );
}

#[tokio::test]
async fn a_pinned_name_is_answered_without_dns_and_still_guarded() {
    let public = Guard {
        pins: pins(&format!("{NAME}=203.0.113.7")),
        ..Guard::default()
    };
    let addrs = transport::resolve_guarded(NAME, 443, &public)
        .await
        .unwrap();
    assert_eq!(addrs, vec!["203.0.113.7:443".parse().unwrap()]);
    let loopback = Guard {
        pins: pins(&format!("{NAME}=127.0.0.1")),
        ..Guard::default()
    };
    let f = transport::resolve_guarded(&format!("{NAME}."), 80, &loopback)
        .await
        .unwrap_err();
    assert_eq!(f.kind, ErrorKind::Forbidden, "{}", f.message);
    assert!(f.message.contains("127.0.0.1"), "{}", f.message);
}

#[tokio::test]
async fn a_probe_of_a_name_pinned_to_a_listening_loopback_port_succeeds() {
    let server = TestServer::start(|_| Reply::text(200, "ok")).await;
    let port = port_of(&server.url);
    let options = ProbeOptions {
        resolve: pins(&format!("{NAME}=127.0.0.1")),
        ..ProbeOptions::allow_private()
    };
    let prober = Prober::with_options(options).unwrap();
    let r = prober
        .check(&target(&format!("http://{NAME}:{port}/health")), 0)
        .await;
    assert_eq!(r.outcome, Outcome::Up, "{r:?}");
    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/health");
    assert_eq!(
        seen[0].header("host"),
        Some(format!("{NAME}:{port}").as_str()),
        "the request keeps the name"
    );
}

#[tokio::test]
async fn a_probe_of_a_name_pinned_to_a_closed_loopback_port_is_refused() {
    let port = port_of(&closed_port().await);
    let options = ProbeOptions {
        resolve: pins(&format!("{NAME}=127.0.0.1")),
        ..ProbeOptions::allow_private()
    };
    let prober = Prober::with_options(options).unwrap();
    let r = prober
        .check(&target(&format!("http://{NAME}:{port}/")), 0)
        .await;
    assert_eq!(r.outcome, Outcome::Failed);
    assert_eq!(r.error, Some(ErrorKind::Connect), "{r:?}");
    let message = r.message.unwrap_or_default().to_lowercase();
    assert!(message.contains("refused"), "{message}");
}

#[tokio::test]
async fn the_guard_refuses_a_name_pinned_to_loopback_when_private_targets_are_not_allowed() {
    let server = TestServer::start(|_| Reply::text(200, "ok")).await;
    let port = port_of(&server.url);
    let options = ProbeOptions {
        resolve: pins(&format!("{NAME}=127.0.0.1")),
        ..ProbeOptions::default()
    };
    // Notifications do not take the probes' pins.
    assert!(options.guard().pins.is_empty());
    assert!(!options.probe_guard().pins.is_empty());
    let prober = Prober::with_options(options).unwrap();
    let r = prober
        .check(&target(&format!("http://{NAME}:{port}/")), 0)
        .await;
    assert_eq!(r.outcome, Outcome::Failed);
    assert_eq!(r.error, Some(ErrorKind::Forbidden), "{r:?}");
    assert!(server.requests().is_empty(), "nothing reached the server");
}

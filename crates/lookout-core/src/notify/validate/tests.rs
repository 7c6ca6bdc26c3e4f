//! Tests of `validate.rs`.

use super::*;
use serde_json::json;

fn parse(v: Value) -> Result<Channel, ValidationError> {
    Channel::parse(v.to_string().as_bytes())
}

fn field(v: Value) -> String {
    parse(v).expect_err("refused").field
}

fn tg(config: Value) -> Value {
    json!({"id": "ops", "kind": "telegram", "config": config})
}

#[test]
fn every_kind_parses_from_its_documented_json() {
    for (kind, config) in [
        (
            "slack",
            json!({"webhook_url": "https://hooks.slack.com/services/T/B/x"}),
        ),
        (
            "telegram",
            json!({"bot_token": "123456:AAE-x_y", "chat_id": -1001234567890_i64}),
        ),
        (
            "discord",
            json!({"webhook_url": "https://discord.com/api/webhooks/1/t"}),
        ),
        (
            "teams",
            json!({"webhook_url": "https://x.logic.azure.com/workflows/1?sig=s"}),
        ),
        (
            "pagerduty",
            json!({"routing_key": "0123456789abcdef0123456789ABCDEF"}),
        ),
        (
            "opsgenie",
            json!({"api_key": "eb243592-faa2-4ba2-a551-1afdf565c889"}),
        ),
        ("email", json!({"to": ["ops@example.com"]})),
        (
            "email",
            json!({"topic_arn": "arn:aws:sns:eu-west-1:123456789012:alerts"}),
        ),
        (
            "webhook",
            json!({"url": "http://127.0.0.1:8080/in", "secret": "0123456789abcdef"}),
        ),
    ] {
        let c = parse(json!({"id": "c-1", "kind": kind, "config": config,
            "language": "fa", "route": {"min_severity": "warning", "kinds": ["recovery"]}}))
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(c.kind().as_str(), kind);
        assert_eq!(c.name, "c-1", "the name defaults to the id");
    }
    let c = parse(tg(json!({"bot_token": "1:x", "chat_id": -100}))).unwrap();
    assert!(matches!(c.config, ChannelConfig::Telegram { ref chat_id, .. } if chat_id == "-100"));
}

#[test]
fn refusals_name_the_field_by_its_path() {
    let ok = json!({"bot_token": "1:x", "chat_id": "1"});
    let with = |k: &str, v: Value| {
        let mut c = tg(ok.clone());
        c[k] = v;
        c
    };
    assert_eq!(field(with("colour", json!("red"))), "colour");
    assert_eq!(field(with("id", json!("Ops!"))), "id");
    assert_eq!(field(with("id", json!("a".repeat(65)))), "id");
    assert_eq!(field(with("id", json!(7))), "id");
    assert_eq!(field(with("name", json!("a\nb"))), "name");
    assert_eq!(field(with("kind", json!("sms"))), "kind");
    assert_eq!(field(with("language", json!("de"))), "language");
    assert_eq!(field(with("enabled", json!("yes"))), "enabled");
    assert_eq!(
        field(with("route", json!({"kinds": ["recovery", "nope"]}))),
        "route.kinds[1]"
    );
    assert_eq!(
        field(with("route", json!({"severity": "info"}))),
        "route.severity"
    );
    assert_eq!(
        field(with("route", json!({"tags": ["a", ""]}))),
        "route.tags[1]"
    );
    assert_eq!(field(json!({"id": "a", "kind": "slack"})), "config");
    assert_eq!(field(tg(json!({"chat_id": "1"}))), "config.bot_token");
    assert_eq!(
        field(tg(json!({"bot_token": 5, "chat_id": "1"}))),
        "config.bot_token"
    );
    assert_eq!(
        field(tg(json!({"bot_token": "1:x", "chat_id": "1", "x": 1}))),
        "config.x"
    );
    assert_eq!(
        field(tg(json!({"bot_token": "1:x", "chat_id": "@ab"}))),
        "config.chat_id"
    );
    assert_eq!(field(json!([1])), "channel");
    assert_eq!(Channel::parse(b"{").unwrap_err().field, "channel");
}

#[test]
fn secrets_are_checked_for_shape_unless_given_by_reference() {
    let slack = |u: &str| json!({"id": "s", "kind": "slack", "config": {"webhook_url": u}});
    for bad in ["ftp://h/x", "https://", "not a url", "***"] {
        assert_eq!(field(slack(bad)), "config.webhook_url", "{bad}");
    }
    for bad in ["123456", "abc:def", "1:", "1:a b", ":x"] {
        assert_eq!(
            field(tg(json!({"bot_token": bad, "chat_id": "1"}))),
            "config.bot_token"
        );
    }
    let pd = |k: &str| json!({"id": "p", "kind": "pagerduty", "config": {"routing_key": k}});
    assert_eq!(field(pd(&"a".repeat(31))), "config.routing_key");
    assert_eq!(field(pd(&"a".repeat(33))), "config.routing_key");
    let wh = |s: &str| {
        json!({"id": "w", "kind": "webhook",
        "config": {"url": "https://h/x", "secret": s}})
    };
    assert_eq!(field(wh("fifteen-chars!!")), "config.secret");
    assert!(parse(wh("sixteen-chars!!!")).is_ok());
    // References skip the shape check; malformed or partial ones are refused.
    assert!(parse(tg(
        json!({"bot_token": "{{ssm:/lookout/tg}}", "chat_id": "1"})
    ))
    .is_ok());
    assert!(parse(pd("{{secretsmanager:lookout/pd#key}}")).is_ok());
    assert!(parse(slack("{{ssm:/lookout/slack}}")).is_ok());
    assert_eq!(field(slack("{{ssm:/lookout/slack")), "config.webhook_url");
    assert_eq!(field(pd("x{{ssm:/a}}")), "config.routing_key");
}

#[test]
fn a_refusal_never_quotes_the_secret() {
    let secret = "supersecretvalue-without-colon";
    for v in [
        tg(json!({"bot_token": secret, "chat_id": "1"})),
        json!({"id": "p", "kind": "pagerduty", "config": {"routing_key": secret}}),
        json!({"id": "s", "kind": "slack", "config": {"webhook_url": secret}}),
        json!({"id": "s", "kind": "webhook", "config": {"url": "https://h", "secret": "short"}}),
    ] {
        let e = parse(v).unwrap_err();
        assert!(
            !e.to_string().contains(secret) && !e.to_string().contains("short"),
            "{e}"
        );
    }
}

#[test]
fn email_needs_a_recipient_or_a_topic_with_plausible_addresses() {
    let mail = |config: Value| json!({"id": "m", "kind": "email", "config": config});
    assert_eq!(field(mail(json!({}))), "config.to");
    assert_eq!(field(mail(json!({"to": []}))), "config.to");
    assert_eq!(
        field(mail(json!({"to": ["a@b.co", "nope"]}))),
        "config.to[1]"
    );
    assert_eq!(field(mail(json!({"to": ["a@b.co", 3]}))), "config.to[1]");
    for bad in [
        "a b@c.de",
        "@c.de",
        "a@localhost",
        "a@.de",
        "<a@b.de>",
        "a@b.de\n",
    ] {
        assert_eq!(field(mail(json!({"to": [bad]}))), "config.to[0]", "{bad:?}");
    }
    let many: Vec<String> = (0..51).map(|i| format!("u{i}@example.com")).collect();
    assert_eq!(field(mail(json!({"to": many}))), "config.to");
    assert!(parse(mail(json!({"to": many[..50]}))).is_ok());
    assert_eq!(
        field(mail(
            json!({"topic_arn": "arn:aws:sqs:eu-west-1:123456789012:q"})
        )),
        "config.topic_arn"
    );
    assert!(parse(mail(json!({"topic_arn": null, "to": ["a@b.co"]}))).is_ok());
}

#[test]
fn resolved_secret_values_are_checked_literally_and_named_by_field() {
    // As resolve_channel gives it: a channel read from the store, references replaced.
    let with = |mut config: Value| {
        config["id"] = json!("c");
        config["name"] = json!("C");
        serde_json::from_value::<Channel>(config).unwrap()
    };
    for (config, field, value) in [
        (
            json!({"kind": "telegram", "config": {"bot_token": "1:abc/../x?y#", "chat_id": "-1"}}),
            "config.bot_token",
            "1:abc/../x?y#",
        ),
        (
            json!({"kind": "opsgenie", "config": {"api_key": "key-1\r\nX-Evil: 1"}}),
            "config.api_key",
            "key-1",
        ),
        (
            json!({"kind": "pagerduty", "config": {"routing_key": "short-routing-key"}}),
            "config.routing_key",
            "short-routing-key",
        ),
        (
            json!({"kind": "slack", "config": {"webhook_url": "file:///etc/passwd"}}),
            "config.webhook_url",
            "passwd",
        ),
        (
            json!({"kind": "webhook", "config": {"url": "https://h/x", "secret": "too-short"}}),
            "config.secret",
            "too-short",
        ),
        // A value that reads as a reference is not exempt once resolved.
        (
            json!({"kind": "pagerduty", "config": {"routing_key": "{{ssm:/lookout/pd}}"}}),
            "config.routing_key",
            "{{ssm:",
        ),
    ] {
        let e = with(config).validate_secret_values().unwrap_err();
        assert_eq!(e.field, field);
        assert!(!e.to_string().contains(value), "{e}");
    }
    for config in [
        json!({"kind": "telegram", "config": {"bot_token": "123:AA-b_c", "chat_id": "-1"}}),
        json!({"kind": "opsgenie", "config": {"api_key": "eb243592-faa2-4ba2"}}),
        json!({"kind": "slack", "config": {"webhook_url": "https://hooks.slack.com/x"}}),
        json!({"kind": "webhook", "config": {"url": "http://127.0.0.1:1/in",
            "secret": "sixteen-chars!!!"}}),
    ] {
        assert_eq!(with(config).validate_secret_values(), Ok(()));
    }
}

#[test]
fn a_definition_over_16_kib_is_refused() {
    let big = json!({"id": "b", "kind": "slack", "name": "n",
        "config": {"webhook_url": format!("https://h/{}", "x".repeat(17 * 1024))}});
    assert_eq!(field(big.clone()), "channel");
    assert_eq!(Channel::from_json(big).unwrap_err().field, "channel");
}

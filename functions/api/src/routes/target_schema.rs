//! The target definition's schema in the OpenAPI document (`TargetDefinition`): the fields
//! every kind shares, and per `kind` (`server`, `proxy`, `tcp`, `tls`, `dns`, `heartbeat`)
//! its own, as `lookout_core::domain::target` reads them. Written as JSON Schema here because
//! the domain crate is pure (no utoipa); `POST /v1/targets` and `PUT /v1/targets` take one
//! definition, a list, or `{"targets": [...]}` of them ([`targets_body`]). The rules the schema
//! cannot say (a host's form, a regular expression that compiles, a resolver's address) are
//! the validation's: a 422 naming the field.

use serde_json::{json, Map, Value};

fn int(min: u64, max: u64, description: &str) -> Value {
    json!({"type": "integer", "minimum": min, "maximum": max, "description": description})
}

fn text(description: &str) -> Value {
    json!({"type": "string", "description": description})
}

fn kind(k: &str) -> Value {
    json!({"type": "string", "enum": [k]})
}

/// The fields of every kind.
fn common() -> Value {
    json!({
        "id": {"type": "string", "pattern": "^[a-z0-9_.-]{1,64}$", "description": "Stable id: 1 to 64 of a-z, 0-9, '-', '_', '.'"},
        "name": text("Human name; defaults to the id"),
        "group": text("Servers of one backend or one proxy pool: failover picks inside a group"),
        "enabled": {"type": "boolean", "description": "Disabled targets are not probed (default true)"},
        "interval_s": int(1, 86_400, "Seconds between checks (default 60)"),
        "timeout_ms": int(1, 120_000, "Time allowed for one attempt, ms (default 10000)"),
        "connect_timeout_ms": int(1, 120_000, "Time allowed to connect, ms (default timeout_ms)"),
        "retries": int(0, 10, "Extra attempts after a failed one (default 0)"),
        "backoff_ms": int(1, 10_000, "Base delay before the first retry, ms (default 200)"),
        "failure_threshold": int(1, 100, "Consecutive failures before down (default 3; 1 for heartbeats)"),
        "recovery_threshold": int(1, 100, "Consecutive successes before up again (default 1)"),
        "degraded_latency_ms": int(1, 600_000, "A success slower than this is degraded, ms (default 2000)"),
        "tags": {"type": "array", "items": {"type": "string"}},
        "priority": int(0, 1_000_000, "Failover priority inside the group, lower first"),
        "maintenance": {"type": "array", "items": {"type": "object"}, "description": "Maintenance windows (at most 20)"},
        "reminder_every_min": int(0, 10_080, "Minutes between reminders while down (0: none)"),
        "flap_detection": {"type": "boolean"},
        "locations": {"type": "array", "items": {"type": "string"}},
        "quorum": {"type": "object"},
        "version": {"type": "integer", "minimum": 0, "description": "Ignored on input"},
    })
}

/// Each kind's own fields, with `kind` and the required ones.
fn kinds() -> Vec<(&'static str, Value, Vec<&'static str>)> {
    vec![
        (
            "ServerCheck",
            json!({
                "kind": kind("server"),
                "url": text("http:// or https:// URL; credentials and secret query values are masked in answers"),
                "method": text("HTTP method (default GET)"),
                "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                "body": text("Request body (masked in answers)"),
                "expected_status": {"type": "array", "items": {}, "description": "Status codes or ranges such as \"200-299\""},
                "body_contains": text("The answer's body must contain this"),
                "body_not_contains": text("The answer's body must not contain this"),
                "json_pointer": text("RFC 6901 pointer into a JSON answer"),
                "json_equals": {"description": "The value json_pointer must point at"},
                "max_body_bytes": {"type": "integer", "minimum": 0},
                "cert_expiry_warn_days": int(0, 3650, "Days of certificate left under which the check is degraded (default 14)"),
                "ca_pem": text("PEM certificates of a private CA (at most 16 KiB)"),
                "follow_redirects": {"type": "boolean"},
                "secret_headers": {"type": "array", "items": {"type": "string"}},
            }),
            vec!["url"],
        ),
        (
            "ProxyCheck",
            json!({
                "kind": kind("proxy"),
                "proxy_url": text("http://, https:// or socks5:// proxy URL (credentials masked in answers)"),
                "proxy_type": {"type": "string", "enum": ["vps", "datacenter", "residential"]},
                "cost_per_gb": {"type": "number", "minimum": 0},
                "test_urls": {"type": "array", "items": {"type": "string"}},
                "accept_status": {"type": "array", "items": {"type": "integer"}},
                "block_status": {"type": "array", "items": {"type": "integer"}},
                "ca_pem": text("PEM certificates of a private CA"),
                "traffic_alert_gb": {"type": "number", "minimum": 0},
                "expect_body": text("The test URL's body must contain this"),
            }),
            vec!["proxy_url"],
        ),
        (
            "TcpCheck",
            json!({
                "kind": kind("tcp"),
                "host": text("Host name or IP address, no scheme or port (the address guard applies)"),
                "port": int(1, 65_535, "TCP port"),
                "send": text("Text sent once connected, at most 4096 bytes; a secret: masked in answers, sealed at rest, {{ssm:..}} references allowed"),
                "expect_prefix": text("The answer must start with this (at most 1024 bytes)"),
                "expect_regex": text("The answer must match this regular expression (Rust regex syntax, at most 1024 bytes)"),
            }),
            vec!["host", "port"],
        ),
        (
            "TlsCheck",
            json!({
                "kind": kind("tls"),
                "host": text("Host name or IP address, no scheme or port"),
                "port": int(1, 65_535, "TLS port (or the plain port STARTTLS upgrades)"),
                "server_name": text("SNI name the certificate must be valid for (default host)"),
                "starttls": {"type": "string", "enum": ["smtp", "imap", "pop3", "postgres"], "description": "Upgrade a plain-text connection first"},
                "cert_expiry_warn_days": int(0, 3650, "Days of certificate left under which the check is degraded (default 14, 0 off)"),
                "ca_pem": text("PEM certificates of a private CA (at most 16 KiB)"),
            }),
            vec!["host", "port"],
        ),
        (
            "DnsCheck",
            json!({
                "kind": kind("dns"),
                "query_name": text("The name asked for (a final dot allowed), at most 253 characters"),
                "record_type": {"type": "string", "enum": ["A", "AAAA", "CNAME", "MX", "TXT", "NS"]},
                "resolver": text("The resolver: an IP address with an optional port (10.0.0.2, 10.0.0.2:5353, [2001:db8::53]:53)"),
                "transport": {"type": "string", "enum": ["udp", "tcp"], "description": "udp (default; TCP again when truncated) or tcp"},
                "expect_contains": {"type": "array", "maxItems": 32, "items": {"type": "string"}, "description": "Each must be among the answers"},
                "expect_equals": {"type": "array", "maxItems": 32, "items": {"type": "string"}, "description": "The answers, as a set, must be exactly these"},
                "expect_count": {"type": "object", "properties": {"min": {"type": "integer", "minimum": 0}, "max": {"type": "integer", "minimum": 0}}, "additionalProperties": false},
            }),
            vec!["query_name", "record_type", "resolver"],
        ),
        (
            "HeartbeatCheck",
            json!({
                "kind": kind("heartbeat"),
                "period_s": int(60, 31 * 86_400, "Seconds expected between two pings"),
                "grace_s": int(60, 31 * 86_400, "Slack after period_s, and the longest run after a start ping (default 300)"),
                "token": {"type": "string", "pattern": "^[A-Za-z0-9_-]{22,128}$", "description": "The push token, input only (stored as its SHA-256); without one the API makes one and answers push_url once"},
                "token_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "SHA-256 of the push token, an alternative to token in a target file; never answered"},
            }),
            vec!["period_s"],
        ),
    ]
}

/// The schemas to add to the document's components: `TargetDefinition` and one per kind.
pub fn components() -> Map<String, Value> {
    let mut out = Map::new();
    let mut refs = Vec::new();
    for (name, props, required) in kinds() {
        let mut properties = common();
        if let (Some(all), Some(own)) = (properties.as_object_mut(), props.as_object()) {
            all.extend(own.clone());
        }
        let mut req = vec!["id", "group", "kind"];
        req.extend(required);
        out.insert(
            name.to_string(),
            json!({"type": "object", "required": req, "properties": properties,
                   "additionalProperties": false}),
        );
        refs.push(json!({"$ref": format!("#/components/schemas/{name}")}));
    }
    out.insert(
        "TargetDefinition".into(),
        json!({
            "description": "A target definition: `kind` picks the fields besides the shared ones",
            "oneOf": refs,
        }),
    );
    out
}

/// The body of `POST /v1/targets` and `PUT /v1/targets`: one definition, a list of them, or
/// `{"targets": [...]}`.
pub fn targets_body() -> Value {
    let one = json!({"$ref": "#/components/schemas/TargetDefinition"});
    json!({"anyOf": [
        one,
        {"type": "array", "minItems": 1, "items": one},
        {"type": "object", "required": ["targets"], "properties": {"targets": {"type": "array", "minItems": 1, "items": one}}},
    ]})
}

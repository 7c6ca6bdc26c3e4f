//! Loopback fake notification providers: one HTTP server that answers as Slack, Telegram,
//! Discord, Microsoft Teams, PagerDuty, Opsgenie and a signed-webhook receiver would, CHECKS
//! each request against the provider's documented format, records what it received, and can
//! be told to answer 429 (with `Retry-After`, or Telegram's `parameters.retry_after`), 5xx, or
//! to hang.
//!
//! Routes (the `Endpoints` base URLs are [`FakeProviders::base`]):
//! - `POST /slack/services/<secret>`: Slack incoming webhook; Block Kit
//!   (<https://api.slack.com/messaging/webhooks>, <https://api.slack.com/reference/block-kit/blocks>):
//!   a JSON object with `blocks` (top level or in `attachments`), each block a known `type`,
//!   text objects `plain_text`/`mrkdwn` (section text at most 3,000 characters, header 150),
//!   an attachment `color` a hex colour; answers `200 ok` (text).
//! - `POST /bot<token>/sendMessage`: Telegram Bot API
//!   (<https://core.telegram.org/bots/api#sendmessage>, "HTML style"): `chat_id`, `text` of 1 to
//!   4,096 characters after entities are parsed, `parse_mode: "HTML"`, only the supported tags,
//!   balanced, and no `<`, `>` or `&` outside a tag or entity; answers `{"ok":true,...}`.
//! - `POST /discord/api/webhooks/<id>/<token>`: Discord execute webhook
//!   (<https://discord.com/developers/docs/resources/webhook#execute-webhook>, embed limits):
//!   `content` (at most 2,000) or `embeds` (at most 10; title 256, description 4,096, 25
//!   fields, 6,000 characters in all, `color` an integer up to 0xFFFFFF); answers `204`.
//! - `POST /teams/workflows/<secret>`: a Teams workflow webhook
//!   (<https://learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using>):
//!   `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive",
//!   "content":{"type":"AdaptiveCard","version":"1.x","body":[...]}}]}`; answers `202`.
//! - `POST /v2/enqueue`: PagerDuty Events API v2
//!   (<https://developer.pagerduty.com/docs/events-api-v2/trigger-events>): `routing_key` of 32
//!   characters, `event_action` `trigger`/`acknowledge`/`resolve`, `dedup_key` (at most 255;
//!   required to resolve), a trigger's `payload` with `summary` (at most 1,024), `source` and
//!   `severity` `critical`/`error`/`warning`/`info`; answers `202` with the `dedup_key`.
//! - `POST /v2/alerts` and `POST /v2/alerts/<alias>/close?identifierType=alias`: Opsgenie Alert
//!   API (<https://docs.opsgenie.com/docs/alert-api>): `Authorization: GenieKey <key>`;
//!   create: `message` (1 to 130), `alias` (at most 512), `priority` `P1`..`P5`, at most 20
//!   tags of at most 50; close: an alias and `identifierType=alias`; answers `202`.
//! - `POST /webhook/<secret>`: a receiver of Lookout's signed webhooks: `X-Lookout-Timestamp`
//!   within 5 minutes, `X-Lookout-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`
//!   with the secret registered by [`FakeProviders::webhook_url`]; answers `200`.
//!
//! Every request must be `POST` with `Content-Type: application/json` and a JSON object body.
//! A request that breaks a rule is answered 400 and listed in [`FakeProviders::problems`].
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::BodyExt as _;
use serde_json::{json, Value};

/// Which provider a request was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Provider {
    /// Slack incoming webhook.
    Slack,
    /// Telegram Bot API.
    Telegram,
    /// Discord webhook.
    Discord,
    /// Teams workflow.
    Teams,
    /// PagerDuty Events API v2.
    Pagerduty,
    /// Opsgenie Alert API.
    Opsgenie,
    /// Lookout's signed webhook.
    Webhook,
}

/// How the fake answers a request (after checking it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The provider's success answer.
    Ok,
    /// 429, with `Retry-After: <s>` (Telegram: `parameters.retry_after` in the body instead).
    TooMany {
        /// Seconds to wait.
        retry_after_s: u64,
    },
    /// This status, with the provider's error body.
    Status(u16),
    /// Reads the request and answers nothing (for 60 s at most, then closes).
    Hang,
}

/// One request received.
#[derive(Debug, Clone)]
pub struct Received {
    /// For which provider.
    pub provider: Provider,
    /// The path (with the secret in it, for the test to compare).
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// Headers, names in lower case.
    pub headers: BTreeMap<String, String>,
    /// The JSON body (`Null` when it was not JSON).
    pub body: Value,
    /// What the fake answered (after the checks).
    pub status: u16,
    /// Format problems found (empty when the request was well formed).
    pub problems: Vec<String>,
    /// When it arrived, epoch ms.
    pub at_ms: i64,
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    scripted: BTreeMap<Provider, VecDeque<Answer>>,
    always: BTreeMap<Provider, Answer>,
    webhook_secrets: BTreeMap<String, String>,
}

/// The fake providers' server. Stops when dropped.
pub struct FakeProviders {
    base: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeProviders {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeProviders {
    /// Starts the server on a free loopback port.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, std::convert::Infallible>(serve(&state, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(sock), service)
                        .await;
                });
            }
        });
        FakeProviders { base, state, task }
    }

    /// `http://127.0.0.1:<port>`: the Telegram, PagerDuty and Opsgenie base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// A Slack incoming webhook URL holding `secret`.
    pub fn slack_url(&self, secret: &str) -> String {
        format!("{}/slack/services/{secret}", self.base)
    }

    /// A Discord webhook URL holding `secret` as its token.
    pub fn discord_url(&self, secret: &str) -> String {
        format!("{}/discord/api/webhooks/1234567890/{secret}", self.base)
    }

    /// A Teams workflow URL holding `secret`.
    pub fn teams_url(&self, secret: &str) -> String {
        format!("{}/teams/workflows/{secret}", self.base)
    }

    /// A webhook receiver URL holding `secret`, which verifies signatures with `signing`.
    pub fn webhook_url(&self, secret: &str, signing: &str) -> String {
        let path = format!("/webhook/{secret}");
        self.state
            .lock()
            .unwrap()
            .webhook_secrets
            .insert(path.clone(), signing.to_string());
        format!("{}{path}", self.base)
    }

    /// The next answers of `provider`, in order; [`Answer::Ok`] (or [`FakeProviders::always`])
    /// once they are used up.
    pub fn script(&self, provider: Provider, answers: &[Answer]) {
        self.state
            .lock()
            .unwrap()
            .scripted
            .entry(provider)
            .or_default()
            .extend(answers.iter().copied());
    }

    /// `answer` to every request for `provider` after the scripted ones.
    pub fn always(&self, provider: Provider, answer: Answer) {
        self.state.lock().unwrap().always.insert(provider, answer);
    }

    /// Every request received, in order.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// The requests received for `provider`, in order.
    pub fn received_by(&self, provider: Provider) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.provider == provider)
            .collect()
    }

    /// The requests answered with a success, for `provider`.
    pub fn accepted_by(&self, provider: Provider) -> Vec<Received> {
        self.received_by(provider)
            .into_iter()
            .filter(|r| (200..300).contains(&r.status))
            .collect()
    }

    /// Every format problem, `"<provider> <path>: <problem>"`.
    pub fn problems(&self) -> Vec<String> {
        self.received()
            .iter()
            .flat_map(|r| {
                r.problems
                    .iter()
                    .map(move |p| format!("{:?}: {p}", r.provider))
            })
            .collect()
    }
}

type Response = hyper::Response<http_body_util::Full<hyper::body::Bytes>>;

fn respond(status: u16, headers: &[(&str, String)], body: &str) -> Response {
    let mut r = hyper::Response::builder().status(status);
    for (k, v) in headers {
        r = r.header(*k, v);
    }
    r.body(http_body_util::Full::new(hyper::body::Bytes::from(
        body.to_string(),
    )))
    .unwrap()
}

async fn serve(state: &Mutex<State>, req: hyper::Request<hyper::body::Incoming>) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().map(str::to_string);
    let headers: BTreeMap<String, String> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                v.to_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let bytes = body
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    let Some(provider) = provider_of(&path) else {
        return respond(404, &[], "no such route");
    };
    let mut problems = Vec::new();
    if parts.method != hyper::Method::POST {
        problems.push(format!("method {} (want POST)", parts.method));
    }
    let content_type = headers.get("content-type").cloned().unwrap_or_default();
    if !content_type.starts_with("application/json") {
        problems.push(format!(
            "Content-Type {content_type:?} (want application/json)"
        ));
    }
    let body: Value = match serde_json::from_slice(&bytes) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => {
            problems.push("the body is not a JSON object".into());
            Value::Null
        }
        // An Opsgenie close may come without a body.
        Err(_) if bytes.is_empty() && provider == Provider::Opsgenie => json!({}),
        Err(e) => {
            problems.push(format!("the body is not JSON: {e}"));
            Value::Null
        }
    };
    let webhook_secret = state.lock().unwrap().webhook_secrets.get(&path).cloned();
    match provider {
        Provider::Slack => check_slack(&body, &mut problems),
        Provider::Telegram => check_telegram(&path, &body, &mut problems),
        Provider::Discord => check_discord(&body, &mut problems),
        Provider::Teams => check_teams(&body, &mut problems),
        Provider::Pagerduty => check_pagerduty(&body, &mut problems),
        Provider::Opsgenie => {
            check_opsgenie(&path, query.as_deref(), &headers, &body, &mut problems)
        }
        Provider::Webhook => {
            check_webhook(webhook_secret.as_deref(), &headers, &bytes, &mut problems)
        }
    }
    let answer = if problems.is_empty() {
        let mut s = state.lock().unwrap();
        let next = s.scripted.get_mut(&provider).and_then(VecDeque::pop_front);
        next.or_else(|| s.always.get(&provider).copied())
            .unwrap_or(Answer::Ok)
    } else {
        Answer::Status(400)
    };
    let status = match answer {
        Answer::Ok => success_status(provider),
        Answer::TooMany { .. } => 429,
        Answer::Status(s) => s,
        Answer::Hang => 0,
    };
    state.lock().unwrap().received.push(Received {
        provider,
        path: path.clone(),
        query,
        headers,
        body: body.clone(),
        status,
        problems: problems.clone(),
        at_ms: lookout_core::time::now_ms(),
    });
    match answer {
        Answer::Hang => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            respond(504, &[], "")
        }
        Answer::Ok => ok_answer(provider, &body),
        Answer::TooMany { retry_after_s } => too_many(provider, retry_after_s),
        Answer::Status(s) => error_answer(provider, s, &problems),
    }
}

fn provider_of(path: &str) -> Option<Provider> {
    if path.starts_with("/slack/") {
        Some(Provider::Slack)
    } else if path.starts_with("/discord/api/webhooks/") {
        Some(Provider::Discord)
    } else if path.starts_with("/teams/") {
        Some(Provider::Teams)
    } else if path.starts_with("/webhook/") {
        Some(Provider::Webhook)
    } else if path.starts_with("/bot") {
        Some(Provider::Telegram)
    } else if path == "/v2/enqueue" {
        Some(Provider::Pagerduty)
    } else if path.starts_with("/v2/alerts") {
        Some(Provider::Opsgenie)
    } else {
        None
    }
}

fn success_status(p: Provider) -> u16 {
    match p {
        Provider::Slack | Provider::Telegram | Provider::Webhook => 200,
        Provider::Discord => 204,
        Provider::Teams | Provider::Pagerduty | Provider::Opsgenie => 202,
    }
}

fn ok_answer(p: Provider, body: &Value) -> Response {
    let json_type = [("content-type", "application/json".to_string())];
    match p {
        Provider::Slack => respond(200, &[("content-type", "text/plain".into())], "ok"),
        Provider::Telegram => respond(
            200,
            &json_type,
            &json!({"ok": true, "result": {"message_id": 1, "date": 1_700_000_000,
                "chat": {"id": body["chat_id"]}, "text": "…"}})
            .to_string(),
        ),
        Provider::Discord => respond(204, &[], ""),
        Provider::Teams => respond(202, &[], ""),
        Provider::Pagerduty => respond(
            202,
            &json_type,
            &json!({"status": "success", "message": "Event processed",
                "dedup_key": body["dedup_key"]})
            .to_string(),
        ),
        Provider::Opsgenie => respond(
            202,
            &json_type,
            &json!({"result": "Request will be processed", "took": 0.01,
                "requestId": "00000000-0000-4000-8000-000000000000"})
            .to_string(),
        ),
        Provider::Webhook => respond(200, &json_type, "{}"),
    }
}

fn too_many(p: Provider, retry_after_s: u64) -> Response {
    let json_type = ("content-type", "application/json".to_string());
    match p {
        // Telegram says when in the body (ResponseParameters.retry_after), not in a header.
        Provider::Telegram => respond(
            429,
            &[json_type],
            &json!({"ok": false, "error_code": 429,
                "description": format!("Too Many Requests: retry after {retry_after_s}"),
                "parameters": {"retry_after": retry_after_s}})
            .to_string(),
        ),
        Provider::Discord => respond(
            429,
            &[json_type, ("retry-after", retry_after_s.to_string())],
            &json!({"message": "You are being rate limited.", "retry_after": retry_after_s as f64,
                "global": false})
            .to_string(),
        ),
        _ => respond(
            429,
            &[json_type, ("retry-after", retry_after_s.to_string())],
            r#"{"message":"rate limited"}"#,
        ),
    }
}

fn error_answer(p: Provider, status: u16, problems: &[String]) -> Response {
    let json_type = [("content-type", "application/json".to_string())];
    let what = problems.join("; ");
    match p {
        Provider::Slack => respond(status, &[], if status == 400 { "invalid_blocks" } else { "internal_error" }),
        Provider::Telegram => respond(
            status,
            &json_type,
            &json!({"ok": false, "error_code": status, "description": format!("Bad Request: {what}")})
                .to_string(),
        ),
        Provider::Pagerduty => respond(
            status,
            &json_type,
            &json!({"status": "invalid event", "message": "Event object is invalid", "errors": problems})
                .to_string(),
        ),
        _ => respond(status, &json_type, &json!({"message": what}).to_string()),
    }
}

/// Characters of a JSON string value (0 when absent or not a string).
fn chars(v: &Value) -> usize {
    v.as_str().map_or(0, |s| s.chars().count())
}

fn check_slack(body: &Value, problems: &mut Vec<String>) {
    const TYPES: &[&str] = &[
        "section",
        "header",
        "context",
        "divider",
        "actions",
        "rich_text",
        "image",
        "input",
        "file",
        "video",
    ];
    let mut blocks: Vec<&Value> = Vec::new();
    for list in std::iter::once(&body["blocks"]).chain(
        body["attachments"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| &a["blocks"]),
    ) {
        if let Some(l) = list.as_array() {
            if l.len() > 50 {
                problems.push(format!("{} blocks (at most 50)", l.len()));
            }
            blocks.extend(l);
        }
    }
    if blocks.is_empty() {
        problems.push("no Block Kit blocks".into());
    }
    if body.get("text").is_some_and(|t| !t.is_string()) {
        problems.push("text is not a string".into());
    }
    for b in blocks {
        let ty = b["type"].as_str().unwrap_or("");
        if !TYPES.contains(&ty) {
            problems.push(format!("block type {ty:?}"));
        }
        let mut texts: Vec<(&Value, usize)> = Vec::new();
        match ty {
            "header" => texts.push((&b["text"], 150)),
            "section" => {
                if !b["text"].is_null() {
                    texts.push((&b["text"], 3000));
                }
                for f in b["fields"].as_array().into_iter().flatten() {
                    texts.push((f, 2000));
                }
                if b["text"].is_null() && b["fields"].is_null() {
                    problems.push("a section without text or fields".into());
                }
            }
            "context" => {
                for e in b["elements"].as_array().into_iter().flatten() {
                    if e["type"] != "image" {
                        texts.push((e, 3000));
                    }
                }
            }
            _ => {}
        }
        for (t, max) in texts {
            let kind = t["type"].as_str().unwrap_or("");
            if kind != "plain_text" && kind != "mrkdwn" {
                problems.push(format!("a text object of type {kind:?}"));
            }
            if ty == "header" && kind != "plain_text" {
                problems.push("a header's text must be plain_text".into());
            }
            let n = chars(&t["text"]);
            if n == 0 || n > max {
                problems.push(format!("{ty} text of {n} characters (1 to {max})"));
            }
        }
    }
    for a in body["attachments"].as_array().into_iter().flatten() {
        if let Some(c) = a.get("color") {
            let c = c.as_str().unwrap_or("");
            let hex =
                c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|x| x.is_ascii_hexdigit());
            if !hex && !["good", "warning", "danger"].contains(&c) {
                problems.push(format!("attachment color {c:?}"));
            }
        }
    }
}

/// Telegram's HTML style: the supported tags, balanced; `<`, `>`, `&` only in tags and
/// entities (`&lt;` `&gt;` `&amp;` `&quot;` and numeric ones). Answers the text length
/// after entity parsing.
fn telegram_html(text: &str, problems: &mut Vec<String>) -> usize {
    const TAGS: &[&str] = &[
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    ];
    let mut open: Vec<String> = Vec::new();
    let mut len = 0usize;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => {
                let Some(end) = rest.find('>') else {
                    problems.push("a `<` that starts no tag".into());
                    return len;
                };
                let tag = &rest[1..end];
                rest = &rest[end + 1..];
                let (closing, inner) = match tag.strip_prefix('/') {
                    Some(t) => (true, t),
                    None => (false, tag),
                };
                let name = inner.split_whitespace().next().unwrap_or("").to_string();
                if !TAGS.contains(&name.as_str()) {
                    problems.push(format!("unsupported tag <{name}>"));
                    continue;
                }
                if closing {
                    if open.pop().as_deref() != Some(name.as_str()) {
                        problems.push(format!("</{name}> closes no open <{name}>"));
                    }
                } else {
                    if name == "a" && !inner.contains("href=\"") {
                        problems.push("<a> without href".into());
                    }
                    open.push(name);
                }
            }
            '>' => {
                problems.push("a bare `>`".into());
                rest = &rest[1..];
                len += 1;
            }
            '&' => {
                let end = rest.find(';').filter(|e| *e <= 10);
                let entity = end.map(|e| &rest[1..e]).unwrap_or("");
                let known = ["lt", "gt", "amp", "quot"].contains(&entity)
                    || entity.strip_prefix('#').is_some_and(|n| {
                        n.strip_prefix('x')
                            .unwrap_or(n)
                            .chars()
                            .all(|d| d.is_ascii_hexdigit())
                            && !n.is_empty()
                    });
                if !known {
                    problems.push("a bare `&` (not an entity)".into());
                    rest = &rest[1..];
                } else {
                    rest = &rest[end.unwrap() + 1..];
                }
                len += 1;
            }
            c => {
                rest = &rest[c.len_utf8()..];
                len += 1;
            }
        }
    }
    if !open.is_empty() {
        problems.push(format!("unclosed tags {open:?}"));
    }
    len
}

fn check_telegram(path: &str, body: &Value, problems: &mut Vec<String>) {
    let token = path
        .strip_prefix("/bot")
        .and_then(|p| p.strip_suffix("/sendMessage"))
        .unwrap_or("");
    let valid_token = token.split_once(':').is_some_and(|(id, secret)| {
        !id.is_empty()
            && id.chars().all(|c| c.is_ascii_digit())
            && !secret.is_empty()
            && secret
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    });
    if !valid_token {
        problems.push("not /bot<token>/sendMessage with a token <digits>:<key>".into());
    }
    if !(body["chat_id"].is_i64() || body["chat_id"].as_str().is_some_and(|s| !s.is_empty())) {
        problems.push("chat_id is neither an integer nor a non-empty string".into());
    }
    if body["parse_mode"] != "HTML" {
        problems.push(format!("parse_mode {} (want \"HTML\")", body["parse_mode"]));
    }
    let Some(text) = body["text"].as_str() else {
        problems.push("no text".into());
        return;
    };
    let n = telegram_html(text, problems);
    if n == 0 || n > 4096 {
        problems.push(format!(
            "text of {n} characters after entity parsing (1 to 4096)"
        ));
    }
}

fn check_discord(body: &Value, problems: &mut Vec<String>) {
    let content = chars(&body["content"]);
    let embeds = body["embeds"].as_array().cloned().unwrap_or_default();
    if content == 0 && embeds.is_empty() {
        problems.push("neither content nor embeds".into());
    }
    if content > 2000 {
        problems.push(format!("content of {content} characters (at most 2000)"));
    }
    if embeds.len() > 10 {
        problems.push(format!("{} embeds (at most 10)", embeds.len()));
    }
    let mut total = 0;
    for e in &embeds {
        let limits = [("title", 256), ("description", 4096)];
        for (field, max) in limits {
            let n = chars(&e[field]);
            total += n;
            if n > max {
                problems.push(format!("embed {field} of {n} characters (at most {max})"));
            }
        }
        let fields = e["fields"].as_array().cloned().unwrap_or_default();
        if fields.len() > 25 {
            problems.push(format!("{} embed fields (at most 25)", fields.len()));
        }
        for f in &fields {
            let (name, value) = (chars(&f["name"]), chars(&f["value"]));
            total += name + value;
            if name == 0 || name > 256 || value == 0 || value > 1024 {
                problems.push(format!(
                    "an embed field of name {name} and value {value} characters"
                ));
            }
        }
        total += chars(&e["footer"]["text"]) + chars(&e["author"]["name"]);
        if let Some(c) = e.get("color") {
            if c.as_u64().is_none_or(|c| c > 0xFF_FFFF) {
                problems.push(format!("embed color {c} (an integer 0 to 0xFFFFFF)"));
            }
        }
        if let Some(t) = e.get("timestamp") {
            if t.as_str()
                .is_none_or(|t| t.parse::<jiff::Timestamp>().is_err())
            {
                problems.push(format!("embed timestamp {t} is not ISO 8601"));
            }
        }
    }
    if total > 6000 {
        problems.push(format!(
            "embeds of {total} characters in all (at most 6000)"
        ));
    }
}

fn check_teams(body: &Value, problems: &mut Vec<String>) {
    if body["type"] != "message" {
        problems.push(format!("type {} (want \"message\")", body["type"]));
    }
    let attachments = body["attachments"].as_array().cloned().unwrap_or_default();
    if attachments.is_empty() {
        problems.push("no attachments".into());
    }
    for a in &attachments {
        if a["contentType"] != "application/vnd.microsoft.card.adaptive" {
            problems.push(format!("contentType {}", a["contentType"]));
        }
        let card = &a["content"];
        if card["type"] != "AdaptiveCard" {
            problems.push(format!("content.type {}", card["type"]));
        }
        if !card["version"]
            .as_str()
            .is_some_and(|v| v.starts_with("1."))
        {
            problems.push(format!("content.version {}", card["version"]));
        }
        let elements = card["body"].as_array().cloned().unwrap_or_default();
        if elements.is_empty() {
            problems.push("an Adaptive Card without body elements".into());
        }
        if elements.iter().any(|e| !e["type"].is_string()) {
            problems.push("a card element without a type".into());
        }
    }
}

fn check_pagerduty(body: &Value, problems: &mut Vec<String>) {
    if chars(&body["routing_key"]) != 32 {
        problems.push("routing_key is not 32 characters".into());
    }
    let action = body["event_action"].as_str().unwrap_or("");
    if !["trigger", "acknowledge", "resolve"].contains(&action) {
        problems.push(format!("event_action {action:?}"));
    }
    let dedup = chars(&body["dedup_key"]);
    if dedup > 255 {
        problems.push(format!("dedup_key of {dedup} characters (at most 255)"));
    }
    if action != "trigger" && dedup == 0 {
        problems.push(format!("{action} without a dedup_key"));
    }
    if action == "trigger" {
        let p = &body["payload"];
        let summary = chars(&p["summary"]);
        if summary == 0 || summary > 1024 {
            problems.push(format!(
                "payload.summary of {summary} characters (1 to 1024)"
            ));
        }
        if chars(&p["source"]) == 0 {
            problems.push("no payload.source".into());
        }
        let severity = p["severity"].as_str().unwrap_or("");
        if !["critical", "error", "warning", "info"].contains(&severity) {
            problems.push(format!("payload.severity {severity:?}"));
        }
        if let Some(t) = p.get("timestamp") {
            if t.as_str()
                .is_none_or(|t| t.parse::<jiff::Timestamp>().is_err())
            {
                problems.push(format!("payload.timestamp {t} is not ISO 8601"));
            }
        }
    }
}

fn check_opsgenie(
    path: &str,
    query: Option<&str>,
    headers: &BTreeMap<String, String>,
    body: &Value,
    problems: &mut Vec<String>,
) {
    let auth = headers
        .get("authorization")
        .map(String::as_str)
        .unwrap_or("");
    if auth
        .strip_prefix("GenieKey ")
        .is_none_or(|k| k.trim().is_empty())
    {
        problems.push("no `Authorization: GenieKey <key>`".into());
    }
    if path == "/v2/alerts" {
        let message = chars(&body["message"]);
        if message == 0 || message > 130 {
            problems.push(format!("message of {message} characters (1 to 130)"));
        }
        if chars(&body["alias"]) > 512 {
            problems.push("alias over 512 characters".into());
        }
        if let Some(p) = body.get("priority") {
            if !["P1", "P2", "P3", "P4", "P5"].contains(&p.as_str().unwrap_or("")) {
                problems.push(format!("priority {p}"));
            }
        }
        let tags = body["tags"].as_array().cloned().unwrap_or_default();
        if tags.len() > 20 || tags.iter().any(|t| chars(t) == 0 || chars(t) > 50) {
            problems.push("tags: at most 20, each 1 to 50 characters".into());
        }
        if chars(&body["description"]) > 15000 {
            problems.push("description over 15000 characters".into());
        }
        return;
    }
    let alias = path
        .strip_prefix("/v2/alerts/")
        .and_then(|p| p.strip_suffix("/close"))
        .unwrap_or("");
    if alias.is_empty() || alias.contains('/') {
        problems.push(format!(
            "not /v2/alerts or /v2/alerts/<alias>/close: {path}"
        ));
    }
    let identifier_type = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k == "identifierType")
        .map(|(_, v)| v.to_string());
    if identifier_type.as_deref() != Some("alias") {
        problems.push(format!(
            "close with identifierType {identifier_type:?} (want alias)"
        ));
    }
}

/// The alias of an Opsgenie close request's path, percent-decoded.
pub fn opsgenie_close_alias(path: &str) -> Option<String> {
    let alias = path.strip_prefix("/v2/alerts/")?.strip_suffix("/close")?;
    Some(
        percent_encoding::percent_decode_str(alias)
            .decode_utf8()
            .ok()?
            .to_string(),
    )
}

fn check_webhook(
    secret: Option<&str>,
    headers: &BTreeMap<String, String>,
    body: &[u8],
    problems: &mut Vec<String>,
) {
    let Some(secret) = secret else {
        problems.push("a webhook URL no test registered".into());
        return;
    };
    let Some(ts) = headers
        .get("x-lookout-timestamp")
        .and_then(|t| t.parse::<i64>().ok())
    else {
        problems.push("no X-Lookout-Timestamp (epoch seconds)".into());
        return;
    };
    let now = lookout_core::time::now_ms() / 1000;
    if (now - ts).abs() > 300 {
        problems.push(format!(
            "X-Lookout-Timestamp {ts} is {}s from now (a replay?)",
            now - ts
        ));
    }
    let Some(sig) = headers
        .get("x-lookout-signature")
        .and_then(|s| s.strip_prefix("v1="))
        .and_then(|h| hex::decode(h).ok())
    else {
        problems.push("no X-Lookout-Signature: v1=<hex>".into());
        return;
    };
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let mut signed = format!("{ts}.").into_bytes();
    signed.extend_from_slice(body);
    if ring::hmac::verify(&key, &signed, &sig).is_err() {
        problems.push("X-Lookout-Signature does not verify".into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telegram_html_takes_the_documented_tags_and_entities_only() {
        let ok = |t: &str| {
            let mut p = Vec::new();
            telegram_html(t, &mut p);
            p
        };
        assert!(
            ok("<b>Web</b> is &lt;down&gt; &amp; <i>x</i> &#39; <a href=\"https://x\">l</a>")
                .is_empty()
        );
        assert!(!ok("1 < 2").is_empty());
        assert!(!ok("a & b").is_empty());
        assert!(!ok("<div>x</div>").is_empty());
        assert!(!ok("<b>x").is_empty());
        assert!(!ok("<b>x</i>").is_empty());
    }
}

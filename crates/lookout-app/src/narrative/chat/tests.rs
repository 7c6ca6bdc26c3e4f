//! The client against a real loopback server playing an OpenAI-compatible provider: every
//! request's format is checked (method, path and query, headers, the JSON body's exact shape),
//! then the server answers, fails, hangs or limits.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use super::*;
use crate::secrets::MemorySecrets;
use crate::testing::{Reply, Request, TestServer};
use lookout_core::domain::secret_ref::SecretRef;

mod azure;
mod end_to_end;

/// The API key kept in the (memory) secret store.
const KEY: &str = "sk-test-Lk0123456789abcdefXYZ";
/// 2026-11-21T14:00Z.
const HOUR: i64 = 1_795_269_600_000;

fn key_ref() -> SecretRef {
    SecretRef::Ssm("/lookout/llm-key".into())
}

/// What a request must look like.
#[derive(Debug, Clone)]
struct Expect {
    /// Path and query.
    path: String,
    /// The one key header and its value, or none.
    auth: Option<(&'static str, String)>,
    max_field: &'static str,
    max_tokens: u64,
    model: &'static str,
}

impl Expect {
    fn openai() -> Expect {
        Expect {
            path: "/v1/chat/completions".into(),
            auth: Some(("authorization", format!("Bearer {KEY}"))),
            max_field: "max_tokens",
            max_tokens: 400,
            model: "gpt-4o-mini",
        }
    }
}

/// Where `got` differs from `expect` (empty: the request is as OpenAI's reference has it).
fn mismatches(got: &Request, expect: &Expect) -> Vec<String> {
    let mut bad = Vec::new();
    let mut want = |ok: bool, what: String| {
        if !ok {
            bad.push(what);
        }
    };
    want(got.method == "POST", format!("method {}", got.method));
    want(got.path == expect.path, format!("path {}", got.path));
    for (name, value) in [
        ("content-type", "application/json"),
        ("accept", "application/json"),
        ("user-agent", USER_AGENT),
    ] {
        want(
            got.header(name) == Some(value),
            format!("{name}: {:?}", got.header(name)),
        );
    }
    for name in ["authorization", "api-key"] {
        let wanted = expect
            .auth
            .as_ref()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str());
        want(
            got.header(name) == wanted,
            format!("{name}: {:?}", got.header(name)),
        );
    }
    let body: Value = match serde_json::from_slice(&got.body) {
        Ok(v) => v,
        Err(e) => return vec![format!("body is not JSON: {e}")],
    };
    let keys: BTreeSet<&str> = body
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let wanted: BTreeSet<&str> = ["model", "messages", expect.max_field, "n", "stream"].into();
    want(keys == wanted, format!("fields {keys:?}"));
    want(
        body["model"] == expect.model,
        format!("model {}", body["model"]),
    );
    want(
        body[expect.max_field] == expect.max_tokens,
        format!("{} {}", expect.max_field, body[expect.max_field]),
    );
    want(body["n"] == 1, format!("n {}", body["n"]));
    want(
        body["stream"] == false,
        format!("stream {}", body["stream"]),
    );
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    want(messages.len() == 2, format!("{} messages", messages.len()));
    for (m, role) in messages.iter().zip(["system", "user"]) {
        let fields: BTreeSet<&str> = m
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        want(
            fields == ["content", "role"].into(),
            format!("message fields {fields:?}"),
        );
        want(m["role"] == role, format!("role {}", m["role"]));
        want(
            m["content"].as_str().is_some_and(|c| !c.trim().is_empty()),
            format!("{role} content {}", m["content"]),
        );
    }
    bad
}

/// A loopback provider: checks each request against its [`Expect`] and keeps what differs,
/// then answers with `reply`.
struct Provider {
    server: TestServer,
    problems: Arc<Mutex<Vec<String>>>,
}

impl Provider {
    async fn start(
        expect: Expect,
        reply: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> Provider {
        let problems = Arc::new(Mutex::new(Vec::new()));
        let seen = problems.clone();
        let server = TestServer::start(move |r| {
            seen.lock().unwrap().extend(mismatches(r, &expect));
            reply(r)
        })
        .await;
        Provider { server, problems }
    }

    /// `http://127.0.0.1:<port>/v1`.
    fn base(&self) -> String {
        format!("{}/v1", self.server.url)
    }

    /// Exactly one request came, in the expected format.
    fn assert_one_well_formed_request(&self) {
        assert_eq!(self.server.requests().len(), 1, "one call, no retry");
        let problems = self.problems.lock().unwrap().clone();
        assert!(problems.is_empty(), "request format: {problems:?}");
    }

    /// The request's JSON body.
    fn body(&self) -> Value {
        serde_json::from_slice(&self.server.requests()[0].body).unwrap()
    }
}

/// Settings from `LOOKOUT_LLM_*` values: the base URL, `gpt-4o-mini`, the key in SSM, and
/// `extra` (an empty value unsets the variable).
fn settings(base: &str, extra: &[(&'static str, &str)]) -> NarrativeSettings {
    let mut vars: HashMap<&'static str, String> = HashMap::from([
        ("LOOKOUT_LLM_BASE_URL", base.to_string()),
        ("LOOKOUT_LLM_MODEL", "gpt-4o-mini".to_string()),
        ("LOOKOUT_LLM_API_KEY", key_ref().to_string()),
    ]);
    for (name, value) in extra {
        vars.insert(name, value.to_string());
    }
    NarrativeSettings::from_lookup(|name| vars.get(name).filter(|v| !v.is_empty()).cloned())
        .unwrap()
        .unwrap()
}

/// A client of `settings` with the key in a memory secret store, loopback allowed.
fn client_of(settings: NarrativeSettings) -> ChatCompletions {
    let secrets = MemorySecrets::default();
    secrets.set(key_ref(), KEY);
    ChatCompletions::new(
        settings,
        Secrets::new(secrets),
        ProbeOptions::allow_private(),
    )
}

fn client(base: &str, extra: &[(&'static str, &str)]) -> ChatCompletions {
    client_of(settings(base, extra))
}

/// A global digest of one quiet hour.
fn digest() -> Digest {
    lookout_core::digest::report::global_digest(HOUR, &[], Vec::new(), HOUR + 3_600_000)
}

/// A chat completion answering `message`.
fn completion(message: Value, finish_reason: &str) -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1_795_273_260,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": message, "logprobs": null,
                     "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 812, "completion_tokens": 41, "total_tokens": 853}
    })
}

/// One call of a fresh client against a provider answering `reply`.
async fn call_with(reply: Reply) -> (Result<Summary, SummaryError>, Provider) {
    let provider = Provider::start(Expect::openai(), move |_| reply.clone()).await;
    let got = client(&provider.base(), &[]).summarise(&digest()).await;
    (got, provider)
}

#[tokio::test]
async fn an_answer_gives_its_text_tokens_and_the_answered_model() {
    let (got, provider) = call_with(Reply::json(
        200,
        &completion(
            json!({"role": "assistant", "content": "  All 0 targets were quiet.  ",
                   "refusal": null}),
            "stop",
        ),
    ))
    .await;
    provider.assert_one_well_formed_request();
    let summary = got.unwrap();
    assert_eq!(summary.text.trim(), "All 0 targets were quiet.");
    assert_eq!(summary.model, "gpt-4o-mini-2024-07-18");
    assert_eq!(
        (summary.prompt_tokens, summary.completion_tokens),
        (812, 41)
    );
    // The messages are the prompt of the digest's facts.
    let body = provider.body();
    let expected = prompt::build(&digest(), prompt::Language::En);
    assert_eq!(body["messages"][0]["content"], expected.system);
    assert_eq!(body["messages"][1]["content"], expected.user);
    assert!(expected
        .user
        .contains("Lookout digest for 2026-11-21 14:00"));
}

#[tokio::test]
async fn content_parts_are_joined_and_a_silent_server_leaves_the_configured_model_and_no_tokens() {
    let (got, provider) = call_with(Reply::json(
        200,
        &json!({"choices": [{"message": {"role": "assistant", "content": [
            {"type": "text", "text": "Quiet hour. "}, {"type": "text", "text": "Nothing to do."}
        ]}}]}),
    ))
    .await;
    provider.assert_one_well_formed_request();
    let summary = got.unwrap();
    assert_eq!(summary.text, "Quiet hour. Nothing to do.");
    assert_eq!(summary.model, "gpt-4o-mini");
    assert_eq!((summary.prompt_tokens, summary.completion_tokens), (0, 0));
}

#[tokio::test]
async fn a_server_error_fails_with_its_status_and_message() {
    let (got, provider) = call_with(Reply::json(
        500,
        &json!({"error": {"message": "The server had an error while processing your request.",
                          "type": "server_error", "param": null, "code": null}}),
    ))
    .await;
    provider.assert_one_well_formed_request();
    assert_eq!(
        got.unwrap_err(),
        SummaryError::Failed(
            "HTTP 500: The server had an error while processing your request.".into()
        )
    );
}

#[tokio::test]
async fn a_hanging_server_is_a_timeout_reached_in_about_the_timeout() {
    let provider = Provider::start(Expect::openai(), |_| {
        Reply::Delay(Duration::from_secs(30), Box::new(Reply::text(200, "late")))
    })
    .await;
    let c = client(&provider.base(), &[("LOOKOUT_LLM_TIMEOUT_MS", "300")]);
    let started = std::time::Instant::now();
    let got = c.summarise(&digest()).await;
    let took = started.elapsed();
    assert_eq!(
        got.unwrap_err(),
        SummaryError::TimedOut("no answer within 300 ms".into())
    );
    assert!(
        took >= Duration::from_millis(290) && took < Duration::from_millis(1_000),
        "{took:?}"
    );
    provider.assert_one_well_formed_request();
}

#[tokio::test]
async fn a_429_is_rate_limited_with_its_retry_after() {
    let (got, provider) = call_with(Reply::Http {
        status: 429,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("retry-after".into(), "7".into()),
        ],
        body: json!({"error": {"message": "Rate limit reached for requests",
                               "type": "requests", "code": "rate_limit_exceeded"}})
        .to_string()
        .into_bytes(),
    })
    .await;
    provider.assert_one_well_formed_request();
    assert_eq!(
        got.unwrap_err(),
        SummaryError::RateLimited(
            "HTTP 429; retry after 7 s: Rate limit reached for requests".into()
        )
    );
}

#[tokio::test]
async fn a_refusal_a_content_filter_and_an_empty_answer_are_refused() {
    let cases = [
        (
            completion(
                json!({"role": "assistant", "content": null,
                       "refusal": "I'm sorry, I can't help with that."}),
                "stop",
            ),
            "the model refused: I'm sorry, I can't help with that.",
        ),
        (
            completion(
                json!({"role": "assistant", "content": "Partial", "refusal": null}),
                "content_filter",
            ),
            "content_filter",
        ),
        (
            completion(json!({"role": "assistant", "content": " \n "}), "stop"),
            "no text",
        ),
        (
            completion(json!({"role": "assistant", "content": null}), "stop"),
            "no text",
        ),
    ];
    for (answer, why) in cases {
        let (got, provider) = call_with(Reply::json(200, &answer)).await;
        provider.assert_one_well_formed_request();
        match got {
            Err(SummaryError::Refused(text)) => assert!(text.contains(why), "{text}"),
            other => panic!("{answer}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn an_answer_that_is_not_a_chat_completion_fails() {
    let cases = [
        (Reply::text(200, "<html>gateway</html>"), "not JSON"),
        (Reply::json(200, &json!({"choices": []})), "no choices"),
        (
            Reply::json(200, &json!({"error": {"message": "model not loaded"}})),
            "model not loaded",
        ),
        (
            Reply::json(200, &json!({"choices": [{"text": "legacy"}]})),
            "no message",
        ),
        // 50 MiB of `x`: read up to the cap, then not JSON.
        (Reply::Endless(50 * 1024 * 1024), "not JSON"),
    ];
    for (reply, why) in cases {
        let (got, provider) = call_with(reply).await;
        provider.assert_one_well_formed_request();
        match got {
            Err(SummaryError::Failed(text)) => assert!(text.contains(why), "{text}"),
            other => panic!("{why}: {other:?}"),
        }
        assert!(
            provider.server.bytes_sent() < 10 * 1024 * 1024,
            "stopped reading"
        );
    }
}

#[tokio::test]
async fn a_401_echoing_the_key_fails_without_the_key_in_its_text() {
    let provider = Provider::start(Expect::openai(), |r| {
        let sent = r.header("authorization").unwrap_or("").to_string();
        let key = sent.trim_start_matches("Bearer ");
        Reply::json(
            401,
            &json!({"error": {"message": format!(
                "Incorrect API key provided: {key}. You can find your API key at \
                 https://platform.openai.com/account/api-keys. (sent: {sent}; start: {})",
                &key[..12]
            ), "type": "invalid_request_error", "code": "invalid_api_key"}}),
        )
    })
    .await;
    let got = client(&provider.base(), &[]).summarise(&digest()).await;
    provider.assert_one_well_formed_request();
    let Err(SummaryError::Failed(text)) = got else {
        panic!("{got:?}")
    };
    assert!(
        text.starts_with("HTTP 401: Incorrect API key provided: ***."),
        "{text}"
    );
    assert!(!text.contains(KEY) && !text.contains(&KEY[..12]), "{text}");
    assert!(text.chars().count() <= "HTTP 401: ".len() + answer::ERROR_TEXT_CHARS);
}

#[tokio::test]
async fn an_answer_that_echoes_the_key_keeps_it_out_of_the_narrative_and_the_model() {
    let provider = Provider::start(Expect::openai(), |r| {
        let sent = r.header("authorization").unwrap_or("").to_string();
        Reply::json(
            200,
            &json!({"model": format!("echo {sent}"), "choices": [{"finish_reason": "stop",
                "message": {"role": "assistant", "content": format!("You sent {sent}.")}}]}),
        )
    })
    .await;
    let summary = client(&provider.base(), &[])
        .summarise(&digest())
        .await
        .unwrap();
    provider.assert_one_well_formed_request();
    assert_eq!(summary.text, "You sent Bearer ***.");
    assert_eq!(summary.model, "echo Bearer ***");
}

#[tokio::test]
async fn azure_gets_the_api_key_header_and_keeps_its_api_version() {
    let expect = Expect {
        path: "/openai/deployments/digest-4o/chat/completions?api-version=2024-10-21".into(),
        auth: Some(("api-key", KEY.to_string())),
        ..Expect::openai()
    };
    let provider = Provider::start(expect, |_| {
        Reply::json(
            200,
            &completion(json!({"role": "assistant", "content": "Quiet."}), "stop"),
        )
    })
    .await;
    let base = format!(
        "{}/openai/deployments/digest-4o/?api-version=2024-10-21",
        provider.server.url
    );
    let c = client(&base, &[("LOOKOUT_LLM_AUTH", "api-key")]);
    assert_eq!(c.summarise(&digest()).await.unwrap().text, "Quiet.");
    provider.assert_one_well_formed_request();
}

#[tokio::test]
async fn max_completion_tokens_replaces_max_tokens_when_asked() {
    let expect = Expect {
        max_field: "max_completion_tokens",
        max_tokens: 123,
        ..Expect::openai()
    };
    let provider = Provider::start(expect, |_| {
        Reply::json(
            200,
            &completion(json!({"role": "assistant", "content": "Quiet."}), "stop"),
        )
    })
    .await;
    let c = client(
        &provider.base(),
        &[
            ("LOOKOUT_LLM_MAX_TOKENS_FIELD", "max_completion_tokens"),
            ("LOOKOUT_LLM_MAX_TOKENS", "123"),
        ],
    );
    c.summarise(&digest()).await.unwrap();
    provider.assert_one_well_formed_request();
    // The token bound is what is sent: the prompt's estimate and the answer's limit.
    let p = prompt::build(&digest(), prompt::Language::En);
    assert_eq!(c.token_bound(&digest()), p.estimated_tokens() + 123);
}

#[tokio::test]
async fn without_a_key_configured_no_key_header_is_sent() {
    let expect = Expect {
        auth: None,
        ..Expect::openai()
    };
    let provider = Provider::start(expect, |_| {
        Reply::json(
            200,
            &completion(json!({"role": "assistant", "content": "Quiet."}), "stop"),
        )
    })
    .await;
    let c = client(&provider.base(), &[("LOOKOUT_LLM_API_KEY", "")]);
    c.summarise(&digest()).await.unwrap();
    provider.assert_one_well_formed_request();
}

#[tokio::test]
async fn a_key_that_cannot_be_read_fails_naming_its_reference_and_sends_nothing() {
    let provider = Provider::start(Expect::openai(), |_| Reply::text(200, "unexpected")).await;
    let c = ChatCompletions::new(
        settings(&provider.base(), &[]),
        Secrets::new(MemorySecrets::default()),
        ProbeOptions::allow_private(),
    );
    assert_eq!(
        c.summarise(&digest()).await.unwrap_err(),
        SummaryError::NotSent(
            "the API key: secret {{ssm:/lookout/llm-key}} could not be resolved: not found".into()
        )
    );
    assert!(provider.server.requests().is_empty());
}

#[tokio::test]
async fn the_address_guard_refuses_a_loopback_base_url_unless_private_targets_are_allowed() {
    let provider = Provider::start(Expect::openai(), |_| Reply::text(200, "unexpected")).await;
    let secrets = Arc::new(MemorySecrets::default());
    secrets.set(key_ref(), KEY);
    let c = ChatCompletions::new(
        settings(&provider.base(), &[]),
        Secrets::new(secrets.clone()),
        ProbeOptions::default(),
    );
    let Err(SummaryError::NotSent(text)) = c.summarise(&digest()).await else {
        panic!("not refused")
    };
    assert!(text.contains("address guard"), "{text}");
    assert!(provider.server.requests().is_empty());
    assert_eq!(
        secrets.fetches(),
        0,
        "no key read for a call that cannot go out"
    );
    // An allowed CIDR lifts private ranges, never loopback (the function's own host).
    let listed = ProbeOptions {
        allowed_cidrs: vec!["127.0.0.0/8".parse().unwrap()],
        ..ProbeOptions::default()
    };
    let c = ChatCompletions::new(
        settings(&provider.base(), &[]),
        Secrets::new(secrets),
        listed,
    );
    let got = c.summarise(&digest()).await;
    assert!(
        matches!(&got, Err(SummaryError::NotSent(t)) if t.contains("loopback")),
        "{got:?}"
    );
    assert!(provider.server.requests().is_empty());
}

#[tokio::test]
async fn a_closed_port_fails_as_a_connection_failure() {
    // Not sent: the narrate step charges it no tokens.
    let base = format!("{}/v1", crate::testing::closed_port().await);
    let got = client(&base, &[]).summarise(&digest()).await;
    assert!(
        matches!(&got, Err(SummaryError::NotSent(t)) if t.starts_with("connect")),
        "{got:?}"
    );
}

#[test]
fn the_endpoint_appends_to_the_path_and_keeps_the_query() {
    for (base, endpoint) in [
        (
            "https://api.openai.com/v1",
            "https://api.openai.com/v1/chat/completions",
        ),
        (
            "https://api.openai.com/v1/",
            "https://api.openai.com/v1/chat/completions",
        ),
        (
            "https://r.openai.azure.com/openai/deployments/d?api-version=2024-10-21",
            "https://r.openai.azure.com/openai/deployments/d/chat/completions?api-version=2024-10-21",
        ),
        (
            "https://bedrock-runtime.us-west-2.amazonaws.com/openai/v1",
            "https://bedrock-runtime.us-west-2.amazonaws.com/openai/v1/chat/completions",
        ),
        ("http://127.0.0.1:11434", "http://127.0.0.1:11434/chat/completions"),
    ] {
        assert_eq!(client(base, &[]).endpoint().as_str(), endpoint);
    }
}

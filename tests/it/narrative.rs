//! Narratives end to end: the digest function's own wiring ([`digest::Deps::from_settings`]
//! over `LOOKOUT_LLM_*` settings read by `Settings::from_lookup`) against a DynamoDB Local
//! table, the API key kept as an SSM SecureString in moto, and a real OpenAI-compatible server
//! on loopback: `tests/llm/openai_server.py`, whose requests are checked by the official
//! `openai` SDK's types ([`servers::OpenAiServer`]), and LiteLLM's proxy
//! ([`servers::LiteLlm`]).
//!
//! The targets hold a secret in every place a definition can: URL credentials, a proxy's
//! credentials, an inline header, a secret header, a request body, a TCP `send`, and
//! `{{ssm:...}}` references (in a header and in a URL's password) whose values are in moto. Three real probe runs make the hour
//! notable (closed ports go down). The tests assert the request the server checked (path,
//! `Authorization` with the key read from SSM, the JSON shape), the narrative stored on the
//! global digest and served by `GET /v1/digests` with `generated: true`, that no request body
//! holds any secret (inline, resolved from SSM, nor the API key), that a second run of the hour
//! makes no request, that a failure, a timeout, a 429 and a refusal are each counted in the
//! run's `narration` with the built-in summary as it is without narratives, and that a
//! monthly budget too small for one call makes none.
//!
//! Without the venv's `openai` (or LiteLLM's venv) a test says so and passes, unless `CI` is
//! set (`make test` installs both: `infra/local/stack.sh install`, `install-test-tools`).

mod servers;

use std::time::Duration;

use lookout_app::clock::SystemClock;
use lookout_app::ports::{DigestStore, StateStore, TargetStore};
use lookout_aws::dynamodb::DynamoStore;
use lookout_core::digest::report::{Digest, GLOBAL};
use lookout_core::digest::rollup::{Period, HOUR_MS};
use lookout_core::domain::{Target, TargetKind};
use serde_json::{json, Value};

use crate::common;
use servers::{skip_unless, LiteLlm, OpenAiServer};

/// Secrets written into the targets' definitions.
const URL_PASSWORD: &str = "url-Pa55-7781";
const PROXY_PASSWORD: &str = "proxy-Pa55-4410";
const HEADER_TOKEN: &str = "hdr-Tok-5521";
const TENANT_SECRET: &str = "tenant-Sec-9931";
const BODY_SECRET: &str = "body-Sec-3390";
const TCP_SECRET: &str = "tcp-Sec-1207";
/// Secrets kept in SSM, named by `{{ssm:...}}` references in the definitions.
const SSM_HEADER_SECRET: &str = "ssm-Hdr-6650";
const SSM_URL_SECRET: &str = "ssm-Url-8123";
/// What the server answers.
const NARRATIVE: &str = "Generated: two targets were down this hour; look at api-auth first.";
/// The model setting.
const MODEL: &str = "lookout-test-model";
/// `LOOKOUT_LLM_TIMEOUT_MS` of the tests (the key's read from moto included, on a machine busy
/// with the other tests); the `hang` mode sleeps three times as long.
const TIMEOUT_MS: u64 = 5_000;

/// The local stack of one test: a fresh table and topic, the API key in SSM.
struct Stack {
    aws: aws_config::SdkConfig,
    ssm: aws_sdk_ssm::Client,
    store: DynamoStore,
    table: String,
    topic: String,
    /// The API key's parameter name and value.
    key_param: String,
    key: String,
    /// A unique prefix of this test's SSM parameters.
    prefix: String,
}

async fn stack() -> Stack {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let (topic, _queue, _sqs) = common::fresh_topic(&aws).await;
    let ssm = aws_sdk_ssm::Client::new(&aws);
    let prefix = format!("/lookout/{}", common::unique("narrative"));
    let key = format!("sk-{}", common::unique("llm-key"));
    let key_param = format!("{prefix}/llm-api-key");
    let s = Stack {
        store: DynamoStore::new(ddb, &table, 30),
        aws,
        ssm,
        table,
        topic,
        key_param,
        key,
        prefix,
    };
    s.put(&s.key_param, &s.key).await;
    s
}

impl Stack {
    async fn put(&self, name: &str, value: &str) {
        self.ssm
            .put_parameter()
            .name(name)
            .value(value)
            .overwrite(true)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send()
            .await
            .expect("put an SSM parameter in moto");
    }

    /// The digest function's wiring over this stack with `llm` settings (`LOOKOUT_LLM_*`);
    /// an empty `llm` is the default: no narratives.
    fn deps(&self, llm: &[(&str, String)]) -> digest::Deps {
        let settings = lookout_app::config::Settings::from_lookup(|name| match name {
            "LOOKOUT_TABLE" => Some(self.table.clone()),
            "LOOKOUT_TOPIC_ARN" => Some(self.topic.clone()),
            "LOOKOUT_ALLOW_PRIVATE_TARGETS" => Some("true".into()),
            other => llm
                .iter()
                .find(|(k, _)| *k == other)
                .map(|(_, v)| v.clone()),
        })
        .expect("settings");
        digest::Deps::from_settings(
            &settings,
            &lookout_aws::Aws::from_sdk_config(self.aws.clone()),
        )
        .expect("the digest function's wiring")
    }

    /// `LOOKOUT_LLM_*` pointing at `base` (`.../v1`), the key read from SSM.
    fn llm(&self, base: &str, model: &str) -> Vec<(&'static str, String)> {
        vec![
            ("LOOKOUT_LLM_BASE_URL", base.to_string()),
            ("LOOKOUT_LLM_MODEL", model.to_string()),
            (
                "LOOKOUT_LLM_API_KEY",
                format!("{{{{ssm:{}}}}}", self.key_param),
            ),
            ("LOOKOUT_LLM_TIMEOUT_MS", TIMEOUT_MS.to_string()),
        ]
    }

    /// The global digest of `hour` as stored.
    async fn global(&self, hour: i64) -> Digest {
        self.store
            .digests(GLOBAL, i64::MAX, 50)
            .await
            .unwrap()
            .into_iter()
            .find(|d| d.start == hour)
            .unwrap_or_else(|| panic!("no global digest of {hour}"))
    }
}

/// Runs the digest of `hour` (epoch ms) through the function's handler, now.
async fn digest_hour(deps: &digest::Deps, hour: i64) -> digest::DigestReport {
    let text = &lookout_core::time::rfc3339(hour)[..13];
    let event: digest::DigestEvent = serde_json::from_value(json!({ "hour": text })).unwrap();
    Box::pin(deps.handle_at(event, &SystemClock))
        .await
        .expect("the digest run")
}

/// The targets (a secret in every place) and every secret value they hold or name.
async fn secret_targets(s: &Stack, up_url: &str) -> (Vec<String>, Vec<String>) {
    let closed = "127.0.0.1:9";
    let header_ref = format!("{}/tenant-header", s.prefix);
    let url_ref = format!("{}/login-password", s.prefix);
    s.put(&header_ref, SSM_HEADER_SECRET).await;
    s.put(&url_ref, SSM_URL_SECRET).await;
    let with_creds = up_url.replace("http://", &format!("http://monitor:{URL_PASSWORD}@"));
    let defs = [
        json!({"id":"api-auth","group":"api","kind":"server","url": format!("http://svc:{{{{ssm:{url_ref}}}}}@{closed}/login"),
               "method":"POST","body": format!("{{\"password\":\"{BODY_SECRET}\"}}"),
               "headers":{"Authorization": format!("Bearer {HEADER_TOKEN}"),
                          "X-Api-Key": format!("{{{{ssm:{header_ref}}}}}")}}),
        json!({"id":"api-home","group":"api","kind":"server","url": format!("{with_creds}/health"),
               "secret_headers":["X-Tenant"], "headers":{"X-Tenant": TENANT_SECRET}}),
        json!({"id":"egress-proxy","group":"pool","kind":"proxy",
               "proxy_url": format!("http://bob:{PROXY_PASSWORD}@{closed}"),
               "test_urls":[format!("{up_url}/ip")]}),
        json!({"id":"cache-port","group":"cache","kind":"tcp","host":"127.0.0.1","port":9,
               "send": format!("AUTH {TCP_SECRET}\r\n"), "expect_prefix":"+OK"}),
    ];
    let mut ids = Vec::new();
    for d in defs {
        let t = Target::from_json(d.clone()).unwrap_or_else(|e| panic!("{d}: {e:?}"));
        ids.push(t.id.clone());
        s.store.create_target(&t).await.expect("create target");
    }
    let secrets = [
        URL_PASSWORD,
        PROXY_PASSWORD,
        HEADER_TOKEN,
        TENANT_SECRET,
        BODY_SECRET,
        TCP_SECRET,
        SSM_HEADER_SECRET,
        SSM_URL_SECRET,
    ]
    .iter()
    .map(|v| v.to_string())
    .chain([s.key.clone(), "{{ssm:".into(), s.prefix.clone()])
    .collect();
    (ids, secrets)
}

/// Three forced probe runs of every kind (a closed port is down after three failures), the
/// secret references resolved from moto.
async fn probe_three_times(s: &Stack) {
    let publisher =
        lookout_aws::sns::SnsPublisher::new(aws_sdk_sns::Client::new(&s.aws), s.topic.clone());
    let config = probe::RunConfig {
        secrets: lookout_aws::secrets::AwsSecrets::cached(&s.aws),
        ..probe::RunConfig::new(4)
    };
    let prober =
        lookout_app::probe::Prober::with_options(lookout_app::probe::ProbeOptions::allow_private())
            .unwrap();
    let now = probe::ProbeRequest::forced(&[TargetKind::Server, TargetKind::Proxy]);
    for _ in 0..3 {
        Box::pin(probe::run(&s.store, &publisher, &prober, &now, &config))
            .await
            .expect("probe run");
    }
}

/// What of `secrets` occurs in `text`.
fn leaked<'a>(text: &str, secrets: &'a [String]) -> Vec<&'a String> {
    secrets
        .iter()
        .filter(|s| text.contains(s.as_str()))
        .collect()
}

fn api(store: &DynamoStore) -> std::sync::Arc<api::App<DynamoStore>> {
    std::sync::Arc::new(api::App {
        admin_token: Some("admin".into()),
        ..api::App::local(store.clone())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_is_narrated_once_from_its_facts_only_and_failures_leave_it_as_built() {
    let Some(python) = OpenAiServer::python() else {
        let _ = skip_unless(false, "the venv's openai package (.local/venv)");
        return;
    };
    let s = stack().await;
    let server = OpenAiServer::start(&python, &s.key, NARRATIVE).await;
    let up = lookout_app::testing::TestServer::start(|_| {
        lookout_app::testing::Reply::text(200, "{\"ok\":true}")
    })
    .await;
    let (ids, secrets) = secret_targets(&s, &up.url).await;
    // The server run's targets (the proxy has a run of its own).
    let ids: Vec<String> = ids.into_iter().filter(|id| id != "egress-proxy").collect();
    // The probe runs and the digest in one hour: not in the hour's last 30 s.
    let now = lookout_core::time::now_ms();
    let left = HOUR_MS - (now - Period::Hour.start_of(now));
    if left < 30_000 {
        tokio::time::sleep(Duration::from_millis(left as u64 + 1_000)).await;
    }
    let hour = Period::Hour.start_of(lookout_core::time::now_ms());
    probe_three_times(&s).await;
    let llm = s.llm(&format!("{}/v1", server.url), MODEL);
    let deps = s.deps(&llm);

    // One call: the request as the server checked it.
    let report = digest_hour(&deps, hour).await;
    let requests = server.requests().await;
    assert_eq!(requests.len(), 1, "{requests:#?}");
    let req = &requests[0];
    assert_eq!(
        req["problem"],
        Value::Null,
        "the server refused it: {req:#}"
    );
    assert_eq!(req["path"], "/v1/chat/completions");
    assert_eq!(req["headers"]["authorization"], format!("Bearer {}", s.key));
    assert!(
        req["headers"]["content-type"]
            .as_str()
            .is_some_and(|c| c.starts_with("application/json")),
        "{req:#}"
    );
    let body: Value = serde_json::from_str(req["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["model"], MODEL);
    assert_eq!(body["max_tokens"], 400, "{body:#}");
    assert_ne!(body["stream"], true);
    let roles: Vec<&str> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["system", "user"], "{body:#}");
    // The facts are there: the targets that went down, by id.
    let user = body["messages"][1]["content"].as_str().unwrap();
    for id in ["api-auth", "egress-proxy", "cache-port"] {
        assert!(user.contains(id), "{id} not in the facts: {user}");
    }

    // Stored on the global digest, counted, and served by the API marked as generated.
    let g = &report.global;
    let n = g.narrative.as_ref().expect("a narrative on the report");
    assert!(n.generated);
    assert_eq!((n.text.as_str(), n.model.as_str()), (NARRATIVE, MODEL));
    assert!(n.prompt_tokens > 0 && n.completion_tokens > 0, "{n:?}");
    let stored = s.global(hour).await;
    assert_eq!(stored.narrative.as_ref(), Some(n));
    let counts = stored
        .narration
        .expect("narration counts on the global digest");
    assert_eq!((counts.considered, counts.written), (1, 1), "{counts:?}");
    let (status, list) = common::call(&api(&s.store), "GET", "/v1/digests?limit=5", "").await;
    assert_eq!(status, 200, "{list}");
    let served = &list["digests"][0];
    assert_eq!(served["scope"], GLOBAL);
    assert_eq!(served["narrative"]["generated"], true, "{served:#}");
    assert_eq!(served["narrative"]["text"], NARRATIVE);
    assert_eq!(served["summary"].as_str(), Some(stored.summary.as_str()));

    // The same hour again: the stored narrative, no request.
    let again = digest_hour(&deps, hour).await;
    assert_eq!(server.requests().await.len(), 1, "a second run made a call");
    assert_eq!(
        again.global.narrative.as_ref().map(|n| &n.text),
        Some(&n.text)
    );
    let counts = s.global(hour).await.narration.unwrap();
    assert_eq!((counts.reused, counts.written), (1, 0), "{counts:?}");

    // A failure, a timeout, a 429, a refusal: one call each, counted, the built-in digest kept.
    let quiet = s.deps(&[]);
    for (k, mode) in ["fail", "hang", "429", "refuse"].into_iter().enumerate() {
        let past = hour - (k as i64 + 1) * HOUR_MS;
        seed_hour(&s, &ids, past).await;
        let built = digest_hour(&quiet, past).await.global;
        assert!(built.narrative.is_none() && built.narration.is_none());
        server.mode(mode, TIMEOUT_MS as f64 / 1000.0 * 3.0).await;
        let before = server.requests().await.len();
        let started = std::time::Instant::now();
        let g = digest_hour(&deps, past).await.global;
        assert!(
            started.elapsed() < Duration::from_millis(TIMEOUT_MS * 3),
            "{mode}: the run waited {:?}",
            started.elapsed()
        );
        assert_eq!(
            server.requests().await.len(),
            before + 1,
            "{mode}: one call"
        );
        let stored = s.global(past).await;
        for d in [&g, &stored] {
            assert_eq!(
                d.summary, built.summary,
                "{mode}: the built-in summary changed"
            );
            assert_eq!(d.recommendations, built.recommendations, "{mode}");
            assert!(d.narrative.is_none(), "{mode}: {:?}", d.narrative);
        }
        let c = stored.narration.expect("narration counts");
        let counted = match mode {
            "fail" => c.failed,
            "hang" => c.timed_out,
            "429" => c.rate_limited,
            _ => c.refused,
        };
        assert_eq!(
            (counted, c.written, c.considered),
            (1, 0, 1),
            "{mode}: {c:?}"
        );
        // Tried this hour: a second run does not call again.
        digest_hour(&deps, past).await;
        assert_eq!(
            server.requests().await.len(),
            before + 1,
            "{mode}: called again"
        );
    }
    server.mode("ok", 0.0).await;

    // A budget too small for one call: no call.
    let mut tiny = llm.clone();
    tiny.push(("LOOKOUT_LLM_MONTHLY_TOKENS", "10".into()));
    let past = hour - 6 * HOUR_MS;
    seed_hour(&s, &ids, past).await;
    let before = server.requests().await.len();
    let g = digest_hour(&s.deps(&tiny), past).await.global;
    assert_eq!(
        server.requests().await.len(),
        before,
        "over budget, yet a call"
    );
    let c = g.narration.expect("narration counts");
    assert_eq!((c.over_budget, c.written), (1, 0), "{c:?}");
    assert!(g.narrative.is_none());

    // No request ever carried a secret, a reference or the key in its body.
    let requests = server.requests().await;
    assert_eq!(requests.len(), 5);
    for r in &requests {
        let body = r["body"].as_str().unwrap();
        assert!(
            leaked(body, &secrets).is_empty(),
            "secrets {:?} in a request body",
            leaked(body, &secrets)
        );
    }
}

/// One hour of minute results for `ids` at `hour`: `api-auth` fails every check.
async fn seed_hour(s: &Stack, ids: &[String], hour: i64) {
    let runs = lookout_app::testing::minute_runs(ids, TargetKind::Server, hour, |id, m| {
        (id != "api-auth").then_some(100 + m as u64)
    });
    for (at, latest) in runs {
        s.store
            .record_run(TargetKind::Server, at, &latest, true)
            .await
            .unwrap();
    }
}

/// The global digest narrated through LiteLLM's proxy (a second implementation of the API):
/// its `mock_response` stored as the narrative, the key from SSM its master key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn litellm_proxy_narrates_the_global_digest() {
    let Some(bin) = LiteLlm::bin() else {
        let _ = skip_unless(false, "LiteLLM's proxy (.local/litellm-venv)");
        return;
    };
    let s = stack().await;
    let mock = "LiteLLM mock: api-auth failed every check this hour.";
    let proxy = LiteLlm::start(&bin, &s.key, mock).await;
    let ids: Vec<String> = ["api-auth", "api-home"].map(String::from).to_vec();
    for id in &ids {
        let t = Target::from_json(json!({"id": id, "group": "api", "kind": "server",
                                         "url": format!("https://{id}.example/health")}))
        .unwrap();
        s.store.create_target(&t).await.unwrap();
    }
    let hour = Period::Hour.start_of(lookout_core::time::now_ms()) - HOUR_MS;
    seed_hour(&s, &ids, hour).await;
    let deps = s.deps(&s.llm(&format!("{}/v1", proxy.url), "lookout-mock"));
    let g = digest_hour(&deps, hour).await.global;
    let n = g.narrative.expect("a narrative through LiteLLM");
    assert!(n.generated);
    assert_eq!(n.text, mock);
    assert_eq!(g.narration.map(|c| c.written), Some(1));
    assert_eq!(
        s.global(hour).await.narrative.map(|n| n.text).as_deref(),
        Some(mock)
    );

    // A wrong key (LiteLLM checks its master key): no narrative, counted as a failure.
    let s2 = Stack {
        key_param: format!("{}/wrong-key", s.prefix),
        ..stack().await
    };
    s2.put(&s2.key_param, "sk-not-the-master-key").await;
    for id in &ids {
        let t = Target::from_json(json!({"id": id, "group": "api", "kind": "server",
                                         "url": format!("https://{id}.example/health")}))
        .unwrap();
        s2.store.create_target(&t).await.unwrap();
    }
    seed_hour(&s2, &ids, hour).await;
    let deps = s2.deps(&s2.llm(&format!("{}/v1", proxy.url), "lookout-mock"));
    let g = digest_hour(&deps, hour).await.global;
    assert!(g.narrative.is_none());
    assert_eq!(g.narration.map(|c| c.failed), Some(1), "{:?}", g.narration);
}

/// The server's own self-test: the official `openai` client gets an answer, a refusal, a 500,
/// a 429 with `Retry-After` and a 401, and bodies the SDK's types refuse are 400s.
#[tokio::test]
async fn the_test_server_speaks_the_api_to_the_official_openai_client() {
    let Some(python) = OpenAiServer::python() else {
        let _ = skip_unless(false, "the venv's openai package (.local/venv)");
        return;
    };
    let out = tokio::process::Command::new(python)
        .arg(servers::workspace().join("tests/llm/openai_server.py"))
        .arg("--self-test")
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("11 requests, OK"), "{text}");
}

//! The OpenAI-compatible servers the narrative tests call, as real processes on loopback:
//! [`OpenAiServer`] (`tests/llm/openai_server.py`, requests checked by the official `openai`
//! SDK's types, in the project's venv) and [`LiteLlm`] (LiteLLM's proxy with a
//! `mock_response` model, in `.local/litellm-venv`, made by `infra/local/stack.sh
//! install-test-tools`). Each is killed, with its process group, when dropped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::AsyncBufReadExt as _;

/// The workspace's root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Whether `python` imports `module`.
fn imports(python: &Path, module: &str) -> bool {
    std::process::Command::new(python)
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `None` when `what` can run; otherwise says it is missing: a panic under `CI`, else a
/// `SKIPPED` line and `Some(())` (the test returns).
pub fn skip_unless(ready: bool, what: &str) -> Option<()> {
    if ready {
        return None;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but {what} is missing (infra/local/stack.sh install, install-test-tools)"
    );
    eprintln!("SKIPPED: {what} is missing; CI is unset, so the test did not run");
    Some(())
}

/// A loopback port free now (bound and released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed with its process group on drop.
struct Child(tokio::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        if let Some(pid) = self.0.id() {
            // SAFETY: killpg on the group this test started (`process_group(0)`).
            unsafe {
                libc::killpg(pid as i32, libc::SIGKILL);
            }
        }
        let _ = self.0.start_kill();
    }
}

/// `tests/llm/openai_server.py` on a free loopback port.
pub struct OpenAiServer {
    _child: Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    http: reqwest::Client,
}

impl OpenAiServer {
    /// The venv's Python, when it has the `openai` SDK.
    pub fn python() -> Option<PathBuf> {
        let python = workspace().join(".local/venv/bin/python");
        imports(&python, "openai").then_some(python)
    }

    /// Starts the server with `api_key` required as `Authorization: Bearer`, answering `text`.
    pub async fn start(python: &Path, api_key: &str, text: &str) -> Self {
        let mut cmd = tokio::process::Command::new(python);
        cmd.arg(workspace().join("tests/llm/openai_server.py"))
            .args(["--port", "0", "--api-key", api_key, "--text", text])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("start tests/llm/openai_server.py");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("openai_server.py bound a port within 30 s")
            .unwrap()
            .expect("openai_server.py printed LISTENING <port>");
        let port: u16 = line
            .strip_prefix("LISTENING ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("openai_server.py said {line:?}"));
        OpenAiServer {
            _child: Child(child),
            url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        }
    }

    /// Sets the mode: `ok`, `refuse`, `fail`, `hang` (`hang_s` seconds), `429`.
    pub async fn mode(&self, mode: &str, hang_s: f64) {
        let resp = self
            .http
            .post(format!("{}/_control/mode", self.url))
            .json(&json!({"mode": mode, "hang_s": hang_s}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "mode {mode}");
    }

    /// Every request the server got, oldest first: `{path, headers, body, problem}`.
    pub async fn requests(&self) -> Vec<Value> {
        self.http
            .get(format!("{}/_control/requests", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// LiteLLM's proxy (`litellm --config`) on a free loopback port with one model,
/// `lookout-mock`, answering `mock_response` without calling anyone; `master_key` is the key
/// its clients must send.
pub struct LiteLlm {
    _child: Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// Its config and log, removed on drop.
    dir: PathBuf,
}

impl Drop for LiteLlm {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl LiteLlm {
    /// The proxy's command, when `.local/litellm-venv` has it.
    pub fn bin() -> Option<PathBuf> {
        let bin = workspace().join(".local/litellm-venv/bin/litellm");
        bin.is_file().then_some(bin)
    }

    /// Starts the proxy and waits (up to 120 s) until it answers `/health/liveliness`.
    pub async fn start(bin: &Path, master_key: &str, mock_response: &str) -> Self {
        let dir = workspace()
            .join(".local/run")
            .join(crate::common::unique("litellm"));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("config.yaml");
        // JSON is YAML: no YAML writer needed.
        let body = json!({
            "model_list": [{"model_name": "lookout-mock",
                            "litellm_params": {"model": "openai/lookout-mock",
                                               "api_key": "not-used",
                                               "mock_response": mock_response}}],
            "general_settings": {"master_key": master_key},
            "litellm_settings": {"telemetry": false},
        });
        std::fs::write(&config, body.to_string()).unwrap();
        let port = free_port();
        let mut cmd = tokio::process::Command::new(bin);
        cmd.arg("--config")
            .arg(&config)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            // Offline: the model price list shipped in the package, not fetched.
            .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            .env("LITELLM_TELEMETRY", "False")
            .env("NO_PROXY", "*")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("litellm.log")).unwrap())
            .process_group(0)
            .kill_on_drop(true);
        let child = Child(cmd.spawn().expect("start litellm"));
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let started = Instant::now();
        loop {
            let ok = http
                .get(format!("{url}/health/liveliness"))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "litellm did not answer on {url} within 120 s: {}",
                std::fs::read_to_string(dir.join("litellm.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        LiteLlm {
            _child: child,
            url,
            dir,
        }
    }
}

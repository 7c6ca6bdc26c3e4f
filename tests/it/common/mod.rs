//! Shared setup of the integration tests: clients for the local stack and fresh resources per
//! test (a table, a topic with a queue, a bucket), so tests never see each other's data.
//!
//! The stack is started by `make test` (infra/local/stack.sh up), which also exports the
//! `AWS_ENDPOINT_URL_*` variables from infra/local/local.env.
#![allow(dead_code)]

pub mod providers;

use std::path::PathBuf;

mod ports;
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};

/// The AWS configuration of the local stack; panics with instructions when it is not set up.
pub async fn aws() -> aws_config::SdkConfig {
    for var in [
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_SNS",
        "AWS_ENDPOINT_URL_SQS",
        "AWS_ENDPOINT_URL_S3",
    ] {
        let value = std::env::var(var).unwrap_or_default();
        assert!(
            value.starts_with("http://127.0.0.1") || value.starts_with("http://localhost"),
            "{var} must point at the local stack on loopback (got {value:?}): run the tests with `make test`"
        );
    }
    lookout_aws::aws_config().await
}

/// A unique resource name with `prefix`.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// Creates a table with Lookout's schema (keys `pk`/`sk`, index `gsi1`) and returns its name.
pub async fn fresh_table(aws: &aws_config::SdkConfig) -> (aws_sdk_dynamodb::Client, String) {
    let client = aws_sdk_dynamodb::Client::new(aws);
    let name = unique("lookout-test");
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .unwrap()
    };
    client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(vec![
            attr("pk"),
            attr("sk"),
            attr("gsi1pk"),
            attr("gsi1sk"),
        ]))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("gsi1")
                .key_schema(key("gsi1pk", KeyType::Hash))
                .key_schema(key("gsi1sk", KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("create table in DynamoDB Local");
    (client, name)
}

/// A fresh SNS topic with an SQS queue subscribed to it: (topic ARN, queue URL, SQS client).
pub async fn fresh_topic(aws: &aws_config::SdkConfig) -> (String, String, aws_sdk_sqs::Client) {
    let sns = aws_sdk_sns::Client::new(aws);
    let sqs = aws_sdk_sqs::Client::new(aws);
    let name = unique("lookout-alerts");
    let topic = sns
        .create_topic()
        .name(&name)
        .send()
        .await
        .expect("create topic")
        .topic_arn
        .unwrap();
    let queue_url = sqs
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .expect("create queue")
        .queue_url
        .unwrap();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let queue_arn =
        attrs.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(queue_arn)
        .send()
        .await
        .expect("subscribe");
    (topic, queue_url, sqs)
}

/// Every SNS envelope waiting on the queue (parsed JSON), reading until it stays empty.
pub async fn drain(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for _ in 0..20 {
        let got = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive");
        let messages = got.messages();
        if messages.is_empty() {
            break;
        }
        for m in messages {
            out.push(serde_json::from_str(m.body().unwrap()).unwrap());
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    out
}

/// A fresh bucket and a path-style S3 client (moto).
pub async fn fresh_bucket(aws: &aws_config::SdkConfig) -> (aws_sdk_s3::Client, String) {
    let s3 = lookout_aws::s3::client(aws);
    let name = unique("lookout-dumps");
    s3.create_bucket()
        .bucket(&name)
        .send()
        .await
        .expect("create bucket");
    (s3, name)
}

/// A real proxy process from the project's venv on a free loopback port: proxy.py (HTTP
/// forward proxy) or pproxy (SOCKS5). Killed with its whole process group when the guard drops.
pub struct ForwardProxy {
    child: std::process::Child,
    /// `host:port`.
    pub addr: String,
}

impl Drop for ForwardProxy {
    fn drop(&mut self) {
        // proxy.py forks acceptor processes: end its whole process group, not just the parent.
        let _ = std::process::Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `tool` from the venv with `args(port)`, waits until the port accepts; panics with
/// instructions when the venv is missing.
async fn start_proxy(tool: &str, args: impl Fn(u16) -> Vec<String>) -> ForwardProxy {
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../.local/venv/bin")
        .join(tool);
    assert!(
        bin.exists(),
        "{} is missing: run `make test` (it installs the local stack)",
        bin.display()
    );
    spawn_proxy(bin, args).await
}

/// Starts a Debian proxy `tool` (`/usr/bin/<tool>`, or `/usr/sbin/`) with `args(port)`;
/// panics with the package to install when it is missing (`make test` installs them).
#[allow(dead_code)]
pub async fn start_system_proxy(
    tool: &str,
    package: &str,
    args: impl Fn(u16) -> Vec<String>,
) -> ForwardProxy {
    let bin = ["/usr/bin", "/usr/sbin"]
        .iter()
        .map(|d| PathBuf::from(d).join(tool))
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!("{tool} is missing: apt-get install {package} (make test installs it)")
        });
    spawn_proxy(bin, args).await
}

/// tinyproxy (Debian's, 1.11) on a free loopback port with `BasicAuth user password`.
#[allow(dead_code)]
pub async fn tinyproxy(user: &str, password: &str) -> ForwardProxy {
    let dir = std::env::temp_dir().join(unique("lookout-tinyproxy"));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("tinyproxy.conf");
    let (user, password) = (user.to_string(), password.to_string());
    start_system_proxy("tinyproxy", "tinyproxy-bin", move |port| {
        std::fs::write(
            &conf,
            format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 10\nAllow 127.0.0.1\n\
                 BasicAuth {user} {password}\nLogLevel Critical\nMaxClients 20\n"
            ),
        )
        .unwrap();
        vec!["-d".into(), "-c".into(), conf.to_str().unwrap().into()]
    })
    .await
}

/// microsocks (Debian's), a SOCKS5 proxy with username/password auth (RFC 1929).
#[allow(dead_code)]
pub async fn microsocks(user: &str, password: &str) -> ForwardProxy {
    let (user, password) = (user.to_string(), password.to_string());
    start_system_proxy("microsocks", "microsocks", move |port| {
        [
            "-i",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-u",
            &user,
            "-P",
            &password,
        ]
        .into_iter()
        .map(String::from)
        .collect()
    })
    .await
}

/// pproxy as an HTTP forward proxy (plain requests and CONNECT) with basic auth
/// `user:password`.
#[allow(dead_code)]
pub async fn pproxy_http(auth: &str) -> ForwardProxy {
    start_proxy("pproxy", |port| {
        vec!["-l".into(), format!("http://127.0.0.1:{port}#{auth}")]
    })
    .await
}

/// pproxy as an HTTP forward proxy without authentication.
#[allow(dead_code)]
pub async fn pproxy_http_open() -> ForwardProxy {
    start_proxy("pproxy", |port| {
        vec!["-l".into(), format!("http://127.0.0.1:{port}")]
    })
    .await
}

async fn spawn_proxy(bin: PathBuf, args: impl Fn(u16) -> Vec<String>) -> ForwardProxy {
    let tool = bin.display().to_string();
    use std::os::unix::process::CommandExt as _;
    // A port picked free may be taken by another test's server before the tool binds it: the
    // tool then exits, and the port answers for someone else. So wait until the tool's own
    // process group listens on it, and try another port when the tool exits first.
    for _ in 0..5 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new(&bin)
            .process_group(0)
            .args(args(port))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {tool}: {e}"));
        let addr = format!("127.0.0.1:{port}");
        let mut guard = ForwardProxy {
            child,
            addr: addr.clone(),
        };
        for _ in 0..100 {
            if ports::group_listens(guard.child.id(), port) {
                return guard;
            }
            if guard.child.try_wait().ok().flatten().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        drop(guard);
    }
    panic!("{tool} did not start listening on a free port in 5 tries");
}

/// proxy.py's arguments: loopback `port`, basic auth `user:password`, one worker, and `extra`.
fn proxy_py_args(port: u16, auth: &str, extra: &[&str]) -> Vec<String> {
    let port = port.to_string();
    let mut args = vec![
        "--hostname",
        "127.0.0.1",
        "--port",
        &port,
        "--basic-auth",
        auth,
    ];
    args.extend(["--num-workers", "1", "--num-acceptors", "1"]);
    args.extend(extra);
    args.into_iter().map(String::from).collect()
}

/// proxy.py, an HTTP forward proxy (plain requests and CONNECT) with basic auth
/// `user:password`.
pub async fn forward_proxy(auth: &str) -> ForwardProxy {
    start_proxy("proxy", |port| proxy_py_args(port, auth, &[])).await
}

/// pproxy, a SOCKS5 proxy with username/password auth `user:password` (RFC 1929). pproxy
/// remembers a client address once it authenticated, so use a fresh one per credential test.
pub async fn socks_proxy(auth: &str) -> ForwardProxy {
    start_proxy("pproxy", |port| {
        vec!["-l".into(), format!("socks5://127.0.0.1:{port}#{auth}")]
    })
    .await
}

/// proxy.py serving its clients over TLS (an `https://` proxy) with `cert`, and basic auth.
pub async fn tls_forward_proxy(auth: &str, cert: &lookout_app::testing::TestCert) -> ForwardProxy {
    let dir = std::env::temp_dir().join(unique("lookout-proxy-tls"));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_file, &cert.cert_pem).unwrap();
    std::fs::write(&key_file, &cert.key_pem).unwrap();
    let files = [cert_file.to_str().unwrap(), key_file.to_str().unwrap()];
    start_proxy("proxy", |port| {
        proxy_py_args(
            port,
            auth,
            &["--cert-file", files[0], "--key-file", files[1]],
        )
    })
    .await
}

/// Serves the API handler over real HTTP on loopback (what `cargo lambda watch` does, without
/// the Lambda runtime) and returns its base URL.
#[allow(dead_code)]
pub async fn serve_api<S>(app: std::sync::Arc<api::App<S>>) -> String
where
    S: api::Store,
{
    use http_body_util::BodyExt as _;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let app = app.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let app = app.clone();
                        async move {
                            let (parts, body) = req.into_parts();
                            let bytes = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let req = lambda_http::Request::from_parts(
                                parts,
                                lambda_http::Body::from(bytes.to_vec()),
                            );
                            let resp = api::handle(&app, req).await;
                            let (parts, body) = resp.into_parts();
                            let full =
                                http_body_util::Full::new(hyper::body::Bytes::from(body.to_vec()));
                            Ok::<_, std::convert::Infallible>(hyper::Response::from_parts(
                                parts, full,
                            ))
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(sock), service)
                    .await;
            });
        }
    });
    format!("http://{addr}")
}

/// One synthetic item `n` of a Lookout-shaped table: the key prefix cycles through
/// definitions, state, history, alerts and runs, and the attributes cover every DynamoDB type
/// (S, N, BOOL, NULL, SS, NS, L, M, B). `payload` adds that many bytes of random base64 text,
/// which gzip cannot shrink much.
pub fn sample_item(
    n: usize,
    payload: usize,
) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    use aws_sdk_dynamodb::primitives::Blob;
    use aws_sdk_dynamodb::types::AttributeValue as Av;
    let (pk, sk) = match n % 5 {
        0 => (format!("TARGET#t{n}"), "CONFIG".to_string()),
        1 => (format!("TARGET#t{n}"), "STATE".to_string()),
        2 => (
            format!("HIST#server#2026-11-22T{:02}#{n:06}", n % 24),
            format!("{n:013}"),
        ),
        3 => (
            format!("ALERT#2026-11-{:02}", 1 + n % 28),
            format!("{n:013}#k{n}"),
        ),
        _ => (format!("RUN#proxy#{n}"), format!("{n:013}#r")),
    };
    let mut item: std::collections::HashMap<String, Av> = [
        ("pk".to_string(), Av::S(pk)),
        ("sk".to_string(), Av::S(sk)),
        ("n".to_string(), Av::N(format!("{}.5", n))),
        ("flag".to_string(), Av::Bool(n.is_multiple_of(2))),
        ("nothing".to_string(), Av::Null(true)),
        (
            "tags".to_string(),
            Av::Ss(vec!["a".into(), format!("t{n}")]),
        ),
        (
            "nums".to_string(),
            Av::Ns(vec!["0.5".into(), n.to_string()]),
        ),
        (
            "list".to_string(),
            Av::L(vec![Av::S("x".into()), Av::N("2".into())]),
        ),
        (
            "map".to_string(),
            Av::M([("k".to_string(), Av::S(format!("v{n}")))].into()),
        ),
        (
            "blob".to_string(),
            Av::B(Blob::new(vec![0u8, 1, 2, (n % 256) as u8])),
        ),
        ("expires_at".to_string(), Av::N("4102444800".into())),
    ]
    .into();
    if payload > 0 {
        use base64::Engine as _;
        let bytes: Vec<u8> = (0..payload * 3 / 4).map(|_| fastrand::u8(..)).collect();
        item.insert(
            "payload".into(),
            Av::S(base64::engine::general_purpose::STANDARD.encode(bytes)),
        );
    }
    item
}

/// Writes items `0..count` ([`sample_item`]) with BatchWriteItem, 8 batches at a time,
/// sending unprocessed items again.
pub async fn fill_table(ddb: &aws_sdk_dynamodb::Client, table: &str, count: usize, payload: usize) {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
    use futures::StreamExt as _;
    let batches: Vec<Vec<usize>> = (0..count)
        .collect::<Vec<_>>()
        .chunks(25)
        .map(<[usize]>::to_vec)
        .collect();
    futures::stream::iter(batches)
        .map(|batch| async move {
            let mut writes: Vec<WriteRequest> = batch
                .iter()
                .map(|&n| {
                    WriteRequest::builder()
                        .put_request(
                            PutRequest::builder()
                                .set_item(Some(sample_item(n, payload)))
                                .build()
                                .unwrap(),
                        )
                        .build()
                })
                .collect();
            for _ in 0..20 {
                let out = ddb
                    .batch_write_item()
                    .request_items(table, writes)
                    .send()
                    .await
                    .expect("batch write to DynamoDB Local");
                writes = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(table))
                    .unwrap_or_default();
                if writes.is_empty() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("items left unprocessed after 20 attempts");
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
}

/// Every item of `table` in canonical JSON (keys sorted, sets sorted), sorted: two tables with
/// the same fingerprint hold the same items with the same types. Returns (items, SHA-256 hex).
pub async fn table_fingerprint(ddb: &aws_sdk_dynamodb::Client, table: &str) -> (usize, String) {
    table_fingerprint_except(ddb, table, None).await
}

/// [`table_fingerprint`] of the items whose partition key does not start with `skip` (all of
/// them when `None`): a table compared with its dump without the audit entries (`AUDIT#`) of
/// the requests made since.
pub async fn table_fingerprint_except(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    skip: Option<&str>,
) -> (usize, String) {
    use sha2::Digest as _;
    fn canonical(v: &serde_json::Value) -> serde_json::Value {
        match v {
            // Keys sorted whatever the map's order (serde_json may preserve insertion order).
            serde_json::Value::Object(m) => serde_json::Value::Object(
                m.iter()
                    .collect::<std::collections::BTreeMap<_, _>>()
                    .into_iter()
                    .map(|(k, v)| {
                        let v = match (k.as_str(), v) {
                            ("SS" | "NS" | "BS", serde_json::Value::Array(a)) => {
                                let mut a = a.clone();
                                a.sort_by_key(|x| x.to_string());
                                serde_json::Value::Array(a)
                            }
                            _ => canonical(v),
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            ),
            serde_json::Value::Array(a) => {
                serde_json::Value::Array(a.iter().map(canonical).collect())
            }
            other => other.clone(),
        }
    }
    let mut lines = Vec::new();
    let mut pages = ddb.scan().table_name(table).into_paginator().send();
    while let Some(page) = pages.next().await {
        for item in page.expect("scan").items() {
            let pk = item.get("pk").and_then(|v| v.as_s().ok());
            if skip.is_some_and(|p| pk.is_some_and(|pk| pk.starts_with(p))) {
                continue;
            }
            let json = lookout_aws::dynamodb::item_to_json(item);
            lines.push(canonical(&json).to_string());
        }
    }
    lines.sort();
    let mut hash = sha2::Sha256::new();
    for line in &lines {
        hash.update(line.as_bytes());
        hash.update(b"\n");
    }
    (lines.len(), hex::encode(hash.finalize()))
}

/// Calls the API handler with the admin token.
pub async fn call(
    app: &std::sync::Arc<api::App<lookout_aws::dynamodb::DynamoStore>>,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, serde_json::Value) {
    let req = lambda_http::http::Request::builder()
        .method(method)
        .uri(format!("http://localhost{path}"))
        .header("authorization", "Bearer admin")
        .body(lambda_http::Body::from(body.to_string()))
        .unwrap();
    // Boxed: the handler's future over DynamoDB is too large for a test thread's 2 MiB stack in
    // debug builds.
    let resp = Box::pin(api::handle(app, req)).await;
    let status = resp.status().as_u16();
    let json = match resp.body() {
        lambda_http::Body::Text(t) => serde_json::from_str(t).unwrap_or_default(),
        lambda_http::Body::Binary(b) => serde_json::from_slice(b).unwrap_or_default(),
        lambda_http::Body::Empty => serde_json::Value::Null,
        _ => serde_json::Value::Null,
    };
    (status, json)
}

/// Appends one benchmark row (a JSON object: `part`, `name`, `unit`, `lookout`, `anchor`,
/// `anchor_name`, `goal`, `met`, `note`; see bench/report.py) to the file named by `BENCH_OUT`,
/// when it is set (make bench sets it); does nothing otherwise.
pub fn bench_row(row: serde_json::Value) {
    use std::io::Write as _;
    let Ok(path) = std::env::var("BENCH_OUT") else {
        return;
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("BENCH_OUT {path}: {e}"));
    writeln!(f, "{row}").unwrap_or_else(|e| panic!("BENCH_OUT {path}: {e}"));
}

/// Whether this is a smoke run of the benchmark harness (`BENCH_SMOKE=1`): tiny sizes.
pub fn bench_smoke() -> bool {
    std::env::var("BENCH_SMOKE").is_ok_and(|v| v == "1")
}

/// A `kB` line of `/proc/<pid>/status` (`pid` may be `self`), in KiB: `VmRSS:` (resident now),
/// `VmHWM:` (peak resident). 0 when the process or the line is not there.
pub fn proc_status_kib(pid: &str, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A real nginx (Debian's `nginx-light`) started as a plain process with its own configuration
/// in a fresh temp dir (config, pid, error log, temp paths and the document root `www/` all
/// inside it), listening on a free loopback port. Killed with its workers, and the dir removed,
/// when dropped.
#[allow(dead_code)]
pub struct Nginx {
    process: Option<ForwardProxy>,
    /// The temp dir; the document root is `dir/www`.
    pub dir: PathBuf,
    /// The port nginx listens on, on 127.0.0.1 (and on `[::1]` when asked).
    pub port: u16,
}

#[allow(dead_code)]
impl Nginx {
    /// `http://127.0.0.1:<port>` (or `https://` when started with a certificate).
    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://127.0.0.1:{}", self.port)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM first: the master stops and reaps its workers (killed outright they would be
        // left to init as zombies); the process group is killed after 2 s at the latest.
        if let Some(p) = self.process.as_mut() {
            // SAFETY: kill only sends a signal to the child we started.
            unsafe { libc::kill(p.child.id() as libc::pid_t, libc::SIGTERM) };
            for _ in 0..100 {
                if matches!(p.child.try_wait(), Ok(Some(_))) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        drop(self.process.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether this machine can listen on `[::1]` (IPv6 loopback configured).
#[allow(dead_code)]
pub fn ipv6_loopback() -> bool {
    std::net::TcpListener::bind("[::1]:0").is_ok()
}

/// Starts nginx with one `server` block: `server` is its body (locations, directives), after
/// the `listen` lines (`ssl` with `tls`'s certificate and key when given; `[::1]` too when
/// `ipv6`) and `root <dir>/www`. `files` are written under `www/` first (`name`, contents).
/// Panics with the package to install when nginx is missing (`make test` installs it), and
/// with nginx's error log when it does not start.
#[allow(dead_code)]
pub async fn nginx(
    tls: Option<&lookout_app::testing::TestCert>,
    ipv6: bool,
    server: &str,
    files: &[(&str, &[u8])],
) -> Nginx {
    let bin = PathBuf::from("/usr/sbin/nginx");
    assert!(
        bin.exists(),
        "nginx is missing: apt-get install nginx-light (make test installs it)"
    );
    let dir = std::env::temp_dir().join(unique("lookout-nginx"));
    let www = dir.join("www");
    std::fs::create_dir_all(&www).unwrap();
    for (name, body) in files {
        std::fs::write(www.join(name), body).unwrap();
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ssl = if tls.is_some() { " ssl" } else { "" };
    let mut listen = format!("listen 127.0.0.1:{port}{ssl};\n");
    if ipv6 {
        listen.push_str(&format!("listen [::1]:{port}{ssl};\n"));
    }
    if let Some(cert) = tls {
        std::fs::write(dir.join("cert.pem"), &cert.cert_pem).unwrap();
        std::fs::write(dir.join("key.pem"), &cert.key_pem).unwrap();
        listen.push_str(&format!(
            "ssl_certificate {d}/cert.pem;\nssl_certificate_key {d}/key.pem;\n",
            d = dir.display()
        ));
    }
    let d = dir.display();
    let conf = format!(
        "pid {d}/nginx.pid;\nerror_log {d}/error.log warn;\nworker_processes 1;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n\
           client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;\n\
           fastcgi_temp_path {d}/fastcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n\
           types {{ application/json json; text/plain txt; text/html html; }}\n\
           default_type text/plain;\n\
           server {{\n{listen}root {d}/www;\n{server}\n}}\n}}\n"
    );
    let conf_file = dir.join("nginx.conf");
    std::fs::write(&conf_file, conf).unwrap();
    use std::os::unix::process::CommandExt as _;
    let child = std::process::Command::new(&bin)
        .process_group(0)
        .args(["-c", conf_file.to_str().unwrap(), "-p"])
        .arg(&dir)
        .arg("-e")
        .arg(dir.join("error.log"))
        .args(["-g", "daemon off;"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start nginx: {e}"));
    let addr = format!("127.0.0.1:{port}");
    let mut guard = Nginx {
        process: Some(ForwardProxy {
            child,
            addr: addr.clone(),
        }),
        dir,
        port,
    };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(&addr).await.is_ok() {
            return guard;
        }
        let exited = guard
            .process
            .as_mut()
            .and_then(|p| p.child.try_wait().ok().flatten());
        if exited.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = std::fs::read_to_string(guard.dir.join("error.log")).unwrap_or_default();
    panic!("nginx did not start on {addr}: {log}");
}

/// A server target `t` (group `g`) for `url`, timeouts 3,000 ms, with `extra` fields set.
#[allow(dead_code)]
pub fn server(url: &str, extra: serde_json::Value) -> lookout_core::domain::Target {
    target(
        serde_json::json!({"id":"t","group":"g","kind":"server","url": url}),
        extra,
    )
}

/// A proxy target `p` (pool `pool`) with `test_urls`, timeouts 3,000 ms, with `extra` set.
#[allow(dead_code)]
pub fn proxy(
    proxy_url: &str,
    test_urls: &[String],
    extra: serde_json::Value,
) -> lookout_core::domain::Target {
    target(
        serde_json::json!({"id":"p","group":"pool","kind":"proxy","proxy_url": proxy_url,
            "test_urls": test_urls}),
        extra,
    )
}

fn target(mut v: serde_json::Value, extra: serde_json::Value) -> lookout_core::domain::Target {
    v["timeout_ms"] = 3000.into();
    v["degraded_latency_ms"] = 2500.into();
    for (k, x) in extra.as_object().expect("extra is an object") {
        v[k] = x.clone();
    }
    lookout_core::domain::Target::from_json(v).expect("valid target")
}

/// One check of `t` with loopback targets allowed.
#[allow(dead_code)]
pub async fn check(t: &lookout_core::domain::Target) -> lookout_core::domain::CheckResult {
    lookout_app::probe::Prober::with_options(lookout_app::probe::ProbeOptions::allow_private())
        .unwrap()
        .check(t, 1)
        .await
}

/// Asserts that `r` failed with `kind`.
#[allow(dead_code)]
pub fn failed_with(r: &lookout_core::domain::CheckResult, kind: lookout_core::domain::ErrorKind) {
    assert_eq!(
        (r.outcome, r.error),
        (lookout_core::domain::Outcome::Failed, Some(kind)),
        "{r:?}"
    );
}

/// The bytes of object `key` in `bucket`.
#[allow(dead_code)]
pub async fn object_bytes(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<u8> {
    s3.get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes()
        .to_vec()
}

/// Rewrites the gzip'd JSON Lines object `key` one line shorter: still a valid gzip, but its
/// bytes, hash and item count no longer match a dump manifest. Returns the text it had.
#[allow(dead_code)]
pub async fn drop_first_line(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> String {
    let bytes = object_bytes(s3, bucket, key).await;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
        .unwrap();
    let shorter: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, shorter.as_bytes()).unwrap();
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(gz.finish().unwrap().into())
        .send()
        .await
        .unwrap();
    text
}

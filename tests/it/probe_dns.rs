//! The DNS probe against real third-party DNS servers on loopback, each started by its test on
//! a free port: dnsmasq (Debian's `dnsmasq-base`: `--host-record`, `--cname`, `--mx-host`,
//! `--txt-record`, `--local` for NXDOMAIN) and Unbound (`local-data` of a static local zone,
//! with NS records and its `local-zone` types `refuse` and `always_nxdomain`). Never a
//! public resolver: every address is 127.0.0.1.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::{check, failed_with, unique};
use lookout_core::domain::{CheckResult, ErrorKind, Outcome, Target};
use serde_json::{json, Value};

/// A DNS server process; killed (and its temp dir removed) when dropped.
struct Resolver {
    child: Child,
    port: u16,
    dir: Option<PathBuf>,
}

impl Drop for Resolver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(d) = &self.dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// A port free on 127.0.0.1 for both UDP and TCP (bound and released).
fn free_port() -> u16 {
    loop {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn binary(path: &str, package: &str) -> PathBuf {
    let bin = PathBuf::from(path);
    assert!(
        bin.exists(),
        "{path} is missing: apt-get install {package} (make test installs it)"
    );
    bin
}

/// Waits until the server answers over TCP (then UDP is up too: both bind before serving).
async fn started(mut r: Resolver, name: &str) -> Resolver {
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", r.port))
            .await
            .is_ok()
        {
            return r;
        }
        if let Ok(Some(status)) = r.child.try_wait() {
            panic!("{name} exited at start: {status}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{name} did not start on 127.0.0.1:{}", r.port);
}

/// The 200-byte strings of `big.lookout.test`'s TXT record: 8 of them (1,600 bytes, more than
/// the 1,232 bytes of a UDP answer).
const BIG_STRINGS: usize = 8;

/// dnsmasq serving `lookout.test` from its command line, nothing forwarded.
async fn dnsmasq() -> Resolver {
    let bin = binary("/usr/sbin/dnsmasq", "dnsmasq-base");
    let port = free_port();
    let big = vec!["x".repeat(200); BIG_STRINGS].join(",");
    let child = Command::new(bin)
        .args([
            &format!("--port={port}"),
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
            "--no-resolv",
            "--no-hosts",
            "--no-daemon",
            "--conf-file=/dev/null",
            "--pid-file=",
            "--cache-size=0",
            // Names under lookout.test that no record names are NXDOMAIN, never forwarded.
            "--local=/lookout.test/",
            "--host-record=www.lookout.test,192.0.2.10,2001:db8::10",
            "--host-record=www.lookout.test,192.0.2.11",
            "--cname=alias.lookout.test,www.lookout.test",
            "--mx-host=lookout.test,mx1.lookout.test,10",
            "--mx-host=lookout.test,mx2.lookout.test,20",
            "--txt-record=lookout.test,v=spf1 -all",
            "--txt-record=txt.lookout.test,hello ,world",
            &format!("--txt-record=big.lookout.test,{big}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start dnsmasq: {e}"));
    started(
        Resolver {
            child,
            port,
            dir: None,
        },
        "dnsmasq",
    )
    .await
}

/// Unbound answering `lookout.test` from `local-data` (a static zone), no recursion out.
async fn unbound() -> Resolver {
    let bin = binary("/usr/sbin/unbound", "unbound");
    let port = free_port();
    let dir = std::env::temp_dir().join(unique("lookout-unbound"));
    std::fs::create_dir_all(&dir).unwrap();
    let data = [
        "lookout.test. 60 IN SOA ns1.lookout.test. hostmaster.lookout.test. 1 3600 600 86400 60",
        "lookout.test. 60 IN NS ns1.lookout.test.",
        "lookout.test. 60 IN NS ns2.lookout.test.",
        "lookout.test. 60 IN MX 10 mx1.lookout.test.",
        "www.lookout.test. 60 IN A 192.0.2.20",
        "www.lookout.test. 60 IN AAAA 2001:db8::20",
        "alias.lookout.test. 60 IN CNAME www.lookout.test.",
        "lookout.test. 60 IN TXT \"hello \" \"world\"",
    ];
    let local_data: String = data
        .iter()
        .map(|d| format!("  local-data: '{d}'\n"))
        .collect();
    let conf = format!(
        "server:\n  interface: 127.0.0.1\n  port: {port}\n  do-ip6: no\n  do-daemonize: no\n\
         \x20 username: \"\"\n  chroot: \"\"\n  directory: \"{d}\"\n  pidfile: \"\"\n\
         \x20 use-syslog: no\n  logfile: \"\"\n  verbosity: 0\n  num-threads: 1\n\
         \x20 access-control: 127.0.0.0/8 allow\n  module-config: \"iterator\"\n\
         \x20 local-zone: \"lookout.test.\" static\n{local_data}\
         \x20 local-zone: \"refused.test.\" refuse\n\
         \x20 local-zone: \"gone.test.\" always_nxdomain\n\
         remote-control:\n  control-enable: no\n",
        d = dir.display()
    );
    let conf_file = dir.join("unbound.conf");
    std::fs::write(&conf_file, conf).unwrap();
    let child = Command::new(bin)
        .args(["-d", "-c"])
        .arg(&conf_file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start unbound: {e}"));
    started(
        Resolver {
            child,
            port,
            dir: Some(dir),
        },
        "unbound",
    )
    .await
}

fn dns(r: &Resolver, extra: Value) -> Target {
    let mut v = json!({
        "id": "dns", "group": "g", "kind": "dns",
        "resolver": format!("127.0.0.1:{}", r.port), "timeout_ms": 3000, "retries": 0,
    });
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    Target::from_json(v).unwrap()
}

fn up(r: &CheckResult) {
    assert_eq!((r.outcome, r.error), (Outcome::Up, None), "{r:?}");
}

fn says(r: &CheckResult, words: &[&str]) {
    let m = r.message.as_deref().unwrap_or_default();
    for w in words {
        assert!(m.contains(w), "{w:?} not in {m:?}");
    }
}

#[tokio::test]
async fn dnsmasq_answers_each_record_type_as_the_check_reads_it() {
    let d = dnsmasq().await;
    let cases = [
        ("www.lookout.test", "A", json!(["192.0.2.10", "192.0.2.11"])),
        ("www.lookout.test", "AAAA", json!(["2001:db8::10"])),
        // dnsmasq answers the CNAME and the addresses it leads to: the addresses only count.
        (
            "alias.lookout.test",
            "A",
            json!(["192.0.2.11", "192.0.2.10"]),
        ),
        ("alias.lookout.test", "CNAME", json!(["www.lookout.test."])),
        (
            "LOOKOUT.test.",
            "MX",
            json!(["10 mx1.lookout.test", "20 mx2.lookout.test"]),
        ),
        ("lookout.test", "TXT", json!(["v=spf1 -all"])),
        ("txt.lookout.test", "TXT", json!(["hello world"])),
    ];
    for (name, ty, equals) in cases {
        let r = check(&dns(
            &d,
            json!({"query_name": name, "record_type": ty, "expect_equals": equals}),
        ))
        .await;
        up(&r);
        assert!(r.bytes > 0 && r.attempts == 1, "{r:?}");
    }
}

#[tokio::test]
async fn dnsmasq_expectations_fail_with_the_answers_listed() {
    let d = dnsmasq().await;
    let r = check(&dns(
        &d,
        json!({"query_name": "www.lookout.test", "record_type": "A",
            "expect_contains": ["203.0.113.5"]}),
    ))
    .await;
    failed_with(&r, ErrorKind::Assertion);
    says(&r, &["203.0.113.5", "2 answer(s): 192.0.2.1"]);
    let r = check(&dns(
        &d,
        json!({"query_name": "lookout.test", "record_type": "MX", "expect_count": {"min": 3}}),
    ))
    .await;
    failed_with(&r, ErrorKind::Assertion);
    says(&r, &["at least 3 MX", "10 mx1.lookout.test"]);
    let r = check(&dns(
        &d,
        json!({"query_name": "lookout.test", "record_type": "MX", "expect_count": {"min": 2, "max": 2}}),
    ))
    .await;
    up(&r);
}

#[tokio::test]
async fn dnsmasq_nxdomain_is_a_dns_error() {
    let d = dnsmasq().await;
    let r = check(&dns(
        &d,
        json!({"query_name": "nope.lookout.test", "record_type": "A"}),
    ))
    .await;
    failed_with(&r, ErrorKind::Dns);
    says(&r, &["NXDOMAIN", "nope.lookout.test A"]);
}

#[tokio::test]
async fn dnsmasq_truncated_answer_is_asked_again_over_tcp_and_tcp_alone_works() {
    let d = dnsmasq().await;
    let q = json!({"query_name": "big.lookout.test", "record_type": "TXT",
        "expect_count": {"min": 1, "max": 1}});
    let r = check(&dns(&d, q.clone())).await;
    up(&r);
    assert!(
        r.bytes > (200 * BIG_STRINGS) as u64,
        "the whole record: {r:?}"
    );
    assert!(r.connect_ms.is_some(), "the TCP retry was made: {r:?}");
    let mut tcp = q;
    tcp["transport"] = json!("tcp");
    let r = check(&dns(&d, tcp)).await;
    up(&r);
    assert!(r.bytes > (200 * BIG_STRINGS) as u64, "{r:?}");
    let r = check(&dns(
        &d,
        json!({"query_name": "www.lookout.test", "record_type": "A", "transport": "tcp"}),
    ))
    .await;
    up(&r);
    assert!(r.connect_ms.is_some(), "{r:?}");
}

#[tokio::test]
async fn a_stopped_dnsmasq_is_a_failure_and_the_guard_refuses_it_by_default() {
    let d = dnsmasq().await;
    let t = dns(
        &d,
        json!({"query_name": "www.lookout.test", "record_type": "A"}),
    );
    let guarded = lookout_app::probe::Prober::new()
        .unwrap()
        .check(&t, 1)
        .await;
    failed_with(&guarded, ErrorKind::Forbidden);
    says(&guarded, &["127.0.0.1 is a loopback address"]);
    drop(d);
    let mut quick = t;
    quick.timeout_ms = 500;
    let r = check(&quick).await;
    assert_eq!(r.outcome, Outcome::Failed, "{r:?}");
    // Nothing listens: the kernel's ICMP port unreachable ends the query at once, or no
    // answer comes within the timeout; either way the check fails.
    assert!(
        matches!(r.error, Some(ErrorKind::Connect | ErrorKind::Timeout)),
        "{r:?}"
    );
}

#[tokio::test]
async fn unbound_answers_its_local_data() {
    let u = unbound().await;
    let cases = [
        (
            "lookout.test",
            "NS",
            json!(["ns1.lookout.test", "ns2.lookout.test"]),
        ),
        ("www.lookout.test", "A", json!(["192.0.2.20"])),
        ("www.lookout.test", "AAAA", json!(["2001:db8::20"])),
        ("alias.lookout.test", "CNAME", json!(["www.lookout.test"])),
        ("lookout.test", "MX", json!(["10 mx1.lookout.test"])),
        ("lookout.test", "TXT", json!(["hello world"])),
    ];
    for (name, ty, equals) in cases {
        let r = check(&dns(
            &u,
            json!({"query_name": name, "record_type": ty, "expect_equals": equals}),
        ))
        .await;
        up(&r);
    }
}

#[tokio::test]
async fn unbound_refused_and_nxdomain_are_dns_errors() {
    let u = unbound().await;
    let r = check(&dns(
        &u,
        json!({"query_name": "www.refused.test", "record_type": "A"}),
    ))
    .await;
    failed_with(&r, ErrorKind::Dns);
    says(&r, &["REFUSED"]);
    let r = check(&dns(
        &u,
        json!({"query_name": "x.gone.test", "record_type": "A"}),
    ))
    .await;
    failed_with(&r, ErrorKind::Dns);
    says(&r, &["NXDOMAIN"]);
    // A name of the static zone without that record type: NOERROR, no answer.
    let r = check(&dns(
        &u,
        json!({"query_name": "www.lookout.test", "record_type": "MX"}),
    ))
    .await;
    failed_with(&r, ErrorKind::Assertion);
    says(&r, &["no MX answer"]);
}

/// The probe run over DynamoDB Local and moto SNS: a DNS target is healthy while its answer
/// holds, and when the record changes it goes down with exactly one alert on the topic.
#[tokio::test]
async fn a_dns_target_whose_record_changes_goes_down_with_one_alert() {
    use lookout_app::ports::{Outbox, StateStore, TargetStore};
    use lookout_app::testing::dns::DnsServer;
    use lookout_core::domain::{Status, TargetKind};

    let aws = crate::common::aws().await;
    let (ddb, table) = crate::common::fresh_table(&aws).await;
    let (topic, queue, sqs) = crate::common::fresh_topic(&aws).await;
    let store = lookout_aws::dynamodb::DynamoStore::new(ddb, table, 30);
    let publisher = lookout_aws::sns::SnsPublisher::new(aws_sdk_sns::Client::new(&aws), topic);
    let server = DnsServer::start().await;
    let t = Target::from_json(json!({
        "id": "www-dns", "group": "dns", "kind": "dns", "resolver": server.resolver(),
        "query_name": "www.lookout.test", "record_type": "A",
        "expect_equals": ["192.0.2.10", "192.0.2.11"],
        "timeout_ms": 3000, "retries": 0, "degraded_latency_ms": 30000,
    }))
    .unwrap();
    store.create_target(&t).await.unwrap();
    let prober =
        lookout_app::probe::Prober::with_options(lookout_app::probe::ProbeOptions::allow_private())
            .unwrap();
    let all_now = probe::ProbeRequest::forced(&TargetKind::ALL);
    let config = probe::RunConfig::new(4);
    let run = || probe::run(&store, &publisher, &prober, &all_now, &config);
    for _ in 0..3 {
        run().await.unwrap();
    }
    let status = |l: &std::collections::HashMap<String, lookout_app::ports::Latest>| {
        l["www-dns"].state.status
    };
    assert_eq!(
        status(&store.latest(TargetKind::Server).await.unwrap()),
        Status::Healthy
    );

    server
        .set_a("www.lookout.test.", &["198.51.100.7".parse().unwrap()])
        .await;
    for _ in 0..3 {
        run().await.unwrap();
    }
    let latest = store.latest(TargetKind::Server).await.unwrap();
    assert_eq!(status(&latest), Status::Down, "{:?}", latest["www-dns"]);
    // One more run changes nothing and sends nothing.
    assert!(run().await.unwrap().alerts.is_empty());

    let alerts: Vec<serde_json::Value> = crate::common::drain(&sqs, &queue)
        .await
        .iter()
        .map(|m| serde_json::from_str(m["Message"].as_str().unwrap()).unwrap())
        .collect();
    let changes: Vec<String> = alerts
        .iter()
        .map(|a| {
            format!(
                "{}:{}",
                a["target_id"].as_str().unwrap(),
                a["new_status"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(changes, vec!["www-dns:down"], "{alerts:?}");
    assert!(
        alerts[0].to_string().contains("198.51.100.7"),
        "the alert tells what the resolver answered: {}",
        alerts[0]
    );
    assert!(store
        .pending_alerts(lookout_core::time::now_ms())
        .await
        .unwrap()
        .is_empty());
}

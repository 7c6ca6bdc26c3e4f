//! The address guard has no bypass, tested for real: the test re-runs itself inside a network
//! namespace it makes (`unshare -n`), where only its own loopback exists, puts the refused
//! addresses (10.0.0.1, 192.168.1.1, 172.16.0.1, 100.64.0.1, 169.254.169.254, 127.0.0.1,
//! fd00:ec2::254) and one allowed address (8.8.8.8, a stand-in for a public host) on that
//! loopback, and listens on them. A property test then checks targets built from generated URL
//! shapes (server, redirect, proxy of every scheme and test URL; ports or none; decimal, octal,
//! hex, short, IPv4-mapped, NAT64, 6to4 and trailing-dot forms; userinfo) with the guard on, and
//! asserts that no listener on a refused address ever sees a connection and no check is `up`.
//! No packet can leave the machine: the namespace has no other interface.

use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use lookout_app::probe::{ProbeOptions, Prober};
use lookout_core::domain::{Outcome, Target};
use proptest::prelude::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CHILD: &str = "LOOKOUT_GUARD_NETNS_CHILD";
/// The test's path in the `it` binary (`<module>::<name>`), for `--exact` in the namespaced run.
const TEST: &str =
    "guard_netns::no_url_shape_reaches_a_refused_address_inside_a_private_network_namespace";

/// Refused addresses and their spellings: (dotted, other forms of the same address).
const REFUSED: &[(&str, &[&str])] = &[
    (
        "10.0.0.1",
        &[
            "167772161",
            "012.0.0.1",
            "0xa.0.0.1",
            "0x0a000001",
            "10.1",
            "10.0.1",
            "[::ffff:10.0.0.1]",
            "[::ffff:a00:1]",
            "[64:ff9b::a00:1]",
            "[2002:a00:1::1]",
            "[::10.0.0.1]",
            "10.0.0.1.",
        ],
    ),
    (
        "192.168.1.1",
        &[
            "3232235777",
            "0xc0a80101",
            "192.168.257",
            "[::ffff:c0a8:101]",
        ],
    ),
    ("172.16.0.1", &["2886729729", "0254.020.0.1", "172.16.1"]),
    ("100.64.0.1", &["1681915905", "[::ffff:100.64.0.1]"]),
    (
        "169.254.169.254",
        &[
            "2852039166",
            "0xa9fea9fe",
            "0251.0376.0251.0376",
            "[::ffff:a9fe:a9fe]",
        ],
    ),
    (
        "127.0.0.1",
        &[
            "2130706433",
            "0x7f.1",
            "0177.0.0.1",
            "127.1",
            "localhost",
            "[::1]",
        ],
    ),
];

/// Ports every refused address listens on: the defaults of http, https and SOCKS, and two more.
const PORTS: &[u16] = &[80, 443, 1080, 3128, 8080];

/// The stand-in public host inside the namespace: it redirects `/to/<n>` to the n-th URL of a
/// list and is an HTTP "proxy" that counts connections on 3128.
const PUBLIC: &str = "8.8.8.8";

#[test]
fn no_url_shape_reaches_a_refused_address_inside_a_private_network_namespace() {
    if std::env::var_os(CHILD).is_some() {
        return in_namespace();
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("unshare")
        .args(["--net", "--"])
        .arg(exe)
        .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .expect("unshare (util-linux) runs; the test needs root or user namespaces");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "inside the namespace:\n{text}");
    assert!(
        text.contains("1 passed"),
        "the namespaced run did not run the test:\n{text}"
    );
    println!("{text}");
}

fn sh(args: &[&str]) {
    let ok = Command::new(args[0])
        .args(&args[1..])
        .status()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(ok.success(), "{args:?}");
}

/// Every form a URL host can take for `dotted` (IPv6 forms are already bracketed).
fn forms(dotted: &'static str) -> Vec<&'static str> {
    let mut all = vec![dotted];
    all.extend(REFUSED.iter().find(|(d, _)| *d == dotted).unwrap().1);
    all
}

#[derive(Debug, Clone)]
enum Shape {
    /// A server target at this URL.
    Server(String),
    /// A server target on the public host that redirects to this URL.
    Redirect(String),
    /// A proxy target with this proxy URL and a public test URL.
    Proxy(String),
    /// A proxy target with the public proxy and this test URL.
    TestUrl(String),
}

fn shapes() -> impl Strategy<Value = Shape> {
    let host = prop::sample::select(REFUSED.iter().map(|(d, _)| *d).collect::<Vec<_>>())
        .prop_flat_map(|d| prop::sample::select(forms(d)));
    let port = prop::option::of(prop::sample::select(PORTS.to_vec()));
    let userinfo = prop::sample::select(vec!["", "u:p@", "user@"]);
    let web = prop::sample::select(vec!["http", "https"]);
    let proxy = prop::sample::select(vec!["http", "https", "socks5", "socks5h"]);
    let role = 0..4u8;
    (host, port, userinfo, web, proxy, role).prop_map(|(h, port, ui, web, px, role)| {
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        match role {
            0 => Shape::Server(format!("{web}://{ui}{h}{port}/health")),
            1 => Shape::Redirect(format!("{web}://{ui}{h}{port}/next")),
            2 => Shape::Proxy(format!("{px}://{ui}{h}{port}")),
            _ => Shape::TestUrl(format!("{web}://{h}{port}/ip")),
        }
    })
}

/// Accepts on `addr` and counts connections; answers nothing.
async fn counting_listener(addr: SocketAddr, count: Arc<AtomicUsize>) {
    let l = tokio::net::TcpListener::bind(addr)
        .await
        .unwrap_or_else(|e| panic!("bind {addr}: {e}"));
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let _ = s.shutdown().await;
        }
    });
}

/// The public host's web server: `/to/<n>` redirects to `targets[n]`, anything else is 200.
async fn redirector(targets: Arc<std::sync::Mutex<Vec<String>>>) {
    let l = tokio::net::TcpListener::bind((PUBLIC, 80)).await.unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let targets = targets.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                let reply = match path
                    .strip_prefix("/to/")
                    .and_then(|i| i.parse::<usize>().ok())
                {
                    Some(i) => format!(
                        "HTTP/1.1 302 Found\r\nLocation: {}\r\nContent-Length: 0\r\n\r\n",
                        targets.lock().unwrap()[i]
                    ),
                    None => "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_string(),
                };
                let _ = s.write_all(reply.as_bytes()).await;
            });
        }
    });
}

fn in_namespace() {
    sh(&["ip", "link", "set", "lo", "up"]);
    for (dotted, _) in REFUSED {
        if *dotted != "127.0.0.1" {
            sh(&["ip", "addr", "add", &format!("{dotted}/32"), "dev", "lo"]);
        }
    }
    sh(&["ip", "addr", "add", &format!("{PUBLIC}/32"), "dev", "lo"]);
    sh(&[
        "ip",
        "-6",
        "addr",
        "add",
        "fd00:ec2::254/128",
        "dev",
        "lo",
        "nodad",
    ]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let proxy_hits = Arc::new(AtomicUsize::new(0));
    let redirects = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    rt.block_on(async {
        let mut addrs: Vec<IpAddr> = REFUSED.iter().map(|(d, _)| d.parse().unwrap()).collect();
        addrs.push("::1".parse().unwrap());
        addrs.push("fd00:ec2::254".parse().unwrap());
        for ip in addrs {
            for port in PORTS {
                counting_listener(SocketAddr::new(ip, *port), hits.clone()).await;
            }
        }
        counting_listener(
            (PUBLIC.parse::<IpAddr>().unwrap(), 3128).into(),
            proxy_hits.clone(),
        )
        .await;
        redirector(redirects.clone()).await;
    });
    let prober = Prober::with_options(ProbeOptions::default()).unwrap();

    // The fixed shapes the issue reported, then generated ones.
    let reported = [
        "socks5h://10.0.0.1",
        "socks5h://127.0.0.1",
        "socks5h://169.254.169.254",
        "socks5h://192.168.1.1",
        "socks5h://172.16.0.1",
        "socks5h://100.64.0.1",
        "socks5h://localhost",
        "socks5://10.0.0.1",
    ];
    let check = |shape: &Shape| {
        let target = match shape {
            Shape::Server(url) => json!({"id":"s","group":"g","kind":"server","url": url}),
            Shape::Redirect(url) => {
                let mut r = redirects.lock().unwrap();
                r.push(url.clone());
                json!({"id":"s","group":"g","kind":"server","follow_redirects": true,
                       "url": format!("http://{PUBLIC}/to/{}", r.len() - 1)})
            }
            Shape::Proxy(url) => json!({"id":"p","group":"g","kind":"proxy","proxy_url": url,
                       "test_urls": [format!("http://{PUBLIC}/ip")]}),
            Shape::TestUrl(url) => json!({"id":"p","group":"g","kind":"proxy",
                       "proxy_url": format!("http://{PUBLIC}:3128"), "test_urls": [url]}),
        };
        let mut target = target;
        target["timeout_ms"] = json!(1500);
        // A shape the definition rules refuse cannot be stored, so it is never probed.
        let Ok(t) = Target::from_json(target) else {
            return Ok(());
        };
        let before = (
            hits.load(Ordering::SeqCst),
            proxy_hits.load(Ordering::SeqCst),
        );
        let r = rt.block_on(prober.check(&t, 1));
        let after = (
            hits.load(Ordering::SeqCst),
            proxy_hits.load(Ordering::SeqCst),
        );
        if after.0 != before.0 {
            return Err(format!("{shape:?} connected to a refused address: {r:?}"));
        }
        if matches!(shape, Shape::TestUrl(_)) && after.1 != before.1 {
            return Err(format!(
                "{shape:?} sent a refused destination to the proxy: {r:?}"
            ));
        }
        if r.outcome == Outcome::Up {
            return Err(format!("{shape:?} is up: {r:?}"));
        }
        Ok(())
    };
    for url in reported {
        let shape = Shape::Proxy(url.to_string());
        check(&shape).unwrap();
        let r = rt.block_on(
            prober.check(
                &Target::from_json(json!({"id":"p","group":"g","kind":"proxy","proxy_url": url,
                    "test_urls": [format!("http://{PUBLIC}/ip")]}))
                .unwrap(),
                1,
            ),
        );
        assert_eq!(
            r.error,
            Some(lookout_core::domain::ErrorKind::Forbidden),
            "{url}: {r:?}"
        );
    }
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        // LOOKOUT_GUARD_CASES runs more (a longer search); 5,000 by default.
        cases: std::env::var("LOOKOUT_GUARD_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(5000),
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    runner
        .run(&shapes(), |shape| {
            check(&shape).map_err(proptest::test_runner::TestCaseError::fail)
        })
        .unwrap();
    // Every spelling of every refused address, as a server and as a SOCKS proxy, exhaustively.
    for (dotted, _) in REFUSED {
        for h in forms(dotted) {
            for shape in [
                Shape::Server(format!("http://{h}/")),
                Shape::Proxy(format!("socks5h://{h}")),
                Shape::Proxy(format!("socks5://u:p@{h}")),
                Shape::Proxy(format!("http://{h}")),
            ] {
                check(&shape).unwrap();
            }
        }
    }
    // The sanity check that the listeners count: a direct connection is seen.
    rt.block_on(async {
        let _ = tokio::net::TcpStream::connect("10.0.0.1:80").await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    });
    assert!(
        hits.load(Ordering::SeqCst) >= 1,
        "the listeners count connections"
    );
    println!("guard held: no connection to a refused address");
}

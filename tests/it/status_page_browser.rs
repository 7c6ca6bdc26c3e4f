//! The status page (`GET /`) in a real browser: 200 targets in 12 groups (servers and proxy
//! pools, some down, some degraded, one in maintenance, one with a hostile name, one with a long
//! Arabic name) in DynamoDB Local, their states from one real probe run against loopback servers
//! and proxy.py, a 90-day uptime table and an open operator incident, served over real HTTP on
//! loopback and opened in Debian's headless Chromium at 1280 and 390 px, in English and Arabic.
//!
//! Saves `<workspace>/.local/screenshots/status-<lang>-<width>.png` (full height of the page,
//! measured in the browser, at most [`MAX_SHOT_HEIGHT`] px) and checks:
//! - each PNG is a PNG of the right width (its IHDR header);
//! - Chromium's `--dump-dom` of the page holds every target's name as text, the incident's
//!   title, `dir="rtl"` in Arabic, and no `<script>alert(1)` element;
//! - in the live DOM (measured by a wrapper page, below): no element with an `onmouseover`
//!   attribute, no script holding `alert(1)`, and nothing wider than the viewport, at 390 px
//!   (a phone) as at 1280.
//!
//! The measurement: the test's server (not the product's router) answers one extra path,
//! [`MEASURE_PATH`]`/<width>/<lang>`, a page that loads the status page in a same-origin
//! `<iframe>` exactly `<width>` px wide and, once it has loaded, writes what it measured into
//! its own DOM (base64 JSON); `chromium --dump-dom --virtual-time-budget=2000` prints it. Media
//! queries inside an iframe apply to the iframe's width, so this is the page at that width, as
//! `--window-size=<width>,…` shows it. The product page carries no test code.
//!
//! Without Chromium the test says so and passes, unless `CI` is set: in CI it must run
//! (`make test` installs Chromium through `infra/local/stack.sh install-test-tools`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use http_body_util::BodyExt as _;
use lookout_app::ports::{DigestStore, IncidentStore, TargetStore, TargetUptime};
use lookout_app::probe::{ProbeOptions, Prober};
use lookout_app::testing::{closed_port, Reply, TestServer};
use lookout_aws::dynamodb::DynamoStore;
use lookout_core::digest::rollup::{DayCell, Period, Uptime, BAR_DAYS, DAY_MS, UPTIME_WINDOWS};
use lookout_core::domain::incident::{
    AffectedTarget, Incident, IncidentKind, IncidentSource, IncidentStatus, IncidentUpdate,
};
use lookout_core::domain::{Status, Target, TargetKind};
use serde_json::json;

use crate::common;

/// The hostile target name: markup and an attribute break-out that must stay text.
pub const HOSTILE: &str = "<script>alert(1)</script>\" onmouseover=\"x";
/// A name that is already an entity: shown as the eight characters `R&amp;D`, not as `R&D`.
const ENTITY_NAME: &str = "R&amp;D portal";
/// A long Arabic name (under the 100-character limit of names).
const ARABIC_NAME: &str =
    "بوابة خدمات العملاء الإلكترونية الموحدة للمدفوعات والفواتير والاشتراكات الشهرية";
/// The open incident's title (with an `&` that must be escaped once).
const INCIDENT_TITLE: &str = "Payments & checkout errors in the EU";
/// The path of the measurement page the test's server adds in front of the API router.
const MEASURE_PATH: &str = "/__lookout_test/measure";
/// The tallest screenshot taken, px; a taller page is cut there (and the test says so).
const MAX_SHOT_HEIGHT: u32 = 16_000;
/// Targets, groups.
const TARGETS: usize = 200;
const SERVER_GROUPS: usize = 10;
const PROXIES: usize = 30;

/// What one target is made to be by the probe run.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fate {
    Up,
    Slow,
    Dead,
}

fn fate(i: usize) -> Fate {
    match i % 20 {
        3 | 11 => Fate::Dead,
        7 => Fate::Slow,
        _ => Fate::Up,
    }
}

/// The 200 definitions: 170 servers in 10 groups, 30 proxies in 2 pools.
fn definitions(up: &str, slow: &str, dead: &str, proxy: &str, dead_proxy: &str) -> Vec<Target> {
    let now = lookout_core::time::now_ms();
    (0..TARGETS)
        .map(|i| {
            let name = match i {
                5 => HOSTILE.to_string(),
                6 => ARABIC_NAME.to_string(),
                8 => ENTITY_NAME.to_string(),
                _ => format!("Service {i:03}"),
            };
            let f = fate(i);
            let common = json!({
                "id": format!("t{i:03}"), "name": name, "timeout_ms": 3000,
                "failure_threshold": 1,
                "degraded_latency_ms": if f == Fate::Slow { 5 } else { 30_000 },
            });
            let mut v = if i < TARGETS - PROXIES {
                let url = match f {
                    Fate::Up => up,
                    Fate::Slow => slow,
                    Fate::Dead => dead,
                };
                json!({"kind": "server", "group": format!("group-{:02}", i % SERVER_GROUPS),
                       "url": format!("{url}/health/{i}")})
            } else {
                let proxy_url = if f == Fate::Dead { dead_proxy } else { proxy };
                json!({"kind": "proxy", "group": format!("pool-{}", i % 2),
                       "proxy_url": proxy_url, "test_urls": [format!("{up}/ip")]})
            };
            for (k, val) in common.as_object().into_iter().flatten() {
                v[k] = val.clone();
            }
            if i == 12 {
                v["maintenance"] = json!([{
                    "start": lookout_core::time::rfc3339(now - 3_600_000),
                    "end": lookout_core::time::rfc3339(now + 3_600_000),
                    "reason": "Database upgrade <b>v2</b>",
                }]);
            }
            Target::from_json(v).unwrap_or_else(|e| panic!("target {i}: {e}"))
        })
        .collect()
}

/// 90 daily cells (some targets only 10 days: new ones) and the windows computed from them.
fn uptime_row(i: usize, t: &Target, now: i64) -> TargetUptime {
    let today = Period::Day.start_of(now);
    let first = if i.is_multiple_of(17) {
        BAR_DAYS - 10
    } else {
        0
    };
    let days: Vec<DayCell> = (first..BAR_DAYS)
        .map(|d| {
            let start = today - (BAR_DAYS - 1 - d) as i64 * DAY_MS;
            let checks = if start == today {
                ((now - today) / 60_000).max(1) as u64
            } else {
                1440
            };
            let failures = match (d * 7 + i * 13) % 23 {
                0 => checks / 10,
                1 => 3,
                _ if start == today && fate(i) == Fate::Dead => checks / 2,
                _ => 0,
            };
            DayCell {
                start,
                checks,
                failures,
            }
        })
        .collect();
    let windows = UPTIME_WINDOWS
        .iter()
        .map(|(name, len)| {
            let since = now - len;
            let cells = days.iter().filter(|c| c.start + DAY_MS > since);
            let (checks, failures) = cells.fold((0, 0), |(c, f), x| (c + x.checks, f + x.failures));
            Uptime {
                window: (*name).to_string(),
                since,
                checks,
                failures,
                uptime_percent: (checks > 0)
                    .then(|| 100.0 * (checks - failures) as f64 / checks as f64),
            }
        })
        .collect();
    TargetUptime {
        target_id: t.id.clone(),
        windows,
        days,
    }
}

/// An operator incident, identified, with two updates, naming three targets.
fn incident(targets: &[Target], now: i64) -> Incident {
    let named = [3usize, 5, 23];
    let update = |at: i64, status, body: &str| IncidentUpdate {
        at,
        status,
        body: body.to_string(),
        changes: Vec::new(),
        alert_key: None,
    };
    Incident {
        id: "inc-browser-0001".into(),
        kind: IncidentKind::Incident,
        source: IncidentSource::Operator,
        title: INCIDENT_TITLE.into(),
        status: IncidentStatus::Identified,
        targets: named
            .iter()
            .map(|&i| AffectedTarget {
                id: targets[i].id.clone(),
                name: targets[i].name.clone(),
                status: Status::Down,
            })
            .collect(),
        opened_at: now - 2 * 3_600_000,
        resolved_at: None,
        starts_at: None,
        ends_at: None,
        updates: vec![
            update(
                now - 2 * 3_600_000,
                IncidentStatus::Investigating,
                "Card payments fail for some customers; we are looking into it.",
            ),
            update(
                now - 3_600_000,
                IncidentStatus::Identified,
                "A certificate expired on the payment gateway <i>eu-1</i>; a new one is rolling out.",
            ),
        ],
        postmortem: None,
        version: 1,
    }
}

/// Seeds a fresh table and answers the API's `App` over it, with the targets.
async fn seeded_app() -> (
    Arc<api::App<DynamoStore>>,
    Vec<Target>,
    common::ForwardProxy,
) {
    let aws = common::aws().await;
    let (ddb, table) = common::fresh_table(&aws).await;
    let store = DynamoStore::new(ddb, table, 30);
    // Servers are kept by the test's runtime; proxy.py lives as long as its guard.
    let up = lookout_app::testing::serve(200, "ok").await;
    let slow = TestServer::start(|_| {
        Reply::Delay(Duration::from_millis(40), Box::new(Reply::text(200, "ok")))
    })
    .await;
    let dead = closed_port().await;
    let proxy = common::forward_proxy("demo:secret").await;
    let dead_proxy = closed_port().await.replace("http://", "");
    let targets = definitions(
        &up,
        &slow.url,
        &dead,
        &format!("http://demo:secret@{}", proxy.addr),
        &format!("http://demo:secret@{dead_proxy}"),
    );
    for chunk in targets.chunks(25) {
        futures::future::try_join_all(chunk.iter().map(|t| store.create_target(t)))
            .await
            .expect("create targets");
    }
    let prober = Prober::with_options(ProbeOptions::allow_private()).unwrap();
    let publisher = lookout_app::memory::MemoryPublisher::default();
    let report = probe::run(
        &store,
        &publisher,
        &prober,
        &probe::ProbeRequest::forced(&TargetKind::ALL),
        &probe::RunConfig::new(32),
    )
    .await
    .expect("one probe run");
    let checked: usize = report.runs.iter().map(|r| r.checked).sum();
    assert_eq!(checked, TARGETS, "the probe run checks every target");
    let now = lookout_core::time::now_ms();
    for kind in TargetKind::ALL {
        let table: Vec<TargetUptime> = targets
            .iter()
            .enumerate()
            .filter(|(_, t)| t.kind() == kind)
            .map(|(i, t)| uptime_row(i, t, now))
            .collect();
        store.put_uptime(kind, &table).await.expect("uptime table");
    }
    store
        .put_incident(&incident(&targets, now))
        .await
        .expect("incident");
    let app = Arc::new(api::App {
        locations: None,
        notify: api::NotifyDeps::local(),
        store,
        prober: Prober::new().unwrap(),
        secrets: lookout_app::secrets::Secrets::none(),
        admin_token: Some("admin".into()),
        read_token: None,
        public_status: true,
        health: None,
        defs: Default::default(),
        concurrency: 4,
        dumps: None,
    });
    (app, targets, proxy)
}

/// The measurement page: the status page at `?lang=<lang>` in an iframe `width` px wide; once
/// loaded, `<pre id="out">` holds base64 JSON: `client` (viewport width), `scroll` (the page's
/// scroll width), `height` (its scroll height), `over` (the outermost elements reaching past
/// either edge, at most 10), `dir`, `lang`, `onmouseover` (elements with that attribute),
/// `alert` (scripts holding `alert(1)`).
fn measure_page(width: u32, lang: &str) -> String {
    let src = if lang == "en" {
        "/".to_string()
    } else {
        format!("/?lang={lang}")
    };
    format!(
        r#"<!doctype html><html><body style="margin:0">
<iframe id="f" src="{src}" style="border:0;width:{width}px;height:900px"></iframe>
<pre id="out"></pre>
<script>
document.getElementById('f').addEventListener('load', function () {{
  var d = this.contentDocument, e = d.documentElement, w = e.clientWidth, over = [], seen = new Set();
  d.querySelectorAll('body *').forEach(function (n) {{
    var r = n.getBoundingClientRect();
    if (r.width > 0 && r.height > 0 && (r.right > w + 1 || r.left < -1)) {{
      seen.add(n);
      if (!seen.has(n.parentElement) && over.length < 10)
        over.push(n.tagName.toLowerCase() + '.' + (n.getAttribute('class') || '') + ' ' + Math.round(r.left) + '..' + Math.round(r.right));
    }}
  }});
  var alert1 = 0;
  d.querySelectorAll('script').forEach(function (s) {{ if (s.textContent.indexOf('alert(1)') >= 0) alert1++; }});
  var m = {{client: w, scroll: e.scrollWidth, height: Math.max(e.scrollHeight, d.body.scrollHeight),
    over: over, dir: e.getAttribute('dir'), lang: e.getAttribute('lang'),
    onmouseover: d.querySelectorAll('[onmouseover]').length, alert: alert1}};
  document.getElementById('out').textContent = btoa(unescape(encodeURIComponent(JSON.stringify(m))));
}});
</script></body></html>"#
    )
}

/// Serves the API router over HTTP/1.1 on loopback, with [`MEASURE_PATH`] in front of it.
async fn serve(app: Arc<api::App<DynamoStore>>) -> String {
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
                            if let Some(rest) = parts.uri.path().strip_prefix(MEASURE_PATH) {
                                let mut it = rest.trim_start_matches('/').split('/');
                                let width = it.next().and_then(|w| w.parse().ok()).unwrap_or(390);
                                let lang = it.next().unwrap_or("en");
                                let html = measure_page(width, lang);
                                let resp = hyper::Response::builder()
                                    .header("content-type", "text/html; charset=utf-8")
                                    .body(http_body_util::Full::new(hyper::body::Bytes::from(html)))
                                    .unwrap();
                                return Ok::<_, std::convert::Infallible>(resp);
                            }
                            let bytes = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let req = lambda_http::Request::from_parts(
                                parts,
                                lambda_http::Body::from(bytes.to_vec()),
                            );
                            let resp = Box::pin(api::handle(&app, req)).await;
                            let (parts, body) = resp.into_parts();
                            let full =
                                http_body_util::Full::new(hyper::body::Bytes::from(body.to_vec()));
                            Ok(hyper::Response::from_parts(parts, full))
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

/// Debian's Chromium, or one named `chromium`/`chromium-browser` on the `PATH`.
pub fn chromium() -> Option<PathBuf> {
    let debian = PathBuf::from("/usr/bin/chromium");
    if debian.is_file() {
        return Some(debian);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| [d.join("chromium"), d.join("chromium-browser")])
        .find(|p| p.is_file())
}

/// Runs headless Chromium with `args` after the common flags; its stdout. Panics with its
/// stderr when it fails, or when it takes more than two minutes (as it does when the page
/// opens an `alert()` dialog, which headless Chromium waits on).
async fn run_chromium(chromium: &Path, profile: &Path, args: &[String]) -> String {
    let mut cmd = tokio::process::Command::new(chromium);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        "--no-first-run",
        "--disable-extensions",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(args)
    .kill_on_drop(true)
    .stdin(std::process::Stdio::null());
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .unwrap_or_else(|_| {
            panic!(
                "chromium {args:?} took over 120 s: a page that opens a dialog (a hostile name \
                 run as a script's alert(1)) blocks headless Chromium"
            )
        })
        .unwrap_or_else(|e| panic!("start {}: {e}", chromium.display()));
    assert!(
        out.status.success(),
        "chromium {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What the measurement page wrote.
async fn measure(
    chromium: &Path,
    profile: &Path,
    base: &str,
    width: u32,
    lang: &str,
) -> serde_json::Value {
    let dom = run_chromium(
        chromium,
        profile,
        &[
            "--window-size=1400,1000".into(),
            "--virtual-time-budget=2000".into(),
            "--dump-dom".into(),
            format!("{base}{MEASURE_PATH}/{width}/{lang}"),
        ],
    )
    .await;
    let b64 = dom
        .split_once("<pre id=\"out\">")
        .and_then(|(_, rest)| rest.split_once("</pre>"))
        .map(|(b64, _)| b64.trim())
        .unwrap_or_default();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap_or_else(|e| {
            panic!("the measurement of {lang} at {width} px wrote nothing ({e}): {dom}")
        });
    serde_json::from_slice(&bytes).unwrap()
}

/// `text` as Chromium serialises a text node: `&`, `<`, `>` and no-break spaces escaped.
pub fn as_dom_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\u{a0}', "&nbsp;")
}

/// Width and height of a PNG from its IHDR chunk (the first, right after the signature).
pub fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.len() < 24 || &bytes[..8] != b"\x89PNG\r\n\x1a\n" || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    Some((be(&bytes[16..20]), be(&bytes[20..24])))
}

/// What is wrong with the dumped DOM of the page in `lang` (empty: nothing).
fn dom_problems(dom: &str, lang: &str, targets: &[Target]) -> Vec<String> {
    let mut problems = Vec::new();
    let missing: Vec<&str> = targets
        .iter()
        .map(|t| t.name.as_str())
        .filter(|name| !dom.contains(&as_dom_text(name)))
        .collect();
    if !missing.is_empty() {
        problems.push(format!(
            "{lang}: {} target names are not in the DOM as text: {:?}",
            missing.len(),
            &missing[..missing.len().min(10)]
        ));
    }
    if dom.contains("<script>alert(1)") {
        problems.push(format!(
            "{lang}: the hostile name became a <script> element"
        ));
    }
    if !dom.contains(&as_dom_text(INCIDENT_TITLE)) {
        problems.push(format!(
            "{lang}: the open incident's title {INCIDENT_TITLE:?} is not on the page"
        ));
    }
    let html_tag = dom
        .find("<html")
        .map(|i| &dom[i..i + dom[i..].find('>').unwrap_or(0)])
        .unwrap_or("");
    if lang == "ar" && !html_tag.contains("dir=\"rtl\"") {
        problems.push(format!("ar: <html> has no dir=\"rtl\": {html_tag}"));
    }
    if lang == "en" && html_tag.contains("dir=\"rtl\"") {
        problems.push(format!("en: <html> is right to left: {html_tag}"));
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_with_200_targets_and_an_incident_renders_in_chromium_at_1280_and_390_px_in_english_and_arabic(
) {
    let Some(chromium) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but Chromium is missing: infra/local/stack.sh install-test-tools installs it (apt-get install chromium)"
        );
        eprintln!("SKIPPED: Chromium is not installed (apt-get install chromium); CI is unset, so the status page browser test did not run");
        return;
    };
    let (app, targets, _proxy) = seeded_app().await;
    let base = serve(app).await;
    // `<workspace>/.local/screenshots` (`.local` is git-ignored).
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let shots = workspace.join(".local/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let profile = std::env::temp_dir().join(common::unique("lookout-chromium"));
    std::fs::create_dir_all(&profile).unwrap();

    let mut problems = Vec::new();
    for lang in ["en", "ar"] {
        let url = if lang == "en" {
            format!("{base}/")
        } else {
            format!("{base}/?lang={lang}")
        };
        let dom = run_chromium(
            &chromium,
            &profile,
            &[
                "--virtual-time-budget=2000".into(),
                "--dump-dom".into(),
                url.clone(),
            ],
        )
        .await;
        problems.extend(dom_problems(&dom, lang, &targets));
        for width in [1280u32, 390] {
            let m = measure(&chromium, &profile, &base, width, lang).await;
            let (client, scroll) = (
                m["client"].as_u64().unwrap_or(0),
                m["scroll"].as_u64().unwrap_or(0),
            );
            if scroll > client {
                problems.push(format!(
                    "{lang} at {width} px: the page is {scroll} px wide in a {client} px viewport; reaching past the edge: {}",
                    m["over"]
                ));
            }
            if m["onmouseover"] != 0 || m["alert"] != 0 {
                problems.push(format!(
                    "{lang} at {width} px: the hostile name became markup: {m}"
                ));
            }
            if lang == "ar" && m["dir"] != "rtl" {
                problems.push(format!(
                    "ar at {width} px: the live DOM's dir is {}",
                    m["dir"]
                ));
            }
            let full = m["height"].as_u64().unwrap_or(0) as u32;
            let height = full.clamp(600, MAX_SHOT_HEIGHT);
            if full > MAX_SHOT_HEIGHT {
                eprintln!("{lang} at {width} px: the page is {full} px tall; the screenshot keeps the first {MAX_SHOT_HEIGHT} px");
            }
            let file = shots.join(format!("status-{lang}-{width}.png"));
            let _ = std::fs::remove_file(&file);
            run_chromium(
                &chromium,
                &profile,
                &[
                    format!("--window-size={width},{height}"),
                    "--virtual-time-budget=2000".into(),
                    format!("--screenshot={}", file.display()),
                    url.clone(),
                ],
            )
            .await;
            let bytes = std::fs::read(&file)
                .unwrap_or_else(|e| panic!("screenshot {} not saved: {e}", file.display()));
            match png_size(&bytes) {
                Some((w, h)) if w == width => {
                    println!(
                        "saved {} ({w}×{h} px, {} bytes; page {full} px tall)",
                        file.display(),
                        bytes.len()
                    );
                }
                other => problems.push(format!(
                    "{}: not a PNG {width} px wide: {other:?}",
                    file.display()
                )),
            }
        }
    }
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        problems.is_empty(),
        "the page in Chromium:\n{}",
        problems.join("\n")
    );
}

#[test]
fn png_size_reads_the_ihdr_header_and_refuses_what_is_not_a_png() {
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    png.extend(390u32.to_be_bytes());
    png.extend(2400u32.to_be_bytes());
    assert_eq!(png_size(&png), Some((390, 2400)));
    assert_eq!(png_size(b"GIF89a not a png at all, no"), None);
    assert_eq!(png_size(&png[..20]), None);
}

#[test]
fn a_name_is_looked_for_as_chromium_serialises_text() {
    assert_eq!(
        as_dom_text(HOSTILE),
        "&lt;script&gt;alert(1)&lt;/script&gt;\" onmouseover=\"x"
    );
    assert_eq!(as_dom_text(ENTITY_NAME), "R&amp;amp;D portal");
}

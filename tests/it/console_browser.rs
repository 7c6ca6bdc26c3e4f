//! The admin console (`/console`) in a real browser: Selenium drives Debian's headless Chromium
//! through chromedriver (`tests/browser/console.py`) against the API served over real HTTP on
//! loopback, over a fresh DynamoDB Local table.
//!
//! The table ([`seed`]): two servers (one up: a loopback HTTP server; one down: a closed port),
//! a proxy pool of two real forward proxies on loopback with different costs (tinyproxy, 1 per
//! GB, and microsocks, 4 per GB), and a server whose name is markup
//! ([`seed::HOSTILE`]); their states from one real probe run, so the pool has an active proxy.
//! The API has an admin and a read token.
//!
//! The script signs in, creates a server (a refused form first) and a proxy through the forms,
//! checks now, marks the active proxy down and sees the pool fail over, deletes through the
//! confirmation page, is refused without (or with a wrong) CSRF token and with the read token,
//! finds the hostile name as text, and saves full-page screenshots of the list, a detail page,
//! the new-server form with its error and the pools page at 1280 and 390 px in English, and
//! the list in Arabic, under `<workspace>/.local/screenshots/console/<page>-<lang>-<width>.png`.
//! Every step prints one line; the test passes when the script exits 0 and every screenshot is
//! a PNG of its width (its IHDR header).
//!
//! Without Chromium, chromedriver or Selenium the test says so and passes, unless `CI` is set:
//! in CI it must run (`make test` installs them: `infra/local/stack.sh install-test-tools` and
//! `infra/local/requirements.txt`).

mod seed;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common;
use crate::status_page_browser::png_size;

/// The screenshots the script saves: `<page>-<lang>-<width>.png`.
pub const SHOTS: [&str; 10] = [
    "list-en-1280",
    "list-en-390",
    "detail-en-1280",
    "detail-en-390",
    "form-en-1280",
    "form-en-390",
    "pools-en-1280",
    "pools-en-390",
    "list-ar-1280",
    "list-ar-390",
];

/// How long the whole script may take, s (it waits at most 10 s for any one thing).
const SCRIPT_TIMEOUT_S: u64 = 300;

/// What the browser test needs and is missing (empty: all there): Chromium, chromedriver, the
/// venv's Python with Selenium.
fn missing_tools(python: &Path) -> Vec<String> {
    let mut missing = Vec::new();
    if crate::status_page_browser::chromium().is_none() {
        missing.push("chromium (apt-get install chromium)".to_string());
    }
    if !Path::new("/usr/bin/chromedriver").is_file() {
        missing.push("/usr/bin/chromedriver (apt-get install chromium-driver)".to_string());
    }
    let selenium = std::process::Command::new(python)
        .args(["-c", "import selenium"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !selenium {
        missing.push(format!(
            "selenium in {} (infra/local/requirements.txt: infra/local/stack.sh install)",
            python.display()
        ));
    }
    missing
}

/// What is wrong with the screenshots in `dir` (empty: nothing): each of [`SHOTS`] must be a
/// PNG exactly as wide as its name says.
fn shot_problems(dir: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for name in SHOTS {
        let file = dir.join(format!("{name}.png"));
        let width: u32 = name
            .rsplit('-')
            .next()
            .and_then(|w| w.parse().ok())
            .expect("a width ends each name");
        match std::fs::read(&file) {
            Ok(bytes) => match png_size(&bytes) {
                Some((w, h)) if w == width => println!(
                    "screenshot {} ({w}×{h} px, {} bytes)",
                    file.display(),
                    bytes.len()
                ),
                other => problems.push(format!(
                    "{}: not a PNG {width} px wide: {other:?}",
                    file.display()
                )),
            },
            Err(e) => problems.push(format!("{}: not saved: {e}", file.display())),
        }
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_chromium_signs_in_creates_checks_fails_over_deletes_and_refuses_forged_forms(
) {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let python = workspace.join(".local/venv/bin/python");
    let missing = missing_tools(&python);
    if !missing.is_empty() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but the console's browser test cannot run; missing: {}",
            missing.join(", ")
        );
        eprintln!(
            "SKIPPED: the console browser test needs {}; CI is unset, so it did not run",
            missing.join(", ")
        );
        return;
    }
    let started = Instant::now();
    let seeded = seed::seeded().await;
    let base = common::serve_api(seeded.app.clone()).await;

    let shots = workspace.join(".local/screenshots/console");
    std::fs::create_dir_all(&shots).unwrap();
    for name in SHOTS {
        let _ = std::fs::remove_file(shots.join(format!("{name}.png")));
    }
    let profile: PathBuf = workspace
        .join(".local/run")
        .join(common::unique("console-chromium"));
    std::fs::create_dir_all(&profile).unwrap();

    let script = workspace.join("tests/browser/console.py");
    let mut cmd = tokio::process::Command::new(&python);
    cmd.arg(&script)
        .env("LOOKOUT_CONSOLE_URL", &base)
        .env("LOOKOUT_CONSOLE_ADMIN_TOKEN", &seeded.admin_token)
        .env("LOOKOUT_CONSOLE_READ_TOKEN", &seeded.read_token)
        .env("LOOKOUT_CONSOLE_FIXTURE", seeded.fixture.to_string())
        .env("LOOKOUT_CONSOLE_SHOTS", &shots)
        .env("LOOKOUT_CONSOLE_PROFILE", &profile)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(SCRIPT_TIMEOUT_S), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{} took over {SCRIPT_TIMEOUT_S} s", script.display()))
        .unwrap_or_else(|e| panic!("start {} {}: {e}", python.display(), script.display()));
    let _ = std::fs::remove_dir_all(&profile);
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));

    let mut problems = Vec::new();
    if !out.status.success() {
        problems.push(format!(
            "{} failed ({}): see its steps above",
            script.display(),
            out.status
        ));
    }
    problems.extend(shot_problems(&shots));
    println!(
        "console browser test: {:.1} s (seeding, probe run and the script)",
        started.elapsed().as_secs_f64()
    );
    drop(seeded.proxies);
    assert!(
        problems.is_empty(),
        "the console in Chromium:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_screenshot_name_ends_with_its_width_and_each_page_has_both_widths() {
    for name in SHOTS {
        let (page, width) = name.rsplit_once('-').unwrap();
        assert!(["1280", "390"].contains(&width), "{name}");
        let other = if width == "1280" { "390" } else { "1280" };
        assert!(
            SHOTS.contains(&format!("{page}-{other}").as_str()),
            "{name}"
        );
    }
}

#[test]
fn a_missing_or_narrow_screenshot_is_a_problem() {
    let dir = std::env::temp_dir().join(common::unique("console-shots"));
    std::fs::create_dir_all(&dir).unwrap();
    let png = |w: u32| {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        b.extend(w.to_be_bytes());
        b.extend(700u32.to_be_bytes());
        b
    };
    for name in SHOTS {
        let w: u32 = name.rsplit('-').next().unwrap().parse().unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png(w)).unwrap();
    }
    assert!(shot_problems(&dir).is_empty());
    std::fs::write(dir.join("pools-en-390.png"), png(1280)).unwrap();
    std::fs::remove_file(dir.join("list-ar-1280.png")).unwrap();
    let problems = shot_problems(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].contains("pools-en-390.png: not a PNG 390 px wide"),
        "{problems:?}"
    );
    assert!(
        problems[1].contains("list-ar-1280.png: not saved"),
        "{problems:?}"
    );
}

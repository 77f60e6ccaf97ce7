//! The HTML report in a real browser: a run against the mock with a defect
//! the `routes` property catches writes `--html` and `--json`; Debian's
//! headless Chromium renders the page, and the test reads the DOM Chromium
//! built — matrix cells, summary counts, the marked mismatches, a failure's
//! exchange, nothing loaded from elsewhere — and saves a screenshot.
//!
//! The page, the JSON report and the screenshot are kept in
//! `target/html-report/` for a person to look at.
//!
//! Needs node, PostgreSQL (`DATABASE_URL`, default the local server) and
//! `/usr/bin/chromium` (`.ci/run` installs it). Under `CI` a missing
//! Chromium fails the test; elsewhere it says so loudly and stops.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use conformance::wait::{poll_until_blocking, Interval, Probe};
use e2e_tests::{admin_database_url, run_conformance};
use serde_json::Value;

const CHROMIUM: &str = "/usr/bin/chromium";
/// A headless render of a 200 KB file takes about a second; a browser that
/// needs a minute is hanging.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(60);
/// Caught by the `routes` property (agents of company B reach company A's
/// routes), so the matrix has marked cells and several checks fail.
const DEFECT: &str = "skip-company-access";

/// `target/html-report/`, made if missing.
fn out_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/html-report");
    std::fs::create_dir_all(&dir).expect("target/html-report");
    dir.canonicalize().unwrap_or(dir)
}

/// The browser, or `None` (after saying so) when it is missing outside CI.
fn chromium() -> Option<PathBuf> {
    let path = PathBuf::from(CHROMIUM);
    if path.exists() {
        return Some(path);
    }
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
    assert!(
        !ci,
        "{CHROMIUM} is missing: install it (`apt-get install -y chromium`; .ci/run does)"
    );
    eprintln!(
        "\n*** SKIPPED: {CHROMIUM} is missing, so the HTML report was not rendered. Install it with `apt-get install -y chromium`. ***\n"
    );
    None
}

/// Runs headless Chromium with `args` on `page`; returns its stdout. Its
/// own process group, so a hung browser is stopped with every process it
/// started and nothing else.
fn browse(browser: &Path, page: &Path, args: &[&str], name: &str) -> String {
    let dir = out_dir();
    let profile = tempfile::tempdir().expect("a profile directory");
    let stdout_path = dir.join(format!("{name}.stdout"));
    let stderr_path = dir.join(format!("{name}.stderr"));
    let started = Instant::now();
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(File::create(&stdout_path).expect("browser stdout file"))
        .stderr(File::create(&stderr_path).expect("browser stderr file"))
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", browser.display()));
    let finished = poll_until_blocking(
        BROWSER_TIMEOUT,
        Interval::growing(Duration::from_millis(50), Duration::from_millis(500)),
        || match child.try_wait() {
            Ok(Some(status)) => Probe::Done(status),
            Ok(None) => Probe::NotYet("running"),
            Err(e) => panic!("waiting for the browser: {e}"),
        },
    );
    let status = match finished {
        Ok(status) => status,
        Err(timeout) => {
            let group = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
            let _ = child.wait();
            panic!(
                "chromium ({name}) hung: {timeout}; killed its process group. stderr: {}",
                stderr_path.display()
            );
        }
    };
    eprintln!("chromium {name}: {:.1} s", started.elapsed().as_secs_f64());
    assert!(
        status.success(),
        "chromium ({name}) exited with {status}; stderr:\n{}",
        std::fs::read_to_string(&stderr_path).unwrap_or_default()
    );
    std::fs::read_to_string(&stdout_path).expect("browser stdout")
}

/// The value of `attr` in every element that has `marker` in its start tag.
fn attrs<'a>(dom: &'a str, marker: &str, attr: &str) -> Vec<&'a str> {
    let needle = format!(" {attr}=\"");
    dom.match_indices(marker)
        .filter_map(|(at, _)| {
            // The start tag around the marker.
            let open = dom[..at + 1].rfind('<')?;
            let close = at + dom[at..].find('>')?;
            let tag = &dom[open..close];
            let start = tag.find(&needle)? + needle.len();
            let len = tag[start..].find('"')?;
            Some(&tag[start..start + len])
        })
        .collect()
}

/// The text of the page between the start tag carrying `marker` and the
/// next `end`.
fn element<'a>(dom: &'a str, marker: &str, end: &str) -> &'a str {
    let at = dom
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in the DOM"));
    let len = dom[at..].find(end).expect("the element's end");
    &dom[at..at + len]
}

/// What Chromium writes for a text node: the page's escaping of `<`, `>`
/// and `&` (quotes stay as they are in text).
fn as_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[test]
fn the_html_report_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        return;
    };
    let dir = out_dir();
    let html = dir.join("report.html");
    let json = dir.join("report.json");
    let _ = std::fs::remove_file(&html);
    let admin = admin_database_url();
    let started = Instant::now();
    let output = run_conformance(&[
        "run",
        "--host",
        &format!("mock:defect={DEFECT}"),
        "--database-url",
        &admin,
        "--seed",
        "0x2",
        "--cases",
        "24",
        "-q",
        "--json",
        json.to_str().expect("a UTF-8 path"),
        "--html",
        html.to_str().expect("a UTF-8 path"),
    ]);
    eprintln!("conformance run: {:.1} s", started.elapsed().as_secs_f64());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "the run against the defect must fail its checks (exit 1).\nstderr:\n{stderr}"
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("the JSON report"))
            .expect("the JSON report parses");
    let page = std::fs::read_to_string(&html).expect("the HTML report was written");

    // Self-contained: nothing is fetched, from anywhere.
    for needle in [" src=", "<link", "<script", "@import", "url("] {
        assert!(!page.contains(needle), "the page contains {needle:?}");
    }
    for href in attrs(&page, "<a ", "href") {
        assert!(href.starts_with('#'), "a link leaves the page: {href}");
    }

    let dom = browse(&browser, &html, &["--dump-dom"], "dump-dom");
    std::fs::write(dir.join("report.dom.html"), &dom).expect("saving the DOM");
    assert!(
        dom.contains("<main>"),
        "Chromium rendered no page:\n{dom:.500}"
    );

    // The summary counts are the JSON report's.
    for key in ["passed", "failed", "warnings", "skipped", "baselined"] {
        let tile = element(&dom, &format!("data-count=\"{key}\""), "</div></div>");
        let shown = tile
            .split("<div class=\"v\">")
            .nth(1)
            .and_then(|v| v.split("</div>").next())
            .expect("the count's value");
        assert_eq!(
            shown,
            report["summary"][key].to_string(),
            "summary count {key}"
        );
    }

    // The matrix: a cell for every declaration and caller, the mismatches
    // where the JSON report has them.
    let routes = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["id"] == "routes")
        .expect("the routes check ran");
    assert_eq!(routes["status"], "failed", "{DEFECT} is caught by routes");
    let matrix = &routes["details"]["matrix"];
    let rows = matrix["rows"].as_array().expect("rows").len();
    let columns = matrix["columns"].as_array().expect("columns").len();
    assert_eq!((rows, columns), (64, 9));
    let cells = attrs(&dom, "<td class=\"m ", "data-mismatch");
    assert_eq!(cells.len(), rows * columns, "matrix cells");
    let mut mismatched: Vec<(u64, u64)> = matrix["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .filter(|c| c["expected"] != c["actual"])
        .map(|c| {
            (
                c["row"].as_u64().expect("row"),
                c["column"].as_u64().expect("column"),
            )
        })
        .collect();
    mismatched.dedup();
    assert!(!mismatched.is_empty(), "the defect shows in the matrix");
    let marked = cells.iter().filter(|m| **m == "true").count();
    assert_eq!(marked, mismatched.len(), "marked cells");
    // Agent B reaching company A's routes is the defect: its column has a
    // marked cell that expected 403 and shows what the host answered.
    let marked_cells: Vec<&str> = dom
        .match_indices(" mismatch\"")
        .filter_map(|(at, _)| {
            let open = dom[..at].rfind("<td ")?;
            Some(&dom[open..at + dom[at..].find("</td>")?])
        })
        .collect();
    assert_eq!(marked_cells.len(), marked);
    assert!(
        marked_cells
            .iter()
            .any(|td| td.contains("data-col=\"agent B\"")
                && td.contains("data-expected=\"403\"")
                && td.contains("✕ expected 403, got 200")),
        "no marked cell of agent B that expected 403 and got 200: {marked_cells:#?}"
    );

    // Every failed check is listed open, with its exchange.
    let failed: Vec<&Value> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["status"] == "failed")
        .collect();
    assert_eq!(
        failed.len() as u64,
        report["summary"]["failed"].as_u64().unwrap()
    );
    for check in &failed {
        let id = check["id"].as_str().expect("id");
        let item = element(&dom, &format!("data-id=\"{id}\""), "</details>");
        assert!(
            item.contains("data-status=\"failed\" open=\"\""),
            "{id} is not open"
        );
        let Some(exchange) = check["failure"].get("exchange") else {
            continue;
        };
        let url = exchange["request"]["url"].as_str().expect("url");
        let answer = match exchange["response"].get("status") {
            Some(status) => format!("→ {status} ("),
            None => "→ transport error".to_string(),
        };
        assert!(
            item.contains(&as_text(url)) && item.contains(&answer),
            "{id}: the failure's exchange ({url} {answer}) is not on the page"
        );
        let replay = as_text(check["repro"].as_str().expect("repro"));
        assert!(item.contains(&replay), "{id}: no replay command");
    }

    let screenshot = dir.join("report.png");
    let _ = std::fs::remove_file(&screenshot);
    browse(
        &browser,
        &html,
        &[
            &format!("--screenshot={}", screenshot.display()),
            "--window-size=1400,2000",
        ],
        "screenshot",
    );
    let png = std::fs::read(&screenshot).expect("the screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 50_000,
        "the screenshot is no picture of the page ({} bytes)",
        png.len()
    );
    eprintln!("screenshot: {}", screenshot.display());
}

#[test]
fn an_html_path_in_a_missing_directory_is_refused_before_the_run() {
    let output = run_conformance(&["run", "--html", "/nonexistent-conformance-dir/report.html"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one sentence: {stderr}");
    assert!(stderr.contains("does not exist"), "{stderr}");
}

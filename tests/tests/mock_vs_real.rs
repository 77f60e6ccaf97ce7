//! The mock host against the oracle: the same checks, with the same seed and
//! case count, must end with the same statuses, response bodies and rows on
//! the mock host as on the real host 2026.707.0 (after normalising ids,
//! identifiers and timestamps). Any difference fails the test.
//!
//! Every run's report and stderr are written to `target/` before anything is
//! asserted, so a failed comparison can be inspected (and re-compared with
//! `saved_reports_agree`).

use std::path::{Path, PathBuf};

use e2e_tests::compare::compare_reports;
use e2e_tests::{admin_database_url, checks_with_status, run_conformance};

/// Where the reports are kept: the workspace's `target/`.
fn out_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target")
}

fn report_path(mode: &str, name: &str) -> PathBuf {
    out_dir().join(format!("mock-vs-real-{mode}-{name}.json"))
}

/// One finished run: its report (if stdout was one) and where it was saved.
struct Saved {
    report: Result<serde_json::Value, String>,
    json: PathBuf,
    stderr: PathBuf,
}

fn run(host: &str, mode: &str, admin: &str, name: &str) -> Saved {
    let output = run_conformance(&[
        "run",
        "--host",
        host,
        "--mode",
        mode,
        "--format",
        "json",
        "--database-url",
        admin,
        "--seed",
        "0xc0ffee",
        "--cases",
        "12",
    ]);
    // Saved as printed, before it is even parsed.
    let json = report_path(mode, name);
    let stderr = out_dir().join(format!("mock-vs-real-{mode}-{name}.stderr"));
    let _ = std::fs::create_dir_all(out_dir());
    std::fs::write(&json, &output.stdout)
        .unwrap_or_else(|e| panic!("writing {}: {e}", json.display()));
    std::fs::write(&stderr, &output.stderr)
        .unwrap_or_else(|e| panic!("writing {}: {e}", stderr.display()));
    let report = serde_json::from_slice(&output.stdout).map_err(|e| e.to_string());
    Saved {
        report,
        json,
        stderr,
    }
}

/// The report of a run whose checks all held, or a panic naming its files.
fn passing_report<'a>(host: &str, mode: &str, saved: &'a Saved) -> &'a serde_json::Value {
    let files = format!(
        "report {}, stderr {}",
        saved.json.display(),
        saved.stderr.display()
    );
    let report = match &saved.report {
        Ok(report) => report,
        Err(e) => panic!("{host} ({mode}) printed no JSON report ({e}); see {files}"),
    };
    let failed = checks_with_status(report, "failed");
    assert!(
        failed.is_empty(),
        "{host} ({mode}) failed {failed:?}; see {files}"
    );
    report
}

/// One host pair at a time: both runs share the machine's two cores.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn compare(mode: &str) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let admin = admin_database_url();
    let real_host = "paperclip@2026.707.0";
    let real = run(real_host, mode, &admin, "real");
    let mock = run("mock", mode, &admin, "mock");
    let real_report = passing_report(real_host, mode, &real);
    let mock_report = passing_report("mock", mode, &mock);
    let diffs = compare_reports("real", real_report, "mock", mock_report);
    assert!(
        diffs.is_empty(),
        "the mock host differs from the real host ({mode}; reports {} and {}):\n{}",
        real.json.display(),
        mock.json.display(),
        diffs.join("\n")
    );
}

#[test]
fn mock_matches_the_real_host_in_local_trusted_mode() {
    compare("local_trusted");
}

#[test]
fn mock_matches_the_real_host_in_authenticated_mode() {
    compare("authenticated");
}

/// Re-compares the reports the last run saved in target/, without starting
/// any host: `cargo test -p e2e-tests --test mock_vs_real -- --ignored saved`.
/// With no saved pair at all it fails: a comparison of nothing is no pass.
#[test]
#[ignore]
fn saved_reports_agree() {
    let read = |mode: &str, name: &str| -> Option<Result<serde_json::Value, String>> {
        let path = report_path(mode, name);
        let text = std::fs::read_to_string(&path).ok()?;
        Some(
            serde_json::from_str(&text)
                .map_err(|e| format!("{} is not a JSON report: {e}", path.display())),
        )
    };
    let mut compared = 0;
    for mode in ["local_trusted", "authenticated"] {
        match (read(mode, "real"), read(mode, "mock")) {
            (None, None) => continue,
            (Some(Ok(real)), Some(Ok(mock))) => {
                let diffs = compare_reports("real", &real, "mock", &mock);
                assert!(
                    diffs.is_empty(),
                    "{mode} ({} vs {}):\n{}",
                    report_path(mode, "real").display(),
                    report_path(mode, "mock").display(),
                    diffs.join("\n")
                );
                compared += 1;
            }
            (Some(Err(e)), _) | (_, Some(Err(e))) => panic!("{e}"),
            (real, _) => panic!(
                "only the {} report of {mode} is saved ({}); run the mock_vs_real tests again",
                if real.is_some() { "real" } else { "mock" },
                out_dir().display()
            ),
        }
    }
    assert!(
        compared > 0,
        "no saved reports in {} (mock-vs-real-<mode>-{{real,mock}}.json); run `cargo test -p e2e-tests --test mock_vs_real` first",
        out_dir().display()
    );
}

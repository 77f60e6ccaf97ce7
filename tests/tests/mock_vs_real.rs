//! The mock host against the oracle: the same checks, with the same seed and
//! case count, must end with the same statuses, response bodies and rows on
//! the mock host as on the real host 2026.707.0 (after normalising ids,
//! identifiers and timestamps). Any difference fails the test.

use e2e_tests::compare::compare_reports;
use e2e_tests::{admin_database_url, checks_with_status, json_report, run_conformance};

fn run(host: &str, mode: &str, admin: &str) -> serde_json::Value {
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
    let report = json_report(&output);
    let failed = checks_with_status(&report, "failed");
    assert!(
        failed.is_empty(),
        "{host} ({mode}) failed {failed:?}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    report
}

/// One host pair at a time: both runs share the machine's two cores.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn compare(mode: &str) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let admin = admin_database_url();
    let real = run("paperclip@2026.707.0", mode, &admin);
    let mock = run("mock", mode, &admin);
    // Kept for inspection: target/mock-vs-real-<mode>-{real,mock}.json.
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target");
    for (name, report) in [("real", &real), ("mock", &mock)] {
        let _ = std::fs::write(
            out.join(format!("mock-vs-real-{mode}-{name}.json")),
            serde_json::to_string_pretty(report).unwrap_or_default(),
        );
    }
    let diffs = compare_reports("real", &real, "mock", &mock);
    assert!(
        diffs.is_empty(),
        "the mock host differs from the real host ({mode}):\n{}",
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
#[test]
#[ignore]
fn saved_reports_agree() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target");
    for mode in ["local_trusted", "authenticated"] {
        let read = |name: &str| -> Option<serde_json::Value> {
            let text =
                std::fs::read_to_string(dir.join(format!("mock-vs-real-{mode}-{name}.json")))
                    .ok()?;
            serde_json::from_str(&text).ok()
        };
        if let (Some(real), Some(mock)) = (read("real"), read("mock")) {
            let diffs = compare_reports("real", &real, "mock", &mock);
            assert!(diffs.is_empty(), "{mode}:\n{}", diffs.join("\n"));
        }
    }
}

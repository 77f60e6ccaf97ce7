//! The suite against the real Paperclip server from npm.
//!
//! This is the oracle run: every check must hold against the real host (or be
//! a documented finding about that version). It installs paperclipai from npm
//! into the shared cache on first use (~40 s) and needs node, npm and a
//! PostgreSQL (DATABASE_URL or local binaries).

use e2e_tests::{
    admin_database_url, checks_with_status, json_report, processes_of_runs, run_conformance,
    run_databases,
};

fn run_against(version: &str) {
    let admin = admin_database_url();
    let dbs_before = run_databases(&admin);
    let junit = std::env::temp_dir().join(format!(
        "conformance-e2e-{version}-{}.xml",
        std::process::id()
    ));
    let host = format!("paperclip@{version}");
    let output = run_conformance(&[
        "run",
        "--host",
        &host,
        "--format",
        "json",
        "--junit",
        junit.to_str().unwrap(),
        "--database-url",
        &admin,
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = json_report(&output);
    let failed = checks_with_status(&report, "failed");
    assert!(
        failed.is_empty(),
        "checks failed against {host}: {failed:?}\n{}\nstderr:\n{stderr}",
        serde_json::to_string_pretty(&report["checks"]).unwrap()
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "exit code; stderr:\n{stderr}"
    );
    assert_eq!(report["host"]["kind"], "paperclip");
    assert_eq!(report["host"]["version"], version);
    assert!(
        report["summary"]["passed"].as_u64().unwrap() >= 10,
        "{}",
        report["summary"]
    );

    let xml = std::fs::read_to_string(&junit).expect("JUnit report written");
    assert!(xml.contains("<testsuite"), "{xml}");
    let _ = std::fs::remove_file(&junit);

    let left = processes_of_runs();
    assert!(left.is_empty(), "processes left behind: {left:?}");
    assert_eq!(
        run_databases(&admin),
        dbs_before,
        "the run's database was not dropped"
    );
}

#[test]
fn real_host_2026_707_0_passes_every_check() {
    run_against("2026.707.0");
}

/// Newer hosts need node 24 (fetched from npm) and take longer to install;
/// run with `cargo test -p e2e-tests -- --ignored`.
#[test]
#[ignore]
fn real_host_2026_916_1_passes_every_check() {
    run_against("2026.916.1");
}

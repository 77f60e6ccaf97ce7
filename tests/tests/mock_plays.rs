//! The mock host playing later releases' host services (`mock:plays=V`).
//!
//! Playing a release, the mock reports its version, so the run takes that
//! release's profile and holds the mock to it. Three releases whose host
//! services answer differently (docs/findings.md F11, F28, F29, F31):
//!
//! - 2026.722.0: host calls outside any invocation are refused (`scoping`,
//!   which checks it, also saves a per-company plugin config, a route the
//!   mock does not serve: not run here), the rest as 2026.707.0, so
//!   `host-methods` holds too;
//! - 2026.817.0: manifests may declare its new capabilities, and
//!   `companies.get {}` fails with its query's extra column;
//! - 2026.824.0: `companies.get {}` answers `null`;
//! - 2026.916.1: the document conflict explains itself and a plugin's issue
//!   title is trimmed (`host-services`).
//!
//! Each run holds the mock to a model that differs from the others', so a
//! switch that stayed off (or came on too early) fails one of them.
//!
//! Needs node and PostgreSQL (`DATABASE_URL`, default the local server).

use e2e_tests::{admin_database_url, checks_with_status, run_conformance};
use serde_json::Value;

fn run(plays: &str, only: &[&str]) -> Value {
    let host = format!("mock:plays={plays}");
    let admin = admin_database_url();
    let mut args = vec![
        "run",
        "--host",
        host.as_str(),
        "--database-url",
        admin.as_str(),
        "--format",
        "json",
        "--seed",
        "0x916",
        "--cases",
        "12",
        "-q",
    ];
    for id in only {
        args.extend(["--only", id]);
    }
    let out = run_conformance(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{host}: stdout is not a report ({e}); exit {:?}\nstderr:\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let failed = checks_with_status(&report, "failed");
    assert!(
        failed.is_empty() && out.status.code() == Some(0),
        "{host} failed {failed:?} (exit {:?}):\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(report["host"]["version"], plays, "{}", report["host"]);
    let ran: Vec<&str> = report["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["status"] == "passed")
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(
        ran.len(),
        only.len(),
        "{host}: passed {ran:?}, wanted {only:?}"
    );
    report
}

#[test]
fn the_mock_plays_each_release_s_host_services_to_its_profile() {
    let r = run("2026.722.0", &["host-methods", "host-services"]);
    assert_eq!(r["run"]["profile"], "2026.722");
    for (plays, profile) in [
        ("2026.817.0", "2026.817"),
        ("2026.824.0", "2026.824"),
        ("2026.916.1", "2026.916"),
    ] {
        let r = run(plays, &["host-services"]);
        assert_eq!(r["run"]["profile"], profile);
    }
}

#[test]
fn a_release_the_mock_cannot_play_is_a_usage_error() {
    let out = run_conformance(&["run", "--host", "mock:plays=2025.101.0", "-q"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("2025.101.0"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

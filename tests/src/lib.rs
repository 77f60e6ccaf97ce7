//! Helpers shared by the end-to-end tests in `tests/tests/`.
//!
//! The tests drive the real `conformance` binary, exactly as a user or a CI
//! job would, and then look at the machine: which processes are left, which
//! databases exist. A run marks everything it starts with its run directory
//! (`HOME=/tmp/conformance-run-…/…` in the environment of the host, its
//! plugin workers and its agent adapters), which is what
//! [`processes_of_runs`] looks for.

pub mod compare;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Path of the `conformance` binary, built on demand with the same profile
/// as the test binary.
pub fn conformance_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/<test> → target/<profile>/conformance
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let bin = profile_dir.join("conformance");
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build.args(["build", "-q", "-p", "conformance", "--bin", "conformance"]);
    if release {
        build.arg("--release");
    }
    // Always build: cargo is a no-op when the binary is current, and a stale
    // binary would test old code.
    let status = build.status().expect("running cargo build");
    assert!(status.success(), "cargo build -p conformance failed");
    assert!(bin.exists(), "{} missing after build", bin.display());
    bin
}

/// Path of the `mock-host` binary, built on demand with the same profile as
/// the test binary (like [`conformance_bin`]).
pub fn mock_host_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let bin = profile_dir.join("mock-host");
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build.args(["build", "-q", "-p", "mock-host", "--bin", "mock-host"]);
    if release {
        build.arg("--release");
    }
    let status = build.status().expect("running cargo build");
    assert!(status.success(), "cargo build -p mock-host failed");
    assert!(bin.exists(), "{} missing after build", bin.display());
    bin
}

/// The mock host's defects as `mock-host --list-defects` prints them:
/// (name, description), in its order.
pub fn mock_defects() -> Vec<(String, String)> {
    let out = Command::new(mock_host_bin())
        .arg("--list-defects")
        .output()
        .expect("running mock-host --list-defects");
    assert!(
        out.status.success(),
        "mock-host --list-defects failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| match l.split_once('\t') {
            Some((name, description)) => (name.to_string(), description.to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect()
}

/// Runs `conformance` with `args` and returns its output.
pub fn run_conformance(args: &[&str]) -> Output {
    Command::new(conformance_bin())
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("running conformance")
}

/// PIDs whose environment or command line mentions a conformance run
/// directory.
pub fn processes_of_runs() -> Vec<(u32, String)> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        // Hosts and agent adapters carry HOME=<run dir>/… in their
        // environment; plugin workers run <run dir>/plugins/…/worker.js.
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if String::from_utf8_lossy(&environ).contains("/conformance-run-")
            || cmdline.contains("/conformance-run-")
        {
            found.push((pid, cmdline));
        }
    }
    found
}

/// An admin URL for the machine's PostgreSQL, if one answers: `DATABASE_URL`,
/// else the local server on 127.0.0.1:5432.
pub fn admin_database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Names of databases on the admin server that runs create (`conformance_*`).
pub fn run_databases(admin_url: &str) -> Vec<String> {
    let out = Command::new("psql")
        .args([
            admin_url,
            "-XAtc",
            "select datname from pg_database where datname like 'conformance%' order by 1",
        ])
        .output();
    match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(str::to_string)
            .filter(|l| !l.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

/// Parses the JSON report printed with `--format json`.
pub fn json_report(output: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not a JSON report ({e}).\nstdout:\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// Ids of checks with the given status in a JSON report.
pub fn checks_with_status(report: &serde_json::Value, status: &str) -> Vec<String> {
    report["checks"]
        .as_array()
        .map(|checks| {
            checks
                .iter()
                .filter(|c| c["status"] == status)
                .filter_map(|c| c["id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Processes of runs that appeared since `before` was taken.
pub fn new_processes_of_runs(before: &[(u32, String)]) -> Vec<(u32, String)> {
    processes_of_runs()
        .into_iter()
        .filter(|(pid, _)| !before.iter().any(|(p, _)| p == pid))
        .collect()
}

/// Temp directories real hosts create for agent runs (`paperclip-run-*`);
/// a run must keep them inside its own run directory.
pub fn host_temp_dirs() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(std::env::temp_dir())
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| n.starts_with("paperclip-run-") || n.starts_with("conformance-run-"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

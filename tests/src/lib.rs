//! Helpers shared by the end-to-end tests in `tests/tests/`.
//!
//! The tests drive the real `conformance` binary, exactly as a user or a CI
//! job would, and then look at the machine: which processes are left, which
//! databases exist. A run marks everything it starts with its run directory
//! (`HOME=/tmp/conformance-run-…/…` in the environment of the host, its
//! plugin workers and its agent adapters), which is what
//! [`processes_of_runs`] looks for.

pub mod answers;
pub mod compare;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Path of the `conformance` binary of the workspace, built with the same
/// profile as the test binary.
///
/// Why not `env!("CARGO_BIN_EXE_conformance")`: cargo sets `CARGO_BIN_EXE_*`
/// only for binaries of the package whose integration tests are compiled,
/// and the binary lives in the `conformance` package while these tests live
/// in `e2e-tests` (cargo's artifact dependencies, which would lift that,
/// are unstable). Building it from inside the test (a nested `cargo build`)
/// hid build errors in test output, guessed the profile and features, and
/// fought the outer cargo for the two cores. So the binary is found next to
/// the test binary (`target/<profile>/`), where `cargo test --workspace`
/// (what CI runs) has just built it, and a missing or stale one fails with
/// the command that builds it.
pub fn conformance_bin() -> PathBuf {
    workspace_bin(
        "conformance",
        &[
            "suite/src",
            "suite/Cargo.toml",
            "mock-host/src",
            "mock-host/Cargo.toml",
        ],
    )
}

/// Path of the `mock-host` binary (see [`conformance_bin`] for why it is
/// located rather than built here).
pub fn mock_host_bin() -> PathBuf {
    workspace_bin("mock-host", &["mock-host/src", "mock-host/Cargo.toml"])
}

/// `target/<profile>/<name>`, checked to be newer than every file under
/// `sources` (paths relative to the workspace root).
fn workspace_bin(name: &str, sources: &[&str]) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let bin = profile_dir.join(name);
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    let build = format!(
        "cargo build -p {name} --bin {name}{}",
        if release { " --release" } else { "" }
    );
    let built = std::fs::metadata(&bin)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| {
            panic!(
                "{} does not exist; build it first with `{build}` (cargo test --workspace does)",
                bin.display()
            )
        });
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let newer: Vec<PathBuf> = sources
        .iter()
        .flat_map(|s| files_newer_than(&root.join(s), built))
        .collect();
    assert!(
        newer.is_empty(),
        "{} is older than its sources ({}); rebuild it with `{build}` (cargo test --workspace does)",
        bin.display(),
        newer
            .iter()
            .take(3)
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    bin
}

/// Files at or below `path` modified after `time`.
fn files_newer_than(path: &Path, time: std::time::SystemTime) -> Vec<PathBuf> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Vec::new();
    };
    if meta.is_file() {
        // Notes beside the code (README.md) are not compiled in: editing
        // one leaves cargo's build fresh, so it must not count as stale.
        if path.extension().is_some_and(|e| e == "md") {
            return Vec::new();
        }
        return match meta.modified() {
            Ok(m) if m > time => vec![path.to_path_buf()],
            _ => Vec::new(),
        };
    }
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .flat_map(|e| files_newer_than(&e.path(), time))
                .collect()
        })
        .unwrap_or_default()
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
    // Hosts and agent adapters carry HOME=<run dir>/… in their environment;
    // plugin workers run <run dir>/plugins/…/worker.js.
    conformance::process::table::mentioning("/conformance-run-")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_changed_after_the_build_count_as_newer() {
        let dir = std::env::temp_dir().join(format!("e2e-newer-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("old"), "x").unwrap();
        let built = std::time::SystemTime::now();
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(dir.join("sub").join("new"), "y").unwrap();
        let newer = files_newer_than(&dir, built);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(newer, vec![dir.join("sub").join("new")]);
        assert!(files_newer_than(Path::new("/nonexistent-e2e"), built).is_empty());
    }
}

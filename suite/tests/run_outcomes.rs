//! How a run ends when the scenarios or the host are at fault: a scenario's
//! own mistake is a set-up error with its file and line (exit 2, before any
//! host starts); a host that refuses the smoke plugin still reports every
//! check, restart checks included, and the baseline still applies.

use std::path::{Path, PathBuf};
use std::process::Command;

fn conformance() -> Command {
    Command::new(env!("CARGO_BIN_EXE_conformance"))
}

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

/// The admin URL the suite's tests use; a run without Postgres exits 2 and
/// fails the test below, it is never skipped.
fn admin_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

#[test]
fn a_scenario_naming_an_unknown_fixture_exits_2_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.toml");
    std::fs::write(
        &file,
        "id = \"broken.fixture\"\ntitle = \"t\"\nsource = \"s\"\n\n[[step]]\n\
         request = \"GET /api/issues/${issue.missing.id}\"\nexpect.status = 200\n",
    )
    .unwrap();
    let out = conformance()
        .args(["run", "--host", "mock", "--scenarios"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("broken.toml"), "{stderr}");
    assert!(stderr.contains("line 6"), "{stderr}");
    assert!(stderr.contains("${issue.missing.id}"), "{stderr}");
    // Nothing was started: the error comes before the run directory.
    assert!(!stderr.contains("run directory"), "{stderr}");
}

#[test]
fn a_refused_smoke_plugin_reports_every_check_and_applies_the_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("baseline.toml");
    std::fs::write(
        &baseline,
        "[[expected_failure]]\ncheck = \"plugin.install-health\"\n\
         reason = \"this test's mock refuses the smoke plugin on purpose\"\n",
    )
    .unwrap();
    let out = conformance()
        .args([
            "run",
            "--host",
            "mock:defect=namespace-slug-hash",
            "--format",
            "json",
            "-q",
            "--database-url",
            &admin_url(),
            "--baseline",
        ])
        .arg(&baseline)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}); stderr:\n{stderr}"));
    let status = |id: &str| {
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["status"].as_str().unwrap_or_default().to_string())
    };
    assert_eq!(
        status("plugin.install-health").as_deref(),
        Some("baselined"),
        "{stderr}"
    );
    for id in ["restart.plugin-state-kept", "restart.core-migration-replay"] {
        assert_eq!(status(id).as_deref(), Some("skipped"), "{id}: {stderr}");
    }
    let listed = conformance()
        .args(["list", "--scenarios"])
        .arg(scenarios_dir())
        .output()
        .unwrap();
    // Every check but the upgrade checks, which run only with --upgrade-from.
    let total = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter(|l| !l.contains("--upgrade-from"))
        .count();
    assert_eq!(report["checks"].as_array().unwrap().len(), total);
    // The only failure is baselined: the run passes.
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

/// A `url=` host whose `--host-database-url` names another database: the
/// run must say so (exit 2), not blame the host for rows it cannot see.
#[tokio::test(flavor = "multi_thread")]
async fn a_host_database_url_of_another_database_exits_2() {
    use tokio_postgres::NoTls;
    let admin = admin_url();
    let (client, connection) = tokio_postgres::connect(&admin, NoTls)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is needed: {e}"));
    tokio::spawn(connection);
    let nonce = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let names = [format!("conf_host_{nonce}"), format!("conf_other_{nonce}")];
    for name in &names {
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
    }
    let url_of = |name: &str| {
        let mut url = reqwest::Url::parse(&admin).unwrap();
        url.set_path(&format!("/{name}"));
        url.to_string()
    };
    let host = mock_host::serve(mock_host::Config::new(url_of(&names[0])))
        .await
        .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let args = [
        "run".to_string(),
        "--host".into(),
        format!("url={}", host.base_url()),
        "--host-database-url".into(),
        url_of(&names[1]),
        "--only".into(),
        "plugin.install-health".into(),
        "--cache-dir".into(),
        cache.path().display().to_string(),
    ];
    let out = tokio::task::spawn_blocking(move || conformance().args(args).output().unwrap())
        .await
        .unwrap();
    host.shutdown().await;
    for name in &names {
        let _ = client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("is not the one the host at") && stderr.contains("--host-database-url"),
        "{stderr}"
    );
}

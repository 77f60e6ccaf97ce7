//! The suite against the real Paperclip server from npm.
//!
//! This is the oracle run: every check must hold against the real host (or be
//! a documented finding about that version). It installs paperclipai from npm
//! into the shared cache on first use (~40 s) and needs node, npm and a
//! PostgreSQL (DATABASE_URL or local binaries).
//!
//! Each test also proves the teardown: no process of the run is left and the
//! run's database is gone — after a pass, after a failing check, and after
//! Ctrl-C.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use conformance::wait::{poll_until_blocking, Interval, Probe};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

mod url_host;

use e2e_tests::{
    admin_database_url, checks_with_status, conformance_bin, host_temp_dirs, json_report,
    new_processes_of_runs, processes_of_runs, run_conformance, run_databases,
};

/// Runs are serialised: they share the machine's CPU and the npm cache.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn assert_clean(
    before: &[(u32, String)],
    admin: &str,
    dbs_before: &[String],
    dirs_before: &[String],
) {
    // Give SIGKILLed processes a moment to be reaped by init.
    let gone = poll_until_blocking(
        Duration::from_secs(5),
        Interval::fixed(Duration::from_millis(200)),
        || {
            let left = new_processes_of_runs(before);
            if left.is_empty() {
                Probe::Done(())
            } else {
                Probe::NotYet(left)
            }
        },
    );
    if let Err(t) = gone {
        panic!("processes left behind: {:?}", t.last);
    }
    // New ones only: a database that went meanwhile is another run's.
    let dbs: Vec<String> = run_databases(admin)
        .into_iter()
        .filter(|d| !dbs_before.contains(d))
        .collect();
    assert!(
        dbs.is_empty(),
        "the run's database was not dropped: {dbs:?}"
    );
    let dirs: Vec<String> = host_temp_dirs()
        .into_iter()
        .filter(|d| !dirs_before.contains(d))
        .collect();
    assert!(dirs.is_empty(), "temp dirs left behind: {dirs:?}");
}

fn run_against(version: &str) {
    run_with(version, &[]);
}

/// Runs the whole suite against `paperclip@version` with `extra` options;
/// every check must pass (or be baselined) and nothing may be left behind.
fn run_with(version: &str, extra: &[&str]) -> serde_json::Value {
    run_host(&format!("paperclip@{version}"), version, extra)
}

/// Runs the whole suite against `host`, which must report `version`.
fn run_host(host: &str, version: &str, extra: &[&str]) -> serde_json::Value {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let admin = admin_database_url();
    let dbs_before = run_databases(&admin);
    let before = processes_of_runs();
    let dirs_before = host_temp_dirs();
    let junit = std::env::temp_dir().join(format!(
        "conformance-e2e-{version}-{}.xml",
        std::process::id()
    ));
    let mut args = vec![
        "run",
        "--host",
        host,
        "--format",
        "json",
        "--junit",
        junit.to_str().unwrap(),
        "--database-url",
        &admin,
    ];
    args.extend_from_slice(extra);
    let output = run_conformance(&args);
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
    assert_clean(&before, &admin, &dbs_before, &dirs_before);
    report
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

/// One upgrade, as a user meets it: 2026.707.0 creates the database (world,
/// plugins, plugin data, a failed migration), 2026.916.1 opens it, and every
/// check — the six upgrade checks first — runs on the upgraded database.
/// Ignored like the 916.1 run (node 24 and a slow install); `.ci/run` runs it.
#[test]
#[ignore]
fn upgrade_2026_707_0_to_2026_916_1_passes_every_check() {
    let report = run_with("2026.916.1", &["--upgrade-from", "2026.707.0"]);
    let upgrade: Vec<&serde_json::Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["id"]
                .as_str()
                .is_some_and(|id| id.starts_with("upgrade."))
        })
        .collect();
    assert_eq!(upgrade.len(), 6, "{upgrade:?}");
    assert!(
        upgrade
            .iter()
            .all(|c| c["status"] == "passed" || c["status"] == "baselined"),
        "{upgrade:?}"
    );
}

/// `paperclip@PATH`: the published 2026.707.0 tarball (`npm pack`) run as a
/// local build would be — installed by its content hash, restart checks
/// included. Ignored: a second install of the host (~70 s).
#[test]
#[ignore]
fn a_local_package_runs_like_a_published_version() {
    // Removed on drop, also when an assertion below fails.
    let dir = tempfile::Builder::new()
        .prefix("conformance-e2e-local-package-")
        .tempdir()
        .unwrap();
    let packed = Command::new("npm")
        .args([
            "pack",
            "paperclipai@2026.707.0",
            "--loglevel=error",
            "--pack-destination",
        ])
        .arg(dir.path())
        .output()
        .expect("npm runs");
    assert!(packed.status.success(), "{packed:?}");
    let tarball = dir.path().join("paperclipai-2026.707.0.tgz");
    let host = format!("paperclip@{}", tarball.display());
    let report = run_host(
        &host,
        "2026.707.0",
        &["--only", "tag:smoke", "--only", "restart"],
    );
    let restarts = checks_with_status(&report, "passed")
        .into_iter()
        .filter(|id| id.starts_with("restart."))
        .count();
    assert_eq!(restarts, 2, "{report}");
}

/// The whole published chain on one database, each version opening what the
/// one before left: `cargo test -p e2e-tests --test real_host -- --ignored
/// upgrade_chain`. Its result is recorded in docs/findings.md (F21). Not in
/// CI: five more installs and seven host starts.
#[test]
#[ignore]
fn upgrade_chain_from_2026_707_0_to_2026_916_1() {
    let chain = "2026.707.0,2026.722.0,2026.817.0,2026.824.0,2026.824.1,2026.831.1";
    let report = run_with(
        "2026.916.1",
        &["--upgrade-from", chain, "--only", "upgrade"],
    );
    assert_eq!(report["checks"].as_array().unwrap().len(), 6);
}

/// A scenario that expects what the host does not do fails the run with exit
/// code 1 and an explained failure, and the teardown still leaves nothing.
#[test]
fn a_failing_check_exits_1_with_an_explained_failure() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let admin = admin_database_url();
    let dbs_before = run_databases(&admin);
    let before = processes_of_runs();
    let dirs_before = host_temp_dirs();
    let dir = tempfile_dir("failing-scenarios");
    let repo_scenarios = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios");
    std::fs::copy(
        format!("{repo_scenarios}/dispatch-unknown-plugin.toml"),
        dir.join("dispatch-unknown-plugin.toml"),
    )
    .unwrap();
    std::fs::write(
        dir.join("wrong.toml"),
        r#"
id = "selftest.wrong-status"
title = "Deliberately wrong: expects 418 from the unknown-route answer"
source = "tests/tests/real_host.rs"
[[step]]
request = "GET /api/plugins/${plugin.key}/api/nope"
expect.status = 418
"#,
    )
    .unwrap();
    // The plugin fixture lives beside the repository's scenarios.
    let plugin = format!("{repo_scenarios}/plugins/orchestration-smoke");
    let output = run_conformance(&[
        "run",
        "--host",
        "paperclip@2026.707.0",
        "--scenarios",
        dir.to_str().unwrap(),
        "--plugin",
        &plugin,
        "--only",
        "selftest",
        "--only",
        "dispatch.unknown-plugin",
        "--database-url",
        &admin,
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("FAIL  selftest.wrong-status"), "{stdout}");
    assert!(stdout.contains("expected status 418, got 404"), "{stdout}");
    assert!(
        stdout.contains("{\"error\":\"Plugin API route not found\"}"),
        "the exchange is shown: {stdout}"
    );
    assert!(
        stdout.contains("--only selftest.wrong-status"),
        "the replay command is shown: {stdout}"
    );
    assert!(
        stdout.contains("1 passed, 1 failed, 0 warnings, 0 skipped"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert_clean(&before, &admin, &dbs_before, &dirs_before);
}

/// Ctrl-C while checks run: the suite stops everything it started, drops its
/// database and exits 130.
#[test]
fn ctrl_c_mid_run_leaves_nothing_behind() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let admin = admin_database_url();
    let dbs_before = run_databases(&admin);
    let before = processes_of_runs();
    let dirs_before = host_temp_dirs();
    let mut child = Command::new(conformance_bin())
        .args([
            "run",
            "--host",
            "paperclip@2026.707.0",
            "--database-url",
            &admin,
        ])
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    let mut interrupted = false;
    // Keep reading to the end so the child never blocks on a full pipe.
    for line in stderr.lines() {
        let line = line.unwrap();
        seen.push(line.clone());
        if !interrupted && line.contains("] running ") {
            // Checks are starting: wait until the run's plugin worker is up
            // (a condition, not a guessed pause), so the teardown has live
            // descendants of the host to stop.
            let during = poll_until_blocking(
                Duration::from_secs(30),
                Interval::fixed(Duration::from_millis(50)),
                || {
                    let live = new_processes_of_runs(&before);
                    if live.iter().any(|(_, cmd)| cmd.contains("/plugins/")) {
                        Probe::Done(live)
                    } else {
                        Probe::NotYet(live)
                    }
                },
            );
            let during = during.unwrap_or_else(|t| {
                panic!(
                    "no plugin worker of the run appeared within 30 s; live: {:?}",
                    t.last
                )
            });
            assert!(
                !during.is_empty(),
                "the run should have live processes to stop"
            );
            kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).expect("sending SIGINT");
            interrupted = true;
        }
    }
    let status = child.wait().unwrap();
    assert!(
        interrupted,
        "the run never reached its checks:\n{}",
        seen.join("\n")
    );
    assert_eq!(status.code(), Some(130), "stderr:\n{}", seen.join("\n"));
    assert_clean(&before, &admin, &dbs_before, &dirs_before);
}

fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("conformance-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `--host url=…` with `--board-token` on an authenticated host the test
/// runs itself: a wrong or non-admin token is one sentence and exit 2; with
/// an admin's token the whole suite passes, the suite writes nothing into
/// the host's database itself (no instance admin made, the database read
/// through a read-only session), and the teardown leaves no running
/// heartbeat run, installed plugin, live agent or key, or process of its
/// own: only what the host's API cannot remove, each named on its own line.
#[test]
fn a_url_host_with_a_board_token_is_left_as_it_was() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let admin = admin_database_url();
    let host = url_host::UrlHost::start(
        "2026.707.0",
        conformance::target::DeploymentMode::Authenticated,
        &admin,
    );
    // The operator's part, once: an instance admin with a board key, and a
    // user who is not one.
    let (token, _admin_user) = host.board_key(true);
    let (not_admin, _) = host.board_key(false);
    let url = format!("url={}", host.base_url);
    let run = |token: &str, extra: &[&str]| {
        let mut args = vec![
            "run",
            "--host",
            &url,
            "--mode",
            "authenticated",
            "--board-token",
            token,
        ];
        args.extend_from_slice(extra);
        run_conformance(&args)
    };

    let companies_before = host.rows("select id::text as id from companies");
    for (bad, says) in [
        ("pcp_board_0000", "does not accept the --board-token"),
        (not_admin.as_str(), "is not an instance admin"),
    ] {
        let output = run(bad, &["--only", "smoke."]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{stderr}");
        assert!(errors[0].contains(says), "{stderr}");
    }
    assert_eq!(
        host.rows("select id::text as id from companies"),
        companies_before,
        "a refused token creates nothing"
    );

    let counts_before = host.table_counts();
    let roles_before = host.rows("select user_id, role from instance_user_roles order by 1, 2");
    let live_board_keys = "select count(*) as n from board_api_keys where revoked_at is null";
    let board_keys_before = host.rows(live_board_keys);
    let host_before = host.processes();
    let started = std::time::Instant::now();
    let output = run(
        &token,
        &[
            "--host-database-url",
            &host.database_url,
            "--format",
            "json",
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = json_report(&output);
    eprintln!("the url= run took {:?}", started.elapsed());
    let failed = checks_with_status(&report, "failed");
    assert!(
        failed.is_empty(),
        "checks failed: {failed:?}\n{}\nstderr:\n{stderr}",
        serde_json::to_string_pretty(&report["checks"]).unwrap()
    );
    assert_eq!(output.status.code(), Some(0), "stderr:\n{stderr}");
    // The token showed the version an authenticated host hides.
    assert_eq!(report["host"]["version"], "2026.707.0");
    // Only the checks that restart the host (the suite cannot restart a
    // host it did not start) and those of another mode or version skip:
    // none skips for want of writing the database.
    let skipped: Vec<&serde_json::Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "skipped")
        .collect();
    for check in &skipped {
        let id = check["id"].as_str().unwrap_or_default();
        let reason = check["reason"].as_str().unwrap_or_default();
        eprintln!("skipped: {id}: {reason}");
        assert!(
            id.starts_with("restart.") || reason.starts_with("applies to "),
            "{id} skipped: {reason}"
        );
    }

    // Nothing written by the suite itself: no instance admin made, and
    // every board key the run minted (the routes property's non-member)
    // is revoked again.
    assert_eq!(
        host.rows("select user_id, role from instance_user_roles order by 1, 2"),
        roles_before
    );
    assert_eq!(host.rows(live_board_keys), board_keys_before);
    let new = "(select id from companies where id::text not in (select unnest($$ARRAY$$::text[])))";
    let ids: Vec<String> = companies_before
        .iter()
        .filter_map(|r| r["id"].as_str().map(|s| format!("'{s}'")))
        .collect();
    let new = new.replace(
        "select unnest($$ARRAY$$::text[])",
        &format!("select unnest(array[{}]::text[])", ids.join(",")),
    );
    let check = |what: &str, sql: String| {
        let rows = host.rows(&sql);
        assert!(rows.is_empty(), "{what}: {rows:?}\nstderr:\n{stderr}");
    };
    check(
        "live heartbeat runs of the run's companies",
        format!("select id, status from heartbeat_runs where company_id in {new} and status in ('queued', 'running')"),
    );
    check(
        "agents of the run not terminated",
        format!(
            "select id, status from agents where company_id in {new} and status <> 'terminated'"
        ),
    );
    check(
        "agent keys of the run not revoked",
        format!("select id from agent_api_keys where company_id in {new} and revoked_at is null"),
    );
    check(
        "companies of the run not archived",
        format!("select id, status from companies where id in {new} and status <> 'archived'"),
    );
    check(
        "plugins left installed",
        "select plugin_key, status from plugins where status <> 'uninstalled'".into(),
    );
    assert!(!host
        .rows(&format!("select id from companies where id in {new}"))
        .is_empty());

    // What the host's API cannot remove is reported, one line each, and is
    // nothing else.
    let left: Vec<String> = report["left_on_host"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    for line in &left {
        assert!(
            line.contains("archived, not deleted: the host does not enable company deletion")
                || line.contains("signed up by the run: the host's API cannot delete users")
                || line.contains("of a purged generated plugin")
                // The host's race, stopped by the suite and named (see the
                // issue's note); still a line of its own.
                || line.contains("the suite stopped it"),
            "unexpected leftover: {line}\nall: {left:#?}"
        );
    }
    let after = host.table_counts();
    let changed: Vec<String> = after
        .iter()
        .filter(|(t, n)| counts_before.get(*t) != Some(n))
        .map(|(t, n)| format!("{t}: {} → {n}", counts_before.get(t).copied().unwrap_or(0)))
        .collect();
    eprintln!(
        "left on the host ({}):\n  {}\nrows the host wrote in answer to the run:\n  {}",
        left.len(),
        left.join("\n  "),
        changed.join("\n  ")
    );
    // Only this host's processes and this run's directory: other suites may
    // run on the machine meanwhile.
    let clean = |stderr: &str| {
        let gone = poll_until_blocking(
            Duration::from_secs(10),
            Interval::fixed(Duration::from_millis(200)),
            || {
                let left: Vec<(u32, String)> = host
                    .processes()
                    .into_iter()
                    .filter(|p| !host_before.contains(p))
                    .collect();
                if left.is_empty() {
                    Probe::Done(())
                } else {
                    Probe::NotYet(left)
                }
            },
        );
        if let Err(t) = gone {
            panic!(
                "processes of the run left on the host: {:?}\nthe run's stderr:\n{stderr}",
                t.last
            );
        }
        let run_dir = stderr
            .lines()
            .find_map(|l| l.split_once("] run directory ").map(|(_, d)| d.trim()))
            .expect("the run names its directory");
        assert!(
            !std::path::Path::new(run_dir).exists(),
            "run directory left: {run_dir}"
        );
    };
    clean(&stderr);

    // The plugins were uninstalled, not purged: the next run installs them
    // again on the same rows, their migrations still applied.
    let again = run(&token, &["--only", "smoke."]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "a second run on the same host:\n{}",
        String::from_utf8_lossy(&again.stderr)
    );
    check(
        "plugins left installed by the second run",
        "select plugin_key, status from plugins where status <> 'uninstalled'".into(),
    );
    clean(&String::from_utf8_lossy(&again.stderr));
}

//! Shared by the integration tests: a database of their own per test.
//!
//! Needs PostgreSQL: `MOCK_HOST_TEST_DATABASE_URL`, else `DATABASE_URL`,
//! else `postgres://postgres@127.0.0.1:5432/postgres` (an admin URL: each
//! test creates and drops a database of its own). When it does not answer
//! or refuses `CREATE DATABASE`, a test fails under CI (`CI` set and not
//! empty), where a silent skip would pass without testing anything, and
//! skips with a loud message elsewhere.

#![allow(dead_code)] // each test file uses a different part

use tokio_postgres::NoTls;

pub fn admin_url() -> String {
    ["MOCK_HOST_TEST_DATABASE_URL", "DATABASE_URL"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Whether this is a CI run (`CI` set and not empty).
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// A test prerequisite is missing: panics under CI, else says loudly that
/// the test is skipped. `what` and `fix` are one sentence together.
pub fn missing(what: &str, fix: &str) {
    if in_ci() {
        panic!("{what}; {fix} (CI is set, so this test fails instead of skipping)");
    }
    eprintln!("\n*** SKIPPING THIS TEST: {what}; {fix} ***\n");
}

/// A database created for one test and dropped at the end.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    /// `None` (after [`missing`]) when PostgreSQL is unusable outside CI.
    pub async fn create() -> Option<TestDb> {
        let admin = admin_url();
        let fix =
            "start PostgreSQL there or point MOCK_HOST_TEST_DATABASE_URL or DATABASE_URL at one";
        let (client, conn) = match tokio_postgres::connect(&admin, NoTls).await {
            Ok(c) => c,
            Err(e) => {
                missing(
                    &format!("PostgreSQL is not reachable at {admin} ({e})"),
                    fix,
                );
                return None;
            }
        };
        tokio::spawn(conn);
        let name = format!("mock_host_test_{}", uuid::Uuid::new_v4().simple());
        if let Err(e) = client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
        {
            missing(
                &format!("CREATE DATABASE failed at {admin} ({e})"),
                "connect as a role that may create databases",
            );
            return None;
        }
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
        Some(TestDb {
            url: format!("{base}/{name}"),
            name,
        })
    }

    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&self.url, NoTls).await.unwrap();
        tokio::spawn(conn);
        client
    }

    pub async fn drop_db(self) {
        if let Ok((client, conn)) = tokio_postgres::connect(&admin_url(), NoTls).await {
            tokio::spawn(conn);
            let _ = client
                .batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ))
                .await;
        }
    }
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            if e.file_name() != "node_modules" {
                copy_dir(&e.path(), &target);
            }
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// The plugin fixture `scenarios/plugins/<name>` copied into `tmp` with its
/// SDK installed by npm; `None` (a failure under CI, see [`missing`]) when
/// the fixture or npm is missing.
#[allow(dead_code)] // not every test binary that includes this module uses it
pub fn prepared_fixture(tmp: &std::path::Path, name: &str) -> Option<std::path::PathBuf> {
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/plugins")
        .join(name);
    if !source.join("package.json").exists() {
        missing(
            &format!("no {name} plugin at {}", source.display()),
            "run the tests from a full checkout",
        );
        return None;
    }
    let dir = tmp.join(name);
    copy_dir(&source, &dir);
    let out = std::process::Command::new("npm")
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "--omit=dev",
            "--no-package-lock",
            "--prefer-offline",
        ])
        .current_dir(&dir)
        .output();
    match out {
        Ok(o) if o.status.success() => Some(dir),
        Ok(o) => {
            missing(
                &format!(
                    "npm install of the {name} plugin failed: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                ),
                "make the npm registry reachable",
            );
            None
        }
        Err(e) => {
            missing(
                &format!("npm could not be started ({e})"),
                "install node and npm",
            );
            None
        }
    }
}

//! Route 3: an ephemeral cluster from local PostgreSQL binaries.
//!
//! `initdb` + `pg_ctl` into `<run dir>/postgres`, listening on a free
//! 127.0.0.1 port with its Unix socket in the same directory (never the
//! system's `/var/run/postgresql`), trust authentication, superuser
//! `postgres`. PostgreSQL refuses to run as root, so when the suite runs as
//! root the commands run as the `postgres` OS user through `runuser` and the
//! directory is handed to that user. Durability is switched off: the cluster
//! lives for one run.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::error::{Error, Result};
use crate::process::{free_port, tail_of_file};
use crate::progress::Progress;

/// Binaries the cluster needs, all from one directory.
const NEEDED: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

/// A cluster started for one run. Dropping it without [`Self::stop`] stops
/// the server immediately and deletes its directory.
pub struct EphemeralCluster {
    dir: PathBuf,
    bindir: PathBuf,
    port: u16,
    version: String,
    /// Run the binaries as the `postgres` OS user (the suite runs as root).
    as_postgres: bool,
    /// Set once `stop` cleaned up, so `Drop` has nothing left to do.
    done: bool,
}

/// A directory holding `initdb`, `pg_ctl` and `postgres`, with its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binaries {
    pub bindir: PathBuf,
    pub version: String,
}

/// Finds the PostgreSQL server binaries: `initdb` on `PATH` and every
/// `/usr/lib/postgresql/*/bin` (Debian keeps them off `PATH`); the highest
/// version wins.
pub fn find_binaries() -> Option<Binaries> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let initdb = dir.join("initdb");
            if initdb.is_file() {
                // Symlinks (e.g. /usr/local/bin/initdb) point at the real
                // directory, where pg_ctl and postgres live too.
                let real = initdb.canonicalize().unwrap_or(initdb);
                if let Some(parent) = real.parent() {
                    candidates.push(parent.to_path_buf());
                }
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        for entry in entries.flatten() {
            candidates.push(entry.path().join("bin"));
        }
    }
    candidates.sort();
    candidates.dedup();
    candidates
        .into_iter()
        .filter(|dir| NEEDED.iter().all(|b| dir.join(b).is_file()))
        .filter_map(|bindir| {
            let out = std::process::Command::new(bindir.join("initdb"))
                .arg("--version")
                .stdin(Stdio::null())
                .output()
                .ok()?;
            let version = parse_version_output(&String::from_utf8_lossy(&out.stdout))?;
            Some(Binaries { bindir, version })
        })
        .max_by_key(|b| version_key(&b.version))
}

/// `initdb (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)` → `15.18`.
fn parse_version_output(text: &str) -> Option<String> {
    let rest = text.split("(PostgreSQL)").nth(1)?;
    rest.split_whitespace().next().map(str::to_string)
}

/// Numeric sort key of a version like `15.18` or `17beta1`.
fn version_key(version: &str) -> Option<crate::version::Version> {
    crate::version::parse_loose(version)
}

impl EphemeralCluster {
    /// Creates and starts a cluster in `<run_dir>/postgres`.
    pub async fn start(
        run_dir: &Path,
        binaries: &Binaries,
        template_cache: Option<&Path>,
        progress: &Progress,
    ) -> Result<EphemeralCluster> {
        let as_postgres = nix::unistd::geteuid().is_root();
        let dir = run_dir.join("postgres");
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("creating", &dir, e))?;
        let mut cluster = EphemeralCluster {
            dir,
            bindir: binaries.bindir.clone(),
            port: 0,
            version: binaries.version.clone(),
            as_postgres,
            done: false,
        };
        if as_postgres {
            cluster.hand_to_postgres_user()?;
        }
        progress.step(format!(
            "starting an ephemeral PostgreSQL {} cluster in {}",
            cluster.version,
            cluster.dir.display()
        ));

        let data = cluster.data_dir();
        let template = template_cache.map(|dir| dir.join(template_name(binaries)));
        match template
            .as_deref()
            .filter(|t| t.join("PG_VERSION").is_file())
        {
            Some(template) => copy_tree(template, &data).map_err(|e| {
                cluster.unavailable(format!(
                    "copying the initdb template {}: {e}",
                    template.display()
                ))
            })?,
            None => {
                cluster.initdb(&data).await?;
                if let Some(template) = &template {
                    // Best effort: a cache that cannot be written only
                    // costs the next run its initdb.
                    let _ = keep_template(&data, template);
                }
            }
        }

        // A free port can be taken by someone else before the server binds
        // it; try a few.
        let mut last = String::new();
        for _ in 0..3 {
            cluster.port = free_port()?;
            let options = format!(
                "-c listen_addresses=127.0.0.1 -p {} -k '{}' -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                cluster.port,
                cluster.dir.display()
            );
            let out = cluster
                .run("pg_ctl")
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(cluster.log_path())
                .args(["-w", "-t", "60", "-o", &options, "start"])
                .output()
                .await
                .map_err(|e| cluster.unavailable(format!("running pg_ctl failed: {e}")))?;
            if out.status.success() {
                return Ok(cluster);
            }
            let log = tail_of_file(&cluster.log_path(), 4);
            last = format!(
                "{} {}",
                String::from_utf8_lossy(&out.stderr).trim(),
                log.replace('\n', " | ")
            );
            if !log.contains("could not bind") && !log.contains("already in use") {
                break;
            }
        }
        Err(cluster.unavailable(format!("pg_ctl start failed: {}", last.trim())))
    }

    async fn initdb(&self, data: &Path) -> Result<()> {
        let initdb_log = self.dir.join("initdb.log");
        let out = self
            .run("initdb")
            .arg("-D")
            .arg(data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8"])
            .args(["--locale=C.UTF-8", "--no-sync"])
            .output()
            .await
            .map_err(|e| self.unavailable(format!("running initdb failed: {e}")))?;
        let _ = std::fs::write(&initdb_log, [&out.stdout[..], &out.stderr[..]].concat());
        if !out.status.success() {
            return Err(self.unavailable(format!(
                "initdb failed ({}): {}",
                out.status,
                tail_of_file(&initdb_log, 4).replace('\n', " | ")
            )));
        }
        Ok(())
    }

    /// An admin URL (superuser `postgres`, trust auth).
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    /// The cluster's directory (data dir, socket, log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stops the server (`pg_ctl stop -m immediate`) and deletes the directory.
    pub async fn stop(mut self) -> Result<()> {
        let result = self.stop_inner().await;
        self.done = true;
        result
    }

    async fn stop_inner(&mut self) -> Result<()> {
        if self.data_dir().join("postmaster.pid").exists() {
            // The cluster is thrown away with its directory, so there is
            // nothing to checkpoint: an immediate stop skips the shutdown
            // checkpoint a fast stop writes (about a second after a run).
            let _ = self
                .run("pg_ctl")
                .arg("-D")
                .arg(self.data_dir())
                .args(["-m", "immediate", "-w", "-t", "30", "stop"])
                .output()
                .await;
            if self.data_dir().join("postmaster.pid").exists() {
                return Err(Error::PostgresUnavailable(format!(
                    "the ephemeral cluster in {} did not stop; stop it with: pg_ctl -D {} -m immediate stop",
                    self.dir.display(),
                    self.data_dir().display()
                )));
            }
        }
        std::fs::remove_dir_all(&self.dir).map_err(|e| Error::io("removing", &self.dir, e))
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    /// Gives the directory to the `postgres` OS user, which initdb and the
    /// server run as when the suite is root.
    fn hand_to_postgres_user(&self) -> Result<()> {
        // getpwnam_r underneath (getpwnam's static record is not
        // thread-safe); a lookup error counts as "no such user".
        let Ok(Some(user)) = nix::unistd::User::from_name("postgres") else {
            return Err(Error::PostgresUnavailable(
                "the suite runs as root, and PostgreSQL refuses root, but there is no 'postgres' OS user to run the local cluster as; create it (apt-get install postgresql does) or set DATABASE_URL".into(),
            ));
        };
        let (uid, gid) = (user.uid.as_raw(), user.gid.as_raw());
        std::os::unix::fs::chown(&self.dir, Some(uid), Some(gid))
            .map_err(|e| Error::io("handing to the postgres user", &self.dir, e))
    }

    /// A command for one of the cluster's binaries, as the right user, with
    /// an environment free of the caller's `PG*` settings.
    fn command(&self, program: &str) -> std::process::Command {
        let binary = self.bindir.join(program);
        let mut cmd = if self.as_postgres {
            let mut c = std::process::Command::new(runuser());
            c.args(["-u", "postgres", "--"]).arg(binary);
            c
        } else {
            std::process::Command::new(binary)
        };
        cmd.env_clear()
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .env("LANG", "C")
            // The postgres user may not be allowed into the suite's cwd.
            .current_dir(&self.dir)
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, program: &str) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::from(self.command(program));
        cmd.kill_on_drop(true);
        cmd
    }

    fn unavailable(&self, what: String) -> Error {
        let hint = if self.as_postgres {
            " (it runs as the postgres OS user, which must be able to reach that directory)"
        } else {
            ""
        };
        Error::PostgresUnavailable(format!(
            "the ephemeral cluster in {}{hint} could not be started: {what}; set DATABASE_URL to an admin URL of a running server instead",
            self.dir.display()
        ))
    }
}

/// The template's directory name: the server version and where its
/// binaries are, since two installations of one version may differ.
fn template_name(binaries: &Binaries) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    binaries.bindir.hash(&mut hasher);
    format!("{}-{:016x}", binaries.version, hasher.finish())
}

/// `cp -a`: keeps the owner (the `postgres` user when the suite is root)
/// and the data directory's 0700 mode, which the server insists on.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    let out = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .stdin(Stdio::null())
        .output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ))
    }
}

/// Copies a fresh data directory into the cache under a temporary name and
/// renames it into place, so a concurrent run never copies half a template.
fn keep_template(data: &Path, template: &Path) -> std::io::Result<()> {
    let parent = template.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let staging = parent.join(format!(".staging-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    copy_tree(data, &staging)?;
    if let Err(e) = std::fs::rename(&staging, template) {
        let _ = std::fs::remove_dir_all(&staging);
        if !template.join("PG_VERSION").is_file() {
            return Err(e);
        }
    }
    Ok(())
}

/// `runuser` lives in sbin, which a root shell has on PATH but the cleared
/// environment of the commands above does not; resolve it up front.
fn runuser() -> PathBuf {
    let from_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    from_path
        .into_iter()
        .chain(["/usr/sbin".into(), "/sbin".into(), "/usr/bin".into()])
        .map(|d| d.join("runuser"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| "runuser".into())
}

impl Drop for EphemeralCluster {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // Safety net for panics and runs dropped half-way: stop at once,
        // synchronously, then delete the directory.
        if self.data_dir().join("postmaster.pid").exists() {
            let _ = self
                .command("pg_ctl")
                .arg("-D")
                .arg(self.data_dir())
                .args(["-m", "immediate", "-w", "-t", "10", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("initdb (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n", Some("15.18"))]
    #[case("initdb (PostgreSQL) 17beta1\n", Some("17beta1"))]
    #[case("something else", None)]
    fn parses_initdb_versions(#[case] text: &str, #[case] expected: Option<&str>) {
        assert_eq!(parse_version_output(text).as_deref(), expected);
    }

    #[test]
    fn higher_versions_sort_higher() {
        assert!(version_key("16.2") > version_key("15.18"));
        assert!(version_key("15.18") > version_key("15.9"));
        assert!(version_key("17beta1") > version_key("16.9"));
    }
}

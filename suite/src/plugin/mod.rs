//! Preparing and installing the plugin under test.
//!
//! The plugin package (the bundled smoke plugin, or `--plugin PATH`) is copied
//! into the run directory, its `@paperclipai/plugin-sdk` dependency is pinned
//! to the host's version, `npm install` runs there with the host's node, and
//! the host installs it by local path. The manifest facts the scenarios need
//! (key, row id, namespace) come from the host's install answer.

pub mod generated;
mod package;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::client::{Call, Credentials, HostClient};
use crate::error::{Error, Result};
use crate::scenario::vars::Vars;
use crate::target::npm::Npm;

/// The SDK package plugins are written against.
pub const SDK_PACKAGE: &str = "@paperclipai/plugin-sdk";

/// A plugin package ready to install.
pub struct PreparedPlugin {
    /// The copy in the run directory.
    pub dir: PathBuf,
    /// False when the package does not depend on the SDK: its worker bundles
    /// one, so the SDK pin (and `--sdk-version`) did not apply.
    pub uses_registry_sdk: bool,
    /// The SDK version it was installed with, if it depends on the SDK.
    pub sdk_version: Option<String>,
}

/// An installed plugin.
#[derive(Debug, Clone)]
pub struct InstalledPlugin {
    pub id: String,
    pub key: String,
    pub package_name: String,
    pub version: String,
    /// The derived database namespace, when the manifest declares `database`.
    pub namespace: Option<String>,
    /// `(file name, sha256 hex)` of each migration file in the package.
    pub migrations: Vec<(String, String)>,
    pub record: Value,
}

/// Copies `source` into `<into>/plugins/<name>`, pins the SDK to
/// `sdk_version` (when given) and runs `npm install` there. `into` is the run
/// directory for hosts the suite starts; for a host that outlives the run it
/// is a persistent directory, since the host keeps loading the package from
/// its path.
///
/// With `deps_cache`, the dependencies are installed once per dependency
/// list and node into that cache and the copy's `node_modules` links there
/// (hosts and workers resolve through the link, as for the packages the
/// properties generate): a run then spends no time in npm.
pub async fn prepare(
    source: &Path,
    into: &Path,
    sdk_version: Option<&str>,
    node_bin: Option<&Path>,
    deps_cache: Option<&Path>,
) -> Result<PreparedPlugin> {
    let manifest_path = source.join("package.json");
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| {
        Error::Plugin(format!(
            "package {} has no readable package.json ({e}); --plugin must name a plugin package directory",
            source.display()
        ))
    })?;
    let mut package: Value = serde_json::from_str(&text).map_err(|e| {
        Error::Plugin(format!(
            "{} is not valid JSON ({e}); fix the plugin's package.json",
            manifest_path.display()
        ))
    })?;
    package::check(source, &package)?;
    package::for_copy(&mut package);
    let name = source
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "plugin".into());
    let dir = into.join("plugins").join(&name);
    copy_tree(source, &dir)?;
    let mut pinned = None;
    if let (Some(version), Some(deps)) = (
        sdk_version,
        package
            .get_mut("dependencies")
            .and_then(Value::as_object_mut),
    ) {
        if deps.contains_key(SDK_PACKAGE) {
            deps.insert(SDK_PACKAGE.into(), json!(version));
            pinned = Some(version.to_string());
        }
    }
    let out = dir.join("package.json");
    std::fs::write(
        &out,
        serde_json::to_string_pretty(&package).unwrap_or_default(),
    )
    .map_err(|e| Error::io("writing", &out, e))?;
    let has_deps = package
        .get("dependencies")
        .and_then(Value::as_object)
        .is_some_and(|d| !d.is_empty());
    if has_deps {
        match deps_cache {
            Some(cache) => {
                let deps = package.get("dependencies").cloned().unwrap_or_default();
                let installed = cached_dependencies(cache, &deps, node_bin).await?;
                let link = dir.join("node_modules");
                // A url= host's plugin home outlives the run: an earlier
                // run's link (or install) is replaced, not tripped over.
                match std::fs::symlink_metadata(&link) {
                    Ok(m) if m.is_dir() => std::fs::remove_dir_all(&link),
                    Ok(_) => std::fs::remove_file(&link),
                    Err(_) => Ok(()),
                }
                .map_err(|e| Error::io("replacing", &link, e))?;
                std::os::unix::fs::symlink(&installed, &link)
                    .map_err(|e| Error::io("linking", &link, e))?;
            }
            None => npm_install(&dir, node_bin).await?,
        }
    }
    Ok(PreparedPlugin {
        dir,
        sdk_version: pinned,
        uses_registry_sdk: package::uses_registry_sdk(&package),
    })
}

/// The `node_modules` of `deps` installed by `node_bin`'s npm, from the
/// cache (installed there first when missing, one installer at a time).
async fn cached_dependencies(
    cache: &Path,
    deps: &Value,
    node_bin: Option<&Path>,
) -> Result<PathBuf> {
    let mut key = Sha256::new();
    key.update(deps.to_string().as_bytes());
    key.update(format!("{node_bin:?}").as_bytes());
    let key = hex::encode(key.finalize());
    let dir = cache.join("plugin-deps").join(&key[..16]);
    let manifest = json!({
        "name": "conformance-plugin-dependencies",
        "version": "0.0.0",
        "private": true,
        "dependencies": deps,
    });
    crate::target::npm::cache::install_atomically(
        &dir,
        &crate::progress::Progress::silent(),
        "plugin dependencies",
        |tmp| async move {
            let path = tmp.join("package.json");
            std::fs::write(&path, manifest.to_string())
                .map_err(|e| Error::io("writing", &path, e))?;
            npm_install(&tmp, node_bin).await
        },
    )
    .await?;
    Ok(dir.join("node_modules"))
}

/// Installs the plugin copy's dependencies with the same npm the hosts are
/// installed with, running on the host's node (node 24 for newer hosts).
async fn npm_install(dir: &Path, node_bin: Option<&Path>) -> Result<()> {
    let mut npm = Npm::locate()?;
    if let Some(node_dir) = node_bin.and_then(Path::parent) {
        npm = npm.with_node_dir(node_dir);
    }
    npm.install_dependencies(dir).await.map_err(|e| match e {
        Error::Npm(message) => Error::Npm(format!(
            "{message}; check that the SDK version exists (npm view {SDK_PACKAGE} versions) or pass --sdk-version"
        )),
        other => other,
    })
}

/// Copies a directory tree, skipping `node_modules` and lock files.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(|e| Error::io("creating", to, e))?;
    let entries = std::fs::read_dir(from).map_err(|e| Error::io("reading", from, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("reading", from, e))?;
        let name = entry.file_name();
        if name == "node_modules" || name == "package-lock.json" {
            continue;
        }
        let src = entry.path();
        let dst = to.join(&name);
        let kind = entry
            .file_type()
            .map_err(|e| Error::io("inspecting", &src, e))?;
        if kind.is_dir() {
            copy_tree(&src, &dst)?;
        } else if kind.is_file() {
            std::fs::copy(&src, &dst).map_err(|e| Error::io("copying", &src, e))?;
        }
    }
    Ok(())
}

/// Installs the prepared plugin by local path as the board.
pub async fn install(
    client: &HostClient,
    board: &Credentials,
    plugin: &PreparedPlugin,
) -> Result<InstalledPlugin> {
    let path = plugin.dir.display().to_string();
    let call = Call::new("POST", "/api/plugins/install")
        .as_(board)
        .json(json!({ "packageName": path, "isLocalPath": true }));
    let record = match client.expect_json("install plugin", &call, 200).await {
        Ok(record) => record,
        // A long-lived (`url=`) host may still have the plugin from an earlier
        // run: reuse it when it is ready rather than failing the run.
        Err(Error::UnexpectedStatus {
            body: Some(body), ..
        }) if already_installed(&body).is_some() => {
            let key = already_installed(&body).unwrap_or_default();
            client
                .expect_json(
                    "read the installed plugin",
                    &Call::new("GET", format!("/api/plugins/{key}")).as_(board),
                    200,
                )
                .await?
        }
        Err(Error::UnexpectedStatus {
            request,
            status,
            expected,
            shown,
            ..
        }) => {
            return Err(Error::Plugin(format!(
                "install of {path} was refused: {request} answered {status}, expected {expected}: {shown}; check the plugin's manifest and migrations"
            )))
        }
        Err(Error::Bootstrap { message, .. }) => {
            return Err(Error::Plugin(format!(
                "install of {path} was refused: {message}; check the plugin's manifest and migrations"
            )))
        }
        Err(other) => return Err(other),
    };
    let field = |name: &str| record[name].as_str().map(String::from);
    let key = field("pluginKey")
        .ok_or_else(|| Error::Plugin(format!("install answered without pluginKey: {record}")))?;
    let status = field("status").unwrap_or_default();
    if status != "ready" {
        return Err(Error::Plugin(format!(
            "{key} was installed but is '{status}', not ready (lastError: {}); check the host log",
            record["lastError"]
        )));
    }
    let namespace = record["manifestJson"]
        .get("database")
        .filter(|d| d.is_object())
        .map(|d| derive_namespace(&key, d.get("namespaceSlug").and_then(Value::as_str)));
    let migrations = record["manifestJson"]["database"]["migrationsDir"]
        .as_str()
        .map(|dir| migration_checksums(&plugin.dir.join(dir)))
        .unwrap_or_default();
    Ok(InstalledPlugin {
        migrations,
        id: field("id")
            .ok_or_else(|| Error::Plugin(format!("install answered without id: {record}")))?,
        package_name: field("packageName").unwrap_or_default(),
        version: field("version").unwrap_or_default(),
        key,
        namespace,
        record,
    })
}

/// The plugin key in a host's "already installed" refusal
/// (`{"error":"Plugin already installed: KEY"}`).
fn already_installed(body: &Value) -> Option<String> {
    body.get("error")?
        .as_str()?
        .strip_prefix("Plugin already installed: ")
        .map(|key| key.trim().to_string())
}

impl InstalledPlugin {
    /// Publishes `plugin.key`, `plugin.id`, `plugin.namespace`, … as variables.
    pub fn export(&self, vars: &mut Vars) {
        vars.set("plugin.key", self.key.clone());
        vars.set("plugin.id", self.id.clone());
        vars.set("plugin.package", self.package_name.clone());
        vars.set("plugin.version", self.version.clone());
        if let Some(ns) = &self.namespace {
            vars.set("plugin.namespace", ns.clone());
        }
        for (file, sha) in &self.migrations {
            vars.set(format!("plugin.migration.{file}.sha256"), sha.clone());
        }
    }
}

/// SHA-256 of every `*.sql` file in `dir`: the checksum a host records in
/// its migration ledger (contract-db-worker.md A3).
fn migration_checksums(dir: &Path) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".sql"))
        .filter_map(|e| {
            let bytes = std::fs::read(e.path()).ok()?;
            Some((
                e.file_name().to_string_lossy().to_string(),
                hex::encode(Sha256::digest(&bytes)),
            ))
        })
        .collect();
    out.sort();
    out
}

/// The schema name a host derives for a plugin's database namespace:
/// `plugin_<slug>_<first 10 hex of sha256(pluginKey)>` (contract-db-worker.md A1).
pub fn derive_namespace(plugin_key: &str, namespace_slug: Option<&str>) -> String {
    let hash = hex::encode(Sha256::digest(plugin_key.as_bytes()));
    let base = namespace_slug.unwrap_or(plugin_key).to_lowercase();
    let mut slug = String::new();
    let mut in_run = false;
    for c in base.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
            slug.push(c);
            in_run = false;
        } else if !in_run {
            slug.push('_');
            in_run = true;
        }
    }
    let trimmed = slug.trim_matches('_');
    let mut collapsed = String::new();
    for c in trimmed.chars() {
        if !(c == '_' && collapsed.ends_with('_')) {
            collapsed.push(c);
        }
    }
    let mut slug: String = collapsed.chars().take(36).collect();
    if slug.is_empty() {
        slug = "plugin".into();
    }
    let name = format!("plugin_{slug}_{}", &hash[..10]);
    name.chars().take(63).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    // The worked examples of contract-db-worker.md A1.
    #[rstest]
    #[case(
        "paperclipai.plugin-orchestration-smoke-example",
        Some("orchestration_smoke"),
        "plugin_orchestration_smoke_1e8c264c64"
    )]
    #[case(
        "paperclipai.plugin-orchestration-smoke-example",
        None,
        "plugin_paperclipai_plugin_orchestration_smo_1e8c264c64"
    )]
    #[case("paperclip.dbtest", None, "plugin_paperclip_dbtest_f9c12a21cb")]
    #[case(
        "paperclipai.plugin-llm-wiki",
        Some("llm_wiki"),
        "plugin_llm_wiki_8f50da974f"
    )]
    #[case("Acme.Linear", None, "plugin_acme_linear_b9443bec02")]
    #[case("@scope/pkg", None, "plugin_scope_pkg_5b9874c855")]
    #[case("___", None, "plugin_plugin_bda251550b")]
    #[case("acme.linear", Some("My--Slug!!"), "plugin_my_slug_e2e7242f07")]
    #[case(
        "conformance.orchestration-smoke",
        Some("orchestration_smoke"),
        "plugin_orchestration_smoke_f0168a9975"
    )]
    fn namespace_derivation(#[case] key: &str, #[case] slug: Option<&str>, #[case] expected: &str) {
        assert_eq!(derive_namespace(key, slug), expected);
    }
}

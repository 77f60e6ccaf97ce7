//! Plugin packages the suite writes for its own checks (the route-matrix and
//! host-call fixtures, the migration probes): the same three files and the
//! same link to an installed SDK, so each generator only says what differs.

use std::path::Path;

use serde_json::json;

use crate::error::{Error, Result};

/// Writes `package.json` (named `@conformance/<name>`, ESM, manifest at
/// `./manifest.js`), `manifest.js`, `worker.js` into `dir` (created), and
/// links `dir/node_modules` to `sdk_node_modules`, where the SDK is
/// installed once for the run.
pub fn write_package(
    dir: &Path,
    name: &str,
    manifest_js: &str,
    worker_js: &str,
    sdk_node_modules: &Path,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("creating", dir, e))?;
    let package = json!({
        "name": format!("@conformance/{name}"),
        "version": "0.1.0",
        "type": "module",
        "private": true,
        "paperclipPlugin": { "manifest": "./manifest.js" },
    });
    for (file, text) in [
        ("package.json", package.to_string().as_str()),
        ("manifest.js", manifest_js),
        ("worker.js", worker_js),
    ] {
        let path = dir.join(file);
        std::fs::write(&path, text).map_err(|e| Error::io("writing", &path, e))?;
    }
    let link = dir.join("node_modules");
    std::os::unix::fs::symlink(sdk_node_modules, &link).map_err(|e| Error::io("linking", &link, e))
}

/// The worker protocol's stdio loop for fixture workers that make raw host
/// calls (`import { callHost, serve } from "./rpc.js"`).
const WORKER_RPC: &str = include_str!("worker_rpc.js");

/// Writes `rpc.js`, the shared protocol loop, beside the worker in `dir`.
pub fn write_worker_rpc(dir: &Path) -> Result<()> {
    let path = dir.join("rpc.js");
    std::fs::write(&path, WORKER_RPC).map_err(|e| Error::io("writing", &path, e))
}

/// Writes one migration file into `dir/migrations` (created).
pub fn write_migration(dir: &Path, file: &str, sql: &str) -> Result<()> {
    let migrations = dir.join("migrations");
    std::fs::create_dir_all(&migrations).map_err(|e| Error::io("creating", &migrations, e))?;
    let path = migrations.join(file);
    std::fs::write(&path, sql).map_err(|e| Error::io("writing", &path, e))
}

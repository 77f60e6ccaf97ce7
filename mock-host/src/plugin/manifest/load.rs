//! Loading a manifest: it is an ES module, so node evaluates it and prints
//! its default export as JSON.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::error::{Error, Result};

const LOADER: &str =
    "import(process.argv[1]).then(m=>process.stdout.write(JSON.stringify(m.default ?? m)))";

/// Evaluates the manifest module with node and returns its default export.
pub async fn load(node: &Path, manifest_path: &Path) -> Result<Value> {
    let fail = |msg: String| {
        Error::internal(format!(
            "Failed to load manifest module at {}: {msg}",
            manifest_path.display()
        ))
    };
    let out = tokio::time::timeout(
        Duration::from_secs(15),
        tokio::process::Command::new(node)
            .args(["--input-type=module", "-e", LOADER])
            .arg(manifest_path)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .map_err(|_| fail("timed out".into()))?
    .map_err(|e| fail(e.to_string()))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let line = stderr
            .lines()
            .find(|l| l.contains("Error"))
            .or_else(|| stderr.lines().find(|l| !l.trim().is_empty()))
            .unwrap_or("import failed")
            .trim()
            .to_string();
        return Err(fail(line));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| fail(e.to_string()))
}

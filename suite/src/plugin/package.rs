//! What a plugin package given with `--plugin` must be before the suite
//! copies it: built (its entry points exist) and installable outside its
//! monorepo. Each problem is named by its real cause, not by what it later
//! breaks (a host's "no manifest found", an npm error blamed on the SDK pin).

use std::path::Path;

use serde_json::Value;

use super::SDK_PACKAGE;
use crate::error::{Error, Result};

/// Dependency specs that only resolve inside the workspace they come from.
const WORKSPACE_SPECS: &[&str] = &["workspace:", "link:", "catalog:", "portal:"];

/// Checks the package at `source` (its parsed `package.json`).
pub fn check(source: &Path, package: &Value) -> Result<()> {
    entry_points(source, package)?;
    if let Some(deps) = package.get("dependencies").and_then(Value::as_object) {
        for (name, spec) in deps {
            let spec = spec.as_str().unwrap_or_default();
            if WORKSPACE_SPECS.iter().any(|p| spec.starts_with(p)) {
                return Err(Error::Plugin(format!(
                    "{}: dependency {name} is '{spec}', which resolves only inside its monorepo; \
                     publish it, bundle it into the plugin's build, or give a registry version before passing --plugin",
                    source.display()
                )));
            }
        }
    }
    Ok(())
}

/// Every path `paperclipPlugin` names (manifest, worker, …) must exist: an
/// unbuilt package has none of its `dist/` files.
fn entry_points(source: &Path, package: &Value) -> Result<()> {
    // Without the entry the host looks for the manifest its own way.
    let Some(entries) = package.get("paperclipPlugin").and_then(Value::as_object) else {
        return Ok(());
    };
    for (field, path) in entries {
        let Some(path) = path.as_str() else { continue };
        if source.join(path).exists() {
            continue;
        }
        let build = package
            .pointer("/scripts/build")
            .and_then(Value::as_str)
            .map(|script| format!("run its build first (npm run build: {script})"))
            .unwrap_or_else(|| "build it first (its package.json has no build script)".into());
        return Err(Error::Plugin(format!(
            "{}: paperclipPlugin.{field} is {path}, which does not exist: the package is not built; {build}",
            source.display()
        )));
    }
    Ok(())
}

/// The copy's `package.json`: development dependencies dropped (npm would
/// still resolve their specs, and a plugin runs without them).
pub fn for_copy(package: &mut Value) {
    if let Some(object) = package.as_object_mut() {
        object.remove("devDependencies");
    }
}

/// Whether the package depends on the SDK (else its worker bundles one, and
/// the SDK pin and `--sdk-version` do not apply).
pub fn uses_registry_sdk(package: &Value) -> bool {
    package
        .get("dependencies")
        .and_then(Value::as_object)
        .is_some_and(|d| d.contains_key(SDK_PACKAGE))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn package_dir(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for f in files {
            let path = dir.path().join(f);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        dir
    }

    #[test]
    fn an_unbuilt_package_names_the_missing_file_and_its_build_script() {
        let dir = package_dir(&[]);
        let package = json!({
            "paperclipPlugin": { "manifest": "./dist/manifest.js" },
            "scripts": { "build": "tsc -p ." }
        });
        let err = check(dir.path(), &package).unwrap_err().to_string();
        assert!(err.contains("./dist/manifest.js"), "{err}");
        assert!(err.contains("npm run build: tsc -p ."), "{err}");
    }

    #[test]
    fn a_workspace_dependency_is_named_and_dev_dependencies_are_dropped() {
        let dir = package_dir(&["dist/manifest.js"]);
        let mut package = json!({
            "paperclipPlugin": { "manifest": "./dist/manifest.js" },
            "dependencies": { "@acme/util": "workspace:*" },
            "devDependencies": { "@acme/dev": "workspace:*" }
        });
        let err = check(dir.path(), &package).unwrap_err().to_string();
        assert!(
            err.contains("@acme/util") && err.contains("workspace:*"),
            "{err}"
        );
        package["dependencies"] = json!({ SDK_PACKAGE: "2026.707.0" });
        assert!(check(dir.path(), &package).is_ok());
        for_copy(&mut package);
        assert!(package.get("devDependencies").is_none());
        assert!(uses_registry_sdk(&package));
    }
}

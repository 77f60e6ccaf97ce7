//! Set-up steps of a run that are not about the host: the run directory,
//! the plugins the checks need, and the check that a given host database is
//! the host's.

use std::path::PathBuf;

use super::{RunOptions, Stage};
use crate::db::HostDb;
use crate::error::{Error, Result};
use crate::plugin::{self, InstalledPlugin};
use crate::progress::Progress;
use crate::target::RunningHost;
use crate::world::World;

/// The plugins of a run, once installed.
pub(crate) struct Installed {
    /// The plugin under test (the smoke plugin unless `--plugin`).
    pub smoke: InstalledPlugin,
    /// The scope-probe fixture (company scoping property), when present.
    pub probe: Option<InstalledPlugin>,
    /// The `node_modules` of the prepared plugin under test: the SDK at the
    /// host's version, for the packages properties generate.
    pub sdk_node_modules: Option<PathBuf>,
}

/// What phase 4 ended with. One value per run: its size does not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Plugins {
    Installed(Installed),
    /// The host refused the bundled smoke plugin, with the host's answer.
    Refused(String),
}

/// Prepares and installs the plugin under test and the fixture plugins.
pub(crate) async fn install_plugins(
    opts: &RunOptions,
    host: &RunningHost,
    stage: &Stage,
    progress: &Progress,
) -> Result<Plugins> {
    let source = opts.plugin.clone().unwrap_or_else(|| {
        opts.scenarios_dir
            .join("plugins")
            .join("orchestration-smoke")
    });
    let sdk_version = opts.sdk_version.clone().or(host.sdk_version.clone());
    progress.step(format!("preparing plugin {}", source.display()));
    let prepared = plugin::prepare(
        &source,
        &host.plugin_home,
        sdk_version.as_deref(),
        host.node_bin.as_deref(),
        Some(&opts.cache_dir),
    )
    .await?;
    if !prepared.uses_registry_sdk {
        progress.step(format!(
            "note: {} does not depend on {}: its worker bundles its own SDK, so the SDK pin to the host's version (and --sdk-version) does not apply",
            source.display(),
            plugin::SDK_PACKAGE
        ));
    }
    let smoke = match plugin::install(&stage.client, &stage.world.board, &prepared).await {
        Ok(installed) => installed,
        // The bundled smoke plugin installs on the real hosts: a host that
        // refuses it breaks the contract, which is a failed check, not a
        // broken run. A plugin the user passed may itself be at fault, so
        // that stays a set-up error.
        Err(Error::Plugin(message)) if opts.plugin.is_none() => {
            return Ok(Plugins::Refused(message));
        }
        Err(e) => return Err(e),
    };
    progress.step(format!(
        "plugin {} installed (id {}, namespace {})",
        smoke.key,
        smoke.id,
        smoke.namespace.as_deref().unwrap_or("none")
    ));
    // The scope-probe fixture (company scoping property) goes beside the
    // plugin under test; without it that property is skipped.
    let probe_source = opts.scenarios_dir.join("plugins").join("scope-probe");
    let probe = if probe_source.is_dir() {
        let prepared = plugin::prepare(
            &probe_source,
            &host.plugin_home,
            sdk_version.as_deref(),
            host.node_bin.as_deref(),
            Some(&opts.cache_dir),
        )
        .await?;
        let installed = plugin::install(&stage.client, &stage.world.board, &prepared).await?;
        progress.step(format!("fixture plugin {} installed", installed.key));
        Some(installed)
    } else {
        None
    };
    Ok(Plugins::Installed(Installed {
        smoke,
        probe,
        sdk_node_modules: Some(prepared.dir.join("node_modules")).filter(|p| p.is_dir()),
    }))
}

/// The run directory: world-readable so that an ephemeral Postgres running
/// as the `postgres` user can reach its data directory inside it.
pub(crate) fn make_run_dir() -> Result<tempfile::TempDir> {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new()
        .prefix("conformance-run-")
        .tempdir()
        .map_err(|e| Error::io("creating a run directory in", std::env::temp_dir(), e))?;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
        .map_err(|e| Error::io("setting permissions on", dir.path(), e))?;
    Ok(dir)
}

/// The database the run reads must be the host's: the companies the world
/// just created over REST must be in it. Otherwise every row assertion would
/// blame the host for a wrong `--host-database-url`.
pub(super) async fn same_database(db: &HostDb, world: &World, base_url: &str) -> Result<()> {
    let Some((_, company)) = world.companies.first() else {
        return Ok(());
    };
    let found = db
        .rows(
            "select id from companies where id::text = $1",
            &[serde_json::json!(company.id)],
        )
        .await;
    let why = match found {
        Ok(rows) if !rows.is_empty() => return Ok(()),
        Ok(_) => "is not in it".to_string(),
        Err(e) => format!("cannot be read from it ({e})"),
    };
    Err(Error::Usage(format!(
        "the database given for the host is not the one the host at {base_url} uses: \
         company {} that the run just created over REST {why}; \
         pass the host's own database with --host-database-url",
        company.id
    )))
}

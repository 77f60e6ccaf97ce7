//! Plugin records and lifecycle: install by local path, activation
//! (migrations → worker → `initialize`), enable/disable/uninstall, and the
//! status transitions of contract-http.md §3.1.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Value};
use uuid::Uuid;

use crate::config::WORKER_HOST_VERSION;
use crate::db::rows;
use crate::error::{Error, Result};
use crate::host::Host;
use crate::plugin::host_services::{RuntimeDatabase, ServiceCtx};
use crate::plugin::manifest;
use crate::plugin::namespace;
use crate::plugin::worker::{WorkerHandle, WorkerSpec};

/// The version the mock claims for `minimumHostVersion` checks.
pub const COMPAT_HOST_VERSION: &str = "2026.707.0";

/// A plugin row.
#[derive(Debug, Clone)]
pub struct PluginRow {
    pub id: Uuid,
    pub plugin_key: String,
    pub version: String,
    pub package_name: String,
    pub status: String,
    pub manifest: Value,
    pub package_path: Option<String>,
    pub last_error: Option<String>,
}

const COLS: &str =
    "id, plugin_key, version, package_name, status, manifest_json, package_path, last_error";

fn from_row(r: &tokio_postgres::Row) -> PluginRow {
    PluginRow {
        id: r.get(0),
        plugin_key: r.get(1),
        version: r.get(2),
        package_name: r.get(3),
        status: r.get(4),
        manifest: r.get(5),
        package_path: r.get(6),
        last_error: r.get(7),
    }
}

fn is_uuid(s: &str) -> bool {
    static R: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    R.get_or_init(|| {
        regex::Regex::new(
            r"(?i)^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
        )
        .expect("static regex")
    })
    .is_match(s)
}

/// `resolvePlugin`: by uuid first (REF semantics: any value that parses
/// as a uuid), then by key. Uninstalled plugins still resolve.
pub async fn resolve(c: &impl crate::db::Db, raw: &str) -> Result<Option<PluginRow>> {
    let by_key_only = (raw.starts_with('@') || raw.contains('/')) && !is_uuid(raw);
    if !by_key_only {
        if let Ok(id) = Uuid::parse_str(raw) {
            if raw.len() == 36 {
                if let Some(r) = c
                    .query_opt(&format!("SELECT {COLS} FROM plugins WHERE id = $1"), &[&id])
                    .await?
                {
                    return Ok(Some(from_row(&r)));
                }
            }
        }
    }
    let r = c
        .query_opt(
            &format!("SELECT {COLS} FROM plugins WHERE plugin_key = $1"),
            &[&raw],
        )
        .await?;
    Ok(r.as_ref().map(from_row))
}

pub async fn get(c: &impl crate::db::Db, id: Uuid) -> Result<Option<PluginRow>> {
    let r = c
        .query_opt(&format!("SELECT {COLS} FROM plugins WHERE id = $1"), &[&id])
        .await?;
    Ok(r.as_ref().map(from_row))
}

/// The `PluginRecord` JSON.
pub async fn record_json(c: &impl crate::db::Db, id: Uuid) -> Result<Value> {
    rows::query_entity(
        c,
        "SELECT id, plugin_key, package_name, version, api_version, categories, manifest_json, status,
                install_order, package_path, last_error, installed_at, updated_at FROM plugins WHERE id = $1",
        &[&id],
    )
    .await?
    .ok_or_else(|| Error::not_found("Plugin not found"))
}

pub async fn set_status(
    c: &impl crate::db::Db,
    id: Uuid,
    status: &str,
    last_error: Option<&str>,
) -> Result<()> {
    c.execute(
        "UPDATE plugins SET status = $2, last_error = $3, updated_at = now() WHERE id = $1",
        &[&id, &status, &last_error],
    )
    .await?;
    Ok(())
}

/// Fetches and validates a local package; returns (package name, abs path,
/// validated manifest).
pub async fn fetch_local(host: &Host, package: &str) -> Result<(String, PathBuf, Value)> {
    let abs = std::path::absolute(package).unwrap_or_else(|_| PathBuf::from(package));
    if !abs.exists() {
        return Err(Error::internal(format!(
            "Local plugin path does not exist: {}",
            abs.display()
        )));
    }
    let pkg_json = abs.join("package.json");
    let pkg: Value = match std::fs::read_to_string(&pkg_json) {
        Ok(t) => serde_json::from_str(&t).map_err(|e| Error::internal(e.to_string()))?,
        Err(_) => {
            return Err(Error::internal(format!(
                "Missing package.json at {}",
                abs.display()
            )))
        }
    };
    let name = pkg
        .get("name")
        .and_then(Value::as_str)
        .map(String::from)
        .unwrap_or_else(|| {
            abs.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
    let candidates: Vec<PathBuf> = pkg
        .pointer("/paperclipPlugin/manifest")
        .and_then(Value::as_str)
        .map(|m| vec![abs.join(m)])
        .unwrap_or_default()
        .into_iter()
        .chain([abs.join("dist/manifest.js"), abs.join("manifest.js")])
        .collect();
    let Some(manifest_path) = candidates.into_iter().find(|p| p.is_file()) else {
        return Err(Error::internal(format!(
            "Package {name} at {} does not appear to be a Paperclip plugin (no manifest found).",
            abs.display()
        )));
    };
    let raw = host.manifests.load(&manifest_path).await?;
    let parsed = manifest::validate_with(&raw, host.config.plays.added_capabilities())
        .map_err(Error::internal)?;
    manifest::check_capability_consistency(&parsed).map_err(Error::internal)?;
    let id = parsed.get("id").and_then(Value::as_str).unwrap_or_default();
    let min = parsed
        .get("minimumHostVersion")
        .or_else(|| parsed.get("minimumPaperclipVersion"))
        .and_then(Value::as_str);
    if let Some(min) = min {
        let (Ok(want), Ok(have)) = (
            semver::Version::parse(min),
            semver::Version::parse(COMPAT_HOST_VERSION),
        ) else {
            return Err(Error::internal("invalid version"));
        };
        if want > have {
            return Err(Error::internal(format!(
                "Plugin {id} requires host version {min} or newer, but this server is running {COMPAT_HOST_VERSION}"
            )));
        }
    }
    Ok((name, abs, parsed))
}

/// `registry.install`: inserts (or revives an uninstalled) row, status
/// `installed`.
pub async fn register(
    c: &impl crate::db::Db,
    package_name: &str,
    package_path: &Path,
    manifest: &Value,
) -> Result<Uuid> {
    let key = manifest
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let version = manifest
        .get("version")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let api_version = manifest
        .get("apiVersion")
        .and_then(Value::as_i64)
        .unwrap_or(1) as i32;
    let categories = manifest.get("categories").cloned().unwrap_or(json!([]));
    let path = package_path.display().to_string();
    if let Some(existing) = resolve_key(c, key).await? {
        if existing.status != "uninstalled" {
            return Err(Error::conflict(format!("Plugin already installed: {key}")));
        }
        c.execute(
            "UPDATE plugins SET package_name = $2, version = $3, api_version = $4, categories = $5,
               manifest_json = $6, status = 'installed', package_path = $7, last_error = NULL, updated_at = now()
             WHERE id = $1",
            &[&existing.id, &package_name, &version, &api_version, &categories, manifest, &path],
        )
        .await?;
        return Ok(existing.id);
    }
    let row = c
        .query_one(
            "INSERT INTO plugins (plugin_key, package_name, version, api_version, categories, manifest_json, status, install_order, package_path)
             VALUES ($1, $2, $3, $4, $5, $6, 'installed', (SELECT coalesce(max(install_order), 0) + 1 FROM plugins), $7)
             RETURNING id",
            &[&key, &package_name, &version, &api_version, &categories, manifest, &path],
        )
        .await?;
    Ok(row.get(0))
}

async fn resolve_key(c: &impl crate::db::Db, key: &str) -> Result<Option<PluginRow>> {
    let r = c
        .query_opt(
            &format!("SELECT {COLS} FROM plugins WHERE plugin_key = $1"),
            &[&key],
        )
        .await?;
    Ok(r.as_ref().map(from_row))
}

/// Activation right after install: migrations, worker spawn, `initialize`.
/// On failure the plugin goes to `error` with `Activation failed: <msg>`.
pub async fn activate(host: &Arc<Host>, plugin_id: Uuid) -> Result<()> {
    activate_with(host, plugin_id, false).await
}

/// Activation of a plugin whose migrations ran before (enable, start-up).
pub async fn reactivate(host: &Arc<Host>, plugin_id: Uuid) -> Result<()> {
    activate_with(host, plugin_id, true).await
}

async fn activate_with(host: &Arc<Host>, plugin_id: Uuid, reactivation: bool) -> Result<()> {
    match try_activate(host, plugin_id, reactivation).await {
        Ok(()) => Ok(()),
        Err(e) => {
            let msg = e.message();
            if let Ok(client) = host.pool.get().await {
                let _ = set_status(
                    &client,
                    plugin_id,
                    "error",
                    Some(&format!("Activation failed: {msg}")),
                )
                .await;
            }
            host.workers.stop(plugin_id).await;
            Err(e)
        }
    }
}

async fn try_activate(host: &Arc<Host>, plugin_id: Uuid, reactivation: bool) -> Result<()> {
    let mut client = host.pool.get().await?;
    let failure_client = host.pool.get().await?;
    let plugin = get(&client, plugin_id)
        .await?
        .ok_or_else(|| Error::not_found("Plugin not found"))?;
    let root = PathBuf::from(plugin.package_path.clone().unwrap_or_default());
    let ns = namespace::apply_migrations(
        &mut client,
        &failure_client,
        plugin_id,
        &plugin.manifest,
        &root,
        &host.config.defects,
        namespace::LedgerRules::new(&host.config.defects, reactivation),
    )
    .await?;
    let worker_rel = plugin
        .manifest
        .pointer("/entrypoints/worker")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let entry = root.join(worker_rel);
    let entry = std::path::absolute(&entry).unwrap_or(entry);
    if !entry.starts_with(&root) {
        return Err(Error::internal(format!(
            "Worker entrypoint escapes package directory: {worker_rel}"
        )));
    }
    if !entry.is_file() {
        return Err(Error::internal(format!(
            "Worker entrypoint not found: {}",
            entry.display()
        )));
    }
    let config: Value = client
        .query_opt(
            "SELECT config_json FROM plugin_config WHERE plugin_id = $1",
            &[&plugin_id],
        )
        .await?
        .map(|r| r.get(0))
        .unwrap_or(json!({}));
    let capabilities: Vec<String> = plugin
        .manifest
        .get("capabilities")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    let database = RuntimeDatabase::load(&client, plugin_id, &plugin.manifest).await?;
    let spec = WorkerSpec {
        plugin_id,
        node: host.config.node.clone(),
        entry,
        init_params: json!({
            "manifest": plugin.manifest,
            "config": config,
            "instanceInfo": {"instanceId": host.config.instance_id, "hostVersion": WORKER_HOST_VERSION},
            "apiVersion": plugin.manifest.get("apiVersion").cloned().unwrap_or(json!(1)),
            "databaseNamespace": ns,
        }),
        services: ServiceCtx {
            pool: host.pool.clone(),
            plugin_id,
            plugin_key: plugin.plugin_key.clone(),
            capabilities: Arc::new(capabilities),
            defects: host.config.defects.clone(),
            plays: host.config.plays.clone(),
            database: Arc::new(database),
        },
    };
    host.workers.stop(plugin_id).await;
    let worker = WorkerHandle::new(spec);
    host.workers.insert(plugin_id, Arc::clone(&worker));
    worker.start().await?;
    set_status(&client, plugin_id, "ready", None).await?;
    Ok(())
}

/// `plugin.*` lifecycle activity: one row per company.
pub async fn log_lifecycle(
    c: &impl crate::db::Db,
    actor_type: &str,
    actor_id: &str,
    run_id: Option<Uuid>,
    action: &str,
    plugin_id: Uuid,
    details: Value,
) -> Result<()> {
    let companies = c
        .query("SELECT id FROM companies ORDER BY created_at", &[])
        .await?;
    for row in companies {
        crate::services::activity::log(
            c,
            crate::services::activity::Activity {
                company_id: row.get(0),
                actor_type,
                actor_id,
                action,
                entity_type: "plugin",
                entity_id: &plugin_id.to_string(),
                agent_id: None,
                run_id,
                details: details.clone(),
            },
        )
        .await?;
    }
    Ok(())
}

/// Re-activates every `ready` plugin at startup (`loadAll`).
pub async fn load_all(host: Arc<Host>) {
    let ids: Vec<Uuid> = match host.pool.get().await {
        Ok(c) => match c
            .query(
                "SELECT id FROM plugins WHERE status = 'ready' ORDER BY install_order",
                &[],
            )
            .await
        {
            Ok(rows) => rows.iter().map(|r| r.get(0)).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "listing plugins failed");
                return;
            }
        },
        Err(e) => {
            tracing::warn!(error = %e, "database unavailable");
            return;
        }
    };
    for id in ids {
        if let Err(e) = reactivate(&host, id).await {
            tracing::warn!(plugin = %id, error = %e, "plugin activation failed");
        }
    }
}

//! Plugin database namespaces: schema name derivation (A1), the namespace
//! registry rows, and the migration runner with its ledger (A2/A3).

use std::path::{Component, Path};

use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::config::{Defect, Defects};
use crate::db::Client;
use crate::error::{Error, Result};
use crate::plugin::sqlguard;

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `derivePluginDatabaseNamespace(pluginKey, namespaceSlug?)`.
pub fn derive_namespace(plugin_key: &str, slug: Option<&str>) -> String {
    derive(plugin_key, slug, plugin_key)
}

/// The namespace the host uses, defects included.
pub fn host_namespace(plugin_key: &str, slug: Option<&str>, defects: &Defects) -> String {
    // Defect namespace-slug-hash: the suffix hashes the slug (when there is
    // one) instead of the plugin key.
    if defects.has(Defect::NamespaceSlugHash) {
        return derive(plugin_key, slug, slug.unwrap_or(plugin_key));
    }
    derive_namespace(plugin_key, slug)
}

fn derive(plugin_key: &str, slug: Option<&str>, hashed: &str) -> String {
    let hash = &sha256_hex(hashed.as_bytes())[..10];
    let base = slug.unwrap_or(plugin_key).to_lowercase();
    // Runs of characters outside [a-z0-9_] become one `_`.
    let mut s = String::new();
    let mut in_run = false;
    for c in base.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
            s.push(c);
            in_run = false;
        } else if !in_run {
            s.push('_');
            in_run = true;
        }
    }
    let s = s.trim_matches('_');
    let mut collapsed = String::new();
    for c in s.chars() {
        if c == '_' && collapsed.ends_with('_') {
            continue;
        }
        collapsed.push(c);
    }
    let mut slug: String = collapsed.chars().take(36).collect();
    if slug.is_empty() {
        slug = "plugin".into();
    }
    let mut name = format!("plugin_{slug}_{hash}");
    name.truncate(63);
    name
}

/// The manifest's `database` block, if any.
pub struct DatabaseDecl {
    pub namespace_slug: Option<String>,
    pub migrations_dir: String,
    pub core_read_tables: Vec<String>,
}

impl DatabaseDecl {
    pub fn from_manifest(manifest: &Value) -> Option<Self> {
        let db = manifest.get("database")?.as_object()?;
        Some(DatabaseDecl {
            namespace_slug: db
                .get("namespaceSlug")
                .and_then(Value::as_str)
                .map(String::from),
            migrations_dir: db
                .get("migrationsDir")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            core_read_tables: core_read_tables(manifest),
        })
    }
}

/// `manifest.database.coreReadTables ?? []`.
pub fn core_read_tables(manifest: &Value) -> Vec<String> {
    manifest
        .pointer("/database/coreReadTables")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// `CREATE SCHEMA IF NOT EXISTS` + upsert of the registry row (status
/// forced back to `active`).
pub async fn ensure_namespace(
    client: &impl crate::db::Db,
    plugin_id: Uuid,
    plugin_key: &str,
    namespace: &str,
) -> Result<()> {
    client
        .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS \"{namespace}\""))
        .await?;
    client
        .execute(
            "INSERT INTO plugin_database_namespaces (plugin_id, plugin_key, namespace_name, namespace_mode, status)
             VALUES ($1, $2, $3, 'schema', 'active')
             ON CONFLICT (plugin_id) DO UPDATE SET plugin_key = EXCLUDED.plugin_key,
               namespace_name = EXCLUDED.namespace_name, namespace_mode = 'schema',
               status = 'active', updated_at = now()",
            &[&plugin_id, &plugin_key, &namespace],
        )
        .await?;
    Ok(())
}

/// The active namespace of a plugin, if it has one.
pub async fn active_namespace(client: &Client, plugin_id: Uuid) -> Result<Option<String>> {
    let row = crate::db::Db::query_opt(
            client,
            "SELECT namespace_name FROM plugin_database_namespaces WHERE plugin_id = $1 AND status = 'active'",
            &[&plugin_id],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// The active namespace of a plugin (`getRuntimeNamespace`): an error
/// when there is none, in the real host's words.
pub fn runtime_namespace(active: Option<&str>) -> Result<&str> {
    active.ok_or_else(|| Error::internal("Plugin database namespace is not active"))
}

/// The migration files of a directory, in the real host's order.
pub fn discover_migrations(dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        // Dirent.isFile(): symlinks and directories are skipped.
        if entry.file_type()?.is_file() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".sql") {
                names.push(name);
            }
        }
    }
    // Approximates JS localeCompare: case-insensitive first, then by bytes.
    names.sort_by(|a, b| a.to_lowercase().cmp(&b.to_lowercase()).then(a.cmp(b)));
    Ok(names)
}

/// Advisory lock key: the first 12 hex chars of sha256(plugin id) as an int.
pub fn migration_lock_key(plugin_id: Uuid) -> i64 {
    let h = sha256_hex(plugin_id.to_string().as_bytes());
    i64::from_str_radix(&h[..12], 16).unwrap_or(0)
}

/// How one migration run treats the ledger: the real host's rules, or a
/// defect's deviation from them.
#[derive(Debug, Clone, Copy, Default)]
pub struct LedgerRules {
    /// Defect reapply-migrations: applied files run again.
    pub reapply: bool,
    /// Defect ignore-checksum: a changed applied file is skipped.
    pub ignore_checksum: bool,
    /// Defect no-failed-ledger-row: a failure leaves no `failed` row.
    pub no_failed_row: bool,
    /// Defect ledger-retimed: a re-activation stamps applied rows with a
    /// new applied time.
    pub retime: bool,
}

impl LedgerRules {
    /// The rules for a run; `reactivation` is an activation of a plugin
    /// whose migrations ran before (enable, start-up), not the one right
    /// after its install.
    pub fn new(defects: &Defects, reactivation: bool) -> Self {
        LedgerRules {
            reapply: reactivation && defects.has(Defect::ReapplyMigrations),
            ignore_checksum: defects.has(Defect::IgnoreChecksum),
            no_failed_row: defects.has(Defect::NoFailedLedgerRow),
            retime: reactivation && defects.has(Defect::LedgerRetimed),
        }
    }
}

/// `applyMigrations` at activation: returns the namespace, or None without
/// `database`. `failure_client` is a second connection: failure rows are
/// written there so they survive the rollback of the migration transaction.
pub async fn apply_migrations(
    client: &mut Client,
    failure_client: &Client,
    plugin_id: Uuid,
    manifest: &Value,
    package_root: &Path,
    defects: &Defects,
    rules: LedgerRules,
) -> Result<Option<String>> {
    let Some(plan) = Plan::new(manifest, package_root, defects)? else {
        return Ok(None);
    };
    ensure_namespace(&***client, plugin_id, &plan.plugin_key, &plan.namespace).await?;
    let tx = client.transaction().await?;
    run_files(&tx, Some(failure_client), plugin_id, &plan, rules).await?;
    tx.commit().await?;
    Ok(Some(plan.namespace))
}

/// Install-time migrations (2026.707.0, docs/findings.md F5): namespace and
/// files inside the caller's install transaction, failures not recorded, so
/// a failing install leaves nothing behind.
pub async fn apply_migrations_in_install(
    tx: &deadpool_postgres::Transaction<'_>,
    plugin_id: Uuid,
    manifest: &Value,
    package_root: &Path,
    defects: &Defects,
) -> Result<Option<String>> {
    let Some(plan) = Plan::new(manifest, package_root, defects)? else {
        return Ok(None);
    };
    ensure_namespace(&**tx, plugin_id, &plan.plugin_key, &plan.namespace).await?;
    run_files(tx, None, plugin_id, &plan, LedgerRules::new(defects, false)).await?;
    Ok(Some(plan.namespace))
}

/// What one migration run works with.
struct Plan {
    plugin_key: String,
    version: String,
    namespace: String,
    dir: std::path::PathBuf,
    core_read_tables: Vec<String>,
}

impl Plan {
    fn new(manifest: &Value, package_root: &Path, defects: &Defects) -> Result<Option<Plan>> {
        let Some(decl) = DatabaseDecl::from_manifest(manifest) else {
            return Ok(None);
        };
        let plugin_key = manifest
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let version = manifest
            .get("version")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let namespace = host_namespace(&plugin_key, decl.namespace_slug.as_deref(), defects);
        let rel = Path::new(&decl.migrations_dir);
        if rel.is_absolute() || rel.components().next() == Some(Component::ParentDir) {
            return Err(Error::internal(format!(
                "Plugin migrationsDir escapes package root: {}",
                decl.migrations_dir
            )));
        }
        Ok(Some(Plan {
            plugin_key,
            version,
            namespace,
            dir: package_root.join(rel),
            core_read_tables: decl.core_read_tables,
        }))
    }
}

/// The files of one run, in one transaction under the plugin's advisory
/// lock. With `failure_client`, a failing file is recorded outside it.
async fn run_files(
    tx: &deadpool_postgres::Transaction<'_>,
    failure_client: Option<&Client>,
    plugin_id: Uuid,
    plan: &Plan,
    rules: LedgerRules,
) -> Result<()> {
    let dir = &plan.dir;
    let namespace = &plan.namespace;
    let plugin_key = &plan.plugin_key;
    let version = &plan.version;
    let files = discover_migrations(dir).map_err(|e| match e {
        Error::Io(io) => Error::internal(format!(
            "ENOENT: no such file or directory, scandir '{}' ({io})",
            dir.display()
        )),
        other => other,
    })?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1)",
        &[&migration_lock_key(plugin_id)],
    )
    .await?;
    for file in &files {
        let text = std::fs::read_to_string(dir.join(file))?;
        let checksum = sha256_hex(text.as_bytes());
        let existing = tx
            .query_opt(
                "SELECT status, checksum FROM plugin_migrations WHERE plugin_id = $1 AND migration_key = $2",
                &[&plugin_id, &file],
            )
            .await?;
        if let Some(row) = existing {
            let status: String = row.get(0);
            let old: String = row.get(1);
            // Defect reapply-migrations: the applied row is not consulted.
            if status == "applied" && !rules.reapply {
                if old == checksum {
                    // Defect ledger-retimed: the skipped row gets a new time.
                    if rules.retime {
                        tx.execute(
                            "UPDATE plugin_migrations SET applied_at = now() WHERE plugin_id = $1 AND migration_key = $2",
                            &[&plugin_id, &file],
                        )
                        .await?;
                    }
                    continue;
                }
                // Defect ignore-checksum: the edited file is skipped.
                if rules.ignore_checksum {
                    continue;
                }
                // Outside the failure recorder: no ledger trace, rollback.
                return Err(Error::internal(format!(
                    "Plugin migration checksum mismatch for {file}"
                )));
            }
        }
        let attempt: Result<()> = async {
            let statements = sqlguard::split_statements(&text);
            if statements.is_empty() {
                return Err(Error::internal(format!("Plugin migration {file} is empty")));
            }
            for st in &statements {
                sqlguard::validate_migration_statement(st, namespace, &plan.core_read_tables)
                    .map_err(Error::internal)?;
                // The real host's query builder wraps driver errors this way.
                tx.batch_execute(st)
                    .await
                    .map_err(|_| Error::internal(format!("Failed query: {st}\nparams: ")))?;
            }
            tx.execute(
                "INSERT INTO plugin_migrations (plugin_id, plugin_key, namespace_name, migration_key, checksum, plugin_version, status, applied_at)
                 VALUES ($1, $2, $3, $4, $5, $6, 'applied', now())
                 ON CONFLICT (plugin_id, migration_key) DO UPDATE SET checksum = EXCLUDED.checksum,
                   plugin_version = EXCLUDED.plugin_version, status = 'applied', error_message = NULL,
                   started_at = now(), applied_at = now()",
                &[&plugin_id, plugin_key, namespace, &file, &checksum, version],
            )
            .await?;
            Ok(())
        }
        .await;
        if let Err(e) = attempt {
            if let Some(fc) = failure_client {
                let message = e.message();
                let failed = FailedMigration {
                    plugin_id,
                    plugin_key,
                    namespace,
                    file,
                    checksum: &checksum,
                    version,
                    message: &message,
                };
                record_failure(fc, &failed, rules).await?;
            }
            return Err(e);
        }
    }
    Ok(())
}

/// A migration that failed: what its `failed` ledger row records.
struct FailedMigration<'a> {
    plugin_id: Uuid,
    plugin_key: &'a str,
    namespace: &'a str,
    file: &'a str,
    checksum: &'a str,
    version: &'a str,
    message: &'a str,
}

async fn record_failure(
    client: &Client,
    m: &FailedMigration<'_>,
    rules: LedgerRules,
) -> Result<()> {
    // Defect no-failed-ledger-row: the failure is not written to the ledger
    // (the namespace is still marked below).
    if !rules.no_failed_row {
        record_failed_row(client, m).await?;
    }
    client
        .execute(
            "UPDATE plugin_database_namespaces SET status = 'migration_failed', updated_at = now() WHERE plugin_id = $1",
            &[&m.plugin_id],
        )
        .await?;
    Ok(())
}

async fn record_failed_row(client: &Client, m: &FailedMigration<'_>) -> Result<()> {
    client
        .execute(
            "INSERT INTO plugin_migrations (plugin_id, plugin_key, namespace_name, migration_key, checksum, plugin_version, status, error_message)
             VALUES ($1, $2, $3, $4, $5, $6, 'failed', $7)
             ON CONFLICT (plugin_id, migration_key) DO UPDATE SET checksum = EXCLUDED.checksum,
               plugin_version = EXCLUDED.plugin_version, status = 'failed',
               error_message = EXCLUDED.error_message, started_at = now(), applied_at = NULL",
            &[&m.plugin_id, &m.plugin_key, &m.namespace, &m.file, &m.checksum, &m.version, &m.message],
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    // contract-db-worker.md A1 worked examples.
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
    #[case("paperclip.escape", None, "plugin_paperclip_escape_5fe8b13325")]
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
    fn namespace_names(#[case] key: &str, #[case] slug: Option<&str>, #[case] expected: &str) {
        assert_eq!(derive_namespace(key, slug), expected);
    }

    #[test]
    fn lock_key_is_48_bits() {
        let k = migration_lock_key(Uuid::nil());
        assert!((0..(1i64 << 48)).contains(&k));
    }
}

//! The contract's model of a plugin's migration lifecycle.
//!
//! Rules (contract-db-worker.md A2–A3, contract-http.md §3.1, §3.4–3.5, §8.3,
//! and the real host 2026.707.0 where it goes beyond the documents — see
//! docs/findings.md F5–F7):
//! - migrations are applied in file-name order, once per plugin: an applied
//!   file with an unchanged checksum is skipped, a changed checksum fails with
//!   `Plugin migration checksum mismatch for <file>`;
//! - install applies migrations all-or-nothing: on failure the host answers 400
//!   with the message and leaves no trace (no plugin row, ledger row,
//!   namespace row or schema; an uninstalled row stays uninstalled);
//! - enable (re)activates and records failures: a failed file gets a `failed`
//!   ledger row with the message, the namespace turns `migration_failed`, the
//!   plugin `error` with `Activation failed: <message>`; files applied earlier
//!   in the same activation roll back;
//! - uninstall keeps rows and data; reinstall reuses the row; purge deletes the
//!   rows but leaves the schema and its tables, so reinstalling then fails on
//!   `CREATE TABLE` (`Failed query: <sql>\nparams: `);
//! - lifecycle answers and refusals as §3.4 lists them; each successful
//!   lifecycle action writes one activity row per company (§8.3).

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

/// One step of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Install,
    Disable,
    Enable,
    Uninstall,
    Purge,
    /// Write a new, valid migration creating another table.
    AddMigration,
    /// Change the first migration's text after it may have been applied.
    EditFirst,
    /// Put the first migration's original text back.
    RevertFirst,
    /// Write a migration that the statement guard rejects.
    AddFailing,
    /// Remove the failing migrations again.
    RemoveFailing,
    /// Insert a row into the plugin's first table (directly in the database).
    WriteData,
}

/// A migration file in the package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub sql: String,
    /// The table it creates, for valid files.
    pub table: Option<String>,
    /// The guard's message, for failing files.
    pub rejection: Option<String>,
}

/// A ledger row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRow {
    pub status: &'static str,
    pub checksum: String,
    pub error: Option<String>,
}

/// What an operation must answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// The exact error text for refusals.
    pub error: Option<String>,
}

impl Answer {
    fn ok() -> Self {
        Answer {
            status: 200,
            error: None,
        }
    }
    fn refused(status: u16, error: String) -> Self {
        Answer {
            status,
            error: Some(error),
        }
    }
}

/// Everything the model tracks for one plugin key.
#[derive(Debug, Clone)]
pub struct Model {
    pub key: String,
    pub namespace: String,
    /// Files on disk, by name.
    pub files: BTreeMap<String, File>,
    /// Plugin row status; `None` when no row exists.
    pub status: Option<&'static str>,
    pub last_error: Option<String>,
    pub ledger: BTreeMap<String, LedgerRow>,
    pub namespace_status: Option<&'static str>,
    /// Tables that exist in the namespace schema.
    pub tables: BTreeSet<String>,
    pub data_rows: u64,
    /// Successful lifecycle actions, by activity action name.
    pub lifecycle: BTreeMap<&'static str, u64>,
    next_file: u32,
}

/// SHA-256 hex of a file's text: the ledger checksum.
pub fn checksum(sql: &str) -> String {
    hex::encode(Sha256::digest(sql.as_bytes()))
}

impl Model {
    /// A package with one migration creating `probe_rows`, not installed yet.
    pub fn new(key: &str, namespace: &str) -> Model {
        let mut m = Model {
            key: key.to_string(),
            namespace: namespace.to_string(),
            files: BTreeMap::new(),
            status: None,
            last_error: None,
            ledger: BTreeMap::new(),
            namespace_status: None,
            tables: BTreeSet::new(),
            data_rows: 0,
            lifecycle: BTreeMap::new(),
            next_file: 2,
        };
        m.files
            .insert("001_init.sql".into(), m.valid("probe_rows", ""));
        m
    }

    fn valid(&self, table: &str, extra: &str) -> File {
        File {
            sql: format!(
                "CREATE TABLE {}.{table} (id uuid PRIMARY KEY, note text{extra});\n",
                self.namespace
            ),
            table: Some(table.to_string()),
            rejection: None,
        }
    }

    /// The statement as hosts echo it in `Failed query:` errors.
    fn statement(file: &File) -> String {
        file.sql.trim().trim_end_matches(';').trim().to_string()
    }

    /// Applies the package's files; `Err` carries the failure message and the
    /// failing file, `Ok` the files applied now.
    fn migrate(&self) -> Result<Vec<String>, (String, String)> {
        let mut applied_now = Vec::new();
        let mut tables = self.tables.clone();
        for (name, file) in &self.files {
            let sum = checksum(&file.sql);
            if let Some(row) = self.ledger.get(name) {
                if row.status == "applied" {
                    if row.checksum == sum {
                        continue;
                    }
                    return Err((
                        format!("Plugin migration checksum mismatch for {name}"),
                        name.clone(),
                    ));
                }
            }
            if let Some(rejection) = &file.rejection {
                return Err((rejection.clone(), name.clone()));
            }
            let table = file.table.clone().unwrap_or_default();
            if tables.contains(&table) {
                return Err((
                    format!("Failed query: {}\nparams: ", Self::statement(file)),
                    name.clone(),
                ));
            }
            tables.insert(table);
            applied_now.push(name.clone());
        }
        Ok(applied_now)
    }

    fn record_applied(&mut self, names: &[String]) {
        for name in names {
            let file = &self.files[name];
            self.ledger.insert(
                name.clone(),
                LedgerRow {
                    status: "applied",
                    checksum: checksum(&file.sql),
                    error: None,
                },
            );
            if let Some(t) = &file.table {
                self.tables.insert(t.clone());
            }
        }
    }

    fn count(&mut self, action: &'static str) {
        *self.lifecycle.entry(action).or_default() += 1;
    }

    /// Applies `op` to the model; returns the answer a host must give for ops
    /// that call the host (`None` for package edits and data writes).
    pub fn apply(&mut self, op: Op) -> Option<Answer> {
        let not_found = || Some(Answer::refused(404, "Plugin not found".into()));
        match op {
            Op::Install => {
                if let Some(s) = self.status.filter(|s| *s != "uninstalled") {
                    let _ = s;
                    return Some(Answer::refused(400, format!("Plugin already installed: {}", self.key)));
                }
                match self.migrate() {
                    Ok(applied) => {
                        self.record_applied(&applied);
                        self.status = Some("ready");
                        self.last_error = None;
                        self.namespace_status = Some("active");
                        self.count("plugin.installed");
                        Some(Answer::ok())
                    }
                    Err((message, _)) => Some(Answer::refused(400, message)),
                }
            }
            Op::Disable => match self.status {
                None => not_found(),
                Some("ready") => {
                    self.status = Some("disabled");
                    self.last_error = None;
                    self.count("plugin.disabled");
                    Some(Answer::ok())
                }
                Some(s) => Some(Answer::refused(
                    400,
                    format!("Cannot disable plugin in status '{s}'. Plugin must be in 'ready' status to be disabled."),
                )),
            },
            Op::Enable => match self.status {
                None => not_found(),
                Some("disabled") | Some("error") => {
                    // The namespace is ensured (and set active) before migrating.
                    self.namespace_status = Some("active");
                    match self.migrate() {
                        Ok(applied) => {
                            self.record_applied(&applied);
                            self.status = Some("ready");
                            self.last_error = None;
                            self.count("plugin.enabled");
                            Some(Answer::ok())
                        }
                        Err((message, file)) => {
                            if !message.starts_with("Plugin migration checksum mismatch") {
                                let sum = checksum(&self.files[&file].sql);
                                self.ledger.insert(
                                    file,
                                    LedgerRow {
                                        status: "failed",
                                        checksum: sum,
                                        error: Some(message.clone()),
                                    },
                                );
                                self.namespace_status = Some("migration_failed");
                            }
                            self.status = Some("error");
                            self.last_error = Some(format!("Activation failed: {message}"));
                            Some(Answer::refused(400, message))
                        }
                    }
                }
                Some(s) => Some(Answer::refused(
                    400,
                    format!(
                        "Cannot enable plugin in status '{s}'. Plugin must be in 'disabled', 'error', or 'upgrade_pending' status to be enabled."
                    ),
                )),
            },
            Op::Uninstall => match self.status {
                None => not_found(),
                Some("uninstalled") => Some(Answer::refused(
                    400,
                    format!(
                        "Plugin {} is already uninstalled. Use removeData=true to permanently delete it.",
                        self.key
                    ),
                )),
                Some(_) => {
                    self.status = Some("uninstalled");
                    self.count("plugin.uninstalled");
                    Some(Answer::ok())
                }
            },
            Op::Purge => match self.status {
                None => not_found(),
                Some(_) => {
                    // Rows go; the schema, its tables and their data stay.
                    self.status = None;
                    self.last_error = None;
                    self.ledger.clear();
                    self.namespace_status = None;
                    self.count("plugin.uninstalled");
                    Some(Answer::ok())
                }
            },
            Op::AddMigration => {
                let n = self.next_file;
                self.next_file += 1;
                let file = self.valid(&format!("more_rows_{n}"), "");
                self.files.insert(format!("{n:03}_more.sql"), file);
                None
            }
            Op::EditFirst => {
                let file = self.valid("probe_rows", ", edited integer");
                self.files.insert("001_init.sql".into(), file);
                None
            }
            Op::RevertFirst => {
                let file = self.valid("probe_rows", "");
                self.files.insert("001_init.sql".into(), file);
                None
            }
            Op::AddFailing => {
                let n = self.next_file;
                self.next_file += 1;
                let table = format!("probe_escape_{n}");
                self.files.insert(
                    format!("{n:03}_escape.sql"),
                    File {
                        sql: format!("CREATE TABLE public.{table} (id uuid PRIMARY KEY);\n"),
                        table: None,
                        rejection: Some(format!("Plugin SQL references public.{table}, which is not whitelisted")),
                    },
                );
                None
            }
            Op::RemoveFailing => {
                self.files.retain(|_, f| f.rejection.is_none());
                None
            }
            Op::WriteData => {
                if self.tables.contains("probe_rows") {
                    self.data_rows += 1;
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Model {
        Model::new("conformance.migration-probe-t", "plugin_migration_probe_t")
    }

    #[test]
    fn install_applies_once_and_reinstall_skips() {
        let mut m = model();
        assert_eq!(m.apply(Op::Install), Some(Answer::ok()));
        assert_eq!(m.ledger.len(), 1);
        m.apply(Op::Uninstall);
        assert_eq!(m.apply(Op::Install), Some(Answer::ok()));
        assert_eq!(m.lifecycle["plugin.installed"], 2);
        assert_eq!(m.ledger.len(), 1);
    }

    #[test]
    fn edited_migration_fails_enable_with_checksum_mismatch_and_no_failed_row() {
        let mut m = model();
        m.apply(Op::Install);
        m.apply(Op::Disable);
        m.apply(Op::EditFirst);
        let a = m.apply(Op::Enable).unwrap();
        assert_eq!(
            a.error.as_deref(),
            Some("Plugin migration checksum mismatch for 001_init.sql")
        );
        assert_eq!(m.status, Some("error"));
        assert_eq!(m.ledger["001_init.sql"].status, "applied");
        assert_eq!(m.namespace_status, Some("active"));
    }

    #[test]
    fn failing_migration_on_enable_is_recorded_but_not_on_install() {
        let mut m = model();
        m.apply(Op::AddFailing);
        let a = m.apply(Op::Install).unwrap();
        assert_eq!(a.status, 400);
        assert_eq!(m.status, None);
        assert!(m.ledger.is_empty());
        m.apply(Op::RemoveFailing);
        m.apply(Op::Install);
        m.apply(Op::Disable);
        m.apply(Op::AddFailing);
        let a = m.apply(Op::Enable).unwrap();
        assert!(a.error.unwrap().contains("not whitelisted"));
        assert_eq!(m.namespace_status, Some("migration_failed"));
        assert_eq!(
            m.ledger.values().filter(|r| r.status == "failed").count(),
            1
        );
    }

    #[test]
    fn purge_then_reinstall_fails_on_the_leftover_table() {
        let mut m = model();
        m.apply(Op::Install);
        m.apply(Op::Purge);
        let a = m.apply(Op::Install).unwrap();
        assert_eq!(
            a.error.as_deref(),
            Some("Failed query: CREATE TABLE plugin_migration_probe_t.probe_rows (id uuid PRIMARY KEY, note text)\nparams: ")
        );
        assert_eq!(m.status, None);
    }
}

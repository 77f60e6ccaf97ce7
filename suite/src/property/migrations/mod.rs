//! Property: plugin migrations replay idempotently through any lifecycle.
//!
//! Generated sequences of lifecycle operations (install, disable, enable,
//! uninstall, reinstall, purge) interleaved with package changes (a new
//! migration, an applied migration edited and reverted, a migration the guard
//! rejects) and data writes run against a plugin package of the case's own.
//! After every step the host's answer, the plugin record, the migration
//! ledger, the namespace row, the namespace's tables, the plugin's data and
//! the lifecycle activity rows must match the [`model`].

pub mod model;
pub mod package;

use std::collections::BTreeMap;

use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::{json, Value};

use self::model::{Model, Op};
use self::package::ProbePackage;
use super::concurrent::run_property_concurrently;
use super::{CaseFailure, Property, PropertyConfig, PropertyEnv};
use crate::check::CheckResult;
use crate::client::{Call, HostClient};
use crate::db::HostDb;
use crate::exchange::Exchange;

/// The migration idempotency property.
pub struct MigrationsProperty;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Install),
        2 => Just(Op::Disable),
        3 => Just(Op::Enable),
        2 => Just(Op::Uninstall),
        1 => Just(Op::Purge),
        2 => Just(Op::AddMigration),
        1 => Just(Op::EditFirst),
        1 => Just(Op::RevertFirst),
        1 => Just(Op::AddFailing),
        1 => Just(Op::RemoveFailing),
        2 => Just(Op::WriteData),
    ]
}

/// Fixed sequences that always run, one per rule that random sequences
/// reach only sometimes: re-activation applies nothing again, an edited
/// applied migration fails the checksum, a failing migration on enable leaves
/// a `failed` row, and a reinstall after an edit refuses the changed file.
fn sentinels() -> Vec<Vec<Op>> {
    use Op::*;
    vec![
        vec![Install, Disable, Enable],
        vec![Install, Disable, EditFirst, Enable],
        vec![Install, Disable, AddFailing, Enable],
        vec![Install, EditFirst, Uninstall, Install],
    ]
}

/// Sequences start with an install, so that every case does something.
fn sequences() -> impl Strategy<Value = Vec<Op>> {
    vec(op(), 1..7).prop_map(|rest| {
        let mut ops = vec![Op::Install];
        ops.extend(rest);
        ops
    })
}

impl Property for MigrationsProperty {
    fn id(&self) -> &'static str {
        "migrations"
    }

    fn title(&self) -> &'static str {
        "Plugin migrations apply once per plugin through any lifecycle sequence, with the ledger, namespace and errors the contract names"
    }

    fn source(&self) -> &'static str {
        "contract-db-worker.md A1–A3; contract-http.md §3.1, §3.4–3.5, §8.3; real-host.md §9; docs/findings.md F5–F7"
    }

    fn tags(&self) -> Vec<String> {
        vec!["property".into(), "migrations".into(), "database".into()]
    }

    fn check(&self, env: &PropertyEnv, config: &PropertyConfig) -> CheckResult {
        let (Some(db), Some(sdk)) = (env.db.clone(), env.sdk_node_modules.clone()) else {
            return super::skipped(
                self,
                env,
                config,
                "needs the host's database and a plugin SDK installation; pass --host-database-url",
            );
        };
        // Each case has a plugin, a namespace and rows of its own: its cases
        // run side by side.
        let jobs = config.case_jobs;
        run_property_concurrently(self, env, config, &sentinels(), sequences(), jobs, |ops| {
            env.handle.block_on(async {
                let nonce = uuid::Uuid::new_v4().simple().to_string()[..10].to_string();
                let package = ProbePackage::create(&env.work_dir, &nonce, &sdk).map_err(|e| {
                    CaseFailure::message(format!("writing the case's package failed: {e}"))
                })?;
                let mut case = Case {
                    client: &env.client,
                    db: &db,
                    board: &env.world.board,
                    model: Model::new(&package.key, &package.namespace),
                    package,
                    plugin_ids: Vec::new(),
                    applied_at: BTreeMap::new(),
                    exchanges: Vec::new(),
                };
                let outcome = case.run(ops).await;
                case.clean_up().await;
                outcome
            })
        })
    }
}

/// One case in progress.
struct Case<'a> {
    client: &'a HostClient,
    db: &'a HostDb,
    board: &'a crate::client::Credentials,
    model: Model,
    package: ProbePackage,
    /// Every row id the plugin had (a purge and reinstall gives a new one).
    plugin_ids: Vec<String>,
    /// When each applied migration was applied: it must never change.
    applied_at: BTreeMap<String, String>,
    exchanges: Vec<Exchange>,
}

impl Case<'_> {
    async fn run(&mut self, ops: &[Op]) -> Result<(), CaseFailure> {
        self.sync_files()?;
        // The companies that exist when the case starts: a company another
        // check creates meanwhile (the scoping property makes its own) gets
        // only some of the case's activity rows, so it is left out.
        let companies: Vec<Value> = self
            .db
            .rows("select id::text as id from companies", &[])
            .await
            .map_err(CaseFailure::message)?
            .into_iter()
            .map(|r| r["id"].clone())
            .collect();
        for (i, op) in ops.iter().enumerate() {
            // A database the run may only read (--board-token) gets no
            // plugin data: the step is left out of the case, model and all.
            if *op == Op::WriteData && self.db.is_read_only() {
                continue;
            }
            let at = format!("step {} ({op:?}) of {ops:?}", i + 1);
            let expected = self.model.apply(*op);
            match expected {
                None => self
                    .change_package(*op)
                    .await
                    .map_err(|m| CaseFailure::message(format!("{at}: {m}")))?,
                Some(answer) => {
                    let exchange = self.client.send(&self.call(*op)).await;
                    self.exchanges.push(exchange.clone());
                    let got = exchange
                        .response
                        .as_ref()
                        .map(|r| (r.status, r.body.clone()));
                    let ok = match (&got, &answer.error) {
                        (Some((status, _)), None) => *status == answer.status,
                        (Some((status, body)), Some(e)) => {
                            *status == answer.status && *body == json!({ "error": e })
                        }
                        (None, _) => false,
                    };
                    if !ok {
                        return Err(self.failure(
                            format!("{at}: the host answered differently"),
                            json!({ "status": answer.status, "error": answer.error }),
                            got.map(|(s, b)| json!({ "status": s, "body": b }))
                                .unwrap_or(Value::Null),
                        ));
                    }
                    if let Some((200, body)) = &got {
                        if let Some(id) = body["id"].as_str().filter(|_| !matches!(op, Op::Purge)) {
                            if !self.plugin_ids.iter().any(|p| p == id) {
                                self.plugin_ids.push(id.to_string());
                            }
                        }
                    }
                }
            }
            self.check_invariants(&at, &companies).await?;
        }
        Ok(())
    }

    fn call(&self, op: Op) -> Call {
        let key = &self.model.key;
        let call = match op {
            Op::Install => Call::new("POST", "/api/plugins/install")
                .json(json!({ "packageName": self.package.dir.display().to_string(), "isLocalPath": true })),
            Op::Disable => Call::new("POST", format!("/api/plugins/{key}/disable")).json(json!({})),
            Op::Enable => Call::new("POST", format!("/api/plugins/{key}/enable")).json(json!({})),
            Op::Uninstall => Call::new("DELETE", format!("/api/plugins/{key}")),
            _ => Call::new("DELETE", format!("/api/plugins/{key}?purge=true")),
        };
        call.as_(self.board)
    }

    /// Makes the files on disk what the model says they are.
    fn sync_files(&self) -> Result<(), CaseFailure> {
        let dir = self.package.dir.join("migrations");
        let on_disk: Vec<String> = std::fs::read_dir(&dir)
            .map_err(|e| CaseFailure::message(format!("reading {}: {e}", dir.display())))?
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().to_string()))
            .collect();
        for name in on_disk
            .iter()
            .filter(|n| !self.model.files.contains_key(*n))
        {
            self.package
                .remove_migration(name)
                .map_err(|e| CaseFailure::message(e.to_string()))?;
        }
        for (name, file) in &self.model.files {
            self.package
                .write_migration(name, &file.sql)
                .map_err(|e| CaseFailure::message(e.to_string()))?;
        }
        Ok(())
    }

    async fn change_package(&mut self, op: Op) -> Result<(), String> {
        if op == Op::WriteData {
            if self.model.tables.contains("probe_rows") {
                let sql = format!(
                    "insert into {}.probe_rows (id, note) values (gen_random_uuid(), 'kept')",
                    self.model.namespace
                );
                self.db
                    .execute(&sql, &[])
                    .await
                    .map_err(|e| e.to_string())?;
            }
            return Ok(());
        }
        self.sync_files().map_err(|f| f.message)
    }

    async fn check_invariants(&mut self, at: &str, companies: &[Value]) -> Result<(), CaseFailure> {
        let key = self.model.key.clone();
        // The plugin record.
        let record = self
            .client
            .send(&Call::new("GET", format!("/api/plugins/{key}")).as_(self.board))
            .await;
        let actual = record.response.as_ref().map(|r| (r.status, r.body.clone()));
        let expected = match self.model.status {
            None => json!({ "status": 404 }),
            Some(s) => json!({ "status": 200, "plugin": s, "lastError": self.model.last_error }),
        };
        let seen = match &actual {
            Some((404, _)) => json!({ "status": 404 }),
            Some((200, b)) => {
                json!({ "status": 200, "plugin": b["status"], "lastError": b["lastError"] })
            }
            Some((s, b)) => json!({ "status": s, "body": b }),
            None => Value::Null,
        };
        if seen != expected {
            self.exchanges.push(record);
            return Err(self.failure(format!("{at}: the plugin record differs"), expected, seen));
        }

        // The ledger: each file once, with its status, checksum and error.
        let rows = self
            .db
            .rows(
                "select migration_key, status, checksum, error_message, applied_at::text as applied_at \
                 from plugin_migrations where plugin_key = $1 order by migration_key",
                &[json!(key)],
            )
            .await
            .map_err(CaseFailure::message)?;
        let expected: Vec<Value> = self
            .model
            .ledger
            .iter()
            .map(|(name, row)| {
                json!({ "migration_key": name, "status": row.status, "checksum": row.checksum, "error_message": row.error })
            })
            .collect();
        let seen: Vec<Value> = rows
            .iter()
            .map(|r| json!({ "migration_key": r["migration_key"], "status": r["status"], "checksum": r["checksum"], "error_message": r["error_message"] }))
            .collect();
        if seen != expected {
            return Err(self.failure(
                format!("{at}: the migration ledger differs"),
                json!(expected),
                json!(seen),
            ));
        }
        // Applied once: the applied time of a file never moves.
        if self.model.ledger.is_empty() {
            self.applied_at.clear();
        }
        for r in &rows {
            let (Some(name), Some(when)) = (r["migration_key"].as_str(), r["applied_at"].as_str())
            else {
                continue;
            };
            match self.applied_at.get(name) {
                Some(first) if first != when => {
                    return Err(self.failure(
                        format!("{at}: {name} was applied again"),
                        json!({ "applied_at": first }),
                        json!({ "applied_at": when }),
                    ))
                }
                Some(_) => {}
                None => {
                    self.applied_at.insert(name.to_string(), when.to_string());
                }
            }
        }

        // The namespace row and the schema's tables.
        let ns = self
            .db
            .rows(
                "select namespace_name, status from plugin_database_namespaces where plugin_key = $1",
                &[json!(key)],
            )
            .await
            .map_err(CaseFailure::message)?;
        let expected_ns = match self.model.namespace_status {
            None => json!([]),
            Some(s) => json!([{ "namespace_name": self.model.namespace, "status": s }]),
        };
        if json!(ns) != expected_ns {
            return Err(self.failure(
                format!("{at}: the namespace row differs"),
                expected_ns,
                json!(ns),
            ));
        }
        let tables = self
            .db
            .rows(
                "select table_name from information_schema.tables where table_schema = $1 order by 1",
                &[json!(self.model.namespace)],
            )
            .await
            .map_err(CaseFailure::message)?;
        let expected_tables: Vec<Value> = self
            .model
            .tables
            .iter()
            .map(|t| json!({ "table_name": t }))
            .collect();
        if tables != expected_tables {
            return Err(self.failure(
                format!("{at}: the namespace's tables differ"),
                json!(expected_tables),
                json!(tables),
            ));
        }
        if self.model.tables.contains("probe_rows") {
            let count = self
                .db
                .rows(
                    &format!(
                        "select count(*)::int as n from {}.probe_rows",
                        self.model.namespace
                    ),
                    &[],
                )
                .await
                .map_err(CaseFailure::message)?;
            let n = count.first().and_then(|r| r["n"].as_u64()).unwrap_or(0);
            if n != self.model.data_rows {
                return Err(self.failure(
                    format!("{at}: the plugin's data was not kept"),
                    json!({ "rows": self.model.data_rows }),
                    json!({ "rows": n }),
                ));
            }
        }

        // Lifecycle activity: one row per company per successful action.
        if !self.plugin_ids.is_empty() {
            let ids: Vec<Value> = self.plugin_ids.iter().map(|i| json!(i)).collect();
            let placeholders = |from: usize, n: usize| -> String {
                (from..from + n)
                    .map(|i| format!("${i}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let params: Vec<Value> = ids.iter().chain(companies).cloned().collect();
            let rows = self
                .db
                .rows(
                    &format!(
                        "select action, count(*)::int as n from activity_log where entity_type = 'plugin' \
                         and entity_id in ({}) and company_id::text in ({}) group by action order by action",
                        placeholders(1, ids.len()),
                        placeholders(ids.len() + 1, companies.len())
                    ),
                    &params,
                )
                .await
                .map_err(CaseFailure::message)?;
            let expected: Vec<Value> = self
                .model
                .lifecycle
                .iter()
                .map(|(action, n)| json!({ "action": action, "n": n * companies.len() as u64 }))
                .collect();
            if rows != expected {
                return Err(self.failure(
                    format!(
                        "{at}: lifecycle activity rows differ ({} companies)",
                        companies.len()
                    ),
                    json!(expected),
                    json!(rows),
                ));
            }
        }
        Ok(())
    }

    fn failure(&self, message: String, expected: Value, actual: Value) -> CaseFailure {
        CaseFailure {
            message,
            expected: Some(expected),
            actual: Some(actual),
            exchanges: self.exchanges.clone(),
        }
    }

    /// Purges the case's plugin and drops its schema, so the host is left as
    /// it was (a purge alone leaves the schema behind). A database the run
    /// may only read keeps the schema, and the run says so.
    async fn clean_up(&self) {
        let key = &self.model.key;
        let _ = self
            .client
            .send(&Call::new("DELETE", format!("/api/plugins/{key}?purge=true")).as_(self.board))
            .await;
        if self.db.is_read_only() {
            let namespace = &self.model.namespace;
            let exists = self
                .db
                .rows(
                    "select 1 from information_schema.schemata where schema_name = $1",
                    &[json!(namespace)],
                )
                .await
                .is_ok_and(|rows| !rows.is_empty());
            if exists {
                self.client.ledger().note(format!(
                    "schema {namespace} of a purged generated plugin: a purge does not drop it and the run does not write the host's database"
                ));
            }
            return;
        }
        let _ = self
            .db
            .execute(
                &format!("drop schema if exists {} cascade", self.model.namespace),
                &[],
            )
            .await;
    }
}

//! What an upgrade must keep: the rows read before the old host stops and
//! after the new one starts.

use serde_json::{json, Value};

use crate::db::HostDb;

/// The state of the database that the upgrade checks compare.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The host's core migration journal: `[{hash, created_at}]` in order.
    pub journal: Value,
    /// Every plugin: `[{id, plugin_key, status}]` by key.
    pub plugins: Value,
    /// Every plugin's namespace: `[{plugin_id, namespace_name, status}]`.
    pub namespaces: Value,
    /// Every plugin's migration ledger row.
    pub ledger: Value,
}

impl Snapshot {
    /// Reads the snapshot; an error names the query that failed.
    pub async fn read(db: &HostDb) -> Result<Snapshot, String> {
        Ok(Snapshot {
            journal: rows(
                db,
                "select hash, created_at::text as created_at from drizzle.__drizzle_migrations order by id",
            )
            .await?,
            plugins: rows(
                db,
                "select id::text as id, plugin_key, status from plugins order by plugin_key",
            )
            .await?,
            namespaces: rows(
                db,
                "select plugin_id::text as plugin_id, namespace_name, status from plugin_database_namespaces \
                 order by namespace_name",
            )
            .await?,
            ledger: rows(
                db,
                "select plugin_key, migration_key, checksum, status, applied_at::text as applied_at \
                 from plugin_migrations order by plugin_key, migration_key",
            )
            .await?,
        })
    }
}

async fn rows(db: &HostDb, sql: &str) -> Result<Value, String> {
    db.rows(sql, &[])
        .await
        .map(Value::Array)
        .map_err(|e| format!("{sql}: {e}"))
}

/// The journal's problems after an upgrade: entries of the old host that
/// are gone or were re-timed, and hashes journaled twice.
pub fn journal_problems(before: &Value, after: &Value) -> Vec<String> {
    let empty = Vec::new();
    let after_rows = after.as_array().unwrap_or(&empty);
    let mut problems = Vec::new();
    for entry in before.as_array().unwrap_or(&empty) {
        let same_hash: Vec<&Value> = after_rows
            .iter()
            .filter(|a| a["hash"] == entry["hash"])
            .collect();
        match same_hash.as_slice() {
            [] => problems.push(format!("entry {} is gone", entry["hash"])),
            [one] if one["created_at"] != entry["created_at"] => problems.push(format!(
                "entry {} was re-timed from {} to {}",
                entry["hash"], entry["created_at"], one["created_at"]
            )),
            [_] => {}
            many => problems.push(format!(
                "entry {} is journaled {} times",
                entry["hash"],
                many.len()
            )),
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for a in after_rows {
        if !seen.insert(a["hash"].to_string()) {
            problems.push(format!("hash {} is journaled more than once", a["hash"]));
        }
    }
    problems.dedup();
    problems
}

/// The rows of `after` whose `key` field is one of `before`'s, so rows the
/// new host added (its own plugins, new migrations) do not count.
pub fn restricted_to(before: &Value, after: &Value, key: &str) -> Value {
    let keys: Vec<&Value> = before
        .as_array()
        .map(|rows| rows.iter().map(|r| &r[key]).collect())
        .unwrap_or_default();
    json!(after
        .as_array()
        .map(|rows| rows
            .iter()
            .filter(|r| keys.contains(&&r[key]))
            .cloned()
            .collect::<Vec<_>>())
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_entries_must_stay_once_with_their_time() {
        let before =
            json!([{ "hash": "a", "created_at": "1" }, { "hash": "b", "created_at": "2" }]);
        let fine = json!([
            { "hash": "a", "created_at": "1" },
            { "hash": "b", "created_at": "2" },
            { "hash": "c", "created_at": "3" }
        ]);
        assert!(journal_problems(&before, &fine).is_empty());
        let retimed =
            json!([{ "hash": "a", "created_at": "1" }, { "hash": "b", "created_at": "9" }]);
        assert_eq!(journal_problems(&before, &retimed).len(), 1);
        let twice = json!([
            { "hash": "a", "created_at": "1" },
            { "hash": "b", "created_at": "2" },
            { "hash": "b", "created_at": "5" }
        ]);
        assert!(!journal_problems(&before, &twice).is_empty());
        let gone = json!([{ "hash": "a", "created_at": "1" }]);
        assert_eq!(
            journal_problems(&before, &gone),
            vec!["entry \"b\" is gone"]
        );
    }

    #[test]
    fn new_rows_of_the_new_host_do_not_count() {
        let before = json!([{ "plugin_key": "p", "x": 1 }]);
        let after = json!([{ "plugin_key": "p", "x": 1 }, { "plugin_key": "q", "x": 2 }]);
        assert_eq!(restricted_to(&before, &after, "plugin_key"), before);
    }
}

//! Read access to the host's database for DB assertions.
//!
//! Queries come from scenario files and are wrapped so that Postgres itself
//! turns the rows into JSON (`json_agg`), which keeps column types faithful
//! (jsonb stays structured, timestamps become ISO strings) without a Rust type
//! per column. Parameters are inlined as quoted SQL literals: scenario values
//! are untyped text, and an untyped literal lets Postgres infer `uuid`,
//! `text` or `int` from the context, which typed binds would not.

use serde_json::Value;
use tokio_postgres::{Client, NoTls};

use crate::error::{Error, Result};

/// A connection to the host's database.
pub struct HostDb {
    client: Client,
    task: tokio::task::JoinHandle<()>,
    read_only: bool,
}

impl HostDb {
    /// Connects to `url`.
    pub async fn connect(url: &str) -> Result<HostDb> {
        let (client, connection) = tokio_postgres::connect(url, NoTls)
            .await
            .map_err(|e| Error::pg("connecting to the host database", e))?;
        let task = tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(HostDb {
            client,
            task,
            read_only: false,
        })
    }

    /// Connects to `url` for reading only: the session's transactions are
    /// read-only, so Postgres itself refuses any write, whatever the SQL
    /// (a scenario's assertion included). For hosts whose database the
    /// suite may not write (`--board-token`).
    pub async fn connect_read_only(url: &str) -> Result<HostDb> {
        let mut db = Self::connect(url).await?;
        db.client
            .batch_execute("set session characteristics as transaction read only")
            .await
            .map_err(|e| Error::pg("making the host database session read-only", e))?;
        db.read_only = true;
        Ok(db)
    }

    /// Whether this connection may only read ([`HostDb::connect_read_only`]):
    /// checks that would write the host's database leave that part out.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Runs `sql` with `params` inlined as literals and returns the rows as
    /// JSON objects.
    pub async fn rows(
        &self,
        sql: &str,
        params: &[Value],
    ) -> std::result::Result<Vec<Value>, String> {
        let inlined = inline_params(sql, params)?;
        let wrapped = format!(
            "select coalesce(json_agg(q), '[]'::json)::text from ({}) q",
            inlined.trim().trim_end_matches(';')
        );
        let row = self
            .client
            .query_one(wrapped.as_str(), &[])
            .await
            .map_err(|e| match e.as_db_error() {
                Some(db) => format!("the query failed: {}", db.message()),
                None => format!("the query failed: {e}"),
            })?;
        let text: String = row.get(0);
        match serde_json::from_str(&text) {
            Ok(Value::Array(rows)) => Ok(rows),
            _ => Err("the query did not produce rows".into()),
        }
    }

    /// Runs a statement (used by bootstrap, e.g. granting instance admin).
    pub async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
        if self.read_only {
            // Every writer checks `is_read_only` first: reaching this is a
            // bug of the suite, not of the host.
            return Err(Error::Internal(format!(
                "a write to the host's database in a read-only run: {}",
                crate::health::truncate(sql, 80)
            )));
        }
        let inlined = inline_params(sql, params).map_err(|message| Error::Bootstrap {
            step: "database".into(),
            message,
        })?;
        self.client
            .execute(inlined.as_str(), &[])
            .await
            .map_err(|e| Error::pg("executing a statement on the host database", e))
    }
}

impl Drop for HostDb {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Replaces `$1`…`$n` with quoted literals. Placeholders inside quotes are
/// left alone.
pub fn inline_params(sql: &str, params: &[Value]) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    let mut in_single = false;
    let mut in_double = false;
    while let Some(c) = chars.next() {
        match c {
            '\'' if !in_double => {
                in_single = !in_single;
                out.push(c);
            }
            '"' if !in_single => {
                in_double = !in_double;
                out.push(c);
            }
            '$' if !in_single && !in_double && chars.peek().is_some_and(|d| d.is_ascii_digit()) => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    digits.push(d);
                    chars.next();
                }
                let index: usize = digits
                    .parse()
                    .map_err(|_| format!("bad placeholder ${digits}"))?;
                let value = index
                    .checked_sub(1)
                    .and_then(|i| params.get(i))
                    .ok_or_else(|| format!("placeholder ${index} has no value in params"))?;
                out.push_str(&literal(value));
            }
            _ => out.push(c),
        }
    }
    Ok(out)
}

fn literal(value: &Value) -> String {
    match value {
        Value::Null => "NULL".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => quote(s),
        other => quote(&other.to_string()),
    }
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inlines_and_quotes() {
        let sql = inline_params(
            "select * from t where a = $1 and b = $2 and c = '$1'",
            &[json!("o'k"), json!(3)],
        )
        .unwrap();
        assert_eq!(
            sql,
            "select * from t where a = 'o''k' and b = 3 and c = '$1'"
        );
    }

    #[test]
    fn missing_parameter_is_an_error() {
        assert!(inline_params("select $2", &[json!(1)])
            .unwrap_err()
            .contains("$2"));
    }
}

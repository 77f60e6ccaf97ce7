//! `ctx.db.*`: the plugin's namespace name, and guarded SQL on the runtime
//! connection (contract-db-worker.md A3/A4). Failures read like the real
//! host's query builder: `Failed query: <sql>\nparams: <js join>`.

use serde_json::{json, Value};
use tokio_postgres::types::ToSql;

use super::params::s;
use super::ServiceCtx;
use crate::config::Defect;
use crate::db::params::JsonParam;
use crate::db::{rows, Client};
use crate::error::{Error, Result};
use crate::plugin::{namespace, sqlguard};

/// `db.namespace` → the active namespace name.
pub(super) fn namespace(ctx: &ServiceCtx) -> Result<Value> {
    Ok(json!(namespace::runtime_namespace(
        ctx.database.namespace.as_deref()
    )?))
}

/// `db.query {sql, params?}` → rows; reads are limited to the namespace and
/// the persisted manifest's `coreReadTables`.
pub(super) async fn query(ctx: &ServiceCtx, client: &Client, p: &Value) -> Result<Value> {
    let ns = namespace::runtime_namespace(ctx.database.namespace.as_deref())?;
    let sql = sql_of(p)?;
    sqlguard::validate_runtime_query(sql, ns, &ctx.database.core_read_tables)
        .map_err(Error::internal)?;
    let rows = run_query(client, sql, p.get("params")).await?;
    Ok(Value::Array(rows.iter().map(rows::plugin_row).collect()))
}

/// The `sql` param. 707.0's guard reads `sql.length` first, so a missing or
/// `null` statement fails with node's TypeError.
fn sql_of(p: &Value) -> Result<&str> {
    match p.get("sql") {
        None => Err(Error::internal(
            "Cannot read properties of undefined (reading 'length')",
        )),
        Some(Value::Null) => Err(Error::internal(
            "Cannot read properties of null (reading 'length')",
        )),
        Some(_) => Ok(s(p, "sql").unwrap_or_default()),
    }
}

/// `db.execute {sql, params?}` → `{rowCount}`; writes only inside the namespace.
pub(super) async fn execute(ctx: &ServiceCtx, client: &Client, p: &Value) -> Result<Value> {
    let ns = namespace::runtime_namespace(ctx.database.namespace.as_deref())?;
    let sql = sql_of(p)?;
    // Defect execute-public-allowed: the target may be any table.
    if ctx.defects.has(Defect::ExecutePublicAllowed) {
        sqlguard::validate_runtime_execute_any_schema(sql).map_err(Error::internal)?;
    } else {
        sqlguard::validate_runtime_execute(sql, ns).map_err(Error::internal)?;
    }
    let n = run_execute(client, sql, p.get("params")).await?;
    Ok(json!({ "rowCount": n }))
}

fn json_params(params: Option<&Value>) -> Vec<JsonParam> {
    match params {
        Some(Value::Array(a)) => a.iter().cloned().map(JsonParam).collect(),
        _ => Vec::new(),
    }
}

/// JS `Array.prototype.toString` of the parameters, as the real host's
/// query builder prints them in `Failed query: …\nparams: …`.
fn js_join(params: Option<&Value>) -> String {
    fn one(v: &Value) -> String {
        match v {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            Value::Array(a) => a.iter().map(one).collect::<Vec<_>>().join(","),
            Value::Object(_) => "[object Object]".into(),
            other => other.to_string(),
        }
    }
    params.map(one).unwrap_or_default()
}

fn failed_query<'a>(
    sql: &'a str,
    params: Option<&'a Value>,
) -> impl Fn(tokio_postgres::Error) -> Error + 'a {
    move |_| Error::internal(format!("Failed query: {sql}\nparams: {}", js_join(params)))
}

/// `bindSql`: checks the placeholders against the values and prepares the
/// statement (Postgres infers the parameter types). Plugins repeat their
/// queries, so statements are kept per connection; `fresh` prepares anew.
async fn bind(
    c: &Client,
    sql: &str,
    params: Option<&Value>,
    fresh: bool,
) -> Result<(tokio_postgres::Statement, Vec<JsonParam>)> {
    let values = json_params(params);
    sqlguard::check_placeholders(sql, values.len()).map_err(Error::internal)?;
    // Without parameters the SQL goes out raw: an unbound $1 fails there.
    let stmt = if fresh {
        c.statement_cache.remove(sql, &[]);
        c.prepare_cached(sql).await
    } else {
        c.prepare_cached(sql).await
    };
    Ok((stmt.map_err(failed_query(sql, params))?, values))
}

fn refs(values: &[JsonParam]) -> Vec<&(dyn ToSql + Sync)> {
    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

/// Runs a plugin statement. A kept statement can go stale when the plugin's
/// migrations change its tables (Postgres refuses a plan whose result type
/// changed), so a failure is retried once with a fresh prepare; a statement
/// that fails has changed nothing, so the retry answers what a first try
/// on a fresh connection would.
async fn run_query(
    c: &Client,
    sql: &str,
    params: Option<&Value>,
) -> Result<Vec<tokio_postgres::Row>> {
    let (stmt, values) = bind(c, sql, params, false).await?;
    if let Ok(rows) = c.query(&stmt, &refs(&values)).await {
        return Ok(rows);
    }
    let (stmt, values) = bind(c, sql, params, true).await?;
    c.query(&stmt, &refs(&values))
        .await
        .map_err(failed_query(sql, params))
}

async fn run_execute(c: &Client, sql: &str, params: Option<&Value>) -> Result<u64> {
    let (stmt, values) = bind(c, sql, params, false).await?;
    if let Ok(n) = c.execute(&stmt, &refs(&values)).await {
        return Ok(n);
    }
    let (stmt, values) = bind(c, sql, params, true).await?;
    c.execute(&stmt, &refs(&values))
        .await
        .map_err(failed_query(sql, params))
}

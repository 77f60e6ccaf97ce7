//! `companies.*` for a plugin: the same SQL as the REST routes
//! (`services::companies`), answered with the bare rows and the
//! `limit`/`offset` window.

use serde_json::Value;

use super::params::{apply_window, uuid_param};
use crate::db::{pg, Client};
use crate::error::Result;
use crate::services::companies;

/// `companies.list {limit?, offset?}` (the caller filters to the invocation's company).
pub(super) async fn list(client: &Client, p: &Value) -> Result<Value> {
    Ok(Value::Array(apply_window(
        companies::list(pg(client)).await?,
        p,
    )))
}

/// `companies.get {companyId}` → the row or `null`.
pub(super) async fn get(client: &Client, p: &Value) -> Result<Value> {
    Ok(match uuid_param(p, "companyId")? {
        Some(id) => companies::find(pg(client), id).await?,
        None => None,
    }
    .unwrap_or(Value::Null))
}

//! `agents.*` for a plugin: the same SQL as the REST routes
//! (`services::agents`), answered with the bare rows and the
//! `limit`/`offset` window.

use serde_json::Value;

use super::params::{apply_window, company, s, uuid_param};
use crate::db::{pg, Client};
use crate::error::Result;
use crate::services::agents::{self, AgentFilter};

/// `agents.list {companyId, status?, limit?, offset?}`: terminated agents left out.
pub(super) async fn list(client: &Client, p: &Value) -> Result<Value> {
    let company_id = company(p)?;
    let filter = AgentFilter {
        include_terminated: false,
        status: s(p, "status"),
    };
    let list = agents::list(pg(client), company_id, filter).await?;
    Ok(Value::Array(apply_window(list, p)))
}

/// `agents.get {companyId, agentId}` → the row, or `null` outside the company.
pub(super) async fn get(client: &Client, p: &Value) -> Result<Value> {
    let company_id = company(p)?;
    Ok(match uuid_param(p, "agentId")? {
        Some(id) => agents::find_in(pg(client), id, company_id).await?,
        None => None,
    }
    .unwrap_or(Value::Null))
}

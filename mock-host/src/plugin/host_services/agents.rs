//! `agents.*` for a plugin: the same SQL as the REST routes
//! (`services::agents`), answered with the rows, their `urlKey` and the
//! `limit`/`offset` window. The host's `orgChainHealth` is not derived
//! (mock-host/README.md, known differences).

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
    let mut list = agents::list(pg(client), company_id, filter).await?;
    list.iter_mut().for_each(agents::with_url_key);
    Ok(Value::Array(apply_window(list, p)))
}

/// `agents.get {companyId, agentId}` → the row, or `null` outside the company.
pub(super) async fn get(client: &Client, p: &Value) -> Result<Value> {
    let company_id = company(p)?;
    let mut agent = match uuid_param(p, "agentId")? {
        Some(id) => agents::find_in(pg(client), id, company_id).await?,
        None => None,
    }
    .unwrap_or(Value::Null);
    agents::with_url_key(&mut agent);
    Ok(agent)
}

//! Agents: the SQL behind `/api/companies/:id/agents`, `/api/agents/*` and
//! the worker's `agents.*` host services, kept in one place so both answer
//! from the same rows in the same order.

use crate::db::Db;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::db::rows;
use crate::error::{Error, Result};
use crate::services::heartbeat;

/// Which of a company's agents a listing shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct AgentFilter<'a> {
    /// The REST listing shows terminated agents; `ctx.agents.list` does not.
    pub include_terminated: bool,
    /// Only this status (`None` or `""` = any).
    pub status: Option<&'a str>,
}

/// The company's agents, oldest first.
pub async fn list(c: &impl Db, company_id: Uuid, filter: AgentFilter<'_>) -> Result<Vec<Value>> {
    rows::query_entities(
        c,
        "SELECT * FROM agents WHERE company_id = $1
           AND ($2 OR status <> 'terminated')
           AND ($3::text IS NULL OR $3 = '' OR status = $3)
         ORDER BY created_at",
        &[&company_id, &filter.include_terminated, &filter.status],
    )
    .await
}

/// The agent row as JSON if it belongs to the company, else `None`.
pub async fn find_in(c: &impl Db, id: Uuid, company_id: Uuid) -> Result<Option<Value>> {
    rows::query_entity(
        c,
        "SELECT * FROM agents WHERE id = $1 AND company_id = $2",
        &[&id, &company_id],
    )
    .await
}

/// The REST answer for one agent: the row plus `urlKey` (404 when missing).
pub async fn api_json(c: &impl Db, id: Uuid) -> Result<Value> {
    let mut v = rows::query_entity(c, "SELECT * FROM agents WHERE id = $1", &[&id])
        .await?
        .ok_or_else(|| Error::not_found("Agent not found"))?;
    with_url_key(&mut v);
    Ok(v)
}

/// Adds the `urlKey` the host derives from an agent row's name.
pub fn with_url_key(agent: &mut Value) {
    if let Some(o) = agent.as_object_mut() {
        let name = o
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        o.insert("urlKey".into(), json!(url_key(&name)));
    }
}

/// The agent's company (404 when the agent is missing).
pub async fn company_of(c: &impl Db, agent_id: Uuid) -> Result<Uuid> {
    c.query_opt("SELECT company_id FROM agents WHERE id = $1", &[&agent_id])
        .await?
        .map(|r| r.get(0))
        .ok_or_else(|| Error::not_found("Agent not found"))
}

/// What `POST /api/companies/:id/agents` stores.
pub struct NewAgent<'a> {
    pub company_id: Uuid,
    pub name: &'a str,
    pub role: &'a str,
    pub title: Option<&'a str>,
    pub adapter_type: &'a str,
    pub adapter_config: &'a Value,
    pub runtime_config: &'a Value,
}

/// Inserts the agent and its company membership; returns its id.
pub async fn create(c: &impl Db, new: NewAgent<'_>) -> Result<Uuid> {
    let id: Uuid = c
        .query_one(
            "INSERT INTO agents (company_id, name, role, title, adapter_type, adapter_config, runtime_config, permissions)
             VALUES ($1, $2, $3, $4, $5, $6, $7, '{\"canCreateAgents\":false,\"canCreateSkills\":true}'::jsonb) RETURNING id",
            &[
                &new.company_id,
                &new.name,
                &new.role,
                &new.title,
                &new.adapter_type,
                new.adapter_config,
                new.runtime_config,
            ],
        )
        .await?
        .get(0);
    c.execute(
        "INSERT INTO company_memberships (company_id, principal_type, principal_id, status, membership_role)
         VALUES ($1, 'agent', $2, 'active', 'member') ON CONFLICT DO NOTHING",
        &[&new.company_id, &id.to_string()],
    )
    .await?;
    Ok(id)
}

/// Sets the agent's status (`paused` records a manual pause). Pausing also
/// ends the agent's runs and lets go of their issues, without the recovery
/// run a cancelled run would get (`cancelActiveForAgent`).
pub async fn set_status(c: &impl Db, agent_id: Uuid, status: &str) -> Result<()> {
    c.execute(
        "UPDATE agents SET status = $2,
           paused_at = CASE WHEN $2 = 'paused' THEN now() ELSE NULL END,
           pause_reason = CASE WHEN $2 = 'paused' THEN 'manual' ELSE NULL END,
           updated_at = now() WHERE id = $1",
        &[&agent_id, &status],
    )
    .await?;
    if status != "paused" {
        return Ok(());
    }
    let runs = c
        .query(
            "SELECT id FROM heartbeat_runs WHERE agent_id = $1 AND status = ANY($2)",
            &[&agent_id, &heartbeat::CANCELLABLE],
        )
        .await?;
    for row in runs {
        let run: Uuid = row.get(0);
        if heartbeat::mark_cancelled(c, run, "Cancelled due to agent pause", "agent_paused").await?
        {
            heartbeat::release_issues(c, run).await?;
        }
    }
    Ok(())
}

/// The agent's URL key: lower-case alphanumerics, other runs become one `-`.
fn url_key(name: &str) -> String {
    let mut out = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_keys() {
        assert_eq!(url_key("Smoke Agent"), "smoke-agent");
        assert_eq!(url_key("  A__b!! "), "a-b");
    }
}

//! `/api/companies/:id/agents` and `/api/agents/*`: create, list and get
//! agents, their API keys, and the board's status changes (terminate,
//! pause, resume).

use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::Response;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::db::rows;
use crate::error::{json_response, Error, Result};
use crate::host::AppState;
use crate::http::actor::{new_token, sha256_hex, Actor};
use crate::http::authz;
use crate::http::ids::{accessible_company, parse_uuid};
use crate::http::pipeline::JsonBody;
use crate::services::activity::{self, Activity};
use crate::services::agents::{self, AgentFilter, NewAgent};
use crate::services::companies;

/// POST /api/companies/:id/agents
pub async fn create_agent(
    State(state): State<AppState>,
    actor: Actor,
    method: Method,
    Path(company): Path<String>,
    body: JsonBody,
) -> Result<Response> {
    let company_id = accessible_company(&company, &actor, &method)?;
    authz::assert_board(&actor)?;
    let name = match body.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => return Err(Error::validation("name", "Required")),
    };
    let role = body.str("role").unwrap_or("general").to_string();
    let adapter_config = body.get("adapterConfig").cloned().unwrap_or(json!({}));
    let mut runtime = body.get("runtimeConfig").cloned().unwrap_or(json!({}));
    // The real host fills in its heartbeat defaults.
    if let Some(o) = runtime.as_object_mut() {
        let hb = o.entry("heartbeat").or_insert(json!({}));
        if let Some(hb) = hb.as_object_mut() {
            hb.entry("enabled").or_insert(json!(false));
            hb.entry("maxConcurrentRuns").or_insert(json!(20));
        }
    }
    let client = state.pool.get().await?;
    if !companies::exists(&client, company_id).await? {
        return Err(Error::not_found("Company not found"));
    }
    let id = agents::create(
        &client,
        NewAgent {
            company_id,
            name: &name,
            role: &role,
            title: body.str("title"),
            adapter_type: body.str("adapterType").unwrap_or("process"),
            adapter_config: &adapter_config,
            runtime_config: &runtime,
        },
    )
    .await?;
    let info = authz::actor_info(&actor)?;
    activity::log(
        &client,
        Activity {
            company_id,
            actor_type: info.actor_type,
            actor_id: &info.actor_id,
            action: "agent.created",
            entity_type: "agent",
            entity_id: &id.to_string(),
            agent_id: info.agent_id,
            run_id: None,
            details: json!({ "name": name, "role": role }),
        },
    )
    .await?;
    Ok(json_response(201, &agents::api_json(&client, id).await?))
}

/// GET /api/companies/:id/agents (terminated agents included).
pub async fn list_agents(
    State(state): State<AppState>,
    actor: Actor,
    method: Method,
    Path(company): Path<String>,
) -> Result<Response> {
    let company_id = accessible_company(&company, &actor, &method)?;
    let client = state.pool.get().await?;
    let filter = AgentFilter {
        include_terminated: true,
        status: None,
    };
    let list = agents::list(&client, company_id, filter).await?;
    Ok(json_response(200, &Value::Array(list)))
}

/// GET /api/agents/:id
pub async fn get_agent(
    State(state): State<AppState>,
    actor: Actor,
    method: Method,
    Path(id): Path<String>,
) -> Result<Response> {
    let id = parse_uuid(&id, "Agent")?;
    let client = state.pool.get().await?;
    let company = agents::company_of(&client, id).await?;
    authz::assert_company_access(&actor, company, &method)?;
    Ok(json_response(200, &agents::api_json(&client, id).await?))
}

/// POST /api/agents/:id/keys (board only; the token is shown once).
pub async fn create_agent_key(
    State(state): State<AppState>,
    actor: Actor,
    method: Method,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response> {
    let board = authz::assert_board(&actor)?;
    let agent_id = parse_uuid(&id, "Agent")?;
    let client = state.pool.get().await?;
    let company = agents::company_of(&client, agent_id).await?;
    authz::assert_company_access(&actor, company, &method)?;
    let name = body.str("name").unwrap_or("default").to_string();
    let token = new_token("pcp_");
    let row = client
        .query_one(
            "INSERT INTO agent_api_keys (agent_id, company_id, name, key_hash, responsible_user_id)
             VALUES ($1, $2, $3, $4, $5) RETURNING id, scope, created_at",
            &[
                &agent_id,
                &company,
                &name,
                &sha256_hex(&token),
                &board.user_id,
            ],
        )
        .await?;
    let key_id: Uuid = row.get(0);
    let scope: Value = row.get(1);
    let created: chrono::DateTime<chrono::Utc> = row.get(2);
    Ok(json_response(
        201,
        &json!({
            "id": key_id,
            "name": name,
            "scope": scope,
            "responsibleUserId": board.user_id,
            "token": token,
            "createdAt": rows::iso(created),
        }),
    ))
}

/// DELETE /api/agents/:id/keys/:keyId
pub async fn revoke_agent_key(
    State(state): State<AppState>,
    actor: Actor,
    method: Method,
    Path((id, key)): Path<(String, String)>,
) -> Result<Response> {
    authz::assert_board(&actor)?;
    let agent_id = parse_uuid(&id, "Agent")?;
    let key_id = parse_uuid(&key, "Key")?;
    let client = state.pool.get().await?;
    let company = agents::company_of(&client, agent_id).await?;
    authz::assert_company_access(&actor, company, &method)?;
    let n = client
        .execute(
            "UPDATE agent_api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 AND agent_id = $2",
            &[&key_id, &agent_id],
        )
        .await?;
    if n == 0 {
        return Err(Error::not_found("Key not found"));
    }
    Ok(json_response(200, &json!({ "ok": true })))
}

async fn set_agent_status(
    state: &AppState,
    actor: &Actor,
    method: &Method,
    id: &str,
    status: &str,
    action: &str,
) -> Result<Response> {
    let board = authz::assert_board(actor)?;
    let agent_id = parse_uuid(id, "Agent")?;
    let client = state.pool.get().await?;
    let company = agents::company_of(&client, agent_id).await?;
    authz::assert_company_access(actor, company, method)?;
    agents::set_status(&client, agent_id, status).await?;
    activity::log(
        &client,
        Activity {
            company_id: company,
            actor_type: "user",
            actor_id: &board.user_id,
            action,
            entity_type: "agent",
            entity_id: &agent_id.to_string(),
            agent_id: None,
            run_id: None,
            details: json!({}),
        },
    )
    .await?;
    Ok(json_response(
        200,
        &agents::api_json(&client, agent_id).await?,
    ))
}

/// POST /api/agents/:id/terminate
pub async fn terminate_agent(
    State(state): State<AppState>,
    actor: Actor,
    method: Method,
    Path(id): Path<String>,
) -> Result<Response> {
    set_agent_status(
        &state,
        &actor,
        &method,
        &id,
        "terminated",
        "agent.terminated",
    )
    .await
}

/// POST /api/agents/:id/pause
pub async fn pause_agent(
    State(state): State<AppState>,
    actor: Actor,
    method: Method,
    Path(id): Path<String>,
) -> Result<Response> {
    set_agent_status(&state, &actor, &method, &id, "paused", "agent.paused").await
}

/// POST /api/agents/:id/resume
pub async fn resume_agent(
    State(state): State<AppState>,
    actor: Actor,
    method: Method,
    Path(id): Path<String>,
) -> Result<Response> {
    set_agent_status(&state, &actor, &method, &id, "idle", "agent.resumed").await
}

//! Core REST routes the suite bootstraps its world with: health, auth
//! (authenticated mode), board keys, companies, agents and agent keys.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method};
use axum::response::Response;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::config::{DeploymentMode, MOCK_VERSION};
use crate::db::rows;
use crate::error::{json_response, Error, Result};
use crate::http::actor::{self, sha256_hex, Actor, BoardSource};
use crate::http::authz;
use crate::http::pipeline::JsonBody;
use crate::http::state::AppState;
use crate::services::activity::{self, Activity};
use crate::services::heartbeat;

/// `pcp_` + 48 hex characters (24 random bytes).
pub fn new_token(prefix: &str) -> String {
    let mut bytes = Vec::with_capacity(32);
    bytes.extend_from_slice(Uuid::new_v4().as_bytes());
    bytes.extend_from_slice(Uuid::new_v4().as_bytes());
    format!("{prefix}{}", hex::encode(&bytes[..24]))
}

pub fn parse_uuid(s: &str, what: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|_| Error::not_found(format!("{what} not found")))
}

/// The company of a `/companies/:id/…` route, once the caller may access it.
pub fn accessible_company(company: &str, actor: &Actor, method: &Method) -> Result<Uuid> {
    let company_id = parse_uuid(company, "Company")?;
    authz::assert_company_access(actor, company_id, method)?;
    Ok(company_id)
}

/// GET /api/health
pub async fn health(State(state): State<AppState>) -> Result<Response> {
    let mode = state.config.mode;
    let bootstrap = if mode == DeploymentMode::Authenticated {
        let client = state.pool.get().await?;
        let admins: bool = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM instance_user_roles WHERE role = 'instance_admin')",
                &[],
            )
            .await?
            .get(0);
        if admins {
            "ready"
        } else {
            "bootstrap_pending"
        }
    } else {
        "ready"
    };
    Ok(json_response(
        200,
        &json!({
            "status": "ok",
            "version": MOCK_VERSION,
            "deploymentMode": mode.as_str(),
            "deploymentExposure": "private",
            "authReady": true,
            "bootstrapStatus": bootstrap,
            "bootstrapInviteActive": false,
        }),
    ))
}

fn user_json(row: &tokio_postgres::Row) -> Value {
    let created: chrono::DateTime<chrono::Utc> = row.get(4);
    json!({
        "name": row.get::<_, String>(1),
        "email": row.get::<_, String>(2),
        "emailVerified": row.get::<_, bool>(3),
        "image": null,
        "createdAt": rows::iso(created),
        "updatedAt": rows::iso(created),
        "id": row.get::<_, String>(0),
    })
}

fn password_hash(user_id: &str, password: &str) -> String {
    sha256_hex(&format!("{user_id}:{password}"))
}

async fn start_session(state: &AppState, user_id: &str, user: Value) -> Result<Response> {
    let client = state.pool.get().await?;
    let token = new_token("");
    client
        .execute(
            "INSERT INTO sessions (id, token, user_id, expires_at) VALUES ($1, $2, $3, now() + interval '7 days')",
            &[&Uuid::new_v4().to_string(), &token, &user_id],
        )
        .await?;
    let mut res = json_response(200, &json!({ "token": token, "user": user }));
    let cookie = format!(
        "{}={token}; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax",
        actor::session_cookie_name(&state.config.instance_id)
    );
    if let Ok(v) = cookie.parse() {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}

/// POST /api/auth/sign-up/email (a minimal stand-in for Better Auth).
pub async fn sign_up(State(state): State<AppState>, body: JsonBody) -> Result<Response> {
    let email = body.str("email").unwrap_or_default().trim().to_lowercase();
    let password = body.str("password").unwrap_or_default();
    let name = body.str("name").unwrap_or_default().to_string();
    if email.is_empty() || password.len() < 8 {
        return Ok(json_response(
            400,
            &json!({"code": "INVALID_EMAIL_OR_PASSWORD", "message": "Invalid email or password"}),
        ));
    }
    let id: String = Uuid::new_v4().simple().to_string()[..32].to_string();
    let client = state.pool.get().await?;
    let row = client
        .query_opt(
            "INSERT INTO users (id, name, email, password_hash) VALUES ($1, $2, $3, $4)
             ON CONFLICT (email) DO NOTHING
             RETURNING id, name, email, email_verified, created_at",
            &[&id, &name, &email, &password_hash(&id, password)],
        )
        .await?;
    let Some(row) = row else {
        return Ok(json_response(
            422,
            &json!({"code": "USER_ALREADY_EXISTS", "message": "User already exists"}),
        ));
    };
    start_session(&state, &id, user_json(&row)).await
}

/// POST /api/auth/sign-in/email
pub async fn sign_in(State(state): State<AppState>, body: JsonBody) -> Result<Response> {
    let email = body.str("email").unwrap_or_default().trim().to_lowercase();
    let password = body.str("password").unwrap_or_default();
    let client = state.pool.get().await?;
    let row = client
        .query_opt(
            "SELECT id, name, email, email_verified, created_at, password_hash FROM users WHERE email = $1",
            &[&email],
        )
        .await?;
    match row {
        Some(row)
            if row.get::<_, String>(5) == password_hash(&row.get::<_, String>(0), password) =>
        {
            let id: String = row.get(0);
            start_session(&state, &id, user_json(&row)).await
        }
        _ => Ok(json_response(
            401,
            &json!({"code": "INVALID_EMAIL_OR_PASSWORD", "message": "Invalid email or password"}),
        )),
    }
}

/// GET /api/auth/get-session
pub async fn get_session(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    let name = actor::session_cookie_name(&state.config.instance_id);
    let token = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string());
    let client = state.pool.get().await?;
    if let Some(token) = token {
        let row = client
            .query_opt(
                "SELECT u.id, u.email, u.name FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.token = $1 AND s.expires_at > now()",
                &[&token],
            )
            .await?;
        if let Some(r) = row {
            let id: String = r.get(0);
            return Ok(json_response(
                200,
                &json!({
                    "session": {"id": format!("paperclip:session:{id}"), "userId": id},
                    "user": {"id": id, "email": r.get::<_, String>(1), "name": r.get::<_, String>(2), "image": null},
                }),
            ));
        }
    }
    Ok(json_response(200, &Value::Null))
}

/// POST /api/board-api-keys (session boards mint a key for themselves).
pub async fn create_board_key(
    State(state): State<AppState>,
    actor: Actor,
    body: JsonBody,
) -> Result<Response> {
    let board = authz::assert_board(&actor)?;
    let name = body.str("name").unwrap_or("default").to_string();
    let token = new_token("pcp_board_");
    let client = state.pool.get().await?;
    let id: Uuid = client
        .query_one(
            "INSERT INTO board_api_keys (user_id, name, key_hash, expires_at)
             VALUES ($1, $2, $3, now() + interval '30 days') RETURNING id",
            &[&board.user_id, &name, &sha256_hex(&token)],
        )
        .await?
        .get(0);
    let value = rows::query_entity(
        &**client,
        "SELECT id, name, created_at, last_used_at, revoked_at, expires_at FROM board_api_keys WHERE id = $1",
        &[&id],
    )
    .await?
    .unwrap_or(Value::Null);
    // Field order as the real host answers: id, name, token, then the rest.
    let mut out = serde_json::Map::new();
    if let Value::Object(o) = value {
        for (k, v) in o {
            out.insert(k.clone(), v);
            if k == "name" {
                out.insert("token".into(), json!(token));
            }
        }
    }
    let out = Value::Object(out);
    Ok(json_response(201, &out))
}

pub async fn company_json(c: &impl tokio_postgres::GenericClient, id: Uuid) -> Result<Value> {
    let mut v = rows::query_entity(c, "SELECT * FROM companies WHERE id = $1", &[&id])
        .await?
        .ok_or_else(|| Error::not_found("Company not found"))?;
    if let Some(o) = v.as_object_mut() {
        o.insert("logoUrl".into(), Value::Null);
    }
    Ok(v)
}

/// POST /api/companies
pub async fn create_company(
    State(state): State<AppState>,
    actor: Actor,
    body: JsonBody,
) -> Result<Response> {
    let board = authz::assert_board(&actor)?;
    if !(board.source == BoardSource::LocalImplicit || board.is_instance_admin) {
        return Err(Error::forbidden("Instance admin required"));
    }
    let name = match body.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => return Err(Error::validation("name", "Required")),
    };
    let description = body.str("description").map(String::from);
    let budget = body
        .get("budgetMonthlyCents")
        .and_then(Value::as_i64)
        .unwrap_or(0) as i32;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock(7301)", &[])
        .await?;
    let prefix = issue_prefix_tx(&tx, &name).await?;
    let id: Uuid = tx
        .query_one(
            "INSERT INTO companies (name, description, issue_prefix, budget_monthly_cents, default_responsible_user_id)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[&name, &description, &prefix, &budget, &board.user_id],
        )
        .await?
        .get(0);
    tx.execute(
        "INSERT INTO company_memberships (company_id, principal_type, principal_id, status, membership_role)
         VALUES ($1, 'user', $2, 'active', 'owner') ON CONFLICT DO NOTHING",
        &[&id, &board.user_id],
    )
    .await?;
    activity::log(
        &*tx,
        Activity {
            company_id: id,
            actor_type: "user",
            actor_id: &board.user_id,
            action: "company.created",
            entity_type: "company",
            entity_id: &id.to_string(),
            agent_id: None,
            run_id: None,
            details: json!({ "name": name }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(json_response(201, &company_json(&**client, id).await?))
}

/// The issue prefix of a new company: first three letters of the name,
/// then `A`, `B`, … suffixes while taken ("CON", "CONA", …).
async fn issue_prefix_tx(tx: &deadpool_postgres::Transaction<'_>, name: &str) -> Result<String> {
    let letters: String = name
        .chars()
        .filter(|c| c.is_ascii_alphabetic())
        .take(3)
        .collect::<String>()
        .to_uppercase();
    let base = if letters.is_empty() {
        "CMP".to_string()
    } else {
        letters
    };
    let taken: Vec<String> = tx
        .query(
            "SELECT issue_prefix FROM companies WHERE issue_prefix LIKE $1 || '%'",
            &[&base],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if !taken.contains(&base) {
        return Ok(base);
    }
    for n in 0..(26 * 27) {
        let suffix = if n < 26 {
            ((b'A' + n as u8) as char).to_string()
        } else {
            let m = n - 26;
            format!(
                "{}{}",
                (b'A' + (m / 26) as u8) as char,
                (b'A' + (m % 26) as u8) as char
            )
        };
        let candidate = format!("{base}{suffix}");
        if !taken.contains(&candidate) {
            return Ok(candidate);
        }
    }
    Ok(format!(
        "{base}{}",
        &Uuid::new_v4().simple().to_string()[..4].to_uppercase()
    ))
}

/// GET /api/companies
pub async fn list_companies(State(state): State<AppState>, actor: Actor) -> Result<Response> {
    let board = authz::assert_board(&actor)?;
    let client = state.pool.get().await?;
    let all = rows::query_entities(
        &**client,
        "SELECT * FROM companies ORDER BY created_at",
        &[],
    )
    .await?;
    let visible: Vec<Value> = all
        .into_iter()
        .filter(|c| {
            board.source == BoardSource::LocalImplicit
                || board.is_instance_admin
                || c["id"]
                    .as_str()
                    .and_then(|s| Uuid::parse_str(s).ok())
                    .is_some_and(|id| board.company_ids.contains(&id))
        })
        .collect();
    Ok(json_response(200, &Value::Array(visible)))
}

/// GET /api/companies/:id
pub async fn get_company(
    State(state): State<AppState>,
    actor: Actor,
    method: Method,
    Path(id): Path<String>,
) -> Result<Response> {
    let id = parse_uuid(&id, "Company")?;
    authz::assert_company_access(&actor, id, &method)?;
    let client = state.pool.get().await?;
    Ok(json_response(200, &company_json(&**client, id).await?))
}

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

pub async fn agent_json(c: &impl tokio_postgres::GenericClient, id: Uuid) -> Result<Value> {
    let mut v = rows::query_entity(c, "SELECT * FROM agents WHERE id = $1", &[&id])
        .await?
        .ok_or_else(|| Error::not_found("Agent not found"))?;
    if let Some(o) = v.as_object_mut() {
        let name = o
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        o.insert("urlKey".into(), json!(url_key(&name)));
    }
    Ok(v)
}

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
    let title = body.str("title").map(String::from);
    let adapter_type = body.str("adapterType").unwrap_or("process").to_string();
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
    if client
        .query_opt("SELECT 1 FROM companies WHERE id = $1", &[&company_id])
        .await?
        .is_none()
    {
        return Err(Error::not_found("Company not found"));
    }
    let id: Uuid = client
        .query_one(
            "INSERT INTO agents (company_id, name, role, title, adapter_type, adapter_config, runtime_config, permissions)
             VALUES ($1, $2, $3, $4, $5, $6, $7, '{\"canCreateAgents\":false,\"canCreateSkills\":true}'::jsonb) RETURNING id",
            &[&company_id, &name, &role, &title, &adapter_type, &adapter_config, &runtime],
        )
        .await?
        .get(0);
    client
        .execute(
            "INSERT INTO company_memberships (company_id, principal_type, principal_id, status, membership_role)
             VALUES ($1, 'agent', $2, 'active', 'member') ON CONFLICT DO NOTHING",
            &[&company_id, &id.to_string()],
        )
        .await?;
    let info = authz::actor_info(&actor)?;
    activity::log(
        &**client,
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
    Ok(json_response(201, &agent_json(&**client, id).await?))
}

/// GET /api/companies/:id/agents
pub async fn list_agents(
    State(state): State<AppState>,
    actor: Actor,
    method: Method,
    Path(company): Path<String>,
) -> Result<Response> {
    let company_id = accessible_company(&company, &actor, &method)?;
    let client = state.pool.get().await?;
    let list = rows::query_entities(
        &**client,
        "SELECT * FROM agents WHERE company_id = $1 ORDER BY created_at",
        &[&company_id],
    )
    .await?;
    Ok(json_response(200, &Value::Array(list)))
}

/// The agent's company (404 when missing).
pub async fn agent_company(c: &impl tokio_postgres::GenericClient, agent_id: Uuid) -> Result<Uuid> {
    c.query_opt("SELECT company_id FROM agents WHERE id = $1", &[&agent_id])
        .await?
        .map(|r| r.get(0))
        .ok_or_else(|| Error::not_found("Agent not found"))
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
    let company = agent_company(&**client, id).await?;
    authz::assert_company_access(&actor, company, &method)?;
    Ok(json_response(200, &agent_json(&**client, id).await?))
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
    let company = agent_company(&**client, agent_id).await?;
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
    let company = agent_company(&**client, agent_id).await?;
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

/// The user id recorded for board-created objects.
pub fn board_user(actor: &Actor) -> Option<String> {
    match actor {
        Actor::Board(b) => Some(b.user_id.clone()),
        _ => None,
    }
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
    let company = agent_company(&**client, agent_id).await?;
    authz::assert_company_access(actor, company, method)?;
    client
        .execute(
            "UPDATE agents SET status = $2,
               paused_at = CASE WHEN $2 = 'paused' THEN now() ELSE NULL END,
               pause_reason = CASE WHEN $2 = 'paused' THEN 'manual' ELSE NULL END,
               updated_at = now() WHERE id = $1",
            &[&agent_id, &status],
        )
        .await?;
    if status == "paused" {
        // `cancelActiveForAgent`: the agent's runs end and let go of their
        // issues, without the recovery run a cancelled run would get.
        let runs = client
            .query(
                "SELECT id FROM heartbeat_runs WHERE agent_id = $1 AND status = ANY($2)",
                &[&agent_id, &heartbeat::CANCELLABLE],
            )
            .await?;
        for row in runs {
            let run: Uuid = row.get(0);
            if heartbeat::mark_cancelled(
                &**client,
                run,
                "Cancelled due to agent pause",
                "agent_paused",
            )
            .await?
            {
                heartbeat::release_issues(&**client, run).await?;
            }
        }
    }
    activity::log(
        &**client,
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
    Ok(json_response(200, &agent_json(&**client, agent_id).await?))
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

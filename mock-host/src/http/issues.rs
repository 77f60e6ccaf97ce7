//! Issue, checkout, heartbeat and activity REST routes.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::Method;
use axum::response::Response;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::db::rows;
use crate::error::{json_response, Error, Result};
use crate::host::AppState;
use crate::http::actor::Actor;
use crate::http::authz;
use crate::http::ids::{accessible_company, parse_uuid};
use crate::http::pipeline::JsonBody;
use crate::services::activity::{self, Activity};
use crate::services::agents;
use crate::services::heartbeat::{self, Wakeup};
use crate::services::issues::{self, NewIssue, PRIORITIES, STATUSES};

fn opt_uuid(body: &JsonBody, key: &str) -> Result<Option<Uuid>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Uuid::parse_str(s)
            .map(Some)
            .map_err(|_| Error::validation(key, "Invalid uuid")),
        Some(_) => Err(Error::validation(key, "Expected string")),
    }
}

/// The issue a route names, once the caller may access its company.
async fn accessible_issue(
    client: &impl crate::db::Db,
    id: &str,
    actor: &Actor,
    method: &Method,
) -> Result<issues::IssueRow> {
    let issue = issues::find(client, id)
        .await?
        .ok_or_else(|| Error::not_found("Issue not found"))?;
    authz::assert_company_access(actor, issue.company_id, method)?;
    Ok(issue)
}
/// POST /api/companies/:id/issues
pub async fn create_issue(
    State(state): State<AppState>,
    actor: Actor,
    method: Method,
    Path(company): Path<String>,
    body: JsonBody,
) -> Result<Response> {
    let company_id = accessible_company(&company, &actor, &method)?;
    let title = match body.get("title") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => return Err(Error::validation("title", "Required")),
    };
    let status = body.str("status").unwrap_or("backlog").to_string();
    if !STATUSES.contains(&status.as_str()) {
        return Err(Error::validation("status", "Invalid enum value"));
    }
    let priority = body.str("priority").unwrap_or("medium").to_string();
    if !PRIORITIES.contains(&priority.as_str()) {
        return Err(Error::validation("priority", "Invalid enum value"));
    }
    let info = authz::actor_info(&actor)?;
    let assignee = opt_uuid(&body, "assigneeAgentId")?;
    let new = NewIssue {
        company_id,
        parent_id: opt_uuid(&body, "parentId")?,
        project_id: opt_uuid(&body, "projectId")?,
        title: title.clone(),
        description: body.str("description").map(String::from),
        status: Some(status.clone()),
        priority: Some(priority),
        assignee_agent_id: assignee,
        assignee_user_id: body.str("assigneeUserId").map(String::from),
        billing_code: body.str("billingCode").map(String::from),
        created_by_agent_id: info.agent_id,
        created_by_user_id: info.user_id.clone(),
        blocked_by: match body.get("blockedByIssueIds") {
            Some(Value::Array(a)) => Some(
                a.iter()
                    .filter_map(Value::as_str)
                    .filter_map(|s| Uuid::parse_str(s).ok())
                    .collect(),
            ),
            _ => None,
        },
        ..Default::default()
    };
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let id = issues::create(&*tx, new).await?;
    let row = issues::get(&*tx, id)
        .await?
        .ok_or_else(|| Error::internal("issue vanished"))?;
    let run_id = activity::run_uuid(info.run_id.as_deref())?;
    activity::log(
        &*tx,
        Activity {
            company_id,
            actor_type: info.actor_type,
            actor_id: &info.actor_id,
            action: "issue.created",
            entity_type: "issue",
            entity_id: &id.to_string(),
            agent_id: info.agent_id,
            run_id,
            details: json!({ "title": title, "identifier": row.identifier }),
        },
    )
    .await?;
    // A non-backlog assigned issue wakes its assignee (assignment wakeup).
    let mut started = None;
    if let (Some(agent), true) = (assignee, status != "backlog") {
        started = heartbeat::wakeup(
            &*tx,
            &Wakeup {
                agent_id: agent,
                source: "assignment".into(),
                trigger_detail: Some("system".into()),
                reason: Some("issue_assigned".into()),
                payload: json!({ "issueId": id, "mutation": "create" }),
                idempotency_key: None,
                requested_by_actor_type: Some(info.actor_type.into()),
                requested_by_actor_id: Some(info.actor_id.clone()),
                context_snapshot: heartbeat::issue_context(
                    id,
                    "issue_assigned",
                    "issue.create",
                    json!({}),
                ),
                issue_id: Some(id),
            },
        )
        .await?;
    }
    tx.commit().await?;
    if let Some(run) = started {
        heartbeat::start_run(state.pool.clone(), run);
    }
    let mut v = issues::json(&client, id).await?;
    if let Some(o) = v.as_object_mut() {
        o.insert("blockedBy".into(), json!([]));
        o.insert("blocks".into(), json!([]));
    }
    Ok(json_response(201, &v))
}

/// GET /api/companies/:id/issues
pub async fn list_issues(
    State(state): State<AppState>,
    actor: Actor,
    method: Method,
    Path(company): Path<String>,
) -> Result<Response> {
    let company_id = accessible_company(&company, &actor, &method)?;
    let client = state.pool.get().await?;
    let list = rows::query_entities(
        &client,
        "SELECT * FROM issues WHERE company_id = $1 AND hidden_at IS NULL ORDER BY created_at DESC",
        &[&company_id],
    )
    .await?;
    Ok(json_response(200, &Value::Array(list)))
}

/// GET /api/issues/:id
pub async fn get_issue(
    State(state): State<AppState>,
    actor: Actor,
    method: Method,
    Path(id): Path<String>,
) -> Result<Response> {
    let client = state.pool.get().await?;
    let issue = accessible_issue(&client, &id, &actor, &method).await?;
    let mut v = issues::json(&client, issue.id).await?;
    let rel = issues::relations(&client, issue.id).await?;
    if let Some(o) = v.as_object_mut() {
        o.insert("blockedBy".into(), rel["blockedBy"].clone());
        o.insert("blocks".into(), rel["blocks"].clone());
    }
    Ok(json_response(200, &v))
}

/// POST /api/issues/:id/checkout
pub async fn checkout(
    State(state): State<AppState>,
    actor: Actor,
    method: Method,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response> {
    let mut client = state.pool.get().await?;
    let issue = accessible_issue(&client, &id, &actor, &method).await?;
    let agent_id =
        opt_uuid(&body, "agentId")?.ok_or_else(|| Error::validation("agentId", "Required"))?;
    let expected: Vec<String> = match body.get("expectedStatuses") {
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        _ => return Err(Error::validation("expectedStatuses", "Required")),
    };
    let run_id: Option<String> = match &actor {
        Actor::Agent(a) => {
            if a.agent_id != agent_id {
                return Err(Error::forbidden("Agent can only checkout as itself"));
            }
            match a.run_id.as_deref().map(str::trim) {
                Some(r) if !r.is_empty() => Some(r.to_string()),
                _ => return Err(Error::unauthorized("Agent run id required")),
            }
        }
        _ => None,
    };
    let target_company = agents::company_of(&client, agent_id).await?;
    if target_company != issue.company_id {
        return Err(Error::unprocessable(
            "Agent must belong to the issue's company",
        ));
    }
    let same_owner = issue.status == "in_progress"
        && issue.assignee_agent_id == Some(agent_id)
        && issue.checkout_run_id.map(|r| r.to_string()) == run_id;
    let info = authz::actor_info(&actor)?;
    if !same_owner {
        if !expected.contains(&issue.status) {
            return Err(Error::conflict("Issue checkout conflict"));
        }
        if let Some(other) = issue.checkout_run_id {
            if issues::run_is_live(&client, other).await?
                && (issue.assignee_agent_id != Some(agent_id) || run_id.is_some())
            {
                return Err(Error::conflict("Issue checkout conflict"));
            }
        }
        let tx = client.transaction().await?;
        // The run id reaches a uuid FK column: an unknown run fails (500).
        tx.execute(
            "UPDATE issues SET status = 'in_progress', assignee_agent_id = $2, assignee_user_id = NULL,
               checkout_run_id = $3::text::uuid, execution_run_id = $3::text::uuid,
               execution_locked_at = CASE WHEN $3::text IS NULL THEN NULL ELSE now() END,
               started_at = coalesce(started_at, now()), updated_at = now()
             WHERE id = $1",
            &[&issue.id, &agent_id, &run_id],
        )
        .await?;
        let log_run = activity::run_uuid(info.run_id.as_deref())?;
        activity::log(
            &*tx,
            Activity {
                company_id: issue.company_id,
                actor_type: info.actor_type,
                actor_id: &info.actor_id,
                action: "issue.checked_out",
                entity_type: "issue",
                entity_id: &issue.id.to_string(),
                agent_id: info.agent_id,
                run_id: log_run,
                details: json!({ "agentId": agent_id, "identifier": issue.identifier }),
            },
        )
        .await?;
        // A board checkout wakes the assignee, whose run then takes the
        // checkout (real-host.md §4: checkoutRunId set within ~1.5 s).
        let mut started = None;
        if run_id.is_none() {
            started = heartbeat::wakeup(
                &*tx,
                &Wakeup {
                    agent_id,
                    source: "assignment".into(),
                    trigger_detail: Some("system".into()),
                    reason: Some("issue_checked_out".into()),
                    payload: json!({ "issueId": issue.id, "mutation": "checkout" }),
                    idempotency_key: None,
                    requested_by_actor_type: Some(info.actor_type.into()),
                    requested_by_actor_id: Some(info.actor_id.clone()),
                    context_snapshot: heartbeat::issue_context(
                        issue.id,
                        "issue_checked_out",
                        "issue.checkout",
                        json!({}),
                    ),
                    issue_id: Some(issue.id),
                },
            )
            .await?;
        }
        tx.commit().await?;
        if let Some(run) = started {
            heartbeat::start_run(state.pool.clone(), run);
        }
    }
    Ok(json_response(200, &issues::json(&client, issue.id).await?))
}

/// What an invoke or wakeup asks the agent to run for.
struct WakeRequest {
    source: String,
    trigger: Option<String>,
    reason: Option<String>,
    payload: Value,
}

async fn invoke_common(
    state: &AppState,
    actor: &Actor,
    method: &Method,
    agent: &str,
    request: WakeRequest,
) -> Result<Response> {
    let WakeRequest {
        source,
        trigger,
        reason,
        payload,
    } = request;
    let agent_id = parse_uuid(agent, "Agent")?;
    let client = state.pool.get().await?;
    let company = agents::company_of(&client, agent_id).await?;
    authz::assert_company_access(actor, company, method)?;
    if let Actor::Agent(a) = actor {
        if a.agent_id != agent_id {
            return Err(Error::forbidden("Agent can only invoke itself"));
        }
    }
    let info = authz::actor_info(actor)?;
    let issue_id = payload
        .get("issueId")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok());
    let context = match issue_id {
        Some(i) => heartbeat::issue_context(
            i,
            reason.as_deref().unwrap_or("on_demand"),
            &source,
            json!({}),
        ),
        None => json!({}),
    };
    let run = heartbeat::wakeup(
        &client,
        &Wakeup {
            agent_id,
            source,
            trigger_detail: trigger,
            reason,
            payload,
            idempotency_key: None,
            requested_by_actor_type: Some(info.actor_type.into()),
            requested_by_actor_id: Some(info.actor_id.clone()),
            context_snapshot: context,
            issue_id,
        },
    )
    .await?;
    match run {
        None => Ok(json_response(202, &json!({ "status": "skipped" }))),
        Some(run) => {
            let v = heartbeat::run_json(&client, run).await?;
            heartbeat::start_run(state.pool.clone(), run);
            Ok(json_response(202, &v))
        }
    }
}

/// POST /api/agents/:id/heartbeat/invoke
pub async fn invoke(
    State(state): State<AppState>,
    actor: Actor,
    method: Method,
    Path(id): Path<String>,
) -> Result<Response> {
    invoke_common(
        &state,
        &actor,
        &method,
        &id,
        WakeRequest {
            source: "on_demand".into(),
            trigger: Some("manual".into()),
            reason: None,
            payload: json!({}),
        },
    )
    .await
}

/// POST /api/agents/:id/wakeup
pub async fn wakeup(
    State(state): State<AppState>,
    actor: Actor,
    method: Method,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Response> {
    let source = body.str("source").unwrap_or("on_demand").to_string();
    let trigger = body.str("triggerDetail").unwrap_or("manual").to_string();
    let reason = body.str("reason").map(String::from);
    let payload = body.get("payload").cloned().unwrap_or(json!({}));
    invoke_common(
        &state,
        &actor,
        &method,
        &id,
        WakeRequest {
            source,
            trigger: Some(trigger),
            reason,
            payload,
        },
    )
    .await
}

/// POST /api/heartbeat-runs/:runId/cancel (board): the run ends
/// `cancelled`, its issues let go of it, and an assignee's unfinished issue
/// gets the immediate recovery run 2026.707.0 queues.
pub async fn cancel_run(
    State(state): State<AppState>,
    actor: Actor,
    method: Method,
    Path(id): Path<String>,
) -> Result<Response> {
    let board = authz::assert_board(&actor)?.clone();
    let mut client = state.pool.get().await?;
    // The run id reaches a uuid column unchecked: a non-uuid fails there.
    let run = client
        .query_opt(
            "SELECT id, company_id, agent_id FROM heartbeat_runs WHERE id = $1::text::uuid",
            &[&id],
        )
        .await?;
    let Some(run) = run else {
        return Err(Error::not_found("Heartbeat run not found"));
    };
    let run_id: Uuid = run.get(0);
    let company: Uuid = run.get(1);
    let agent: Uuid = run.get(2);
    authz::assert_company_access(&actor, company, &method)?;
    let tx = client.transaction().await?;
    let mut recovery = None;
    if heartbeat::mark_cancelled(&*tx, run_id, "Cancelled by control plane", "cancelled").await? {
        if let Some(issue) = heartbeat::release_issues(&*tx, run_id).await? {
            recovery = heartbeat::queue_recovery(&*tx, run_id, issue).await?;
        }
        heartbeat::finalize_agent_status(&*tx, agent).await?;
    }
    activity::log(
        &*tx,
        Activity {
            company_id: company,
            actor_type: "user",
            actor_id: &board.user_id,
            action: "heartbeat.cancelled",
            entity_type: "heartbeat_run",
            entity_id: &run_id.to_string(),
            agent_id: None,
            run_id: None,
            details: json!({ "agentId": agent }),
        },
    )
    .await?;
    tx.commit().await?;
    if let Some(run) = recovery {
        heartbeat::start_run(state.pool.clone(), run);
    }
    Ok(json_response(
        200,
        &heartbeat::run_json(&client, run_id).await?,
    ))
}

/// GET /api/companies/:id/activity?agentId&entityType&entityId
pub async fn company_activity(
    State(state): State<AppState>,
    actor: Actor,
    method: Method,
    Path(company): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response> {
    let company_id = accessible_company(&company, &actor, &method)?;
    let client = state.pool.get().await?;
    let agent = q.get("agentId").and_then(|s| Uuid::parse_str(s).ok());
    let list = rows::query_entities(
        &client,
        "SELECT id, company_id, actor_type, actor_id, action, entity_type, entity_id, agent_id, run_id, details, created_at
         FROM activity_log WHERE company_id = $1
           AND ($2::uuid IS NULL OR agent_id = $2)
           AND ($3::text IS NULL OR entity_type = $3)
           AND ($4::text IS NULL OR entity_id = $4)
         ORDER BY created_at DESC, id DESC",
        &[&company_id, &agent, &q.get("entityType"), &q.get("entityId")],
    )
    .await?;
    Ok(json_response(200, &Value::Array(list)))
}

/// GET /api/issues/:id/activity
pub async fn issue_activity(
    State(state): State<AppState>,
    actor: Actor,
    method: Method,
    Path(id): Path<String>,
) -> Result<Response> {
    let client = state.pool.get().await?;
    let issue = accessible_issue(&client, &id, &actor, &method).await?;
    let list = rows::query_entities(
        &client,
        "SELECT id, company_id, actor_type, actor_id, action, entity_type, entity_id, agent_id, run_id, details, created_at
         FROM activity_log WHERE entity_type = 'issue' AND entity_id = $1 ORDER BY created_at DESC, id DESC",
        &[&issue.id.to_string()],
    )
    .await?;
    Ok(json_response(200, &Value::Array(list)))
}

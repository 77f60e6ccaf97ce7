//! `issues.requestWakeup(s)`: wake an issue's assignee for a plugin, with
//! the real host's checks in order and an activity row per issue.

use serde_json::{json, Value};
use uuid::Uuid;

use super::activity::log_plugin_activity;
use super::issues::issue_in;
use super::params::{company, id_items, s, PluginActor};
use super::ServiceCtx;
use crate::config::Defect;
use crate::db::Client;
use crate::error::{Error, Result};
use crate::services::heartbeat::{self, Wakeup};

/// `issues.requestWakeup` → `{queued, runId}`.
pub(super) async fn request_one(ctx: &ServiceCtx, client: &Client, p: &Value) -> Result<Value> {
    let company_id = company(p)?;
    let r = request_wakeup(
        ctx,
        client,
        company_id,
        s(p, "issueId"),
        p,
        s(p, "idempotencyKey").map(String::from),
        "plugin.issue.requestWakeup",
    )
    .await?;
    Ok(json!({"queued": r.is_some(), "runId": r}))
}

/// `issues.requestWakeups {issueIds, …}` → one `{issueId, queued, runId}` per distinct id.
pub(super) async fn request_many(ctx: &ServiceCtx, client: &Client, p: &Value) -> Result<Value> {
    let company_id = company(p)?;
    // The ids are iterated as given: a string is its characters (F29).
    let mut ids: Vec<String> = Vec::new();
    for id in id_items(p, "issueIds").unwrap_or_default() {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let mut out = Vec::new();
    for id in ids {
        let key = s(p, "idempotencyKeyPrefix").map(|pre| format!("{pre}:{id}"));
        let r = request_wakeup(
            ctx,
            client,
            company_id,
            Some(&id),
            p,
            key,
            "plugin.issue.requestWakeups",
        )
        .await?;
        out.push(json!({"issueId": id, "queued": r.is_some(), "runId": r}));
    }
    Ok(Value::Array(out))
}

async fn request_wakeup(
    ctx: &ServiceCtx,
    client: &crate::db::Client,
    company_id: Uuid,
    issue_id: Option<&str>,
    p: &Value,
    idempotency_key: Option<String>,
    default_source: &str,
) -> Result<Option<Uuid>> {
    let client: &tokio_postgres::Client = client;
    let issue = issue_in(client, company_id, issue_id).await?;
    let agent = issue
        .assignee_agent_id
        .ok_or_else(|| Error::internal("Issue has no assigned agent to wake"))?;
    if matches!(issue.status.as_str(), "backlog" | "done" | "cancelled") {
        return Err(Error::internal(format!(
            "Issue is not wakeable in status: {}",
            issue.status
        )));
    }
    let unresolved: bool = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM issue_relations r JOIN issues b ON b.id = r.issue_id
             WHERE r.related_issue_id = $1 AND r.type = 'blocks' AND b.status <> 'done')",
            &[&issue.id],
        )
        .await?
        .get(0);
    if unresolved {
        return Err(Error::internal("Issue is blocked by unresolved blockers"));
    }
    let actor = PluginActor::from_params(p)?;
    // Defect wakeup-dedup-wrong: a key the plugin used before wakes nobody.
    if let (Some(key), true) = (&idempotency_key, ctx.defects.has(Defect::WakeupDedupWrong)) {
        let seen: bool = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM agent_wakeup_requests WHERE idempotency_key = $1 AND requested_by_actor_id = $2)",
                &[key, &ctx.plugin_id.to_string()],
            )
            .await?
            .get(0);
        if seen {
            return Ok(None);
        }
    }
    let reason = s(p, "reason")
        .unwrap_or("plugin_issue_wakeup_requested")
        .to_string();
    let source = s(p, "contextSource").unwrap_or(default_source).to_string();
    let run = heartbeat::wakeup(
        client,
        &Wakeup {
            agent_id: agent,
            source: "assignment".into(),
            trigger_detail: Some("system".into()),
            reason: Some(reason.clone()),
            payload: json!({
                "issueId": issue.id,
                "mutation": "plugin_wakeup",
                "pluginId": ctx.plugin_id,
                "pluginKey": ctx.plugin_key,
                "contextSource": source,
            }),
            idempotency_key,
            requested_by_actor_type: Some("system".into()),
            requested_by_actor_id: Some(ctx.plugin_id.to_string()),
            context_snapshot: heartbeat::issue_context(
                issue.id,
                &reason,
                &source,
                json!({"pluginId": ctx.plugin_id, "pluginKey": ctx.plugin_key}),
            ),
            issue_id: Some(issue.id),
        },
    )
    .await?;
    if let Some(run) = run {
        heartbeat::start_run(ctx.pool.clone(), run);
    }
    log_plugin_activity(
        ctx,
        client,
        company_id,
        "issue.assignment_wakeup_requested",
        issue.id,
        json!({
            "identifier": issue.identifier,
            "assigneeAgentId": agent,
            "runId": run,
            "reason": reason,
            "contextSource": source,
        }),
        &actor,
    )
    .await?;
    Ok(run)
}

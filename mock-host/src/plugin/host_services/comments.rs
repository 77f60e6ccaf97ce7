//! `issues.listComments` / `issues.createComment` on `issue_comments`.

use serde_json::{json, Value};
use uuid::Uuid;

use super::activity::log_plugin_activity;
use super::issues::issue_in;
use super::params::{company, js_prefix, js_string, s, uuid_param, PluginActor};
use super::ServiceCtx;
use crate::config::Defect;
use crate::db::{pg, rows, Client};
use crate::error::Result;
use crate::services::activity::{self, Activity};
use crate::services::issues;

/// A comment as the host answers it: the row, and the deletion, derived
/// author, presentation and trust fields the mock never sets (null).
const COMMENT_SELECT: &str = "SELECT *, NULL::timestamptz AS deleted_at, NULL::uuid AS deleted_by_agent_id,
        NULL::uuid AS deleted_by_run_id, NULL::text AS deleted_by_type, NULL::text AS deleted_by_user_id,
        NULL::uuid AS derived_author_agent_id, NULL::text AS derived_author_source,
        NULL::uuid AS derived_created_by_run_id, NULL::jsonb AS metadata, NULL::jsonb AS presentation,
        NULL::text AS source_trust
    FROM issue_comments";

/// `issues.listComments {issueId, companyId}`, newest first (`[]` outside the company).
pub(super) async fn list(client: &Client, p: &Value) -> Result<Value> {
    let company_id = company(p)?;
    match issues::find(pg(client), s(p, "issueId").unwrap_or_default()).await? {
        Some(i) if i.company_id == company_id => Ok(Value::Array(
            rows::query_entities(
                pg(client),
                &format!("{COMMENT_SELECT} WHERE issue_id = $1 ORDER BY created_at DESC, id DESC"),
                &[&i.id],
            )
            .await?,
        )),
        _ => Ok(json!([])),
    }
}

/// `issues.createComment {issueId, companyId, body, authorAgentId?}` → the comment row.
pub(super) async fn create(ctx: &ServiceCtx, client: &Client, p: &Value) -> Result<Value> {
    let company_id = company(p)?;
    let issue = issue_in(pg(client), company_id, s(p, "issueId")).await?;
    let author = uuid_param(p, "authorAgentId")?;
    // `String(body)`: a number is stored as its digits (F29).
    let body = js_string(p, "body").unwrap_or_default();
    let author_type = if author.is_some() { "agent" } else { "system" };
    let comment_id: Uuid = client
        .query_one(
            "INSERT INTO issue_comments (company_id, issue_id, author_agent_id, author_type, body)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[&issue.company_id, &issue.id, &author, &author_type, &body],
        )
        .await?
        .get(0);
    let comment = rows::query_entity(
        pg(client),
        &format!("{COMMENT_SELECT} WHERE id = $1"),
        &[&comment_id],
    )
    .await?
    .unwrap_or(Value::Null);
    client
        .execute(
            "UPDATE issues SET updated_at = now() WHERE id = $1",
            &[&issue.id],
        )
        .await?;
    let details = json!({
        "identifier": issue.identifier,
        "commentId": comment_id,
        "bodySnippet": js_prefix(&body, 120),
    });
    // Defect host-call-no-attribution: the row is the system's, the plugin
    // nowhere in it.
    if ctx.defects.has(Defect::HostCallNoAttribution) {
        activity::log(
            pg(client),
            Activity {
                company_id,
                actor_type: "system",
                actor_id: "system",
                action: "issue.comment.created",
                entity_type: "issue",
                entity_id: &issue.id.to_string(),
                agent_id: author,
                run_id: None,
                details,
            },
        )
        .await?;
        return Ok(comment);
    }
    log_plugin_activity(
        ctx,
        pg(client),
        company_id,
        "issue.comment.created",
        issue.id,
        details,
        &PluginActor {
            agent: author,
            user: None,
            run: None,
        },
    )
    .await?;
    Ok(comment)
}

//! `issues.assertCheckoutOwner`: the scoped routes' checkout policy as a
//! host service (a stale checkout may be adopted by a live run).

use serde_json::{json, Value};

use super::activity::log_plugin_activity;
use super::issues::issue_in;
use super::params::{company, s, uuid_param, PluginActor};
use super::ServiceCtx;
use crate::db::{pg, Client};
use crate::error::{Error, Result};
use crate::services::issues;

/// `issues.assertCheckoutOwner {issueId, companyId, actorAgentId, actorRunId}`.
pub(super) async fn assert_owner(ctx: &ServiceCtx, client: &Client, p: &Value) -> Result<Value> {
    let company_id = company(p)?;
    let issue = issue_in(pg(client), company_id, s(p, "issueId")).await?;
    let agent = uuid_param(p, "actorAgentId")?
        .ok_or_else(|| Error::conflict("Issue run ownership conflict"))?;
    let run = s(p, "actorRunId").unwrap_or_default().to_string();
    let owner =
        issues::assert_checkout_owner(pg(client), &ctx.defects, issue.id, agent, &run).await?;
    if let Some(old) = owner.adopted_from {
        log_plugin_activity(
            ctx,
            pg(client),
            company_id,
            "issue.checkout_lock_adopted",
            issue.id,
            json!({"previousCheckoutRunId": old, "checkoutRunId": run, "reason": "stale_checkout_run"}),
            &PluginActor { agent: Some(agent), user: None, run: Some(run.clone()) },
        )
        .await?;
    }
    Ok(json!({
        "issueId": owner.issue.id,
        "status": owner.issue.status,
        "assigneeAgentId": owner.issue.assignee_agent_id,
        "checkoutRunId": owner.issue.checkout_run_id,
        "adoptedFromRunId": owner.adopted_from,
    }))
}

//! `issues.relations.*`: an issue's blockers, read and replaced for a plugin
//! (`set` replaces, `add` unions, `remove` subtracts).

use serde_json::{json, Value};

use super::activity::log_plugin_activity;
use super::issues::issue_in;
use super::params::{company, s, uuid_list, PluginActor};
use super::ServiceCtx;
use crate::db::{pg, Client};
use crate::error::Result;
use crate::services::issues;

/// `issues.relations.get {issueId, companyId}` → `{blockedBy, blocks}`.
pub(super) async fn get(client: &Client, p: &Value) -> Result<Value> {
    let company_id = company(p)?;
    let issue = issue_in(pg(client), company_id, s(p, "issueId")).await?;
    issues::relations(pg(client), issue.id).await
}

/// How a mutation changes the blocker set.
#[derive(Debug, Clone, Copy)]
pub(super) enum BlockerChange {
    /// `setBlockedBy {blockedByIssueIds}`: replace.
    Set,
    /// `addBlockers {blockerIssueIds}`: union with the previous set.
    Add,
    /// `removeBlockers {blockerIssueIds}`: previous minus the given.
    Remove,
}

/// `issues.relations.setBlockedBy/addBlockers/removeBlockers` → the new
/// `{blockedBy, blocks}`, with an `issue.relations.updated` row.
pub(super) async fn mutate(
    ctx: &ServiceCtx,
    client: &mut Client,
    change: BlockerChange,
    p: &Value,
) -> Result<Value> {
    let company_id = company(p)?;
    let issue = issue_in(pg(client), company_id, s(p, "issueId")).await?;
    let actor = PluginActor::from_params(p)?;
    let previous = issues::blocker_ids(pg(client), issue.id).await?;
    let (mutation, next) = match change {
        BlockerChange::Set => (
            "set",
            uuid_list(p, "blockedByIssueIds")?.unwrap_or_default(),
        ),
        BlockerChange::Add => {
            let mut n = previous.clone();
            for b in uuid_list(p, "blockerIssueIds")?.unwrap_or_default() {
                if !n.contains(&b) {
                    n.push(b);
                }
            }
            ("add", n)
        }
        BlockerChange::Remove => {
            let remove = uuid_list(p, "blockerIssueIds")?.unwrap_or_default();
            (
                "remove",
                previous
                    .iter()
                    .copied()
                    .filter(|b| !remove.contains(b))
                    .collect(),
            )
        }
    };
    let tx = client.transaction().await?;
    issues::replace_blockers(
        &*tx,
        company_id,
        issue.id,
        &next,
        actor.agent,
        actor.user.as_deref(),
    )
    .await?;
    tx.commit().await?;
    log_plugin_activity(
        ctx,
        pg(client),
        company_id,
        "issue.relations.updated",
        issue.id,
        json!({
            "identifier": issue.identifier,
            "mutation": mutation,
            "blockedByIssueIds": next,
            "previousBlockedByIssueIds": previous,
        }),
        &actor,
    )
    .await?;
    issues::relations(pg(client), issue.id).await
}

//! `issues.relations.*`: an issue's blockers, read and replaced for a plugin
//! (`set` replaces, `add` unions, `remove` subtracts).

use serde_json::{json, Value};
use uuid::Uuid;

use super::activity::log_plugin_activity;
use super::issues::issue_in;
use super::params::{company, id_items, s, PluginActor};
use super::ServiceCtx;
use crate::db::{pg, Client};
use crate::error::{Error, Result};
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
    let previous_text: Vec<String> = previous.iter().map(Uuid::to_string).collect();
    let (mutation, next_text) = match change {
        BlockerChange::Set => ("set", id_items(p, "blockedByIssueIds").unwrap_or_default()),
        BlockerChange::Add => {
            let mut n = previous_text.clone();
            for b in id_items(p, "blockerIssueIds").unwrap_or_default() {
                if !n.contains(&b) {
                    n.push(b);
                }
            }
            ("add", n)
        }
        BlockerChange::Remove => {
            let remove = id_items(p, "blockerIssueIds").unwrap_or_default();
            (
                "remove",
                previous_text
                    .iter()
                    .filter(|b| !remove.contains(b))
                    .cloned()
                    .collect(),
            )
        }
    };
    let next = lockable(company_id, issue.id, &next_text)?;
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

/// The new blocker set as ids. The real host first locks the issue and its
/// blockers (`… "issues"."id" in ($2, …) FOR UPDATE`); an item that is no
/// UUID fails that query, and its text is the answer (docs/findings.md F29).
pub(super) fn lockable(company_id: Uuid, issue_id: Uuid, ids: &[String]) -> Result<Vec<Uuid>> {
    let mut distinct: Vec<&String> = Vec::new();
    for id in ids {
        if !distinct.contains(&id) {
            distinct.push(id);
        }
    }
    let parsed: Option<Vec<Uuid>> = distinct.iter().map(|i| Uuid::parse_str(i).ok()).collect();
    match parsed {
        Some(list) => Ok(list),
        None => {
            let placeholders: Vec<String> =
                (2..distinct.len() + 3).map(|n| format!("${n}")).collect();
            let params: Vec<String> = [company_id.to_string(), issue_id.to_string()]
                .into_iter()
                .chain(distinct.iter().map(|s| s.to_string()))
                .collect();
            Err(Error::internal(format!(
                "Failed query: SELECT \"issues\".\"id\" FROM \"issues\"\n            WHERE (\"issues\".\"company_id\" = $1 and \"issues\".\"id\" in ({}))\n            ORDER BY \"issues\".\"id\"\n            FOR UPDATE\nparams: {}",
                placeholders.join(", "),
                params.join(",")
            )))
        }
    }
}

//! `issues.get/list/create/update`: issues read and written for a plugin,
//! with `originKind` kept under `plugin:<pluginKey>` and an activity row
//! for every mutation.

use crate::db::Db;
use serde_json::{json, Value};
use uuid::Uuid;

use super::activity::log_plugin_activity;
use super::params::{company, js_string, s, uuid_list, uuid_param, PluginActor};
use super::ServiceCtx;
use crate::config::Defect;
use crate::db::{pg, rows, Client};
use crate::error::{Error, Result};
use crate::services::issues::{self, NewIssue, Responsible};

/// `issues.get {issueId, companyId}` → the issue, or `null` outside the company.
pub(super) async fn get(ctx: &ServiceCtx, client: &Client, p: &Value) -> Result<Value> {
    let company_id = company(p)?;
    // The host trims the id it looks up: another type fails (F29).
    if matches!(p.get("issueId"), Some(v) if !v.is_string() && !v.is_null()) {
        return Err(Error::internal("raw.trim is not a function"));
    }
    // Defect cross-company-read: the issue's company is not compared.
    let any_company = ctx.defects.has(Defect::CrossCompanyRead);
    match issues::find(pg(client), s(p, "issueId").unwrap_or_default()).await? {
        Some(i) if any_company || i.company_id == company_id => {
            issues::json(pg(client), i.id).await
        }
        _ => Ok(Value::Null),
    }
}

/// `issues.list {companyId, …filters, limit?, offset?}`, newest first.
pub(super) async fn list(ctx: &ServiceCtx, client: &Client, p: &Value) -> Result<Value> {
    let company_id = company(p)?;
    let ok = match p.get("originKind") {
        Some(Value::String(k)) if k.starts_with("plugin:") => {
            Some(origin_kind(ctx, Some(&json!(k)))?)
        }
        Some(Value::String(k)) => Some(k.clone()),
        _ => None,
    };
    let limit = p.get("limit").and_then(Value::as_i64);
    let offset = p.get("offset").and_then(Value::as_i64).unwrap_or(0).max(0) as usize;
    let list = rows::query_entities(
        pg(client),
        "SELECT * FROM issues WHERE company_id = $1
           AND ($2::uuid IS NULL OR assignee_agent_id = $2)
           AND ($3::text IS NULL OR origin_kind = $3)
           AND ($4::text IS NULL OR origin_id = $4)
           AND ($5::text IS NULL OR status = ANY(string_to_array($5, ',')))
         ORDER BY created_at DESC LIMIT $6",
        &[
            &company_id,
            &uuid_param(p, "assigneeAgentId")?,
            &ok,
            &s(p, "originId"),
            &s(p, "status"),
            &limit.unwrap_or(i64::MAX),
        ],
    )
    .await?;
    // The real host slices offset..offset+limit after a SQL LIMIT.
    let end = limit.map(|l| l as usize).unwrap_or(usize::MAX);
    Ok(Value::Array(
        list.into_iter()
            .enumerate()
            .filter(|(i, _)| *i >= offset && *i < offset.saturating_add(end))
            .map(|(_, v)| list_item(v))
            .collect(),
    ))
}

/// A list entry as the host answers it: the issue's derived fields, no
/// active run, and its last activity (the mock's: its last update). The
/// host's `blockerAttention` is not derived (mock-host/README.md).
fn list_item(mut issue: Value) -> Value {
    issues::with_derived_fields(&mut issue);
    if let Some(o) = issue.as_object_mut() {
        let last = o.get("updatedAt").cloned().unwrap_or(Value::Null);
        o.insert("activeRun".into(), Value::Null);
        o.insert("lastActivityAt".into(), last);
    }
    issue
}

/// `issues.create` → the new issue with its relation summaries.
pub(super) async fn create(ctx: &ServiceCtx, client: &mut Client, p: &Value) -> Result<Value> {
    let company_id = company(p)?;
    let actor = PluginActor::from_params(p)?;
    let kind = origin_kind(ctx, p.get("originKind"))?;
    // 2026.707.0 stores `String(title)` (a number becomes its digits, F29);
    // from 2026.831 the title is trimmed, which fails for a non-string.
    let title = if ctx.plays.issue_title_trimmed() {
        match p.get("title") {
            Some(Value::String(t)) => t.trim().to_string(),
            Some(v) if !v.is_null() => return Err(Error::internal("title.trim is not a function")),
            _ => js_string(p, "title").unwrap_or_default(),
        }
    } else {
        js_string(p, "title").unwrap_or_default()
    };
    let new = NewIssue {
        company_id,
        parent_id: uuid_param(p, "parentId")?,
        inherit_from: uuid_param(p, "inheritExecutionWorkspaceFromIssueId")?,
        project_id: uuid_param(p, "projectId")?,
        title: title.clone(),
        description: s(p, "description").map(String::from),
        status: s(p, "status").map(String::from),
        priority: s(p, "priority").map(String::from),
        assignee_agent_id: uuid_param(p, "assigneeAgentId")?,
        assignee_user_id: s(p, "assigneeUserId").map(String::from),
        request_depth: p
            .get("requestDepth")
            .and_then(Value::as_i64)
            .map(|n| n as i32),
        billing_code: s(p, "billingCode").map(String::from),
        origin_kind: Some(kind.clone()),
        origin_id: s(p, "originId").map(String::from),
        origin_run_id: s(p, "originRunId")
            .map(String::from)
            .or_else(|| actor.run.clone()),
        created_by_agent_id: actor.agent,
        created_by_user_id: actor.user.clone(),
        blocked_by: uuid_list(p, "blockedByIssueIds")?,
        // Defect plugin-issue-company-responsible: the REST rule instead.
        responsible: if ctx.defects.has(Defect::PluginIssueCompanyResponsible) {
            Responsible::CompanyDefault
        } else {
            Responsible::Resolved {
                explicit: non_blank(s(p, "responsibleUserId")),
                actor_user: non_blank(actor.user.as_deref()),
            }
        },
    };
    let tx = client.transaction().await?;
    let id = issues::create(&*tx, new).await?;
    // Defect workspace-not-inherited: the parent's project workspace is not
    // copied to a plugin's issue.
    if ctx.defects.has(Defect::WorkspaceNotInherited) {
        tx.execute(
            "UPDATE issues SET project_workspace_id = NULL WHERE id = $1",
            &[&id],
        )
        .await?;
    }
    let row = issues::get(&*tx, id)
        .await?
        .ok_or_else(|| Error::internal("Issue not found"))?;
    tx.commit().await?;
    // Written after the insert, outside its transaction, like the
    // real host (a failing activity insert leaves the issue behind).
    log_plugin_activity(
        ctx,
        pg(client),
        company_id,
        "issue.created",
        id,
        json!({
            "title": title,
            "identifier": row.identifier,
            "originKind": kind,
            "originId": s(p, "originId"),
            "billingCode": s(p, "billingCode"),
            "blockedByIssueIds": p.get("blockedByIssueIds").cloned().filter(|v| !v.is_null()).unwrap_or(json!([])),
        }),
        &actor,
    )
    .await?;
    // The core create answers with the relation summaries attached.
    let mut issue = issues::json(pg(client), id).await?;
    if let (Some(o), Value::Object(rel)) = (
        issue.as_object_mut(),
        issues::relations(pg(client), id).await?,
    ) {
        o.extend(rel);
    }
    Ok(issue)
}

/// `issues.update {issueId, companyId, patch}` → the updated issue.
pub(super) async fn update(ctx: &ServiceCtx, client: &mut Client, p: &Value) -> Result<Value> {
    let company_id = company(p)?;
    let issue = issue_in(pg(client), company_id, s(p, "issueId")).await?;
    let patch = p.get("patch").cloned().unwrap_or(json!({}));
    let actor = PluginActor::from_params(&patch)?;
    if let Some(k) = patch.get("originKind") {
        origin_kind(ctx, Some(k))?;
    }
    let tx = client.transaction().await?;
    for (key, col) in [
        ("title", "title"),
        ("description", "description"),
        ("status", "status"),
        ("priority", "priority"),
        ("billingCode", "billing_code"),
        ("originId", "origin_id"),
        ("originKind", "origin_kind"),
    ] {
        if let Some(v) = patch.get(key) {
            let v = v.as_str().map(String::from);
            tx.execute(
                &format!("UPDATE issues SET {col} = $2, updated_at = now() WHERE id = $1"),
                &[&issue.id, &v],
            )
            .await?;
        }
    }
    if patch.get("assigneeAgentId").is_some() {
        tx.execute(
            "UPDATE issues SET assignee_agent_id = $2, updated_at = now() WHERE id = $1",
            &[&issue.id, &uuid_param(&patch, "assigneeAgentId")?],
        )
        .await?;
    }
    if let Some(b) = uuid_list(&patch, "blockedByIssueIds")? {
        issues::replace_blockers(
            &*tx,
            company_id,
            issue.id,
            &b,
            actor.agent,
            actor.user.as_deref(),
        )
        .await?;
    }
    tx.commit().await?;
    let mut clean = patch.clone();
    if let Some(o) = clean.as_object_mut() {
        o.remove("actorAgentId");
        o.remove("actorUserId");
        o.remove("actorRunId");
    }
    log_plugin_activity(
        ctx,
        pg(client),
        company_id,
        "issue.updated",
        issue.id,
        json!({
            "identifier": issue.identifier,
            "patch": clean,
            "_previous": {"status": issue.status, "assigneeAgentId": issue.assignee_agent_id, "assigneeUserId": issue.assignee_user_id},
        }),
        &actor,
    )
    .await?;
    issues::json(pg(client), issue.id).await
}

/// `normalizePluginOriginKind`.
pub(super) fn origin_kind(ctx: &ServiceCtx, v: Option<&Value>) -> Result<String> {
    let prefix = format!("plugin:{}", ctx.plugin_key);
    match v {
        None | Some(Value::Null) => Ok(prefix),
        Some(Value::String(s)) if s.is_empty() => Ok(prefix),
        Some(Value::String(s)) if *s == prefix || s.starts_with(&format!("{prefix}:")) => {
            Ok(s.clone())
        }
        Some(Value::String(_)) => Err(Error::internal(format!(
            "Plugin may only use originKind values under {prefix}"
        ))),
        Some(_) => Err(Error::internal("Plugin issue originKind must be a string")),
    }
}

/// The issue, which must belong to the company.
pub(super) async fn issue_in(
    c: &impl Db,
    company_id: Uuid,
    raw: Option<&str>,
) -> Result<issues::IssueRow> {
    match issues::find(c, raw.unwrap_or_default()).await? {
        Some(i) if i.company_id == company_id => Ok(i),
        _ => Err(Error::internal("Issue not found")),
    }
}

/// A string the host takes as an id: trimmed, not empty.
fn non_blank(v: Option<&str>) -> Option<String> {
    v.map(str::trim).filter(|t| !t.is_empty()).map(String::from)
}

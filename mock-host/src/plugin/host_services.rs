//! Worker→host methods (contract-db-worker.md B2.2/B3): each call passes the
//! capability gate and the invocation-scope gate (`plugin::invocation`), then
//! runs against the core services. As on 2026.707.0, the two gates answer
//! with their own codes (`-32001`, `-32005`); every other failure goes back
//! to the worker as JSON-RPC `-32603` with the error's message.

use std::sync::Arc;

use deadpool_postgres::Pool;
use serde_json::{json, Value};
use tokio_postgres::GenericClient;
use uuid::Uuid;

use crate::config::{Defect, Defects};
use crate::db::params::JsonParam;
use crate::db::rows;
use crate::error::{rpc_code, Error, Result};
use crate::plugin::invocation::{self, ScopeContext};
use crate::plugin::{namespace, sqlguard};
use crate::services::activity::{self, Activity};
use crate::services::heartbeat::{self, Wakeup};
use crate::services::issues::{self, NewIssue};

/// Who a worker's host calls act for.
#[derive(Clone)]
pub struct ServiceCtx {
    pub pool: Pool,
    pub plugin_id: Uuid,
    pub plugin_key: String,
    pub capabilities: Arc<Vec<String>>,
    pub defects: Defects,
}

/// The capability a method needs (`None` = ungated); `Err` = unknown method.
fn capability(method: &str) -> std::result::Result<Option<&'static str>, ()> {
    Ok(Some(match method {
        "config.get" | "log" | "entities.upsert" | "entities.list" => return Ok(None),
        "state.get" => "plugin.state.read",
        "state.set" | "state.delete" => "plugin.state.write",
        "db.namespace" | "db.query" => "database.namespace.read",
        "db.execute" => "database.namespace.write",
        "events.emit" => "events.emit",
        "events.subscribe" => "events.subscribe",
        "activity.log" => "activity.log.write",
        "companies.list" | "companies.get" => "companies.read",
        "issues.list" | "issues.get" => "issues.read",
        "issues.create" => "issues.create",
        "issues.update" => "issues.update",
        "issues.relations.get" => "issue.relations.read",
        "issues.relations.setBlockedBy"
        | "issues.relations.addBlockers"
        | "issues.relations.removeBlockers" => "issue.relations.write",
        "issues.assertCheckoutOwner" => "issues.checkout",
        "issues.getSubtree" => "issue.subtree.read",
        "issues.requestWakeup" | "issues.requestWakeups" => "issues.wakeup",
        "issues.summaries.getOrchestration" => "issues.orchestration.read",
        "issues.listComments" => "issue.comments.read",
        "issues.createComment" => "issue.comments.create",
        "issues.documents.list" | "issues.documents.get" => "issue.documents.read",
        "issues.documents.upsert" | "issues.documents.delete" => "issue.documents.write",
        "agents.list" | "agents.get" => "agents.read",
        _ => return Err(()),
    }))
}

/// Serves one worker→host request; `scope` is the invocation context the
/// request arrived in.
pub async fn dispatch(
    ctx: &ServiceCtx,
    method: &str,
    params: Value,
    scope: &ScopeContext,
) -> std::result::Result<Value, (i64, String)> {
    let cap = match capability(method) {
        Ok(c) => c,
        Err(()) => {
            return Err((
                rpc_code::METHOD_NOT_FOUND,
                format!("Host does not handle method \"{method}\""),
            ))
        }
    };
    if let Some(cap) = cap {
        if !ctx.capabilities.iter().any(|c| c == cap) {
            return Err((
                rpc_code::CAPABILITY_DENIED,
                format!(
                    "Plugin \"{}\" is missing required capability \"{cap}\" for method \"{method}\"",
                    ctx.plugin_id
                ),
            ));
        }
    }
    invocation::check(&ctx.plugin_id.to_string(), method, &params, scope)
        .map_err(|m| (rpc_code::INVOCATION_SCOPE_DENIED, m))?;
    let result = handle(ctx, method, &params)
        .await
        .map_err(|e| (rpc_code::INTERNAL_ERROR, e.message()))?;
    Ok(match method {
        "companies.list" => invocation::filter_companies(result, scope),
        _ => result,
    })
}

fn s<'a>(p: &'a Value, key: &str) -> Option<&'a str> {
    p.get(key).and_then(Value::as_str)
}

fn company(p: &Value) -> Result<Uuid> {
    match s(p, "companyId") {
        Some(c) if !c.is_empty() => Uuid::parse_str(c)
            .map_err(|_| Error::internal(format!("invalid input syntax for type uuid: \"{c}\""))),
        _ => Err(Error::internal("companyId is required for this operation")),
    }
}

fn uuid_param(p: &Value, key: &str) -> Result<Option<Uuid>> {
    match p.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(v)) => Uuid::parse_str(v)
            .map(Some)
            .map_err(|_| Error::internal(format!("invalid input syntax for type uuid: \"{v}\""))),
        Some(other) => Err(Error::internal(format!("invalid uuid: {other}"))),
    }
}

fn uuid_list(p: &Value, key: &str) -> Result<Option<Vec<Uuid>>> {
    match p.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                let t = v.as_str().unwrap_or_default();
                Uuid::parse_str(t).map_err(|_| {
                    Error::internal(format!("invalid input syntax for type uuid: \"{t}\""))
                })
            })
            .collect::<Result<Vec<_>>>()
            .map(Some),
        Some(_) => Err(Error::internal(format!("{key} must be an array"))),
    }
}

/// The actor fields a mutation carries.
struct PluginActor {
    agent: Option<Uuid>,
    user: Option<String>,
    run: Option<String>,
}

fn plugin_actor(p: &Value) -> Result<PluginActor> {
    Ok(PluginActor {
        agent: uuid_param(p, "actorAgentId")?,
        user: s(p, "actorUserId").map(String::from),
        run: s(p, "actorRunId").map(String::from),
    })
}

impl PluginActor {
    fn none() -> Self {
        PluginActor {
            agent: None,
            user: None,
            run: None,
        }
    }
}

/// `logPluginActivity`.
async fn log_plugin_activity(
    ctx: &ServiceCtx,
    c: &impl GenericClient,
    company_id: Uuid,
    action: &str,
    issue_id: Uuid,
    details: Value,
    actor: &PluginActor,
) -> Result<()> {
    // Defect activity-no-initiator: the caller is dropped from the row.
    let nobody = PluginActor::none();
    let actor = if ctx.defects.has(Defect::ActivityNoInitiator) {
        &nobody
    } else {
        actor
    };
    let initiating_type = if actor.agent.is_some() {
        json!("agent")
    } else if actor.user.is_some() {
        json!("user")
    } else {
        Value::Null
    };
    let mut d = match details {
        Value::Object(m) => m,
        _ => Default::default(),
    };
    let pid = ctx.plugin_id.to_string();
    d.insert("sourcePluginId".into(), json!(pid));
    d.insert("sourcePluginKey".into(), json!(ctx.plugin_key));
    d.insert("initiatingActorType".into(), initiating_type);
    d.insert(
        "initiatingActorId".into(),
        json!(actor
            .agent
            .map(|a| a.to_string())
            .or_else(|| actor.user.clone())),
    );
    d.insert("initiatingAgentId".into(), json!(actor.agent));
    d.insert("initiatingUserId".into(), json!(actor.user));
    d.insert("initiatingRunId".into(), json!(actor.run));
    d.insert("pluginId".into(), json!(pid));
    d.insert("pluginKey".into(), json!(ctx.plugin_key));
    let actor_type = if ctx.defects.has(Defect::ActivityActorSystem) {
        "system"
    } else {
        "plugin"
    };
    // Defect activity-actor-key: the plugin key instead of its row id.
    let actor_id = if ctx.defects.has(Defect::ActivityActorKey) {
        ctx.plugin_key.clone()
    } else {
        pid
    };
    activity::log(
        c,
        Activity {
            company_id,
            actor_type,
            actor_id: &actor_id,
            action,
            entity_type: "issue",
            entity_id: &issue_id.to_string(),
            agent_id: actor.agent,
            run_id: activity::run_uuid(actor.run.as_deref())?,
            details: Value::Object(d),
        },
    )
    .await
}

/// `normalizePluginOriginKind`.
fn origin_kind(ctx: &ServiceCtx, v: Option<&Value>) -> Result<String> {
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
async fn issue_in(
    c: &impl GenericClient,
    company_id: Uuid,
    raw: Option<&str>,
) -> Result<issues::IssueRow> {
    match issues::find(c, raw.unwrap_or_default()).await? {
        Some(i) if i.company_id == company_id => Ok(i),
        _ => Err(Error::internal("Issue not found")),
    }
}

async fn handle(ctx: &ServiceCtx, method: &str, p: &Value) -> Result<Value> {
    let mut client = ctx.pool.get().await?;
    match method {
        "config.get" => {
            let row = client
                .query_opt(
                    "SELECT config_json FROM plugin_config WHERE plugin_id = $1",
                    &[&ctx.plugin_id],
                )
                .await?;
            Ok(row.map(|r| r.get::<_, Value>(0)).unwrap_or(json!({})))
        }
        "log" | "events.subscribe" | "events.emit" => Ok(Value::Null),
        "db.namespace" => Ok(json!(
            namespace::runtime_namespace(&client, ctx.plugin_id).await?
        )),
        "db.query" => {
            let manifest: Value = client
                .query_opt(
                    "SELECT manifest_json FROM plugins WHERE id = $1",
                    &[&ctx.plugin_id],
                )
                .await?
                .map(|r| r.get(0))
                .ok_or_else(|| Error::internal(format!("Plugin not found: {}", ctx.plugin_id)))?;
            let ns = namespace::runtime_namespace(&client, ctx.plugin_id).await?;
            let sql = s(p, "sql").unwrap_or_default();
            sqlguard::validate_runtime_query(sql, &ns, &namespace::core_read_tables(&manifest))
                .map_err(Error::internal)?;
            let rows = run_sql(&client, sql, p.get("params")).await?;
            Ok(Value::Array(rows.iter().map(rows::plugin_row).collect()))
        }
        "db.execute" => {
            let ns = namespace::runtime_namespace(&client, ctx.plugin_id).await?;
            let sql = s(p, "sql").unwrap_or_default();
            // Defect execute-public-allowed: the target may be any table.
            if ctx.defects.has(Defect::ExecutePublicAllowed) {
                sqlguard::validate_runtime_execute_any_schema(sql).map_err(Error::internal)?;
            } else {
                sqlguard::validate_runtime_execute(sql, &ns).map_err(Error::internal)?;
            }
            let n = execute_sql(&client, sql, p.get("params")).await?;
            Ok(json!({ "rowCount": n }))
        }
        "companies.list" => Ok(Value::Array(apply_window(
            rows::query_entities(
                &**client,
                "SELECT * FROM companies ORDER BY created_at",
                &[],
            )
            .await?,
            p,
        ))),
        "companies.get" => {
            let id = uuid_param(p, "companyId")?;
            Ok(
                rows::query_entity(&**client, "SELECT * FROM companies WHERE id = $1", &[&id])
                    .await?
                    .unwrap_or(Value::Null),
            )
        }
        "agents.list" => {
            let company_id = company(p)?;
            let list = rows::query_entities(
                &**client,
                "SELECT * FROM agents WHERE company_id = $1 AND status <> 'terminated'
                   AND ($2::text IS NULL OR $2 = '' OR status = $2)
                 ORDER BY created_at",
                &[&company_id, &s(p, "status")],
            )
            .await?;
            Ok(Value::Array(apply_window(list, p)))
        }
        "agents.get" => {
            let company_id = company(p)?;
            let id = uuid_param(p, "agentId")?;
            Ok(rows::query_entity(
                &**client,
                "SELECT * FROM agents WHERE id = $1 AND company_id = $2",
                &[&id, &company_id],
            )
            .await?
            .unwrap_or(Value::Null))
        }
        "issues.get" => {
            let company_id = company(p)?;
            // Defect cross-company-read: the issue's company is not compared.
            let any_company = ctx.defects.has(Defect::CrossCompanyRead);
            match issues::find(&**client, s(p, "issueId").unwrap_or_default()).await? {
                Some(i) if any_company || i.company_id == company_id => {
                    issues::json(&**client, i.id).await
                }
                _ => Ok(Value::Null),
            }
        }
        "issues.list" => {
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
                &**client,
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
                    .map(|(_, v)| v)
                    .collect(),
            ))
        }
        "issues.create" => {
            let company_id = company(p)?;
            let actor = plugin_actor(p)?;
            let kind = origin_kind(ctx, p.get("originKind"))?;
            let title = s(p, "title").unwrap_or_default().to_string();
            let new = NewIssue {
                company_id,
                parent_id: uuid_param(p, "parentId")?,
                inherit_from: uuid_param(p, "inheritExecutionWorkspaceFromIssueId")?,
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
            };
            let tx = client.transaction().await?;
            let id = issues::create(&*tx, new).await?;
            let row = issues::get(&*tx, id)
                .await?
                .ok_or_else(|| Error::internal("Issue not found"))?;
            tx.commit().await?;
            // Written after the insert, outside its transaction, like the
            // real host (a failing activity insert leaves the issue behind).
            log_plugin_activity(
                ctx,
                &**client,
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
            let mut issue = issues::json(&**client, id).await?;
            if let (Some(o), Value::Object(rel)) = (
                issue.as_object_mut(),
                issues::relations(&**client, id).await?,
            ) {
                o.extend(rel);
            }
            Ok(issue)
        }
        "issues.update" => {
            let company_id = company(p)?;
            let issue = issue_in(&**client, company_id, s(p, "issueId")).await?;
            let patch = p.get("patch").cloned().unwrap_or(json!({}));
            let actor = plugin_actor(&patch)?;
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
                &**client,
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
            issues::json(&**client, issue.id).await
        }
        "issues.relations.get" => {
            let company_id = company(p)?;
            let issue = issue_in(&**client, company_id, s(p, "issueId")).await?;
            issues::relations(&**client, issue.id).await
        }
        "issues.relations.setBlockedBy"
        | "issues.relations.addBlockers"
        | "issues.relations.removeBlockers" => {
            let company_id = company(p)?;
            let issue = issue_in(&**client, company_id, s(p, "issueId")).await?;
            let actor = plugin_actor(p)?;
            let previous = issues::blocker_ids(&**client, issue.id).await?;
            let (mutation, next) = match method {
                "issues.relations.setBlockedBy" => (
                    "set",
                    uuid_list(p, "blockedByIssueIds")?.unwrap_or_default(),
                ),
                "issues.relations.addBlockers" => {
                    let mut n = previous.clone();
                    for b in uuid_list(p, "blockerIssueIds")?.unwrap_or_default() {
                        if !n.contains(&b) {
                            n.push(b);
                        }
                    }
                    ("add", n)
                }
                _ => {
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
                &**client,
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
            issues::relations(&**client, issue.id).await
        }
        "issues.documents.upsert" => {
            let company_id = company(p)?;
            let issue = issue_in(&**client, company_id, s(p, "issueId")).await?;
            let key = s(p, "key").unwrap_or_default().trim().to_lowercase();
            let valid = !key.is_empty()
                && key.len() <= 64
                && key
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                && key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
            if !valid {
                return Err(Error::internal("Invalid document key"));
            }
            let title = s(p, "title").map(String::from);
            let format = s(p, "format").unwrap_or("markdown").to_string();
            let body = s(p, "body").unwrap_or_default().to_string();
            let change = s(p, "changeSummary").map(String::from);
            let tx = client.transaction().await?;
            let exists = tx
                .query_opt(
                    "SELECT 1 FROM issue_documents WHERE company_id = $1 AND issue_id = $2 AND key = $3",
                    &[&company_id, &issue.id, &key],
                )
                .await?;
            if exists.is_some() {
                return Err(Error::conflict("Document update requires baseRevisionId"));
            }
            let doc: Uuid = tx
                .query_one(
                    "INSERT INTO documents (company_id, title, format, latest_body, latest_revision_number)
                     VALUES ($1, $2, $3, $4, 1) RETURNING id",
                    &[&company_id, &title, &format, &body],
                )
                .await?
                .get(0);
            let rev: Uuid = tx
                .query_one(
                    "INSERT INTO document_revisions (company_id, document_id, revision_number, title, format, body, change_summary)
                     VALUES ($1, $2, 1, $3, $4, $5, $6) RETURNING id",
                    &[&company_id, &doc, &title, &format, &body, &change],
                )
                .await?
                .get(0);
            tx.execute(
                "UPDATE documents SET latest_revision_id = $2 WHERE id = $1",
                &[&doc, &rev],
            )
            .await?;
            tx.execute(
                "INSERT INTO issue_documents (company_id, issue_id, document_id, key) VALUES ($1, $2, $3, $4)",
                &[&company_id, &issue.id, &doc, &key],
            )
            .await?;
            tx.commit().await?;
            log_plugin_activity(
                ctx,
                &**client,
                company_id,
                "issue.document_upserted",
                issue.id,
                json!({"identifier": issue.identifier, "documentKey": key, "title": title, "format": format}),
                &PluginActor::none(),
            )
            .await?;
            document_json(&**client, issue.id, &key).await
        }
        "issues.documents.list" => {
            let company_id = company(p)?;
            let issue = issue_in(&**client, company_id, s(p, "issueId")).await?;
            Ok(Value::Array(
                rows::query_entities(&**client, &document_select("idoc.issue_id = $1 AND idoc.key <> 'continuation-summary' ORDER BY idoc.key, d.updated_at DESC"), &[&issue.id]).await?,
            ))
        }
        "issues.documents.get" => {
            let company_id = company(p)?;
            let issue = issue_in(&**client, company_id, s(p, "issueId")).await?;
            let key = s(p, "key").unwrap_or_default().trim().to_lowercase();
            document_json(&**client, issue.id, &key).await
        }
        "issues.requestWakeup" => {
            let company_id = company(p)?;
            let r = request_wakeup(
                ctx,
                &client,
                company_id,
                s(p, "issueId"),
                p,
                s(p, "idempotencyKey").map(String::from),
                "plugin.issue.requestWakeup",
            )
            .await?;
            Ok(json!({"queued": r.is_some(), "runId": r}))
        }
        "issues.requestWakeups" => {
            let company_id = company(p)?;
            let mut ids: Vec<String> = Vec::new();
            for v in p
                .get("issueIds")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
            {
                if let Some(s) = v.as_str() {
                    if !ids.iter().any(|x| x == s) {
                        ids.push(s.to_string());
                    }
                }
            }
            let mut out = Vec::new();
            for id in ids {
                let key = s(p, "idempotencyKeyPrefix").map(|pre| format!("{pre}:{id}"));
                let r = request_wakeup(
                    ctx,
                    &client,
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
        "issues.summaries.getOrchestration" => {
            let company_id = company(p)?;
            let issue = issue_in(&**client, company_id, s(p, "issueId")).await?;
            orchestration_summary(&**client, company_id, &issue, p).await
        }
        "issues.getSubtree" => {
            let company_id = company(p)?;
            let issue = issue_in(&**client, company_id, s(p, "issueId")).await?;
            let mut ids = subtree(&**client, company_id, issue.id).await?;
            if p.get("includeRoot") == Some(&Value::Bool(false)) {
                ids.retain(|i| *i != issue.id);
            }
            let list = rows::query_entities(
                &**client,
                "SELECT * FROM issues WHERE id = ANY($1)",
                &[&ids],
            )
            .await?;
            let mut out = json!({"rootIssueId": issue.id, "companyId": company_id, "issueIds": ids, "issues": list});
            if p.get("includeRelations").and_then(Value::as_bool) == Some(true) {
                let mut rel = serde_json::Map::new();
                for i in &ids {
                    rel.insert(i.to_string(), issues::relations(&**client, *i).await?);
                }
                out["relations"] = Value::Object(rel);
            }
            Ok(out)
        }
        "issues.assertCheckoutOwner" => {
            let company_id = company(p)?;
            let issue = issue_in(&**client, company_id, s(p, "issueId")).await?;
            let agent = uuid_param(p, "actorAgentId")?
                .ok_or_else(|| Error::conflict("Issue run ownership conflict"))?;
            let run = s(p, "actorRunId").unwrap_or_default().to_string();
            let owner =
                issues::assert_checkout_owner(&**client, &ctx.defects, issue.id, agent, &run)
                    .await?;
            if let Some(old) = owner.adopted_from {
                log_plugin_activity(
                    ctx,
                    &**client,
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
        "issues.listComments" => {
            let company_id = company(p)?;
            match issues::find(&**client, s(p, "issueId").unwrap_or_default()).await? {
                Some(i) if i.company_id == company_id => Ok(Value::Array(
                    rows::query_entities(
                        &**client,
                        "SELECT * FROM issue_comments WHERE issue_id = $1 ORDER BY created_at DESC, id DESC",
                        &[&i.id],
                    )
                    .await?,
                )),
                _ => Ok(json!([])),
            }
        }
        "issues.createComment" => {
            let company_id = company(p)?;
            let issue = issue_in(&**client, company_id, s(p, "issueId")).await?;
            let author = uuid_param(p, "authorAgentId")?;
            let body = s(p, "body").unwrap_or_default().to_string();
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
                &**client,
                "SELECT * FROM issue_comments WHERE id = $1",
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
            log_plugin_activity(
                ctx,
                &**client,
                company_id,
                "issue.comment.created",
                issue.id,
                json!({
                    "identifier": issue.identifier,
                    "commentId": comment_id,
                    "bodySnippet": js_prefix(&body, 120),
                }),
                &PluginActor {
                    agent: author,
                    user: None,
                    run: None,
                },
            )
            .await?;
            Ok(comment)
        }
        "activity.log" => {
            let company_id = company(p)?;
            let mut d = p
                .get("metadata")
                .cloned()
                .filter(Value::is_object)
                .unwrap_or(json!({}));
            if let Some(o) = d.as_object_mut() {
                o.insert("pluginId".into(), json!(ctx.plugin_id));
                o.insert("pluginKey".into(), json!(ctx.plugin_key));
            }
            let pid = ctx.plugin_id.to_string();
            activity::log(
                &**client,
                Activity {
                    company_id,
                    actor_type: "plugin",
                    actor_id: &pid,
                    action: s(p, "message").unwrap_or_default(),
                    entity_type: s(p, "entityType").unwrap_or("plugin"),
                    entity_id: s(p, "entityId").unwrap_or(&pid),
                    agent_id: None,
                    run_id: None,
                    details: d,
                },
            )
            .await?;
            Ok(Value::Null)
        }
        other => Err(Error::internal(format!(
            "Host does not handle method \"{other}\""
        ))),
    }
}

/// `parseWindowValue`: a finite number (or numeric string), floored, ≥ 0.
fn window_value(v: Option<&Value>) -> Option<usize> {
    let n = match v? {
        Value::Number(n) => n.as_f64()?,
        Value::String(t) if !t.trim().is_empty() => t.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    n.is_finite().then(|| n.floor().max(0.0) as usize)
}

/// `applyWindow`: `rows.slice(offset, offset + limit)`.
fn apply_window(rows: Vec<Value>, p: &Value) -> Vec<Value> {
    let offset = window_value(p.get("offset")).unwrap_or(0);
    let limit = window_value(p.get("limit")).unwrap_or(usize::MAX);
    rows.into_iter().skip(offset).take(limit).collect()
}

/// JS `s.slice(0, n)` (UTF-16 code units, never splitting a character here).
fn js_prefix(s: &str, n: usize) -> String {
    let mut units = 0;
    s.chars()
        .take_while(|c| {
            units += c.len_utf16();
            units <= n
        })
        .collect()
}

fn document_select(filter: &str) -> String {
    format!(
        "SELECT d.id, d.company_id, idoc.issue_id, idoc.key, d.title, d.format, d.latest_body AS body,
                d.latest_revision_id, d.latest_revision_number, d.created_by_agent_id, d.created_by_user_id,
                d.updated_by_agent_id, d.updated_by_user_id, d.created_at, d.updated_at
         FROM issue_documents idoc JOIN documents d ON d.id = idoc.document_id WHERE {filter}"
    )
}

async fn document_json(c: &impl GenericClient, issue_id: Uuid, key: &str) -> Result<Value> {
    Ok(rows::query_entity(
        c,
        &document_select("idoc.issue_id = $1 AND idoc.key = $2"),
        &[&issue_id, &key],
    )
    .await?
    .unwrap_or(Value::Null))
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
    let actor = plugin_actor(p)?;
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

/// Breadth-first subtree over `parent_id` within the company, root first.
async fn subtree(c: &impl GenericClient, company_id: Uuid, root: Uuid) -> Result<Vec<Uuid>> {
    let mut out = vec![root];
    let mut level = vec![root];
    while !level.is_empty() {
        let rows = c
            .query(
                "SELECT id FROM issues WHERE company_id = $1 AND parent_id = ANY($2) ORDER BY created_at, id",
                &[&company_id, &level],
            )
            .await?;
        level = rows
            .iter()
            .map(|r| r.get::<_, Uuid>(0))
            .filter(|id| !out.contains(id))
            .collect();
        out.extend(level.iter().copied());
    }
    Ok(out)
}

async fn orchestration_summary(
    c: &impl GenericClient,
    company_id: Uuid,
    issue: &issues::IssueRow,
    p: &Value,
) -> Result<Value> {
    let ids = if p
        .get("includeSubtree")
        .is_some_and(|v| !matches!(v, Value::Null | Value::Bool(false)))
    {
        subtree(c, company_id, issue.id).await?
    } else {
        vec![issue.id]
    };
    let mut relations = serde_json::Map::new();
    for i in &ids {
        relations.insert(i.to_string(), issues::relations(c, *i).await?);
    }
    let id_texts: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    let runs = rows::query_entities(
        c,
        "SELECT id, context_snapshot ->> 'issueId' AS issue_id, agent_id, status, invocation_source, trigger_detail,
                started_at, finished_at, error, created_at
         FROM heartbeat_runs WHERE company_id = $1 AND context_snapshot ->> 'issueId' = ANY($2)
         ORDER BY created_at DESC LIMIT 100",
        &[&company_id, &id_texts],
    )
    .await?;
    let billing = s(p, "billingCode")
        .map(String::from)
        .or_else(|| issue.billing_code.clone());
    let costs = c
        .query_one(
            "SELECT coalesce(sum(cost_cents), 0)::bigint, coalesce(sum(input_tokens), 0)::bigint,
                    coalesce(sum(cached_input_tokens), 0)::bigint, coalesce(sum(output_tokens), 0)::bigint
             FROM cost_events WHERE company_id = $1 AND issue_id = ANY($2) AND ($3::text IS NULL OR billing_code = $3)",
            &[&company_id, &ids, &billing],
        )
        .await?;
    let incidents = rows::query_entities(
        c,
        "SELECT id, scope_type, scope_id, metric, window_kind, threshold_type, amount_limit, amount_observed, status, approval_id, created_at
         FROM budget_incidents WHERE company_id = $1 AND status = 'open' ORDER BY created_at DESC",
        &[&company_id],
    )
    .await?;
    Ok(json!({
        "issueId": issue.id,
        "companyId": company_id,
        "subtreeIssueIds": ids,
        "relations": relations,
        "approvals": [],
        "runs": runs,
        "costs": {
            "billingCode": billing,
            "costCents": costs.get::<_, i64>(0),
            "inputTokens": costs.get::<_, i64>(1),
            "cachedInputTokens": costs.get::<_, i64>(2),
            "outputTokens": costs.get::<_, i64>(3),
        },
        "openBudgetIncidents": incidents,
        "invocationBlocks": [],
    }))
}

fn json_params(params: Option<&Value>) -> Vec<JsonParam> {
    match params {
        Some(Value::Array(a)) => a.iter().cloned().map(JsonParam).collect(),
        _ => Vec::new(),
    }
}

/// JS `Array.prototype.toString` of the parameters, as the real host's
/// query builder prints them in `Failed query: …\nparams: …`.
fn js_join(params: Option<&Value>) -> String {
    fn one(v: &Value) -> String {
        match v {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            Value::Array(a) => a.iter().map(one).collect::<Vec<_>>().join(","),
            Value::Object(_) => "[object Object]".into(),
            other => other.to_string(),
        }
    }
    params.map(one).unwrap_or_default()
}

fn failed_query<'a>(
    sql: &'a str,
    params: Option<&'a Value>,
) -> impl Fn(tokio_postgres::Error) -> Error + 'a {
    move |_| Error::internal(format!("Failed query: {sql}\nparams: {}", js_join(params)))
}

/// `bindSql` + execution on the runtime connection.
async fn run_sql(
    c: &crate::db::Client,
    sql: &str,
    params: Option<&Value>,
) -> Result<Vec<tokio_postgres::Row>> {
    let values = json_params(params);
    sqlguard::check_placeholders(sql, values.len()).map_err(Error::internal)?;
    // Without parameters the SQL goes out raw: an unbound $1 fails there.
    let stmt = c.prepare(sql).await.map_err(failed_query(sql, params))?;
    let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = values
        .iter()
        .map(|v| v as &(dyn tokio_postgres::types::ToSql + Sync))
        .collect();
    c.query(&stmt, &refs)
        .await
        .map_err(failed_query(sql, params))
}

async fn execute_sql(c: &crate::db::Client, sql: &str, params: Option<&Value>) -> Result<u64> {
    let values = json_params(params);
    sqlguard::check_placeholders(sql, values.len()).map_err(Error::internal)?;
    let stmt = c.prepare(sql).await.map_err(failed_query(sql, params))?;
    let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = values
        .iter()
        .map(|v| v as &(dyn tokio_postgres::types::ToSql + Sync))
        .collect();
    c.execute(&stmt, &refs)
        .await
        .map_err(failed_query(sql, params))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const A: &str = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
    const B: &str = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb";

    /// A context whose pool is never connected: every case answers before
    /// a handler would need the database.
    fn ctx(capabilities: &[&str]) -> ServiceCtx {
        ServiceCtx {
            pool: crate::db::pool("postgres://nobody@127.0.0.1:1/none").unwrap(),
            plugin_id: Uuid::nil(),
            plugin_key: "conformance.test".into(),
            capabilities: Arc::new(capabilities.iter().map(|c| c.to_string()).collect()),
            defects: Defects::none(),
        }
    }

    /// Unknown method, then capability, then invocation scope (2026.707.0).
    #[rstest]
    #[case::unknown_method("issues.nope", &["issues.read"], ScopeContext::Invalid, rpc_code::METHOD_NOT_FOUND)]
    #[case::capability_before_scope("issues.get", &[], ScopeContext::Invalid, rpc_code::CAPABILITY_DENIED)]
    #[case::missing_scope("issues.get", &["issues.read"], ScopeContext::Invalid, rpc_code::INVOCATION_SCOPE_DENIED)]
    #[case::other_company("issues.get", &["issues.read"], ScopeContext::Company(A.into()), rpc_code::INVOCATION_SCOPE_DENIED)]
    #[case::comment_capability("issues.createComment", &["issue.comments.read"], ScopeContext::Company(A.into()), rpc_code::CAPABILITY_DENIED)]
    #[case::comment_scope("issues.createComment", &["issue.comments.create"], ScopeContext::Company(A.into()), rpc_code::INVOCATION_SCOPE_DENIED)]
    #[tokio::test]
    async fn gates_answer_in_order(
        #[case] method: &str,
        #[case] capabilities: &[&str],
        #[case] scope: ScopeContext,
        #[case] code: i64,
    ) {
        let params = json!({"issueId": "x", "companyId": B, "body": "b"});
        let (got, message) = dispatch(&ctx(capabilities), method, params, &scope)
            .await
            .unwrap_err();
        assert_eq!(got, code, "{message}");
        let expected_prefix = match code {
            rpc_code::METHOD_NOT_FOUND => format!("Host does not handle method \"{method}\""),
            rpc_code::CAPABILITY_DENIED => {
                format!("Plugin \"{}\" is missing required capability", Uuid::nil())
            }
            _ => format!(
                "Plugin \"{}\" is not allowed to perform \"{method}\": ",
                Uuid::nil()
            ),
        };
        assert!(message.starts_with(&expected_prefix), "{message}");
    }

    #[rstest]
    #[case(json!({}), 0, 3)]
    #[case(json!({"limit": 2}), 0, 2)]
    #[case(json!({"limit": "1", "offset": 1}), 1, 1)]
    #[case(json!({"limit": 1.9, "offset": -4}), 0, 1)]
    #[case(json!({"limit": "x", "offset": 5}), 3, 0)]
    #[case(json!({"limit": true}), 0, 3)]
    fn windows(#[case] p: Value, #[case] first: usize, #[case] len: usize) {
        let rows: Vec<Value> = (0..3).map(|i| json!(i)).collect();
        let got = apply_window(rows, &p);
        assert_eq!(got.len(), len);
        if len > 0 {
            assert_eq!(got[0], json!(first));
        }
    }

    #[test]
    fn snippet_is_a_utf16_prefix() {
        assert_eq!(js_prefix("abcdef", 3), "abc");
        assert_eq!(js_prefix("ab😀c", 3), "ab");
        assert_eq!(js_prefix("ab😀c", 4), "ab😀");
        assert_eq!(js_prefix("ab", 120), "ab");
    }
}

//! Reads over an issue tree for a plugin: `issues.getSubtree` and
//! `issues.summaries.getOrchestration` (relations, runs, costs, budget
//! incidents of the subtree).

use crate::db::Db;
use serde_json::{json, Value};
use uuid::Uuid;

use super::issues::issue_in;
use super::params::{company, s};
use crate::db::{pg, rows, Client};
use crate::error::{Error, Result};
use crate::services::issues;

/// `issues.summaries.getOrchestration {issueId, companyId, includeSubtree?, billingCode?}`.
pub(super) async fn summary(client: &Client, p: &Value) -> Result<Value> {
    let company_id = company(p)?;
    let raw = s(p, "issueId");
    let with_subtree = p
        .get("includeSubtree")
        .is_some_and(|v| !matches!(v, Value::Null | Value::Bool(false)));
    // An issue named by its uuid: its subtree is read beside the issue (the
    // connection pipelines the two) and kept only if the issue is found.
    let named = raw
        .map(str::trim)
        .filter(|v| v.len() == 36)
        .and_then(|v| Uuid::parse_str(v).ok());
    let (issue, ids) = match named {
        Some(root) if with_subtree => {
            let (issue, ids) = tokio::join!(
                issue_in(pg(client), company_id, raw),
                subtree(pg(client), company_id, root)
            );
            (issue?, ids?)
        }
        _ => {
            let issue = issue_in(pg(client), company_id, raw).await?;
            let ids = if with_subtree {
                subtree(pg(client), company_id, issue.id).await?
            } else {
                vec![issue.id]
            };
            (issue, ids)
        }
    };
    orchestration_summary(pg(client), company_id, &issue, ids, p).await
}

/// `issues.getSubtree {issueId, companyId, includeRoot?, includeRelations?}`.
pub(super) async fn get_subtree(client: &Client, p: &Value) -> Result<Value> {
    let company_id = company(p)?;
    let issue = issue_in(pg(client), company_id, s(p, "issueId")).await?;
    let mut ids = subtree(pg(client), company_id, issue.id).await?;
    if p.get("includeRoot") == Some(&Value::Bool(false)) {
        ids.retain(|i| *i != issue.id);
    }
    let list = rows::query_entities(
        pg(client),
        "SELECT * FROM issues WHERE id = ANY($1)",
        &[&ids],
    )
    .await?;
    let mut out =
        json!({"rootIssueId": issue.id, "companyId": company_id, "issueIds": ids, "issues": list});
    if p.get("includeRelations").and_then(Value::as_bool) == Some(true) {
        let rel = issues::relations_of(pg(client), &ids).await?;
        out["relations"] = Value::Object(ids.iter().map(Uuid::to_string).zip(rel).collect());
    }
    Ok(out)
}

/// Breadth-first subtree over `parent_id` within the company: the root,
/// then each level ordered by creation. One recursive query rather than a
/// round trip per level; `path` stops a `parent_id` cycle.
async fn subtree(c: &impl Db, company_id: Uuid, root: Uuid) -> Result<Vec<Uuid>> {
    let rows = c
        .query(
            "WITH RECURSIVE tree(id, depth, created_at, path) AS (
               SELECT $2::uuid, 0, NULL::timestamptz, ARRAY[$2::uuid]
               UNION ALL
               SELECT i.id, t.depth + 1, i.created_at, t.path || i.id
               FROM issues i JOIN tree t ON i.parent_id = t.id
               WHERE i.company_id = $1 AND NOT i.id = ANY(t.path)
             )
             SELECT id FROM tree ORDER BY depth, created_at, id",
            &[&company_id, &root],
        )
        .await?;
    let mut out: Vec<Uuid> = Vec::with_capacity(rows.len());
    for id in rows.iter().map(|r| r.get::<_, Uuid>(0)) {
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

/// The summary of `issue` over `ids` (the issue, or its subtree).
async fn orchestration_summary(
    c: &impl Db,
    company_id: Uuid,
    issue: &issues::IssueRow,
    ids: Vec<Uuid>,
    p: &Value,
) -> Result<Value> {
    let id_texts: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    // `params.billingCode ?? root.billingCode`: echoed as given (a number
    // stays one, F29), compared with the column as text.
    let billing_json = match p.get("billingCode") {
        None | Some(Value::Null) => json!(issue.billing_code),
        Some(v) => v.clone(),
    };
    let billing = match &billing_json {
        Value::Null => None,
        Value::String(t) => Some(t.clone()),
        other => Some(other.to_string()),
    };
    // The reads below are independent: sent at once, the connection
    // pipelines them into about one round trip instead of one each.
    let relations = issues::relations_of(c, &ids);
    let runs = async {
        rows::query_entities(
        c,
        "SELECT id, context_snapshot ->> 'issueId' AS issue_id, agent_id, status, invocation_source, trigger_detail,
                started_at, finished_at, error, created_at
         FROM heartbeat_runs WHERE company_id = $1 AND context_snapshot ->> 'issueId' = ANY($2)
         ORDER BY created_at DESC LIMIT 100",
        &[&company_id, &id_texts],
    ).await
    };
    let costs = async {
        c.query_one(
            "SELECT coalesce(sum(cost_cents), 0)::bigint, coalesce(sum(input_tokens), 0)::bigint,
                    coalesce(sum(cached_input_tokens), 0)::bigint, coalesce(sum(output_tokens), 0)::bigint
             FROM cost_events WHERE company_id = $1 AND issue_id = ANY($2) AND ($3::text IS NULL OR billing_code = $3)",
            &[&company_id, &ids, &billing],
        )
        .await
        .map_err(Error::from)
    };
    let incidents = async {
        rows::query_entities(
        c,
        "SELECT id, scope_type, scope_id, metric, window_kind, threshold_type, amount_limit, amount_observed, status, approval_id, created_at
         FROM budget_incidents WHERE company_id = $1 AND status = 'open' ORDER BY created_at DESC",
        &[&company_id],
    ).await
    };
    let (relation_list, runs, costs, incidents) =
        tokio::try_join!(relations, runs, costs, incidents)?;
    let relations: serde_json::Map<String, Value> =
        ids.iter().map(Uuid::to_string).zip(relation_list).collect();
    Ok(json!({
        "issueId": issue.id,
        "companyId": company_id,
        "subtreeIssueIds": ids,
        "relations": relations,
        "approvals": [],
        "runs": runs,
        "costs": {
            "billingCode": billing_json,
            "costCents": costs.get::<_, i64>(0),
            "inputTokens": costs.get::<_, i64>(1),
            "cachedInputTokens": costs.get::<_, i64>(2),
            "outputTokens": costs.get::<_, i64>(3),
        },
        "openBudgetIncidents": incidents,
        "invocationBlocks": [],
    }))
}

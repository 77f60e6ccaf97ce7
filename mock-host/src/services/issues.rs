//! The core issue service: lookups (UUID or identifier), creation with the
//! company counter, blocker relations, and checkout ownership.

use std::sync::OnceLock;

use crate::db::Db;
use regex::Regex;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::config::{Defect, Defects};
use crate::db::rows;
use crate::error::{Error, Result};

/// The fields the host's decisions use.
#[derive(Debug, Clone)]
pub struct IssueRow {
    pub id: Uuid,
    pub company_id: Uuid,
    pub status: String,
    pub title: String,
    pub identifier: Option<String>,
    pub parent_id: Option<Uuid>,
    pub assignee_agent_id: Option<Uuid>,
    pub assignee_user_id: Option<String>,
    pub checkout_run_id: Option<Uuid>,
    pub execution_run_id: Option<Uuid>,
    pub billing_code: Option<String>,
    pub project_workspace_id: Option<Uuid>,
}

const ISSUE_COLS: &str = "id, company_id, status, title, identifier, parent_id, assignee_agent_id, assignee_user_id, checkout_run_id, execution_run_id, billing_code, project_workspace_id";

fn from_row(r: &tokio_postgres::Row) -> IssueRow {
    IssueRow {
        id: r.get(0),
        company_id: r.get(1),
        status: r.get(2),
        title: r.get(3),
        identifier: r.get(4),
        parent_id: r.get(5),
        assignee_agent_id: r.get(6),
        assignee_user_id: r.get(7),
        checkout_run_id: r.get(8),
        execution_run_id: r.get(9),
        billing_code: r.get(10),
        project_workspace_id: r.get(11),
    }
}

fn identifier_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| Regex::new(r"(?i)^[A-Z]+-\d+$").expect("static regex"))
}

/// `issueService.getById`: trims; a UUID or an identifier (`ABC-12`,
/// case-insensitive); anything else is "not found".
pub async fn find(c: &impl Db, raw: &str) -> Result<Option<IssueRow>> {
    let v = raw.trim();
    if let Ok(id) = Uuid::parse_str(v) {
        if v.len() == 36 {
            let row = c
                .query_opt(
                    &format!("SELECT {ISSUE_COLS} FROM issues WHERE id = $1"),
                    &[&id],
                )
                .await?;
            return Ok(row.as_ref().map(from_row));
        }
    }
    if identifier_re().is_match(v) {
        let ident = v.to_uppercase();
        let row = c
            .query_opt(
                &format!("SELECT {ISSUE_COLS} FROM issues WHERE identifier = $1"),
                &[&ident],
            )
            .await?;
        return Ok(row.as_ref().map(from_row));
    }
    Ok(None)
}

pub async fn get(c: &impl Db, id: Uuid) -> Result<Option<IssueRow>> {
    let row = c
        .query_opt(
            &format!("SELECT {ISSUE_COLS} FROM issues WHERE id = $1"),
            &[&id],
        )
        .await?;
    Ok(row.as_ref().map(from_row))
}

/// The issue as the API renders it (row in camelCase + labels).
pub async fn json(c: &impl Db, id: Uuid) -> Result<Value> {
    let mut v = rows::query_entity(c, "SELECT * FROM issues WHERE id = $1", &[&id])
        .await?
        .ok_or_else(|| Error::not_found("Issue not found"))?;
    with_derived_fields(&mut v);
    Ok(v)
}

/// Adds what the host joins to an issue row: its labels and its task
/// watchdog (the mock has neither: empty and null).
pub fn with_derived_fields(issue: &mut Value) {
    if let Some(o) = issue.as_object_mut() {
        o.insert("labels".into(), json!([]));
        o.insert("labelIds".into(), json!([]));
        o.insert("watchdog".into(), Value::Null);
    }
}

/// Input of issue creation (REST and plugin host services).
#[derive(Debug, Default, Clone)]
pub struct NewIssue {
    pub company_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub inherit_from: Option<Uuid>,
    pub project_id: Option<Uuid>,
    pub title: String,
    pub description: Option<String>,
    pub status: Option<String>,
    pub priority: Option<String>,
    pub assignee_agent_id: Option<Uuid>,
    pub assignee_user_id: Option<String>,
    pub request_depth: Option<i32>,
    pub billing_code: Option<String>,
    pub origin_kind: Option<String>,
    pub origin_id: Option<String>,
    pub origin_run_id: Option<String>,
    pub created_by_agent_id: Option<Uuid>,
    pub created_by_user_id: Option<String>,
    pub blocked_by: Option<Vec<Uuid>>,
    pub responsible: Responsible,
}

/// How a new issue's `responsible_user_id` is chosen.
#[derive(Debug, Default, Clone)]
pub enum Responsible {
    /// REST creates: the company's default responsible user, which on the
    /// mock is the board user who made the company (the real host takes
    /// the creating user, or the agent key's user).
    #[default]
    CompanyDefault,
    /// Plugin creates, as 2026.707.0 resolves them: the explicit id, else
    /// the acting user, else the parent's responsible user or creator,
    /// else the creator, else none. (The host also asks the acting run for
    /// its responsible user; the mock's runs carry none.)
    Resolved {
        explicit: Option<String>,
        actor_user: Option<String>,
    },
}

pub const STATUSES: &[&str] = &[
    "backlog",
    "todo",
    "in_progress",
    "in_review",
    "done",
    "blocked",
    "cancelled",
];
pub const PRIORITIES: &[&str] = &["critical", "high", "medium", "low"];

/// Creates an issue; returns its id.
pub async fn create(c: &impl Db, n: NewIssue) -> Result<Uuid> {
    if n.assignee_agent_id.is_some() && n.assignee_user_id.is_some() {
        return Err(Error::unprocessable("Issue can only have one assignee"));
    }
    let status = n.status.clone().unwrap_or_else(|| "backlog".into());
    let priority = n.priority.clone().unwrap_or_else(|| "medium".into());
    if let Some(agent) = n.assignee_agent_id {
        let row = c
            .query_opt(
                "SELECT company_id, status FROM agents WHERE id = $1",
                &[&agent],
            )
            .await?
            .ok_or_else(|| Error::not_found("Assignee agent not found"))?;
        let company: Uuid = row.get(0);
        let st: String = row.get(1);
        if company != n.company_id {
            return Err(Error::unprocessable("Assignee must belong to same company"));
        }
        if st == "pending_approval" {
            return Err(Error::conflict(
                "Cannot assign work to pending approval agents",
            ));
        }
        if st == "terminated" {
            return Err(Error::conflict("Cannot assign work to terminated agents"));
        }
    }
    if status == "in_progress" && n.assignee_agent_id.is_none() && n.assignee_user_id.is_none() {
        return Err(Error::unprocessable(
            "in_progress issues require an assignee",
        ));
    }
    let mut project_id = n.project_id;
    let mut project_workspace_id: Option<Uuid> = None;
    if let Some(src) = n.inherit_from.or(n.parent_id) {
        let source = c
            .query_opt(
                "SELECT project_id, project_workspace_id FROM issues WHERE id = $1 AND company_id = $2",
                &[&src, &n.company_id],
            )
            .await?
            .ok_or_else(|| Error::not_found("Workspace inheritance issue not found"))?;
        project_id = project_id.or(source.get(0));
        project_workspace_id = source.get(1);
    }
    // An issue of a project without a workspace gets the project's
    // (primary first, then the oldest), as on the real host.
    if let (Some(project), None) = (project_id, project_workspace_id) {
        project_workspace_id =
            crate::services::projects::default_workspace(c, n.company_id, project).await?;
    }
    let counter = c
        .query_opt(
            "UPDATE companies SET issue_counter = issue_counter + 1, updated_at = now() WHERE id = $1 RETURNING issue_counter, issue_prefix, default_responsible_user_id",
            &[&n.company_id],
        )
        .await?
        .ok_or_else(|| Error::not_found("Company not found"))?;
    let number: i32 = counter.get(0);
    let prefix: String = counter.get(1);
    let responsible: Option<String> = match &n.responsible {
        Responsible::CompanyDefault => counter.get(2),
        Responsible::Resolved {
            explicit,
            actor_user,
        } => match explicit.clone().or_else(|| actor_user.clone()) {
            Some(id) => Some(id),
            None => parent_responsible(c, n.company_id, n.parent_id)
                .await?
                .or_else(|| n.created_by_user_id.clone()),
        },
    };
    let identifier = format!("{prefix}-{number}");
    let origin_kind = n.origin_kind.clone().unwrap_or_else(|| "manual".into());
    let row = c
        .query_one(
            "INSERT INTO issues (company_id, parent_id, project_workspace_id, project_id, title, description, status, priority,
                 assignee_agent_id, assignee_user_id, created_by_agent_id, created_by_user_id, responsible_user_id,
                 issue_number, identifier, origin_kind, origin_id, origin_run_id, request_depth, billing_code,
                 started_at, completed_at, cancelled_at)
             VALUES ($1, $2, $3, $20, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
                 CASE WHEN $6 = 'in_progress' THEN now() END,
                 CASE WHEN $6 = 'done' THEN now() END,
                 CASE WHEN $6 = 'cancelled' THEN now() END)
             RETURNING id",
            &[
                &n.company_id,
                &n.parent_id,
                &project_workspace_id,
                &n.title,
                &n.description,
                &status,
                &priority,
                &n.assignee_agent_id,
                &n.assignee_user_id,
                &n.created_by_agent_id,
                &n.created_by_user_id,
                &responsible,
                &number,
                &identifier,
                &origin_kind,
                &n.origin_id,
                &n.origin_run_id,
                &n.request_depth.unwrap_or(0),
                &n.billing_code,
                &project_id,
            ],
        )
        .await?;
    let id: Uuid = row.get(0);
    if let Some(blockers) = &n.blocked_by {
        replace_blockers(
            c,
            n.company_id,
            id,
            blockers,
            n.created_by_agent_id,
            n.created_by_user_id.as_deref(),
        )
        .await?;
    }
    Ok(id)
}

/// The parent's responsible user, else its creator.
async fn parent_responsible(
    c: &impl Db,
    company_id: Uuid,
    parent_id: Option<Uuid>,
) -> Result<Option<String>> {
    let Some(parent) = parent_id else {
        return Ok(None);
    };
    let row = c
        .query_opt(
            "SELECT responsible_user_id, created_by_user_id FROM issues WHERE id = $1 AND company_id = $2",
            &[&parent, &company_id],
        )
        .await?;
    Ok(row.and_then(|r| r.get::<_, Option<String>>(0).or_else(|| r.get(1))))
}

/// Current blockers of an issue (ids of issues that `blocks` it).
pub async fn blocker_ids(c: &impl Db, issue_id: Uuid) -> Result<Vec<Uuid>> {
    let rows = c
        .query(
            "SELECT r.issue_id FROM issue_relations r JOIN issues i ON i.id = r.issue_id
             WHERE r.related_issue_id = $1 AND r.type = 'blocks' ORDER BY i.title, i.id",
            &[&issue_id],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Replace semantics of `blockedByIssueIds`.
pub async fn replace_blockers(
    c: &impl Db,
    company_id: Uuid,
    issue_id: Uuid,
    blockers: &[Uuid],
    by_agent: Option<Uuid>,
    by_user: Option<&str>,
) -> Result<()> {
    let mut unique: Vec<Uuid> = Vec::new();
    for b in blockers {
        if !unique.contains(b) {
            unique.push(*b);
        }
    }
    if unique.contains(&issue_id) {
        return Err(Error::unprocessable("Issue cannot be blocked by itself"));
    }
    if !unique.is_empty() {
        let n: i64 = c
            .query_one(
                "SELECT count(*) FROM issues WHERE id = ANY($1) AND company_id = $2",
                &[&unique, &company_id],
            )
            .await?
            .get(0);
        if n as usize != unique.len() {
            return Err(Error::unprocessable(
                "Blocked-by issues must belong to the same company",
            ));
        }
        // A cycle exists when the issue (transitively) blocks a new blocker.
        let cycle: bool = c
            .query_one(
                "WITH RECURSIVE downstream(id) AS (
                   SELECT related_issue_id FROM issue_relations WHERE issue_id = $1 AND type = 'blocks'
                   UNION SELECT r.related_issue_id FROM issue_relations r JOIN downstream d ON r.issue_id = d.id WHERE r.type = 'blocks'
                 ) SELECT EXISTS (SELECT 1 FROM downstream WHERE id = ANY($2))",
                &[&issue_id, &unique],
            )
            .await?
            .get(0);
        if cycle {
            return Err(Error::unprocessable(
                "Blocking relations cannot contain cycles",
            ));
        }
    }
    c.execute(
        "DELETE FROM issue_relations WHERE related_issue_id = $1 AND type = 'blocks'",
        &[&issue_id],
    )
    .await?;
    for b in &unique {
        c.execute(
            "INSERT INTO issue_relations (company_id, issue_id, related_issue_id, type, created_by_agent_id, created_by_user_id)
             VALUES ($1, $2, $3, 'blocks', $4, $5)",
            &[&company_id, b, &issue_id, &by_agent, &by_user],
        )
        .await?;
    }
    Ok(())
}

/// The issues blocking the issues of `$1` and the issues they block: the
/// same summary columns, each row naming the issue of `$1` it belongs to in
/// a last column (`of_issue`), so a subtree's relations take two statements
/// instead of two per issue.
const BLOCKED_BY: &str =
    "SELECT i.id, i.identifier, i.title, i.status, i.priority, i.assignee_agent_id, i.assignee_user_id,
            r.related_issue_id AS of_issue
     FROM issue_relations r JOIN issues i ON i.id = r.issue_id
     WHERE r.related_issue_id = ANY($1) AND r.type = 'blocks' ORDER BY i.title, i.id";
const BLOCKS: &str =
    "SELECT i.id, i.identifier, i.title, i.status, i.priority, i.assignee_agent_id, i.assignee_user_id,
            r.issue_id AS of_issue
     FROM issue_relations r JOIN issues i ON i.id = r.related_issue_id
     WHERE r.issue_id = ANY($1) AND r.type = 'blocks' ORDER BY i.title, i.id";

/// `{blockedBy, blocks}` summaries of one issue, each sorted by title.
pub async fn relations(c: &impl Db, issue_id: Uuid) -> Result<Value> {
    Ok(relations_of(c, &[issue_id])
        .await?
        .pop()
        .unwrap_or_else(|| json!({ "blockedBy": [], "blocks": [] })))
}

/// `{blockedBy, blocks}` of each of `ids`, in their order.
pub async fn relations_of(c: &impl Db, ids: &[Uuid]) -> Result<Vec<Value>> {
    let ids_param = ids.to_vec();
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&ids_param];
    // Both directions at once: the connection pipelines them.
    let (blocked_by, blocks) = tokio::try_join!(
        rows::query_entities(c, BLOCKED_BY, &params),
        rows::query_entities(c, BLOCKS, &params),
    )?;
    // `of_issue` is the last column, so removing it keeps the others' order.
    let of = |list: &[Value], id: &str| -> Vec<Value> {
        list.iter()
            .filter(|e| e.get("ofIssue").and_then(Value::as_str) == Some(id))
            .map(|e| {
                let mut e = e.clone();
                if let Some(map) = e.as_object_mut() {
                    map.remove("ofIssue");
                }
                e
            })
            .collect()
    };
    Ok(ids
        .iter()
        .map(|id| {
            let id = id.to_string();
            json!({ "blockedBy": of(&blocked_by, &id), "blocks": of(&blocks, &id) })
        })
        .collect())
}

/// Whether a run id names a live (queued/running) run.
pub async fn run_is_live(c: &impl Db, run_id: Uuid) -> Result<bool> {
    let row = c
        .query_opt(
            "SELECT status FROM heartbeat_runs WHERE id = $1",
            &[&run_id],
        )
        .await?;
    Ok(row.is_some_and(|r| matches!(r.get::<_, String>(0).as_str(), "queued" | "running")))
}

/// `TERMINAL_HEARTBEAT_RUN_STATUSES`.
pub const TERMINAL_RUN_STATUSES: &[&str] = &["succeeded", "failed", "cancelled", "timed_out"];

/// The status of a run named by an untrusted id: `None` when no run has it.
/// A value that is not a uuid fails in Postgres, as the real host's query does.
async fn run_status(c: &impl Db, run_id: &str) -> Result<Option<String>> {
    Ok(c.query_opt(
        "SELECT status FROM heartbeat_runs WHERE id = $1::text::uuid",
        &[&run_id],
    )
    .await?
    .map(|r| r.get(0)))
}

fn is_terminal(status: &Option<String>) -> bool {
    status
        .as_deref()
        .is_none_or(|s| TERMINAL_RUN_STATUSES.contains(&s))
}

/// `clearExecutionRunIfTerminal` + `clearCheckoutRunIfTerminal`: an issue's
/// execution or checkout run that ended (or no longer exists) holds nothing.
pub async fn clear_terminal_runs(c: &impl Db, issue_id: Uuid) -> Result<()> {
    let Some(issue) = get(c, issue_id).await? else {
        return Ok(());
    };
    if let Some(exec) = issue.execution_run_id {
        if is_terminal(&run_status(c, &exec.to_string()).await?) {
            c.execute(
                "UPDATE issues SET execution_run_id = NULL, execution_agent_name_key = NULL,
                   execution_locked_at = NULL, updated_at = now()
                 WHERE id = $1 AND execution_run_id = $2",
                &[&issue_id, &exec],
            )
            .await?;
        }
    }
    let Some(issue) = get(c, issue_id).await? else {
        return Ok(());
    };
    if let Some(checkout) = issue.checkout_run_id {
        if !is_terminal(&run_status(c, &checkout.to_string()).await?) {
            return Ok(());
        }
        if let Some(exec) = issue.execution_run_id.filter(|e| *e != checkout) {
            if !is_terminal(&run_status(c, &exec.to_string()).await?) {
                return Ok(());
            }
        }
        c.execute(
            "UPDATE issues SET checkout_run_id = NULL, execution_run_id = NULL,
               execution_agent_name_key = NULL, execution_locked_at = NULL, updated_at = now()
             WHERE id = $1 AND checkout_run_id = $2",
            &[&issue_id, &checkout],
        )
        .await?;
    }
    Ok(())
}

/// Outcome of `assertCheckoutOwner`.
pub struct CheckoutOwner {
    pub issue: IssueRow,
    pub adopted_from: Option<Uuid>,
}

/// `assertCheckoutOwner` as 2026.707.0 ships it: runs that ended are
/// released first; then the checkout run itself passes, a live run of the
/// assignee takes over an unowned checkout (or one whose run ended), and
/// anything else is 409.
pub async fn assert_checkout_owner(
    c: &impl Db,
    defects: &Defects,
    issue_id: Uuid,
    agent_id: Uuid,
    run_id: &str,
) -> Result<CheckoutOwner> {
    clear_terminal_runs(c, issue_id).await?;
    let issue = get(c, issue_id)
        .await?
        .ok_or_else(|| Error::not_found("Issue not found"))?;
    let run = Some(run_id.trim()).filter(|r| !r.is_empty());
    let owned = issue.status == "in_progress" && issue.assignee_agent_id == Some(agent_id);
    let checkout = issue.checkout_run_id.map(|r| r.to_string());
    // sameRunLock: with a run id the checkout run must be it; without one
    // there must be no checkout run.
    if owned && checkout.as_deref() == run {
        return Ok(CheckoutOwner {
            issue,
            adopted_from: None,
        });
    }
    let Some(run) = run.filter(|_| owned) else {
        return Err(Error::conflict("Issue run ownership conflict"));
    };
    // The real host locks the caller's run row by the raw value: one that
    // is not a UUID (a run id header sent twice, joined) fails that query
    // and its SQL is echoed (docs/findings.md F24).
    if Uuid::parse_str(run).is_err() {
        return Err(Error::internal(format!(
            "Failed query: select \"heartbeat_runs\".\"id\" from \"heartbeat_runs\" where \"heartbeat_runs\".\"id\" = $1 for update\nparams: {run}"
        )));
    }
    // Defect any-run-accepted: any run id of the assignee passes, the
    // checkout run is never compared.
    if defects.has(Defect::AnyRunAccepted) {
        return Ok(CheckoutOwner {
            issue,
            adopted_from: None,
        });
    }
    // Defect no-stale-adoption: nothing is ever adopted.
    if defects.has(Defect::NoStaleAdoption) {
        return Err(Error::conflict("Issue run ownership conflict"));
    }
    let execution = issue.execution_run_id.map(|r| r.to_string());
    let adopt = |previous: Option<Uuid>| async move {
        let n = c
            .execute(
                "UPDATE issues SET checkout_run_id = $2::text::uuid, execution_run_id = $2::text::uuid,
                   execution_locked_at = now(), updated_at = now()
                 WHERE id = $1 AND status = 'in_progress' AND assignee_agent_id = $3
                   AND checkout_run_id IS NOT DISTINCT FROM $4",
                &[&issue_id, &run, &agent_id, &previous],
            )
            .await?;
        Ok::<bool, Error>(n > 0)
    };
    let adopted_from = match issue.checkout_run_id {
        // adoptUnownedCheckoutRun: a live run takes an unowned checkout.
        None => {
            let unowned = execution.is_none() || execution.as_deref() == Some(run);
            let taken = unowned && !is_terminal(&run_status(c, run).await?) && adopt(None).await?;
            taken.then_some(None)
        }
        // adoptStaleCheckoutRun: a live run replaces a checkout run that
        // ended (reached when the run ended after the release above).
        Some(previous) => {
            let stale = is_terminal(&run_status(c, &previous.to_string()).await?);
            let live = !is_terminal(&run_status(c, run).await?);
            let taken = stale && live && adopt(Some(previous)).await?;
            taken.then_some(Some(previous))
        }
    };
    if let Some(adopted_from) = adopted_from {
        let issue = get(c, issue_id).await?.unwrap_or(issue);
        return Ok(CheckoutOwner {
            issue,
            adopted_from,
        });
    }
    Err(Error::conflict("Issue run ownership conflict"))
}

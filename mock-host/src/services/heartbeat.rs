//! Wakeups and heartbeat runs. The mock runs no adapters: a wakeup writes
//! the `agent_wakeup_requests` and `heartbeat_runs` rows, and a background
//! "harness" moves the run to `running` a moment later and, as the real
//! host's harness does, checks the run's issue out for the assignee
//! (real-host.md §7/§8). Runs then stay `running`, like the real host's
//! long-lived `process` adapter runs the suite uses.

use std::time::Duration;

use crate::db::Db;
use deadpool_postgres::Pool;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::db::rows;
use crate::error::{Error, Result};

/// How long the harness waits before claiming a queued run.
const CLAIM_DELAY: Duration = Duration::from_millis(60);

/// A wakeup of one agent.
#[derive(Debug, Clone)]
pub struct Wakeup {
    pub agent_id: Uuid,
    pub source: String,
    pub trigger_detail: Option<String>,
    pub reason: Option<String>,
    pub payload: Value,
    pub idempotency_key: Option<String>,
    pub requested_by_actor_type: Option<String>,
    pub requested_by_actor_id: Option<String>,
    pub context_snapshot: Value,
    /// The issue the run works on (execution lock and harness checkout).
    pub issue_id: Option<Uuid>,
}

/// `heartbeat.wakeup`: returns the run that will handle it, or None when the
/// wakeup was skipped or deferred.
pub async fn wakeup(c: &impl Db, w: &Wakeup) -> Result<Option<Uuid>> {
    let agent = c
        .query_opt(
            "SELECT company_id, status, runtime_config FROM agents WHERE id = $1",
            &[&w.agent_id],
        )
        .await?
        .ok_or_else(|| Error::not_found("Agent not found"))?;
    let company_id: Uuid = agent.get(0);
    let status: String = agent.get(1);
    let runtime: Value = agent.get(2);
    if matches!(
        status.as_str(),
        "paused" | "terminated" | "pending_approval"
    ) {
        return Err(Error::conflict(
            "Agent is not invokable in its current state",
        ));
    }
    let insert_request = |status: &'static str, run_id: Option<Uuid>| async move {
        let row = c
            .query_one(
                "INSERT INTO agent_wakeup_requests (company_id, agent_id, source, trigger_detail, reason, payload, status,
                   requested_by_actor_type, requested_by_actor_id, idempotency_key, run_id, finished_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
                   CASE WHEN $7 IN ('skipped', 'coalesced') THEN now() END)
                 RETURNING id",
                &[
                    &company_id,
                    &w.agent_id,
                    &w.source,
                    &w.trigger_detail,
                    &w.reason,
                    &w.payload,
                    &status,
                    &w.requested_by_actor_type,
                    &w.requested_by_actor_id,
                    &w.idempotency_key,
                    &run_id,
                ],
            )
            .await?;
        Ok::<Uuid, Error>(row.get(0))
    };
    if runtime.pointer("/heartbeat/wakeOnDemand") == Some(&Value::Bool(false)) {
        insert_request("skipped", None).await?;
        return Ok(None);
    }
    if let Some(issue_id) = w.issue_id {
        let lock = c
            .query_opt(
                "SELECT h.id, h.agent_id FROM issues i JOIN heartbeat_runs h ON h.id = i.execution_run_id
                 WHERE i.id = $1 AND h.status IN ('queued', 'running')",
                &[&issue_id],
            )
            .await?;
        if let Some(lock) = lock {
            let run: Uuid = lock.get(0);
            let run_agent: Uuid = lock.get(1);
            if run_agent == w.agent_id {
                insert_request("coalesced", Some(run)).await?;
                return Ok(Some(run));
            }
            insert_request("deferred_issue_execution", None).await?;
            return Ok(None);
        }
    }
    let request_id = insert_request("queued", None).await?;
    let invocation_source = match w.source.as_str() {
        "timer" | "assignment" | "on_demand" | "automation" => w.source.clone(),
        _ => "on_demand".to_string(),
    };
    let run = c
        .query_one(
            "INSERT INTO heartbeat_runs (company_id, agent_id, invocation_source, trigger_detail, status, wakeup_request_id, context_snapshot)
             VALUES ($1, $2, $3, $4, 'queued', $5, $6) RETURNING id",
            &[
                &company_id,
                &w.agent_id,
                &invocation_source,
                &w.trigger_detail,
                &request_id,
                &w.context_snapshot,
            ],
        )
        .await?;
    let run_id: Uuid = run.get(0);
    c.execute(
        "UPDATE agent_wakeup_requests SET run_id = $2, updated_at = now() WHERE id = $1",
        &[&request_id, &run_id],
    )
    .await?;
    Ok(Some(run_id))
}

/// The run row as the API renders it.
pub async fn run_json(c: &impl Db, run_id: Uuid) -> Result<Value> {
    rows::query_entity(c, "SELECT * FROM heartbeat_runs WHERE id = $1", &[&run_id])
        .await?
        .ok_or_else(|| Error::not_found("Heartbeat run not found"))
}

/// Starts the harness for a queued run in the background.
pub fn start_run(pool: Pool, run_id: Uuid) {
    tokio::spawn(async move {
        tokio::time::sleep(CLAIM_DELAY).await;
        if let Err(e) = claim_and_checkout(&pool, run_id).await {
            tracing::warn!(%run_id, error = %e, "harness could not start the run");
        }
    });
}

async fn claim_and_checkout(pool: &Pool, run_id: Uuid) -> Result<()> {
    let client = pool.get().await?;
    let row = client
        .query_opt(
            "UPDATE heartbeat_runs SET status = 'running', started_at = now(), updated_at = now()
             WHERE id = $1 AND status = 'queued'
             RETURNING agent_id, context_snapshot ->> 'issueId', wakeup_request_id",
            &[&run_id],
        )
        .await?;
    let Some(row) = row else { return Ok(()) };
    let agent_id: Uuid = row.get(0);
    let issue: Option<String> = row.get(1);
    let request: Option<Uuid> = row.get(2);
    if let Some(request) = request {
        client
            .execute(
                "UPDATE agent_wakeup_requests SET status = 'claimed', claimed_at = now(), run_id = $2, updated_at = now() WHERE id = $1",
                &[&request, &run_id],
            )
            .await?;
    }
    client
        .execute(
            // Like the real host, a starting run marks the agent running but
            // leaves last_heartbeat_at to the run's end.
            "UPDATE agents SET status = CASE WHEN status = 'idle' THEN 'running' ELSE status END WHERE id = $1",
            &[&agent_id],
        )
        .await?;
    let Some(issue_id) = issue.and_then(|s| Uuid::parse_str(&s).ok()) else {
        return Ok(());
    };
    // The harness checkout: the assignee's run takes an unowned (or stale)
    // checkout of its issue.
    let n = client
        .execute(
            "UPDATE issues SET status = 'in_progress', checkout_run_id = $2, execution_run_id = $2,
               execution_locked_at = now(),
               execution_agent_name_key = (SELECT lower(name) FROM agents WHERE id = $3),
               started_at = coalesce(started_at, now()), updated_at = now()
             WHERE id = $1 AND assignee_agent_id = $3 AND status IN ('backlog', 'todo', 'in_progress')
               AND (checkout_run_id IS NULL OR checkout_run_id = $2 OR NOT EXISTS (
                 SELECT 1 FROM heartbeat_runs h WHERE h.id = issues.checkout_run_id AND h.status IN ('queued', 'running')))",
            &[&issue_id, &run_id, &agent_id],
        )
        .await?;
    if n > 0 {
        client
            .execute(
                "UPDATE heartbeat_runs SET context_snapshot = coalesce(context_snapshot, '{}'::jsonb)
                   || jsonb_build_object('paperclipWake', jsonb_build_object('checkedOutByHarness', true))
                 WHERE id = $1",
                &[&run_id],
            )
            .await?;
    }
    Ok(())
}

/// `CANCELLABLE_HEARTBEAT_RUN_STATUSES`.
pub const CANCELLABLE: &[&str] = &["queued", "running", "scheduled_retry"];

/// Marks a run cancelled (with its wakeup request) when it can still be
/// cancelled; returns whether it was. The mock has no adapter process to
/// stop.
pub async fn mark_cancelled(
    c: &impl Db,
    run_id: Uuid,
    reason: &str,
    error_code: &str,
) -> Result<bool> {
    let row = c
        .query_opt(
            "UPDATE heartbeat_runs SET status = 'cancelled', finished_at = now(), error = $2, error_code = $3,
               updated_at = now()
             WHERE id = $1 AND status = ANY($4) RETURNING wakeup_request_id",
            &[&run_id, &reason, &error_code, &CANCELLABLE],
        )
        .await?;
    let Some(row) = row else { return Ok(false) };
    let request: Option<Uuid> = row.get(0);
    if let Some(request) = request {
        c.execute(
            "UPDATE agent_wakeup_requests SET status = 'cancelled', finished_at = now(), error = $2,
               updated_at = now() WHERE id = $1",
            &[&request, &reason],
        )
        .await?;
    }
    Ok(true)
}

/// `releaseIssueExecutionAndPromote` without deferred wakes: every issue
/// whose execution or checkout run is `run_id` lets go of it. Returns the
/// run's primary issue (its context issue, else the first one it held).
pub async fn release_issues(c: &impl Db, run_id: Uuid) -> Result<Option<Uuid>> {
    let row = c
        .query_one(
            "SELECT company_id, context_snapshot ->> 'issueId' FROM heartbeat_runs WHERE id = $1",
            &[&run_id],
        )
        .await?;
    let company: Uuid = row.get(0);
    let context_issue = row
        .get::<_, Option<String>>(1)
        .and_then(|s| Uuid::parse_str(&s).ok());
    let held: Vec<Uuid> = c
        .query(
            "SELECT id FROM issues WHERE company_id = $1 AND (execution_run_id = $2 OR checkout_run_id = $2)
             ORDER BY id",
            &[&company, &run_id],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    c.execute(
        "UPDATE issues SET execution_run_id = NULL, execution_agent_name_key = NULL,
           execution_locked_at = NULL, updated_at = now()
         WHERE company_id = $1 AND execution_run_id = $2",
        &[&company, &run_id],
    )
    .await?;
    c.execute(
        "UPDATE issues SET checkout_run_id = NULL, updated_at = now()
         WHERE company_id = $1 AND checkout_run_id = $2",
        &[&company, &run_id],
    )
    .await?;
    Ok(context_issue.or(held.first().copied()))
}

/// The immediate recovery 2026.707.0 queues when a run of the assignee ends
/// unsuccessfully on its `todo`/`in_progress` issue and nothing else works
/// on it: an `automation` run that takes the issue's execution lock (and,
/// once the harness starts it, the checkout). Returns the run to start.
pub async fn queue_recovery(c: &impl Db, run_id: Uuid, issue_id: Uuid) -> Result<Option<Uuid>> {
    let Some(issue) = crate::services::issues::get(c, issue_id).await? else {
        return Ok(None);
    };
    let run = c
        .query_one(
            "SELECT h.agent_id, h.context_snapshot ->> 'retryReason', a.status, a.name
             FROM heartbeat_runs h JOIN agents a ON a.id = h.agent_id WHERE h.id = $1",
            &[&run_id],
        )
        .await?;
    let agent: Uuid = run.get(0);
    let previous_retry: Option<String> = run.get(1);
    let agent_status: String = run.get(2);
    let agent_name: String = run.get(3);
    let todo = issue.status == "todo";
    if !(todo || issue.status == "in_progress")
        || issue.assignee_user_id.is_some()
        || issue.assignee_agent_id != Some(agent)
        || issue.execution_run_id.is_some_and(|e| e != run_id)
        || matches!(
            agent_status.as_str(),
            "paused" | "terminated" | "pending_approval"
        )
    {
        return Ok(None);
    }
    let (retry_reason, wake_reason, source) = if todo {
        (
            "assignment_recovery",
            "issue_assignment_recovery",
            "issue.assignment_recovery",
        )
    } else {
        (
            "issue_continuation_needed",
            "issue_continuation_needed",
            "issue.continuation_recovery",
        )
    };
    // A recovery that already failed is not retried (the real host blocks
    // the issue then; the mock leaves it as it is).
    if previous_retry.as_deref() == Some(retry_reason) {
        return Ok(None);
    }
    let other_path: bool = c
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM heartbeat_runs WHERE company_id = $1 AND id <> $2
               AND status IN ('queued', 'running', 'scheduled_retry') AND context_snapshot ->> 'issueId' = $3)",
            &[&issue.company_id, &run_id, &issue_id.to_string()],
        )
        .await?
        .get(0);
    if other_path {
        return Ok(None);
    }
    let request: Uuid = c
        .query_one(
            "INSERT INTO agent_wakeup_requests (company_id, agent_id, source, trigger_detail, reason, payload, status,
               requested_by_actor_type)
             VALUES ($1, $2, 'automation', 'system', $3, $4, 'queued', 'system') RETURNING id",
            &[
                &issue.company_id,
                &agent,
                &wake_reason,
                &json!({ "issueId": issue_id, "retryOfRunId": run_id }),
            ],
        )
        .await?
        .get(0);
    let context = json!({
        "issueId": issue_id.to_string(),
        "taskId": issue_id.to_string(),
        "wakeReason": wake_reason,
        "retryReason": retry_reason,
        "source": source,
        "retryOfRunId": run_id,
    });
    let recovery: Uuid = c
        .query_one(
            "INSERT INTO heartbeat_runs (company_id, agent_id, invocation_source, trigger_detail, status,
               wakeup_request_id, context_snapshot)
             VALUES ($1, $2, 'automation', 'system', 'queued', $3, $4) RETURNING id",
            &[&issue.company_id, &agent, &request, &context],
        )
        .await?
        .get(0);
    c.execute(
        "UPDATE agent_wakeup_requests SET run_id = $2, updated_at = now() WHERE id = $1",
        &[&request, &recovery],
    )
    .await?;
    c.execute(
        "UPDATE issues SET execution_run_id = $2, execution_agent_name_key = lower($3),
           execution_locked_at = now(), updated_at = now() WHERE id = $1",
        &[&issue_id, &recovery, &agent_name],
    )
    .await?;
    Ok(Some(recovery))
}

/// The agent's status once one of its runs ended (`finalizeAgentStatus`).
pub async fn finalize_agent_status(c: &impl Db, agent_id: Uuid) -> Result<()> {
    c.execute(
        "UPDATE agents SET status = CASE
             WHEN EXISTS (SELECT 1 FROM heartbeat_runs WHERE agent_id = $1 AND status = 'running') THEN 'running'
             ELSE 'idle' END,
           last_heartbeat_at = now(), updated_at = now()
         WHERE id = $1 AND status NOT IN ('paused', 'terminated')",
        &[&agent_id],
    )
    .await?;
    Ok(())
}

/// Context snapshot of an issue wakeup.
pub fn issue_context(issue_id: Uuid, reason: &str, source: &str, extra: Value) -> Value {
    let mut v = json!({
        "issueId": issue_id.to_string(),
        "taskId": issue_id.to_string(),
        "wakeReason": reason,
        "source": source,
    });
    if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
    v
}

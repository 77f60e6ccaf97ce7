//! Checkout ownership as 2026.707.0 ships it, and the two checkout defects:
//! pausing an agent cancels its run and releases the issue, the cancelled
//! run is refused, a new live run of the assignee takes over; cancelling a
//! run queues the immediate recovery run, which the harness checks out.
//! Needs PostgreSQL (see `common`: fails under CI, skips loudly elsewhere
//! when it does not answer). No plugin, no node.

mod common;

use std::time::Duration;

use mock_host::services::issues;
use mock_host::{Config, Defect, Defects};
use serde_json::{json, Value};
use uuid::Uuid;

use common::TestDb;

async fn call(method: &str, url: &str, bearer: Option<(&str, &str)>, body: Value) -> (u16, Value) {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut req = client.request(method.parse().unwrap(), url).json(&body);
    if let Some((token, run)) = bearer {
        req = req.bearer_auth(token).header("x-paperclip-run-id", run);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// A company, an agent with a key, and a backlog issue the agent checked
/// out with a fresh run: (agent, issue, run).
async fn checked_out(b: &str) -> (Uuid, Uuid, String) {
    let (_, company) = call(
        "POST",
        &format!("{b}/api/companies"),
        None,
        json!({"name": "Co"}),
    )
    .await;
    let cid = id(&company);
    let (_, agent) = call(
        "POST",
        &format!("{b}/api/companies/{cid}/agents"),
        None,
        json!({"name": "Owner", "role": "engineer", "adapterType": "process"}),
    )
    .await;
    let aid = id(&agent);
    let (_, key) = call(
        "POST",
        &format!("{b}/api/agents/{aid}/keys"),
        None,
        json!({"name": "k"}),
    )
    .await;
    let token = key["token"].as_str().unwrap().to_string();
    let (_, issue) = call(
        "POST",
        &format!("{b}/api/companies/{cid}/issues"),
        None,
        json!({"title": "Work", "status": "backlog", "assigneeAgentId": aid}),
    )
    .await;
    let iid = id(&issue);
    let (s, run) = call(
        "POST",
        &format!("{b}/api/agents/{aid}/heartbeat/invoke"),
        None,
        json!({}),
    )
    .await;
    assert_eq!(s, 202);
    let run = id(&run);
    let (s, checked) = call(
        "POST",
        &format!("{b}/api/issues/{iid}/checkout"),
        Some((&token, &run)),
        json!({"agentId": aid, "expectedStatuses": ["backlog"]}),
    )
    .await;
    assert_eq!(s, 200, "{checked}");
    assert_eq!(checked["checkoutRunId"], run.as_str());
    (aid.parse().unwrap(), iid.parse().unwrap(), run)
}

async fn owner(
    pool: &deadpool_postgres::Pool,
    defects: &Defects,
    issue: Uuid,
    agent: Uuid,
    run: &str,
) -> Result<Option<Uuid>, String> {
    let client = pool.get().await.unwrap();
    issues::assert_checkout_owner(&**client, defects, issue, agent, run)
        .await
        .map(|o| o.issue.checkout_run_id)
        .map_err(|e| e.message())
}

#[tokio::test]
async fn a_live_run_takes_over_after_the_checkout_run_was_cancelled() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let host = mock_host::serve(Config::new(db.url.clone())).await.unwrap();
    let b = host.base_url().to_string();
    let pool = mock_host::db::pool(&db.url).unwrap();
    let none = Defects::none();
    let (agent, issue, first) = checked_out(&b).await;

    assert_eq!(
        owner(
            &pool,
            &none,
            issue,
            agent,
            "00000000-0000-4000-8000-000000000001"
        )
        .await,
        Err("Issue run ownership conflict".into()),
        "another run while the checkout run is live"
    );

    let (s, paused) = call(
        "POST",
        &format!("{b}/api/agents/{agent}/pause"),
        None,
        json!({}),
    )
    .await;
    assert_eq!((s, paused["status"].as_str()), (200, Some("paused")));
    let client = pool.get().await.unwrap();
    let row = client
        .query_one(
            "SELECT status, error_code FROM heartbeat_runs WHERE id = $1::text::uuid",
            &[&first],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "cancelled");
    assert_eq!(row.get::<_, String>(1), "agent_paused");
    let released = issues::get(&**client, issue).await.unwrap().unwrap();
    assert_eq!(
        (released.checkout_run_id, released.execution_run_id),
        (None, None)
    );
    call(
        "POST",
        &format!("{b}/api/agents/{agent}/resume"),
        None,
        json!({}),
    )
    .await;

    assert_eq!(
        owner(&pool, &none, issue, agent, &first).await,
        Err("Issue run ownership conflict".into()),
        "a cancelled run cannot take the checkout back"
    );
    let (_, fresh) = call(
        "POST",
        &format!("{b}/api/agents/{agent}/heartbeat/invoke"),
        None,
        json!({}),
    )
    .await;
    let fresh = id(&fresh);
    assert_eq!(
        owner(
            &pool,
            &Defects::none().with(Defect::NoStaleAdoption),
            issue,
            agent,
            &fresh
        )
        .await,
        Err("Issue run ownership conflict".into()),
        "defect no-stale-adoption"
    );
    assert_eq!(
        owner(
            &pool,
            &Defects::none().with(Defect::AnyRunAccepted),
            issue,
            agent,
            &first
        )
        .await,
        Ok(None),
        "defect any-run-accepted: the cancelled run passes, nothing is adopted"
    );
    assert_eq!(
        owner(&pool, &none, issue, agent, &fresh).await,
        Ok(Some(fresh.parse().unwrap())),
        "the live run adopts"
    );
    assert_eq!(
        owner(&pool, &none, issue, agent, &first).await,
        Err("Issue run ownership conflict".into())
    );

    drop(client);
    host.shutdown().await;
    db.drop_db().await;
}

#[tokio::test]
async fn cancelling_the_checkout_run_queues_a_recovery_run_that_takes_the_checkout() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let host = mock_host::serve(Config::new(db.url.clone())).await.unwrap();
    let b = host.base_url().to_string();
    let pool = mock_host::db::pool(&db.url).unwrap();
    let (agent, issue, first) = checked_out(&b).await;

    let (s, cancelled) = call(
        "POST",
        &format!("{b}/api/heartbeat-runs/{first}/cancel"),
        None,
        json!({}),
    )
    .await;
    assert_eq!(s, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["error"], "Cancelled by control plane");
    assert_eq!(cancelled["errorCode"], "cancelled");
    let (s, again) = call(
        "POST",
        &format!("{b}/api/heartbeat-runs/{first}/cancel"),
        None,
        json!({}),
    )
    .await;
    assert_eq!((s, again["status"].as_str()), (200, Some("cancelled")));
    let (s, missing) = call(
        "POST",
        &format!("{b}/api/heartbeat-runs/{}/cancel", Uuid::new_v4()),
        None,
        json!({}),
    )
    .await;
    assert_eq!(
        (s, missing),
        (404, json!({"error": "Heartbeat run not found"}))
    );

    let client = pool.get().await.unwrap();
    let recovery = client
        .query_one(
            "SELECT id, invocation_source, context_snapshot ->> 'wakeReason', context_snapshot ->> 'retryOfRunId'
             FROM heartbeat_runs WHERE agent_id = $1 AND id <> $2::text::uuid",
            &[&agent, &first],
        )
        .await
        .unwrap();
    let recovery_id: Uuid = recovery.get(0);
    assert_eq!(recovery.get::<_, String>(1), "automation");
    assert_eq!(recovery.get::<_, String>(2), "issue_continuation_needed");
    assert_eq!(recovery.get::<_, String>(3), first);
    // The harness starts it and it takes the checkout.
    let mut checkout = None;
    for _ in 0..50 {
        checkout = issues::get(&**client, issue)
            .await
            .unwrap()
            .unwrap()
            .checkout_run_id;
        if checkout.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(checkout, Some(recovery_id));
    let activity: i64 = client
        .query_one(
            "SELECT count(*) FROM activity_log WHERE action = 'heartbeat.cancelled' AND entity_id = $1",
            &[&first],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(activity, 2, "one row per cancel call");

    drop(client);
    host.shutdown().await;
    db.drop_db().await;
}

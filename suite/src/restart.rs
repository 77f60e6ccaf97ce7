//! Checks that restart the host. They run alone, after every other check,
//! because a restart interrupts whatever else is talking to the host; and
//! only on hosts the suite started (a `url=` host is never restarted).
//!
//! - `restart.plugin-state-kept`: across a host restart, plugin migrations
//!   are not applied again (the ledger, applied times included, is
//!   unchanged), the plugin comes back `ready` with the same row id, its data
//!   is kept, and its scoped route answers with that data
//!   (contract-db-worker.md A3; real-host.md §9).
//! - `restart.core-migration-replay`: with the host's own `0059` journal row
//!   removed, a restart re-applies that migration cleanly and leaves the
//!   plugin tables and rows as they were (contract-db-worker.md A2, A5).

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::check::{CheckKind, CheckMeta, CheckResult, Failure, Status};
use crate::client::{Call, Credentials, HostClient};
use crate::db::HostDb;
use crate::plugin::InstalledPlugin;
use crate::target::RunningHost;
use crate::wait::{poll_until, Interval, Probe};
use crate::world::World;

/// The journal entry of migration 0059 (`created_at` is the journal's `when`).
const CORE_0059_WHEN: i64 = 1_776_542_246_000;

const PLUGIN_STATE_KEPT: &str = "restart.plugin-state-kept";
const CORE_MIGRATION_REPLAY: &str = "restart.core-migration-replay";

/// The restart checks: they run last and alone.
pub fn checks() -> Vec<CheckMeta> {
    let check = |id: &str, title: &str, source: &str| {
        let mut meta = CheckMeta::new(CheckKind::Restart, id, title, source);
        meta.tags = vec!["restart".into()];
        meta.runs_alone = true;
        meta
    };
    vec![
        check(
            PLUGIN_STATE_KEPT,
            "A host restart re-applies no plugin migration and keeps the plugin ready with its data",
            "contract-db-worker.md A3 (applied once); real-host.md §9",
        ),
        check(
            CORE_MIGRATION_REPLAY,
            "The host's own plugin-namespace migration (0059) re-applies cleanly when its journal row is removed",
            "contract-db-worker.md A2 (0059 idempotency), A5",
        ),
    ]
}

/// Everything the restart checks use.
pub struct RestartEnv<'a> {
    pub client: &'a HostClient,
    pub db: Option<&'a HostDb>,
    pub world: &'a World,
    pub plugin: &'a InstalledPlugin,
    pub repro_prefix: &'a str,
}

fn fail(
    mut r: CheckResult,
    step: &str,
    message: String,
    expected: Option<Value>,
    actual: Option<Value>,
) -> CheckResult {
    r.fail(Failure {
        step: step.into(),
        message,
        expected,
        actual,
        exchange: None,
    });
    r
}

/// Runs the restart checks `selected` names (from [`checks`]).
pub async fn run(
    host: &mut RunningHost,
    env: &RestartEnv<'_>,
    selected: &[CheckMeta],
) -> Vec<CheckResult> {
    let mut out = Vec::new();
    for meta in selected {
        let mut r = meta.result(env.repro_prefix);
        if let Some(reason) = skip_reason(host, env) {
            r.status = Status::Skipped;
            r.reason = Some(reason);
            out.push(r);
            continue;
        }
        out.push(match meta.id.as_str() {
            PLUGIN_STATE_KEPT => plugin_state_kept(host, env, r).await,
            CORE_MIGRATION_REPLAY => core_migration_replay(host, env, r).await,
            other => fail(
                r,
                "dispatch",
                format!("internal error: no restart check is named '{other}'"),
                None,
                None,
            ),
        });
    }
    out
}

fn skip_reason(host: &RunningHost, env: &RestartEnv<'_>) -> Option<String> {
    if host.relaunch.is_none() {
        Some("needs a host the suite started (a url= host is never restarted)".into())
    } else if env.db.is_none() {
        Some("needs the host's database".into())
    } else {
        None
    }
}

/// The ledger, namespace and plugin rows a restart must not touch.
async fn plugin_rows(db: &HostDb, plugin: &InstalledPlugin) -> Result<Value, String> {
    let ledger = db
        .rows(
            "select migration_key, checksum, status, applied_at::text as applied_at from plugin_migrations \
             where plugin_id = $1 order by migration_key",
            &[json!(plugin.id)],
        )
        .await?;
    let namespace = db
        .rows(
            "select namespace_name, status from plugin_database_namespaces where plugin_id = $1",
            &[json!(plugin.id)],
        )
        .await?;
    let data = match &plugin.namespace {
        Some(ns) => {
            db.rows(
                &format!("select count(*)::int as n from {ns}.smoke_runs"),
                &[],
            )
            .await?
        }
        None => Vec::new(),
    };
    Ok(json!({ "ledger": ledger, "namespace": namespace, "data": data }))
}

/// Waits until the plugin's scoped summary route answers 200 (the host
/// re-activates plugins in the background after it is healthy).
async fn summary_after_restart(
    client: &HostClient,
    board: &Credentials,
    path: &str,
) -> Option<Value> {
    let call = Call::new("GET", path).as_(board);
    poll_until(
        Duration::from_secs(20),
        Interval::fixed(Duration::from_millis(250)),
        || async {
            match client.send(&call).await.response {
                Some(r) if r.status == 200 => Probe::Done(r.body),
                _ => Probe::NotYet(()),
            }
        },
    )
    .await
    .ok()
}

async fn plugin_state_kept(
    host: &mut RunningHost,
    env: &RestartEnv<'_>,
    mut r: CheckResult,
) -> CheckResult {
    let started = Instant::now();
    let db = env.db.expect("checked above");
    let issue = match env
        .world
        .create_issue(env.client, "a", "restart probe", "todo", None, false)
        .await
    {
        Ok(i) => i,
        Err(e) => return fail(r, "fixtures", e.to_string(), None, None),
    };
    let agent = env
        .world
        .agent("a1")
        .map(|a| a.id.clone())
        .unwrap_or_default();
    let path = format!(
        "/api/plugins/{}/api/issues/{}/smoke",
        env.plugin.key, issue.id
    );
    let init = env
        .client
        .send(
            &Call::new("POST", &path)
                .as_(&env.world.board)
                .json(json!({ "assigneeAgentId": agent })),
        )
        .await;
    r.exchanges.push(init.clone());
    if init.response.as_ref().map(|x| x.status) != Some(201) {
        return fail(
            r,
            "initialize before the restart",
            "the smoke did not answer 201".into(),
            None,
            None,
        );
    }
    let before = match plugin_rows(db, env.plugin).await {
        Ok(v) => v,
        Err(e) => return fail(r, "rows before the restart", e, None, None),
    };
    if let Err(e) = host.restart().await {
        return fail(r, "restart", e.to_string(), None, None);
    }
    let Some(summary) = summary_after_restart(env.client, &env.world.board, &path).await else {
        return fail(
            r,
            "summary after the restart",
            "the scoped route did not answer 200 within 20 s".into(),
            None,
            None,
        );
    };
    if summary["rootIssueId"] != json!(issue.id) {
        return fail(
            r,
            "summary after the restart",
            "the plugin's data did not survive the restart".into(),
            Some(json!({ "rootIssueId": issue.id })),
            Some(summary),
        );
    }
    let record = env
        .client
        .send(&Call::new("GET", format!("/api/plugins/{}", env.plugin.key)).as_(&env.world.board))
        .await;
    let seen = record
        .response
        .as_ref()
        .map(|x| json!({ "id": x.body["id"], "status": x.body["status"] }));
    r.exchanges.push(record);
    let want = json!({ "id": env.plugin.id, "status": "ready" });
    if seen.as_ref() != Some(&want) {
        return fail(
            r,
            "plugin record after the restart",
            "the plugin is not the same ready row".into(),
            Some(want),
            seen,
        );
    }
    match plugin_rows(db, env.plugin).await {
        Ok(after) if after == before => {}
        Ok(after) => {
            return fail(
                r,
                "rows after the restart",
                "the migration ledger, namespace or data changed across the restart".into(),
                Some(before),
                Some(after),
            )
        }
        Err(e) => return fail(r, "rows after the restart", e, None, None),
    }
    r.duration_ms = started.elapsed().as_millis() as u64;
    r
}

async fn core_migration_replay(
    host: &mut RunningHost,
    env: &RestartEnv<'_>,
    mut r: CheckResult,
) -> CheckResult {
    let started = Instant::now();
    let db = env.db.expect("checked above");
    // The entry is found by its journal time, then followed by its hash: a
    // re-applied migration is journaled with a new time (docs/findings.md F12).
    let entry = format!(
        "select hash from drizzle.__drizzle_migrations where created_at = {CORE_0059_WHEN}"
    );
    let hash = match db.rows(&entry, &[]).await {
        Ok(rows) if rows.len() == 1 => rows[0]["hash"].as_str().unwrap_or_default().to_string(),
        Ok(rows) => {
            return fail(
                r,
                "journal before",
                "the host's migration journal has no single 0059 entry".into(),
                Some(json!([{ "hash": "$string" }])),
                Some(json!(rows)),
            )
        }
        Err(e) => {
            r.status = Status::Skipped;
            r.reason = Some(format!("the host keeps no drizzle migration journal ({e})"));
            return r;
        }
    };
    let journal = "select count(*)::int as n from drizzle.__drizzle_migrations where hash = $1";
    let before = match plugin_rows(db, env.plugin).await {
        Ok(v) => v,
        Err(e) => return fail(r, "rows before", e, None, None),
    };
    if let Err(e) = db
        .execute(
            &format!(
                "delete from drizzle.__drizzle_migrations where created_at = {CORE_0059_WHEN}"
            ),
            &[],
        )
        .await
    {
        return fail(r, "remove the journal row", e.to_string(), None, None);
    }
    if let Err(e) = host.restart().await {
        return fail(r, "restart with 0059 pending", e.to_string(), None, None);
    }
    match db.rows(journal, &[json!(hash)]).await {
        Ok(rows) if rows.first().and_then(|x| x["n"].as_u64()) == Some(1) => {}
        Ok(rows) => {
            return fail(
                r,
                "journal after",
                "0059 was not recorded again".into(),
                Some(json!([{ "n": 1 }])),
                Some(json!(rows)),
            )
        }
        Err(e) => return fail(r, "journal after", e, None, None),
    }
    let issue_path = format!(
        "/api/plugins/{}/api/issues/00000000-0000-4000-8000-000000000abc/smoke",
        env.plugin.key
    );
    // A ready plugin with a running worker answers its routes: 400 for an unknown issue.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let x = env
            .client
            .send(&Call::new("GET", &issue_path).as_(&env.world.board))
            .await;
        if x.response.as_ref().map(|x| x.status) == Some(400) {
            break;
        }
        if Instant::now() > deadline {
            r.exchanges.push(x);
            return fail(
                r,
                "plugin after the replay",
                "the plugin's routes did not come back".into(),
                None,
                None,
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    match plugin_rows(db, env.plugin).await {
        Ok(after) if after == before => {}
        Ok(after) => {
            return fail(
                r,
                "rows after the replay",
                "re-applying 0059 changed plugin rows".into(),
                Some(before),
                Some(after),
            )
        }
        Err(e) => return fail(r, "rows after the replay", e, None, None),
    }
    r.duration_ms = started.elapsed().as_millis() as u64;
    r
}

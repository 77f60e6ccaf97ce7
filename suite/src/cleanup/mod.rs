//! Removing what a run created from a host the suite did not start (`url=`).
//!
//! A host the suite started is stopped and its database dropped, which takes
//! everything with it. A `url=` host lives on, often shared, and its database
//! may not be the suite's to write: so teardown undoes the run through the
//! host's own REST API, as the callers that created each thing
//! ([`ledger::Ledger`]), and reports, one line each, what the API could not
//! remove. The order matters:
//!
//! 1. archive each company: the host pauses its agents, cancels their queued
//!    and running heartbeat runs (stopping the adapter processes) and their
//!    pending wakeups, in one call;
//! 2. terminate each agent: revokes all its API keys and cancels whatever
//!    else it had queued (a cancelled run would otherwise start the next
//!    queued one); keys are revoked one by one only if that fails;
//! 3. cancel any run still live in the companies (none, normally);
//! 4. uninstall the plugins the run installed;
//! 5. delete the companies when the host enables company deletion, else
//!    leave them archived;
//! 6. revoke the board API keys of users the run signed up (only their own
//!    key may revoke them: `POST /api/cli-auth/revoke-current`).

pub mod ledger;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::client::{Call, HostClient};
use crate::exchange::compact;
use crate::progress::Progress;
use crate::wait::{poll_until, Interval, Probe};
use ledger::{Created, Entries};

pub use ledger::Ledger;

/// How long the run's adapter processes may take to exit once their runs
/// were cancelled (the host stops them with a grace period).
const ADAPTER_EXIT: Duration = Duration::from_secs(10);

/// Removes what the run created on the host behind `client`; returns one
/// line per thing left on it. `company_deletion` is the host's own
/// `features.companyDeletionEnabled`: its operator decides whether
/// companies may be deleted, the suite only archives them otherwise.
pub async fn clean_up(
    client: &HostClient,
    company_deletion: bool,
    adapter_pid_file: Option<&Path>,
    progress: &Progress,
) -> Vec<String> {
    let entries = client.ledger().entries();
    let mut left = Vec::new();
    let work = entries.companies.len()
        + entries.agents.len()
        + entries.plugins.len()
        + entries.board_keys.len();
    if work > 0 {
        progress.step(format!(
            "cleaning up on the host: {} companies, {} agents, {} plugins, {} board keys",
            entries.companies.len(),
            entries.agents.len(),
            entries.plugins.len(),
            entries.board_keys.len()
        ));
    }
    for company in &entries.companies {
        let call = Call::new("POST", format!("/api/companies/{}/archive", company.id));
        if let Err(e) = ask(client, call.as_(&company.credentials), &[200]).await {
            left.push(format!("{}: not archived: {e}", name("company", company)));
        }
    }
    terminate_agents(client, &entries, &mut left).await;
    for company in &entries.companies {
        cancel_live_runs(client, company, &mut left).await;
    }
    for plugin in &entries.plugins {
        uninstall_plugin(client, plugin, &mut left).await;
    }
    for company in &entries.companies {
        if !company_deletion {
            left.push(format!(
                "{}: archived, not deleted: the host does not enable company deletion (PAPERCLIP_ENABLE_COMPANY_DELETION)",
                name("company", company)
            ));
            continue;
        }
        let call = Call::new("DELETE", format!("/api/companies/{}", company.id));
        if let Err(e) = ask(client, call.as_(&company.credentials), &[200, 404]).await {
            left.push(format!(
                "{}: archived, not deleted: {e}",
                name("company", company)
            ));
        }
    }
    // Last: a key the run signed up may be the very board the steps
    // above acted as (hosts without --board-token).
    for key in &entries.board_keys {
        let user = crate::client::Credentials {
            bearer: Some(key.token.clone()),
            run_id: None,
        };
        let call = Call::new("POST", "/api/cli-auth/revoke-current").as_(&user);
        if let Err(e) = ask(client, call, &[200]).await {
            left.push(format!(
                "board API key {} of user {}: not revoked: {e}",
                key.key_id, key.user_id
            ));
        }
        left.push(format!(
            "user {} ({}), signed up by the run: the host's API cannot delete users",
            key.user_id, key.email
        ));
    }
    if let Some(path) = adapter_pid_file {
        left.extend(live_adapters(path).await);
    }
    left.extend(entries.notes.iter().cloned());
    left
}

/// Step 2: every agent the run created is terminated (which revokes its
/// keys); an agent that cannot be has its keys revoked one by one.
async fn terminate_agents(client: &HostClient, entries: &Entries, left: &mut Vec<String>) {
    for agent in &entries.agents {
        let call = Call::new("POST", format!("/api/agents/{}/terminate", agent.id));
        // 404: the agent went with its company (a check deleted it).
        let Err(e) = ask(client, call.as_(&agent.credentials), &[200, 404]).await else {
            continue;
        };
        left.push(format!("{}: not terminated: {e}", name("agent", agent)));
        for key in entries
            .agent_keys
            .iter()
            .filter(|k| k.parent.as_deref() == Some(agent.id.as_str()))
        {
            let call = Call::new(
                "DELETE",
                format!("/api/agents/{}/keys/{}", agent.id, key.id),
            );
            if let Err(e) = ask(client, call.as_(&key.credentials), &[200, 404]).await {
                left.push(format!(
                    "API key {} of agent {}: not revoked: {e}",
                    key.id, agent.id
                ));
            }
        }
    }
}

/// Step 3: runs of the company that are still queued or running.
async fn cancel_live_runs(client: &HostClient, company: &Created, left: &mut Vec<String>) {
    let list = Call::new("GET", format!("/api/companies/{}/live-runs", company.id))
        .as_(&company.credentials);
    let live = match ask(client, list.clone(), &[200]).await {
        Ok(runs) => live_run_ids(&runs),
        Err(e) => {
            left.push(format!(
                "{}: its live heartbeat runs could not be listed: {e}",
                name("company", company)
            ));
            return;
        }
    };
    if live.is_empty() {
        return;
    }
    for (run, _) in &live {
        let call = Call::new("POST", format!("/api/heartbeat-runs/{run}/cancel"));
        let _ = ask(client, call.as_(&company.credentials), &[200]).await;
    }
    let still = match ask(client, list, &[200]).await {
        Ok(runs) => live_run_ids(&runs),
        Err(_) => live,
    };
    for (run, status) in still {
        left.push(format!(
            "heartbeat run {run} of {} is still {status}",
            name("company", company)
        ));
    }
}

/// `(id, status)` of the queued and running runs in a live-runs answer.
fn live_run_ids(runs: &Value) -> Vec<(String, String)> {
    runs.as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let status = r["status"].as_str()?;
            matches!(status, "queued" | "running")
                .then(|| Some((r["id"].as_str()?.to_string(), status.to_string())))?
        })
        .collect()
}

/// Step 4: a plugin the run installed is uninstalled, unless it is gone or
/// a check already did. Uninstalled, not purged: a purge forgets the
/// plugin's migrations but leaves its schema and tables, so the next install
/// of the same plugin would fail to create them again; an uninstalled row is
/// reused by the next install with its migrations still applied.
async fn uninstall_plugin(client: &HostClient, plugin: &Created, left: &mut Vec<String>) {
    let read = Call::new("GET", format!("/api/plugins/{}", plugin.id)).as_(&plugin.credentials);
    match ask(client, read, &[200, 404]).await {
        Ok(record) if record["status"] == "uninstalled" || record.get("pluginKey").is_none() => {
            return;
        }
        Ok(_) => {}
        Err(e) => {
            left.push(format!(
                "plugin {}: its state could not be read: {e}",
                plugin.id
            ));
            return;
        }
    }
    let call = Call::new("DELETE", format!("/api/plugins/{}", plugin.id));
    if let Err(e) = ask(client, call.as_(&plugin.credentials), &[200]).await {
        left.push(format!("plugin {}: not uninstalled: {e}", plugin.id));
    }
}

/// Adapter processes of the run still alive once their runs are cancelled.
/// The file is read on every poll: a run the host was starting while it was
/// cancelled may spawn its adapter afterwards. One that outlives the wait is
/// stopped by the suite (it runs the suite's own script, `exec sleep`, and
/// its PID is in the run's file) and reported: the host lost track of it.
async fn live_adapters(pid_file: &Path) -> Vec<String> {
    let alive = || -> Vec<u32> {
        let mut pids: Vec<u32> = std::fs::read_to_string(pid_file)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .filter(|&pid| crate::process::is_running(pid))
            .collect();
        pids.sort_unstable();
        pids.dedup();
        pids
    };
    let waited = poll_until(
        ADAPTER_EXIT,
        Interval::fixed(Duration::from_millis(200)),
        || async {
            let left = alive();
            if left.is_empty() {
                Probe::Done(())
            } else {
                Probe::NotYet(left)
            }
        },
    )
    .await;
    let Err(timeout) = waited else {
        return Vec::new();
    };
    timeout
        .last
        .into_iter()
        .map(|pid| {
            let stopped = crate::process::stop_adapter(pid);
            format!(
                "agent adapter process {pid} of the run was still running {} s after its runs were cancelled{}",
                ADAPTER_EXIT.as_secs(),
                if stopped { "; the suite stopped it" } else { "" }
            )
        })
        .collect()
}

/// `company 'Conformance Co A' (id)`.
fn name(kind: &str, created: &Created) -> String {
    if created.label.is_empty() {
        format!("{kind} {}", created.id)
    } else {
        format!("{kind} '{}' ({})", created.label, created.id)
    }
}

/// Sends `call`; the body when the status is one of `ok`, else why not.
async fn ask(client: &HostClient, call: Call, ok: &[u16]) -> Result<Value, String> {
    let exchange = client.send(&call).await;
    match &exchange.response {
        Some(r) if ok.contains(&r.status) => Ok(r.body.clone()),
        Some(r) => Err(format!(
            "{} {} answered {}: {}",
            call.method,
            call.path,
            r.status,
            compact(&r.body, 200)
        )),
        None => Err(format!(
            "{} {} got no answer: {}",
            call.method,
            call.path,
            exchange.error.unwrap_or_default()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_queued_and_running_runs_are_live() {
        let runs = json!([
            {"id": "r1", "status": "running"},
            {"id": "r2", "status": "cancelled"},
            {"id": "r3", "status": "queued"},
            {"status": "running"},
        ]);
        assert_eq!(
            live_run_ids(&runs),
            vec![
                ("r1".to_string(), "running".to_string()),
                ("r3".to_string(), "queued".to_string())
            ]
        );
    }
}

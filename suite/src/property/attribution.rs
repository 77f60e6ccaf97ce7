//! Property: activity attribution of plugin-origin mutations.
//!
//! For every kind of caller of the smoke plugin's `initialize` route — the
//! board with or without a run id header, the assignee agent with its
//! checkout run, a peer agent with or without a run id — the activity rows the
//! plugin's host calls write must name the plugin as the actor (its row id,
//! never its key), carry the caller as the initiator, and land in the issue's
//! company; nothing may be attributed to anyone else
//! (contract-http.md §8.2, §8.4; real-host.md §8).

use proptest::prelude::*;
use serde_json::{json, Value};

use super::concurrent::run_property_concurrently;
use super::{CaseFailure, Property, PropertyConfig, PropertyEnv};
use crate::check::CheckResult;
use crate::client::{Body, Call, Credentials};

/// Who initiates the smoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Initiator {
    Board,
    /// The board, sending a live run id.
    BoardWithRun,
    /// The issue's assignee with its checkout run.
    Assignee,
    /// An agent of the same company, not assigned, no run id.
    Peer,
    /// A peer agent sending a live run id (not its own checkout).
    PeerWithRun,
}

/// The activity the plugin writes for one `initialize`: action → whether it
/// carries the initiator (`issue.document_upserted` does not; B2.2).
const ACTIONS: [(&str, bool); 5] = [
    ("issue.created", true),
    ("issue.created", true),
    ("issue.relations.updated", true),
    ("issue.document_upserted", false),
    ("issue.assignment_wakeup_requested", true),
];

/// The attribution property.
pub struct AttributionProperty;

impl Initiator {
    /// Every initiator, each run once as a fixed case before the random
    /// draws: five kinds are few enough to enumerate, and a seed that never
    /// draws one would leave its rules unchecked.
    pub const ALL: [Initiator; 5] = [
        Initiator::Board,
        Initiator::BoardWithRun,
        Initiator::Assignee,
        Initiator::Peer,
        Initiator::PeerWithRun,
    ];
}

fn initiators() -> impl Strategy<Value = Initiator> {
    proptest::sample::select(Initiator::ALL.to_vec())
}

impl Property for AttributionProperty {
    fn id(&self) -> &'static str {
        "attribution"
    }

    fn title(&self) -> &'static str {
        "Plugin-origin activity names the plugin row as actor and the caller as initiator, in the issue's company"
    }

    fn source(&self) -> &'static str {
        "contract-http.md §8.1–8.2, §8.4; contract-db-worker.md B2.3; real-host.md §8"
    }

    fn tags(&self) -> Vec<String> {
        vec!["property".into(), "attribution".into()]
    }

    fn check(&self, env: &PropertyEnv, config: &PropertyConfig) -> CheckResult {
        let Some(db) = env.db.clone() else {
            return super::skipped(
                self,
                env,
                config,
                "needs the host's database for row assertions; pass --host-database-url",
            );
        };
        // Every case makes its own agents and issue and reads only their
        // rows: cases run side by side.
        run_property_concurrently(
            self,
            env,
            config,
            &Initiator::ALL,
            initiators(),
            config.case_jobs,
            |initiator| {
                env.handle.block_on(async {
                let client = &env.client;
                let world = &env.world;
                let nonce = &uuid::Uuid::new_v4().simple().to_string()[..8];
                let fail = |m: String| CaseFailure::message(m);
                let assignee = world
                    .create_agent(client, "a", &format!("attribution assignee {nonce}"))
                    .await
                    .map_err(|e| fail(format!("world: {e}")))?;
                let issue = world
                    .create_issue(client, "a", &format!("attribution {nonce}"), "in_progress", Some(&assignee), true)
                    .await
                    .map_err(|e| fail(format!("world: {e}")))?;
                let run = issue.run_id.clone().unwrap_or_default();
                let peer = match initiator {
                    Initiator::Peer | Initiator::PeerWithRun => Some(
                        world
                            .create_agent(client, "a", &format!("attribution peer {nonce}"))
                            .await
                            .map_err(|e| fail(format!("world: {e}")))?,
                    ),
                    _ => None,
                };
                // (credentials, expected agent id, expected run id, expected user id)
                let (creds, agent_id, run_id, user_id): (Credentials, Option<String>, Option<String>, Option<String>) =
                    match initiator {
                        Initiator::Board => (world.board.clone(), None, None, Some(world.board_user_id.clone())),
                        Initiator::BoardWithRun => {
                            let mut c = world.board.clone();
                            c.run_id = Some(run.clone());
                            (c, None, Some(run.clone()), Some(world.board_user_id.clone()))
                        }
                        Initiator::Assignee => (
                            Credentials {
                                bearer: Some(assignee.token.clone()),
                                run_id: Some(run.clone()),
                            },
                            Some(assignee.id.clone()),
                            Some(run.clone()),
                            None,
                        ),
                        Initiator::Peer | Initiator::PeerWithRun => {
                            let peer = peer.as_ref().expect("peer created above");
                            let run_id = (*initiator == Initiator::PeerWithRun).then(|| run.clone());
                            (
                                Credentials {
                                    bearer: Some(peer.token.clone()),
                                    run_id: run_id.clone(),
                                },
                                Some(peer.id.clone()),
                                run_id,
                                None,
                            )
                        }
                    };
                let mut call = Call::new("POST", format!("/api/plugins/{}/api/issues/{}/smoke", env.plugin.key, issue.id)).as_(&creds);
                call.body = Body::Json(json!({}));
                let exchange = client.send(&call).await;
                let body = match &exchange.response {
                    Some(r) if r.status == 201 => r.body.clone(),
                    other => {
                        return Err(CaseFailure {
                            message: format!(
                                "initialize did not answer 201 (got {})",
                                other.as_ref().map(|r| r.status.to_string()).unwrap_or_else(|| "no answer".into())
                            ),
                            expected: Some(json!({"status": 201})),
                            actual: other.as_ref().map(|r| json!({"status": r.status, "body": r.body})),
                            exchanges: vec![exchange],
                        })
                    }
                };
                let child = body["childIssueId"].as_str().unwrap_or_default().to_string();
                let blocker = body["blockerIssueId"].as_str().unwrap_or_default().to_string();
                let rows = db
                    .rows(
                        "select action, actor_type, actor_id, agent_id, run_id, company_id, entity_type, entity_id, details \
                         from activity_log where entity_id in ($1, $2) \
                         and (actor_type = 'plugin' or actor_id in ($3, $4)) order by created_at, action",
                        &[json!(child), json!(blocker), json!(env.plugin.id), json!(env.plugin.key)],
                    )
                    .await
                    .map_err(fail)?;
                let expected = expected_rows(env, &agent_id, &run_id, &user_id, &world.companies[0].1.id);
                if let Err(m) = crate::scenario::matcher::matches(&expected, Some(&Value::Array(rows.clone()))) {
                    return Err(CaseFailure {
                        message: format!("activity rows differ {m}"),
                        expected: Some(expected),
                        actual: Some(Value::Array(rows)),
                        exchanges: vec![exchange],
                    });
                }
                Ok(())
            })
            },
        )
    }
}

/// The five rows, in any order, and nothing else.
fn expected_rows(
    env: &PropertyEnv,
    agent: &Option<String>,
    run: &Option<String>,
    user: &Option<String>,
    company: &str,
) -> Value {
    let plugin_id = &env.plugin.id;
    let key = &env.plugin.key;
    let opt = |v: &Option<String>| {
        v.clone()
            .map(Value::String)
            .unwrap_or_else(|| json!("$null"))
    };
    let initiator_type = if agent.is_some() {
        json!("agent")
    } else {
        json!("user")
    };
    let initiator_id = agent
        .clone()
        .or(user.clone())
        .map(Value::String)
        .unwrap_or(json!("$null"));
    let rows: Vec<Value> = ACTIONS
        .iter()
        .map(|(action, carries)| {
            let mut details = json!({
                "pluginId": plugin_id, "sourcePluginId": plugin_id,
                "pluginKey": key, "sourcePluginKey": key,
            });
            if *carries {
                details["initiatingActorType"] = initiator_type.clone();
                details["initiatingActorId"] = initiator_id.clone();
                details["initiatingAgentId"] = opt(agent);
                details["initiatingUserId"] = opt(user);
                details["initiatingRunId"] = opt(run);
            } else {
                for k in [
                    "initiatingActorType",
                    "initiatingActorId",
                    "initiatingAgentId",
                    "initiatingUserId",
                    "initiatingRunId",
                ] {
                    details[k] = json!("$null");
                }
            }
            json!({
                "action": action,
                "actor_type": "plugin",
                "actor_id": plugin_id,
                "agent_id": if *carries { opt(agent) } else { json!("$null") },
                "run_id": if *carries { opt(run) } else { json!("$null") },
                "company_id": company,
                "entity_type": "issue",
                "details": details,
            })
        })
        .collect();
    json!({ "$all": rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_initiator_is_a_fixed_case() {
        // Exhaustive: a new variant does not compile here until it has a
        // place in ALL.
        let position = |i: Initiator| match i {
            Initiator::Board => 0,
            Initiator::BoardWithRun => 1,
            Initiator::Assignee => 2,
            Initiator::Peer => 3,
            Initiator::PeerWithRun => 4,
        };
        for (n, i) in Initiator::ALL.iter().enumerate() {
            assert_eq!(position(*i), n, "{i:?}");
        }
    }
}

//! Building an authz case's world on the host and making its request.
//!
//! Every case gets its own agents and issue (companies are the run's world
//! companies a and b), so cases are independent of each other and of the
//! scenarios running beside them.

use serde_json::json;

use super::case::{AgentRole, AuthzCase, Caller, IssueState, KeyState, Request, RunHeader};
use crate::client::{Body, Call, Credentials, HostClient};
use crate::error::Result;
use crate::exchange::Exchange;
use crate::scenario::runner::BOGUS_TOKEN;
use crate::world::{Agent, World};

/// A run id no heartbeat run has.
pub const NON_EXISTENT_RUN: &str = "00000000-0000-4000-8000-00000000c0de";

/// The world of one case, as built.
pub struct CaseWorld {
    pub issue_id: String,
    pub checkout_run: Option<String>,
    pub caller: Credentials,
}

/// Builds the agents, keys and issue the case needs.
pub async fn build(client: &HostClient, world: &World, case: &AuthzCase) -> Result<CaseWorld> {
    let nonce = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let assignee = world
        .create_agent(client, "a", &format!("authz assignee {nonce}"))
        .await?;
    let (status, checkout) = match case.issue {
        IssueState::Todo { .. } => ("todo", false),
        IssueState::Backlog { .. } => ("backlog", false),
        IssueState::CheckedOut => ("in_progress", true),
    };
    let issue = world
        .create_issue(
            client,
            "a",
            &format!("authz case {nonce}"),
            status,
            case.issue.assigned().then_some(&assignee),
            checkout,
        )
        .await?;
    let caller = match case.caller {
        Caller::Board => world.board.clone(),
        Caller::NoCredentials => Credentials::default(),
        Caller::BogusBearer => bearer(BOGUS_TOKEN),
        Caller::Agent { role, key } => {
            let agent = match role {
                AgentRole::Assignee => assignee.clone(),
                AgentRole::Peer => {
                    world
                        .create_agent(client, "a", &format!("authz peer {nonce}"))
                        .await?
                }
                AgentRole::OtherCompany => {
                    world
                        .create_agent(client, "b", &format!("authz foreign {nonce}"))
                        .await?
                }
                AgentRole::Terminated => {
                    let agent = world
                        .create_agent(client, "a", &format!("authz terminated {nonce}"))
                        .await?;
                    world.terminate_agent(client, &agent).await?;
                    agent
                }
            };
            if key == KeyState::Revoked {
                world.revoke_key(client, &agent).await?;
            }
            agent_credentials(&agent)
        }
    };
    Ok(CaseWorld {
        issue_id: issue.id,
        checkout_run: issue.run_id,
        caller,
    })
}

fn bearer(token: &str) -> Credentials {
    Credentials {
        bearer: Some(token.to_string()),
        run_id: None,
    }
}

fn agent_credentials(agent: &Agent) -> Credentials {
    bearer(&agent.token)
}

/// Makes the case's request in its world.
pub async fn request(
    client: &HostClient,
    plugin_key: &str,
    case: &AuthzCase,
    built: &CaseWorld,
) -> Exchange {
    let issue = match case.request {
        Request::MissingIssue => "00000000-0000-4000-8000-0000000abc00".to_string(),
        Request::MalformedIssueId => "not-an-issue".to_string(),
        _ => built.issue_id.clone(),
    };
    let plugin = match case.request {
        Request::UnknownPlugin => "conformance.no-such-plugin",
        _ => plugin_key,
    };
    let (method, path) = match case.request {
        Request::Summary => (
            "GET",
            format!("/api/plugins/{plugin}/api/issues/{issue}/smoke"),
        ),
        Request::UnknownRoute => (
            "GET",
            format!("/api/plugins/{plugin}/api/issues/{issue}/nope"),
        ),
        Request::WrongMethod => (
            "PUT",
            format!("/api/plugins/{plugin}/api/issues/{issue}/smoke"),
        ),
        _ => (
            "POST",
            format!("/api/plugins/{plugin}/api/issues/{issue}/smoke"),
        ),
    };
    let mut call = Call::new(method, path).as_(&built.caller);
    call.credentials.run_id = match case.run {
        RunHeader::Absent => None,
        RunHeader::CheckoutRun => built.checkout_run.clone(),
        RunHeader::NonExistentRun => Some(NON_EXISTENT_RUN.to_string()),
    };
    if method != "GET" {
        call.body = Body::Json(json!({}));
    }
    client.send(&call).await
}

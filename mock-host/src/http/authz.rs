//! Authorization helpers (contract-http.md §2).

use axum::http::Method;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::http::actor::{Actor, AgentActor, Board, BoardSource};

pub fn assert_authenticated(actor: &Actor) -> Result<()> {
    match actor {
        Actor::None => Err(Error::unauthorized("Unauthorized")),
        _ => Ok(()),
    }
}

pub fn assert_board(actor: &Actor) -> Result<&Board> {
    match actor {
        Actor::Board(b) => Ok(b),
        _ => Err(Error::forbidden("Board access required")),
    }
}

pub fn assert_agent(actor: &Actor) -> Result<&AgentActor> {
    assert_authenticated(actor)?;
    match actor {
        Actor::Agent(a) => Ok(a),
        _ => Err(Error::forbidden("Agent access required")),
    }
}

pub fn assert_board_org_access(actor: &Actor) -> Result<&Board> {
    let b = assert_board(actor)?;
    if b.source == BoardSource::LocalImplicit || b.is_instance_admin || !b.company_ids.is_empty() {
        Ok(b)
    } else {
        Err(Error::forbidden(
            "Company membership or instance admin access required",
        ))
    }
}

pub fn assert_instance_admin(actor: &Actor) -> Result<&Board> {
    let b = assert_board(actor)?;
    if b.source == BoardSource::LocalImplicit || b.is_instance_admin {
        Ok(b)
    } else {
        Err(Error::forbidden("Instance admin access required"))
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// `assertCompanyAccess(companyId)`.
pub fn assert_company_access(actor: &Actor, company_id: Uuid, method: &Method) -> Result<()> {
    assert_authenticated(actor)?;
    match actor {
        Actor::Agent(a) if a.company_id != company_id => {
            Err(Error::forbidden("Agent key cannot access another company"))
        }
        Actor::Board(b) if b.source != BoardSource::LocalImplicit => {
            if !b.company_ids.contains(&company_id) {
                return Err(Error::forbidden(
                    "User does not have access to this company",
                ));
            }
            if !is_safe(method) && !b.is_instance_admin {
                match b.memberships.iter().find(|m| m.company_id == company_id) {
                    Some(m) if m.status != "active" => {
                        return Err(Error::forbidden("User does not have active company access"))
                    }
                    None => {
                        return Err(Error::forbidden("User does not have active company access"))
                    }
                    Some(m) if m.role.as_deref() == Some("viewer") => {
                        return Err(Error::forbidden("Viewer access is read-only"))
                    }
                    _ => {}
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// `getActorInfo`.
#[derive(Debug, Clone)]
pub struct ActorInfo {
    /// `user` or `agent`.
    pub actor_type: &'static str,
    pub actor_id: String,
    pub agent_id: Option<Uuid>,
    pub user_id: Option<String>,
    pub run_id: Option<String>,
}

pub fn actor_info(actor: &Actor) -> Result<ActorInfo> {
    assert_authenticated(actor)?;
    Ok(match actor {
        Actor::Agent(a) => ActorInfo {
            actor_type: "agent",
            actor_id: a.agent_id.to_string(),
            agent_id: Some(a.agent_id),
            user_id: None,
            run_id: a.run_id.clone(),
        },
        Actor::Board(b) => ActorInfo {
            actor_type: "user",
            actor_id: b.user_id.clone(),
            agent_id: None,
            user_id: Some(b.user_id.clone()),
            run_id: b.run_id.clone(),
        },
        Actor::None => unreachable!("asserted above"),
    })
}

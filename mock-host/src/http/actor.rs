//! Actor resolution (contract-http.md §1).

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::config::{Defect, Defects, DeploymentMode};
use crate::db::Client;
use crate::error::{Error, Result};
use crate::host::AppState;

/// The user id of the implicit local board.
pub const LOCAL_BOARD: &str = "local-board";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoardSource {
    LocalImplicit,
    Session,
    BoardKey,
}

#[derive(Debug, Clone)]
pub struct Membership {
    pub company_id: Uuid,
    pub role: Option<String>,
    pub status: String,
}

#[derive(Debug, Clone)]
pub struct Board {
    pub user_id: String,
    pub is_instance_admin: bool,
    pub source: BoardSource,
    pub company_ids: Vec<Uuid>,
    pub memberships: Vec<Membership>,
    pub run_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AgentActor {
    pub agent_id: Uuid,
    pub company_id: Uuid,
    pub key_id: Uuid,
    pub run_id: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Actor {
    None,
    Board(Board),
    Agent(AgentActor),
}

impl Actor {
    pub fn local_board(run_id: Option<String>) -> Actor {
        Actor::Board(Board {
            user_id: LOCAL_BOARD.into(),
            is_instance_admin: true,
            source: BoardSource::LocalImplicit,
            company_ids: Vec::new(),
            memberships: Vec::new(),
            run_id,
        })
    }

    pub fn run_id(&self) -> Option<&str> {
        match self {
            Actor::None => None,
            Actor::Board(b) => b.run_id.as_deref(),
            Actor::Agent(a) => a.run_id.as_deref(),
        }
    }

    pub fn is_session_board(&self) -> bool {
        matches!(self, Actor::Board(b) if b.source == BoardSource::Session)
    }
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn initial(mode: DeploymentMode) -> Actor {
    match mode {
        DeploymentMode::LocalTrusted => Actor::local_board(None),
        DeploymentMode::Authenticated => Actor::None,
    }
}

fn with_run(actor: Actor, run_id: Option<String>) -> Actor {
    match actor {
        Actor::Board(mut b) => {
            b.run_id = run_id;
            Actor::Board(b)
        }
        Actor::Agent(mut a) => {
            a.run_id = run_id;
            Actor::Agent(a)
        }
        Actor::None => Actor::None,
    }
}

/// The session cookie name (Better Auth's cookie under the instance prefix).
pub fn session_cookie_name(instance_id: &str) -> String {
    format!("paperclip-{instance_id}.session_token")
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

async fn user_board(
    client: &Client,
    user_id: &str,
    source: BoardSource,
    run_id: Option<String>,
) -> Result<Board> {
    let rows = client
        .query(
            "SELECT company_id, membership_role, status FROM company_memberships
             WHERE principal_type = 'user' AND principal_id = $1 AND status = 'active'",
            &[&user_id],
        )
        .await?;
    let memberships: Vec<Membership> = rows
        .iter()
        .map(|r| Membership {
            company_id: r.get(0),
            role: r.get(1),
            status: r.get(2),
        })
        .collect();
    let admin: bool = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM instance_user_roles WHERE user_id = $1 AND role = 'instance_admin')",
            &[&user_id],
        )
        .await?
        .get(0);
    Ok(Board {
        user_id: user_id.to_string(),
        is_instance_admin: admin,
        source,
        company_ids: memberships.iter().map(|m| m.company_id).collect(),
        memberships,
        run_id,
    })
}

/// Resolves the actor of a request.
pub async fn resolve(
    client: &Client,
    mode: DeploymentMode,
    instance_id: &str,
    defects: &Defects,
    headers: &HeaderMap,
) -> Result<Actor> {
    // Node joins repeated headers of this kind with ", ": a run id sent
    // twice is one value holding both.
    let run_ids: Vec<&str> = headers
        .get_all("x-paperclip-run-id")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    // Defect run-id-first-value: the first of them only.
    let run_id = match run_ids.first() {
        Some(first) if defects.has(Defect::RunIdFirstValue) => Some(first.to_string()),
        _ => (!run_ids.is_empty()).then(|| run_ids.join(", ")),
    };
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ').unwrap_or((v, ""));
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| rest.trim().to_string())
        });
    let Some(token) = bearer else {
        if mode == DeploymentMode::Authenticated {
            if let Some(tok) = cookie(headers, &session_cookie_name(instance_id)) {
                let row = client
                    .query_opt(
                        "SELECT user_id FROM sessions WHERE token = $1 AND expires_at > now()",
                        &[&tok],
                    )
                    .await?;
                if let Some(row) = row {
                    let user: String = row.get(0);
                    let board = user_board(client, &user, BoardSource::Session, run_id).await?;
                    return Ok(Actor::Board(board));
                }
            }
        }
        return Ok(with_run(initial(mode), run_id));
    };
    if token.is_empty() {
        return Ok(with_run(initial(mode), run_id));
    }
    let hash = sha256_hex(&token);
    // 1. board API key
    let row = client
        .query_opt(
            "UPDATE board_api_keys SET last_used_at = now()
             WHERE key_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
             RETURNING user_id",
            &[&hash],
        )
        .await?;
    if let Some(row) = row {
        let user: String = row.get(0);
        let board = user_board(client, &user, BoardSource::BoardKey, run_id).await?;
        return Ok(Actor::Board(board));
    }
    // 2. agent API key. Defect revoked-key-accepted: `revoked_at` is not
    // looked at, so a revoked key still authenticates its agent.
    let revoked_ok = defects.has(Defect::RevokedKeyAccepted);
    let row = client
        .query_opt(
            "UPDATE agent_api_keys k SET last_used_at = now()
             WHERE k.key_hash = $1 AND (k.revoked_at IS NULL OR $2)
             RETURNING k.id, k.agent_id, k.company_id,
               (SELECT status FROM agents a WHERE a.id = k.agent_id)",
            &[&hash, &revoked_ok],
        )
        .await?;
    if let Some(row) = row {
        let status: Option<String> = row.get(3);
        if matches!(status.as_deref(), Some(s) if s != "terminated" && s != "pending_approval") {
            return Ok(Actor::Agent(AgentActor {
                key_id: row.get(0),
                agent_id: row.get(1),
                company_id: row.get(2),
                run_id,
            }));
        }
    }
    // 3. nothing matched: the initial actor, without the run id header.
    // In local_trusted that is the local board (2026.707.0 behaviour).
    // Defect bogus-bearer-board: authenticated mode falls back to the board
    // too, instead of nobody.
    if mode == DeploymentMode::Authenticated && defects.has(Defect::BogusBearerBoard) {
        return Ok(Actor::local_board(None));
    }
    Ok(initial(mode))
}

/// Middleware: resolves the actor once and stores it in the request.
pub async fn middleware(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let headers = req.headers().clone();
    let actor = async {
        let client = state.pool.get().await?;
        resolve(
            &client,
            state.config.mode,
            &state.config.instance_id,
            &state.config.defects,
            &headers,
        )
        .await
    }
    .await;
    match actor {
        Ok(a) => {
            req.extensions_mut().insert(a);
            next.run(req).await
        }
        Err(e) => axum::response::IntoResponse::into_response(e),
    }
}

/// Extractor for the resolved actor.
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Actor {
    type Rejection = Error;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> std::result::Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Actor>()
            .cloned()
            .ok_or_else(|| Error::internal("actor not resolved"))
    }
}

/// `pcp_` + 48 hex characters (24 random bytes).
pub fn new_token(prefix: &str) -> String {
    let mut bytes = Vec::with_capacity(32);
    bytes.extend_from_slice(Uuid::new_v4().as_bytes());
    bytes.extend_from_slice(Uuid::new_v4().as_bytes());
    format!("{prefix}{}", hex::encode(&bytes[..24]))
}

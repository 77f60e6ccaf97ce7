//! `/api/companies`: create (instance admin), list (what the board may
//! see) and get one.

use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::Response;
use serde_json::Value;
use uuid::Uuid;

use crate::error::{json_response, Error, Result};
use crate::host::AppState;
use crate::http::actor::{Actor, BoardSource};
use crate::http::authz;
use crate::http::ids::parse_uuid;
use crate::http::pipeline::JsonBody;
use crate::services::companies::{self, NewCompany};

/// POST /api/companies
pub async fn create_company(
    State(state): State<AppState>,
    actor: Actor,
    body: JsonBody,
) -> Result<Response> {
    let board = authz::assert_board(&actor)?;
    if !(board.source == BoardSource::LocalImplicit || board.is_instance_admin) {
        return Err(Error::forbidden("Instance admin required"));
    }
    let name = match body.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => return Err(Error::validation("name", "Required")),
    };
    let budget = body
        .get("budgetMonthlyCents")
        .and_then(Value::as_i64)
        .unwrap_or(0) as i32;
    let mut client = state.pool.get().await?;
    let id = companies::create(
        &mut client,
        NewCompany {
            name: &name,
            description: body.str("description"),
            budget_monthly_cents: budget,
            owner_user_id: &board.user_id,
        },
    )
    .await?;
    Ok(json_response(201, &companies::api_json(&client, id).await?))
}

/// GET /api/companies
pub async fn list_companies(State(state): State<AppState>, actor: Actor) -> Result<Response> {
    let board = authz::assert_board(&actor)?;
    let client = state.pool.get().await?;
    let visible: Vec<Value> = companies::list(&client)
        .await?
        .into_iter()
        .filter(|c| {
            board.source == BoardSource::LocalImplicit
                || board.is_instance_admin
                || c["id"]
                    .as_str()
                    .and_then(|s| Uuid::parse_str(s).ok())
                    .is_some_and(|id| board.company_ids.contains(&id))
        })
        .collect();
    Ok(json_response(200, &Value::Array(visible)))
}

/// GET /api/companies/:id
pub async fn get_company(
    State(state): State<AppState>,
    actor: Actor,
    method: Method,
    Path(id): Path<String>,
) -> Result<Response> {
    let id = parse_uuid(&id, "Company")?;
    authz::assert_company_access(&actor, id, &method)?;
    let client = state.pool.get().await?;
    Ok(json_response(200, &companies::api_json(&client, id).await?))
}

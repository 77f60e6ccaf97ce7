//! `/api/companies/:id/projects` (create, with an optional first workspace)
//! and `/api/projects/:id/workspaces` (list): enough of the real host's
//! project routes for a world whose issues have a project workspace.

use axum::extract::{Path, State};
use axum::http::Method;
use axum::response::Response;
use serde_json::Value;

use crate::error::{json_response, Error, Result};
use crate::host::AppState;
use crate::http::actor::Actor;
use crate::http::authz;
use crate::http::ids::parse_uuid;
use crate::http::pipeline::JsonBody;
use crate::services::projects::{self, NewWorkspace};

/// POST /api/companies/:companyId/projects `{name, description?, workspace?}`
pub async fn create_project(
    State(state): State<AppState>,
    actor: Actor,
    method: Method,
    Path(company): Path<String>,
    body: JsonBody,
) -> Result<Response> {
    let company_id = parse_uuid(&company, "Company")?;
    authz::assert_company_access(&actor, company_id, &method)?;
    let name = match body.get("name") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(Error::validation("name", "Required")),
    };
    let workspace = match body.get("workspace") {
        None | Some(Value::Null) => None,
        Some(w) => Some(workspace_input(w, "workspace.")?),
    };
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let id = projects::create(&*tx, company_id, &name, body.str("description")).await?;
    if let Some(w) = workspace {
        projects::create_workspace(&*tx, company_id, id, &w).await?;
    }
    let project = projects::get(&*tx, id)
        .await?
        .ok_or_else(|| Error::internal("project vanished"))?;
    tx.commit().await?;
    Ok(json_response(201, &project))
}

/// GET /api/projects/:id/workspaces
pub async fn list_workspaces(
    State(state): State<AppState>,
    actor: Actor,
    method: Method,
    Path(id): Path<String>,
) -> Result<Response> {
    let id = parse_uuid(&id, "Project")?;
    let client = state.pool.get().await?;
    let company = projects::company_of(&**client, id)
        .await?
        .ok_or_else(|| Error::not_found("Project not found"))?;
    authz::assert_company_access(&actor, company, &method)?;
    Ok(json_response(
        200,
        &Value::Array(projects::workspaces(&**client, id).await?),
    ))
}

/// A workspace needs a `cwd` or a `repoUrl` (the real host's validator).
fn workspace_input(w: &Value, prefix: &str) -> Result<NewWorkspace> {
    let text = |k: &str| {
        w.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(String::from)
    };
    let (cwd, repo_url) = (text("cwd"), text("repoUrl"));
    if cwd.is_none() && repo_url.is_none() {
        return Err(Error::validation(
            &format!("{prefix}cwd"),
            "Workspace requires at least one of cwd or repoUrl.",
        ));
    }
    Ok(NewWorkspace {
        name: text("name").unwrap_or_else(|| "workspace".into()),
        cwd,
        repo_url,
        is_primary: w.get("isPrimary").and_then(Value::as_bool).unwrap_or(false),
    })
}

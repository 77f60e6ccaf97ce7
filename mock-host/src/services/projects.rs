//! Projects and their workspaces: made over REST by the board, read by
//! issue creation (an issue of a project gets the project's workspace, a
//! plugin's child issue its parent's; contract-db-worker.md B2.2
//! issues.create).

use serde_json::Value;
use uuid::Uuid;

use crate::db::{rows, Db};
use crate::error::Result;

/// A new workspace of a project.
#[derive(Debug, Default, Clone)]
pub struct NewWorkspace {
    pub name: String,
    pub cwd: Option<String>,
    pub repo_url: Option<String>,
    pub is_primary: bool,
}

/// Creates a project in `company_id`; answers its id.
pub async fn create(
    c: &impl Db,
    company_id: Uuid,
    name: &str,
    description: Option<&str>,
) -> Result<Uuid> {
    Ok(c.query_one(
        "INSERT INTO projects (company_id, name, description) VALUES ($1, $2, $3) RETURNING id",
        &[&company_id, &name, &description],
    )
    .await?
    .get(0))
}

/// Creates a workspace of `project_id`; answers its id.
pub async fn create_workspace(
    c: &impl Db,
    company_id: Uuid,
    project_id: Uuid,
    w: &NewWorkspace,
) -> Result<Uuid> {
    Ok(c.query_one(
        "INSERT INTO project_workspaces (company_id, project_id, name, cwd, repo_url, is_primary)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        &[
            &company_id,
            &project_id,
            &w.name,
            &w.cwd,
            &w.repo_url,
            &w.is_primary,
        ],
    )
    .await?
    .get(0))
}

/// The project row (with its workspaces), or `None`.
pub async fn get(c: &impl Db, id: Uuid) -> Result<Option<Value>> {
    let Some(mut project) =
        rows::query_entity(c, "SELECT * FROM projects WHERE id = $1", &[&id]).await?
    else {
        return Ok(None);
    };
    let workspaces = workspaces(c, id).await?;
    if let Some(o) = project.as_object_mut() {
        o.insert(
            "primaryWorkspace".into(),
            workspaces
                .iter()
                .find(|w| w["isPrimary"] == Value::Bool(true))
                .cloned()
                .unwrap_or(Value::Null),
        );
        o.insert("workspaces".into(), Value::Array(workspaces));
    }
    Ok(Some(project))
}

/// The company of a project, or `None` for an unknown one.
pub async fn company_of(c: &impl Db, id: Uuid) -> Result<Option<Uuid>> {
    Ok(
        c.query_opt("SELECT company_id FROM projects WHERE id = $1", &[&id])
            .await?
            .map(|r| r.get(0)),
    )
}

/// A project's workspaces, primary first, then oldest.
pub async fn workspaces(c: &impl Db, project_id: Uuid) -> Result<Vec<Value>> {
    rows::query_entities(
        c,
        "SELECT * FROM project_workspaces WHERE project_id = $1
         ORDER BY is_primary DESC, created_at, id",
        &[&project_id],
    )
    .await
}

/// The workspace an issue of the project gets when it names none.
pub async fn default_workspace(
    c: &impl Db,
    company_id: Uuid,
    project_id: Uuid,
) -> Result<Option<Uuid>> {
    Ok(c.query_opt(
        "SELECT id FROM project_workspaces WHERE project_id = $1 AND company_id = $2
         ORDER BY is_primary DESC, created_at, id LIMIT 1",
        &[&project_id, &company_id],
    )
    .await?
    .map(|r| r.get(0)))
}

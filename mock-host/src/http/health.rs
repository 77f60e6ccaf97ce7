//! `GET /api/health`: what the suite polls until the host is ready and
//! reads the host's version and deployment mode from.

use axum::extract::State;
use axum::response::Response;
use serde_json::json;

use crate::config::{DeploymentMode, MOCK_VERSION};
use crate::error::{json_response, Result};
use crate::host::AppState;

/// GET /api/health
pub async fn health(State(state): State<AppState>) -> Result<Response> {
    let mode = state.config.mode;
    let bootstrap = if mode == DeploymentMode::Authenticated {
        let client = state.pool.get().await?;
        let admins: bool = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM instance_user_roles WHERE role = 'instance_admin')",
                &[],
            )
            .await?
            .get(0);
        if admins {
            "ready"
        } else {
            "bootstrap_pending"
        }
    } else {
        "ready"
    };
    Ok(json_response(
        200,
        &json!({
            "status": "ok",
            // A played release's version, so clients pick its profile.
            "version": state.config.plays.version.as_deref().unwrap_or(MOCK_VERSION),
            "deploymentMode": mode.as_str(),
            "deploymentExposure": "private",
            "authReady": true,
            "bootstrapStatus": bootstrap,
            "bootstrapInviteActive": false,
        }),
    ))
}

//! The HTTP surface: router and middleware order.

pub mod actor;
pub mod agents;
pub mod auth;
pub mod authz;
pub mod companies;
pub mod health;
pub mod ids;
pub mod issues;
pub mod node;
pub mod pipeline;
pub mod plugins;
pub mod projects;
pub mod scoped;
pub mod ui_bridge;

use axum::middleware::from_fn;
use axum::middleware::from_fn_with_state;
use axum::routing::{any, delete, get, post};
use axum::Router;

use crate::host::AppState;

/// The whole application: Node's and Express' own behaviour first, then
/// the routes. Wrapping the router is what lets `node` act before routing
/// (middleware added with `Router::layer` runs after it).
pub fn app(state: AppState) -> Router {
    Router::new()
        .fallback_service(router(state.clone()))
        .layer(from_fn_with_state(state, node::before_routing))
}

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/api/health", get(health::health))
        .route("/api/auth/sign-up/email", post(auth::sign_up))
        .route("/api/auth/sign-in/email", post(auth::sign_in))
        .route("/api/auth/get-session", get(auth::get_session))
        .route("/api/board-api-keys", post(auth::create_board_key))
        .route(
            "/api/companies",
            post(companies::create_company).get(companies::list_companies),
        )
        .route("/api/companies/{id}", get(companies::get_company))
        .route(
            "/api/companies/{id}/agents",
            post(agents::create_agent).get(agents::list_agents),
        )
        .route(
            "/api/companies/{id}/issues",
            post(issues::create_issue).get(issues::list_issues),
        )
        .route(
            "/api/companies/{id}/projects",
            post(projects::create_project),
        )
        .route(
            "/api/projects/{id}/workspaces",
            get(projects::list_workspaces),
        )
        .route(
            "/api/companies/{id}/activity",
            get(issues::company_activity),
        )
        .route("/api/agents/{id}", get(agents::get_agent))
        .route("/api/agents/{id}/keys", post(agents::create_agent_key))
        .route("/api/agents/{id}/terminate", post(agents::terminate_agent))
        .route("/api/agents/{id}/pause", post(agents::pause_agent))
        .route("/api/agents/{id}/resume", post(agents::resume_agent))
        .route(
            "/api/agents/{id}/keys/{key}",
            delete(agents::revoke_agent_key),
        )
        .route("/api/agents/{id}/heartbeat/invoke", post(issues::invoke))
        .route("/api/agents/{id}/wakeup", post(issues::wakeup))
        .route("/api/heartbeat-runs/{id}/cancel", post(issues::cancel_run))
        .route("/api/issues/{id}", get(issues::get_issue))
        .route("/api/issues/{id}/checkout", post(issues::checkout))
        .route("/api/issues/{id}/activity", get(issues::issue_activity))
        .route("/api/plugins", get(plugins::list))
        .route("/api/plugins/install", post(plugins::install))
        .route(
            "/api/plugins/ui-contributions",
            get(ui_bridge::contributions),
        )
        .route(
            "/api/plugins/{plugin}",
            get(plugins::get).delete(plugins::uninstall),
        )
        .route("/api/plugins/{plugin}/health", get(plugins::health))
        .route("/api/plugins/{plugin}/enable", post(plugins::enable))
        .route("/api/plugins/{plugin}/disable", post(plugins::disable))
        .route("/api/plugins/{plugin}/data/{key}", post(ui_bridge::data))
        .route(
            "/api/plugins/{plugin}/actions/{key}",
            post(ui_bridge::action),
        )
        .route("/api/plugins/{plugin}/api", any(scoped::dispatch))
        .route("/api/plugins/{plugin}/api/", any(scoped::dispatch))
        .route("/api/plugins/{plugin}/api/{*rest}", any(scoped::dispatch))
        .fallback(pipeline::not_found)
        .method_not_allowed_fallback(pipeline::not_found);
    // Layers run outermost-last-added: body → hostname → actor → guard.
    api.layer(from_fn(pipeline::mutation_guard))
        .layer(from_fn_with_state(state.clone(), actor::middleware))
        .layer(from_fn(pipeline::hostname_guard))
        .layer(from_fn_with_state(state.clone(), pipeline::json_body))
        .layer(from_fn(pipeline::powered_by))
        .with_state(state)
}

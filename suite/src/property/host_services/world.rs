//! The `host-services` check's own corner of the world, made over REST as
//! the board before the first call, and the names its ids are compared by.

use serde_json::json;

use super::names::Names;
use super::Fixtures;
use crate::check::Failure;
use crate::plugin::derive_namespace;
use crate::property::host_methods::fixture::{Variant, SLUG};
use crate::property::PropertyEnv;

fn setup_failure(step: &str, message: impl std::fmt::Display) -> Box<Failure> {
    Box::new(Failure::new(
        format!("set-up: {step}"),
        format!("the host-services world could not be made: {message}"),
    ))
}

/// Names the fixtures' plugin ids, keys and the database fixture's namespace.
pub(super) fn name_fixtures(names: &mut Names, fixtures: &Fixtures) {
    for (variant, plugin) in &fixtures.0 {
        let (id, key) = match variant {
            Variant::All => ("pluginAll", "keyAll"),
            Variant::NoCapabilities => ("pluginNone", "keyNone"),
            Variant::Database => ("pluginDb", "keyDb"),
        };
        names.add(key, &plugin.key);
        names.add(id, &plugin.id);
        if *variant == Variant::Database {
            names.add("namespace", &derive_namespace(&plugin.key, Some(SLUG)));
        }
    }
}

/// Makes the agent, project, workspace and issues the cases work on and
/// names their ids (three independent strands at once: the agent and its
/// checked-out issue, the project and its root issue, company B's issue).
pub(super) async fn set_up(env: &PropertyEnv, seed: u64) -> Result<Names, Box<Failure>> {
    let world = &env.world;
    let client = &env.client;
    let (Some(a), Some(b), Some(b1)) = (world.company("a"), world.company("b"), world.agent("b1"))
    else {
        return Err(setup_failure(
            "world",
            "the world has no company a, b or agent b1",
        ));
    };
    let mut names = Names::default();
    names.add("companyA", &a.id);
    names.add("companyB", &b.id);
    names.add("agentB", &b1.id);
    // An id no row has, the same for the same seed.
    names.add(
        "unknown",
        &uuid::Uuid::from_u64_pair(seed ^ 0x6873_6873, 0x4000_8000_0000_0000 | seed).to_string(),
    );
    let agent_strand = async {
        let agent = world
            .create_agent_in(client, a, "Agent HS")
            .await
            .map_err(|e| setup_failure("agent", e))?;
        let checked = world
            .create_issue_in(client, a, "HS checked", "in_progress", Some(&agent), true)
            .await
            .map_err(|e| setup_failure("checked-out issue", e))?;
        Ok::<_, Box<Failure>>((agent, checked))
    };
    let project_strand = async {
        let cwd = env.work_dir.join("host-services-workspace");
        std::fs::create_dir_all(&cwd).map_err(|e| setup_failure("workspace directory", e))?;
        let project = world
            .create_project_with_workspace(client, a, "HS project", &cwd)
            .await
            .map_err(|e| setup_failure("project", e))?;
        let root = world
            .create_issue_body(
                client,
                a,
                json!({"title": "HS root", "status": "todo", "projectId": project.id}),
            )
            .await
            .map_err(|e| setup_failure("root issue", e))?;
        if root["projectWorkspaceId"].as_str() != Some(project.workspace_id.as_str()) {
            return Err(setup_failure(
                "root issue",
                format!(
                    "an issue of the project got projectWorkspaceId {} instead of its workspace {}",
                    root["projectWorkspaceId"], project.workspace_id
                ),
            ));
        }
        Ok((project, root))
    };
    let b_strand = async {
        world
            .create_issue_body(
                client,
                b,
                json!({"title": "HS issue of B", "status": "todo"}),
            )
            .await
            .map_err(|e| setup_failure("issue of company B", e))
    };
    let (agent, project, issue_b) = tokio::join!(agent_strand, project_strand, b_strand);
    let ((agent, checked), (project, root), issue_b) = (agent?, project?, issue_b?);
    names.add("agentHS", &agent.id);
    names.add("checked", &checked.id);
    names.add("checkedRun", checked.run_id.as_deref().unwrap_or_default());
    names.add("project", &project.id);
    names.add("workspace", &project.workspace_id);
    names.add("root", root["id"].as_str().unwrap_or_default());
    names.add("issueB", issue_b["id"].as_str().unwrap_or_default());
    Ok(names)
}

//! The world a run's checks act in, bootstrapped over the host's REST API.
//!
//! Shared by all scenarios: two companies (`a`, `b`) and three agents (`a1`,
//! `a2` in company a, `b1` in company b), each with an API key. Scenarios add
//! their own agents and issues as fixtures ([`World::create_agent`],
//! [`World::create_issue`]) so they never depend on each other's state.
//!
//! Agents use the `process` adapter with a script in the run directory that
//! appends its PID to `adapter-pids` and idles: the host runs adapters
//! detached, and the PID file is how teardown finds and kills every one of
//! them.

mod board;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::client::{Call, Credentials, HostClient};
use crate::db::HostDb;
use crate::error::{Error, Result};
use crate::scenario::vars::Vars;
use crate::target::DeploymentMode;

pub use board::{board_from_token, sign_up_board_key};

/// A company of the world.
#[derive(Debug, Clone)]
pub struct Company {
    pub id: String,
    pub issue_prefix: String,
}

/// An agent with its API key.
#[derive(Debug, Clone)]
pub struct Agent {
    pub id: String,
    pub company_id: String,
    pub key_id: String,
    pub token: String,
}

/// A project with its primary workspace.
#[derive(Debug, Clone)]
pub struct Project {
    pub id: String,
    pub workspace_id: String,
}

/// An issue fixture as created.
#[derive(Debug, Clone)]
pub struct Issue {
    pub id: String,
    pub identifier: String,
    /// The checkout run, for issues checked out by their assignee.
    pub run_id: Option<String>,
}

/// The shared world.
pub struct World {
    pub mode: DeploymentMode,
    /// Credentials of the board: none in `local_trusted`, a board API key in
    /// `authenticated` mode.
    pub board: Credentials,
    /// The board's user id as hosts record it (`local-board` in `local_trusted`).
    pub board_user_id: String,
    pub companies: Vec<(String, Company)>,
    pub agents: Vec<(String, Agent)>,
    adapter_command: PathBuf,
}

/// Writes the agent adapter script into `run_dir/bin` and returns its path.
/// The PID file it appends to is `run_dir/adapter-pids`.
pub fn write_adapter_script(run_dir: &Path) -> Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let bin = run_dir.join("bin");
    std::fs::create_dir_all(&bin).map_err(|e| Error::io("creating", &bin, e))?;
    let script = bin.join("agent-adapter");
    let pid_file = run_dir.join("adapter-pids");
    let text = format!(
        "#!/bin/sh\n\
         # Agent adapter for conformance runs. The host starts adapters detached,\n\
         # so record the PID for the suite's teardown, then idle: a long-lived run\n\
         # keeps checkouts stable while checks look at them.\n\
         echo $$ >> '{}'\n\
         exec sleep 600\n",
        pid_file.display()
    );
    std::fs::write(&script, text).map_err(|e| Error::io("writing", &script, e))?;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| Error::io("making executable", &script, e))?;
    Ok(script)
}

impl World {
    /// Bootstraps board credentials (authenticated mode), companies, agents
    /// and keys.
    pub async fn bootstrap(
        client: &HostClient,
        mode: DeploymentMode,
        db: Option<&HostDb>,
        adapter_command: PathBuf,
    ) -> Result<World> {
        Self::bootstrap_as(client, mode, db, adapter_command, None).await
    }

    /// [`World::bootstrap`] with the board given as a board API key of an
    /// instance admin (`--board-token`): then no user is signed up and the
    /// host's database is not written; it is only read, if at all.
    pub async fn bootstrap_as(
        client: &HostClient,
        mode: DeploymentMode,
        db: Option<&HostDb>,
        adapter_command: PathBuf,
        board_token: Option<&str>,
    ) -> Result<World> {
        let (board, board_user_id) = match (mode, board_token) {
            // Without credentials a local_trusted caller is the local board,
            // and any bearer falls back to it (contract-http.md §11.2):
            // a token changes nothing there.
            (DeploymentMode::LocalTrusted, _) => {
                (Credentials::default(), "local-board".to_string())
            }
            (DeploymentMode::Authenticated, Some(token)) => board_from_token(client, token).await?,
            (DeploymentMode::Authenticated, None) => {
                let db = db.ok_or_else(|| Error::Bootstrap {
                    step: "authenticated board".into(),
                    message: "authenticated mode needs a board API key of an instance admin (--board-token), or the host's database to make one (--host-database-url)".into(),
                })?;
                sign_up_board_key(client, Some(db)).await?
            }
        };
        let mut world = World {
            mode,
            board,
            board_user_id,
            companies: Vec::new(),
            agents: Vec::new(),
            adapter_command,
        };
        for (name, title) in [("a", "Conformance Co A"), ("b", "Conformance Co B")] {
            let company = world.create_company(client, name, title).await?;
            world.companies.push((name.to_string(), company));
        }
        for (name, company) in [("a1", "a"), ("a2", "a"), ("b1", "b")] {
            let agent = world
                .create_agent(client, company, &format!("Agent {}", name.to_uppercase()))
                .await?;
            world.agents.push((name.to_string(), agent));
        }
        Ok(world)
    }

    pub fn company(&self, name: &str) -> Option<&Company> {
        self.companies
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c)
    }

    pub fn agent(&self, name: &str) -> Option<&Agent> {
        self.agents.iter().find(|(n, _)| n == name).map(|(_, a)| a)
    }

    /// Creates a company as the board; `name` is what errors call it. The
    /// world's own are `a` and `b`; a check that must not share a company
    /// with concurrent scenarios (the scoping property snapshots one)
    /// creates its own with this.
    pub async fn create_company(
        &self,
        client: &HostClient,
        name: &str,
        title: &str,
    ) -> Result<Company> {
        let body = client
            .expect_json(
                &format!("create company {name}"),
                &Call::new("POST", "/api/companies")
                    .as_(&self.board)
                    .json(json!({ "name": title })),
                201,
            )
            .await?;
        Ok(Company {
            id: str_field(&body, "id", "create company")?,
            issue_prefix: body["issuePrefix"].as_str().unwrap_or_default().to_string(),
        })
    }

    /// World company `name`, or a bootstrap error naming it.
    fn named_company(&self, name: &str, step: &str) -> Result<&Company> {
        self.company(name).ok_or_else(|| Error::Bootstrap {
            step: step.into(),
            message: format!("unknown company '{name}' (the world has a and b)"),
        })
    }

    /// Creates an agent with an API key in world company `company`.
    pub async fn create_agent(
        &self,
        client: &HostClient,
        company: &str,
        display_name: &str,
    ) -> Result<Agent> {
        let company = self.named_company(company, "create agent")?;
        self.create_agent_in(client, company, display_name).await
    }

    /// Creates an agent with an API key in `company`.
    pub async fn create_agent_in(
        &self,
        client: &HostClient,
        company: &Company,
        display_name: &str,
    ) -> Result<Agent> {
        let company_id = company.id.clone();
        let body = client
            .expect_json(
                &format!("create agent {display_name}"),
                &Call::new("POST", format!("/api/companies/{company_id}/agents"))
                    .as_(&self.board)
                    .json(json!({
                        "name": display_name,
                        "role": "engineer",
                        "adapterType": "process",
                        "adapterConfig": { "command": self.adapter_command.display().to_string() },
                    })),
                201,
            )
            .await?;
        let id = str_field(&body, "id", "create agent")?;
        let key = client
            .expect_json(
                &format!("create API key for {display_name}"),
                &Call::new("POST", format!("/api/agents/{id}/keys"))
                    .as_(&self.board)
                    .json(json!({ "name": "conformance" })),
                201,
            )
            .await?;
        Ok(Agent {
            id,
            company_id,
            key_id: str_field(&key, "id", "create agent key")?,
            token: str_field(&key, "token", "create agent key")?,
        })
    }

    /// Terminates an agent (`POST /api/agents/:id/terminate`, board only).
    pub async fn terminate_agent(&self, client: &HostClient, agent: &Agent) -> Result<()> {
        client
            .expect_json(
                "terminate agent",
                &Call::new("POST", format!("/api/agents/{}/terminate", agent.id)).as_(&self.board),
                200,
            )
            .await
            .map(|_| ())
    }

    /// Revokes the agent's API key (`DELETE /api/agents/:id/keys/:keyId`).
    pub async fn revoke_key(&self, client: &HostClient, agent: &Agent) -> Result<()> {
        client
            .expect_json(
                "revoke agent key",
                &Call::new(
                    "DELETE",
                    format!("/api/agents/{}/keys/{}", agent.id, agent.key_id),
                )
                .as_(&self.board),
                200,
            )
            .await
            .map(|_| ())
    }

    /// Creates an issue; with `checkout`, the assignee checks it out with a
    /// real heartbeat run (contract-http.md §9.1 steps 4–6).
    pub async fn create_issue(
        &self,
        client: &HostClient,
        company: &str,
        title: &str,
        status: &str,
        assignee: Option<&Agent>,
        checkout: bool,
    ) -> Result<Issue> {
        let company = self.named_company(company, "create issue")?;
        self.create_issue_in(client, company, title, status, assignee, checkout)
            .await
    }

    /// Creates an issue in `company` (see [`World::create_issue`]).
    pub async fn create_issue_in(
        &self,
        client: &HostClient,
        company: &Company,
        title: &str,
        status: &str,
        assignee: Option<&Agent>,
        checkout: bool,
    ) -> Result<Issue> {
        let company_id = &company.id;
        // A checked-out fixture starts in backlog: a non-backlog assigned
        // issue would queue an assignment wakeup that races the checkout.
        let initial_status = if checkout { "backlog" } else { status };
        let mut body = json!({ "title": title, "status": initial_status });
        if let Some(agent) = assignee {
            body["assigneeAgentId"] = json!(agent.id);
        }
        let created = client
            .expect_json(
                &format!("create issue '{title}'"),
                &Call::new("POST", format!("/api/companies/{company_id}/issues"))
                    .as_(&self.board)
                    .json(body),
                201,
            )
            .await?;
        let id = str_field(&created, "id", "create issue")?;
        let identifier = created["identifier"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mut run_id = None;
        if let (true, Some(agent)) = (checkout, assignee) {
            let run = client
                .expect_json(
                    "invoke heartbeat",
                    &Call::new("POST", format!("/api/agents/{}/heartbeat/invoke", agent.id))
                        .as_(&self.board),
                    202,
                )
                .await?;
            let run = run["id"]
                .as_str()
                .map(String::from)
                .ok_or_else(|| Error::Bootstrap {
                    step: "invoke heartbeat".into(),
                    message: format!("the host answered 202 without a run id: {run}"),
                })?;
            let agent_creds = Credentials {
                bearer: Some(agent.token.clone()),
                run_id: Some(run.clone()),
            };
            let checked = client
                .expect_json(
                    "agent checkout",
                    &Call::new("POST", format!("/api/issues/{id}/checkout"))
                        .as_(&agent_creds)
                        .json(json!({ "agentId": agent.id, "expectedStatuses": ["backlog"] })),
                    200,
                )
                .await?;
            if checked["checkoutRunId"].as_str() != Some(run.as_str()) {
                return Err(Error::Bootstrap {
                    step: "agent checkout".into(),
                    message: format!(
                        "checkout answered 200 but checkoutRunId is {} instead of the run {run}",
                        checked["checkoutRunId"]
                    ),
                });
            }
            run_id = Some(run);
        }
        Ok(Issue {
            id,
            identifier,
            run_id,
        })
    }

    /// Creates a project with one (primary) workspace in `company` as the
    /// board (`POST /api/companies/:id/projects` with `workspace`), and
    /// answers its id and the workspace's (`GET /api/projects/:id/workspaces`).
    /// Issues of the project get the workspace as `projectWorkspaceId`, and
    /// plugin issues inherit it from their parent (contract-db-worker.md B2.2
    /// issues.create).
    pub async fn create_project_with_workspace(
        &self,
        client: &HostClient,
        company: &Company,
        name: &str,
        cwd: &Path,
    ) -> Result<Project> {
        let project = client
            .expect_json(
                &format!("create project '{name}'"),
                &Call::new("POST", format!("/api/companies/{}/projects", company.id))
                    .as_(&self.board)
                    .json(json!({
                        "name": name,
                        "workspace": { "name": "main", "cwd": cwd.display().to_string(), "isPrimary": true },
                    })),
                201,
            )
            .await?;
        let id = str_field(&project, "id", "create project")?;
        let workspaces = client
            .expect_json(
                "list project workspaces",
                &Call::new("GET", format!("/api/projects/{id}/workspaces")).as_(&self.board),
                200,
            )
            .await?;
        let workspace_id = workspaces
            .as_array()
            .and_then(|a| a.first())
            .map(|w| str_field(w, "id", "list project workspaces"))
            .transpose()?
            .ok_or_else(|| Error::Bootstrap {
                step: "list project workspaces".into(),
                message: format!("project {id} has no workspace after it was created with one"),
            })?;
        Ok(Project { id, workspace_id })
    }

    /// Creates an issue in `company` with `body` as given (the board's
    /// `POST /api/companies/:id/issues`); answers the created issue.
    pub async fn create_issue_body(
        &self,
        client: &HostClient,
        company: &Company,
        body: Value,
    ) -> Result<Value> {
        client
            .expect_json(
                "create issue",
                &Call::new("POST", format!("/api/companies/{}/issues", company.id))
                    .as_(&self.board)
                    .json(body),
                201,
            )
            .await
    }

    /// Publishes the world's names as variables (`company.a.id`,
    /// `agent.a1.id`, `agent.a1.key_id`, …).
    pub fn export(&self, vars: &mut Vars) {
        for (name, c) in &self.companies {
            vars.set(format!("company.{name}.id"), c.id.clone());
            vars.set(format!("company.{name}.prefix"), c.issue_prefix.clone());
        }
        for (name, a) in &self.agents {
            export_agent(vars, name, a);
        }
        vars.set("mode", self.mode.as_str());
        vars.set("board.user_id", self.board_user_id.clone());
    }
}

/// Publishes one agent's variables.
pub fn export_agent(vars: &mut Vars, name: &str, a: &Agent) {
    vars.set(format!("agent.{name}.id"), a.id.clone());
    vars.set(format!("agent.{name}.company"), a.company_id.clone());
    vars.set(format!("agent.{name}.key_id"), a.key_id.clone());
}

fn str_field(body: &Value, field: &str, step: &str) -> Result<String> {
    body[field]
        .as_str()
        .map(String::from)
        .ok_or_else(|| Error::Bootstrap {
            step: step.into(),
            message: format!(
                "the answer has no string '{field}': {}",
                crate::exchange::compact(body, 300)
            ),
        })
}

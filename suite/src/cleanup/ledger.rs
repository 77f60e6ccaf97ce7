//! What a run created on the host, as the host's answers said.
//!
//! Every request goes through [`crate::client::HostClient`], which shows each
//! successful answer to the ledger. Recording there rather than at each call
//! site means a check that creates a company, an agent or a plugin of its own
//! is covered without knowing about cleanup, and a run that fails or is
//! interrupted half-way still knows what it made. Each entry keeps the
//! credentials of the call that created it: teardown acts as the same caller.

use std::sync::Mutex;

use serde_json::Value;

use crate::client::Credentials;

/// One thing the run created, with who created it.
#[derive(Debug, Clone)]
pub struct Created {
    /// The host's id (a plugin's key for plugins).
    pub id: String,
    /// What reports call it: a company's or agent's name.
    pub label: String,
    /// The parent: the company of an agent, the agent of a key.
    pub parent: Option<String>,
    pub credentials: Credentials,
}

/// A board API key the run minted for a user it signed up.
#[derive(Debug, Clone)]
pub struct BoardKey {
    pub key_id: String,
    pub token: String,
    pub user_id: String,
    pub email: String,
}

/// Everything recorded so far.
#[derive(Debug, Clone, Default)]
pub struct Entries {
    pub companies: Vec<Created>,
    pub agents: Vec<Created>,
    pub agent_keys: Vec<Created>,
    pub plugins: Vec<Created>,
    pub board_keys: Vec<BoardKey>,
    /// Things a check knows it leaves and no API can remove, one line each.
    pub notes: Vec<String>,
}

/// The run's record of what it created; shared by every clone of a client.
#[derive(Debug, Default)]
pub struct Ledger {
    entries: Mutex<Entries>,
}

impl Ledger {
    /// Records what a successful answer to `method path` created.
    pub fn observe(
        &self,
        method: &str,
        path: &str,
        status: u16,
        body: &Value,
        credentials: &Credentials,
    ) {
        let Some(kind) = creation(method, path, status) else {
            return;
        };
        let field = |name: &str| body.get(name).and_then(Value::as_str).map(String::from);
        let id = match kind {
            Kind::Plugin => field("pluginKey"),
            _ => field("id"),
        };
        let Some(id) = id else {
            return;
        };
        let entry = Created {
            id,
            label: field("name").unwrap_or_default(),
            parent: match &kind {
                Kind::Agent(company) => Some(company.clone()),
                Kind::AgentKey(agent) => Some(agent.clone()),
                _ => None,
            },
            credentials: credentials.clone(),
        };
        let mut entries = self.lock();
        let list = match kind {
            Kind::Company => &mut entries.companies,
            Kind::Agent(_) => &mut entries.agents,
            Kind::AgentKey(_) => &mut entries.agent_keys,
            Kind::Plugin => &mut entries.plugins,
        };
        // A plugin reinstalled by a check is one plugin to remove.
        if !list.iter().any(|e| e.id == entry.id) {
            list.push(entry);
        }
    }

    /// Records a board API key minted outside the client (sign-up sessions).
    pub fn board_key(&self, key: BoardKey) {
        self.lock().board_keys.push(key);
    }

    /// Records something the run leaves on the host on purpose.
    pub fn note(&self, line: String) {
        self.lock().notes.push(line);
    }

    /// A copy of everything recorded.
    pub fn entries(&self) -> Entries {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

enum Kind {
    Company,
    Agent(String),
    AgentKey(String),
    Plugin,
}

/// Which creation route `method path` answered with `status` is, if any.
fn creation(method: &str, path: &str, status: u16) -> Option<Kind> {
    if !method.eq_ignore_ascii_case("POST") || !(200..300).contains(&status) {
        return None;
    }
    let path = path.split('?').next().unwrap_or(path);
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["api", "companies"] => Some(Kind::Company),
        ["api", "companies", company, "agents"] => Some(Kind::Agent(company.to_string())),
        ["api", "agents", agent, "keys"] => Some(Kind::AgentKey(agent.to_string())),
        ["api", "plugins", "install"] => Some(Kind::Plugin),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_creations_once_with_their_caller() {
        let ledger = Ledger::default();
        let board = Credentials {
            bearer: Some("pcp_board_x".into()),
            run_id: None,
        };
        ledger.observe(
            "POST",
            "/api/companies",
            201,
            &json!({"id": "c1", "name": "Co"}),
            &board,
        );
        ledger.observe(
            "POST",
            "/api/companies/c1/agents",
            201,
            &json!({"id": "a1"}),
            &board,
        );
        ledger.observe(
            "POST",
            "/api/agents/a1/keys",
            201,
            &json!({"id": "k1"}),
            &board,
        );
        let install = json!({"pluginKey": "acme.p", "id": "p1"});
        ledger.observe("POST", "/api/plugins/install", 200, &install, &board);
        ledger.observe("POST", "/api/plugins/install", 200, &install, &board);
        // Not creations: a refused create, a read, another route.
        ledger.observe("POST", "/api/companies", 403, &json!({"id": "c2"}), &board);
        ledger.observe("GET", "/api/companies", 200, &json!({"id": "c3"}), &board);
        ledger.observe(
            "POST",
            "/api/agents/a1/pause",
            200,
            &json!({"id": "a1"}),
            &board,
        );
        let e = ledger.entries();
        assert_eq!(e.companies.len(), 1);
        assert_eq!(e.companies[0].label, "Co");
        assert_eq!(
            e.companies[0].credentials.bearer.as_deref(),
            Some("pcp_board_x")
        );
        assert_eq!(e.agents[0].parent.as_deref(), Some("c1"));
        assert_eq!(e.agent_keys[0].parent.as_deref(), Some("a1"));
        assert_eq!(e.plugins.len(), 1);
        assert_eq!(e.plugins[0].id, "acme.p");
    }
}

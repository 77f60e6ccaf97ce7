//! The worker→host methods the mock knows, parsed once from the JSON-RPC
//! method string, and the capability each one needs (contract-db-worker.md
//! B2.2, `METHOD_CAPABILITY_MAP`).
//!
//! [`Method::capability`] is a `match` without a wildcard: a new method
//! does not compile until it says which capability it needs, and
//! `host_services::handle` (also exhaustive) until it has a handler.

/// One worker→host method; the strum name is the wire name.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr, strum::EnumIter,
)]
pub enum Method {
    #[strum(serialize = "config.get")]
    ConfigGet,
    #[strum(serialize = "log")]
    Log,
    #[strum(serialize = "state.get")]
    StateGet,
    #[strum(serialize = "state.set")]
    StateSet,
    #[strum(serialize = "state.delete")]
    StateDelete,
    #[strum(serialize = "entities.upsert")]
    EntitiesUpsert,
    #[strum(serialize = "entities.list")]
    EntitiesList,
    #[strum(serialize = "db.namespace")]
    DbNamespace,
    #[strum(serialize = "db.query")]
    DbQuery,
    #[strum(serialize = "db.execute")]
    DbExecute,
    #[strum(serialize = "events.emit")]
    EventsEmit,
    #[strum(serialize = "events.subscribe")]
    EventsSubscribe,
    #[strum(serialize = "activity.log")]
    ActivityLog,
    #[strum(serialize = "companies.list")]
    CompaniesList,
    #[strum(serialize = "companies.get")]
    CompaniesGet,
    #[strum(serialize = "issues.list")]
    IssuesList,
    #[strum(serialize = "issues.get")]
    IssuesGet,
    #[strum(serialize = "issues.create")]
    IssuesCreate,
    #[strum(serialize = "issues.update")]
    IssuesUpdate,
    #[strum(serialize = "issues.relations.get")]
    RelationsGet,
    #[strum(serialize = "issues.relations.setBlockedBy")]
    RelationsSetBlockedBy,
    #[strum(serialize = "issues.relations.addBlockers")]
    RelationsAddBlockers,
    #[strum(serialize = "issues.relations.removeBlockers")]
    RelationsRemoveBlockers,
    #[strum(serialize = "issues.assertCheckoutOwner")]
    AssertCheckoutOwner,
    #[strum(serialize = "issues.getSubtree")]
    GetSubtree,
    #[strum(serialize = "issues.requestWakeup")]
    RequestWakeup,
    #[strum(serialize = "issues.requestWakeups")]
    RequestWakeups,
    #[strum(serialize = "issues.summaries.getOrchestration")]
    GetOrchestration,
    #[strum(serialize = "issues.listComments")]
    ListComments,
    #[strum(serialize = "issues.createComment")]
    CreateComment,
    #[strum(serialize = "issues.documents.list")]
    DocumentsList,
    #[strum(serialize = "issues.documents.get")]
    DocumentsGet,
    #[strum(serialize = "issues.documents.upsert")]
    DocumentsUpsert,
    #[strum(serialize = "issues.documents.delete")]
    DocumentsDelete,
    #[strum(serialize = "agents.list")]
    AgentsList,
    #[strum(serialize = "agents.get")]
    AgentsGet,
}

impl Method {
    /// `None` for a method the mock does not know (the caller answers
    /// `-32601 Host does not handle method "<m>"`).
    pub fn parse(name: &str) -> Option<Method> {
        name.parse().ok()
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The capability the plugin's manifest must declare (`None` = ungated).
    pub fn capability(self) -> Option<&'static str> {
        use Method::*;
        Some(match self {
            ConfigGet | Log | EntitiesUpsert | EntitiesList => return None,
            StateGet => "plugin.state.read",
            StateSet | StateDelete => "plugin.state.write",
            DbNamespace | DbQuery => "database.namespace.read",
            DbExecute => "database.namespace.write",
            EventsEmit => "events.emit",
            EventsSubscribe => "events.subscribe",
            ActivityLog => "activity.log.write",
            CompaniesList | CompaniesGet => "companies.read",
            IssuesList | IssuesGet => "issues.read",
            IssuesCreate => "issues.create",
            IssuesUpdate => "issues.update",
            RelationsGet => "issue.relations.read",
            RelationsSetBlockedBy | RelationsAddBlockers | RelationsRemoveBlockers => {
                "issue.relations.write"
            }
            AssertCheckoutOwner => "issues.checkout",
            GetSubtree => "issue.subtree.read",
            RequestWakeup | RequestWakeups => "issues.wakeup",
            GetOrchestration => "issues.orchestration.read",
            ListComments => "issue.comments.read",
            CreateComment => "issue.comments.create",
            DocumentsList | DocumentsGet => "issue.documents.read",
            DocumentsUpsert | DocumentsDelete => "issue.documents.write",
            AgentsList | AgentsGet => "agents.read",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    #[test]
    fn every_method_round_trips_its_wire_name() {
        for m in Method::iter() {
            assert_eq!(Method::parse(m.as_str()), Some(m));
        }
        assert_eq!(Method::parse("issues.nope"), None);
        assert_eq!(Method::parse("Issues.get"), None);
    }

    /// Spot checks against the contract's table (B2.2).
    #[test]
    fn capabilities_follow_the_contract() {
        for (method, cap) in [
            ("config.get", None),
            ("entities.list", None),
            ("state.get", Some("plugin.state.read")),
            ("state.delete", Some("plugin.state.write")),
            ("issues.documents.delete", Some("issue.documents.write")),
            (
                "issues.relations.removeBlockers",
                Some("issue.relations.write"),
            ),
            ("agents.get", Some("agents.read")),
        ] {
            assert_eq!(Method::parse(method).unwrap().capability(), cap, "{method}");
        }
    }
}

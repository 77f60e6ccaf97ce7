//! The worker→host methods the mock knows — every method 2026.707.0 serves —
//! parsed once from the JSON-RPC method string, and the capability each one
//! needs (contract-db-worker.md B2.2, `METHOD_CAPABILITY_MAP` of 707.0).
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
    // The rest of what 2026.707.0 serves. The mock has no data behind these:
    // they pass the same gates and answer what the real host answers when
    // their required params are missing, else -32004 (`not_implemented`).
    #[strum(serialize = "localFolders.declarations")]
    LocalFoldersDeclarations,
    #[strum(serialize = "localFolders.configure")]
    LocalFoldersConfigure,
    #[strum(serialize = "localFolders.status")]
    LocalFoldersStatus,
    #[strum(serialize = "localFolders.list")]
    LocalFoldersList,
    #[strum(serialize = "localFolders.readText")]
    LocalFoldersReadText,
    #[strum(serialize = "localFolders.writeTextAtomic")]
    LocalFoldersWriteTextAtomic,
    #[strum(serialize = "localFolders.deleteFile")]
    LocalFoldersDeleteFile,
    #[strum(serialize = "http.fetch")]
    HttpFetch,
    #[strum(serialize = "secrets.resolve")]
    SecretsResolve,
    #[strum(serialize = "metrics.write")]
    MetricsWrite,
    #[strum(serialize = "telemetry.track")]
    TelemetryTrack,
    #[strum(serialize = "projects.list")]
    ProjectsList,
    #[strum(serialize = "projects.get")]
    ProjectsGet,
    #[strum(serialize = "projects.listWorkspaces")]
    ProjectsListWorkspaces,
    #[strum(serialize = "projects.getPrimaryWorkspace")]
    ProjectsGetPrimaryWorkspace,
    #[strum(serialize = "projects.getWorkspaceForIssue")]
    ProjectsGetWorkspaceForIssue,
    #[strum(serialize = "executionWorkspaces.get")]
    ExecutionWorkspacesGet,
    #[strum(serialize = "projects.managed.get")]
    ProjectsManagedGet,
    #[strum(serialize = "projects.managed.reconcile")]
    ProjectsManagedReconcile,
    #[strum(serialize = "projects.managed.reset")]
    ProjectsManagedReset,
    #[strum(serialize = "routines.managed.get")]
    RoutinesManagedGet,
    #[strum(serialize = "routines.managed.reconcile")]
    RoutinesManagedReconcile,
    #[strum(serialize = "routines.managed.reset")]
    RoutinesManagedReset,
    #[strum(serialize = "routines.managed.update")]
    RoutinesManagedUpdate,
    #[strum(serialize = "routines.managed.run")]
    RoutinesManagedRun,
    #[strum(serialize = "skills.managed.get")]
    SkillsManagedGet,
    #[strum(serialize = "skills.managed.reconcile")]
    SkillsManagedReconcile,
    #[strum(serialize = "skills.managed.reset")]
    SkillsManagedReset,
    #[strum(serialize = "issues.createInteraction")]
    IssuesCreateInteraction,
    #[strum(serialize = "agents.pause")]
    AgentsPause,
    #[strum(serialize = "agents.resume")]
    AgentsResume,
    #[strum(serialize = "agents.invoke")]
    AgentsInvoke,
    #[strum(serialize = "agents.managed.get")]
    AgentsManagedGet,
    #[strum(serialize = "agents.managed.reconcile")]
    AgentsManagedReconcile,
    #[strum(serialize = "agents.managed.reset")]
    AgentsManagedReset,
    #[strum(serialize = "agents.sessions.create")]
    AgentsSessionsCreate,
    #[strum(serialize = "agents.sessions.list")]
    AgentsSessionsList,
    #[strum(serialize = "agents.sessions.sendMessage")]
    AgentsSessionsSendMessage,
    #[strum(serialize = "agents.sessions.close")]
    AgentsSessionsClose,
    #[strum(serialize = "goals.list")]
    GoalsList,
    #[strum(serialize = "goals.get")]
    GoalsGet,
    #[strum(serialize = "goals.create")]
    GoalsCreate,
    #[strum(serialize = "goals.update")]
    GoalsUpdate,
    #[strum(serialize = "access.members.list")]
    AccessMembersList,
    #[strum(serialize = "access.members.get")]
    AccessMembersGet,
    #[strum(serialize = "access.members.update")]
    AccessMembersUpdate,
    #[strum(serialize = "access.invites.list")]
    AccessInvitesList,
    #[strum(serialize = "access.invites.create")]
    AccessInvitesCreate,
    #[strum(serialize = "access.invites.revoke")]
    AccessInvitesRevoke,
    #[strum(serialize = "authorization.grants.list")]
    AuthorizationGrantsList,
    #[strum(serialize = "authorization.grants.set")]
    AuthorizationGrantsSet,
    #[strum(serialize = "authorization.policies.summary")]
    AuthorizationPoliciesSummary,
    #[strum(serialize = "authorization.policies.get")]
    AuthorizationPoliciesGet,
    #[strum(serialize = "authorization.policies.update")]
    AuthorizationPoliciesUpdate,
    #[strum(serialize = "authorization.policies.previewAssignment")]
    AuthorizationPoliciesPreviewAssignment,
    #[strum(serialize = "authorization.policies.explainAssignment")]
    AuthorizationPoliciesExplainAssignment,
    #[strum(serialize = "authorization.audit.search")]
    AuthorizationAuditSearch,
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

    /// Whether the mock serves it with data of its own (else it answers as
    /// `not_implemented` says).
    pub fn served(self) -> bool {
        // `state.*` keep 707.0's answer to `{}` in `not_implemented`.
        super::not_implemented::rule(self).is_none()
            || matches!(
                self,
                Method::StateGet | Method::StateSet | Method::StateDelete
            )
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
            LocalFoldersDeclarations => return None,
            LocalFoldersConfigure
            | LocalFoldersStatus
            | LocalFoldersList
            | LocalFoldersReadText
            | LocalFoldersWriteTextAtomic
            | LocalFoldersDeleteFile => "local.folders",
            HttpFetch => "http.outbound",
            SecretsResolve => "secrets.read-ref",
            MetricsWrite => "metrics.write",
            TelemetryTrack => "telemetry.track",
            ProjectsList | ProjectsGet => "projects.read",
            ProjectsListWorkspaces | ProjectsGetPrimaryWorkspace | ProjectsGetWorkspaceForIssue => {
                "project.workspaces.read"
            }
            ExecutionWorkspacesGet => "execution.workspaces.read",
            ProjectsManagedGet | ProjectsManagedReconcile | ProjectsManagedReset => {
                "projects.managed"
            }
            RoutinesManagedGet
            | RoutinesManagedReconcile
            | RoutinesManagedReset
            | RoutinesManagedUpdate
            | RoutinesManagedRun => "routines.managed",
            SkillsManagedGet | SkillsManagedReconcile | SkillsManagedReset => "skills.managed",
            IssuesCreateInteraction => "issue.interactions.create",
            AgentsPause => "agents.pause",
            AgentsResume => "agents.resume",
            AgentsInvoke => "agents.invoke",
            AgentsManagedGet | AgentsManagedReconcile | AgentsManagedReset => "agents.managed",
            AgentsSessionsCreate => "agent.sessions.create",
            AgentsSessionsList => "agent.sessions.list",
            AgentsSessionsSendMessage => "agent.sessions.send",
            AgentsSessionsClose => "agent.sessions.close",
            GoalsList | GoalsGet => "goals.read",
            GoalsCreate => "goals.create",
            GoalsUpdate => "goals.update",
            AccessMembersList | AccessMembersGet => "access.members.read",
            AccessMembersUpdate => "access.members.write",
            AccessInvitesList => "access.invites.read",
            AccessInvitesCreate | AccessInvitesRevoke => "access.invites.write",
            AuthorizationGrantsList => "authorization.grants.read",
            AuthorizationGrantsSet => "authorization.grants.write",
            AuthorizationPoliciesSummary
            | AuthorizationPoliciesGet
            | AuthorizationPoliciesPreviewAssignment
            | AuthorizationPoliciesExplainAssignment => "authorization.policies.read",
            AuthorizationPoliciesUpdate => "authorization.policies.write",
            AuthorizationAuditSearch => "authorization.audit.read",
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

//! The words a manifest may use: capabilities, categories, core tables
//! plugins may read, the keys zod keeps, and the id/path/slug patterns.

use std::sync::OnceLock;

use regex::Regex;

/// Every capability a manifest may declare (`PLUGIN_CAPABILITIES` of
/// 2026.707.0, in its order).
pub const CAPABILITIES: &[&str] = &[
    "companies.read",
    "projects.read",
    "project.workspaces.read",
    "execution.workspaces.read",
    "issues.read",
    "issue.relations.read",
    "issue.subtree.read",
    "issue.comments.read",
    "issue.documents.read",
    "agents.read",
    "goals.read",
    "goals.create",
    "goals.update",
    "activity.read",
    "costs.read",
    "issues.orchestration.read",
    "access.members.read",
    "access.invites.read",
    "authorization.grants.read",
    "authorization.policies.read",
    "authorization.audit.read",
    "database.namespace.read",
    "issues.create",
    "issues.update",
    "issue.relations.write",
    "issues.checkout",
    "issues.wakeup",
    "issue.comments.create",
    "issue.interactions.create",
    "issue.documents.write",
    "projects.managed",
    "routines.managed",
    "skills.managed",
    "agents.pause",
    "agents.resume",
    "agents.invoke",
    "agents.managed",
    "access.members.write",
    "access.invites.write",
    "authorization.grants.write",
    "authorization.policies.write",
    "agent.sessions.create",
    "agent.sessions.list",
    "agent.sessions.send",
    "agent.sessions.close",
    "activity.log.write",
    "metrics.write",
    "telemetry.track",
    "database.namespace.migrate",
    "database.namespace.write",
    "external.objects.detect",
    "external.objects.read",
    "external.objects.write",
    "external.objects.refresh",
    "plugin.state.read",
    "plugin.state.write",
    "events.subscribe",
    "events.emit",
    "jobs.schedule",
    "webhooks.receive",
    "api.routes.register",
    "http.outbound",
    "secrets.read-ref",
    "environment.drivers.register",
    "local.folders",
    "agent.tools.register",
    "instance.settings.register",
    "ui.sidebar.register",
    "ui.page.register",
    "ui.detailTab.register",
    "ui.dashboardWidget.register",
    "ui.commentAnnotation.register",
    "ui.action.register",
];

pub(super) const CATEGORIES: &[&str] = &["connector", "workspace", "automation", "ui"];
pub(super) const CORE_READ_TABLES: &[&str] = &[
    "companies",
    "projects",
    "goals",
    "agents",
    "issues",
    "issue_documents",
    "issue_relations",
    "issue_comments",
    "heartbeat_runs",
    "cost_events",
    "approvals",
    "issue_approvals",
    "budget_incidents",
];
pub(super) const TOP_LEVEL: &[&str] = &[
    "id",
    "apiVersion",
    "version",
    "displayName",
    "description",
    "author",
    "categories",
    "minimumHostVersion",
    "minimumPaperclipVersion",
    "capabilities",
    "entrypoints",
    "instanceConfigSchema",
    "jobs",
    "webhooks",
    "tools",
    "database",
    "apiRoutes",
    "launchers",
    "ui",
];
pub(super) const ROUTE_KEYS: &[&str] = &[
    "routeKey",
    "method",
    "path",
    "auth",
    "capability",
    "checkoutPolicy",
    "companyResolution",
];

fn re(src: &str) -> Regex {
    Regex::new(src).expect("static regex")
}

pub(super) fn id_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| re(r"^[a-z0-9][a-z0-9._-]*$"))
}
pub(super) fn route_key_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| re(r"^[a-z0-9][a-z0-9._:-]*$"))
}
pub(super) fn path_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| re(r"^/[a-zA-Z0-9:_./-]*$"))
}
pub(super) fn slug_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| re(r"^[a-z0-9][a-z0-9_]*$"))
}

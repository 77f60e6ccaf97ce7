//! Every worker→host method the plugin SDK declares (`WorkerToHostMethods`
//! in the SDK's `protocol.ts`), with the capability the host's gate asks for
//! (`METHOD_CAPABILITY_MAP`) and the first SDK version that declares it: 93
//! in 2026.707.0 and 722.0, eight more from 2026.817.0 (the host serves them
//! from the same release). The `host-methods` check calls
//! every one of them in every run; on a host that predates a method it must
//! say so (`-32601`).
//!
//! The list is the SDK's own, so the check also compares it with the
//! `protocol.d.ts` of the SDK installed for the run ([`declared_in_sdk`]): a
//! method a newer SDK adds is reported instead of silently going unchecked.

use std::path::Path;

/// The first SDK (and host) version that declares a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Since {
    V707,
    /// 2026.817.0: issue interactions and attachments, approvals,
    /// `span.record` (docs/findings.md F28).
    V817,
}

/// One declared worker→host method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostMethod {
    /// The JSON-RPC method name.
    pub name: &'static str,
    /// `None`: the host never gates it.
    pub capability: Option<&'static str>,
    pub since: Since,
}

/// In the SDK's declaration order.
#[rustfmt::skip]
pub const METHODS: &[HostMethod] = &[
    HostMethod { name: "config.get", capability: None, since: Since::V707 },
    HostMethod { name: "localFolders.declarations", capability: None, since: Since::V707 },
    HostMethod { name: "localFolders.configure", capability: Some("local.folders"), since: Since::V707 },
    HostMethod { name: "localFolders.status", capability: Some("local.folders"), since: Since::V707 },
    HostMethod { name: "localFolders.list", capability: Some("local.folders"), since: Since::V707 },
    HostMethod { name: "localFolders.readText", capability: Some("local.folders"), since: Since::V707 },
    HostMethod { name: "localFolders.writeTextAtomic", capability: Some("local.folders"), since: Since::V707 },
    HostMethod { name: "localFolders.deleteFile", capability: Some("local.folders"), since: Since::V707 },
    HostMethod { name: "state.get", capability: Some("plugin.state.read"), since: Since::V707 },
    HostMethod { name: "state.set", capability: Some("plugin.state.write"), since: Since::V707 },
    HostMethod { name: "state.delete", capability: Some("plugin.state.write"), since: Since::V707 },
    HostMethod { name: "db.namespace", capability: Some("database.namespace.read"), since: Since::V707 },
    HostMethod { name: "db.query", capability: Some("database.namespace.read"), since: Since::V707 },
    HostMethod { name: "db.execute", capability: Some("database.namespace.write"), since: Since::V707 },
    HostMethod { name: "entities.upsert", capability: None, since: Since::V707 },
    HostMethod { name: "entities.list", capability: None, since: Since::V707 },
    HostMethod { name: "events.emit", capability: Some("events.emit"), since: Since::V707 },
    HostMethod { name: "events.subscribe", capability: Some("events.subscribe"), since: Since::V707 },
    HostMethod { name: "http.fetch", capability: Some("http.outbound"), since: Since::V707 },
    HostMethod { name: "secrets.resolve", capability: Some("secrets.read-ref"), since: Since::V707 },
    HostMethod { name: "activity.log", capability: Some("activity.log.write"), since: Since::V707 },
    HostMethod { name: "metrics.write", capability: Some("metrics.write"), since: Since::V707 },
    HostMethod { name: "telemetry.track", capability: Some("telemetry.track"), since: Since::V707 },
    HostMethod { name: "log", capability: None, since: Since::V707 },
    HostMethod { name: "span.record", capability: Some("environment.drivers.register"), since: Since::V817 },
    HostMethod { name: "companies.list", capability: Some("companies.read"), since: Since::V707 },
    HostMethod { name: "companies.get", capability: Some("companies.read"), since: Since::V707 },
    HostMethod { name: "projects.list", capability: Some("projects.read"), since: Since::V707 },
    HostMethod { name: "projects.get", capability: Some("projects.read"), since: Since::V707 },
    HostMethod { name: "projects.listWorkspaces", capability: Some("project.workspaces.read"), since: Since::V707 },
    HostMethod { name: "projects.getPrimaryWorkspace", capability: Some("project.workspaces.read"), since: Since::V707 },
    HostMethod { name: "projects.getWorkspaceForIssue", capability: Some("project.workspaces.read"), since: Since::V707 },
    HostMethod { name: "executionWorkspaces.get", capability: Some("execution.workspaces.read"), since: Since::V707 },
    HostMethod { name: "projects.managed.get", capability: Some("projects.managed"), since: Since::V707 },
    HostMethod { name: "projects.managed.reconcile", capability: Some("projects.managed"), since: Since::V707 },
    HostMethod { name: "projects.managed.reset", capability: Some("projects.managed"), since: Since::V707 },
    HostMethod { name: "routines.managed.get", capability: Some("routines.managed"), since: Since::V707 },
    HostMethod { name: "routines.managed.reconcile", capability: Some("routines.managed"), since: Since::V707 },
    HostMethod { name: "routines.managed.reset", capability: Some("routines.managed"), since: Since::V707 },
    HostMethod { name: "routines.managed.update", capability: Some("routines.managed"), since: Since::V707 },
    HostMethod { name: "routines.managed.run", capability: Some("routines.managed"), since: Since::V707 },
    HostMethod { name: "skills.managed.get", capability: Some("skills.managed"), since: Since::V707 },
    HostMethod { name: "skills.managed.reconcile", capability: Some("skills.managed"), since: Since::V707 },
    HostMethod { name: "skills.managed.reset", capability: Some("skills.managed"), since: Since::V707 },
    HostMethod { name: "issues.list", capability: Some("issues.read"), since: Since::V707 },
    HostMethod { name: "issues.get", capability: Some("issues.read"), since: Since::V707 },
    HostMethod { name: "issues.create", capability: Some("issues.create"), since: Since::V707 },
    HostMethod { name: "issues.update", capability: Some("issues.update"), since: Since::V707 },
    HostMethod { name: "issues.relations.get", capability: Some("issue.relations.read"), since: Since::V707 },
    HostMethod { name: "issues.relations.setBlockedBy", capability: Some("issue.relations.write"), since: Since::V707 },
    HostMethod { name: "issues.relations.addBlockers", capability: Some("issue.relations.write"), since: Since::V707 },
    HostMethod { name: "issues.relations.removeBlockers", capability: Some("issue.relations.write"), since: Since::V707 },
    HostMethod { name: "issues.assertCheckoutOwner", capability: Some("issues.checkout"), since: Since::V707 },
    HostMethod { name: "issues.getSubtree", capability: Some("issue.subtree.read"), since: Since::V707 },
    HostMethod { name: "issues.requestWakeup", capability: Some("issues.wakeup"), since: Since::V707 },
    HostMethod { name: "issues.requestWakeups", capability: Some("issues.wakeup"), since: Since::V707 },
    HostMethod { name: "issues.summaries.getOrchestration", capability: Some("issues.orchestration.read"), since: Since::V707 },
    HostMethod { name: "issues.listComments", capability: Some("issue.comments.read"), since: Since::V707 },
    HostMethod { name: "issues.createComment", capability: Some("issue.comments.create"), since: Since::V707 },
    HostMethod { name: "issues.createInteraction", capability: Some("issue.interactions.create"), since: Since::V707 },
    HostMethod { name: "issues.listInteractions", capability: Some("issue.interactions.read"), since: Since::V817 },
    HostMethod { name: "issues.respondInteraction", capability: Some("issue.interactions.respond"), since: Since::V817 },
    HostMethod { name: "issues.listAttachments", capability: Some("issue.attachments.read"), since: Since::V817 },
    HostMethod { name: "issues.getAttachmentContent", capability: Some("issue.attachments.read"), since: Since::V817 },
    HostMethod { name: "issues.documents.list", capability: Some("issue.documents.read"), since: Since::V707 },
    HostMethod { name: "issues.documents.get", capability: Some("issue.documents.read"), since: Since::V707 },
    HostMethod { name: "issues.documents.upsert", capability: Some("issue.documents.write"), since: Since::V707 },
    HostMethod { name: "issues.documents.delete", capability: Some("issue.documents.write"), since: Since::V707 },
    HostMethod { name: "approvals.list", capability: Some("approvals.read"), since: Since::V817 },
    HostMethod { name: "approvals.get", capability: Some("approvals.read"), since: Since::V817 },
    HostMethod { name: "approvals.decide", capability: Some("approvals.respond"), since: Since::V817 },
    HostMethod { name: "agents.list", capability: Some("agents.read"), since: Since::V707 },
    HostMethod { name: "agents.get", capability: Some("agents.read"), since: Since::V707 },
    HostMethod { name: "agents.pause", capability: Some("agents.pause"), since: Since::V707 },
    HostMethod { name: "agents.resume", capability: Some("agents.resume"), since: Since::V707 },
    HostMethod { name: "agents.invoke", capability: Some("agents.invoke"), since: Since::V707 },
    HostMethod { name: "agents.managed.get", capability: Some("agents.managed"), since: Since::V707 },
    HostMethod { name: "agents.managed.reconcile", capability: Some("agents.managed"), since: Since::V707 },
    HostMethod { name: "agents.managed.reset", capability: Some("agents.managed"), since: Since::V707 },
    HostMethod { name: "agents.sessions.create", capability: Some("agent.sessions.create"), since: Since::V707 },
    HostMethod { name: "agents.sessions.list", capability: Some("agent.sessions.list"), since: Since::V707 },
    HostMethod { name: "agents.sessions.sendMessage", capability: Some("agent.sessions.send"), since: Since::V707 },
    HostMethod { name: "agents.sessions.close", capability: Some("agent.sessions.close"), since: Since::V707 },
    HostMethod { name: "goals.list", capability: Some("goals.read"), since: Since::V707 },
    HostMethod { name: "goals.get", capability: Some("goals.read"), since: Since::V707 },
    HostMethod { name: "goals.create", capability: Some("goals.create"), since: Since::V707 },
    HostMethod { name: "goals.update", capability: Some("goals.update"), since: Since::V707 },
    HostMethod { name: "access.members.list", capability: Some("access.members.read"), since: Since::V707 },
    HostMethod { name: "access.members.get", capability: Some("access.members.read"), since: Since::V707 },
    HostMethod { name: "access.members.update", capability: Some("access.members.write"), since: Since::V707 },
    HostMethod { name: "access.invites.list", capability: Some("access.invites.read"), since: Since::V707 },
    HostMethod { name: "access.invites.create", capability: Some("access.invites.write"), since: Since::V707 },
    HostMethod { name: "access.invites.revoke", capability: Some("access.invites.write"), since: Since::V707 },
    HostMethod { name: "authorization.grants.list", capability: Some("authorization.grants.read"), since: Since::V707 },
    HostMethod { name: "authorization.grants.set", capability: Some("authorization.grants.write"), since: Since::V707 },
    HostMethod { name: "authorization.policies.summary", capability: Some("authorization.policies.read"), since: Since::V707 },
    HostMethod { name: "authorization.policies.get", capability: Some("authorization.policies.read"), since: Since::V707 },
    HostMethod { name: "authorization.policies.update", capability: Some("authorization.policies.write"), since: Since::V707 },
    HostMethod { name: "authorization.policies.previewAssignment", capability: Some("authorization.policies.read"), since: Since::V707 },
    HostMethod { name: "authorization.policies.explainAssignment", capability: Some("authorization.policies.read"), since: Since::V707 },
    HostMethod { name: "authorization.audit.search", capability: Some("authorization.audit.read"), since: Since::V707 },
];

/// The methods of `sdk_node_modules`'s plugin SDK (`WorkerToHostMethods` in
/// `dist/protocol.d.ts`), or `None` when that file is not there.
pub fn declared_in_sdk(sdk_node_modules: &Path) -> Option<Vec<String>> {
    let file = sdk_node_modules.join("@paperclipai/plugin-sdk/dist/protocol.d.ts");
    let text = std::fs::read_to_string(file).ok()?;
    Some(parse_declared(&text))
}

/// The member names of `interface WorkerToHostMethods { … }`: each is a line
/// `    name: [` or `    "dotted.name": [` directly inside the interface.
fn parse_declared(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if !inside {
            inside = line.starts_with("export interface WorkerToHostMethods");
            continue;
        }
        if line.starts_with('}') {
            break;
        }
        let Some(member) = line.strip_prefix("    ") else {
            continue;
        };
        if member.starts_with(' ') {
            continue;
        }
        if let Some((name, rest)) = member.split_once(':') {
            if rest.trim_start().starts_with('[') {
                out.push(name.trim_matches('"').to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_and_counted_per_version() {
        let names: HashSet<_> = METHODS.iter().map(|m| m.name).collect();
        assert_eq!(names.len(), METHODS.len());
        assert_eq!(
            METHODS.iter().filter(|m| m.since == Since::V707).count(),
            93
        );
        assert_eq!(METHODS.len(), 101);
    }

    #[test]
    fn parses_the_interface_members_only() {
        let text = "export interface Other {\n    nope: [\n}\n\
                    export interface WorkerToHostMethods {\n    /** doc */\n    \"config.get\": [\n        params: {\n            x: string;\n        },\n        result: unknown\n    ];\n    log: [\n        params: {}\n    ];\n}\n";
        assert_eq!(parse_declared(text), vec!["config.get", "log"]);
    }
}

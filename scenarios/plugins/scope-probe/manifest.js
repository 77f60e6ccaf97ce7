// Manifest of the conformance scope-probe plugin: a plain object, no SDK import,
// so the host can load it straight from package.json "paperclipPlugin.manifest".
//
// The database namespace the host derives for this key and slug is
// plugin_scope_probe_b862ea62fe (sha256("conformance.scope-probe") starts with
// b862ea62fe, see README.md); the migration SQL has to spell it out.

const ISSUE_COMPANY = { from: "issue", param: "issueId" };

export default {
  id: "conformance.scope-probe",
  apiVersion: 1,
  version: "0.1.0",
  displayName: "Conformance scope probe",
  description:
    "Lets the conformance suite observe what the host allows a plugin worker to do across companies: " +
    "a route called for company A tries to read and write company B's data through the host services " +
    "and reports the outcome of every attempt.",
  author: "Paperclip conformance suite",
  categories: ["automation"],
  capabilities: [
    "api.routes.register",
    "companies.read",
    "agents.read",
    "issues.read",
    "issues.create",
    "issues.update",
    "issues.wakeup",
    "issues.orchestration.read",
    "issue.relations.read",
    "issue.relations.write",
    "issue.documents.read",
    "issue.documents.write",
    "issue.subtree.read",
    "issue.comments.read",
    "issue.comments.create",
    "database.namespace.migrate",
    "database.namespace.read",
    "database.namespace.write",
  ],
  entrypoints: {
    worker: "./worker.js",
  },
  database: {
    namespaceSlug: "scope_probe",
    migrationsDir: "migrations",
    coreReadTables: ["issues", "agents", "companies"],
  },
  apiRoutes: [
    {
      routeKey: "probe",
      method: "POST",
      path: "/issues/:issueId/probe",
      auth: "board-or-agent",
      capability: "api.routes.register",
      companyResolution: ISSUE_COMPANY,
    },
    {
      routeKey: "probe-read",
      method: "GET",
      path: "/issues/:issueId/probe",
      auth: "board-or-agent",
      capability: "api.routes.register",
      companyResolution: ISSUE_COMPANY,
    },
  ],
};

// Manifest of the conformance smoke plugin: a plain object, no SDK import, so
// the host can load it straight from package.json "paperclipPlugin.manifest".
//
// The database namespace the host derives for this key and slug is
// plugin_orchestration_smoke_f0168a9975 (see README.md); the migration SQL
// has to spell it out.

const ISSUE_COMPANY = { from: "issue", param: "issueId" };

export default {
  id: "conformance.orchestration-smoke",
  apiVersion: 1,
  version: "0.1.0",
  displayName: "Conformance orchestration smoke",
  description:
    "Exercises the plugin orchestration host APIs end to end (issues, relations, documents, wakeups, " +
    "orchestration summaries, database namespace and scoped API routes) for the conformance suite.",
  author: "Paperclip conformance suite",
  categories: ["automation", "ui"],
  capabilities: [
    "api.routes.register",
    "database.namespace.migrate",
    "database.namespace.read",
    "database.namespace.write",
    "issues.read",
    "issues.create",
    "issues.wakeup",
    "issue.relations.read",
    "issue.relations.write",
    "issue.documents.read",
    "issue.documents.write",
    "issue.subtree.read",
    "issues.orchestration.read",
    "ui.dashboardWidget.register",
    "ui.detailTab.register",
    "ui.action.register",
  ],
  entrypoints: {
    worker: "./worker.js",
    ui: "./ui",
  },
  database: {
    namespaceSlug: "orchestration_smoke",
    migrationsDir: "migrations",
    coreReadTables: ["issues"],
  },
  apiRoutes: [
    {
      routeKey: "initialize",
      method: "POST",
      path: "/issues/:issueId/smoke",
      auth: "board-or-agent",
      capability: "api.routes.register",
      checkoutPolicy: "required-for-agent-in-progress",
      companyResolution: ISSUE_COMPANY,
    },
    {
      routeKey: "summary",
      method: "GET",
      path: "/issues/:issueId/smoke",
      auth: "board-or-agent",
      capability: "api.routes.register",
      companyResolution: ISSUE_COMPANY,
    },
  ],
  // What GET /api/plugins/ui-contributions lists for this plugin; the UI
  // bundle itself is a stub (ui/index.js), no host serves it in the suite.
  ui: {
    slots: [
      {
        type: "dashboardWidget",
        id: "health-widget",
        displayName: "Orchestration smoke health",
        exportName: "DashboardWidget",
      },
      {
        type: "taskDetailView",
        id: "issue-panel",
        displayName: "Orchestration smoke",
        exportName: "IssuePanel",
        entityTypes: ["issue"],
      },
    ],
    launchers: [
      {
        id: "initialize-smoke-button",
        displayName: "Run orchestration smoke",
        placementZone: "toolbarButton",
        action: { type: "performAction", target: "initialize-smoke" },
      },
    ],
  },
};

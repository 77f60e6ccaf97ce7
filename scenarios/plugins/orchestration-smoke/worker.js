// Worker of the conformance smoke plugin (plain ESM, runs as-is under node).
//
// The `initialize` route drives the orchestration host APIs in a fixed order
// (contract-db-worker.md B2.4) and records the outcome in the plugin's own
// table; `summary` reads it back joined to public.issues.

import { randomUUID } from "node:crypto";
import { definePlugin, runWorker } from "@paperclipai/plugin-sdk";
import manifest from "./manifest.js";

const PLUGIN_KEY = manifest.id;
const ROUTE_KEYS = manifest.apiRoutes.map((route) => route.routeKey);
const DOCUMENT_KEY = "orchestration-smoke";
const DOCUMENT_TITLE = "Orchestration Smoke";
const WAKE_REASON = "plugin:orchestration_smoke";
const WAKE_CONTEXT_SOURCE = "plugin-orchestration-smoke";
const HEALTH_SURFACES = ["database", "scoped-api-route", "orchestration-apis"];

/** The plugin's table, qualified with the namespace the host handed to this worker. */
function smokeRunsTable(ctx) {
  return `${ctx.db.namespace}.smoke_runs`;
}

function nonBlankString(value) {
  return typeof value === "string" && value.trim() !== "" ? value : undefined;
}

/** Host actor fields for mutations; absent values are sent as explicit nulls. */
function mutationActor(actor) {
  return {
    actorAgentId: actor?.agentId ?? null,
    actorUserId: actor?.userId ?? null,
    actorRunId: actor?.runId ?? null,
  };
}

async function runSmoke(ctx, { companyId, issueId, assigneeAgentId, actor }) {
  // 1. the root issue, which must belong to the company
  const root = await ctx.issues.get(issueId, companyId);
  if (!root) {
    throw new Error(`Issue not found: ${issueId}`);
  }
  const rootId = root.id;
  const billingCode = `plugin-smoke:${rootId}`;

  // 2. a blocker that is already done, so it never prevents the wakeup
  const blocker = await ctx.issues.create({
    companyId,
    parentId: rootId,
    inheritExecutionWorkspaceFromIssueId: rootId,
    title: "Orchestration smoke blocker",
    description: "Already-done blocker of the smoke child; it lets the smoke check relation writes while the child stays wakeable.",
    status: "done",
    priority: "low",
    billingCode,
    originKind: `plugin:${PLUGIN_KEY}:blocker`,
    originId: `${rootId}:blocker`,
    actor,
  });

  // 3. the child, assigned to the requested agent or to the root's assignee
  const assignee = nonBlankString(assigneeAgentId) ?? root.assigneeAgentId ?? undefined;
  const child = await ctx.issues.create({
    companyId,
    parentId: rootId,
    inheritExecutionWorkspaceFromIssueId: rootId,
    title: "Orchestration smoke child",
    description: "Created by the conformance smoke plugin; it carries the smoke document, the blocker relation and the wakeup.",
    status: "todo",
    priority: "medium",
    ...(assignee ? { assigneeAgentId: assignee } : {}),
    billingCode,
    originKind: `plugin:${PLUGIN_KEY}:child`,
    originId: `${rootId}:child`,
    blockedByIssueIds: [blocker.id],
    actor,
  });

  // 4. the blocker relation, written explicitly as well
  await ctx.issues.relations.setBlockedBy(child.id, [blocker.id], companyId, actor);

  // 5. the smoke document on the child
  await ctx.issues.documents.upsert({
    issueId: child.id,
    key: DOCUMENT_KEY,
    body: [
      `# ${DOCUMENT_TITLE}`,
      "",
      `- Root issue: ${rootId}`,
      `- Child issue: ${child.id}`,
      `- Billing code: ${billingCode}`,
    ].join("\n"),
    companyId,
    title: DOCUMENT_TITLE,
    format: "markdown",
    changeSummary: "Recorded orchestration smoke output",
  });

  // 6. wake the child's assignee (fails when the child has none)
  const wakeup = await ctx.issues.requestWakeup(child.id, companyId, {
    reason: WAKE_REASON,
    contextSource: WAKE_CONTEXT_SOURCE,
    idempotencyKey: `${rootId}:child`,
    ...actor,
  });
  const wakeupQueued = Boolean(wakeup?.queued);

  // 7. the orchestration summary of the root's subtree
  const orchestration = await ctx.issues.summaries.getOrchestration({
    issueId: rootId,
    companyId,
    includeSubtree: true,
    billingCode,
  });
  const subtreeIssueIds = orchestration.subtreeIssueIds;

  // 8. one new row per smoke run in the plugin's own table
  const table = smokeRunsTable(ctx);
  await ctx.db.execute(
    `INSERT INTO ${table} (id, root_issue_id, child_issue_id, blocker_issue_id, billing_code, last_summary)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb)
     ON CONFLICT (id) DO UPDATE SET
       child_issue_id = EXCLUDED.child_issue_id,
       blocker_issue_id = EXCLUDED.blocker_issue_id,
       billing_code = EXCLUDED.billing_code,
       last_summary = EXCLUDED.last_summary,
       updated_at = now()`,
    [
      randomUUID(),
      rootId,
      child.id,
      blocker.id,
      billingCode,
      JSON.stringify({ childIssueId: child.id, blockerIssueId: blocker.id, wakeupQueued, subtreeIssueIds }),
    ],
  );

  // 9. read the rows back joined to the core issues table
  const joinedRows = await ctx.db.query(
    `SELECT s.id, s.billing_code, i.title AS root_title
     FROM ${table} s
     JOIN public.issues i ON i.id = s.root_issue_id
     WHERE s.root_issue_id = $1
     ORDER BY s.created_at, s.id`,
    [rootId],
  );

  return {
    rootIssueId: rootId,
    childIssueId: child.id,
    blockerIssueId: blocker.id,
    billingCode,
    joinedRows,
    subtreeIssueIds,
    wakeupQueued,
  };
}

/** The stored smoke of a root issue (its first run), or null when there is none. */
async function readSmokeSummary(ctx, companyId, issueId) {
  const rows = await ctx.db.query(
    `SELECT s.root_issue_id, s.child_issue_id, s.blocker_issue_id, s.billing_code,
            i.title AS issue_title, s.last_summary
     FROM ${smokeRunsTable(ctx)} s
     JOIN public.issues i ON i.id = s.root_issue_id
     WHERE s.root_issue_id = $1
     ORDER BY s.created_at, s.id`,
    [issueId],
  );
  const first = rows[0];
  if (!first) {
    return null;
  }
  const orchestration = await ctx.issues.summaries.getOrchestration({
    issueId,
    companyId,
    includeSubtree: true,
    billingCode: first.billing_code,
  });
  return {
    rootIssueId: first.root_issue_id,
    childIssueId: first.child_issue_id,
    blockerIssueId: first.blocker_issue_id,
    billingCode: first.billing_code,
    joinedRows: rows,
    subtreeIssueIds: orchestration.subtreeIssueIds,
    wakeupQueued: Boolean(first.last_summary?.wakeupQueued),
  };
}

let context = null;

const plugin = definePlugin({
  async setup(ctx) {
    context = ctx;

    ctx.data.register("surface-status", async (params) => {
      const companyId = nonBlankString(params?.companyId);
      const issueId = nonBlankString(params?.issueId);
      return {
        status: "ok",
        checkedAt: new Date().toISOString(),
        databaseNamespace: ctx.db.namespace,
        routeKeys: ROUTE_KEYS,
        capabilities: manifest.capabilities,
        ...(companyId && issueId ? { summary: await readSmokeSummary(ctx, companyId, issueId) } : {}),
      };
    });

    // Bridge probes: they answer with exactly what the host's getData and
    // performAction calls handed to them, so the ui-bridge scenarios can
    // check the params, company and actor a UI request turns into.
    ctx.data.register("bridge-echo", async (params) => ({ key: "bridge-echo", params: params ?? null }));

    ctx.actions.register("bridge-echo", async (params, actionContext) => ({
      key: "bridge-echo",
      params: params ?? null,
      actor: actionContext?.actor ?? null,
      companyId: actionContext?.companyId ?? null,
    }));

    ctx.actions.register("initialize-smoke", async (params, actionContext) => {
      const companyId = nonBlankString(params?.companyId);
      const issueId = nonBlankString(params?.issueId);
      if (!companyId || !issueId) {
        throw new Error("companyId and issueId are required");
      }
      return runSmoke(ctx, {
        companyId,
        issueId,
        assigneeAgentId: params.assigneeAgentId,
        actor: mutationActor(actionContext?.actor),
      });
    });
  },

  async onHealth() {
    return {
      status: "ok",
      message: "Conformance orchestration smoke worker is up",
      details: {
        pluginKey: PLUGIN_KEY,
        databaseNamespace: context?.db.namespace ?? null,
        routeKeys: ROUTE_KEYS,
        surfaces: HEALTH_SURFACES,
      },
    };
  },

  async onApiRequest(input) {
    const ctx = context;
    switch (input.routeKey) {
      case "initialize": {
        const body = input.body && typeof input.body === "object" ? input.body : {};
        const result = await runSmoke(ctx, {
          companyId: input.companyId,
          issueId: input.params.issueId,
          assigneeAgentId: body.assigneeAgentId,
          actor: mutationActor(input.actor),
        });
        return { status: 201, body: result };
      }
      case "summary": {
        const summary = await readSmokeSummary(ctx, input.companyId, input.params.issueId);
        return { body: summary ?? null };
      }
      default:
        return { status: 404, body: { error: `Unknown orchestration smoke route: ${input.routeKey}` } };
    }
  },
});

export default plugin;

runWorker(plugin, import.meta.url);

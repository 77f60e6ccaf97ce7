// Worker of the conformance scope-probe plugin (plain ESM, runs as-is under node).
//
// Both routes are called by an actor of company A about an issue of company A
// (the host resolves the request company from the `issueId` route param). The
// worker then deliberately asks the host services about company B's entities,
// whose ids the suite supplies, and reports every attempt instead of throwing:
//
//   outcome "allowed" - the call returned a non-null, non-empty result
//   outcome "empty"   - the call returned null, undefined or []
//   outcome "denied"  - the call threw (message and JSON-RPC code recorded)
//
// Every attempt runs in its own try/catch, so one refusal never hides the next.

import { randomUUID } from "node:crypto";
import { AsyncResource } from "node:async_hooks";
import { definePlugin, runWorker } from "@paperclipai/plugin-sdk";
import manifest from "./manifest.js";

const PLUGIN_KEY = manifest.id;
const ROUTE_KEYS = manifest.apiRoutes.map((route) => route.routeKey);
const DEFAULT_DOCUMENT_KEY = "scope-probe";
const PROBE_BILLING_CODE = "scope-probe";
const PROBE_MARK = "scope-probe";
const MAX_LISTED_IDS = 10;
const MAX_MESSAGE_CHARS = 2000;
const DEFAULT_DEFERRED_DELAY_MS = 1500;
const MAX_DEFERRED_DELAY_MS = 30000;

function nonBlankString(value) {
  if (Array.isArray(value)) {
    return nonBlankString(value[0]);
  }
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}

/** Host actor fields for mutations; absent values are sent as explicit nulls. */
function mutationActor(actor) {
  return {
    actorAgentId: actor?.agentId ?? null,
    actorUserId: actor?.userId ?? null,
    actorRunId: actor?.runId ?? null,
  };
}

function companyOf(item) {
  if (!item || typeof item !== "object") {
    return undefined;
  }
  return item.companyId ?? item.company_id ?? undefined;
}

function countOf(value) {
  return Array.isArray(value) ? value.length : undefined;
}

/** A small, id-level summary of whatever a host call returned. */
function summarize(value, probe) {
  if (value === null || value === undefined) {
    return { outcome: "empty", result: null };
  }
  if (Array.isArray(value)) {
    if (value.length === 0) {
      return { outcome: "empty", result: { count: 0 } };
    }
    const ids = value.map((item) => (item && typeof item === "object" ? item.id : item));
    const companyIds = [...new Set(value.map(companyOf).filter((id) => id !== undefined))];
    return {
      outcome: "allowed",
      result: {
        count: value.length,
        ids: ids.slice(0, MAX_LISTED_IDS),
        companyIds,
        includesTargetIssue: ids.includes(probe.targetIssueId),
        includesTargetCompany: companyIds.includes(probe.targetCompanyId) || ids.includes(probe.targetCompanyId),
        includesRequestCompany: companyIds.includes(probe.requestCompanyId) || ids.includes(probe.requestCompanyId),
      },
    };
  }
  if (typeof value !== "object") {
    return { outcome: "allowed", result: { value } };
  }
  const result = {};
  for (const key of [
    "id",
    "companyId",
    "identifier",
    "issueId",
    "rootIssueId",
    "parentId",
    "key",
    "name",
    "status",
    "billingCode",
    "originKind",
    "createdByAgentId",
    "createdByUserId",
    "authorAgentId",
    "authorUserId",
    "latestRevisionNumber",
    "queued",
    "runId",
    "rowCount",
  ]) {
    if (value[key] !== undefined) {
      result[key] = value[key];
    }
  }
  for (const key of ["issueIds", "subtreeIssueIds", "blockedBy", "blocks", "runs"]) {
    const count = countOf(value[key]);
    if (count !== undefined) {
      result[`${key}Count`] = count;
    }
  }
  if (Array.isArray(value.blockedBy)) {
    result.blockedByIds = value.blockedBy.map((issue) => issue?.id).slice(0, MAX_LISTED_IDS);
  }
  return { outcome: "allowed", result };
}

function describeError(error) {
  const message = error instanceof Error ? error.message : String(error);
  const described = {
    message: message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS)}…` : message,
  };
  if (error && typeof error === "object") {
    if (error.code !== undefined) {
      described.code = error.code;
    }
    if (typeof error.name === "string" && error.name !== "Error") {
      described.name = error.name;
    }
    if (error.data !== undefined) {
      described.data = error.data;
    }
  }
  return described;
}

/**
 * Runs `fn` in the async context captured when the worker started (inside the
 * host's `initialize` request, which carries no invocation scope), so the SDK
 * sends the nested host calls without a `paperclipInvocationId`.
 */
let runUnscoped = (fn) => fn();

/** Runs one attempt; never throws. */
async function attempt(attempts, probe, { name, call, params }, run) {
  const entry = { name, call, params, outcome: "denied", result: null, error: null };
  try {
    const value = await run();
    const { outcome, result } = summarize(value, probe);
    entry.outcome = outcome;
    entry.result = result;
  } catch (error) {
    entry.outcome = "denied";
    entry.error = describeError(error);
  }
  attempts.push(entry);
  return entry;
}

/** The read-only attempts (both routes). */
async function readAttempts(ctx, probe, attempts) {
  const A = probe.requestCompanyId;
  const B = probe.targetCompanyId;
  const ownIssue = probe.requestIssueId;
  const targetIssue = probe.targetIssueId;

  // control: the request's own issue in the request's own company
  await attempt(
    attempts,
    probe,
    { name: "control.issues.get-own", call: "issues.get", params: { issueId: ownIssue, companyId: A } },
    () => ctx.issues.get(ownIssue, A),
  );

  // 1. B's issue, passing B's company id
  await attempt(
    attempts,
    probe,
    { name: "issues.get.target-company", call: "issues.get", params: { issueId: targetIssue, companyId: B } },
    () => ctx.issues.get(targetIssue, B),
  );

  // 2. B's issue, passing the request's company id (A)
  await attempt(
    attempts,
    probe,
    { name: "issues.get.request-company", call: "issues.get", params: { issueId: targetIssue, companyId: A } },
    () => ctx.issues.get(targetIssue, A),
  );

  // 3. the issue list of company B
  await attempt(
    attempts,
    probe,
    { name: "issues.list.target-company", call: "issues.list", params: { companyId: B } },
    () => ctx.issues.list({ companyId: B, limit: 100 }),
  );

  // 6. relations of B's issue
  await attempt(
    attempts,
    probe,
    { name: "issues.relations.get.target-company", call: "issues.relations.get", params: { issueId: targetIssue, companyId: B } },
    () => ctx.issues.relations.get(targetIssue, B),
  );

  // 9. orchestration summary of B's issue
  await attempt(
    attempts,
    probe,
    {
      name: "issues.summaries.getOrchestration.target-company",
      call: "issues.summaries.getOrchestration",
      params: { issueId: targetIssue, companyId: B },
    },
    () => ctx.issues.summaries.getOrchestration({ issueId: targetIssue, companyId: B, includeSubtree: true }),
  );

  // extra reads covered by the declared capabilities
  await attempt(
    attempts,
    probe,
    { name: "issues.getSubtree.target-company", call: "issues.getSubtree", params: { issueId: targetIssue, companyId: B } },
    () => ctx.issues.getSubtree(targetIssue, B, { includeRoot: true }),
  );
  await attempt(
    attempts,
    probe,
    { name: "issues.listComments.target-company", call: "issues.listComments", params: { issueId: targetIssue, companyId: B } },
    () => ctx.issues.listComments(targetIssue, B),
  );
  await attempt(
    attempts,
    probe,
    { name: "issues.documents.list.target-company", call: "issues.documents.list", params: { issueId: targetIssue, companyId: B } },
    () => ctx.issues.documents.list(targetIssue, B),
  );

  // 10. companies and agents
  await attempt(
    attempts,
    probe,
    { name: "companies.list", call: "companies.list", params: {} },
    () => ctx.companies.list({ limit: 100 }),
  );
  await attempt(
    attempts,
    probe,
    { name: "companies.get.target-company", call: "companies.get", params: { companyId: B } },
    () => ctx.companies.get(B),
  );
  await attempt(
    attempts,
    probe,
    { name: "agents.list.target-company", call: "agents.list", params: { companyId: B } },
    () => ctx.agents.list({ companyId: B, limit: 100 }),
  );
  if (probe.targetAgentId) {
    await attempt(
      attempts,
      probe,
      { name: "agents.get.target-company", call: "agents.get", params: { agentId: probe.targetAgentId, companyId: B } },
      () => ctx.agents.get(probe.targetAgentId, B),
    );
  }

  // 11. raw SQL over the whitelisted core table, filtered to company B
  await attempt(
    attempts,
    probe,
    { name: "db.query.public-issues.target-company", call: "db.query", params: { companyId: B } },
    () => ctx.db.query("SELECT id, company_id FROM public.issues WHERE company_id = $1", [B]),
  );

  // 13. B's issue from an async context without the request's invocation id
  //     (the call is made while the request's invocation is still active)
  await attempt(
    attempts,
    probe,
    { name: "unscoped.issues.get.target-company", call: "issues.get", params: { issueId: targetIssue, companyId: B } },
    () => runUnscoped(() => ctx.issues.get(targetIssue, B)),
  );
}

/** The mutating attempts (POST route only). */
async function writeAttempts(ctx, probe, attempts, actor) {
  const A = probe.requestCompanyId;
  const B = probe.targetCompanyId;
  const ownIssue = probe.requestIssueId;
  const targetIssue = probe.targetIssueId;
  const documentKey = probe.documentKey;

  // 15. a write to a core table through raw SQL: the host must refuse any
  //     ctx.db.execute target outside the plugin's namespace, whatever the company
  await attempt(
    attempts,
    probe,
    { name: "db.execute.public-issues.target-company", call: "db.execute", params: { issueId: targetIssue } },
    () => ctx.db.execute("UPDATE public.issues SET billing_code = $1 WHERE id = $2", ["scope-probe-sql", targetIssue]),
  );

  // 4. a new issue in company B
  await attempt(
    attempts,
    probe,
    { name: "issues.create.target-company", call: "issues.create", params: { companyId: B } },
    () =>
      ctx.issues.create({
        companyId: B,
        title: "scope-probe cross-company create",
        description: `Created by ${PLUGIN_KEY} during a request of company ${A}.`,
        status: "backlog",
        billingCode: PROBE_BILLING_CODE,
        originId: `${PROBE_MARK}:${probe.runId}:create`,
        actor,
      }),
  );

  // 5. a harmless, observable patch of B's issue
  await attempt(
    attempts,
    probe,
    {
      name: "issues.update.target-company",
      call: "issues.update",
      params: { issueId: targetIssue, companyId: B, patch: { billingCode: PROBE_BILLING_CODE } },
    },
    () => ctx.issues.update(targetIssue, { billingCode: PROBE_BILLING_CODE }, B, actor),
  );

  // 7. a document on B's issue
  await attempt(
    attempts,
    probe,
    {
      name: "issues.documents.upsert.target-company",
      call: "issues.documents.upsert",
      params: { issueId: targetIssue, companyId: B, key: documentKey },
    },
    () =>
      ctx.issues.documents.upsert({
        issueId: targetIssue,
        key: documentKey,
        body: `# Scope probe\n\nWritten by ${PLUGIN_KEY} during a request of company ${A} (probe ${probe.runId}).`,
        companyId: B,
        title: "Scope probe",
        format: "markdown",
        changeSummary: "scope-probe cross-company document write",
      }),
  );

  // 8. a comment on B's issue
  await attempt(
    attempts,
    probe,
    {
      name: "issues.createComment.target-company",
      call: "issues.createComment",
      params: { issueId: targetIssue, companyId: B, authorAgentId: actor.actorAgentId },
    },
    () =>
      ctx.issues.createComment(
        targetIssue,
        `scope-probe cross-company comment (request company ${A}, probe ${probe.runId})`,
        B,
        actor.actorAgentId ? { authorAgentId: actor.actorAgentId } : undefined,
      ),
  );

  // 14. the same harmless patch of B's issue, sent without the request's invocation id
  await attempt(
    attempts,
    probe,
    {
      name: "unscoped.issues.update.target-company",
      call: "issues.update",
      params: { issueId: targetIssue, companyId: B, patch: { billingCode: `${PROBE_BILLING_CODE}-unscoped` } },
    },
    () => runUnscoped(() => ctx.issues.update(targetIssue, { billingCode: `${PROBE_BILLING_CODE}-unscoped` }, B, actor)),
  );

  // optional: wake the assignee of B's issue (only when the body asks for it)
  if (probe.wakeup) {
    await attempt(
      attempts,
      probe,
      { name: "issues.requestWakeup.target-company", call: "issues.requestWakeup", params: { issueId: targetIssue, companyId: B } },
      () =>
        ctx.issues.requestWakeup(targetIssue, B, {
          reason: "plugin:scope_probe",
          contextSource: "plugin-scope-probe",
          idempotencyKey: `${PROBE_MARK}:${probe.runId}`,
          ...actor,
        }),
    );
  }

  // 12a. an issue of company A under B's issue
  await attempt(
    attempts,
    probe,
    {
      name: "issues.create.cross-company-parent",
      call: "issues.create",
      params: { companyId: A, parentId: targetIssue },
    },
    () =>
      ctx.issues.create({
        companyId: A,
        parentId: targetIssue,
        title: "scope-probe cross-company parent",
        status: "backlog",
        billingCode: PROBE_BILLING_CODE,
        originId: `${PROBE_MARK}:${probe.runId}:parent`,
        actor,
      }),
  );

  // 12b. an issue of company A blocked by B's issue
  await attempt(
    attempts,
    probe,
    {
      name: "issues.create.cross-company-blocker",
      call: "issues.create",
      params: { companyId: A, blockedByIssueIds: [targetIssue] },
    },
    () =>
      ctx.issues.create({
        companyId: A,
        title: "scope-probe cross-company blocker",
        status: "backlog",
        billingCode: PROBE_BILLING_CODE,
        originId: `${PROBE_MARK}:${probe.runId}:blocker`,
        blockedByIssueIds: [targetIssue],
        actor,
      }),
  );

  // 12c. B's issue added as a blocker of the request's own issue
  await attempt(
    attempts,
    probe,
    {
      name: "issues.relations.addBlockers.cross-company",
      call: "issues.relations.addBlockers",
      params: { issueId: ownIssue, companyId: A, blockerIssueIds: [targetIssue] },
    },
    () => ctx.issues.relations.addBlockers(ownIssue, [targetIssue], A, actor),
  );
}

/** control: one row in the plugin's own table, recording this probe's outcomes. */
async function recordRun(ctx, probe, attempts) {
  const outcomes = Object.fromEntries(attempts.map((entry) => [entry.name, entry.outcome]));
  await attempt(
    attempts,
    probe,
    { name: "control.db.execute.own-namespace", call: "db.execute", params: { id: probe.runId } },
    () =>
      ctx.db.execute(
        `INSERT INTO ${ctx.db.namespace}.probe_runs
           (id, route_key, request_company_id, target_company_id, target_issue_id, outcomes)
         VALUES ($1, $2, $3, $4, $5, $6::jsonb)`,
        [
          probe.runId,
          probe.routeKey,
          probe.requestCompanyId,
          probe.targetCompanyId,
          probe.targetIssueId,
          JSON.stringify(outcomes),
        ],
      ),
  );
}

/**
 * Opt-in (`deferred: true`): after the response has been sent, repeat a read
 * and two writes against company B from the unscoped context, i.e. when no
 * invocation of this worker is active any more, and store the attempts in the
 * plugin's own table (route_key "probe-deferred"); GET .../probe lists them.
 */
function scheduleDeferred(ctx, probe, actor) {
  runUnscoped(() => {
    setTimeout(async () => {
      const B = probe.targetCompanyId;
      const targetIssue = probe.targetIssueId;
      const attempts = [];
      await attempt(
        attempts,
        probe,
        { name: "deferred.issues.get.target-company", call: "issues.get", params: { issueId: targetIssue, companyId: B } },
        () => ctx.issues.get(targetIssue, B),
      );
      await attempt(
        attempts,
        probe,
        {
          name: "deferred.issues.update.target-company",
          call: "issues.update",
          params: { issueId: targetIssue, companyId: B, patch: { billingCode: `${PROBE_BILLING_CODE}-deferred` } },
        },
        () => ctx.issues.update(targetIssue, { billingCode: `${PROBE_BILLING_CODE}-deferred` }, B, actor),
      );
      await attempt(
        attempts,
        probe,
        { name: "deferred.issues.create.target-company", call: "issues.create", params: { companyId: B } },
        () =>
          ctx.issues.create({
            companyId: B,
            title: "scope-probe deferred cross-company create",
            description: `Created by ${PLUGIN_KEY} after a request of company ${probe.requestCompanyId} had finished.`,
            status: "backlog",
            billingCode: `${PROBE_BILLING_CODE}-deferred`,
            originId: `${PROBE_MARK}:${probe.runId}:deferred`,
            actor,
          }),
      );
      try {
        await ctx.db.execute(
          `INSERT INTO ${ctx.db.namespace}.probe_runs
             (id, route_key, request_company_id, target_company_id, target_issue_id, outcomes)
           VALUES ($1, $2, $3, $4, $5, $6::jsonb)`,
          [
            randomUUID(),
            "probe-deferred",
            probe.requestCompanyId,
            probe.targetCompanyId,
            probe.targetIssueId,
            JSON.stringify({ probeId: probe.runId, attempts }),
          ],
        );
      } catch (error) {
        ctx.logger.warn(`scope-probe: could not store deferred attempts: ${describeError(error).message}`);
      }
    }, probe.deferredDelayMs);
  });
}

/** Deferred attempts stored for probes of the request's company (own table only). */
async function readDeferred(ctx, probe) {
  try {
    const rows = await ctx.db.query(
      `SELECT target_issue_id, outcomes, created_at
       FROM ${ctx.db.namespace}.probe_runs
       WHERE route_key = 'probe-deferred' AND request_company_id = $1
       ORDER BY created_at`,
      [probe.requestCompanyId],
    );
    return rows.map((row) => ({
      probeId: row.outcomes?.probeId ?? null,
      targetIssueId: row.target_issue_id,
      recordedAt: row.created_at,
      attempts: row.outcomes?.attempts ?? [],
    }));
  } catch (error) {
    return { error: describeError(error) };
  }
}

function probeTargets(input) {
  const source = input.routeKey === "probe" ? (input.body && typeof input.body === "object" ? input.body : {}) : input.query ?? {};
  return {
    targetCompanyId: nonBlankString(source.targetCompanyId),
    targetIssueId: nonBlankString(source.targetIssueId),
    targetAgentId: nonBlankString(source.targetAgentId),
    documentKey: nonBlankString(source.documentKey) ?? DEFAULT_DOCUMENT_KEY,
    wakeup: source.wakeup === true || source.wakeup === "true",
    deferred: input.routeKey === "probe" && (source.deferred === true || source.deferredOnly === true),
    // Only the deferred batch: no attempt inside the request, so nothing but
    // the batch itself talks to the host about the target company.
    deferredOnly: input.routeKey === "probe" && source.deferredOnly === true,
    deferredDelayMs: Math.min(
      Math.max(Number.isInteger(source.deferredDelayMs) ? source.deferredDelayMs : DEFAULT_DEFERRED_DELAY_MS, 0),
      MAX_DEFERRED_DELAY_MS,
    ),
  };
}

async function runProbe(ctx, input) {
  const targets = probeTargets(input);
  if (!targets.targetCompanyId || !targets.targetIssueId) {
    return { status: 400, body: { error: "targetCompanyId and targetIssueId are required" } };
  }
  const probe = {
    runId: randomUUID(),
    routeKey: input.routeKey,
    requestCompanyId: input.companyId,
    requestIssueId: input.params?.issueId,
    ...targets,
  };
  const attempts = [];
  if (!probe.deferredOnly) {
    await readAttempts(ctx, probe, attempts);
    if (input.routeKey === "probe") {
      await writeAttempts(ctx, probe, attempts, mutationActor(input.actor));
    }
    await recordRun(ctx, probe, attempts);
  }
  if (probe.deferred) {
    scheduleDeferred(ctx, probe, mutationActor(input.actor));
  }
  return {
    status: 200,
    body: {
      pluginKey: PLUGIN_KEY,
      routeKey: input.routeKey,
      probeId: probe.runId,
      requestCompanyId: input.companyId,
      requestIssueId: probe.requestIssueId,
      targetCompanyId: probe.targetCompanyId,
      targetIssueId: probe.targetIssueId,
      targetAgentId: probe.targetAgentId ?? null,
      actor: input.actor,
      attempts,
      ...(probe.deferred ? { deferredScheduledInMs: probe.deferredDelayMs } : {}),
      ...(input.routeKey === "probe-read" ? { deferred: await readDeferred(ctx, probe) } : {}),
    },
  };
}

let context = null;

const plugin = definePlugin({
  async setup(ctx) {
    context = ctx;
    // Bound here, inside the host's initialize request, which has no invocation scope.
    runUnscoped = AsyncResource.bind((fn) => fn());
  },

  async onHealth() {
    return {
      status: "ok",
      message: "Conformance scope probe worker is up",
      details: {
        pluginKey: PLUGIN_KEY,
        databaseNamespace: context?.db.namespace ?? null,
        routeKeys: ROUTE_KEYS,
      },
    };
  },

  async onApiRequest(input) {
    switch (input.routeKey) {
      case "probe":
      case "probe-read":
        return runProbe(context, input);
      default:
        return { status: 404, body: { error: `Unknown scope probe route: ${input.routeKey}` } };
    }
  },
});

export default plugin;

runWorker(plugin, import.meta.url);

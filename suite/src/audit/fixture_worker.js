// Worker of the conformance audit fixture (plain ESM, written into generated
// plugin packages by `conformance audit`).
//
// It speaks the worker protocol itself, through `rpc.js`
// (suite/src/plugin/worker_rpc.js), so that it can make host calls with or
// without the request's invocation id, and answer with any status and
// headers:
//
//   route `call` (POST /call, company from the body):
//     body {calls: [{method, params}], invocation: false?, deferMs: n?, tag: "x"?}
//     → 200 {answers: [{ok: result} | {error: {code, message}}]}
//     `invocation: false` sends the calls without the request's invocation id;
//     `deferMs` runs them that long after the response (no invocation of the
//     worker active) and keeps the answers under `tag`.
//   route `deferred` (GET /deferred?companyId=…&tag=x) → 200 {answers: […] | null}
//   every other route → 200 {received: <the handleApiRequest input>}, or, with
//     the query parameter `respond` = JSON {status, headers, body}, exactly that
//     ({nothing: true}: no answer at all).

import { callHost, serve } from "./rpc.js";

const deferred = new Map();
function runCalls(calls, invocationId) {
  const list = Array.isArray(calls) ? calls : [];
  return Promise.all(
    list.map((c) => callHost(String(c?.method ?? ""), c?.params ?? {}, invocationId)),
  );
}

function requested(input) {
  const raw = input?.query?.respond;
  if (typeof raw !== "string") {
    return undefined;
  }
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

async function handleApiRequest(input, invocationId) {
  const body = input?.body ?? {};
  if (input?.routeKey === "call") {
    const scope = body.invocation === false ? undefined : invocationId;
    if (typeof body.deferMs === "number") {
      const tag = String(body.tag ?? "default");
      deferred.set(tag, null);
      setTimeout(() => {
        runCalls(body.calls, undefined).then((answers) => deferred.set(tag, answers));
      }, Math.min(Math.max(body.deferMs, 0), 30000));
      return { status: 202, body: { scheduled: tag } };
    }
    return { status: 200, body: { answers: await runCalls(body.calls, scope) } };
  }
  if (input?.routeKey === "deferred") {
    return { status: 200, body: { answers: deferred.get(String(input?.query?.tag)) ?? null } };
  }
  const respond = requested(input);
  if (respond === undefined) {
    return { status: 200, body: { received: input } };
  }
  if (respond.nothing === true) {
    return undefined;
  }
  const answer = {};
  for (const field of ["status", "headers", "body"]) {
    if (field in respond) {
      answer[field] = respond[field];
    }
  }
  return answer;
}

serve(handleApiRequest);

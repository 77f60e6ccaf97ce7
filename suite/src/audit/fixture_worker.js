// Worker of the conformance audit fixture (plain ESM, written into generated
// plugin packages by `conformance audit`).
//
// It speaks the worker protocol itself (the SDK's framing helpers, imported
// by file) so that it can make host calls with or without the request's
// invocation id, and answer with any status and headers:
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

import { createInterface } from "node:readline";
import {
  createErrorResponse,
  createSuccessResponse,
  parseMessage,
  serializeMessage,
} from "./node_modules/@paperclipai/plugin-sdk/dist/protocol.js";

const CALL_TIMEOUT_MS = 10000;
const pending = new Map();
const deferred = new Map();
let nextId = 1;

function send(message) {
  process.stdout.write(serializeMessage(message));
}

function callHost(method, params, invocationId) {
  const id = nextId++;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      pending.delete(id);
      resolve({ error: { code: -32003, message: `no answer within ${CALL_TIMEOUT_MS}ms` } });
    }, CALL_TIMEOUT_MS);
    pending.set(id, (response) => {
      clearTimeout(timer);
      resolve(
        "error" in response
          ? { error: { code: response.error.code, message: response.error.message } }
          : { ok: response.result ?? null },
      );
    });
    send({
      jsonrpc: "2.0",
      id,
      method,
      params,
      ...(invocationId ? { paperclipInvocationId: invocationId } : {}),
    });
  });
}

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

async function handleRequest(message) {
  const invocationId = message.paperclipInvocation?.id;
  switch (message.method) {
    case "initialize":
      return { ok: true, supportedMethods: ["health", "handleApiRequest"] };
    case "health":
      return { status: "ok" };
    case "shutdown":
      setImmediate(() => process.exit(0));
      return null;
    case "handleApiRequest":
      return handleApiRequest(message.params, invocationId);
    default: {
      const error = new Error(`Unknown method: ${message.method}`);
      error.code = -32601;
      throw error;
    }
  }
}

createInterface({ input: process.stdin }).on("line", (line) => {
  if (!line.trim()) {
    return;
  }
  let message;
  try {
    message = parseMessage(line);
  } catch {
    return;
  }
  if (typeof message.method === "string" && message.id !== undefined && message.id !== null) {
    handleRequest(message).then(
      (result) => send(createSuccessResponse(message.id, result ?? null)),
      (err) => send(createErrorResponse(message.id, err.code ?? -32002, err.message)),
    );
  } else if (message.id !== undefined && ("result" in message || "error" in message)) {
    const settle = pending.get(message.id);
    pending.delete(message.id);
    settle?.(message);
  }
});
process.stdin.on("end", () => process.exit(0));

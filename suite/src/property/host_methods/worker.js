// Worker of the conformance host-call fixture (plain ESM, written into the
// generated plugin packages of the suite's `host-methods` check).
//
// Its one scoped route runs worker→host calls by their raw JSON-RPC method
// name inside the request's invocation and answers what the host said:
//
//   body {method, params}        → 200 {ok: result} or 200 {error: {code, message}}
//   body {calls: [{method, params}, …]} → 200 {answers: [<one of the above>, …]}
//     (all at once; with "sequential": true one after the other)
//
// The SDK's plugin API only reaches the methods it wraps, with the params it
// builds, so this worker speaks the protocol itself: the SDK's own framing
// helpers (imported by file, which also keeps the start cheap), the
// invocation id echoed on every nested call as the SDK's runtime does.

import { createInterface } from "node:readline";
import {
  createErrorResponse,
  createSuccessResponse,
  parseMessage,
  serializeMessage,
} from "./node_modules/@paperclipai/plugin-sdk/dist/protocol.js";

// Longer than any host answer should take, shorter than the route's own
// timeout, so a hung host method shows as an answer instead of a 502.
const CALL_TIMEOUT_MS = 10000;

const pending = new Map();
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

async function handleApiRequest(input, invocationId) {
  const body = input?.body ?? {};
  const one = (call) => callHost(String(call?.method ?? ""), call?.params ?? {}, invocationId);
  if (Array.isArray(body.calls) && body.sequential === true) {
    // One after the other, for calls that depend on the ones before
    // (the host-services check creates issues and then works on them).
    const answers = [];
    for (const call of body.calls) {
      answers.push(await one(call));
    }
    return { status: 200, body: { answers } };
  }
  if (Array.isArray(body.calls)) {
    return { status: 200, body: { answers: await Promise.all(body.calls.map(one)) } };
  }
  return { status: 200, body: await one(body) };
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

// The worker protocol's stdio loop, shared by the suite's fixture workers
// that make raw host calls (written as `rpc.js` beside their `worker.js`).
//
// The SDK's plugin API only reaches the methods it wraps, with the params it
// builds, so these workers speak the protocol themselves: the SDK's own
// framing helpers (imported by file, which also keeps the start cheap), the
// invocation id echoed on every nested call as the SDK's runtime does.
//
//   callHost(method, params, invocationId?) → {ok: result} | {error: {code, message}}
//   serve(handleApiRequest)  answers initialize, health, shutdown and
//     handleApiRequest(params, invocationId) until stdin ends.

import { createInterface } from "node:readline";
import {
  createErrorResponse,
  createSuccessResponse,
  parseMessage,
  serializeMessage,
} from "./node_modules/@paperclipai/plugin-sdk/dist/protocol.js";

// Longer than any host answer should take, shorter than the route's own
// timeout (30 s), so a hung host method shows as an answer instead of a
// 502. A loaded host is slow, not hung: 2026.916.1 on two cores, serving
// every property of a run at once, once took over 10 s to answer a batch's
// issues.requestWakeups, so the margin is wide.
const CALL_TIMEOUT_MS = 25000;

const pending = new Map();
let nextId = 1;

function send(message) {
  process.stdout.write(serializeMessage(message));
}

export function callHost(method, params, invocationId) {
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

export function serve(handleApiRequest) {
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
}

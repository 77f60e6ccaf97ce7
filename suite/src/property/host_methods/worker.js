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
// builds, so this worker speaks the protocol itself, through `rpc.js`
// (suite/src/plugin/worker_rpc.js).

import { callHost, serve } from "./rpc.js";

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

serve(handleApiRequest);

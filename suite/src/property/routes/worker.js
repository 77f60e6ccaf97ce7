// Worker of the conformance route-matrix fixture (plain ESM, written into a
// generated plugin package by the suite's `routes` property).
//
// Every route answers 200 {"received": <the handleApiRequest input>}, exactly
// as the host handed it over, so the suite can compare what reached the
// plugin with its model. The host forwards only a few request headers, so a
// request asks for another answer through the query parameter `respond`, a
// JSON object:
//
//   {"status": 201, "headers": {...}, "body": ...}  answer exactly that
//   {"throw": "message", "code": -32001}            throw (code optional)
//   {"nothing": true}                               return undefined

import { definePlugin, runWorker } from "@paperclipai/plugin-sdk";

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

const plugin = definePlugin({
  async setup() {},

  async onApiRequest(input) {
    const respond = requested(input);
    if (respond === undefined) {
      return { status: 200, body: { received: input } };
    }
    if (typeof respond.throw === "string") {
      const error = new Error(respond.throw);
      if (typeof respond.code === "number") {
        error.code = respond.code;
      }
      throw error;
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
  },
});

export default plugin;

runWorker(plugin, import.meta.url);

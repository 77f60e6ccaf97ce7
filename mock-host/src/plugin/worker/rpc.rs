//! JSON-RPC 2.0 over the worker's stdio (contract-db-worker.md B1): one
//! message per line, classified as response, request or notification;
//! worker→host requests are served concurrently (also while `initialize`
//! is pending) and host→worker calls wait for their answer or a timeout.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::oneshot;

use super::WorkerHandle;
use crate::config::Defect;
use crate::error::{rpc_code, Error, Result};
use crate::plugin::host_services;
use crate::plugin::invocation::ScopeContext;

impl WorkerHandle {
    /// Queues one message for the worker's stdin; `false` once it is gone.
    fn send(&self, msg: &Value) -> bool {
        let g = self.lock();
        match &g.stdin {
            Some(tx) => tx.send(format!("{msg}\n")).is_ok(),
            None => false,
        }
    }

    /// One line from the worker's stdout.
    pub(super) fn on_line(self: &Arc<Self>, line: &str) {
        let line = line.trim();
        if line.is_empty() {
            return;
        }
        let Ok(msg) = serde_json::from_str::<Value>(line) else {
            tracing::warn!(plugin = %self.spec.plugin_id, "dropping unparseable worker output: {}", line.chars().take(200).collect::<String>());
            return;
        };
        let Some(obj) = msg.as_object() else { return };
        if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
            return;
        }
        let has_id = obj.contains_key("id");
        if has_id && (obj.contains_key("result") || obj.contains_key("error")) {
            // Ids must keep their JSON type: only numbers match our requests.
            let Some(id) = obj.get("id").and_then(Value::as_u64) else {
                return;
            };
            let tx = self.lock().pending.remove(&id);
            self.invocations.end_request(id);
            if let Some(tx) = tx {
                let res = match obj.get("error") {
                    Some(err) => Err((
                        err.get("code")
                            .and_then(Value::as_i64)
                            .unwrap_or(rpc_code::INTERNAL_ERROR),
                        err.get("message")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                    )),
                    None => Ok(obj.get("result").cloned().unwrap_or(Value::Null)),
                };
                let _ = tx.send(res);
            }
            return;
        }
        let Some(method) = obj.get("method").and_then(Value::as_str).map(String::from) else {
            return;
        };
        let params = obj.get("params").cloned().unwrap_or(Value::Null);
        match obj.get("id") {
            Some(id) if !id.is_null() => {
                let id = id.clone();
                let me = Arc::clone(self);
                // Decided on arrival, as the real host does.
                let scope = match self.invocations.context(&msg) {
                    // Calls outside any invocation are refused as hosts
                    // from 2026.722.0 do (`--plays`), or by defect
                    // unscoped-calls-refused; 2026.707.0 lets them pass.
                    ScopeContext::Unscoped
                        if self.spec.services.plays.unscoped_calls_refused()
                            || self.spec.services.defects.has(Defect::UnscopedCallsRefused) =>
                    {
                        ScopeContext::Outside
                    }
                    scope => scope,
                };
                tokio::spawn(async move {
                    let reply = match host_services::dispatch(
                        &me.spec.services,
                        &method,
                        params,
                        &scope,
                    )
                    .await
                    {
                        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
                        Err((code, message)) => {
                            json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
                        }
                    };
                    me.send(&reply);
                });
            }
            Some(_) => {}
            None => self.on_notification(&method, &params),
        }
    }

    fn on_notification(&self, method: &str, params: &Value) {
        if method == "log" {
            let level = params
                .get("level")
                .and_then(Value::as_str)
                .unwrap_or("info");
            let message = params
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default();
            tracing::info!(plugin = %self.spec.plugin_id, level, "plugin log: {message}");
        }
    }

    /// A host→worker request whatever the worker's status (for
    /// `initialize` and `shutdown`); see [`WorkerHandle::call`].
    pub(super) async fn raw_call(
        &self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value> {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let (tx, rx) = oneshot::channel();
        // A request naming a company opens an invocation scope until this
        // call returns (answer, error, timeout, exit or cancellation).
        let invocation = self.invocations.open(id, method, &params);
        let mut request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        if let Some(inv) = &invocation {
            request["paperclipInvocation"] = inv.envelope();
        }
        self.lock().pending.insert(id, tx);
        let sent = self.send(&request);
        if !sent {
            self.lock().pending.remove(&id);
            return Err(Error::Rpc {
                code: rpc_code::WORKER_UNAVAILABLE,
                message: "Worker process is not available".into(),
            });
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(Ok(v))) => Ok(v),
            Ok(Ok(Err((code, message)))) => Err(Error::Rpc { code, message }),
            Ok(Err(_)) => Err(Error::Rpc {
                code: rpc_code::WORKER_UNAVAILABLE,
                message: "Worker process exited".into(),
            }),
            Err(_) => {
                self.lock().pending.remove(&id);
                Err(Error::Rpc {
                    code: rpc_code::TIMEOUT,
                    message: format!(
                        "RPC call \"{method}\" timed out after {}ms",
                        timeout.as_millis()
                    ),
                })
            }
        }
    }
}

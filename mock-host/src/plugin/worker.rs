//! Plugin worker processes and the JSON-RPC 2.0 protocol over their stdio
//! (contract-db-worker.md B1): newline-delimited messages, requests in both
//! directions at once (worker→host calls are served while `initialize` is
//! still pending), timeouts, crash detection and restart with backoff.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::error::{rpc_code, Error, Result};
use crate::plugin::host_services::{self, ServiceCtx};
use crate::plugin::invocation::Invocations;

/// Default host→worker call timeout.
pub const DEFAULT_RPC_TIMEOUT: Duration = Duration::from_secs(30);
const INITIALIZE_TIMEOUT: Duration = Duration::from_secs(15);
const MAX_CONSECUTIVE_CRASHES: u32 = 10;
const STDERR_TAIL: usize = 8000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Stopped,
    Starting,
    Running,
    Crashed,
    Backoff,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Stopped => "stopped",
            Status::Starting => "starting",
            Status::Running => "running",
            Status::Crashed => "crashed",
            Status::Backoff => "backoff",
        }
    }
}

/// What a worker is started with.
#[derive(Clone)]
pub struct WorkerSpec {
    pub plugin_id: Uuid,
    pub node: PathBuf,
    pub entry: PathBuf,
    /// `initialize` params (re-sent unchanged on restarts).
    pub init_params: Value,
    pub services: ServiceCtx,
}

type Pending = HashMap<u64, oneshot::Sender<std::result::Result<Value, (i64, String)>>>;

struct Inner {
    status: Status,
    generation: u64,
    stopping: bool,
    pid: Option<u32>,
    stdin: Option<mpsc::UnboundedSender<String>>,
    pending: Pending,
    supported_methods: Vec<String>,
    crashes: u32,
    last_crash: Option<Instant>,
    stderr_tail: String,
}

pub struct WorkerHandle {
    spec: WorkerSpec,
    inner: Mutex<Inner>,
    next_id: AtomicU64,
    /// Open invocation scopes of host→worker requests.
    invocations: Invocations,
}

impl WorkerHandle {
    pub fn new(spec: WorkerSpec) -> Arc<Self> {
        Arc::new(WorkerHandle {
            spec,
            inner: Mutex::new(Inner {
                status: Status::Stopped,
                generation: 0,
                stopping: false,
                pid: None,
                stdin: None,
                pending: HashMap::new(),
                supported_methods: Vec::new(),
                crashes: 0,
                last_crash: None,
                stderr_tail: String::new(),
            }),
            next_id: AtomicU64::new(1),
            invocations: Invocations::default(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn status(&self) -> Status {
        self.lock().status
    }

    pub fn is_running(&self) -> bool {
        self.status() == Status::Running
    }

    pub fn supported_methods(&self) -> Vec<String> {
        self.lock().supported_methods.clone()
    }

    pub fn pid(&self) -> Option<u32> {
        self.lock().pid
    }

    /// Spawns the process and runs `initialize`.
    pub async fn start(self: &Arc<Self>) -> Result<()> {
        let generation = {
            let mut g = self.lock();
            g.generation += 1;
            g.status = Status::Starting;
            g.stopping = false;
            g.stderr_tail.clear();
            g.generation
        };
        if let Err(e) = self.spawn(generation) {
            self.lock().status = Status::Stopped;
            return Err(e);
        }
        let params = self.spec.init_params.clone();
        let result = self
            .raw_call("initialize", params, INITIALIZE_TIMEOUT)
            .await;
        let ok = match &result {
            Ok(v) => v
                .get("ok")
                .is_some_and(|o| !matches!(o, Value::Null | Value::Bool(false))),
            Err(_) => false,
        };
        if !ok {
            let msg = match result {
                Ok(v) => format!("initialize returned {v}"),
                Err(e) => e.message(),
            };
            self.kill_now();
            self.lock().status = Status::Stopped;
            return Err(Error::internal(format!(
                "Worker initialize failed for \"{}\": {msg}",
                self.spec.plugin_id
            )));
        }
        let supported: Vec<String> = result
            .ok()
            .and_then(|v| v.get("supportedMethods").cloned())
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();
        let mut g = self.lock();
        if g.generation == generation && g.status == Status::Starting {
            g.status = Status::Running;
            g.supported_methods = supported;
            g.crashes = 0;
        }
        Ok(())
    }

    fn spawn(self: &Arc<Self>, generation: u64) -> Result<()> {
        let mut cmd = Command::new(&self.spec.node);
        cmd.arg(&self.spec.entry)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("NODE_PATH", std::env::var("NODE_PATH").unwrap_or_default())
            .env("PAPERCLIP_PLUGIN_ID", self.spec.plugin_id.to_string())
            .env(
                "NODE_ENV",
                std::env::var("NODE_ENV").unwrap_or_else(|_| "production".into()),
            )
            .env("TZ", std::env::var("TZ").unwrap_or_else(|_| "UTC".into()))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // The worker must not outlive the host, even if the host is killed.
        #[cfg(target_os = "linux")]
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(|e| {
            Error::internal(format!(
                "Failed to spawn worker {}: {e}",
                self.spec.entry.display()
            ))
        })?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        {
            let mut g = self.lock();
            g.pid = child.id();
            g.stdin = Some(tx);
        }
        if let Some(mut stdin) = stdin {
            tokio::spawn(async move {
                while let Some(line) = rx.recv().await {
                    if stdin.write_all(line.as_bytes()).await.is_err() {
                        break;
                    }
                    let _ = stdin.flush().await;
                }
            });
        }
        if let Some(stdout) = stdout {
            let me = Arc::clone(self);
            tokio::spawn(async move {
                let mut lines = BufReader::new(stdout).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    me.on_line(&line);
                }
            });
        }
        if let Some(stderr) = stderr {
            let me = Arc::clone(self);
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    tracing::debug!(plugin = %me.spec.plugin_id, "worker stderr: {line}");
                    let mut g = me.lock();
                    g.stderr_tail.push_str(&line);
                    g.stderr_tail.push('\n');
                    if g.stderr_tail.len() > STDERR_TAIL {
                        let cut = g.stderr_tail.len() - STDERR_TAIL;
                        let cut = (cut..g.stderr_tail.len())
                            .find(|i| g.stderr_tail.is_char_boundary(*i))
                            .unwrap_or(0);
                        g.stderr_tail.drain(..cut);
                    }
                }
            });
        }
        let me = Arc::clone(self);
        tokio::spawn(async move {
            let status = child.wait().await;
            me.on_exit(generation, status.ok());
        });
        Ok(())
    }

    fn on_exit(self: &Arc<Self>, generation: u64, status: Option<std::process::ExitStatus>) {
        use std::os::unix::process::ExitStatusExt;
        let (code, signal) = match status {
            Some(s) => (
                s.code().map(|c| c.to_string()).unwrap_or("null".into()),
                s.signal().map(signal_name).unwrap_or("null".into()),
            ),
            None => ("null".into(), "null".into()),
        };
        let restart = {
            let mut g = self.lock();
            if g.generation != generation {
                return;
            }
            let mut message = format!("Worker process exited (code={code}, signal={signal})");
            if !g.stderr_tail.trim().is_empty() {
                message.push_str("\n\nWorker stderr:\n");
                message.push_str(g.stderr_tail.trim_end());
            }
            for (_, tx) in g.pending.drain() {
                let _ = tx.send(Err((rpc_code::WORKER_UNAVAILABLE, message.clone())));
            }
            g.stdin = None;
            g.pid = None;
            if g.stopping || g.status == Status::Stopped {
                g.status = Status::Stopped;
                None
            } else {
                tracing::warn!(plugin = %self.spec.plugin_id, "{message}");
                // The crash counter resets after 10 quiet minutes.
                if g.last_crash
                    .is_some_and(|t| t.elapsed() > Duration::from_secs(600))
                {
                    g.crashes = 0;
                }
                g.crashes += 1;
                g.last_crash = Some(Instant::now());
                if g.crashes > MAX_CONSECUTIVE_CRASHES {
                    g.status = Status::Crashed;
                    None
                } else {
                    g.status = Status::Backoff;
                    Some(backoff(g.crashes))
                }
            }
        };
        if let Some(delay) = restart {
            let me = Arc::clone(self);
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                if me.lock().status != Status::Backoff {
                    return;
                }
                if let Err(e) = me.start().await {
                    tracing::warn!(plugin = %me.spec.plugin_id, error = %e, "worker restart failed");
                    let mut g = me.lock();
                    if g.status == Status::Stopped && !g.stopping {
                        g.status = Status::Crashed;
                    }
                }
            });
        }
    }

    fn send(&self, msg: &Value) -> bool {
        let g = self.lock();
        match &g.stdin {
            Some(tx) => tx.send(format!("{msg}\n")).is_ok(),
            None => false,
        }
    }

    /// One line from the worker's stdout.
    fn on_line(self: &Arc<Self>, line: &str) {
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
                let scope = self.invocations.context(&msg);
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

    async fn raw_call(&self, method: &str, params: Value, timeout: Duration) -> Result<Value> {
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

    /// A host→worker request on a running worker.
    pub async fn call(&self, method: &str, params: Value, timeout: Duration) -> Result<Value> {
        let status = self.status();
        if status != Status::Running {
            return Err(Error::internal(format!(
                "Cannot call \"{method}\" — worker for \"{}\" is {}",
                self.spec.plugin_id,
                status.as_str()
            )));
        }
        self.raw_call(method, params, timeout).await
    }

    fn kill_now(&self) {
        let mut g = self.lock();
        g.stopping = true;
        if let Some(pid) = g.pid {
            unsafe {
                libc::kill(pid as i32, libc::SIGKILL);
            }
        }
    }

    /// Graceful stop: `shutdown`, then SIGTERM, then SIGKILL.
    pub async fn stop(&self) {
        let was_running = {
            let mut g = self.lock();
            g.stopping = true;
            let r = g.status == Status::Running;
            if g.status != Status::Running {
                g.status = Status::Stopped;
            }
            r
        };
        if was_running {
            let _ = self
                .raw_call("shutdown", json!({}), Duration::from_secs(3))
                .await;
        }
        for signal in [libc::SIGTERM, libc::SIGKILL] {
            for _ in 0..20 {
                if self.lock().pid.is_none() {
                    self.lock().status = Status::Stopped;
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if let Some(pid) = self.lock().pid {
                unsafe {
                    libc::kill(pid as i32, signal);
                }
            }
        }
        self.lock().status = Status::Stopped;
    }
}

fn signal_name(sig: i32) -> String {
    match sig {
        libc::SIGKILL => "SIGKILL".into(),
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGINT => "SIGINT".into(),
        libc::SIGSEGV => "SIGSEGV".into(),
        libc::SIGABRT => "SIGABRT".into(),
        other => format!("SIG{other}"),
    }
}

/// `1000 ms × 2^(n−1)` with ±25 % jitter, at most 5 minutes.
fn backoff(n: u32) -> Duration {
    let base = 1000f64 * 2f64.powi(n.saturating_sub(1).min(20) as i32);
    let jitter = (Uuid::new_v4().as_u128() % 1000) as f64 / 1000.0 * 0.5 - 0.25;
    Duration::from_millis((base * (1.0 + jitter)).min(300_000.0) as u64)
}

/// All workers of the host, by plugin id.
#[derive(Default)]
pub struct Workers {
    map: Mutex<HashMap<Uuid, Arc<WorkerHandle>>>,
}

impl Workers {
    pub fn get(&self, plugin_id: Uuid) -> Option<Arc<WorkerHandle>> {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&plugin_id)
            .cloned()
    }

    pub fn is_running(&self, plugin_id: Uuid) -> bool {
        self.get(plugin_id).is_some_and(|w| w.is_running())
    }

    pub fn insert(&self, plugin_id: Uuid, w: Arc<WorkerHandle>) -> Option<Arc<WorkerHandle>> {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(plugin_id, w)
    }

    pub fn remove(&self, plugin_id: Uuid) -> Option<Arc<WorkerHandle>> {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&plugin_id)
    }

    pub fn all(&self) -> Vec<Arc<WorkerHandle>> {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Stops one plugin's worker (if any).
    pub async fn stop(&self, plugin_id: Uuid) {
        if let Some(w) = self.remove(plugin_id) {
            w.stop().await;
        }
    }

    /// Stops every worker.
    pub async fn stop_all(&self) {
        let all: Vec<_> = {
            let mut m = self.map.lock().unwrap_or_else(|e| e.into_inner());
            m.drain().map(|(_, w)| w).collect()
        };
        futures::future::join_all(all.iter().map(|w| w.stop())).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let b1 = backoff(1).as_millis();
        assert!((750..=1250).contains(&b1), "{b1}");
        let b3 = backoff(3).as_millis();
        assert!((3000..=5000).contains(&b3), "{b3}");
        assert!(backoff(30).as_millis() <= 300_000);
    }
}

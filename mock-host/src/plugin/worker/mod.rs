//! Plugin workers (contract-db-worker.md B1): a [`WorkerHandle`] per
//! plugin, its lifecycle (start with `initialize`, call, graceful stop),
//! and the modules that do the rest:
//!
//! - `process`: spawning, stdout/stderr, exit, crash restarts with backoff
//! - `framing`: newline framing of stdout with a line-length ceiling
//! - `rpc`: JSON-RPC messages in both directions
//! - `registry`: the host's workers by plugin id

mod framing;
mod process;
mod registry;
mod rpc;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::plugin::host_services::ServiceCtx;
use crate::plugin::invocation::Invocations;
pub use framing::MAX_LINE_BYTES;
pub use registry::Workers;

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
    /// Stdout line ceiling ([`MAX_LINE_BYTES`]; smaller in tests).
    max_line: usize,
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
            max_line: MAX_LINE_BYTES,
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
            process::send_signal(pid, Signal::SIGKILL);
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
        for signal in [Signal::SIGTERM, Signal::SIGKILL] {
            for _ in 0..20 {
                if self.lock().pid.is_none() {
                    self.lock().status = Status::Stopped;
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if let Some(pid) = self.lock().pid {
                process::send_signal(pid, signal);
            }
        }
        self.lock().status = Status::Stopped;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Defects;

    /// A "worker" that writes one endless line: `sh` stands in for node.
    fn endless_worker(dir: &std::path::Path, max_line: usize) -> Arc<WorkerHandle> {
        let script = dir.join("endless.sh");
        std::fs::write(&script, "exec tr '\\0' a < /dev/zero\n").unwrap();
        let mut worker = WorkerHandle::new(WorkerSpec {
            plugin_id: Uuid::nil(),
            node: PathBuf::from("/bin/sh"),
            entry: script,
            init_params: json!({}),
            services: ServiceCtx {
                pool: crate::db::pool("postgres://nobody@127.0.0.1:1/none").unwrap(),
                plugin_id: Uuid::nil(),
                plugin_key: "conformance.endless".into(),
                capabilities: Arc::new(Vec::new()),
                defects: Defects::none(),
                plays: Default::default(),
                database: Default::default(),
            },
        });
        Arc::get_mut(&mut worker).unwrap().max_line = max_line;
        worker
    }

    #[tokio::test]
    async fn an_endless_stdout_line_is_handled_like_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let worker = endless_worker(dir.path(), 1 << 20);
        let err = worker.start().await.unwrap_err().to_string();
        assert!(
            err.contains("Worker process exited (code=null, signal=SIGKILL)"),
            "{err}"
        );
        assert!(err.contains("stdout line exceeded 1048576 bytes"), "{err}");
        let g = worker.lock();
        assert_eq!(g.crashes, 1, "counted as a crash");
        assert_eq!(g.status, Status::Stopped);
        assert_eq!(g.pid, None);
    }
}

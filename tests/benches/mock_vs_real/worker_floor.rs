//! The floors under a host's scoped-route latency: the smoke plugin's node
//! worker driven directly over stdio, with no HTTP, no routing and no auth.
//! The bench sends `handleApiRequest` for the same summary route the hosts
//! are measured on and answers the worker's two host calls (`db.query`,
//! `issues.summaries.getOrchestration`) in one of two ways:
//!
//! - [`Answers::Canned`]: at once, with answers shaped like a host's — the
//!   worker and the pipe alone, the least any host can take;
//! - [`Answers::RoundTrip`]: each with one database round trip — the
//!   plugin's own SQL run on the bench database, the summary read as one
//!   statement — the least a host whose data is in Postgres can take;
//! - [`Answers::Services`]: through the mock host's own host services on the
//!   bench database — what is left of the mock once its HTTP layer (routing,
//!   actor, company resolution, invocation bookkeeping) is taken away.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mock_host::plugin::host_services::{dispatch, ServiceCtx};
use mock_host::plugin::invocation::ScopeContext;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;
use tokio::sync::{mpsc, oneshot};

use super::{percentile, Figures, Load};

const ROOT: &str = "11111111-1111-4111-8111-111111111111";
const CHILD: &str = "22222222-2222-4222-8222-222222222222";
const BLOCKER: &str = "33333333-3333-4333-8333-333333333333";
const COMPANY: &str = "44444444-4444-4444-8444-444444444444";

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// Where the worker's host calls are answered from.
#[derive(Clone)]
pub enum Answers {
    Canned,
    /// One round trip per call on the bench database: `db.query` through
    /// the mock's services (the plugin's statement and nothing else), the
    /// summary as a single statement that returns it.
    RoundTrip(Arc<ServiceCtx>, String),
    /// The mock's services, scoped to the company of the request.
    Services(Arc<ServiceCtx>, String),
}

/// The root issue and company the summary route is asked about.
#[derive(Clone)]
pub struct Target {
    pub root: String,
    pub company: String,
}

/// A running worker and the two halves of its stdio.
struct Worker {
    target: Target,
    to_worker: mpsc::UnboundedSender<String>,
    pending: Pending,
    next_id: AtomicU64,
    _child: tokio::process::Child,
}

impl Worker {
    async fn spawn(
        node: &Path,
        plugin_dir: &Path,
        manifest: Value,
        namespace: &str,
        answers: Answers,
        target: Target,
    ) -> Arc<Self> {
        let mut child = Command::new(node)
            .arg(plugin_dir.join("worker.js"))
            .current_dir(plugin_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawning the smoke worker");
        let mut stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (to_worker, mut outbox) = mpsc::unbounded_channel::<String>();
        tokio::spawn(async move {
            while let Some(line) = outbox.recv().await {
                if stdin.write_all(line.as_bytes()).await.is_err() {
                    break;
                }
            }
        });
        let pending: Pending = Arc::default();
        let worker = Arc::new(Worker {
            target,
            to_worker,
            pending: Arc::clone(&pending),
            next_id: AtomicU64::new(1),
            _child: child,
        });
        let replies = worker.to_worker.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let Ok(msg) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                match (msg.get("id"), msg.get("method")) {
                    // A worker→host call: answered at once.
                    (Some(id), Some(method)) => {
                        let method = method.as_str().unwrap_or_default().to_string();
                        let (id, replies) = (id.clone(), replies.clone());
                        let params = msg.get("params").cloned().unwrap_or(Value::Null);
                        let answers = answers.clone();
                        tokio::spawn(async move {
                            let reply = match answer(&answers, &method, params).await {
                                Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
                                Err((code, message)) => {
                                    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
                                }
                            };
                            let _ = replies.send(format!("{reply}\n"));
                        });
                    }
                    (Some(id), None) => {
                        let id = id.as_u64().unwrap_or_default();
                        if let Some(tx) = pending.lock().unwrap().remove(&id) {
                            let _ = tx.send(msg);
                        }
                    }
                    _ => {} // notifications (logs, events)
                }
            }
        });
        let init = worker
            .call(
                "initialize",
                json!({
                    "manifest": manifest,
                    "config": {},
                    "instanceInfo": {"instanceId": "floor", "hostVersion": "0.0.0"},
                    "apiVersion": 1,
                    "databaseNamespace": namespace,
                }),
            )
            .await;
        assert!(init.get("result").is_some(), "initialize failed: {init}");
        worker
    }

    async fn call(&self, method: &str, params: Value) -> Value {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().unwrap().insert(id, tx);
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.to_worker.send(format!("{msg}\n")).unwrap();
        tokio::time::timeout(Duration::from_secs(30), rx)
            .await
            .expect("worker answered within 30 s")
            .expect("worker still running")
    }

    async fn summary(&self) {
        let answer = self
            .call("handleApiRequest", summary_request(&self.target))
            .await;
        assert_eq!(
            answer.pointer("/result/body/rootIssueId"),
            Some(&json!(self.target.root)),
            "the worker answered the summary: {answer}"
        );
    }
}

/// The `handleApiRequest` input a host sends for `GET …/issues/:id/smoke`
/// from the local board.
fn summary_request(target: &Target) -> Value {
    let root = &target.root;
    json!({
        "routeKey": "summary",
        "method": "GET",
        "path": format!("/issues/{root}/smoke"),
        "params": {"issueId": root},
        "query": {},
        "body": null,
        "actor": {"actorType": "user", "actorId": "local-board", "agentId": null, "userId": "local-board", "runId": null},
        "companyId": target.company,
        "headers": {"accept": "application/json"},
    })
}

/// One host call answered from `answers`.
async fn answer(answers: &Answers, method: &str, params: Value) -> Result<Value, (i64, String)> {
    match answers {
        Answers::Canned => Ok(host_answer(method)),
        Answers::RoundTrip(services, _) if method != "db.query" => {
            let client = services
                .pool
                .get()
                .await
                .map_err(|e| (-32603, e.to_string()))?;
            let row = client
                .query_one("SELECT $1::jsonb", &[&host_answer(method)])
                .await
                .map_err(|e| (-32603, e.to_string()))?;
            Ok(row.get(0))
        }
        Answers::RoundTrip(services, company) | Answers::Services(services, company) => {
            dispatch(
                services,
                method,
                params,
                &ScopeContext::Company(company.clone()),
            )
            .await
        }
    }
}

/// What a host answers the summary route's two host calls with, after one
/// smoke: the stored run joined to its root issue, and an orchestration
/// summary of the root's subtree.
fn host_answer(method: &str) -> Value {
    match method {
        "db.query" => json!([{
            "root_issue_id": ROOT,
            "child_issue_id": CHILD,
            "blocker_issue_id": BLOCKER,
            "billing_code": format!("plugin-smoke:{ROOT}"),
            "issue_title": "bench root",
            "last_summary": {"rootIssueId": ROOT, "childIssueId": CHILD, "blockerIssueId": BLOCKER, "wakeupQueued": true},
        }]),
        "issues.summaries.getOrchestration" => json!({
            "issueId": ROOT,
            "companyId": COMPANY,
            "subtreeIssueIds": [ROOT, CHILD],
            "relations": {ROOT: {"blockedBy": [], "blocks": []}, CHILD: {"blockedBy": [{"id": BLOCKER, "status": "done"}], "blocks": []}},
            "runs": [],
            "costs": {"costCents": 0, "inputTokens": 0, "cachedInputTokens": 0, "outputTokens": 0, "billingCode": format!("plugin-smoke:{ROOT}")},
            "openBudgetIncidents": [],
            "invocationBlocks": [],
        }),
        _ => Value::Null,
    }
}

/// Measures the floor like the hosts: sequential latency, then throughput
/// with concurrent callers.
pub async fn measure(
    node: &Path,
    plugin_dir: &Path,
    load: &Load,
    answers: Answers,
    target: Option<Target>,
) -> Figures {
    let manifest_path = plugin_dir.join("manifest.js");
    let out = std::process::Command::new(node)
        .args([
            "--input-type=module",
            "-e",
            "import(process.argv[1]).then(m=>process.stdout.write(JSON.stringify(m.default)))",
        ])
        .arg(&manifest_path)
        .output()
        .expect("node evaluates the manifest");
    let manifest: Value = serde_json::from_slice(&out.stdout).expect("manifest JSON");
    let started = Instant::now();
    let label = match answers {
        Answers::Canned => "floor (worker over stdio)",
        Answers::RoundTrip(..) => "floor + a round trip per call",
        Answers::Services(..) => "floor + mock host services",
    };
    let target = target.unwrap_or(Target {
        root: ROOT.into(),
        company: COMPANY.into(),
    });
    let worker = Worker::spawn(
        node,
        plugin_dir,
        manifest,
        "plugin_orchestration_smoke_f0168a9975",
        answers,
        target,
    )
    .await;
    let cold = started.elapsed().as_millis();
    for _ in 0..20 {
        worker.summary().await; // warm-up, as the hosts got their initialize
    }
    let mut latencies = Vec::with_capacity(load.requests as usize);
    for _ in 0..load.requests {
        let t = Instant::now();
        worker.summary().await;
        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let deadline = Instant::now() + Duration::from_secs(load.seconds);
    let tasks: Vec<_> = (0..load.concurrency)
        .map(|_| {
            let worker = Arc::clone(&worker);
            tokio::spawn(async move {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    worker.summary().await;
                    n += 1;
                }
                n
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    Figures {
        host: label.into(),
        cold_start_ms: vec![cold],
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
        throughput_rps: total as f64 / load.seconds as f64,
    }
}

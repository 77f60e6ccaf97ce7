//! Benchmark: the mock host beside the real host 2026.707.0, in one run.
//!
//!     cargo bench -p e2e-tests --bench mock_vs_real
//!
//! For each host: cold start to ready (spawn → `/api/health` says `ok`, on a
//! fresh database), then the smoke plugin's scoped summary route
//! (`GET /api/plugins/:key/api/issues/:id/smoke`): latency p50/p99 over
//! sequential requests, and throughput with concurrent clients. Results go
//! to stdout and to `target/bench-mock-vs-real.json`.
//!
//! Beside them the floors (`worker_floor`): the same route's worker driven
//! over stdio with no HTTP layer, its host calls answered with canned
//! answers, with one database round trip each, or by the mock's own
//! services. Last, the whole default `conformance run` once per host. The
//! JSON ends with the ratios the project tracks: mock vs each floor's p50,
//! real vs mock p50 and throughput, real vs mock full run.
//!
//! Env: `BENCH_REQUESTS` (default 300), `BENCH_SECONDS` (default 5),
//! `BENCH_CONCURRENCY` (default 8), `BENCH_REAL_VERSION` (default 2026.707.0),
//! `BENCH_ONLY` (`mock`, `floor`, `real`, `full`, comma-separated; default
//! all — the figures are side by side only when one run measures them all).

mod worker_floor;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use conformance::client::{Call, HostClient};
use conformance::plugin;
use conformance::postgres::{PostgresOptions, PostgresServer};
use conformance::progress::Progress;
use conformance::target::mock::MockTarget;
use conformance::target::paperclip::PaperclipTarget;
use conformance::target::{DeploymentMode, HostTarget, StartContext};
use conformance::world::{write_adapter_script, World};
use mock_host::plugin::host_services::{RuntimeDatabase, ServiceCtx};
use serde_json::json;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// How hard each host is driven.
pub struct Load {
    pub requests: u64,
    pub seconds: u64,
    pub concurrency: u64,
}

impl Load {
    fn from_env() -> Self {
        Load {
            requests: env_num("BENCH_REQUESTS", 300),
            seconds: env_num("BENCH_SECONDS", 5),
            concurrency: env_num("BENCH_CONCURRENCY", 8),
        }
    }
}

pub struct Figures {
    host: String,
    cold_start_ms: Vec<u128>,
    p50_ms: f64,
    p99_ms: f64,
    throughput_rps: f64,
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

async fn measure(
    target: &dyn HostTarget,
    pg: &PostgresServer,
    cache: &PathBuf,
    starts: usize,
    load: &Load,
) -> Vec<Figures> {
    let progress = Progress::stderr(false);
    let mut cold = Vec::new();
    let mut kept = None;
    for i in 0..starts {
        let run_dir = tempfile::Builder::new()
            .prefix("conformance-run-bench-")
            .tempdir()
            .unwrap();
        std::fs::set_permissions(
            run_dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let db = pg.create_database("conformance_bench").await.unwrap();
        let ctx = StartContext {
            run_dir: run_dir.path(),
            cache_dir: cache,
            database_url: Some(&db.url),
            mode: DeploymentMode::LocalTrusted,
            port: None,
            progress: &progress,
        };
        let started = Instant::now();
        let host = target
            .start(&ctx)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", target.label()));
        cold.push(started.elapsed().as_millis());
        if i + 1 < starts {
            host.stop().await.unwrap();
            pg.drop_database(db).await.unwrap();
        } else {
            kept = Some((host, db, run_dir));
        }
    }
    let (host, db, run_dir) = kept.expect("at least one start");
    let client = HostClient::new(&host.base_url, Duration::from_secs(30)).unwrap();
    let adapter = write_adapter_script(run_dir.path()).unwrap();
    let world = World::bootstrap(&client, host.mode, None, adapter)
        .await
        .unwrap();
    let source = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/plugins/orchestration-smoke"
    ));
    let sdk = match host.info.kind.as_str() {
        "paperclip" => host.info.version.clone(),
        _ => None,
    };
    let prepared = plugin::prepare(
        &source,
        run_dir.path(),
        sdk.as_deref(),
        host.node_bin.as_deref(),
        None,
    )
    .await
    .unwrap();
    let installed = plugin::install(&client, &world.board, &prepared)
        .await
        .unwrap();
    let agent = world.agent("a1").unwrap().clone();
    let issue = world
        .create_issue(&client, "a", "bench root", "todo", None, false)
        .await
        .unwrap();
    let path = format!(
        "/api/plugins/{}/api/issues/{}/smoke",
        installed.key, issue.id
    );
    let init = client
        .send(&Call::new("POST", &path).json(json!({ "assigneeAgentId": agent.id })))
        .await;
    assert_eq!(
        init.response.map(|r| r.status),
        Some(201),
        "initialize before measuring"
    );

    for _ in 0..20 {
        client.send(&Call::new("GET", &path)).await; // warm-up
    }
    let mut latencies = Vec::with_capacity(load.requests as usize);
    for _ in 0..load.requests {
        let t = Instant::now();
        let x = client.send(&Call::new("GET", &path)).await;
        assert_eq!(x.response.map(|r| r.status), Some(200));
        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());

    let deadline = Instant::now() + Duration::from_secs(load.seconds);
    let path = Arc::new(path);
    let tasks: Vec<_> = (0..load.concurrency)
        .map(|_| {
            let client = client.clone();
            let path = path.clone();
            tokio::spawn(async move {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let x = client.send(&Call::new("GET", path.as_str())).await;
                    if x.response.map(|r| r.status) == Some(200) {
                        n += 1;
                    }
                }
                n
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    let mut figures = vec![Figures {
        host: target.label(),
        cold_start_ms: cold,
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
        throughput_rps: total as f64 / load.seconds as f64,
    }];
    // Beside the mock: its host services without its HTTP layer, on the
    // same database and smoke.
    if host.info.kind == "mock" && wanted("floor") {
        let company = world.company("a").unwrap().id.clone();
        let pool = mock_host::db::pool(&db.url).unwrap();
        let plugin_id = installed.id.parse().unwrap();
        let database = RuntimeDatabase::load(
            &pool.get().await.unwrap(),
            plugin_id,
            &installed.record["manifestJson"],
        )
        .await
        .unwrap();
        let services = ServiceCtx {
            pool,
            plugin_id,
            plugin_key: installed.key.clone(),
            capabilities: Arc::new(
                installed.record["manifestJson"]["capabilities"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c.as_str().map(String::from))
                    .collect(),
            ),
            defects: Default::default(),
            plays: Default::default(),
            database: Arc::new(database),
        };
        let target = worker_floor::Target {
            root: issue.id.clone(),
            company: company.clone(),
        };
        let services = Arc::new(services);
        for answers in [
            worker_floor::Answers::RoundTrip(Arc::clone(&services), company.clone()),
            worker_floor::Answers::Services(services, company),
        ] {
            figures.push(
                worker_floor::measure(
                    std::path::Path::new("node"),
                    &prepared.dir,
                    load,
                    answers,
                    Some(target.clone()),
                )
                .await,
            );
        }
    }
    host.stop().await.unwrap();
    pg.drop_database(db).await.unwrap();
    drop(run_dir);
    figures
}

/// Wall time of one whole `conformance run --host HOST` (every check at the
/// default case count); the run must pass.
fn full_run(host: &str, admin_url: &str) -> Duration {
    let started = Instant::now();
    let out = std::process::Command::new(e2e_tests::conformance_bin())
        .args(["run", "--host", host, "-q", "--database-url", admin_url])
        .output()
        .unwrap();
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "{host}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    took
}

/// The floor's figures: the smoke plugin prepared like a run prepares it
/// (SDK pin, dependency cache), its worker driven without a host.
async fn measure_floor(cache: &std::path::Path, load: &Load) -> Figures {
    let dir = tempfile::Builder::new()
        .prefix("conformance-run-bench-floor-")
        .tempdir()
        .unwrap();
    let source = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/plugins/orchestration-smoke"
    ));
    let prepared = plugin::prepare(&source, dir.path(), None, None, Some(cache))
        .await
        .unwrap();
    worker_floor::measure(
        std::path::Path::new("node"),
        &prepared.dir,
        load,
        worker_floor::Answers::Canned,
        None,
    )
    .await
}

fn wanted(part: &str) -> bool {
    match std::env::var("BENCH_ONLY") {
        Ok(only) => only.split(',').any(|p| p.trim() == part),
        Err(_) => true,
    }
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let scratch = tempfile::Builder::new()
            .prefix("conformance-run-bench-pg-")
            .tempdir()
            .unwrap();
        std::fs::set_permissions(
            scratch.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let options = PostgresOptions {
            admin_url: std::env::var("DATABASE_URL").ok(),
            no_docker: true,
            template_cache: None,
        };
        let pg = PostgresServer::provision(&options, scratch.path(), &Progress::stderr(false))
            .await
            .unwrap();
        let cache = conformance::cli::default_cache_dir();
        let load = Load::from_env();
        let version = std::env::var("BENCH_REAL_VERSION").unwrap_or_else(|_| "2026.707.0".into());
        let real_host = format!("paperclip@{version}");
        // The mock is served by the conformance binary, built like the e2e tests build it.
        let mock_target = MockTarget {
            defects: vec![],
            plays: None,
            program: Some(e2e_tests::conformance_bin()),
        };
        let mut rows = Vec::new();
        if wanted("floor") {
            rows.push(measure_floor(&cache, &load).await);
        }
        if wanted("mock") {
            rows.extend(measure(&mock_target, &pg, &cache, 5, &load).await);
        }
        if wanted("real") {
            rows.extend(measure(&PaperclipTarget { version }, &pg, &cache, 2, &load).await);
        }
        let admin = pg.admin_url().to_string();
        // The whole default run, as a user starts it, once per host.
        let full = wanted("full").then(|| (full_run("mock", &admin), full_run(&real_host, &admin)));
        pg.shutdown().await.unwrap();

        println!(
            "\n{:<30} {:>22} {:>10} {:>10} {:>14}",
            "host", "cold start ms (each)", "p50 ms", "p99 ms", "req/s"
        );
        let mut json_rows = Vec::new();
        for f in &rows {
            let starts: Vec<String> = f.cold_start_ms.iter().map(|m| m.to_string()).collect();
            println!(
                "{:<30} {:>22} {:>10.2} {:>10.2} {:>14.0}",
                f.host,
                starts.join("/"),
                f.p50_ms,
                f.p99_ms,
                f.throughput_rps
            );
            json_rows.push(json!({
                "host": f.host, "cold_start_ms": f.cold_start_ms, "p50_ms": f.p50_ms,
                "p99_ms": f.p99_ms, "throughput_rps": f.throughput_rps,
            }));
        }
        let by = |prefix: &str| rows.iter().find(|f| f.host.starts_with(prefix));
        let mut ratios = serde_json::Map::new();
        if let (Some(mock), Some(floor)) = (by("mock"), by("floor (")) {
            ratios.insert("mock_p50_over_floor_p50".into(), json!(mock.p50_ms / floor.p50_ms));
        }
        if let (Some(mock), Some(floor)) = (by("mock"), by("floor + a round trip")) {
            ratios.insert(
                "mock_p50_over_round_trip_floor_p50".into(),
                json!(mock.p50_ms / floor.p50_ms),
            );
        }
        if let (Some(mock), Some(floor)) = (by("mock"), by("floor + mock")) {
            ratios.insert(
                "mock_p50_over_services_floor_p50".into(),
                json!(mock.p50_ms / floor.p50_ms),
            );
        }
        if let (Some(mock), Some(real)) = (by("mock"), by("paperclip")) {
            ratios.insert("real_p50_over_mock_p50".into(), json!(real.p50_ms / mock.p50_ms));
            ratios.insert(
                "mock_rps_over_real_rps".into(),
                json!(mock.throughput_rps / real.throughput_rps),
            );
        }
        if let Some((mock, real)) = full {
            println!(
                "\nfull default run (conformance run --host …): mock {:.1} s, {real_host} {:.1} s ({:.1}x)",
                mock.as_secs_f64(),
                real.as_secs_f64(),
                real.as_secs_f64() / mock.as_secs_f64()
            );
            json_rows.push(json!({
                "full_run_s": { "mock": mock.as_secs_f64(), "real": real.as_secs_f64() },
            }));
            ratios.insert(
                "real_full_run_over_mock_full_run".into(),
                json!(real.as_secs_f64() / mock.as_secs_f64()),
            );
        }
        for (name, value) in &ratios {
            println!("{name}: {:.2}", value.as_f64().unwrap_or_default());
        }
        json_rows.push(json!({ "ratios": ratios }));
        let out = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../target/bench-mock-vs-real.json"
        ));
        let _ = std::fs::write(&out, serde_json::to_string_pretty(&json_rows).unwrap());
        println!("\nwritten to {}", out.display());
    });
}

//! One conformance run, from provisioning to teardown.
//!
//! A [`Session`] owns every resource the run creates — run directory,
//! Postgres, the run's database, the host — in fields rather than in the
//! locals of a future. That is what makes teardown reliable: whether
//! [`Session::execute`] finishes, fails, or is dropped half-way because the
//! user pressed Ctrl-C, [`Session::teardown`] finds everything and releases
//! it in reverse order.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;

use crate::baseline::Baseline;
use crate::check::{CheckResult, Status};
use crate::client::HostClient;
use crate::db::HostDb;
use crate::error::{Error, Result};
use crate::plugin;
use crate::postgres::{PostgresOptions, PostgresServer, RunDatabase};
use crate::profile;
use crate::progress::Progress;
use crate::property::{self, Property, PropertyConfig, PropertyEnv};
use crate::report::{RunInfo, RunReport};
use crate::restart::{self, RestartEnv};
use crate::scenario::runner::{run_scenario, RunContext};
use crate::scenario::vars::Vars;
use crate::scenario::{self, Scenario};
use crate::target::external::ExternalTarget;
use crate::target::mock::MockTarget;
use crate::target::paperclip::PaperclipTarget;
use crate::target::{DeploymentMode, HostSpec, HostTarget, RunningHost, StartContext};
use crate::world::{write_adapter_script, World};

/// Everything a run is configured with.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub host: HostSpec,
    /// The `--host` text, for reports and replay commands.
    pub host_text: String,
    pub mode: DeploymentMode,
    pub port: Option<u16>,
    /// Plugin package to install; `None` means the bundled smoke plugin.
    pub plugin: Option<PathBuf>,
    pub scenarios_dir: PathBuf,
    pub only: Vec<String>,
    pub postgres: PostgresOptions,
    /// The database of a `url=` host, for DB assertions.
    pub host_database_url: Option<String>,
    pub cache_dir: PathBuf,
    pub keep_run_dir: bool,
    /// Scenarios run at once.
    pub jobs: usize,
    pub request_timeout: Duration,
    /// Overrides the SDK version the plugin is installed with.
    pub sdk_version: Option<String>,
    /// Command prefix that replays a check (`--only ID` is appended).
    pub repro_prefix: String,
    /// Cases per property check.
    pub cases: u32,
    /// Seed of the property case generators.
    pub seed: u64,
    /// Baseline of expected failures; `None` looks for the host's default.
    pub baseline: Option<PathBuf>,
}

/// The resources of one run.
pub struct Session {
    options: RunOptions,
    run_dir: Option<tempfile::TempDir>,
    postgres: Option<PostgresServer>,
    database: Option<RunDatabase>,
    host: Option<RunningHost>,
}

impl Session {
    pub fn new(options: RunOptions) -> Self {
        Session {
            options,
            run_dir: None,
            postgres: None,
            database: None,
            host: None,
        }
    }

    /// Runs the whole suite. `on_check` sees each result as it completes.
    pub async fn execute(
        &mut self,
        progress: &Progress,
        on_check: &(dyn Fn(&CheckResult) + Sync),
    ) -> Result<RunReport> {
        let started = Instant::now();
        let opts = self.options.clone();
        let (scenarios, properties) = select_checks(&opts)?;
        let target = target_for(&opts)?;

        let run_dir = make_run_dir()?;
        let run_path = run_dir.path().to_path_buf();
        self.run_dir = Some(run_dir);
        progress.step(format!("run directory {}", run_path.display()));

        let mut database_url = None;
        if target.needs_database() {
            let pg = PostgresServer::provision(&opts.postgres, &run_path, progress).await?;
            progress.step(format!("postgres: {}", pg.description()));
            let pg = self.postgres.insert(pg);
            let db = pg.create_database("conformance").await?;
            progress.step(format!("database {} created", db.name));
            database_url = Some(db.url.clone());
            self.database = Some(db);
        }

        progress.step(format!("starting {}", target.label()));
        let ctx = StartContext {
            run_dir: &run_path,
            cache_dir: &opts.cache_dir,
            database_url: database_url.as_deref(),
            mode: opts.mode,
            port: opts.port,
            progress,
        };
        let host = target.start(&ctx).await?;
        let host = self.host.insert(host);
        progress.step(format!(
            "host {} {} ({}) ready at {}",
            host.info.kind,
            host.info.version.as_deref().unwrap_or("?"),
            host.mode.as_str(),
            host.base_url
        ));

        let client = HostClient::new(&host.base_url, opts.request_timeout)?;
        let db_url = host.database_url.clone().or(opts.host_database_url.clone());
        let db = match &db_url {
            Some(url) => Some(Arc::new(HostDb::connect(url).await?)),
            None => None,
        };

        let adapter = write_adapter_script(&run_path)?;
        let world = Arc::new(World::bootstrap(&client, host.mode, db.as_deref(), adapter).await?);
        progress.step("world ready: companies a, b; agents a1, a2, b1");

        let source = opts.plugin.clone().unwrap_or_else(|| {
            opts.scenarios_dir
                .join("plugins")
                .join("orchestration-smoke")
        });
        let sdk_version = opts.sdk_version.clone().or_else(|| match &opts.host {
            // The real host's SDK is published under the same version.
            HostSpec::Paperclip { .. } => host.info.version.clone(),
            _ => None,
        });
        progress.step(format!("preparing plugin {}", source.display()));
        let plugin_home = match host.process {
            Some(_) => run_path.clone(),
            None => opts
                .cache_dir
                .join("external-hosts")
                .join(sanitize(&host.base_url)),
        };
        let prepared = plugin::prepare(
            &source,
            &plugin_home,
            sdk_version.as_deref(),
            host.node_bin.as_deref(),
        )
        .await?;
        let installed = match plugin::install(&client, &world.board, &prepared).await {
            Ok(installed) => installed,
            // The bundled smoke plugin installs on the real hosts: a host
            // that refuses it breaks the contract, which is a failed check,
            // not a broken run. A plugin the user passed may itself be at
            // fault, so that stays a set-up error.
            Err(Error::Plugin(message)) if opts.plugin.is_none() => {
                let mut checks = install_refused(&scenarios, &properties, &message, &opts);
                for check in &checks {
                    on_check(check);
                }
                checks.sort_by_key(|c| c.status != Status::Failed);
                let host = self.host.as_ref().expect("host is set above");
                return Ok(RunReport::new(
                    &host.info,
                    host.mode.as_str(),
                    &opts.host_text,
                    checks,
                    started.elapsed().as_millis() as u64,
                ));
            }
            Err(e) => return Err(e),
        };
        progress.step(format!(
            "plugin {} installed (id {}, namespace {})",
            installed.key,
            installed.id,
            installed.namespace.as_deref().unwrap_or("none")
        ));

        // The scope-probe fixture (company scoping property) goes beside the
        // plugin under test; without it that property is skipped.
        let probe_source = opts.scenarios_dir.join("plugins").join("scope-probe");
        let probe = if probe_source.is_dir() {
            let prepared = plugin::prepare(
                &probe_source,
                &plugin_home,
                sdk_version.as_deref(),
                host.node_bin.as_deref(),
            )
            .await?;
            let installed = plugin::install(&client, &world.board, &prepared).await?;
            progress.step(format!("fixture plugin {} installed", installed.key));
            Some(installed)
        } else {
            None
        };

        let mut vars = Vars::new();
        world.export(&mut vars);
        installed.export(&mut vars);
        vars.set("host.base_url", host.base_url.clone());
        vars.set("host.kind", host.info.kind.clone());
        vars.set(
            "host.version",
            host.info.version.clone().unwrap_or_default(),
        );

        let run_ctx = RunContext {
            client: &client,
            world: &world,
            db: db.as_deref(),
            vars: &vars,
            repro_prefix: &opts.repro_prefix,
        };
        let profile = profile::for_version(host.info.version.as_deref());
        let env = Arc::new(PropertyEnv {
            client: client.clone(),
            world: world.clone(),
            db: db.clone(),
            plugin: installed.clone(),
            probe,
            profile,
            work_dir: run_path.join("generated-plugins"),
            sdk_node_modules: Some(prepared.dir.join("node_modules")).filter(|p| p.is_dir()),
            handle: tokio::runtime::Handle::current(),
            repro_prefix: opts.repro_prefix.clone(),
        });
        let config = PropertyConfig {
            cases: opts.cases,
            seed: opts.seed,
        };
        // Properties run on blocking threads of their own (proptest is
        // synchronous), beside the scenarios.
        let property_tasks: Vec<_> = properties
            .into_iter()
            .map(|p| {
                let env = env.clone();
                tokio::task::spawn_blocking(move || p.check(&env, &config))
            })
            .collect();
        progress.step(format!(
            "running {} scenarios ({} at a time) and {} properties ({} cases each, seed {:#x}, profile {})",
            scenarios.len(),
            opts.jobs.max(1),
            property_tasks.len(),
            opts.cases,
            opts.seed,
            profile.name
        ));
        let mut results: Vec<(usize, CheckResult)> =
            futures::stream::iter(scenarios.iter().enumerate())
                .map(|(i, s)| {
                    let run_ctx = &run_ctx;
                    async move {
                        let result = run_scenario(s, run_ctx).await;
                        on_check(&result);
                        (i, result)
                    }
                })
                .buffer_unordered(opts.jobs.max(1))
                .collect()
                .await;
        results.sort_by_key(|(i, _)| *i);
        let mut checks: Vec<CheckResult> = results.into_iter().map(|(_, r)| r).collect();
        for task in property_tasks {
            let result = task
                .await
                .map_err(|e| Error::HostStart(format!("a property check panicked: {e}")))?;
            on_check(&result);
            checks.push(result);
        }
        // Checks that restart the host go last and alone.
        let wants_restart = |id: &str| restart_selected(&opts, id);
        if restart::IDS.iter().any(|id| wants_restart(id)) {
            progress.step("restart checks (alone)");
            let restart_env = RestartEnv {
                client: &client,
                db: db.as_deref(),
                world: &world,
                plugin: &installed,
                repro_prefix: &opts.repro_prefix,
            };
            let host = self.host.as_mut().expect("host is set above");
            for result in restart::run(host, &restart_env, &wants_restart).await {
                on_check(&result);
                checks.push(result);
            }
        }
        let host = self.host.as_ref().expect("host is set above");
        let baseline_path = opts.baseline.clone().or_else(|| {
            Baseline::discover(
                &opts.scenarios_dir.join("baselines"),
                &host.info.kind,
                host.info.version.as_deref(),
            )
        });
        if let Some(path) = baseline_path {
            let baseline = Baseline::load(&path)?;
            progress.step(format!(
                "baseline {} ({} entries)",
                path.display(),
                baseline.entries.len()
            ));
            baseline.apply(&mut checks, &known_check_ids(&opts)?);
        }
        let mut report = RunReport::new(
            &host.info,
            host.mode.as_str(),
            &opts.host_text,
            checks,
            started.elapsed().as_millis() as u64,
        );
        report.run = Some(RunInfo {
            seed: format!("{:#x}", opts.seed),
            cases: opts.cases,
            profile: profile.name.to_string(),
        });
        Ok(report)
    }

    /// Releases everything the run created, in reverse order. Errors are
    /// collected rather than stopping the teardown half-way.
    pub async fn teardown(&mut self, progress: &Progress) -> Vec<Error> {
        let mut errors = Vec::new();
        if let Some(host) = self.host.take() {
            if host.process.is_some() {
                progress.step("stopping the host");
            }
            if let Err(e) = host.stop().await {
                errors.push(e);
            }
        }
        if let (Some(pg), Some(db)) = (&self.postgres, self.database.take()) {
            let name = db.name.clone();
            match pg.drop_database(db).await {
                Ok(()) => progress.step(format!("database {name} dropped")),
                Err(e) => errors.push(e),
            }
        }
        if let Some(pg) = self.postgres.take() {
            if let Err(e) = pg.shutdown().await {
                errors.push(e);
            }
        }
        if let Some(dir) = self.run_dir.take() {
            if self.options.keep_run_dir {
                let kept = dir.keep();
                progress.step(format!("run directory kept at {}", kept.display()));
            } else {
                let path = dir.path().to_path_buf();
                if dir.close().is_err() {
                    // A host we did not start may still be writing into it
                    // (agent adapters append their PIDs): try once more.
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    if let Err(e) = std::fs::remove_dir_all(&path) {
                        errors.push(Error::io("removing the run directory", path, e));
                    }
                }
            }
        }
        errors
    }
}

/// The results when the host refused the bundled smoke plugin: the install
/// check fails with the host's answer, every other check is skipped.
fn install_refused(
    scenarios: &[Scenario],
    properties: &[Box<dyn Property>],
    message: &str,
    opts: &RunOptions,
) -> Vec<CheckResult> {
    let skipped = |id: &str, title: &str, level, source: &str| CheckResult {
        id: id.to_string(),
        title: title.to_string(),
        level,
        status: Status::Skipped,
        duration_ms: 0,
        source: source.to_string(),
        failure: None,
        reason: Some("the host refused the smoke plugin (see plugin.install-health)".into()),
        exchanges: Vec::new(),
        rows: Vec::new(),
        repro: format!("{} --only {id}", opts.repro_prefix),
        seed: None,
        cases: None,
    };
    let mut checks: Vec<CheckResult> = scenarios
        .iter()
        .map(|s| skipped(&s.id, &s.title, s.level, &s.source))
        .collect();
    checks.extend(
        properties
            .iter()
            .map(|p| skipped(p.id(), p.title(), p.level(), p.source())),
    );
    let install = "plugin.install-health";
    let mut failed = match checks.iter().position(|c| c.id == install) {
        Some(i) => checks.remove(i),
        None => skipped(
            install,
            "The smoke plugin installs",
            crate::check::Level::Must,
            "contract-http.md §3.5",
        ),
    };
    failed.status = Status::Failed;
    failed.reason = None;
    failed.failure = Some(crate::check::Failure {
        step: "install the smoke plugin".into(),
        message: message.to_string(),
        expected: Some(serde_json::json!({ "status": 200, "plugin": { "status": "ready" } })),
        actual: None,
        exchange: None,
    });
    checks.insert(0, failed);
    checks
}

/// Whether `--only` selects the restart check `id` (tag `restart`).
fn restart_selected(opts: &RunOptions, id: &str) -> bool {
    opts.only.is_empty()
        || opts
            .only
            .iter()
            .any(|pat| scenario::selects(pat, id, &["restart".to_string()]))
}

/// Ids of every check the suite has, selected or not.
fn known_check_ids(opts: &RunOptions) -> Result<Vec<String>> {
    let mut ids: Vec<String> = scenario::load_dir(&opts.scenarios_dir)?
        .into_iter()
        .map(|s| s.id)
        .collect();
    ids.extend(property::all().iter().map(|p| p.id().to_string()));
    ids.extend(restart::IDS.iter().map(|id| id.to_string()));
    Ok(ids)
}

/// The scenarios and properties `--only` selects (all when it is empty).
type Selected = (Vec<Scenario>, Vec<Box<dyn Property>>);

fn select_checks(opts: &RunOptions) -> Result<Selected> {
    let all = scenario::load_dir(&opts.scenarios_dir)?;
    let scenarios = scenario::select(all, &opts.only);
    let properties: Vec<Box<dyn Property>> = property::all()
        .into_iter()
        .filter(|p| {
            opts.only.is_empty()
                || opts
                    .only
                    .iter()
                    .any(|pat| scenario::selects(pat, p.id(), &p.tags()))
        })
        .collect();
    let restarts = restart::IDS.iter().any(|id| restart_selected(opts, id));
    if scenarios.is_empty() && properties.is_empty() && !restarts {
        return Err(Error::Usage(format!(
            "--only {} selects no check; list them with: conformance list",
            opts.only.join(" --only ")
        )));
    }
    Ok((scenarios, properties))
}

fn target_for(opts: &RunOptions) -> Result<Box<dyn HostTarget>> {
    Ok(match &opts.host {
        HostSpec::Paperclip { version } => Box::new(PaperclipTarget {
            version: version.clone(),
        }),
        HostSpec::Url { base_url } => Box::new(ExternalTarget {
            base_url: base_url.clone(),
            database_url: opts.host_database_url.clone(),
        }),
        HostSpec::Mock { defects } => Box::new(MockTarget {
            defects: defects.clone(),
            program: None,
        }),
    })
}

/// The run directory: world-readable so that an ephemeral Postgres running
/// as the `postgres` user can reach its data directory inside it.
fn make_run_dir() -> Result<tempfile::TempDir> {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new()
        .prefix("conformance-run-")
        .tempdir()
        .map_err(|e| Error::io("creating a run directory in", std::env::temp_dir(), e))?;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
        .map_err(|e| Error::io("setting permissions on", dir.path(), e))?;
    Ok(dir)
}

/// A file-name-safe form of a URL.
fn sanitize(url: &str) -> String {
    url.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

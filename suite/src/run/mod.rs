//! One conformance run, from provisioning to teardown.
//!
//! A [`Session`] owns every resource the run creates — run directory,
//! Postgres, the run's database, the host — in fields rather than in the
//! locals of a future. That is what makes teardown reliable: whether
//! [`Session::execute`] finishes, fails, or is dropped half-way because the
//! user pressed Ctrl-C, [`Session::teardown`] finds everything and releases
//! it in reverse order.
//!
//! A run goes through its phases in order, one method each:
//! provision → host → world → plugins → checks → restarts → report.

mod checks;
mod options;
mod setup;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::baseline::Baseline;
use crate::check::catalog::Catalog;
use crate::check::CheckResult;
use crate::client::HostClient;
use crate::db::HostDb;
use crate::error::{Error, Result};
use crate::postgres::{PostgresServer, RunDatabase};
use crate::profile::{self, Profile};
use crate::progress::Progress;
use crate::report::{RunInfo, RunReport};
use crate::restart::{self, RestartEnv};
use crate::target::{target_for, ExternalFacts, HostSpec, HostTarget, RunningHost};
use crate::world::World;

pub(crate) use checks::scenario_vars;
pub use options::RunOptions;
pub(crate) use setup::Plugins;

/// The resources of one run.
pub struct Session {
    options: RunOptions,
    run_dir: Option<tempfile::TempDir>,
    postgres: Option<PostgresServer>,
    database: Option<RunDatabase>,
    host: Option<RunningHost>,
    /// The client the world was made with: its ledger is what teardown
    /// removes from a host the suite did not start.
    client: Option<HostClient>,
    /// What teardown could not remove from such a host, one line each.
    left_on_host: Vec<String>,
}

/// What the checks run against once the host is up and the world exists.
pub(crate) struct Stage {
    pub run_path: PathBuf,
    pub client: HostClient,
    pub db: Option<Arc<HostDb>>,
    pub world: Arc<World>,
    pub profile: &'static Profile,
}

impl Session {
    pub fn new(options: RunOptions) -> Self {
        Session {
            options,
            run_dir: None,
            postgres: None,
            database: None,
            host: None,
            client: None,
            left_on_host: Vec::new(),
        }
    }

    /// What the teardown could not remove from a `url=` host, one line each.
    pub fn left_on_host(&self) -> &[String] {
        &self.left_on_host
    }

    /// Runs the whole suite. `on_check` sees each result as it completes.
    pub async fn execute(
        &mut self,
        progress: &Progress,
        on_check: &(dyn Fn(&CheckResult) + Sync),
    ) -> Result<RunReport> {
        let started = Instant::now();
        // Every check is loaded (and every scenario validated) before
        // anything is started: a scenario's own mistake is an exit 2 with
        // its file and line, never a host failure.
        let catalog = Catalog::load(&self.options.scenarios_dir)?;
        let known_ids = catalog.ids();
        let mut selected = catalog.select(&self.options.only)?;
        if let Some(shard) = self.options.shard {
            selected = selected.shard(shard);
        }
        if self.options.upgrade_from.is_empty() {
            if selected.len() == selected.upgrades.len() {
                return Err(Error::Usage(
                    "the upgrade checks run only with --upgrade-from VERSION".into(),
                ));
            }
            selected = selected.without_upgrades();
        }
        let target = target_for(
            &self.options.host,
            &ExternalFacts {
                database_url: self.options.host_database_url.clone(),
                version: self.options.host_version.clone(),
                board_token: self.options.board_token.clone(),
            },
        );

        let database_url = self.provision(target.as_ref(), progress).await?;
        let mut results = Vec::new();
        let chain = self.options.upgrade_from.clone();
        let (stage, plugins) = match chain.split_first() {
            None => {
                self.start_host(target.as_ref(), database_url, progress)
                    .await?;
                let stage = self.world(progress).await?;
                let plugins = self.plugins(&stage, progress).await?;
                (stage, plugins)
            }
            Some((oldest, later)) => {
                self.upgrade(
                    oldest,
                    later,
                    target.as_ref(),
                    database_url,
                    &selected,
                    &mut results,
                    progress,
                )
                .await?
            }
        };
        match plugins {
            Plugins::Refused(message) => {
                results.extend(checks::install_refused(
                    &selected,
                    &message,
                    &self.options.repro_prefix,
                ));
            }
            Plugins::Installed(plugins) => {
                results.extend(
                    self.checks(&selected, &stage, &plugins, progress, on_check)
                        .await,
                );
                // Checks that ran after the host stopped answering say
                // nothing about it: the run ends as a set-up error.
                if let Some(why) = stage.client.stopped_answering() {
                    return Err(Error::HostStoppedAnswering(why));
                }
                results.extend(self.restarts(&selected, &stage, &plugins, progress).await);
            }
        }
        self.report(results, &known_ids, stage.profile, started, progress)
    }

    /// Phases 1–4 for `conformance audit`: the host under test, its world
    /// and its plugins, ready for requests. Teardown is the run's.
    pub(crate) async fn prepare(&mut self, progress: &Progress) -> Result<(Stage, Plugins)> {
        let target = target_for(
            &self.options.host,
            &ExternalFacts {
                database_url: self.options.host_database_url.clone(),
                version: self.options.host_version.clone(),
                board_token: self.options.board_token.clone(),
            },
        );
        let database_url = self.provision(target.as_ref(), progress).await?;
        self.start_host(target.as_ref(), database_url, progress)
            .await?;
        let stage = self.world(progress).await?;
        let plugins = self.plugins(&stage, progress).await?;
        Ok((stage, plugins))
    }

    /// The started host (after [`Session::prepare`]).
    pub(crate) fn running_host(&self) -> Result<&RunningHost> {
        self.host()
    }

    /// The `--host` text, for reports.
    pub(crate) fn host_text(&self) -> &str {
        &self.options.host_text
    }

    /// Phases 2–4 of an upgrade run: the older host, its world, plugins and
    /// data; then the host under test on the same database, and the upgrade
    /// checks (alone, before anything else talks to it). The world and the
    /// plugins carry over: every later check runs on the upgraded data.
    #[allow(clippy::too_many_arguments)] // one call site; each is a distinct input of the phase
    async fn upgrade(
        &mut self,
        older: &HostSpec,
        chain: &[HostSpec],
        target: &dyn HostTarget,
        database_url: Option<String>,
        selected: &Catalog,
        results: &mut Vec<CheckResult>,
        progress: &Progress,
    ) -> Result<(Stage, Plugins)> {
        let old_target = target_for(older, &ExternalFacts::default());
        progress.step(format!(
            "upgrade: starting the older host {}",
            old_target.label()
        ));
        self.start_host(old_target.as_ref(), database_url.clone(), progress)
            .await?;
        let old_stage = self.world(progress).await?;
        let plugins = match self.plugins(&old_stage, progress).await? {
            Plugins::Installed(p) => p,
            Plugins::Refused(message) => {
                return Err(Error::HostStart(format!(
                    "the older host {} refused the smoke plugin, so there is nothing to upgrade: {message}",
                    old_target.label()
                )))
            }
        };
        let db = old_stage.db.clone().ok_or_else(|| {
            Error::Internal("an upgrade runs on a host the suite started, with a database".into())
        })?;
        let sdk = plugins.sdk_node_modules.clone().ok_or_else(|| {
            Error::HostStart(
                "the upgrade's probe plugins need the smoke plugin's SDK installation, which is missing".into(),
            )
        })?;
        let before = crate::upgrade::prepare(
            &old_stage.client,
            &db,
            &old_stage.world,
            &plugins.smoke,
            &old_stage.run_path.join("upgrade-plugins"),
            &sdk,
        )
        .await
        .map_err(|e| {
            Error::HostStart(format!(
                "preparing the upgrade on the older host failed: {e}"
            ))
        })?;
        self.stop_older_host(0, progress).await?;
        // The hosts between the oldest and the one under test each open the
        // database, migrate it and re-activate the plugins, then stop.
        for (step, between) in chain.iter().enumerate() {
            let between = target_for(between, &ExternalFacts::default());
            progress.step(format!("upgrade: starting {}", between.label()));
            self.start_host(between.as_ref(), database_url.clone(), progress)
                .await?;
            let host = self.host()?;
            let client = HostClient::new(&host.base_url, self.options.request_timeout)?;
            // Stopped only once it has re-activated the plugins (their
            // rows say ready all along; a running worker is the sign).
            for key in [&plugins.smoke.key, &before.probe_plugin.key] {
                if !crate::upgrade::until_worker_running(
                    &client,
                    &old_stage.world.board,
                    key,
                    Duration::from_secs(60),
                )
                .await
                {
                    return Err(Error::HostStart(format!(
                        "{} did not start the worker of plugin {key} within 60 s",
                        between.label()
                    )));
                }
            }
            self.stop_older_host(step + 1, progress).await?;
        }
        self.start_host(target, database_url, progress).await?;
        let host = self.host()?;
        let client = HostClient::new(&host.base_url, self.options.request_timeout)?;
        let stage = Stage {
            run_path: old_stage.run_path.clone(),
            client,
            db: old_stage.db.clone(),
            world: old_stage.world.clone(),
            profile: profile::for_version(host.info.version.as_deref()),
        };
        progress.step("upgrade checks (alone)");
        results.extend(
            crate::upgrade::verify(
                &stage.client,
                &db,
                &stage.world,
                &plugins.smoke,
                &before,
                &selected.upgrades,
                &self.options.repro_prefix,
            )
            .await,
        );
        Ok((stage, Plugins::Installed(plugins)))
    }

    /// Stops the host of upgrade step `step` and keeps its log: every host
    /// logs to host/server.log, and a start reads the listen line from it.
    async fn stop_older_host(&mut self, step: usize, progress: &Progress) -> Result<()> {
        progress.step("upgrade: stopping the older host");
        if let Some(host) = self.host.take() {
            host.stop().await?;
        }
        let log = self.run_path().join("host").join("server.log");
        if log.exists() {
            let kept = log.with_file_name(format!("server-upgrade-step-{step}.log"));
            std::fs::rename(&log, &kept).map_err(|e| Error::io("renaming", &log, e))?;
        }
        Ok(())
    }

    /// Phase 1: the run directory, and Postgres with the run's database
    /// when the host needs one. Returns the database URL.
    async fn provision(
        &mut self,
        target: &dyn HostTarget,
        progress: &Progress,
    ) -> Result<Option<String>> {
        let run_dir = setup::make_run_dir()?;
        progress.step(format!("run directory {}", run_dir.path().display()));
        let run_path = run_dir.path().to_path_buf();
        self.run_dir = Some(run_dir);
        if !target.needs_database() {
            return Ok(None);
        }
        let pg = PostgresServer::provision(&self.options.postgres, &run_path, progress).await?;
        progress.step(format!("postgres: {}", pg.description()));
        let pg = self.postgres.insert(pg);
        let db = pg.create_database("conformance").await?;
        progress.step(format!("database {} created", db.name));
        let url = db.url.clone();
        self.database = Some(db);
        Ok(Some(url))
    }

    /// Phase 2: the host under test, healthy.
    async fn start_host(
        &mut self,
        target: &dyn HostTarget,
        database_url: Option<String>,
        progress: &Progress,
    ) -> Result<()> {
        progress.step(format!("starting {}", target.label()));
        let ctx = crate::target::StartContext {
            run_dir: self.run_path(),
            cache_dir: &self.options.cache_dir,
            database_url: database_url.as_deref(),
            mode: self.options.mode,
            port: self.options.port,
            progress,
        };
        let host = target.start(&ctx).await?;
        progress.step(format!(
            "host {} {} ({}) ready at {}",
            host.info.kind,
            host.info.version.as_deref().unwrap_or("?"),
            host.mode.as_str(),
            host.base_url
        ));
        self.host = Some(host);
        Ok(())
    }

    /// Phase 3: the client, the host's database and the world over REST.
    async fn world(&mut self, progress: &Progress) -> Result<Stage> {
        let host = self.host()?;
        let client = HostClient::new(&host.base_url, self.options.request_timeout)?;
        let db_url = host
            .database_url
            .clone()
            .or(self.options.host_database_url.clone());
        // With a board token the host's database is someone else's: it is
        // read for row assertions and never written.
        let token = self.options.board_token.as_deref();
        let db = match (&db_url, token) {
            (Some(url), Some(_)) => Some(Arc::new(HostDb::connect_read_only(url).await?)),
            (Some(url), None) => Some(Arc::new(HostDb::connect(url).await?)),
            (None, _) => None,
        };
        let mode = host.mode;
        let run_path = self.run_path().to_path_buf();
        let adapter = crate::world::write_adapter_script(&run_path)?;
        // Kept before the world exists: a bootstrap that fails half-way has
        // already created things teardown must find.
        self.client = Some(client.clone());
        let world =
            Arc::new(World::bootstrap_as(&client, mode, db.as_deref(), adapter, token).await?);
        let host = self.host()?;
        if let Some(db) = &db {
            setup::same_database(db, &world, &host.base_url).await?;
        }
        progress.step("world ready: companies a, b; agents a1, a2, b1");
        Ok(Stage {
            run_path,
            client,
            db,
            world,
            profile: profile::for_version(host.info.version.as_deref()),
        })
    }

    /// Phase 4: the plugin under test and the fixture plugins.
    async fn plugins(&self, stage: &Stage, progress: &Progress) -> Result<Plugins> {
        setup::install_plugins(&self.options, self.host()?, stage, progress).await
    }

    /// Phase 5: scenarios and properties, side by side.
    async fn checks(
        &self,
        selected: &Catalog,
        stage: &Stage,
        plugins: &setup::Installed,
        progress: &Progress,
        on_check: &(dyn Fn(&CheckResult) + Sync),
    ) -> Vec<CheckResult> {
        let host = self.host.as_ref().expect("the host is started in phase 2");
        checks::run(
            &self.options,
            host,
            selected,
            stage,
            plugins,
            progress,
            on_check,
        )
        .await
    }

    /// Phase 6: the checks that restart the host, last and alone.
    async fn restarts(
        &mut self,
        selected: &Catalog,
        stage: &Stage,
        plugins: &setup::Installed,
        progress: &Progress,
    ) -> Vec<CheckResult> {
        if selected.restarts.is_empty() {
            return Vec::new();
        }
        progress.step("restart checks (alone)");
        let env = RestartEnv {
            client: &stage.client,
            db: stage.db.as_deref(),
            world: &stage.world,
            plugin: &plugins.smoke,
            repro_prefix: &self.options.repro_prefix,
        };
        let host = self.host.as_mut().expect("the host is started in phase 2");
        restart::run(host, &env, &selected.restarts).await
    }

    /// Phase 7: the baseline, then the report.
    fn report(
        &self,
        mut checks: Vec<CheckResult>,
        known_ids: &[String],
        profile: &Profile,
        started: Instant,
        progress: &Progress,
    ) -> Result<RunReport> {
        let host = self.host()?;
        let baseline_path = self.options.baseline.clone().or_else(|| {
            Baseline::discover(
                &self.options.scenarios_dir.join("baselines"),
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
            baseline.apply(&mut checks, known_ids);
        }
        let mut report = RunReport::new(
            &host.info,
            host.mode.as_str(),
            &self.options.host_text,
            checks,
            started.elapsed().as_millis() as u64,
        );
        let version = self.host.as_ref().and_then(|h| h.info.version.clone());
        report.run = Some(RunInfo {
            seed: format!("{:#x}", self.options.seed),
            cases: self.options.cases,
            profile: profile.name.to_string(),
            profile_verified_on: profile.verified_on.iter().map(|v| v.to_string()).collect(),
            profile_warning: profile.unverified_warning(version.as_deref()),
        });
        Ok(report)
    }

    fn host(&self) -> Result<&RunningHost> {
        self.host
            .as_ref()
            .ok_or_else(|| Error::Internal("the host is used before it was started".into()))
    }

    fn run_path(&self) -> &std::path::Path {
        self.run_dir
            .as_ref()
            .map(|d| d.path())
            .expect("the run directory is made in phase 1")
    }

    /// Releases everything the run created, in reverse order. Errors are
    /// collected rather than stopping the teardown half-way.
    pub async fn teardown(&mut self, progress: &Progress) -> Vec<Error> {
        let mut errors = Vec::new();
        let client = self.client.take();
        if let (Some(host), Some(client)) = (&self.host, client) {
            // A host the suite started goes away with its database; any
            // other one keeps what the run made unless the run removes it.
            if host.process.is_none() {
                let deletion = host.health.pointer("/features/companyDeletionEnabled")
                    == Some(&serde_json::Value::Bool(true));
                let pids = self.run_dir.as_ref().map(|d| d.path().join("adapter-pids"));
                self.left_on_host =
                    crate::cleanup::clean_up(&client, deletion, pids.as_deref(), progress).await;
            }
        }
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

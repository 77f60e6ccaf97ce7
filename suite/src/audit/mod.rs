//! `conformance audit`: an attack catalog graded against security rules.
//!
//! A conformance run asks whether a host behaves like the reference host;
//! the audit asks where a caller or a plugin can reach what it should not,
//! on any host, the reference one included. It sets up exactly what a run
//! sets up (the run's [`Session`]: Postgres, the host, the world, the
//! plugins, teardown), installs its own fixture plugins ([`fixture`]), runs
//! every probe of the catalog (`scenarios/audit/*.toml`, [`catalog`])
//! through the scenario runner, and grades each against its rule
//! ([`grade`]). Findings can be accepted with a reason ([`accept`]); the
//! report is JSON and a summary per family ([`report`]), or SARIF
//! ([`sarif`]).

pub mod accept;
pub mod actors;
pub mod catalog;
pub mod fixture;
pub mod grade;
pub mod report;
pub mod rule;
pub mod sarif;

use std::path::PathBuf;
use std::time::Instant;

use futures::StreamExt;

use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::report::HostReport;
use crate::run::{Plugins, Session};
use crate::scenario::runner::{run_scenario, RunContext};

pub use catalog::Catalog;
pub use grade::{ProbeResult, Verdict};
pub use report::AuditReport;
pub use rule::{Family, Rule, Severity};

/// What an audit is configured with besides the run's options.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// The catalog directory (default `scenarios/audit`).
    pub catalog_dir: PathBuf,
    pub fail_on: Severity,
    pub accept: Option<PathBuf>,
    /// `--only` patterns (probe, rule, family, `severity:LEVEL`).
    pub only: Vec<String>,
    pub jobs: usize,
    /// Command prefix that replays one probe (` --only ID` is appended).
    pub replay_prefix: String,
}

/// Loads the catalog and the accept file: both are checked before any host
/// starts, so a mistake in either is exit 2 with its file and line.
pub fn load(opts: &AuditOptions) -> Result<(Catalog, Catalog, Option<accept::AcceptFile>)> {
    let all = Catalog::load(&opts.catalog_dir)?;
    let selected = all.clone().select(&opts.only)?;
    let accept = opts
        .accept
        .as_deref()
        .map(accept::AcceptFile::load)
        .transpose()?;
    Ok((all, selected, accept))
}

/// Runs the audit on the session's host. `on_result` sees each probe's
/// result as it completes. Teardown stays with the caller, as for a run.
pub async fn execute(
    session: &mut Session,
    opts: &AuditOptions,
    progress: &Progress,
    on_result: &(dyn Fn(&ProbeResult) + Sync),
) -> Result<AuditReport> {
    let started = Instant::now();
    let (all, selected, accept) = load(opts)?;
    let (stage, plugins) = session.prepare(progress).await?;
    let plugins = match plugins {
        Plugins::Installed(p) => p,
        Plugins::Refused(message) => {
            return Err(Error::HostStart(format!(
                "the host refused the smoke plugin, so no probe can run: {message}"
            )))
        }
    };
    let sdk = plugins.sdk_node_modules.clone().ok_or_else(|| {
        Error::HostStart(
            "the audit's fixture plugins need the smoke plugin's SDK installation, which is missing".into(),
        )
    })?;
    let fixtures = fixture::install(
        &stage.client,
        &stage.world,
        &stage.run_path.join("audit-plugins"),
        &sdk,
    )
    .await?;
    progress.step(format!(
        "audit fixtures installed: {}",
        fixtures
            .iter()
            .map(|p| p.key.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let markers = actors::make(&stage.client, stage.db.as_deref(), &stage.world).await?;
    let host = session.running_host()?;
    let vars = crate::run::scenario_vars(&stage, &plugins, host);
    let ctx = RunContext {
        client: &stage.client,
        world: &stage.world,
        db: stage.db.as_deref(),
        host_version: host.info.version.as_deref(),
        vars: &vars,
        repro_prefix: &opts.replay_prefix,
    };
    progress.step(format!(
        "running {} audit probes of {} rules ({} at a time)",
        selected.probes.len(),
        selected.rules.len(),
        opts.jobs.max(1)
    ));
    let mut results: Vec<(usize, ProbeResult)> =
        futures::stream::iter(selected.probes.iter().enumerate())
            .map(|(i, probe)| {
                let ctx = &ctx;
                let all = &all;
                let markers = &markers;
                async move {
                    let check = match actors::bind(&probe.scenario, markers) {
                        Ok(scenario) => run_scenario(&scenario, ctx).await,
                        Err(missing) => probe.scenario.meta.skipped(
                            &opts.replay_prefix,
                            format!(
                                "needs @{missing}@, which the audit makes only in authenticated mode on a host database it may write"
                            ),
                        ),
                    };
                    let rule = all
                        .rule(&probe.rule)
                        .expect("the catalog resolved every probe's rule when it loaded");
                    let replay = format!("{} --only {}", opts.replay_prefix, probe.id());
                    let graded = grade::grade(probe, rule, check, replay);
                    on_result(&graded);
                    (i, graded)
                }
            })
            .buffer_unordered(opts.jobs.max(1))
            .collect()
            .await;
    if let Some(why) = stage.client.stopped_answering() {
        return Err(Error::HostStoppedAnswering(why));
    }
    results.sort_by_key(|(i, _)| *i);
    let mut results: Vec<ProbeResult> = results.into_iter().map(|(_, r)| r).collect();
    let stale = match &accept {
        Some(file) => file.apply(&mut results, &all),
        None => Vec::new(),
    };
    let host = session.running_host()?;
    let report = AuditReport::new(
        HostReport {
            kind: host.info.kind.clone(),
            version: host.info.version.clone(),
            mode: host.mode.as_str().to_string(),
            spec: session.host_text().to_string(),
        },
        opts.fail_on,
        all.rules.clone(),
        results,
        stale,
        started.elapsed().as_millis() as u64,
    );
    Ok(report)
}

/// One line per probe result, as the audit prints them while it runs.
pub fn result_line(r: &ProbeResult) -> String {
    let tag = match r.verdict {
        Verdict::Held => "held".to_string(),
        Verdict::Finding => format!("FINDING {}", r.severity.as_str()),
        Verdict::NotApplicable => "n/a".to_string(),
        Verdict::Inconclusive => "INCONCLUSIVE".to_string(),
    };
    format!("{tag:<16} {} [{}]", r.probe, r.rule)
}

#[cfg(test)]
mod tests;

//! Phase 5: scenarios and properties, side by side; and the results of a
//! run whose host refused the plugin.

use std::sync::Arc;

use futures::StreamExt;

use super::setup::Installed;
use super::{RunOptions, Stage};
use crate::check::catalog::Catalog;
use crate::check::{CheckResult, Failure, Level, Status};
use crate::profile::Profile;
use crate::progress::Progress;
use crate::property::{PropertyConfig, PropertyEnv};
use crate::scenario::runner::{run_scenario, RunContext};
use crate::scenario::vars::Vars;
use crate::target::RunningHost;

/// The variables a scenario or an audit probe may name: the world's ids
/// and keys, the smoke plugin's, and the host's address, kind and version.
pub(crate) fn scenario_vars(stage: &Stage, plugins: &Installed, host: &RunningHost) -> Vars {
    let mut vars = Vars::new();
    stage.world.export(&mut vars);
    plugins.smoke.export(&mut vars);
    vars.set("host.base_url", host.base_url.clone());
    vars.set("host.kind", host.info.kind.clone());
    vars.set(
        "host.version",
        host.info.version.clone().unwrap_or_default(),
    );
    vars
}

/// Runs the selected scenarios (`jobs` at a time) and properties (each on a
/// blocking thread of its own: proptest is synchronous) concurrently.
pub(super) async fn run(
    opts: &RunOptions,
    host: &RunningHost,
    selected: &Catalog,
    stage: &Stage,
    plugins: &Installed,
    progress: &Progress,
    on_check: &(dyn Fn(&CheckResult) + Sync),
) -> Vec<CheckResult> {
    let vars = scenario_vars(stage, plugins, host);
    let run_ctx = RunContext {
        client: &stage.client,
        world: &stage.world,
        db: stage.db.as_deref(),
        host_version: gate_version(host.info.version.as_deref(), stage.profile),
        vars: &vars,
        repro_prefix: &opts.repro_prefix,
    };
    let env = Arc::new(PropertyEnv {
        client: stage.client.clone(),
        world: stage.world.clone(),
        db: stage.db.clone(),
        plugin: plugins.smoke.clone(),
        probe: plugins.probe.clone(),
        profile: stage.profile,
        work_dir: stage.run_path.join("generated-plugins"),
        sdk_node_modules: plugins.sdk_node_modules.clone(),
        handle: tokio::runtime::Handle::current(),
        repro_prefix: opts.repro_prefix.clone(),
    });
    let config = PropertyConfig {
        cases: opts.cases,
        seed: opts.seed,
        case_jobs: opts.jobs.max(1),
    };
    let property_tasks: Vec<_> = selected
        .properties
        .iter()
        .map(|p| {
            let env = env.clone();
            let property = p.clone();
            let task = tokio::task::spawn_blocking(move || property.check(&env, &config));
            (p.meta(), task)
        })
        .collect();
    progress.step(format!(
        "running {} scenarios ({} at a time) and {} properties ({} cases each, seed {:#x}, profile {})",
        selected.scenarios.len(),
        opts.jobs.max(1),
        property_tasks.len(),
        opts.cases,
        opts.seed,
        stage.profile.name
    ));
    let mut results: Vec<(usize, CheckResult)> =
        futures::stream::iter(selected.scenarios.iter().enumerate())
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
    for (meta, task) in property_tasks {
        // A property that panics is a bug of the suite, not of the host, but
        // it must not throw away every other result: it becomes a failed
        // check that says so.
        let result = match task.await {
            Ok(result) => result,
            Err(e) => {
                let mut r = meta.result(&opts.repro_prefix);
                r.status = Status::Failed;
                r.failure = Some(Failure::new(
                    "property",
                    format!(
                        "internal error: the property panicked ({}); please report it with the seed {:#x}",
                        panic_message(e),
                        opts.seed
                    ),
                ));
                r
            }
        };
        on_check(&result);
        checks.push(result);
    }
    checks
}

fn panic_message(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into()),
        Err(e) => e.to_string(),
    }
}

/// The results when the host refused the bundled smoke plugin: the install
/// check fails with the host's answer, every other selected check —
/// restart checks included — is reported as skipped, so the report and the
/// baseline still see every check.
pub(super) fn install_refused(
    selected: &Catalog,
    message: &str,
    repro_prefix: &str,
) -> Vec<CheckResult> {
    const INSTALL: &str = "plugin.install-health";
    let reason = "the host refused the smoke plugin (see plugin.install-health)";
    let mut metas = selected.metas();
    let install = match metas.iter().position(|m| m.id == INSTALL) {
        Some(i) => metas.remove(i),
        None => {
            let mut meta = crate::check::CheckMeta::new(
                crate::check::CheckKind::Scenario,
                INSTALL,
                "The smoke plugin installs",
                "contract-http.md §3.5",
            );
            meta.level = Level::Must;
            meta
        }
    };
    let mut failed = install.result(repro_prefix);
    // A refused install is a broken contract at any level.
    failed.status = Status::Failed;
    failed.failure = Some(Failure {
        step: "install the smoke plugin".into(),
        message: message.to_string(),
        expected: Some(serde_json::json!({ "status": 200, "plugin": { "status": "ready" } })),
        actual: None,
        exchange: None,
    });
    let mut checks = vec![failed];
    checks.extend(metas.iter().map(|m| m.skipped(repro_prefix, reason)));
    checks
}

/// The version a scenario's `versions` gate is held against. A host that
/// reports no release version (the mock, an authenticated 2026.707.0 asked
/// anonymously) behaves as its profile, so it is gated as the first
/// version that profile was verified on: the mock, which plays 2026.707,
/// runs the scenarios written for 2026.707.0 and not those of later
/// releases.
fn gate_version<'a>(reported: Option<&'a str>, profile: &'static Profile) -> Option<&'a str> {
    reported
        .filter(|v| crate::version::parse_loose(v).is_some())
        .or_else(|| profile.verified_on.first().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_plugin_still_reports_every_check_restarts_included() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        let catalog = Catalog::load(&dir).unwrap();
        let total = catalog.len();
        let results = install_refused(&catalog, "refused", "conformance run --host mock");
        assert_eq!(results.len(), total);
        assert_eq!(results[0].id, "plugin.install-health");
        assert_eq!(results[0].status, Status::Failed);
        assert!(results
            .iter()
            .any(|r| r.id == "restart.plugin-state-kept" && r.status == Status::Skipped));
    }
}

#[cfg(test)]
mod gate_tests {
    use super::gate_version;
    use crate::profile::for_version;

    #[test]
    fn a_host_without_a_release_version_is_gated_as_its_profile() {
        assert_eq!(
            gate_version(Some("mock-0.1.0"), for_version(Some("mock-0.1.0"))),
            Some("2026.707.0")
        );
        assert_eq!(gate_version(None, for_version(None)), Some("2026.707.0"));
        assert_eq!(
            gate_version(Some("2026.916.1"), for_version(Some("2026.916.1"))),
            Some("2026.916.1")
        );
    }
}

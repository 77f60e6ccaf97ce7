//! `conformance`: the command-line entry point.
//!
//! Exit codes: 0 when every must-level check passed, 1 when a check failed,
//! 2 when the run itself could not be set up (with one sentence saying why).

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use conformance::cli::{
    default_cache_dir, default_scenarios_dir, AuditArgs, Cli, Command, DiffArgs, Format, ListArgs,
    RunArgs,
};
use conformance::postgres::PostgresOptions;
use conformance::progress::{colors_enabled, Progress};
use conformance::report::{human, json, junit};
use conformance::run::{RunOptions, Session};
use conformance::target::{DeploymentMode, HostSpec};
use conformance::{Error, Result};

fn main() -> ExitCode {
    // `conformance mock-host …` is the mock host's own command line (flags,
    // ready line, signals), so it is handed over before the suite's parser,
    // which does not know its flags. The suite starts the mock this way
    // (`target/mock.rs`).
    if std::env::args_os().nth(1).is_some_and(|a| a == "mock-host") {
        let program = std::ffi::OsString::from("conformance mock-host");
        return mock_host::cli::main_with_args(
            std::iter::once(program).chain(std::env::args_os().skip(2)),
        );
    }
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let code = match cli.command {
        Command::List(args) => list(args),
        Command::Diff(args) => diff(args),
        Command::Run(args) => runtime.block_on(run(*args)),
        Command::Audit(args) => runtime.block_on(audit(*args)),
    };
    // Property checks run on blocking threads; after an interrupt they may
    // still be working against a host that is gone. Teardown is done by now,
    // so do not wait for them.
    runtime.shutdown_background();
    code
}

/// `conformance diff BASE HEAD`: 0 without regressions, 1 with, 2 when a
/// report cannot be read.
fn diff(args: DiffArgs) -> ExitCode {
    use conformance::report::diff;
    let read = |p: &std::path::Path| diff::read_report(p);
    match (read(&args.base), read(&args.head)) {
        (Ok(base), Ok(head)) => {
            let d = diff::diff(&base, &head);
            print!("{}", d.render());
            ExitCode::from(if d.regressions() > 0 { 1 } else { 0 })
        }
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn list(args: ListArgs) -> ExitCode {
    let dir = args.scenarios.unwrap_or_else(default_scenarios_dir);
    match conformance::check::catalog::Catalog::load(&dir) {
        Ok(catalog) => {
            for meta in catalog.metas() {
                let level = match meta.level {
                    conformance::check::Level::Must => "must",
                    conformance::check::Level::Should => "should",
                };
                let kind = match meta.kind {
                    conformance::check::CheckKind::Scenario => "",
                    conformance::check::CheckKind::Property => " (property)",
                    conformance::check::CheckKind::Restart => " (restarts the host; runs last)",
                    conformance::check::CheckKind::Upgrade => " (with --upgrade-from; runs first)",
                };
                println!("{:<44} {level:<6} {}{kind}", meta.id, meta.title);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn options(args: &RunArgs) -> Result<RunOptions> {
    let host: HostSpec = args.host.parse()?;
    // A report that cannot be written is refused before the run, not after.
    if let Some(path) = &args.html {
        conformance::report::html::check_destination(path)?;
    }
    let mut repro = format!(
        "cargo run --release -p conformance -- run --host {}",
        args.host
    );
    if args.mode != DeploymentMode::LocalTrusted {
        repro.push_str(&format!(" --mode {}", args.mode.as_str()));
    }
    if let Some(p) = &args.plugin {
        repro.push_str(&format!(" --plugin {}", p.display()));
    }
    // Everything else the run needed to reach the same host and checks.
    if let Some(dir) = &args.scenarios {
        repro.push_str(&format!(" --scenarios {}", dir.display()));
    }
    if let Some(url) = &args.host_database_url {
        // A password stays out of reports: the replay reads it from the
        // environment variable the option also accepts.
        let authority = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
        let has_password = authority
            .split_once('@')
            .is_some_and(|(user, _)| user.contains(':'));
        if has_password {
            repro.push_str(" --host-database-url \"$CONFORMANCE_HOST_DATABASE_URL\"");
        } else {
            repro.push_str(&format!(" --host-database-url {url}"));
        }
    }
    if let Some(version) = &args.host_version {
        repro.push_str(&format!(" --host-version {version}"));
    }
    if args.board_token.is_some() && !matches!(host, HostSpec::Url { .. }) {
        return Err(Error::Usage(
            "--board-token is for a host that is already running (--host url=…); the suite makes its own board on the hosts it starts".into(),
        ));
    }
    if args.board_token.is_some() {
        // A secret: the replay reads it from the environment.
        repro.push_str(" --board-token \"$CONFORMANCE_BOARD_TOKEN\"");
    }
    if let Some(version) = &args.sdk_version {
        repro.push_str(&format!(" --sdk-version {version}"));
    }
    if args.request_timeout != 30 {
        repro.push_str(&format!(" --request-timeout {}", args.request_timeout));
    }
    if let Some(baseline) = &args.baseline {
        repro.push_str(&format!(" --baseline {}", baseline.display()));
    }
    let upgrade_from = args
        .upgrade_from
        .as_deref()
        .map(|chain| {
            chain
                .split(',')
                .map(|from| upgrade_source(&host, from.trim()))
                .collect::<Result<Vec<_>>>()
        })
        .transpose()?
        .unwrap_or_default();
    if let Some(from) = &args.upgrade_from {
        repro.push_str(&format!(" --upgrade-from {from}"));
    }
    let seed = match &args.seed {
        Some(text) => conformance::property::parse_seed(text).map_err(Error::Usage)?,
        None => conformance::property::random_seed(),
    };
    Ok(RunOptions {
        cases: args.cases,
        baseline: args.baseline.clone(),
        seed,
        host,
        host_text: args.host.clone(),
        mode: args.mode,
        port: args.port,
        plugin: args.plugin.clone().map(|p| p.canonicalize().unwrap_or(p)),
        scenarios_dir: args.scenarios.clone().unwrap_or_else(default_scenarios_dir),
        only: args.only.clone(),
        postgres: PostgresOptions {
            admin_url: args.database_url.clone().filter(|u| !u.is_empty()),
            no_docker: args.no_docker,
            template_cache: Some(
                args.cache_dir
                    .clone()
                    .unwrap_or_else(default_cache_dir)
                    .join("postgres-templates"),
            ),
        },
        host_database_url: args.host_database_url.clone(),
        cache_dir: args.cache_dir.clone().unwrap_or_else(default_cache_dir),
        host_version: args.host_version.clone(),
        board_token: args.board_token.clone().filter(|t| !t.is_empty()),
        keep_run_dir: args.keep_run_dir,
        jobs: args.jobs,
        request_timeout: Duration::from_secs(args.request_timeout.max(1)),
        sdk_version: args.sdk_version.clone(),
        repro_prefix: repro,
        upgrade_from,
        shard: args.shard.as_deref().map(str::parse).transpose()?,
    })
}

/// The older host of `--upgrade-from`: a published version for a real host,
/// `mock` for the mock (a clean mock, stopped and started again as the host
/// under test).
fn upgrade_source(host: &HostSpec, from: &str) -> Result<HostSpec> {
    match host {
        HostSpec::Paperclip { .. } => {
            let spec = if from.starts_with("paperclip@") {
                from.to_string()
            } else {
                format!("paperclip@{from}")
            };
            spec.parse()
        }
        HostSpec::Mock { .. } if from == "mock" => Ok(HostSpec::Mock {
            defects: Vec::new(),
            plays: None,
        }),
        HostSpec::Mock { .. } => Err(Error::Usage(format!(
            "--upgrade-from {from} does not fit --host mock: use --upgrade-from mock"
        ))),
        HostSpec::Url { .. } => Err(Error::Usage(
            "--upgrade-from needs a host the suite starts (paperclip@VERSION or mock), not url="
                .into(),
        )),
    }
}

async fn run(args: RunArgs) -> ExitCode {
    let options = match options(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let progress = Progress::stderr(args.quiet);
    let human_out = args.format == Format::Human;
    let color = colors_enabled(std::io::IsTerminal::is_terminal(&std::io::stdout()));
    let on_check = move |check: &conformance::check::CheckResult| {
        let line = human::check_line(check, color);
        if human_out {
            println!("{line}");
        } else {
            // Keep stdout pure JSON; show progress on stderr instead.
            eprintln!("{line}");
        }
    };

    let mut session = Session::new(options);
    let outcome = tokio::select! {
        r = session.execute(&progress, &on_check) => r,
        _ = shutdown_signal() => Err(Error::Interrupted),
    };
    if matches!(outcome, Err(Error::Interrupted)) {
        progress.step("interrupted: tearing down");
    }
    let teardown_errors = session.teardown(&progress).await;
    for e in &teardown_errors {
        eprintln!("warning: teardown: {e}");
    }
    // The human report lists them; otherwise (a failed or interrupted run,
    // JSON on stdout) stderr does, since the host keeps them either way.
    if outcome.is_err() || !human_out {
        for line in session.left_on_host() {
            eprintln!("left on the host: {line}");
        }
    }

    let report = match outcome {
        Ok(mut report) => {
            report.left_on_host = session.left_on_host().to_vec();
            report
        }
        Err(Error::Interrupted) => {
            eprintln!("error: interrupted; everything the run started has been stopped");
            return ExitCode::from(130);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut code = if report.failed() { 1 } else { 0 };
    if let Some(path) = &args.junit {
        if let Err(e) = std::fs::write(path, junit::render(&report)) {
            eprintln!("error: writing the JUnit report to {}: {e}", path.display());
            code = 2;
        }
    }
    if let Some(path) = &args.json {
        if let Err(e) = std::fs::write(path, json::render(&report)) {
            eprintln!("error: writing the JSON report to {}: {e}", path.display());
            code = 2;
        }
    }
    if let Some(path) = &args.html {
        if let Err(e) = conformance::report::html::write_run(&report, path) {
            eprintln!("error: {e}");
            code = 2;
        }
    }
    let mut stdout = std::io::stdout().lock();
    let _ = match args.format {
        Format::Human => write!(stdout, "{}", human::render(&report, color)),
        Format::Json => writeln!(stdout, "{}", json::render(&report)),
    };
    ExitCode::from(code)
}

/// `conformance audit`: 0 when no unaccepted finding reaches `--fail-on`
/// and no accept entry is stale, 1 otherwise, 2 when it cannot be set up.
async fn audit(args: AuditArgs) -> ExitCode {
    use conformance::audit::{self, AuditOptions};
    let run = &args.run;
    let options = match options(run) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let audit_options = AuditOptions {
        catalog_dir: args
            .catalog
            .clone()
            .unwrap_or_else(|| options.scenarios_dir.join("audit")),
        fail_on: args.fail_on,
        accept: args.accept.clone(),
        only: run.only.clone(),
        jobs: run.jobs,
        replay_prefix: options.repro_prefix.replacen(" -- run ", " -- audit ", 1),
    };
    // The catalog and the accept file are checked before anything starts.
    if let Err(e) = audit::load(&audit_options) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let progress = Progress::stderr(run.quiet);
    let human_out = run.format == Format::Human;
    let on_result = move |r: &audit::ProbeResult| {
        let line = audit::result_line(r);
        if human_out {
            println!("{line}");
        } else {
            eprintln!("{line}");
        }
    };
    // The run's own checks do not run: only its set-up and teardown.
    let mut session = Session::new(RunOptions {
        only: Vec::new(),
        ..options
    });
    let outcome = tokio::select! {
        r = audit::execute(&mut session, &audit_options, &progress, &on_result) => r,
        _ = shutdown_signal() => Err(Error::Interrupted),
    };
    if matches!(outcome, Err(Error::Interrupted)) {
        progress.step("interrupted: tearing down");
    }
    for e in session.teardown(&progress).await {
        eprintln!("warning: teardown: {e}");
    }
    let mut report = match outcome {
        Ok(report) => report,
        Err(Error::Interrupted) => {
            eprintln!("error: interrupted; everything the audit started has been stopped");
            return ExitCode::from(130);
        }
        Err(e) => {
            for line in session.left_on_host() {
                eprintln!("left on the host: {line}");
            }
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    report.left_on_host = session.left_on_host().to_vec();
    let mut code = if report.failed() { 1 } else { 0 };
    let writes = [
        (run.json.as_ref(), "JSON", report.to_json()),
        (args.sarif.as_ref(), "SARIF", audit::sarif::to_json(&report)),
        (
            run.html.as_ref(),
            "HTML",
            conformance::report::html::render_audit(&report),
        ),
    ];
    for (path, what, text) in writes {
        if let Some(path) = path {
            if let Err(e) = std::fs::write(path, text) {
                eprintln!(
                    "error: writing the {what} report to {}: {e}",
                    path.display()
                );
                code = 2;
            }
        }
    }
    let mut stdout = std::io::stdout().lock();
    let _ = match run.format {
        Format::Human => write!(stdout, "{}", report.render()),
        Format::Json => writeln!(stdout, "{}", report.to_json()),
    };
    ExitCode::from(code)
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

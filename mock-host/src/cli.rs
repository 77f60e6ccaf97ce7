//! The `mock-host` command line, shared by the `mock-host` binary and the
//! `conformance mock-host …` subcommand so both start the host the same way.
//!
//! Protocol with whoever starts it: once the listener is bound it prints one
//! line `PAPERCLIP_BASE_URL=http://127.0.0.1:PORT` on stdout (the real port,
//! also with `--port 0`) and flushes; logs go to stderr. SIGINT or SIGTERM
//! stop the server and every plugin worker (exit 0). Bad input or a host
//! that cannot start: one sentence on stderr, exit 2.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use crate::config::{Config, Defect, Defects, DeploymentMode};
use crate::plays::Plays;

#[derive(Parser, Debug)]
#[command(
    name = "mock-host",
    version,
    about = "A Paperclip plugin host on Postgres (conformance mock)"
)]
struct Cli {
    /// Postgres URL of the host's database (the schema is applied there).
    #[arg(long, env = "DATABASE_URL", required_unless_present = "list_defects")]
    database_url: Option<String>,
    /// Port on 127.0.0.1 (0 = any free port; the ready line names it).
    #[arg(long, default_value_t = 3900)]
    port: u16,
    /// Deployment mode, as `PAPERCLIP_DEPLOYMENT_MODE` of the real host.
    #[arg(long, value_enum, default_value_t = DeploymentMode::LocalTrusted)]
    mode: DeploymentMode,
    /// Switch on a deliberate deviation (repeatable; see --list-defects).
    #[arg(long = "defect", value_name = "NAME", value_parser = parse_defect)]
    defects: Vec<Defect>,
    /// Print every defect as `name<TAB>description` and exit.
    #[arg(long)]
    list_defects: bool,
    /// Answer as this Paperclip release where the host services changed
    /// after 2026.707.0, and report its version (e.g. 2026.916.1).
    #[arg(long, value_name = "VERSION", value_parser = parse_plays)]
    plays: Option<Plays>,
    /// node binary for manifests and workers.
    #[arg(long, default_value = "node")]
    node: PathBuf,
}

/// clap value parser for `--plays`.
fn parse_plays(version: &str) -> Result<Plays, String> {
    Plays::release(version).map_err(|e| e.to_string())
}

/// clap value parser: the message is the one sentence the user sees.
fn parse_defect(name: &str) -> Result<Defect, String> {
    Defect::parse(name).map_err(|e| e.to_string())
}

/// Runs the command line. `args` starts with the program name, as
/// `std::env::args_os()` does.
pub fn main_with_args<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version land here too (exit 0); clap's own error
            // text is one sentence plus a usage hint.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    if cli.list_defects {
        return list_defects();
    }
    init_tracing();
    const WORKER_STACK: usize = 64 * 1024 * 1024;
    let mut config = Config::new(cli.database_url.unwrap_or_default());
    config.port = cli.port;
    config.mode = cli.mode;
    config.defects = cli.defects.into_iter().collect::<Defects>();
    config.plays = cli.plays.unwrap_or_default();
    config.node = cli.node;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Request bodies nest as deep as the real host takes them (4,000
        // levels, http::pipeline), and parsing and dropping them recurses:
        // 2 MiB overflow in a debug build.
        .thread_stack_size(WORKER_STACK)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("could not start the async runtime: {e}")),
    };
    runtime.block_on(serve_until_signal(config))
}

fn list_defects() -> ExitCode {
    let mut out = std::io::stdout().lock();
    for d in Defect::iter() {
        if writeln!(out, "{}\t{}", d.name(), d.description()).is_err() {
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

fn init_tracing() {
    // Colours only on a terminal: the suite sends stderr to server.log.
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    // `try_init`: a second call in one process (tests) keeps the first.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "mock_host=info".into()),
        )
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .try_init();
}

fn fail(sentence: &str) -> ExitCode {
    eprintln!("mock-host: {sentence}");
    ExitCode::from(2)
}

async fn serve_until_signal(config: Config) -> ExitCode {
    // Installed before serving so a signal right after the ready line is
    // never missed.
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => return fail(&format!("could not install the SIGTERM handler: {e}")),
    };
    let handle = match crate::serve(config).await {
        Ok(h) => h,
        Err(e) => return fail(&e.to_string()),
    };
    // `serve` returns once the listener is bound, so the port is final.
    let mut out = std::io::stdout().lock();
    let ready =
        writeln!(out, "PAPERCLIP_BASE_URL={}", handle.base_url()).and_then(|()| out.flush());
    drop(out);
    if let Err(e) = ready {
        handle.shutdown().await;
        return fail(&format!("could not write the ready line to stdout: {e}"));
    }
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    handle.shutdown().await;
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_flag() {
        let cli = Cli::try_parse_from([
            "mock-host",
            "--database-url",
            "postgres://x/y",
            "--port",
            "0",
            "--mode",
            "authenticated",
            "--defect",
            "unknown-route-503",
            "--defect",
            "ignore-checksum",
            "--node",
            "/usr/bin/node",
        ])
        .unwrap();
        assert_eq!(cli.port, 0);
        assert_eq!(cli.mode, DeploymentMode::Authenticated);
        assert_eq!(
            cli.defects,
            [Defect::UnknownRoute503, Defect::IgnoreChecksum]
        );
        assert_eq!(cli.node, PathBuf::from("/usr/bin/node"));
    }

    #[test]
    fn bad_input_is_a_usage_error() {
        for args in [
            &["mock-host", "--database-url", "x", "--mode", "open"][..],
            &["mock-host", "--database-url", "x", "--defect", "nope"][..],
        ] {
            let e = Cli::try_parse_from(args).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{e}");
        }
        let e = Cli::try_parse_from(["mock-host", "--database-url", "x", "--defect", "nope"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown defect 'nope'"), "{e}");
        let e = Cli::try_parse_from(["mock-host", "--database-url", "x", "--plays", "916"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a Paperclip release version"), "{e}");
    }

    #[test]
    fn plays_takes_a_release() {
        let cli =
            Cli::try_parse_from(["mock-host", "--database-url", "x", "--plays", "2026.916.1"])
                .unwrap();
        let plays = cli.plays.expect("parsed");
        assert_eq!(plays.version.as_deref(), Some("2026.916.1"));
        assert!(plays.issue_title_trimmed());
    }
}

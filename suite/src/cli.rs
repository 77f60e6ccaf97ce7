//! Command-line interface.

use std::path::PathBuf;

use crate::target::DeploymentMode;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Conformance suite for the Paperclip plugin orchestration host API.
#[derive(Debug, Parser)]
#[command(name = "conformance", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the checks against a host.
    Run(Box<RunArgs>),
    /// List the checks (scenario ids, levels and titles).
    List(ListArgs),
    /// Compare two JSON reports check by check: exit 1 on a regression.
    Diff(DiffArgs),
    /// Run the attack catalog (scenarios/audit) and grade it against security rules.
    Audit(Box<AuditArgs>),
}

/// `conformance audit`: the host, Postgres and mode options of `run`, and
/// how findings fail the audit.
#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub run: RunArgs,

    /// Exit 1 when a finding that is not accepted reaches this severity.
    #[arg(long, value_enum, default_value = "high")]
    pub fail_on: crate::audit::Severity,

    /// Accepted findings with their reasons (TOML, `[[accepted]] finding, reason`);
    /// an entry that matches no finding fails the audit as stale.
    #[arg(long)]
    pub accept: Option<PathBuf>,

    /// Also write the findings as SARIF 2.1.0 to this file.
    #[arg(long)]
    pub sarif: Option<PathBuf>,

    /// Audit catalog directory (default: the scenarios directory's audit/).
    #[arg(long)]
    pub catalog: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The report to compare against (e.g. main's).
    pub base: PathBuf,
    /// The report under review (e.g. the pull request's).
    pub head: PathBuf,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Host under test: paperclip@VERSION, url=http://127.0.0.1:PORT or mock
    /// (the default: the bundled mock host, no install needed).
    #[arg(long, default_value = "mock")]
    pub host: String,

    /// Deployment mode to start the host in (paperclip and mock hosts).
    #[arg(long, value_enum, default_value = "local_trusted")]
    pub mode: DeploymentMode,

    /// Port on 127.0.0.1 for the host (default: a free one). A busy port is an error.
    #[arg(long)]
    pub port: Option<u16>,

    /// Plugin package directory to install instead of the bundled smoke plugin.
    #[arg(long)]
    pub plugin: Option<PathBuf>,

    /// Scenario directory (default: the repository's scenarios/).
    #[arg(long)]
    pub scenarios: Option<PathBuf>,

    /// Run only these checks: an id, a prefix (`smoke.`), or `tag:NAME`. Repeatable.
    #[arg(long)]
    pub only: Vec<String>,

    /// Run shard K of N (`2/3`): a deterministic split of the checks, for a
    /// CI matrix; the shards together are exactly the full run. Restart and
    /// upgrade checks stay with shard 1.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,

    /// Output format on stdout.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,

    /// Also write the JSON report to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,

    /// Write a JUnit XML report to this file.
    #[arg(long)]
    pub junit: Option<PathBuf>,

    /// Also write a self-contained HTML report to this file: the summary,
    /// the route declarations × callers matrix as a picture, and every
    /// failure with its exchange and replay command.
    #[arg(long)]
    pub html: Option<PathBuf>,

    /// Admin URL of a PostgreSQL server for the run's database.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Do not try testcontainers even when a Docker daemon answers.
    #[arg(long)]
    pub no_docker: bool,

    /// Version of a url= host whose /api/health does not report one
    /// (authenticated 2026.707.0): picks the version profile and the plugin SDK.
    #[arg(long, env = "CONFORMANCE_HOST_VERSION")]
    pub host_version: Option<String>,

    /// Board API key (pcp_board_…) of an instance admin of an authenticated
    /// url= host: the board acts with it, no user is signed up and the
    /// host's database is only read.
    #[arg(long, env = "CONFORMANCE_BOARD_TOKEN", hide_env_values = true)]
    pub board_token: Option<String>,

    /// Database of a url= host, for row assertions.
    #[arg(long, env = "CONFORMANCE_HOST_DATABASE_URL", hide_env_values = true)]
    pub host_database_url: Option<String>,

    /// Cache for npm installs of hosts and node (reused across runs).
    #[arg(long, env = "CONFORMANCE_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Keep the run directory (logs, plugin copy) instead of deleting it.
    #[arg(long)]
    pub keep_run_dir: bool,

    /// Checks run at once.
    #[arg(long, default_value_t = 4)]
    pub jobs: usize,

    /// Seconds before a request to the host counts as hung.
    #[arg(long, default_value_t = 30)]
    pub request_timeout: u64,

    /// Install the plugin with this @paperclipai/plugin-sdk version.
    #[arg(long)]
    pub sdk_version: Option<String>,

    /// Cases per property check (more find more, fewer run faster).
    #[arg(long, default_value_t = 24)]
    pub cases: u32,

    /// Seed of the property case generators (hex like 0x1f3a, or decimal);
    /// a fresh one is drawn and reported when omitted.
    #[arg(long)]
    pub seed: Option<String>,

    /// Baseline of expected failures (default: scenarios/baselines/<kind>[-<version>].toml if present).
    #[arg(long)]
    pub baseline: Option<PathBuf>,

    /// Start this older host first on the run's database (world, plugins,
    /// plugin data), then upgrade to --host on the same database: a version
    /// (`2026.707.0`, for `--host paperclip@…`) or `mock` (for `--host mock…`).
    /// A comma-separated chain (`2026.707.0,2026.722.0`) starts each in turn.
    #[arg(long, value_name = "VERSION")]
    pub upgrade_from: Option<String>,

    /// No progress lines on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Scenario directory (default: the repository's scenarios/).
    #[arg(long)]
    pub scenarios: Option<PathBuf>,
}

/// The repository's scenario directory, found next to this crate at build
/// time, else `./scenarios`.
pub fn default_scenarios_dir() -> PathBuf {
    let built = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios"));
    if built.is_dir() {
        built.canonicalize().unwrap_or(built)
    } else {
        PathBuf::from("scenarios")
    }
}

/// `$XDG_CACHE_HOME/paperclip-conformance`, else `~/.cache/paperclip-conformance`.
pub fn default_cache_dir() -> PathBuf {
    if let Some(xdg) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("paperclip-conformance");
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => PathBuf::from(home)
            .join(".cache")
            .join("paperclip-conformance"),
        None => std::env::temp_dir().join("paperclip-conformance-cache"),
    }
}

//! What a run is configured with: the `run` command's options, parsed.

use std::path::PathBuf;
use std::time::Duration;

use crate::postgres::PostgresOptions;
use crate::target::{DeploymentMode, HostSpec};

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
    /// `--host-version`: the version of a `url=` host that hides it.
    pub host_version: Option<String>,
    /// `--board-token`: a board API key of an instance admin of a `url=`
    /// host; the board acts with it and the host's database is only read.
    pub board_token: Option<String>,
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
    /// Start these older hosts on the run's database first, oldest first,
    /// then upgrade to the host under test (`--upgrade-from A[,B…]`): the
    /// first builds the data, each later one opens and migrates it.
    pub upgrade_from: Vec<HostSpec>,
    /// Run only this shard of the checks (`--shard K/N`).
    pub shard: Option<crate::check::catalog::Shard>,
}

//! `mock-host`: the Paperclip plugin host mock as a binary.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use mock_host::{Config, Defect, Defects, DeploymentMode, DEFECTS};

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
    /// Port on 127.0.0.1 (0 = any free port; the address is printed).
    #[arg(long, default_value_t = 3900)]
    port: u16,
    /// local_trusted or authenticated.
    #[arg(long, default_value = "local_trusted")]
    mode: String,
    /// Switch on a deliberate deviation (repeatable; see --list-defects).
    #[arg(long = "defect", value_name = "NAME")]
    defects: Vec<String>,
    /// Print every defect as `name<TAB>description` and exit.
    #[arg(long)]
    list_defects: bool,
    /// node binary for manifests and workers.
    #[arg(long, default_value = "node")]
    node: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.list_defects {
        for (_, name, description) in DEFECTS {
            println!("{name}\t{description}");
        }
        return ExitCode::SUCCESS;
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "mock_host=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let run = || -> mock_host::Result<Config> {
        let mode: DeploymentMode = cli.mode.parse()?;
        let defects = cli
            .defects
            .iter()
            .map(|d| d.parse::<Defect>())
            .collect::<mock_host::Result<Defects>>()?;
        let mut config = Config::new(cli.database_url.clone().unwrap_or_default());
        config.port = cli.port;
        config.mode = mode;
        config.defects = defects;
        config.node = cli.node.clone();
        Ok(config)
    };
    let config = match run() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mock-host: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mock-host: {e}");
            return ExitCode::from(2);
        }
    };
    rt.block_on(async move {
        let handle = match mock_host::serve(config).await {
            Ok(h) => h,
            Err(e) => {
                eprintln!("mock-host: {e}");
                return ExitCode::from(2);
            }
        };
        println!("PAPERCLIP_BASE_URL={}", handle.base_url());
        let stop = async {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        };
        stop.await;
        handle.shutdown().await;
        ExitCode::SUCCESS
    })
}

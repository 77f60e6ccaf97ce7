//! A real host the test runs itself, for `--host url=…` runs: started with
//! the suite's own launcher on a database of its own, as an operator would
//! run one, and stopped (database dropped) when dropped.

use std::collections::BTreeMap;

use conformance::client::HostClient;
use conformance::db::HostDb;
use conformance::postgres::{PostgresOptions, PostgresServer, RunDatabase};
use conformance::progress::Progress;
use conformance::target::paperclip::PaperclipTarget;
use conformance::target::{DeploymentMode, HostTarget, RunningHost, StartContext};
use serde_json::Value;

pub struct UrlHost {
    runtime: tokio::runtime::Runtime,
    pg: Option<PostgresServer>,
    database: Option<RunDatabase>,
    host: Option<RunningHost>,
    pub base_url: String,
    pub database_url: String,
    /// The host's HOME and log. Named like a run directory, so the
    /// processes the host starts for the run under test (plugin workers,
    /// agent adapters inherit HOME) are found by `processes_of_runs`.
    _dir: tempfile::TempDir,
}

impl UrlHost {
    /// Starts paperclip@`version` in `mode` on a fresh database of the
    /// machine's PostgreSQL.
    pub fn start(version: &str, mode: DeploymentMode, admin_url: &str) -> UrlHost {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::Builder::new()
            .prefix("conformance-run-urlhost-")
            .tempdir()
            .unwrap();
        let progress = Progress::stderr(false);
        let (pg, database, host) = runtime.block_on(async {
            let options = PostgresOptions {
                admin_url: Some(admin_url.to_string()),
                no_docker: true,
                template_cache: None,
            };
            let pg = PostgresServer::provision(&options, dir.path(), &progress)
                .await
                .expect("PostgreSQL for the url= host");
            // Not `conformance_…`: the run under test must not take it for
            // one of its own databases.
            let database = pg.create_database("urlhost").await.unwrap();
            let ctx = StartContext {
                run_dir: dir.path(),
                cache_dir: &conformance::cli::default_cache_dir(),
                database_url: Some(&database.url),
                mode,
                port: None,
                progress: &progress,
            };
            let target = PaperclipTarget {
                version: version.to_string(),
            };
            let host = target.start(&ctx).await.expect("the url= host starts");
            (pg, database, host)
        });
        UrlHost {
            runtime,
            base_url: host.base_url.clone(),
            database_url: database.url.clone(),
            pg: Some(pg),
            database: Some(database),
            host: Some(host),
            _dir: dir,
        }
    }

    /// A user signed up over REST with a board API key; `admin` makes it
    /// instance admin by writing `instance_user_roles`, as an operator's
    /// `paperclipai auth bootstrap-ceo` would (no HTTP route makes the
    /// first admin). Returns (token, user id).
    pub fn board_key(&self, admin: bool) -> (String, String) {
        self.runtime.block_on(async {
            let client =
                HostClient::new(&self.base_url, std::time::Duration::from_secs(30)).unwrap();
            let db = HostDb::connect(&self.database_url).await.unwrap();
            let (creds, user) =
                conformance::world::sign_up_board_key(&client, admin.then_some(&db))
                    .await
                    .expect("sign-up and board key");
            (creds.bearer.unwrap(), user)
        })
    }

    /// Rows of `sql` on the host's database.
    pub fn rows(&self, sql: &str) -> Vec<Value> {
        self.runtime.block_on(async {
            let db = HostDb::connect_read_only(&self.database_url).await.unwrap();
            db.rows(sql, &[]).await.expect(sql)
        })
    }

    /// Processes that carry this host's directory (the host itself, its
    /// plugin workers, the agent adapters it runs): other runs on the
    /// machine are not this host's.
    pub fn processes(&self) -> Vec<(u32, String)> {
        let dir = self._dir.path().display().to_string();
        conformance::process::table::mentioning(&dir)
    }

    /// Row count of every table in `public`.
    pub fn table_counts(&self) -> BTreeMap<String, i64> {
        let tables = self.rows(
            "select table_name as t from information_schema.tables \
             where table_schema = 'public' and table_type = 'BASE TABLE' order by 1",
        );
        tables
            .iter()
            .filter_map(|r| r["t"].as_str())
            .map(|t| {
                let n = self.rows(&format!("select count(*) as n from public.\"{t}\""));
                (t.to_string(), n[0]["n"].as_i64().unwrap_or(-1))
            })
            .collect()
    }
}

impl Drop for UrlHost {
    fn drop(&mut self) {
        let (host, pg, database) = (self.host.take(), self.pg.take(), self.database.take());
        self.runtime.block_on(async {
            if let Some(host) = host {
                let _ = host.stop().await;
            }
            if let (Some(pg), Some(db)) = (pg, database) {
                let _ = pg.drop_database(db).await;
                let _ = pg.shutdown().await;
            }
        });
    }
}

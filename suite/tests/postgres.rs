//! Provisioning Postgres by each route, and leaving nothing behind.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use conformance::postgres::{PostgresOptions, PostgresServer, PostgresSource};
use conformance::process::table;
use conformance::progress::Progress;
use conformance::wait::{poll_until_blocking, probe, Interval};
use conformance::Error;

const LOCAL_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A run directory the `postgres` OS user can reach (the suite's own run
/// directories are made world-traversable the same way).
fn run_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("conformance-pgtest-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

async fn query_one_i64(url: &str, sql: &str) -> i64 {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
    tokio::spawn(conn);
    client.query_one(sql, &[]).await.unwrap().get(0)
}

async fn database_exists(admin_url: &str, name: &str) -> bool {
    query_one_i64(
        admin_url,
        &format!("select count(*) from pg_database where datname = '{name}'"),
    )
    .await
        == 1
}

fn postmaster_pid(cluster_dir: &Path) -> u32 {
    let text = std::fs::read_to_string(cluster_dir.join("data/postmaster.pid")).unwrap();
    text.lines().next().unwrap().trim().parse().unwrap()
}

fn gone_within(pid: u32, within: Duration) -> bool {
    poll_until_blocking(within, Interval::fixed(Duration::from_millis(50)), || {
        probe(!table::is_running(pid))
    })
    .is_ok()
}

fn ephemeral_options() -> PostgresOptions {
    PostgresOptions {
        admin_url: None,
        no_docker: true,
        template_cache: None,
    }
}

#[tokio::test]
async fn a_second_ephemeral_cluster_starts_from_the_kept_initdb_template() {
    let cache = tempfile::tempdir().unwrap();
    let options = PostgresOptions {
        template_cache: Some(cache.path().join("postgres-templates")),
        ..ephemeral_options()
    };
    for round in ["initdb, template kept", "copied from the template"] {
        let dir = run_dir();
        let pg = PostgresServer::provision(&options, dir.path(), &Progress::silent())
            .await
            .unwrap_or_else(|e| panic!("{round}: {e}"));
        let db = pg.create_database("conformance").await.unwrap();
        assert_eq!(query_one_i64(&db.url, "select 3::int8").await, 3, "{round}");
        pg.drop_database(db).await.unwrap();
        pg.shutdown().await.unwrap();
        let templates: Vec<_> = std::fs::read_dir(cache.path().join("postgres-templates"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(
            templates.len(),
            1,
            "{round}: one template, no staging left: {templates:?}"
        );
    }
}

#[tokio::test]
async fn an_ephemeral_cluster_serves_a_run_database_and_leaves_nothing_behind() {
    let dir = run_dir();
    let started = Instant::now();
    let pg = PostgresServer::provision(&ephemeral_options(), dir.path(), &Progress::silent())
        .await
        .unwrap();
    let up = started.elapsed();
    assert_eq!(pg.source(), PostgresSource::Ephemeral);
    assert!(pg.admin_url().starts_with("postgres://postgres@127.0.0.1:"));
    let cluster_dir = pg.cluster_dir().unwrap().to_path_buf();
    assert!(cluster_dir.starts_with(dir.path()));
    let pid = postmaster_pid(&cluster_dir);

    let db = pg.create_database("conformance").await.unwrap();
    assert!(db.name.starts_with("conformance_"), "{}", db.name);
    assert_eq!(db.name.len(), "conformance_".len() + 8);
    assert!(db.url.ends_with(&format!("/{}", db.name)), "{}", db.url);
    assert_eq!(query_one_i64(&db.url, "select 1::int8").await, 1);

    // A session still attached must not stop the drop.
    let (client, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let conn_task = tokio::spawn(conn);
    let name = db.name.clone();
    pg.drop_database(db).await.unwrap();
    assert!(!database_exists(pg.admin_url(), &name).await);
    drop(client);
    let _ = conn_task.await;

    let stopping = Instant::now();
    pg.shutdown().await.unwrap();
    eprintln!(
        "ephemeral cluster: up in {:.1} s, stopped in {:.1} s",
        up.as_secs_f64(),
        stopping.elapsed().as_secs_f64()
    );
    assert!(
        gone_within(pid, Duration::from_secs(5)),
        "postmaster {pid} still running"
    );
    assert!(
        !cluster_dir.exists(),
        "{} left behind",
        cluster_dir.display()
    );
}

#[tokio::test]
async fn dropping_an_ephemeral_server_stops_the_cluster() {
    let dir = run_dir();
    let pg = PostgresServer::provision(&ephemeral_options(), dir.path(), &Progress::silent())
        .await
        .unwrap();
    let cluster_dir = pg.cluster_dir().unwrap().to_path_buf();
    let pid = postmaster_pid(&cluster_dir);
    drop(pg);
    assert!(
        gone_within(pid, Duration::from_secs(5)),
        "postmaster {pid} still running"
    );
    assert!(
        !cluster_dir.exists(),
        "{} left behind",
        cluster_dir.display()
    );
}

#[tokio::test]
async fn an_admin_url_is_used_as_is() {
    if let Err(e) = tokio_postgres::connect(LOCAL_ADMIN_URL, tokio_postgres::NoTls).await {
        common::missing_service(&format!(
            "no PostgreSQL answers at {LOCAL_ADMIN_URL} ({e}); start one there with trust authentication for user postgres"
        ));
        return;
    }
    let dir = run_dir();
    let options = PostgresOptions {
        admin_url: Some(LOCAL_ADMIN_URL.into()),
        no_docker: true,
        template_cache: None,
    };
    let pg = PostgresServer::provision(&options, dir.path(), &Progress::silent())
        .await
        .unwrap();
    assert_eq!(pg.source(), PostgresSource::Url);
    assert!(
        pg.description().contains("PostgreSQL"),
        "{}",
        pg.description()
    );
    assert!(pg.cluster_dir().is_none());
    let db = pg.create_database("conformance").await.unwrap();
    assert_eq!(
        db.url,
        format!("postgres://postgres@127.0.0.1:5432/{}", db.name)
    );
    assert_eq!(query_one_i64(&db.url, "select 2::int8").await, 2);
    let name = db.name.clone();
    pg.drop_database(db).await.unwrap();
    assert!(!database_exists(LOCAL_ADMIN_URL, &name).await);
    pg.shutdown().await.unwrap();
    // Nothing was created in the run directory.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn an_admin_url_that_does_not_answer_is_a_clear_error() {
    let dir = run_dir();
    let options = PostgresOptions {
        // Port 1 on loopback: refused at once.
        admin_url: Some("postgres://postgres:secret@127.0.0.1:1/postgres".into()),
        no_docker: true,
        template_cache: None,
    };
    let err = PostgresServer::provision(&options, dir.path(), &Progress::silent())
        .await
        .err()
        .expect("a refused admin URL must fail");
    let text = err.to_string();
    assert!(matches!(err, Error::PostgresUnavailable(_)), "{text}");
    assert!(
        text.contains(
            "could not connect to DATABASE_URL postgres://postgres:***@127.0.0.1:1/postgres: "
        ),
        "{text}"
    );
    assert!(
        text.ends_with("; check the URL or unset it to use a local cluster"),
        "{text}"
    );
    assert!(!text.contains("secret"), "the password leaked: {text}");
}

#[tokio::test]
async fn an_admin_url_that_is_not_a_url_is_a_clear_error() {
    let dir = run_dir();
    let options = PostgresOptions {
        admin_url: Some("host=127.0.0.1 user=postgres".into()),
        no_docker: true,
        template_cache: None,
    };
    let err = PostgresServer::provision(&options, dir.path(), &Progress::silent())
        .await
        .err()
        .expect("a key=value string must be refused");
    let text = err.to_string();
    assert!(text.contains("it is not a URL"), "{text}");
    assert!(text.contains("unset it to use a local cluster"), "{text}");
}

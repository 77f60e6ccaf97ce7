//! Route 1: an admin URL from `DATABASE_URL` / `--database-url`, and the URL
//! helpers every route shares.
//!
//! The suite never changes anything on such a server except creating and
//! dropping its own `<prefix>_<hex>` databases.

use std::time::Duration;

use tokio_postgres::{Client, Config, NoTls};

use crate::error::{Error, Result};

/// How long a connection attempt may take before it counts as failed; a
/// firewalled host would otherwise hang the run for minutes.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Checks an admin URL given by the user and describes the server.
///
/// Fails with one sentence when the URL is malformed, the server does not
/// answer, or the role may not create databases.
pub async fn check_admin_url(admin_url: &str) -> Result<String> {
    let shown = redact(admin_url);
    let unusable = |cause: String| {
        Error::PostgresUnavailable(format!(
            "could not connect to DATABASE_URL {shown}: {cause}; check the URL or unset it to use a local cluster"
        ))
    };
    parse_url(admin_url).map_err(unusable)?;
    let client = connect(admin_url)
        .await
        .map_err(|e| unusable(e.to_string()))?;
    let row = client
        .query_one(
            "select current_setting('server_version'), current_user::text, \
             (select rolsuper or rolcreatedb from pg_roles where rolname = current_user)",
            &[],
        )
        .await
        .map_err(|e| unusable(e.to_string()))?;
    let version: String = row.get(0);
    let user: String = row.get(1);
    let can_create: Option<bool> = row.get(2);
    if can_create != Some(true) {
        return Err(Error::PostgresUnavailable(format!(
            "role '{user}' of DATABASE_URL {shown} may not create databases; use a superuser or a role with CREATEDB, or unset DATABASE_URL to use a local cluster"
        )));
    }
    Ok(format!("DATABASE_URL {shown} (PostgreSQL {version})"))
}

/// Connects with a bounded connect timeout and drives the connection on a
/// background task that ends when the client is dropped.
pub async fn connect(url: &str) -> std::result::Result<Client, tokio_postgres::Error> {
    let mut config: Config = url.parse()?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// Parses a `postgres://` / `postgresql://` URL. Key=value connection strings
/// are refused: the host under test (node `pg`) needs a URL, and the run's
/// database URL is derived from the admin URL.
pub fn parse_url(url: &str) -> std::result::Result<url::Url, String> {
    let parsed = url::Url::parse(url).map_err(|e| {
        format!("it is not a URL ({e}); use postgres://USER[:PASSWORD]@HOST:PORT/DATABASE")
    })?;
    match parsed.scheme() {
        "postgres" | "postgresql" => Ok(parsed),
        other => Err(format!(
            "the scheme is '{other}', not postgres://; use postgres://USER[:PASSWORD]@HOST:PORT/DATABASE"
        )),
    }
}

/// The admin URL with its database replaced by `name` (credentials, host,
/// port and query parameters kept).
pub fn with_database(admin_url: &str, name: &str) -> Result<String> {
    let mut url = parse_url(admin_url).map_err(|e| {
        Error::PostgresUnavailable(format!(
            "the admin URL {} cannot name a database: {e}",
            redact(admin_url)
        ))
    })?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

/// The URL with its password replaced by `***`, for messages and reports.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        // Not a URL: it may still carry a password (key=value form); show
        // only that something was given.
        Err(_) => "(unparsable URL)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(
        "postgres://postgres@127.0.0.1:5432/postgres",
        "postgres://postgres@127.0.0.1:5432/conformance_0a1b2c3d"
    )]
    #[case(
        "postgresql://u:p%40ss@db.example:6543/admin?sslmode=disable",
        "postgresql://u:p%40ss@db.example:6543/conformance_0a1b2c3d?sslmode=disable"
    )]
    #[case(
        "postgres://postgres@127.0.0.1:5432",
        "postgres://postgres@127.0.0.1:5432/conformance_0a1b2c3d"
    )]
    fn derives_database_urls(#[case] admin: &str, #[case] expected: &str) {
        assert_eq!(
            with_database(admin, "conformance_0a1b2c3d").unwrap(),
            expected
        );
    }

    #[rstest]
    #[case("postgres://u:secret@h:1/d", "postgres://u:***@h:1/d")]
    #[case("postgres://u@h:1/d", "postgres://u@h:1/d")]
    #[case("host=h password=secret", "(unparsable URL)")]
    fn redacts_passwords(#[case] url: &str, #[case] shown: &str) {
        assert_eq!(redact(url), shown);
    }

    #[rstest]
    #[case("host=localhost user=postgres")]
    #[case("mysql://root@127.0.0.1/db")]
    fn refuses_non_urls(#[case] url: &str) {
        assert!(parse_url(url).is_err());
    }
}

//! Shared by the integration tests: a database of their own per test.
//! Needs PostgreSQL (`MOCK_HOST_TEST_DATABASE_URL` or
//! `postgres://postgres@127.0.0.1:5432/postgres`); tests skip with a
//! message when it does not answer.

#![allow(dead_code)] // each test file uses a different part

use tokio_postgres::NoTls;

pub fn admin_url() -> String {
    std::env::var("MOCK_HOST_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database created for one test and dropped at the end.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub async fn create() -> Option<TestDb> {
        let admin = admin_url();
        let (client, conn) = match tokio_postgres::connect(&admin, NoTls).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("skipping: PostgreSQL not reachable at {admin}: {e}");
                return None;
            }
        };
        tokio::spawn(conn);
        let name = format!("mock_host_test_{}", uuid::Uuid::new_v4().simple());
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .ok()?;
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
        Some(TestDb {
            url: format!("{base}/{name}"),
            name,
        })
    }

    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&self.url, NoTls).await.unwrap();
        tokio::spawn(conn);
        client
    }

    pub async fn drop_db(self) {
        if let Ok((client, conn)) = tokio_postgres::connect(&admin_url(), NoTls).await {
            tokio::spawn(conn);
            let _ = client
                .batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ))
                .await;
        }
    }
}

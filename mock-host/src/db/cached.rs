//! [`Db`]: the queries the host's own code runs, through a per-connection
//! statement cache.
//!
//! tokio-postgres prepares a `&str` query anew on every call, a round trip
//! to the server before the one that runs it; one scoped request runs about
//! fifteen queries, so half its database time went to re-preparing the same
//! texts. Pooled connections and their transactions prepare each text once
//! (deadpool's `prepare_cached`) and reuse it. Plain tokio-postgres clients
//! (tests, one-off connections) keep preparing every time.
//!
//! Only the host's fixed SQL goes through here. A plugin's own SQL
//! (`db.query`, `db.execute`) uses the same cache but retries a failure with
//! a fresh prepare, since its migrations may change the tables a kept
//! statement was made for (`plugin::host_services::db`); migrations
//! themselves run as plain batches.

use std::future::Future;

use tokio_postgres::types::ToSql;
use tokio_postgres::{Error, Row};

/// Parameters of a query, as tokio-postgres takes them.
pub type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// What the host's services take instead of tokio-postgres' sealed
/// `GenericClient`: the same calls, with statements cached where the
/// connection allows.
pub trait Db: Sync {
    fn query(
        &self,
        sql: &str,
        params: Params<'_>,
    ) -> impl Future<Output = Result<Vec<Row>, Error>> + Send;
    fn query_one(
        &self,
        sql: &str,
        params: Params<'_>,
    ) -> impl Future<Output = Result<Row, Error>> + Send;
    fn query_opt(
        &self,
        sql: &str,
        params: Params<'_>,
    ) -> impl Future<Output = Result<Option<Row>, Error>> + Send;
    fn execute(
        &self,
        sql: &str,
        params: Params<'_>,
    ) -> impl Future<Output = Result<u64, Error>> + Send;
    fn batch_execute(&self, sql: &str) -> impl Future<Output = Result<(), Error>> + Send;
}

/// Implements [`Db`] for a type whose `prepare_cached` keeps statements.
macro_rules! cached_db {
    ($ty:ty => $inner:ty) => {
        impl Db for $ty {
            async fn query(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, Error> {
                let statement = self.prepare_cached(sql).await?;
                let inner: &$inner = self;
                tokio_postgres::GenericClient::query(inner, &statement, params).await
            }
            async fn query_one(&self, sql: &str, params: Params<'_>) -> Result<Row, Error> {
                let statement = self.prepare_cached(sql).await?;
                let inner: &$inner = self;
                tokio_postgres::GenericClient::query_one(inner, &statement, params).await
            }
            async fn query_opt(&self, sql: &str, params: Params<'_>) -> Result<Option<Row>, Error> {
                let statement = self.prepare_cached(sql).await?;
                let inner: &$inner = self;
                tokio_postgres::GenericClient::query_opt(inner, &statement, params).await
            }
            async fn execute(&self, sql: &str, params: Params<'_>) -> Result<u64, Error> {
                let statement = self.prepare_cached(sql).await?;
                let inner: &$inner = self;
                tokio_postgres::GenericClient::execute(inner, &statement, params).await
            }
            async fn batch_execute(&self, sql: &str) -> Result<(), Error> {
                let inner: &$inner = self;
                tokio_postgres::GenericClient::batch_execute(inner, sql).await
            }
        }
    };
}

/// Implements [`Db`] for a plain tokio-postgres client: no cache.
macro_rules! plain_db {
    ($ty:ty) => {
        impl Db for $ty {
            async fn query(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, Error> {
                tokio_postgres::GenericClient::query(self, sql, params).await
            }
            async fn query_one(&self, sql: &str, params: Params<'_>) -> Result<Row, Error> {
                tokio_postgres::GenericClient::query_one(self, sql, params).await
            }
            async fn query_opt(&self, sql: &str, params: Params<'_>) -> Result<Option<Row>, Error> {
                tokio_postgres::GenericClient::query_opt(self, sql, params).await
            }
            async fn execute(&self, sql: &str, params: Params<'_>) -> Result<u64, Error> {
                tokio_postgres::GenericClient::execute(self, sql, params).await
            }
            async fn batch_execute(&self, sql: &str) -> Result<(), Error> {
                tokio_postgres::GenericClient::batch_execute(self, sql).await
            }
        }
    };
}

cached_db!(deadpool_postgres::Object => tokio_postgres::Client);
cached_db!(deadpool_postgres::Transaction<'_> => tokio_postgres::Transaction<'_>);
plain_db!(tokio_postgres::Client);
plain_db!(tokio_postgres::Transaction<'_>);

//! Opening the database: engine choice from the URL, durable SQLite settings, pool
//! sizing, migrations and the schema check of the health probe.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};

use crate::error::{query_error, Error, Result};
use crate::feed::{sqlite_feed_triggers, Feed};
use crate::lent::Connections;
use crate::pool::{on_pool, Pool, WriterWait};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Which engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// How to open the pool.
#[derive(Debug, Clone)]
pub struct DbOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// The longest one statement may run or wait for a lock (PostgreSQL's
    /// `statement_timeout` and `lock_timeout`, SQLite's busy timeout). Migrations are
    /// exempt.
    pub statement_timeout: Duration,
    /// SQLite only: the most page cache each connection keeps, in KiB.
    pub sqlite_cache_kib: u32,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(2),
            sqlite_cache_kib: 2000,
        }
    }
}

/// A handle on hyok's database; cheap to clone.
#[derive(Clone)]
pub struct Db {
    pub(crate) pool: std::sync::Arc<Pool>,
    engine: Engine,
    pub(crate) feed: std::sync::Arc<Feed>,
}

impl Db {
    /// Opens `url` (`sqlite://PATH` or `postgres://…`). A SQLite file is created when
    /// missing and runs in WAL mode with `synchronous = FULL`, so a commit that returned
    /// survives a crash or power loss. Each SQLite connection (the readers and the
    /// writer) keeps at most `sqlite_cache_kib` of page cache.
    pub async fn connect(url: &str, options: &DbOptions) -> Result<Db> {
        let connect_error = |source| Error::Connect {
            url: redact_password(url),
            source,
        };
        let feed = Feed::new();
        let (pool, engine) = if url.starts_with("sqlite:") {
            let connect = SqliteConnectOptions::from_str(url)
                .map_err(connect_error)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(options.statement_timeout)
                // A negative cache_size is a size in KiB rather than in pages.
                .pragma("cache_size", format!("-{}", options.sqlite_cache_kib));
            let writer = Box::new(
                Connections::new(connect.clone(), 1, options.acquire_timeout)
                    .with_on_connect("metadata_changes", sqlite_feed_triggers(&feed.writer)),
            );
            // Opened now, so that a database that cannot be opened is said at start.
            drop(writer.get().await.map_err(connect_error)?);
            let readers = Box::new(Connections::new(
                connect,
                options.max_connections,
                options.acquire_timeout,
            ));
            (Pool::Sqlite { readers, writer }, Engine::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let timeout = options.statement_timeout.as_millis().max(1).to_string();
            let connect = PgConnectOptions::from_str(url)
                .map_err(connect_error)?
                .options([
                    ("statement_timeout", timeout.as_str()),
                    ("lock_timeout", timeout.as_str()),
                    ("hyok.writer", feed.writer.as_str()),
                ]);
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections)
                .acquire_timeout(options.acquire_timeout)
                .connect_with(connect)
                .await
                .map_err(connect_error)?;
            (Pool::Postgres(pool), Engine::Postgres)
        } else {
            return Err(connect_error(sqlx::Error::Configuration(
                "the URL must start with sqlite:// or postgres://".into(),
            )));
        };
        Ok(Db {
            pool: std::sync::Arc::new(pool),
            engine,
            feed: std::sync::Arc::new(feed),
        })
    }

    /// Applies the pending migrations of this engine; running it again is a no-op.
    pub async fn migrate(&self) -> Result<()> {
        match &*self.pool {
            Pool::Sqlite { writer, .. } => {
                let mut lent = writer.get().await.map_err(Error::writer_wait)?;
                SQLITE_MIGRATIONS.run(&mut *lent).await?;
                if let Some(statements) = writer.on_connect_statements() {
                    sqlx::query(statements)
                        .execute(&mut *lent)
                        .await
                        .map_err(query_error("create the change feed's triggers"))?;
                }
            }
            Pool::Postgres(pool) => {
                // Without the statement timeout: a migration may rewrite a large table.
                let mut connection = pool
                    .acquire()
                    .await
                    .map_err(query_error("open a connection"))?;
                for lift in ["SET statement_timeout = 0", "SET lock_timeout = 0"] {
                    sqlx::query(lift)
                        .execute(&mut *connection)
                        .await
                        .map_err(query_error("lift the statement timeout for migrations"))?;
                }
                let migrated = POSTGRES_MIGRATIONS.run(&mut *connection).await;
                for restore in ["RESET statement_timeout", "RESET lock_timeout"] {
                    sqlx::query(restore)
                        .execute(&mut *connection)
                        .await
                        .map_err(query_error("restore the statement timeout"))?;
                }
                migrated?
            }
        }
        Ok(())
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// What requests need of the database, for health checks: the schema this build
    /// expects (its latest migration applied) and a read of the objects table (which
    /// a lock on it would hold up).
    pub async fn check_schema(&self) -> Result<()> {
        let expected = match self.engine {
            Engine::Sqlite => &SQLITE_MIGRATIONS,
            Engine::Postgres => &POSTGRES_MIGRATIONS,
        }
        .iter()
        .map(|migration| migration.version)
        .max()
        .unwrap_or_default();
        let applied: Option<i64> = on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT MAX(version) FROM _sqlx_migrations WHERE success"
        )
        .fetch_one(pool)
        .await)
        .map_err(query_error("read the schema version"))?;
        if applied != Some(expected) {
            return Err(Error::Schema(format!(
                "the database's schema version is {}, this build needs {expected}",
                applied.map_or("none".into(), |v| v.to_string())
            )));
        }
        on_pool!(self, |pool| sqlx::query_scalar::<_, i64>(
            "SELECT CAST(1 AS BIGINT) FROM objects LIMIT 1"
        )
        .fetch_optional(pool)
        .await)
        .map(|_| ())
        .map_err(query_error("read the objects table"))
    }

    /// A one-line description of the engine, its durability settings and page cache,
    /// for the start-up log (read back from the database, not from our own intentions).
    pub async fn describe(&self) -> Result<String> {
        match &*self.pool {
            Pool::Sqlite { readers, .. } => {
                let mut conn = readers
                    .get()
                    .await
                    .map_err(query_error("open a connection"))?;
                let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(query_error("read the journal mode"))?;
                let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(query_error("read the synchronous mode"))?;
                let synchronous = match synchronous {
                    0 => "OFF",
                    1 => "NORMAL",
                    2 => "FULL",
                    _ => "EXTRA",
                };
                let cache_size: i64 = sqlx::query_scalar("PRAGMA cache_size")
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(query_error("read the page cache size"))?;
                // Negative: KiB; positive: pages.
                let cache = if cache_size < 0 {
                    format!("{} KiB", -cache_size)
                } else {
                    format!("{cache_size} pages")
                };
                Ok(format!(
                    "sqlite (journal_mode={journal}, synchronous={synchronous}, page cache {cache} per connection)"
                ))
            }
            Pool::Postgres(pool) => {
                let version: String = sqlx::query_scalar("SHOW server_version")
                    .fetch_one(pool)
                    .await
                    .map_err(query_error("read the server version"))?;
                Ok(format!("postgresql {version}"))
            }
        }
    }

    /// Closes the connections: PostgreSQL's once their work is done; SQLite's idle ones at
    /// once, and one still in use when its caller gives it back (each SQLite commit is
    /// durable when it returns, so nothing waits on the closing).
    pub async fn close(&self) {
        match &*self.pool {
            Pool::Sqlite { readers, writer } => {
                readers.close().await;
                writer.close().await;
            }
            Pool::Postgres(pool) => pool.close().await,
        }
    }
}

/// The URL with any password replaced by `***`, safe for messages and logs.
pub fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((credentials, host)) = rest.split_once('@') else {
        return url.to_string();
    };
    match credentials.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::on_writer;
    use crate::testing::TestDatabase;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact_password("postgres://hyok:s3cret@db:5432/hyok"),
            "postgres://hyok:***@db:5432/hyok"
        );
        assert_eq!(
            redact_password("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
        assert_eq!(
            redact_password("sqlite://./hyok-data/hyok.db"),
            "sqlite://./hyok-data/hyok.db"
        );
    }

    #[tokio::test]
    async fn every_sqlite_connection_keeps_the_configured_page_cache() {
        let database = TestDatabase::sqlite();
        let options = DbOptions {
            sqlite_cache_kib: 300,
            ..DbOptions::default()
        };
        let db = Db::connect(&database.url, &options).await.unwrap();
        let reader: i64 = on_pool!(db, |pool| sqlx::query_scalar("PRAGMA cache_size")
            .fetch_one(pool)
            .await)
        .unwrap();
        let writer: i64 = on_writer!(db, |pool| sqlx::query_scalar("PRAGMA cache_size")
            .fetch_one(pool)
            .await)
        .unwrap();
        assert_eq!((reader, writer), (-300, -300), "KiB, on readers and writer");
        assert!(db
            .describe()
            .await
            .unwrap()
            .ends_with("page cache 300 KiB per connection)"));
    }

    #[tokio::test]
    async fn a_locked_table_fails_a_statement_after_the_statement_timeout() {
        use sqlx::{Connection, Executor};
        let Some(database) = TestDatabase::postgres().await else {
            return;
        };
        database.open().await; // migrated
        let options = DbOptions {
            statement_timeout: Duration::from_millis(200),
            ..DbOptions::default()
        };
        let db = Db::connect(&database.url, &options).await.unwrap();
        let mut locker = sqlx::PgConnection::connect(&database.url).await.unwrap();
        locker
            .execute("BEGIN; LOCK TABLE objects IN ACCESS EXCLUSIVE MODE")
            .await
            .unwrap();
        let started = std::time::Instant::now();
        let read = tokio::time::timeout(Duration::from_secs(10), db.check_schema())
            .await
            .expect("the statement timeout ends the wait");
        assert!(read.is_err(), "the table is locked");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        locker.execute("ROLLBACK").await.unwrap();
        db.check_schema().await.unwrap();
    }
}

//! Throw-away databases for tests (feature `test-support`): a fresh SQLite file, or a
//! fresh PostgreSQL database on the server named by `HYOK_TEST_DATABASE_URL`, dropped
//! afterwards, so that tests run in parallel without seeing each other's rows.

use sqlx::Connection;

use crate::{Db, DbOptions};

/// Where tests find PostgreSQL when `HYOK_TEST_DATABASE_URL` is not set.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database that exists for one test.
pub struct TestDatabase {
    /// The URL a server or client can open.
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    /// A new SQLite file in a temporary directory.
    pub fn sqlite() -> TestDatabase {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let url = format!("sqlite://{}/hyok.db", dir.path().display());
        TestDatabase {
            url,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    /// A new, empty PostgreSQL database, or `None` (announced on stderr) when no server
    /// answers outside CI. When `CI` is set an unreachable server panics: CI must not
    /// pass by skipping.
    pub async fn postgres() -> Option<TestDatabase> {
        let admin_url = std::env::var("HYOK_TEST_DATABASE_URL")
            .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string());
        let mut admin = match sqlx::PgConnection::connect(&admin_url).await {
            Ok(admin) => admin,
            Err(error) if std::env::var_os("CI").is_none() => {
                eprintln!("SKIPPED (not CI): no PostgreSQL at {admin_url}: {error}");
                return None;
            }
            Err(error) => {
                panic!("CI is set and PostgreSQL at {admin_url} does not answer: {error}")
            }
        };
        let mut suffix = [0u8; 8];
        getrandom::getrandom(&mut suffix).expect("random bytes");
        let name = format!("hyok_test_{}", hex::encode(suffix));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create a test database");
        let _ = admin.close().await;
        let url = with_database_name(&admin_url, &name);
        Some(TestDatabase {
            url,
            cleanup: Cleanup::Postgres { admin_url, name },
        })
    }

    /// Opens and migrates the database.
    pub async fn open(&self) -> Db {
        let db = Db::connect(&self.url, &DbOptions::default())
            .await
            .expect("open the test database");
        db.migrate().await.expect("migrate the test database");
        db
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Cleanup::Postgres { admin_url, name } = &self.cleanup else {
            return;
        };
        let (admin_url, name) = (admin_url.clone(), name.clone());
        // Drop runs inside or outside a runtime; a thread of its own works in both.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut admin = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .map_err(std::io::Error::other)?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await
                    .map_err(std::io::Error::other)?;
                Ok::<_, std::io::Error>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: could not drop a test database");
        }
    }
}

/// `admin_url` with its database name replaced by `name` (query string kept).
pub fn with_database_name(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (admin_url, None),
    };
    let host_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[host_start..].find('/') {
        Some(slash) => &base[..host_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

/// The uids of the objects that carry or carried `name` (destroyed ones too), oldest
/// first.
pub async fn ever_named(db: &Db, name: &str) -> Vec<String> {
    let filter = crate::Filter::Named {
        name: name.into(),
        live_only: false,
    };
    let found = db
        .locate_page(&[filter], true, None, 100)
        .await
        .expect("locate by name");
    found.into_iter().rev().map(|o| o.uid).collect()
}

#[cfg(test)]
mod tests {
    use super::with_database_name;

    #[test]
    fn replaces_only_the_database_name() {
        assert_eq!(
            with_database_name("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database_name("postgres://u:p@h/db?sslmode=disable", "t2"),
            "postgres://u:p@h/t2?sslmode=disable"
        );
        assert_eq!(
            with_database_name("postgres://h:5432", "t3"),
            "postgres://h:5432/t3"
        );
    }
}

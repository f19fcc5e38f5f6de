//! Upgrades: a database made by an older hyok (its migrations up to some version, rows
//! written as that version wrote them) is migrated to this one, on both engines.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use hyok_db::testing::TestDatabase;
use hyok_db::{Db, DbOptions};
use sqlx::migrate::Migrator;

fn engine_migrations(engine: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../migrations")
        .join(engine)
}

/// A folder holding the migrations of `engine` up to `version`.
fn migrations_up_to(engine: &str, version: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(engine_migrations(engine)).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let number: u32 = name[..4].parse().unwrap();
        if number <= version {
            std::fs::copy(&path, dir.path().join(&name)).unwrap();
        }
    }
    dir
}

/// Grants as hyok wrote them before XKS identities had namespaces of their own.
const OLD_GRANTS: &str =
    "INSERT INTO grants (object_uid, identity, operation, granted_by, created_at) VALUES \
     ('k1', 'arn:aws:iam::1:role/app', 'encrypt', 'admin', 1), \
     ('k1', 'dynamodb.amazonaws.com', 'decrypt', 'admin', 1), \
     ('k1', 'AWS Internal', 'get-attributes', 'admin', 1), \
     ('k1', 'xks:aws', 'encrypt', 'admin', 1), \
     ('k1', 'alice', 'encrypt', 'admin', 1), \
     ('k1', '*', 'get-attributes', 'admin', 1)";

async fn grants_after_upgrade(db: &Db) {
    let mut found: Vec<(String, String)> = db
        .grants_on("k1")
        .await
        .unwrap()
        .into_iter()
        .map(|grant| (grant.identity, grant.operation))
        .collect();
    found.sort();
    let expected = [
        ("*", "get-attributes"),
        ("alice", "encrypt"),
        ("aws-principal:AWS Internal", "get-attributes"),
        ("aws-principal:arn:aws:iam::1:role/app", "encrypt"),
        ("aws-principal:dynamodb.amazonaws.com", "decrypt"),
        ("aws-service:dynamodb.amazonaws.com", "decrypt"),
        ("xks:aws", "encrypt"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(identity, operation)| (identity.to_string(), operation.to_string()))
        .collect();
    assert_eq!(found, expected);
}

/// Makes `database` as hyok did at migration `version` of `engine`, with `rows` written.
async fn as_of(database: &TestDatabase, engine: &str, version: u32, rows: &str) {
    let old = migrations_up_to(engine, version);
    let migrator = Migrator::new(old.path()).await.unwrap();
    if engine == "sqlite" {
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(&database.url)
            .unwrap()
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        migrator.run(&pool).await.unwrap();
        sqlx::raw_sql(rows).execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(&database.url).await.unwrap();
        migrator.run(&pool).await.unwrap();
        sqlx::raw_sql(rows).execute(&pool).await.unwrap();
        pool.close().await;
    }
}

/// Opens `database` as this hyok does, migrating it.
async fn upgraded(database: &TestDatabase) -> Db {
    let db = Db::connect(&database.url, &DbOptions::default())
        .await
        .unwrap();
    db.migrate().await.unwrap();
    db
}

#[tokio::test]
async fn aws_grants_move_to_their_namespace_on_sqlite() {
    let database = TestDatabase::sqlite();
    as_of(&database, "sqlite", 5, OLD_GRANTS).await;
    grants_after_upgrade(&upgraded(&database).await).await;
}

#[tokio::test]
async fn aws_grants_move_to_their_namespace_on_postgres() {
    let Some(database) = TestDatabase::postgres().await else {
        return;
    };
    as_of(&database, "postgres", 5, OLD_GRANTS).await;
    let db = upgraded(&database).await;
    grants_after_upgrade(&db).await;
    db.close().await;
}

/// Two objects named "payroll" as hyok 0007 could leave them: one destroyed, one live.
const OLD_NAMES: &str = "INSERT INTO objects (uid, object_type, state, owner, attributes, chain_id, created_at, updated_at) VALUES \
    ('old', 'SymmetricKey', 'Destroyed', 'alice', '{}', 'old', 1, 1), \
    ('new', 'SymmetricKey', 'Active', 'alice', '{}', 'new', 2, 2); \
    INSERT INTO object_names (uid, name) VALUES ('old', 'payroll'), ('new', 'payroll');";

async fn names_after_upgrade(db: &Db) {
    assert_eq!(
        db.object_named("payroll").await.unwrap().as_deref(),
        Some("new"),
        "the destroyed object's name is freed, the live one keeps it"
    );
    assert_eq!(
        hyok_db::testing::ever_named(db, "payroll").await,
        ["old", "new"]
    );
}

#[tokio::test]
async fn destroyed_objects_free_their_names_on_sqlite() {
    let database = TestDatabase::sqlite();
    as_of(&database, "sqlite", 7, OLD_NAMES).await;
    names_after_upgrade(&upgraded(&database).await).await;
}

#[tokio::test]
async fn destroyed_objects_free_their_names_on_postgres() {
    let Some(database) = TestDatabase::postgres().await else {
        return;
    };
    as_of(&database, "postgres", 7, OLD_NAMES).await;
    let db = upgraded(&database).await;
    names_after_upgrade(&db).await;
    db.close().await;
}

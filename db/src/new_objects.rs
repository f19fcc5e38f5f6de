//! Storing new objects — their rows, names and tags — together with other changes and
//! the audit entries that record them, in one durable transaction. On SQLite the whole
//! transaction, its BEGIN and COMMIT included, goes in one text: each statement sent
//! apart is a round trip to the connection's thread, which under load costs more than
//! the rows.

use crate::audit::AuditEntry;
use crate::changes::{
    anonymous, audit_insert_sql, bind_audit_entry, bind_change, insert_audit, run_change,
    values_sql, Change, AUDIT_ROWS_PER_INSERT,
};
use crate::error::{insert_error, is_name_taken, query_error, Error, Result};
use crate::feed::Changed;
use crate::lent::Lent;
use crate::objects::NewObject;
use crate::pool::{Pool, WriterWait};
use crate::{now_millis, Db, Engine};

/// New objects per INSERT statement (11 parameters each).
const OBJECT_ROWS_PER_INSERT: usize = 100;
/// Names or tags per INSERT statement (2 parameters each).
const LABEL_ROWS_PER_INSERT: usize = 500;

const OBJECT_INSERT: &str = "INSERT INTO objects (uid, object_type, state, owner, wrapped, \
     attributes, chain_id, chain_version, created_at, updated_at, wrap_key_version) VALUES ";

/// Binds the columns of a new object, in the order of [`OBJECT_INSERT`].
macro_rules! bind_object {
    ($query:expr, $object:expr, $attributes:expr, $now:expr) => {
        $query
            .bind($object.uid)
            .bind($object.object_type)
            .bind($object.state)
            .bind($object.owner)
            .bind($object.wrapped)
            .bind($attributes)
            .bind($object.chain_id)
            .bind($object.chain_version)
            .bind($now)
            .bind($now)
            .bind($object.wrap_key_version)
    };
}

/// (object uid, name or tag).
type Label<'a> = (&'a str, &'a str);

/// What a transaction stores: the objects with their attributes as JSON text, their
/// names and tags, other changes and the audit entries.
struct Writes<'a> {
    objects: &'a [NewObject<'a>],
    attributes: Vec<String>,
    names: Vec<Label<'a>>,
    tags: Vec<Label<'a>>,
    changes: &'a [Change<'a>],
    audit: &'a [AuditEntry],
}

impl<'a> Writes<'a> {
    fn new(
        objects: &'a [NewObject<'a>],
        changes: &'a [Change<'a>],
        audit: &'a [AuditEntry],
    ) -> Writes<'a> {
        Writes {
            objects,
            attributes: objects.iter().map(|o| o.attributes.to_string()).collect(),
            names: labels(objects, |o| o.names),
            tags: labels(objects, |o| o.tags),
            changes,
            audit,
        }
    }

    /// Every statement, `;`-separated, for SQLite, all with anonymous `?` parameters:
    /// the rows, the audit entries, then the changes.
    fn sqlite_text(&self) -> String {
        let mut text = String::new();
        for chunk in self.objects.chunks(OBJECT_ROWS_PER_INSERT) {
            text += &values_sql(OBJECT_INSERT, 11, chunk.len(), Engine::Sqlite);
            text.push(';');
        }
        for (table, column, pairs) in self.label_tables() {
            for chunk in pairs.chunks(LABEL_ROWS_PER_INSERT) {
                text += &label_insert_sql(table, column, chunk.len(), Engine::Sqlite);
                text.push(';');
            }
        }
        for chunk in self.audit.chunks(AUDIT_ROWS_PER_INSERT) {
            text += &audit_insert_sql(chunk.len(), Engine::Sqlite);
            text.push(';');
        }
        for change in self.changes {
            text += &anonymous(change.statement());
            text.push(';');
        }
        text
    }

    /// (table, column, its rows) for names and for tags.
    fn label_tables(&self) -> [(&'static str, &'static str, &[Label<'a>]); 2] {
        [
            ("object_names", "name", &self.names),
            ("object_tags", "tag", &self.tags),
        ]
    }
}

fn label_insert_sql(table: &str, column: &str, rows: usize, engine: Engine) -> String {
    values_sql(
        &format!("INSERT INTO {table} (uid, {column}) VALUES "),
        2,
        rows,
        engine,
    )
}

/// What a failed INSERT of `objects` names: the object, or the first few of several.
fn objects_named(objects: &[NewObject<'_>]) -> String {
    match objects {
        [one] => format!("object {}", one.uid),
        many => {
            let first: Vec<&str> = many.iter().take(3).map(|o| o.uid).collect();
            format!("one of {} objects ({}, …)", many.len(), first.join(", "))
        }
    }
}

/// The names of `labels`, for an error: `"a"`, or `"a" or "b"`.
fn labels_named(labels: &[Label<'_>]) -> String {
    let names: Vec<String> = labels.iter().map(|(_, name)| format!("{name:?}")).collect();
    names.join(" or ")
}

/// (uid, label) for every name (or tag) `of` each object.
fn labels<'a>(
    objects: &'a [NewObject<'a>],
    of: impl Fn(&'a NewObject<'a>) -> &'a [String],
) -> Vec<Label<'a>> {
    objects
        .iter()
        .flat_map(|object| of(object).iter().map(|label| (object.uid, label.as_str())))
        .collect()
}

impl Db {
    /// Stores an object with its names and tags in one transaction.
    pub async fn insert_object(&self, object: &NewObject<'_>) -> Result<()> {
        self.insert_object_audited(object, &[], &[]).await
    }

    /// Stores an object, applies `changes` and appends the audit entries that record
    /// them, in one transaction.
    pub async fn insert_object_audited(
        &self,
        object: &NewObject<'_>,
        changes: &[Change<'_>],
        audit: &[AuditEntry],
    ) -> Result<()> {
        self.insert_objects_audited(std::slice::from_ref(object), changes, audit)
            .await
    }

    /// Stores several objects, applies `changes` and appends `audit`, in one transaction
    /// (one durable commit for all: nothing is stored if anything fails).
    pub async fn insert_objects_audited(
        &self,
        objects: &[NewObject<'_>],
        changes: &[Change<'_>],
        audit: &[AuditEntry],
    ) -> Result<()> {
        let writes = Writes::new(objects, changes, audit);
        let now = now_millis();
        // A new object starting its own chain changes nothing cached but its names.
        let new_versions =
            objects
                .iter()
                .filter(|o| o.chain_id != o.uid)
                .map(|o| Changed::Object {
                    chain: o.chain_id,
                    uid: o.uid,
                });
        let names = objects
            .iter()
            .flat_map(|o| o.names.iter().map(|name| Changed::Name(name)));
        let told = new_versions
            .chain(names)
            .chain(changes.iter().filter_map(Change::told))
            .collect();
        let _tell = self.tell_when_done(told);
        let stored = match &*self.pool {
            Pool::Sqlite { writer, .. } => match writer.get().await {
                Ok(mut writer) => {
                    let stored = insert_in_one_text(&mut writer, &writes, now).await;
                    writer.checked(stored)
                }
                Err(error) => Err(Error::writer_wait(error)),
            },
            Pool::Postgres(pool) => insert_statement_by_statement(pool, &writes, now).await,
        };
        stored
    }
}

/// PostgreSQL: a statement per chunk of rows and per change (its extended protocol
/// prepares one statement at a time).
async fn insert_statement_by_statement(
    pool: &sqlx::PgPool,
    writes: &Writes<'_>,
    now: i64,
) -> Result<()> {
    let mut tx = pool
        .begin()
        .await
        .map_err(query_error("begin a transaction"))?;
    // A statement for many rows: each statement is a round trip to the database, which
    // under load costs more than the rows.
    for (chunk, attributes) in writes
        .objects
        .chunks(OBJECT_ROWS_PER_INSERT)
        .zip(writes.attributes.chunks(OBJECT_ROWS_PER_INSERT))
    {
        let sql = values_sql(OBJECT_INSERT, 11, chunk.len(), Engine::Postgres);
        let mut query = sqlx::query(&sql);
        for (object, attributes) in chunk.iter().zip(attributes) {
            query = bind_object!(query, object, attributes.as_str(), now);
        }
        query
            .execute(&mut *tx)
            .await
            .map_err(insert_error("store an object", objects_named(chunk)))?;
    }
    for (table, column, pairs) in writes.label_tables() {
        for chunk in pairs.chunks(LABEL_ROWS_PER_INSERT) {
            let sql = label_insert_sql(table, column, chunk.len(), Engine::Postgres);
            let mut query = sqlx::query(&sql);
            for (uid, label) in chunk {
                query = query.bind(*uid).bind(*label);
            }
            query
                .execute(&mut *tx)
                .await
                .map_err(|source| match is_name_taken(&source) {
                    true => Error::NameTaken(labels_named(chunk)),
                    false => query_error("store object names and tags")(source),
                })?;
        }
    }
    for change in writes.changes {
        run_change!(tx, change, now)?;
    }
    insert_audit!(tx, writes.audit, Engine::Postgres);
    tx.commit()
        .await
        .map_err(query_error("commit a new object"))
}

/// SQLite: the whole transaction — `BEGIN`, the statements of [`Writes::sqlite_text`],
/// `COMMIT` — as one text, its parameters in the same order: one round trip to the
/// connection's thread instead of three (begin, statements, commit). A failure is rolled
/// back on the connection; a caller that goes away midway, or a rollback that fails,
/// closes the connection, which rolls back what is open.
async fn insert_in_one_text(writer: &mut Lent<'_>, writes: &Writes<'_>, now: i64) -> Result<()> {
    let text = format!("BEGIN;{}COMMIT;", writes.sqlite_text());
    let mut query = sqlx::query(&text);
    for (object, attributes) in writes.objects.iter().zip(&writes.attributes) {
        query = bind_object!(query, object, attributes.as_str(), now);
    }
    for (_, _, pairs) in writes.label_tables() {
        for (uid, label) in pairs {
            query = query.bind(*uid).bind(*label);
        }
    }
    for entry in writes.audit {
        query = bind_audit_entry!(query, entry);
    }
    for change in writes.changes {
        query = bind_change!(query, change, now);
    }
    writer.unsettled();
    if let Err(source) = query.execute(&mut **writer).await {
        // A statement failed with the transaction still open (a taken uid, say): roll
        // it back here and keep the connection. If even that fails, or SQLite had
        // already ended the transaction itself, the connection stays unsettled and is
        // closed when given back.
        if sqlx::query("ROLLBACK").execute(&mut **writer).await.is_ok() {
            writer.settled();
        }
        return Err(one_text_error(writes, source));
    }
    writer.settled();
    Ok(())
}

/// A failure of the one-text transaction: `AlreadyExists` when an object's row is
/// taken (its uid, or its place in a ReKey chain: SQLite names the table's columns),
/// `NameTaken` when a name is, else what was being attempted.
fn one_text_error(writes: &Writes<'_>, source: sqlx::Error) -> Error {
    let object_taken = matches!(&source, sqlx::Error::Database(db)
        if db.is_unique_violation() && db.message().contains(" objects."));
    if object_taken {
        return Error::AlreadyExists(objects_named(writes.objects));
    }
    if is_name_taken(&source) {
        let added = writes.changes.iter().filter_map(|change| match change {
            Change::AddName { name, .. } => Some(format!("{name:?}")),
            _ => None,
        });
        let names: Vec<String> = writes
            .names
            .iter()
            .map(|(_, name)| format!("{name:?}"))
            .chain(added)
            .collect();
        return Error::NameTaken(names.join(" or "));
    }
    Error::Query {
        context: "store new objects with their changes and audit entries",
        source,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::pool::on_writer;
    use crate::testing::TestDatabase;
    use crate::{Change, Error, NewObject, Role};

    /// A taken uid, or a later statement, fails the one-text transaction. It is rolled
    /// back on the connection it ran on, which writes on: no reconnect (the connection's
    /// temporary table is still there), nothing of the failed transaction stored, nothing
    /// left open.
    #[tokio::test]
    async fn a_failed_transaction_is_rolled_back_on_the_writer_it_ran_on() {
        let database = TestDatabase::sqlite();
        let db = database.open().await;
        let attributes = json!({});
        let key = |uid| NewObject {
            uid,
            object_type: "SymmetricKey",
            state: "PreActive",
            owner: "alice",
            wrapped: None,
            attributes: &attributes,
            chain_id: uid,
            chain_version: 1,
            wrap_key_version: 1,
            names: &[],
            tags: &[],
        };
        on_writer!(db, |pool| sqlx::query(
            "CREATE TEMP TABLE marker (n INTEGER)"
        )
        .execute(pool)
        .await
        .map(|_| ()))
        .unwrap();
        db.insert_object(&key("taken")).await.unwrap();

        let failed = db
            .insert_objects_audited(&[key("fresh"), key("taken")], &[], &[])
            .await;
        assert!(matches!(failed, Err(Error::AlreadyExists(_))), "{failed:?}");

        let marker: i64 = on_writer!(db, |pool| sqlx::query_scalar("SELECT COUNT(*) FROM marker")
            .fetch_one(pool)
            .await)
        .expect("the same writing connection, with its temporary table");
        assert_eq!(marker, 0);
        assert!(db.object("fresh").await.unwrap().is_none(), "rolled back");

        // A later statement of the text fails (a user that exists), after the object's
        // row went in: that row is rolled back too, on the same connection.
        let user = [Change::CreateUser {
            name: "erin",
            role: Role::Admin,
        }];
        db.apply(&user, &[]).await.unwrap();
        let failed = db.insert_objects_audited(&[key("fresh")], &user, &[]).await;
        assert!(matches!(failed, Err(Error::Query { .. })), "{failed:?}");
        assert!(db.object("fresh").await.unwrap().is_none(), "rolled back");
        on_writer!(db, |pool| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM marker"
        )
        .fetch_one(pool)
        .await)
        .expect("still the same writing connection");

        db.insert_object(&key("fresh")).await.unwrap();
        assert!(db.object("fresh").await.unwrap().is_some());
    }
}

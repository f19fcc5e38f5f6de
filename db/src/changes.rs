//! Management changes applied in one transaction together with the audit entries that
//! record them, so that a change is never committed without its audit trail (nor the
//! other way round). The single home of these statements.

use std::borrow::Cow;
use std::sync::OnceLock;

use sqlx::Connection as _;

use crate::audit::AuditEntry;
use crate::error::{insert_error, query_error, Result};
use crate::feed::Changed;
use crate::pool::on_writer;
use crate::tokens::NewToken;
use crate::users::Role;
use crate::Engine;
use crate::{now_millis, Db};

/// One change to apply.
#[derive(Debug, Clone)]
pub enum Change<'a> {
    CreateUser {
        name: &'a str,
        role: Role,
    },
    InsertToken(NewToken<'a>),
    RevokeToken {
        id: &'a str,
    },
    Grant {
        object_uid: &'a str,
        identity: &'a str,
        operation: &'a str,
        granted_by: &'a str,
    },
    RevokeGrant {
        object_uid: &'a str,
        identity: &'a str,
        operation: &'a str,
    },
    PutSetting {
        name: &'a str,
        value: &'a str,
    },
    /// Sets state and attributes if the row is still at `expected_row_version` (0 rows
    /// affected otherwise: read again and retry).
    UpdateObject {
        uid: &'a str,
        /// The object's key chain (what caches drop).
        chain_id: &'a str,
        expected_row_version: i64,
        state: &'a str,
        attributes: &'a str,
    },
    /// Gives an object one more name.
    AddName {
        uid: &'a str,
        name: &'a str,
    },
    /// Takes a name from an object.
    RemoveName {
        uid: &'a str,
        name: &'a str,
    },
    /// Frees the names of an object that was destroyed (it keeps them for the record).
    RetireNames {
        uid: &'a str,
    },
    /// Like `UpdateObject`, and erases the wrapped key material (KMIP Destroy keeps the
    /// object's metadata, never its key).
    DestroyMaterial {
        uid: &'a str,
        /// The object's key chain (what caches drop).
        chain_id: &'a str,
        expected_row_version: i64,
        state: &'a str,
        attributes: &'a str,
    },
}

impl Change<'_> {
    /// What this change changes for the caches, if anything.
    pub(crate) fn told(&self) -> Option<Changed<'_>> {
        match self {
            Change::CreateUser { .. }
            | Change::InsertToken(_)
            | Change::RevokeToken { .. }
            | Change::PutSetting { .. } => None,
            Change::Grant { object_uid, .. } | Change::RevokeGrant { object_uid, .. } => {
                Some(Changed::Grant { on: object_uid })
            }
            Change::UpdateObject { uid, chain_id, .. }
            | Change::DestroyMaterial { uid, chain_id, .. } => Some(Changed::Object {
                chain: chain_id,
                uid,
            }),
            Change::RetireNames { .. } => None,
            Change::AddName { name, .. } | Change::RemoveName { name, .. } => {
                Some(Changed::Name(name))
            }
        }
    }

    pub(crate) fn describe(&self) -> (&'static str, String) {
        match self {
            Change::CreateUser { name, .. } => ("create a user", format!("user {name:?}")),
            Change::InsertToken(token) => ("store a token", format!("token {}", token.id)),
            Change::RevokeToken { id } => ("revoke a token", format!("token {id}")),
            Change::Grant { .. } => ("store a grant", "grant".into()),
            Change::RevokeGrant { .. } => ("remove a grant", "grant".into()),
            Change::PutSetting { name, .. } => ("store a setting", format!("setting {name}")),
            Change::UpdateObject { uid, .. } => ("update an object", format!("object {uid}")),
            Change::DestroyMaterial { uid, .. } => {
                ("destroy an object's key", format!("object {uid}"))
            }
            Change::AddName { uid, name } => {
                ("name an object", format!("object {uid}, name {name:?}"))
            }
            Change::RemoveName { uid, name } => {
                ("unname an object", format!("object {uid}, name {name:?}"))
            }
            Change::RetireNames { uid } => {
                ("free a destroyed object's names", format!("object {uid}"))
            }
        }
    }

    /// The statement that applies this change, with `$1 … $n` parameters (bound by
    /// [`bind_change!`]), each once and in that order, so that the statement can also
    /// be written with anonymous parameters ([`anonymous`]).
    pub(crate) fn statement(&self) -> &'static str {
        match self {
            Change::CreateUser { .. } => {
                "INSERT INTO users (name, role, created_at) VALUES ($1, $2, $3)"
            }
            Change::InsertToken(_) => {
                "INSERT INTO tokens (id, user_name, secret_hash, label, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)"
            }
            Change::RevokeToken { .. } => {
                "UPDATE tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2"
            }
            Change::Grant { .. } => {
                "INSERT INTO grants (object_uid, identity, operation, granted_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (object_uid, identity, operation) DO NOTHING"
            }
            Change::RevokeGrant { .. } => {
                "DELETE FROM grants WHERE object_uid = $1 AND identity = $2 AND operation = $3"
            }
            Change::PutSetting { .. } => {
                "INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
            }
            Change::UpdateObject { .. } => {
                "UPDATE objects SET state = $1, attributes = $2, row_version = row_version + 1, \
                 updated_at = $3 WHERE uid = $4 AND row_version = $5"
            }
            Change::AddName { .. } => "INSERT INTO object_names (uid, name) VALUES ($1, $2)",
            Change::RemoveName { .. } => "DELETE FROM object_names WHERE uid = $1 AND name = $2",
            Change::RetireNames { .. } => "UPDATE object_names SET live = 0 WHERE uid = $1",
            Change::DestroyMaterial { .. } => {
                "UPDATE objects SET state = $1, attributes = $2, wrapped = NULL, \
                 row_version = row_version + 1, updated_at = $3 WHERE uid = $4 AND row_version = $5"
            }
        }
    }
}

/// Binds the parameters of [`Change::statement`] to `query`, in order; `now` is the
/// current time (Unix ms).
macro_rules! bind_change {
    ($query:expr, $change:expr, $now:expr) => {{
        let query = $query;
        match $change {
            Change::CreateUser { name, role } => query.bind(*name).bind(role.as_str()).bind($now),
            Change::InsertToken(token) => query
                .bind(token.id)
                .bind(token.user_name)
                .bind(token.secret_hash)
                .bind(token.label)
                .bind($now)
                .bind(token.expires_at),
            Change::RevokeToken { id } => query.bind($now).bind(*id),
            Change::Grant {
                object_uid,
                identity,
                operation,
                granted_by,
            } => query
                .bind(*object_uid)
                .bind(*identity)
                .bind(*operation)
                .bind(*granted_by)
                .bind($now),
            Change::RevokeGrant {
                object_uid,
                identity,
                operation,
            } => query.bind(*object_uid).bind(*identity).bind(*operation),
            Change::PutSetting { name, value } => query.bind(*name).bind(*value).bind($now),
            Change::UpdateObject {
                uid,
                expected_row_version,
                state,
                attributes,
                ..
            }
            | Change::DestroyMaterial {
                uid,
                expected_row_version,
                state,
                attributes,
                ..
            } => query
                .bind(*state)
                .bind(*attributes)
                .bind($now)
                .bind(*uid)
                .bind(*expected_row_version),
            Change::AddName { uid, name } | Change::RemoveName { uid, name } => {
                query.bind(*uid).bind(*name)
            }
            Change::RetireNames { uid } => query.bind(*uid),
        }
    }};
}
pub(crate) use bind_change;

/// Runs one change inside the transaction `tx`; evaluates to its affected rows.
macro_rules! run_change {
    ($tx:expr, $change:expr, $now:expr) => {{
        let (context, what) = $change.describe();
        $crate::changes::bind_change!(sqlx::query($change.statement()), $change, $now)
            .execute(&mut *$tx)
            .await
            .map(|done| done.rows_affected())
            .map_err(
                |source| match (&$change, $crate::error::is_name_taken(&source)) {
                    ($crate::changes::Change::AddName { name, .. }, true) => {
                        $crate::error::Error::NameTaken(format!("{name:?}"))
                    }
                    _ => insert_error(context, what)(source),
                },
            )
    }};
}

pub(crate) use run_change;

/// A [`Change::statement`] with anonymous `?` parameters, for SQLite to run it in one
/// text after other statements (sqlx hands each `?` the next argument in order, whereas
/// a `$k` would take the text's `k`-th).
pub(crate) fn anonymous(statement: &str) -> String {
    let mut out = String::with_capacity(statement.len());
    let mut rest = statement;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let digits = rest[at + 1..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        out.push(if digits > 0 { '?' } else { '$' });
        rest = &rest[at + 1 + digits..];
    }
    out.push_str(rest);
    out
}

/// Audit entries per INSERT statement (10 parameters each). A batch of key-use events
/// costs a few statements, not one each.
pub(crate) const AUDIT_ROWS_PER_INSERT: usize = 100;

/// `INSERT INTO audit_entries … VALUES (…), (…)` for `rows` entries. SQLite gets
/// anonymous `?` parameters: looking up `$n` names costs it time linear in their number,
/// for each one.
pub(crate) fn audit_insert_sql(rows: usize, engine: Engine) -> Cow<'static, str> {
    // Full chunks, by far the most common under load, are built once per engine.
    static FULL: [OnceLock<String>; 2] = [OnceLock::new(), OnceLock::new()];
    if rows == AUDIT_ROWS_PER_INSERT {
        let slot = &FULL[matches!(engine, Engine::Postgres) as usize];
        return Cow::Borrowed(slot.get_or_init(|| build_audit_insert_sql(rows, engine)));
    }
    Cow::Owned(build_audit_insert_sql(rows, engine))
}

fn build_audit_insert_sql(rows: usize, engine: Engine) -> String {
    values_sql(
        "INSERT INTO audit_entries (node, seq, at, caller, operation, object_uid, result, \
         request_id, details, mac) VALUES ",
        10,
        rows,
        engine,
    )
}

/// `head` followed by `rows` parenthesized groups of `columns` parameters: anonymous `?`
/// for SQLite (see [`audit_insert_sql`]), `$1 … $n` for PostgreSQL.
pub(crate) fn values_sql(head: &str, columns: usize, rows: usize, engine: Engine) -> String {
    let mut sql = String::from(head);
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 1..=columns {
            if column > 1 {
                sql.push_str(", ");
            }
            match engine {
                Engine::Sqlite => sql.push('?'),
                Engine::Postgres => sql.push_str(&format!("${}", row * columns + column)),
            }
        }
        sql.push(')');
    }
    sql
}

/// Binds the columns of an audit entry, in the order of [`audit_insert_sql`].
macro_rules! bind_audit_entry {
    ($query:expr, $entry:expr) => {
        // Borrowed `&str`s: a `&String` would be copied into the arguments.
        $query
            .bind($entry.node.as_str())
            .bind($entry.seq)
            .bind($entry.at)
            .bind($entry.caller.as_str())
            .bind($entry.operation.as_str())
            .bind($entry.object_uid.as_deref())
            .bind($entry.result.as_str())
            .bind($entry.request_id.as_deref())
            .bind($entry.details.as_str())
            .bind($entry.mac.as_str())
    };
}
pub(crate) use bind_audit_entry;

/// Appends audit entries inside the transaction `tx`.
macro_rules! insert_audit {
    ($tx:expr, $entries:expr, $engine:expr) => {
        for chunk in $entries.chunks($crate::changes::AUDIT_ROWS_PER_INSERT) {
            let sql = $crate::changes::audit_insert_sql(chunk.len(), $engine);
            let mut query = sqlx::query(&sql);
            for entry in chunk {
                query = $crate::changes::bind_audit_entry!(query, entry);
            }
            query
                .execute(&mut *$tx)
                .await
                .map_err($crate::error::query_error("append to the audit log"))?;
        }
    };
}
pub(crate) use insert_audit;

impl Db {
    /// Applies `changes` and appends `audit` in one transaction; returns the rows each
    /// change affected. Nothing is applied when anything fails.
    pub async fn apply(&self, changes: &[Change<'_>], audit: &[AuditEntry]) -> Result<Vec<u64>> {
        let now = now_millis();
        let _tell = self.tell_when_done(changes.iter().filter_map(Change::told).collect());
        let applied = on_writer!(self, |pool| async {
            let mut tx = pool
                .begin()
                .await
                .map_err(query_error("begin a transaction"))?;
            let mut affected = Vec::with_capacity(changes.len());
            for change in changes {
                affected.push(run_change!(tx, change, now)?);
            }
            insert_audit!(tx, audit, self.engine());
            tx.commit().await.map_err(query_error("commit a change"))?;
            Ok(affected)
        }
        .await);
        applied
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::NewToken;

    fn parameter_numbers(statement: &str) -> impl Iterator<Item = usize> + '_ {
        statement.split('$').skip(1).filter_map(|after| {
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            after[..digits].parse().ok()
        })
    }

    fn one_of_each() -> Vec<Change<'static>> {
        let (uid, text) = ("k1", "x");
        vec![
            Change::CreateUser {
                name: text,
                role: Role::Admin,
            },
            Change::InsertToken(NewToken {
                id: text,
                user_name: text,
                secret_hash: text,
                label: None,
                expires_at: None,
            }),
            Change::RevokeToken { id: text },
            Change::Grant {
                object_uid: uid,
                identity: text,
                operation: text,
                granted_by: text,
            },
            Change::RevokeGrant {
                object_uid: uid,
                identity: text,
                operation: text,
            },
            Change::PutSetting {
                name: text,
                value: text,
            },
            Change::UpdateObject {
                uid,
                chain_id: uid,
                expected_row_version: 1,
                state: text,
                attributes: text,
            },
            Change::AddName { uid, name: text },
            Change::RemoveName { uid, name: text },
            Change::RetireNames { uid },
            Change::DestroyMaterial {
                uid,
                chain_id: uid,
                expected_row_version: 1,
                state: text,
                attributes: text,
            },
        ]
    }

    /// What lets SQLite run them with anonymous `?` after other statements.
    #[test]
    fn every_change_numbers_its_parameters_once_in_order() {
        for change in one_of_each() {
            let numbers: Vec<usize> = parameter_numbers(change.statement()).collect();
            let expected: Vec<usize> = (1..=numbers.len()).collect();
            assert_eq!(numbers, expected, "{}", change.statement());
            let anonymous = anonymous(change.statement());
            assert!(!anonymous.contains('$'), "{anonymous}");
            assert_eq!(anonymous.matches('?').count(), numbers.len());
        }
    }

    #[test]
    fn anonymous_parameters_replace_numbered_ones() {
        assert_eq!(
            anonymous("UPDATE t SET a = $1 WHERE b = $2 AND c = $10"),
            "UPDATE t SET a = ? WHERE b = ? AND c = ?"
        );
        assert_eq!(anonymous("SELECT '$x'"), "SELECT '$x'");
    }
}

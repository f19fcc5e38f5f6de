//! The engine-specific connection pools, and the macros that run one statement text on
//! whichever engine is configured (all statements use `$n` placeholders, which both
//! SQLite and PostgreSQL understand): `on_pool!` for reads, `on_writer!` for writes.

pub(crate) enum Pool {
    /// SQLite lets one connection write at a time. Every write goes through `writer`, a
    /// pool of one connection: writes queue for it in order instead of sleeping and
    /// retrying on a busy database, and its page cache stays valid (a SQLite connection
    /// drops its cache whenever another connection has written). Reads use `readers`.
    Sqlite {
        readers: Box<crate::readers::Readers>,
        writer: sqlx::SqlitePool,
    },
    Postgres(sqlx::PgPool),
}

/// `on_pool!(db, |pool| expr)` evaluates `expr` with `pool` bound to the executor for
/// reads: a SQLite reading connection (`expr` then returns a `sqlx::Error` when none is
/// free in time), or the PostgreSQL pool.
macro_rules! on_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match &*$db.pool {
            $crate::pool::Pool::Sqlite { readers, .. } => match readers.get().await {
                Ok(mut reader) => {
                    let $pool = &mut *reader;
                    $body
                }
                Err(error) => Err(error),
            },
            $crate::pool::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// `on_writer!(db, |pool| expr)`: like [`on_pool!`], with the pool for writes.
macro_rules! on_writer {
    ($db:expr, |$pool:ident| $body:expr) => {
        match &*$db.pool {
            $crate::pool::Pool::Sqlite { writer: $pool, .. } => $body,
            $crate::pool::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_writer;

/// The most values one `IN (…)` list of a statement binds; longer lists are split over
/// several statements.
pub(crate) const MAX_IN_LIST: usize = 500;

/// `$first, $first+1, …`: `count` placeholders for an `IN (…)` list.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

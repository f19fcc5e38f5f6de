//! The engine-specific connection pool, and the macro that runs one statement text on
//! whichever engine is configured (all statements use `$n` placeholders, which both
//! SQLite and PostgreSQL understand).

pub(crate) enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// `on_pool!(db, |pool| expr)` evaluates `expr` with `pool` bound to the concrete pool.
macro_rules! on_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match &*$db.pool {
            $crate::pool::Pool::Sqlite($pool) => $body,
            $crate::pool::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

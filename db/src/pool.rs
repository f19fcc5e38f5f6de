//! The engine-specific connection pools, and the macros that run one statement text on
//! whichever engine is configured (all statements use `$n` placeholders, which both
//! SQLite and PostgreSQL understand): `on_pool!` for reads, `on_writer!` for writes,
//! and reads whose `IN (…)` list is split over several statements.

pub(crate) enum Pool {
    /// SQLite lets one connection write at a time. Every write goes through `writer`, one
    /// connection: writes queue for it in order instead of sleeping and retrying on a
    /// busy database, and its page cache stays valid (a SQLite connection drops its cache
    /// whenever another connection has written). Reads use `readers`.
    Sqlite {
        readers: Box<crate::lent::Connections>,
        writer: Box<crate::lent::Connections>,
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
                    let result = $body;
                    reader.checked(result)
                }
                Err(error) => Err(error),
            },
            $crate::pool::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// `on_writer!(db, |pool| expr)`: like [`on_pool!`], with the SQLite writing connection
/// (`expr` returns a `sqlx::Error` when it is not free in time).
macro_rules! on_writer {
    ($db:expr, |$pool:ident| $body:expr) => {
        match &*$db.pool {
            $crate::pool::Pool::Sqlite { writer, .. } => match writer.get().await {
                Ok(mut writer) => {
                    let $pool = &mut *writer;
                    let result = $body;
                    writer.checked(result)
                }
                Err(error) => Err($crate::pool::WriterWait::writer_wait(error)),
            },
            $crate::pool::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_writer;

/// The error of a write whose SQLite writing connection was not free in time, as the
/// error type the write returns.
pub(crate) trait WriterWait {
    fn writer_wait(error: sqlx::Error) -> Self;
}

impl WriterWait for sqlx::Error {
    fn writer_wait(error: sqlx::Error) -> sqlx::Error {
        error
    }
}

impl WriterWait for crate::Error {
    fn writer_wait(source: sqlx::Error) -> crate::Error {
        crate::Error::Query {
            context: "wait for the database writer",
            source,
        }
    }
}

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

impl crate::Db {
    /// Every row of `sql_for(list)` over `values`: one statement per [`MAX_IN_LIST`]
    /// values, `list` being that statement's placeholders `$1, $2, …`, each bound to one
    /// value in order. A statement that fails fails the read, saying `context`.
    pub(crate) async fn read_in_lists<T>(
        &self,
        values: &[&str],
        sql_for: impl Fn(&str) -> String,
        context: &'static str,
    ) -> crate::Result<Vec<T>>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + Send
            + Unpin,
    {
        let mut found = Vec::new();
        for some in values.chunks(MAX_IN_LIST) {
            let sql = sql_for(&placeholders(1, some.len()));
            let mut rows: Vec<T> = on_pool!(self, |pool| {
                let mut query = sqlx::query_as(&sql);
                for value in some {
                    query = query.bind(*value);
                }
                query.fetch_all(pool).await
            })
            .map_err(crate::error::query_error(context))?;
            found.append(&mut rows);
        }
        Ok(found)
    }
}

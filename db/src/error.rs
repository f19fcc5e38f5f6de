//! The storage error type: what failed, in words an operator can act on.

/// Errors returned by hyok-db.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot open database {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error while trying to {context}: {source}")]
    Query {
        context: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// A name another object (not destroyed) carries.
    #[error("the name {0} is taken")]
    NameTaken(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} was changed concurrently; retry")]
    Conflict(String),
    #[error("{0}")]
    Schema(String),
}

pub type Result<T> = std::result::Result<T, Error>;

/// Attaches what was being attempted to a sqlx error.
pub(crate) fn query_error(context: &'static str) -> impl FnOnce(sqlx::Error) -> Error {
    move |source| Error::Query { context, source }
}

/// Whether `source` is the violation of the one-live-name index (migration 0008).
pub(crate) fn is_name_taken(source: &sqlx::Error) -> bool {
    matches!(source, sqlx::Error::Database(db)
        if db.is_unique_violation()
            && (db.constraint() == Some("object_names_live_name")
                || db.message().contains("object_names.name")))
}

/// Maps a unique-constraint violation to `AlreadyExists(what)`, anything else to `Query`.
pub(crate) fn insert_error(
    context: &'static str,
    what: impl Into<String>,
) -> impl FnOnce(sqlx::Error) -> Error {
    move |source| match &source {
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::AlreadyExists(what.into()),
        _ => Error::Query { context, source },
    }
}

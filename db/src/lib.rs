//! hyok-db: everything hyok keeps lives here, on sqlx, with two engines from day one:
//! SQLite (the embedded default, durable commits in WAL mode) and PostgreSQL (shared by
//! several nodes). One set of SQL statements serves both; migrations are per engine.

#![forbid(unsafe_code)]

mod audit;
mod changes;
mod connect;
mod error;
mod feed;
mod grants;
mod lent;
mod locate;
mod new_objects;
mod nodes;
mod objects;
mod pool;
mod settings;
#[cfg(feature = "test-support")]
pub mod testing;
mod tokens;
mod users;

pub use audit::AuditEntry;
pub use changes::Change;
pub use connect::{redact_password, Db, DbOptions, Engine};
pub use error::{Error, Result};
pub use feed::{ChangeListener, Changed};
pub use grants::Grant;
pub use locate::Filter;
pub use objects::{NewObject, ObjectRecord};
pub use tokens::{NewToken, TokenRecord};
pub use users::{Role, User};

/// The current time as Unix milliseconds, the unit of every timestamp column.
pub fn now_millis() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

//! The metadata epochs: numbers that move whenever objects, their names or grants change,
//! so that caches of object records and grant decisions know when to stop trusting what
//! they hold. A cache keeps each entry with the epoch read *before* the database read, and
//! uses it only while the epoch has not moved.
//!
//! This node's own writes move the epochs as soon as they commit (before the caller gets
//! its answer). Other nodes' and processes' writes reach it through the database:
//! triggers keep a counter row that SQLite nodes poll, and notify channel
//! `hyok_metadata` that PostgreSQL nodes listen to ([`Db::follow_other_writers`]).

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::error::query_error;
use crate::pool::Pool;
use crate::Db;

/// The PostgreSQL channel the migration's triggers notify.
const CHANNEL: &str = "hyok_metadata";

#[derive(Default)]
pub(crate) struct Epochs {
    /// Moves on every change to objects, names or grants.
    records: AtomicU64,
    /// Moves with `records`, and also when a new key is stored (a new object can make a
    /// name resolve differently, but changes no record already read).
    names: AtomicU64,
}

/// What a write changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Written {
    /// Existing objects, names or grants (or anything else that can make a cached record
    /// or grant decision wrong).
    Records,
    /// Only a new object starting its own key chain.
    NewKey,
}

impl Db {
    /// The epoch of object records and grants: a record or grant decision read while it
    /// had this value is current for as long as it keeps it.
    pub fn epoch(&self) -> u64 {
        self.epochs.records.load(Ordering::Acquire)
    }

    /// The epoch of name resolution (moves with [`Db::epoch`] and when keys are added).
    pub fn names_epoch(&self) -> u64 {
        self.epochs.names.load(Ordering::Acquire)
    }

    pub(crate) fn written(&self, what: Written) {
        tracing::debug!(?what, "metadata epoch moves: cached records are read again");
        if what == Written::Records {
            self.epochs.records.fetch_add(1, Ordering::AcqRel);
        }
        self.epochs.names.fetch_add(1, Ordering::AcqRel);
    }

    /// Follows writes made by other nodes and processes, moving the epochs when one
    /// commits; runs until the task is dropped. SQLite: reads the trigger-kept counter every
    /// `poll`. PostgreSQL: listens on the notification channel (a lost connection also
    /// moves the epochs, since notifications may have been missed while it was down).
    pub async fn follow_other_writers(&self, poll: Duration) {
        match &*self.pool {
            Pool::Sqlite { readers, .. } => {
                let mut seen = None;
                loop {
                    let counter: Result<i64, _> = async {
                        let mut reader = readers.get().await?;
                        let read =
                            sqlx::query_scalar("SELECT epoch FROM metadata_epoch WHERE id = 1")
                                .fetch_one(&mut *reader)
                                .await;
                        reader.checked(read)
                    }
                    .await
                    .map_err(query_error("read the metadata epoch"));
                    match counter {
                        Ok(counter) if seen != Some(counter) => {
                            if seen.is_some() {
                                self.written(Written::Records);
                            }
                            seen = Some(counter);
                        }
                        Ok(_) => {}
                        Err(error) => {
                            tracing::warn!(%error, "cannot follow other writers; caches dropped");
                            self.written(Written::Records);
                        }
                    }
                    tokio::time::sleep(poll).await;
                }
            }
            Pool::Postgres(pool) => loop {
                let listening: Result<Infallible, sqlx::Error> = async {
                    let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
                    listener.listen(CHANNEL).await?;
                    // Whatever changed before LISTEN took effect was not notified.
                    self.written(Written::Records);
                    loop {
                        // None: the connection was lost and is re-established by the
                        // next call; notifications sent meanwhile are gone.
                        listener.try_recv().await?;
                        self.written(Written::Records);
                    }
                }
                .await;
                let error = match listening {
                    Ok(never) => match never {},
                    Err(error) => error,
                };
                tracing::warn!(%error, "cannot listen for other nodes' changes; caches dropped, retrying");
                self.written(Written::Records);
                tokio::time::sleep(poll.max(Duration::from_secs(1))).await;
            },
        }
    }
}

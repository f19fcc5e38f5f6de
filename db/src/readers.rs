//! SQLite's reading connections, lent to one statement at a time. sqlx's pool pings a
//! connection each time it is given back (to flush a transaction that an interrupted
//! caller may have left open), which for SQLite is a round trip to the connection's
//! thread: two more thread wake-ups on every read. These connections only ever run single
//! statements outside any transaction, so a connection goes straight back to the idle
//! list instead. A connection still busy with the statement of a caller that gave up runs
//! the next statement after it: each connection's thread takes its work in order.
//! Connections are opened when first needed, up to the configured number.

use std::collections::VecDeque;
use std::ops::{Deref, DerefMut};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};
use tokio::sync::{Semaphore, SemaphorePermit};

pub(crate) struct Readers {
    options: SqliteConnectOptions,
    /// Oldest returned first, so that a connection given back while still finishing the
    /// statement of a caller that gave up is the last one lent again.
    idle: Mutex<VecDeque<SqliteConnection>>,
    /// One permit per connection not lent (idle, or not opened yet).
    available: Semaphore,
    acquire_timeout: Duration,
}

/// A connection lent by [`Readers::get`]; back to the idle list when dropped.
pub(crate) struct Reader<'a> {
    connection: Option<SqliteConnection>,
    readers: &'a Readers,
    _turn: SemaphorePermit<'a>,
}

impl Readers {
    /// At most `count` connections opened with `options`.
    pub fn new(options: SqliteConnectOptions, count: u32, acquire_timeout: Duration) -> Readers {
        Readers {
            options,
            idle: Mutex::new(VecDeque::new()),
            available: Semaphore::new(count as usize),
            acquire_timeout,
        }
    }

    /// An idle connection (or a new one), within the acquire timeout.
    pub async fn get(&self) -> Result<Reader<'_>, sqlx::Error> {
        let lend = async {
            let turn = self
                .available
                .acquire()
                .await
                .map_err(|_| sqlx::Error::PoolClosed)?;
            let idle = self.idle().pop_front();
            let connection = match idle {
                Some(connection) => connection,
                None => self.options.connect().await?,
            };
            Ok(Reader {
                connection: Some(connection),
                readers: self,
                _turn: turn,
            })
        };
        tokio::time::timeout(self.acquire_timeout, lend)
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
    }

    /// Refuses new reads and closes the idle connections (one in use closes when its
    /// statement ends).
    pub async fn close(&self) {
        self.available.close();
        let idle = std::mem::take(&mut *self.idle());
        for connection in idle {
            let _ = connection.close().await;
        }
    }

    fn idle(&self) -> MutexGuard<'_, VecDeque<SqliteConnection>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Deref for Reader<'_> {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        self.connection.as_ref().expect("lent until dropped")
    }
}

impl DerefMut for Reader<'_> {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.connection.as_mut().expect("lent until dropped")
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take() {
            // Checked under the lock that close() takes after closing: a connection is
            // either taken and closed by close(), or not kept.
            let mut idle = self.readers.idle();
            if !self.readers.available.is_closed() {
                idle.push_back(connection);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readers(count: u32, acquire_timeout: Duration) -> Readers {
        Readers::new(
            SqliteConnectOptions::new().in_memory(true),
            count,
            acquire_timeout,
        )
    }

    #[tokio::test]
    async fn lends_each_connection_to_one_caller_at_a_time() {
        let readers = readers(2, Duration::from_millis(50));
        let mut first = readers.get().await.unwrap();
        let second = readers.get().await.unwrap();
        let one: i64 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&mut *first)
            .await
            .unwrap();
        assert_eq!(one, 1);
        assert!(
            matches!(readers.get().await, Err(sqlx::Error::PoolTimedOut)),
            "both lent: the third caller times out"
        );
        drop(second);
        assert!(readers.get().await.is_ok(), "given back on drop");
        drop(first);
        assert_eq!(readers.idle().len(), 2, "two opened, both idle again");
    }

    #[tokio::test]
    async fn refuses_reads_once_closed() {
        let readers = readers(1, Duration::from_secs(5));
        let lent = readers.get().await.unwrap();
        readers.close().await;
        drop(lent);
        assert!(matches!(readers.get().await, Err(sqlx::Error::PoolClosed)));
        assert!(
            readers.idle().is_empty(),
            "the lent connection was not kept"
        );
    }
}

//! SQLite connections lent to one caller at a time: the readers, and the one writer.
//! sqlx's pool pings a connection each time it is given back (to wait for whatever an
//! interrupted caller left running), which for SQLite is a round trip to the connection's
//! thread: two more thread wake-ups on every read and every commit, and for the writer a
//! wait that every next write queues behind. Here a connection goes straight back to the
//! idle list instead. That is safe because each connection's thread takes its work in
//! order: a connection still busy with the statement of a caller that gave up runs the
//! next caller's work after it, and a transaction dropped unfinished has already queued
//! its rollback (sqlx does so on drop) ahead of that work. A transaction whose own
//! statements begin and commit it ([`Lent::unsettled`]) has no such rollback: if its
//! caller gives up midway, the connection is closed (closing rolls it back) instead of
//! lent again; nor is a connection whose thread has stopped ([`Lent::checked`]).
//! Connections are opened when first needed, up to the configured number.

use std::collections::VecDeque;
use std::ops::{Deref, DerefMut};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};
use tokio::sync::{Semaphore, SemaphorePermit};

pub(crate) struct Connections {
    options: SqliteConnectOptions,
    /// Statements each new connection runs first (the writer's feed triggers), once the
    /// table they need exists.
    on_connect: Option<(&'static str, String)>,
    /// Oldest returned first, so that a connection given back while still finishing the
    /// statement of a caller that gave up is the last one lent again.
    idle: Mutex<VecDeque<SqliteConnection>>,
    /// One permit per connection not lent (idle, or not opened yet).
    available: Semaphore,
    acquire_timeout: Duration,
}

/// A connection lent by [`Connections::get`]; back to the idle list when dropped.
pub(crate) struct Lent<'a> {
    connection: Option<SqliteConnection>,
    connections: &'a Connections,
    /// Set from [`Lent::unsettled`] to [`Lent::settled`].
    unsettled: bool,
    /// Set by [`Lent::checked`] when the connection's thread is gone.
    worker_gone: bool,
    _turn: SemaphorePermit<'a>,
}

/// Errors that can show that a connection's thread has stopped: sqlx ends it when it
/// cannot roll back a transaction whose caller went away, and from then on every
/// statement sent to the connection fails with `WorkerCrashed`.
pub(crate) trait WorkerGone {
    fn worker_gone(&self) -> bool;
}

impl WorkerGone for sqlx::Error {
    fn worker_gone(&self) -> bool {
        matches!(self, sqlx::Error::WorkerCrashed)
    }
}

impl WorkerGone for crate::Error {
    fn worker_gone(&self) -> bool {
        matches!(self, crate::Error::Query { source, .. } if source.worker_gone())
    }
}

impl Connections {
    /// At most `count` connections opened with `options`.
    pub fn new(
        options: SqliteConnectOptions,
        count: u32,
        acquire_timeout: Duration,
    ) -> Connections {
        Connections {
            options,
            on_connect: None,
            idle: Mutex::new(VecDeque::new()),
            available: Semaphore::new(count as usize),
            acquire_timeout,
        }
    }

    /// Has each new connection run `statements` first, once the table `needs` exists (in
    /// a database not migrated yet they wait: run them after the migrations, see
    /// [`Connections::on_connect_statements`]).
    pub fn with_on_connect(mut self, needs: &'static str, statements: String) -> Connections {
        self.on_connect = Some((needs, statements));
        self
    }

    /// The on-connect statements (to run on a connection opened before their table existed).
    pub fn on_connect_statements(&self) -> Option<&str> {
        self.on_connect
            .as_ref()
            .map(|(_, statements)| statements.as_str())
    }

    /// Runs the on-connect statements on `connection`, if their table exists.
    async fn run_on_connect(
        &self,
        connection: SqliteConnection,
    ) -> Result<SqliteConnection, sqlx::Error> {
        let mut connection = connection;
        if let Some((needs, statements)) = &self.on_connect {
            let exists: i64 = sqlx::query_scalar::<sqlx::Sqlite, i64>(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1",
            )
            .bind(*needs)
            .fetch_one(&mut connection)
            .await?;
            if exists > 0 {
                sqlx::query::<sqlx::Sqlite>(statements)
                    .execute(&mut connection)
                    .await?;
            }
        }
        Ok(connection)
    }

    /// An idle connection (or a new one), within the acquire timeout.
    pub async fn get(&self) -> Result<Lent<'_>, sqlx::Error> {
        let lend = async {
            let turn = self
                .available
                .acquire()
                .await
                .map_err(|_| sqlx::Error::PoolClosed)?;
            let idle = self.idle().pop_front();
            let connection = match idle {
                Some(connection) => connection,
                None => self.run_on_connect(self.options.connect().await?).await?,
            };
            Ok(Lent {
                connection: Some(connection),
                connections: self,
                unsettled: false,
                worker_gone: false,
                _turn: turn,
            })
        };
        tokio::time::timeout(self.acquire_timeout, lend)
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
    }

    /// Refuses new callers and closes the idle connections (one in use closes when its
    /// caller gives it back).
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

impl Lent<'_> {
    /// Marks the connection as running statements that open a transaction themselves
    /// (`BEGIN; …; COMMIT`): unless [`Lent::settled`] follows, the connection is closed
    /// when given back, which rolls back whatever they left open.
    pub fn unsettled(&mut self) {
        self.unsettled = true;
    }

    /// The statements since [`Lent::unsettled`] ended with their transaction closed.
    pub fn settled(&mut self) {
        self.unsettled = false;
    }

    /// `result`, as it was; if it shows that the connection's thread has stopped, the
    /// connection is closed when given back, and the next caller gets a new one (else
    /// every later use of it would fail the same way until a restart).
    pub fn checked<T, E: WorkerGone>(&mut self, result: Result<T, E>) -> Result<T, E> {
        if matches!(&result, Err(error) if error.worker_gone()) && !self.worker_gone {
            tracing::warn!(
                "a database connection's thread has stopped; a new connection replaces it"
            );
            self.worker_gone = true;
        }
        result
    }
}

impl Deref for Lent<'_> {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        self.connection.as_ref().expect("lent until dropped")
    }
}

impl DerefMut for Lent<'_> {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.connection.as_mut().expect("lent until dropped")
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take() {
            if self.unsettled || self.worker_gone {
                // Dropped: its thread closes it once done, rolling back what is open; the
                // next caller opens a new connection (and waits for the write lock).
                return;
            }
            // Checked under the lock that close() takes after closing: a connection is
            // either taken and closed by close(), or not kept.
            let mut idle = self.connections.idle();
            if !self.connections.available.is_closed() {
                idle.push_back(connection);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connections(count: u32, acquire_timeout: Duration) -> Connections {
        Connections::new(
            SqliteConnectOptions::new().in_memory(true),
            count,
            acquire_timeout,
        )
    }

    #[tokio::test]
    async fn lends_each_connection_to_one_caller_at_a_time() {
        let readers = connections(2, Duration::from_millis(50));
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
        let readers = connections(1, Duration::from_secs(5));
        let lent = readers.get().await.unwrap();
        readers.close().await;
        drop(lent);
        assert!(matches!(readers.get().await, Err(sqlx::Error::PoolClosed)));
        assert!(
            readers.idle().is_empty(),
            "the lent connection was not kept"
        );
    }

    /// Stops the thread of `connection` the way sqlx does it: a transaction's `BEGIN` that
    /// the thread refuses (one is already open) after its caller went away. The thread is
    /// kept busy meanwhile (a second or more) so that the caller is surely gone before it
    /// answers. Returns the first statement's result once the thread is gone.
    async fn stop_the_thread_of(connection: &mut SqliteConnection) -> Result<i64, sqlx::Error> {
        {
            let mut open = connection.begin().await.unwrap();
            let busy = sqlx::query(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000) \
                 SELECT count(*) FROM c",
            );
            assert!(
                !sent_then_dropped(busy.execute(&mut *open)),
                "not answered yet"
            );
            let refused = open.begin_with("BEGIN");
            assert!(!sent_then_dropped(refused), "not answered yet");
        }
        // A statement sent before the thread stopped is never answered (sqlx keeps it
        // queued); one sent after fails at once.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let read = sqlx::query_scalar("SELECT 1").fetch_one(&mut *connection);
            if let Ok(read) = tokio::time::timeout(Duration::from_millis(50), read).await {
                return read;
            }
            assert!(tokio::time::Instant::now() < deadline, "the thread goes on");
        }
    }

    /// Polls `future` once (far enough to send its command to the connection's thread),
    /// then drops it; true when it was already done.
    fn sent_then_dropped(future: impl std::future::Future) -> bool {
        let mut future = std::pin::pin!(future);
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        future.as_mut().poll(&mut context).is_ready()
    }

    #[tokio::test]
    async fn a_connection_whose_thread_stopped_is_not_lent_again() {
        let readers = connections(1, Duration::from_secs(5));
        {
            let mut lent = readers.get().await.unwrap();
            let read = stop_the_thread_of(&mut lent).await;
            assert!(
                matches!(lent.checked(read), Err(sqlx::Error::WorkerCrashed)),
                "its statements fail"
            );
        }
        assert!(readers.idle().is_empty(), "not kept");
        let mut next = readers.get().await.unwrap();
        let one: i64 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&mut *next)
            .await
            .expect("a new connection");
        assert_eq!(one, 1);
    }

    /// A caller that began a transaction in its own statements and went away before
    /// settling leaves nothing open: its connection is not lent again, the next caller
    /// gets a new one, and what the abandoned transaction wrote is gone.
    #[tokio::test]
    async fn an_unsettled_connection_is_closed_not_lent_again() {
        let dir = tempfile::tempdir().unwrap();
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("lent.db"))
            .create_if_missing(true)
            .busy_timeout(Duration::from_secs(5));
        let writer = Connections::new(options, 1, Duration::from_secs(5));
        {
            let mut lent = writer.get().await.unwrap();
            sqlx::query("CREATE TABLE t (n INTEGER)")
                .execute(&mut *lent)
                .await
                .unwrap();
            lent.unsettled();
            sqlx::query("BEGIN; INSERT INTO t VALUES (1);")
                .execute(&mut *lent)
                .await
                .unwrap();
            // Gone before its COMMIT.
        }
        assert!(
            writer.idle().is_empty(),
            "the unsettled connection was not kept"
        );
        let mut next = writer.get().await.unwrap();
        sqlx::query("BEGIN; INSERT INTO t VALUES (2); COMMIT;")
            .execute(&mut *next)
            .await
            .expect("no transaction left open: a new one begins");
        let rows: Vec<i64> = sqlx::query_scalar("SELECT n FROM t")
            .fetch_all(&mut *next)
            .await
            .unwrap();
        assert_eq!(rows, vec![2], "the abandoned insert was rolled back");
        next.settled();
        drop(next);
        assert_eq!(writer.idle().len(), 1, "a settled connection is kept");
    }
}

//! The change feed: what changed in objects, names and grants, told to the caches above
//! the database (the [`ChangeListener`] set with [`Db::on_change`]) key by key.
//!
//! This handle's own writes are told as soon as they commit (before the caller gets its
//! answer), from the changes themselves. Other writers' changes (other nodes, other
//! processes) reach it through the database, tagged with the writer that made them, so
//! that this handle's own changes, which it has already told, are not told again:
//! PostgreSQL triggers notify channel `hyok_metadata` ([`Db::follow_other_writers`]
//! listens); on SQLite, TEMP triggers of each hyok writing connection append to the
//! `metadata_changes` table, which the follower reads, while the `metadata_epoch`
//! counter (main-schema triggers) counts every change by anyone: a change the table does
//! not account for (an edit outside hyok), a gap, or a lost notification connection is
//! told as [`Changed::Everything`].

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use crate::error::query_error;
use crate::lent::Connections;
use crate::pool::Pool;
use crate::Db;

/// The PostgreSQL channel the triggers notify.
const CHANNEL: &str = "hyok_metadata";
/// The most feed rows a SQLite follower reads at once; more than that waiting is told as
/// [`Changed::Everything`].
const ROWS_PER_READ: i64 = 10_000;
/// Feed rows kept on SQLite beyond the newest (a follower further behind sees the gap).
const ROWS_KEPT: i64 = 100_000;
/// Names at least this long are cut in PostgreSQL notifications (the payload is bounded).
const NOTIFIED_NAME_CHARS: usize = 1000;
/// The most recent changes remembered for [`Db::changed_since`].
const REMEMBERED: usize = 4096;

/// One change, as the caches need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changed<'a> {
    /// The object `uid`, a version of the key chain `chain`, changed or went (or a new
    /// version joined the chain).
    Object { chain: &'a str, uid: &'a str },
    /// The name `name` was given to an object or taken from one.
    Name(&'a str),
    /// A grant on `on` (a key chain, or `*` for every object) was given or revoked.
    Grant { on: &'a str },
    /// Anything may have changed.
    Everything,
}

impl Changed<'_> {
    fn to_owned(self) -> Remembered {
        match self {
            Changed::Object { chain, uid } => Remembered::Object {
                chain: chain.into(),
                uid: uid.into(),
            },
            Changed::Name(name) => Remembered::Name(name.into()),
            Changed::Grant { on } => Remembered::Grant { on: on.into() },
            Changed::Everything => Remembered::Everything,
        }
    }
}

/// A change told, kept for [`Db::changed_since`].
enum Remembered {
    Object { chain: Box<str>, uid: Box<str> },
    Name(Box<str>),
    Grant { on: Box<str> },
    Everything,
}

impl Remembered {
    fn borrowed(&self) -> Changed<'_> {
        match self {
            Remembered::Object { chain, uid } => Changed::Object { chain, uid },
            Remembered::Name(name) => Changed::Name(name),
            Remembered::Grant { on } => Changed::Grant { on },
            Remembered::Everything => Changed::Everything,
        }
    }
}

/// Told every change; runs on the writing task or the follower, so it must be quick.
pub type ChangeListener = Arc<dyn Fn(Changed<'_>) + Send + Sync>;

pub(crate) struct Feed {
    /// This handle's writer tag (PostgreSQL `hyok.writer`, SQLite feed rows).
    pub(crate) writer: String,
    /// Changes told so far.
    told: AtomicU64,
    /// The most recent changes told, with their numbers (`told` after each).
    recent: Mutex<VecDeque<(u64, Remembered)>>,
    listeners: RwLock<Vec<ChangeListener>>,
}

impl Feed {
    pub(crate) fn new() -> Feed {
        Feed {
            writer: uuid::Uuid::new_v4().simple().to_string(),
            told: AtomicU64::new(0),
            recent: Mutex::new(VecDeque::with_capacity(REMEMBERED)),
            listeners: RwLock::new(Vec::new()),
        }
    }
}

impl Db {
    /// Tells `listener` every change from now on (this handle's own at once, others' as
    /// [`Db::follow_other_writers`] sees them), as it tells every listener set before.
    /// Clones of a handle share their listeners.
    pub fn on_change(&self, listener: ChangeListener) {
        self.feed
            .listeners
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(listener);
    }

    /// How many changes were told so far; see [`Db::changed_since`].
    pub fn changes_told(&self) -> u64 {
        self.feed.told.load(Ordering::Acquire)
    }

    /// Whether a change told after [`Db::changes_told`] said `told` is one that `affects`
    /// picks out (true too when too many were told since to tell): a value read from the
    /// database since then may be stale, and a cache should not keep it.
    pub fn changed_since(&self, told: u64, affects: impl Fn(Changed<'_>) -> bool) -> bool {
        if self.changes_told() == told {
            return false;
        }
        let recent = self.feed.recent.lock().unwrap_or_else(|p| p.into_inner());
        let remembered_from = recent.front().map_or(u64::MAX, |(n, _)| *n);
        told + 1 < remembered_from
            || recent
                .iter()
                .any(|(n, change)| *n > told && affects(change.borrowed()))
    }

    /// Tells the listeners `changes`.
    pub(crate) fn tell<'a>(&self, changes: impl IntoIterator<Item = Changed<'a>>) {
        let listeners = self
            .feed
            .listeners
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for change in changes {
            tracing::debug!(?change, "metadata changed: cached entries are read again");
            {
                let mut recent = self.feed.recent.lock().unwrap_or_else(|p| p.into_inner());
                let n = self.feed.told.fetch_add(1, Ordering::AcqRel) + 1;
                if recent.len() == REMEMBERED {
                    recent.pop_front();
                }
                recent.push_back((n, change.to_owned()));
            }
            for listener in &listeners {
                listener(change);
            }
        }
    }

    /// Tells the listener `changes` when the guard goes: after the write it guards ends,
    /// however it ends (committed, failed, or given up midway by a caller that went away,
    /// when the commit may still land).
    pub(crate) fn tell_when_done<'a>(&'a self, changes: Vec<Changed<'a>>) -> TellWhenDone<'a> {
        TellWhenDone { db: self, changes }
    }

    /// Follows writes made by other nodes and processes and tells them; runs until the
    /// task is dropped (a local task: the future is not `Send`). SQLite: reads the feed every `poll`. PostgreSQL: listens on the
    /// notification channel (a lost connection tells everything, since notifications may
    /// have been missed while it was down).
    pub async fn follow_other_writers(&self, poll: Duration) {
        match &*self.pool {
            Pool::Sqlite { readers, writer } => {
                let feed = SqliteFeed { readers, writer };
                self.follow_sqlite_feed(&feed, poll).await
            }
            Pool::Postgres(pool) => loop {
                let listening: Result<Infallible, sqlx::Error> = async {
                    let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
                    listener.listen(CHANNEL).await?;
                    // Whatever changed before LISTEN took effect was not notified.
                    self.tell([Changed::Everything]);
                    loop {
                        let notification = listener.recv().await?;
                        self.tell_notified(notification.payload());
                    }
                }
                .await;
                let error = match listening {
                    Ok(never) => match never {},
                    Err(error) => error,
                };
                tracing::warn!(%error, "cannot listen for other nodes' changes; caches dropped, retrying");
                self.tell([Changed::Everything]);
                tokio::time::sleep(poll.max(Duration::from_secs(1))).await;
            },
        }
    }

    /// A notification's `writer kind chain item`, told unless this handle wrote it.
    fn tell_notified(&self, payload: &str) {
        let mut parts = payload.splitn(4, ' ');
        let (writer, kind, chain, item) = (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        );
        if writer == self.feed.writer {
            return;
        }
        let cut = kind == "name" && item.chars().count() >= NOTIFIED_NAME_CHARS;
        self.tell([if cut {
            Changed::Everything
        } else {
            feed_change(kind, chain, item)
        }]);
    }

    /// Feed rows, told unless this handle wrote them.
    fn tell_fed(&self, rows: &[FeedRow]) {
        let theirs = rows.iter().filter(|row| row.1 != self.feed.writer);
        self.tell(theirs.map(|row| feed_change(&row.2, &row.3, &row.4)));
    }

    async fn follow_sqlite_feed(&self, feed: &SqliteFeed<'_>, poll: Duration) {
        let mut seen: Option<(i64, i64)> = None;
        let mut reads = 0u64;
        loop {
            let read = feed.read(seen.map_or(i64::MAX, |(seq, _)| seq)).await;
            match read {
                Ok((epoch, rows)) => match seen {
                    None => {
                        // Whatever changed before this first read is not followed.
                        let last = rows.last().map_or(0, |row| row.0);
                        seen = Some((last.max(feed.last_seq().await), epoch));
                        self.tell([Changed::Everything]);
                    }
                    Some((last_seq, last_epoch)) => {
                        let counted = usize::try_from(epoch - last_epoch).unwrap_or(usize::MAX);
                        let complete = rows.len() == counted && rows.len() < ROWS_PER_READ as usize;
                        if complete {
                            self.tell_fed(&rows);
                            seen = Some((rows.last().map_or(last_seq, |row| row.0), epoch));
                        } else {
                            if counted > 0 {
                                tracing::debug!(
                                    counted,
                                    fed = rows.len(),
                                    "changes outside the feed (or more than one read holds): caches dropped"
                                );
                            }
                            self.tell([Changed::Everything]);
                            seen = Some((feed.last_seq().await, epoch));
                        }
                    }
                },
                Err(error) => {
                    tracing::warn!(%error, "cannot follow other writers; caches dropped");
                    self.tell([Changed::Everything]);
                    seen = None;
                }
            }
            reads += 1;
            if reads.is_multiple_of(1000) {
                feed.prune().await;
            }
            tokio::time::sleep(poll).await;
        }
    }
}

/// The SQLite side of the feed, on the database's own connections (the feed is read
/// only there: PostgreSQL notifies).
struct SqliteFeed<'a> {
    readers: &'a Connections,
    writer: &'a Connections,
}

impl SqliteFeed<'_> {
    /// The change counter and the feed rows after `after`, read at one instant.
    async fn read(&self, after: i64) -> Result<(i64, Vec<FeedRow>), crate::Error> {
        type Joined = (
            i64,
            Option<i64>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Joined> = async {
            let mut reader = self.readers.get().await?;
            let read = sqlx::query_as::<sqlx::Sqlite, Joined>(
                "SELECT e.epoch, c.seq, c.writer, c.kind, c.chain, c.item FROM metadata_epoch e \
                 LEFT JOIN (SELECT * FROM metadata_changes WHERE seq > $1 ORDER BY seq LIMIT $2) c ON 1 \
                 WHERE e.id = 1 ORDER BY c.seq",
            )
            .bind(after)
            .bind(ROWS_PER_READ)
            .fetch_all(&mut *reader)
            .await;
            reader.checked(read)
        }
        .await
        .map_err(query_error("read the change feed"))?;
        let epoch = rows.first().map_or(0, |row| row.0);
        let fed = rows
            .into_iter()
            .filter_map(|(_, seq, writer, kind, chain, item)| {
                Some((seq?, writer?, kind?, chain?, item?))
            })
            .collect();
        Ok((epoch, fed))
    }

    async fn last_seq(&self) -> i64 {
        let last: Result<i64, sqlx::Error> = async {
            let mut reader = self.readers.get().await?;
            let read = sqlx::query_scalar::<sqlx::Sqlite, i64>(
                "SELECT COALESCE(MAX(seq), 0) FROM metadata_changes",
            )
            .fetch_one(&mut *reader)
            .await;
            reader.checked(read)
        }
        .await;
        last.unwrap_or(0)
    }

    /// Keeps the newest [`ROWS_KEPT`] feed rows.
    async fn prune(&self) {
        let pruned: Result<_, sqlx::Error> = async {
            let mut writer = self.writer.get().await?;
            let done = sqlx::query::<sqlx::Sqlite>(
                "DELETE FROM metadata_changes WHERE seq <= (SELECT MAX(seq) FROM metadata_changes) - $1",
            )
            .bind(ROWS_KEPT)
            .execute(&mut *writer)
            .await;
            writer.checked(done)
        }
        .await;
        if let Err(error) = pruned {
            tracing::warn!(%error, "cannot prune the change feed; trying again later");
        }
    }
}

/// See [`Db::tell_when_done`].
pub(crate) struct TellWhenDone<'a> {
    db: &'a Db,
    changes: Vec<Changed<'a>>,
}

impl Drop for TellWhenDone<'_> {
    fn drop(&mut self) {
        self.db.tell(std::mem::take(&mut self.changes));
    }
}

/// (seq, writer, kind, chain, item).
type FeedRow = (i64, String, String, String, String);

fn feed_change<'a>(kind: &str, chain: &'a str, item: &'a str) -> Changed<'a> {
    match kind {
        "object" => Changed::Object { chain, uid: item },
        "name" => Changed::Name(item),
        "grant" => Changed::Grant { on: chain },
        _ => Changed::Everything,
    }
}

/// The TEMP triggers that make a SQLite connection's writes feed rows tagged `writer` (a
/// hex tag: safe to write into the text).
pub(crate) fn sqlite_feed_triggers(writer: &str) -> String {
    let row = |name: &str, event: &str, table: &str, when: &str, values: &str| {
        format!(
            "CREATE TEMP TRIGGER IF NOT EXISTS hyok_feed_{name} AFTER {event} ON main.{table}{when} \
             BEGIN INSERT INTO metadata_changes (writer, kind, chain, item) VALUES ('{writer}', {values}); END;"
        )
    };
    [
        row(
            "objects_insert",
            "INSERT",
            "objects",
            " WHEN NEW.chain_id <> NEW.uid",
            "'object', NEW.chain_id, NEW.uid",
        ),
        row(
            "objects_update",
            "UPDATE",
            "objects",
            "",
            "'object', OLD.chain_id, OLD.uid",
        ),
        row(
            "objects_delete",
            "DELETE",
            "objects",
            "",
            "'object', OLD.chain_id, OLD.uid",
        ),
        row(
            "names_insert",
            "INSERT",
            "object_names",
            "",
            "'name', NEW.uid, NEW.name",
        ),
        row(
            "names_delete",
            "DELETE",
            "object_names",
            "",
            "'name', OLD.uid, OLD.name",
        ),
        row(
            "grants_insert",
            "INSERT",
            "grants",
            "",
            "'grant', NEW.object_uid, ''",
        ),
        row(
            "grants_update",
            "UPDATE",
            "grants",
            "",
            "'grant', NEW.object_uid, ''",
        ),
        row(
            "grants_delete",
            "DELETE",
            "grants",
            "",
            "'grant', OLD.object_uid, ''",
        ),
    ]
    .concat()
}

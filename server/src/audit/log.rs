//! The node's audit log: sealing events into its chain, committing management events
//! with their change, queueing key-use events for the group-commit writer, flushing.

use std::sync::Arc;

use hyok_db::{AuditEntry, Change, Db, NewObject};
use tokio::sync::{mpsc, oneshot, Mutex, MutexGuard};
use zeroize::Zeroizing;

use super::chain::{
    entry_mac, head_setting, head_value, open_head, open_registry, registry_value, REGISTRY,
};
use super::event::Event;
use super::key;
use super::object_batch::{self, OwnedObject, PendingObject};
use super::writer::{self, Message, QUEUE_CAPACITY};
use crate::keystore::KeystoreHandle;

/// The last position of this node's chain.
pub(super) struct Head {
    pub seq: i64,
    pub mac: String,
    /// Set while a commit is under way and left set if it failed or its caller went away
    /// mid-commit: the commit may have landed, so the next holder reads the chain's end
    /// from the database before sealing after it ([`AuditLog::lock_head`]).
    pub in_doubt: bool,
}

impl Head {
    /// Marks the start of a commit of entries sealed after this head.
    pub fn committing(&mut self) {
        self.in_doubt = true;
    }
}

pub struct AuditLog {
    node: String,
    key: Zeroizing<[u8; 32]>,
    pub(super) head: Mutex<Head>,
    pub(super) db: Db,
    queue: mpsc::Sender<Message>,
    /// New objects for the group-committing task.
    objects: mpsc::Sender<PendingObject>,
    /// `[audit] key_use = "summary"`.
    summarize_key_use: bool,
}

impl AuditLog {
    /// Opens the audit log of a new node (this server run) and starts its writer;
    /// `summarize_key_use`: `[audit] key_use = "summary"`.
    pub async fn start(
        db: Db,
        keystore: &KeystoreHandle,
        summarize_key_use: bool,
    ) -> Result<Arc<AuditLog>, String> {
        let key = key::AUDIT_KEY.load_or_create(&db, keystore).await?;
        let mut suffix = [0u8; 4];
        getrandom::getrandom(&mut suffix).map_err(|e| e.to_string())?;
        let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
        let host = host.trim();
        let node = format!(
            "{}-{}",
            if host.is_empty() { "hyok" } else { host },
            hex::encode(suffix)
        );
        register(&db, &key, &node)
            .await
            .map_err(|e| format!("registering the audit chain: {e}"))?;
        let (queue, inbox) = mpsc::channel(QUEUE_CAPACITY);
        let (objects, new_objects) = mpsc::channel(object_batch::QUEUE_CAPACITY);
        let log = Arc::new(AuditLog {
            node,
            key,
            head: Mutex::new(Head {
                seq: 0,
                mac: String::new(),
                in_doubt: false,
            }),
            db,
            queue,
            objects,
            summarize_key_use,
        });
        actix_web::rt::spawn(writer::run(log.clone(), inbox));
        actix_web::rt::spawn(object_batch::run(log.clone(), new_objects));
        tracing::info!(node = %log.node, "audit chain started");
        Ok(log)
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    pub(super) fn key(&self) -> &[u8; 32] {
        &self.key
    }

    /// The chain head, locked; brought up to date from the database first when the last
    /// commit's outcome is unknown.
    pub(super) async fn lock_head(&self) -> Result<MutexGuard<'_, Head>, hyok_db::Error> {
        let mut head = self.head.lock().await;
        while head.in_doubt {
            let landed = self.db.audit_chain(&self.node, head.seq, 1000).await?;
            if landed.is_empty() {
                head.in_doubt = false;
            }
            advance(&mut head, &landed);
        }
        Ok(head)
    }

    /// Applies `changes` and records `events` in one transaction (management events).
    pub async fn commit(
        &self,
        changes: &[Change<'_>],
        events: &[Event],
    ) -> Result<Vec<u64>, hyok_db::Error> {
        let mut head = self.lock_head().await?;
        let sealed = self.seal(&head, events.iter());
        head.committing();
        let affected = self
            .db
            .apply(&sealed.with_head(changes), &sealed.entries)
            .await?;
        advance(&mut head, &sealed.entries);
        Ok(affected[..changes.len()].to_vec())
    }

    /// Stores a new object, applies `others` and records `event` in one transaction. A
    /// new object alone (no `others`) is group-committed with those of concurrent calls
    /// (see `object_batch`).
    pub async fn commit_object(
        &self,
        object: &NewObject<'_>,
        others: &[Change<'_>],
        event: &Event,
    ) -> Result<(), hyok_db::Error> {
        if !others.is_empty() {
            return self.commit_object_with(object, others, event).await;
        }
        let (done, outcome) = oneshot::channel();
        let pending = PendingObject {
            object: OwnedObject::of(object),
            event: event.clone(),
            done,
        };
        if self.objects.send(pending).await.is_err() {
            return Err(hyok_db::Error::Conflict(format!(
                "object {} (the object committer has stopped)",
                object.uid
            )));
        }
        // The committer answers after the transaction holding this object committed (or
        // failed); it runs on its own, so a caller that goes away changes nothing.
        outcome
            .await
            .unwrap_or_else(|_| Err(hyok_db::Error::Conflict(format!("object {}", object.uid))))
    }

    /// [`AuditLog::commit_object`] with other changes: a transaction of its own.
    async fn commit_object_with(
        &self,
        object: &NewObject<'_>,
        others: &[Change<'_>],
        event: &Event,
    ) -> Result<(), hyok_db::Error> {
        let mut head = self.lock_head().await?;
        let sealed = self.seal(&head, std::iter::once(event));
        head.committing();
        self.db
            .insert_object_audited(object, &sealed.with_head(others), &sealed.entries)
            .await?;
        advance(&mut head, &sealed.entries);
        Ok(())
    }

    /// Queues a key-use event; it is committed within the group-commit window. Waits
    /// (never drops) when the queue is full.
    pub async fn record(&self, event: Event) {
        self.enqueue(Message::Event(event)).await;
    }

    /// Queues the event of a key's use (XKS call, KMIP Get/Encrypt/Decrypt): recorded as
    /// it is, or counted in its second's summary under `[audit] key_use = "summary"`.
    pub async fn record_key_use(&self, event: Event) {
        let message = if self.summarize_key_use {
            Message::Summarized {
                event,
                by_details: false,
            }
        } else {
            Message::Event(event)
        };
        self.enqueue(message).await;
    }

    /// Queues a refused authentication, counted per second with others of the same
    /// details (source, reason), so that a flood of them writes one entry a second.
    pub async fn record_failed_authentication(&self, event: Event) {
        self.enqueue(Message::Summarized {
            event,
            by_details: true,
        })
        .await;
    }

    async fn enqueue(&self, message: Message) {
        if self.queue.send(message).await.is_err() {
            tracing::error!("the audit writer has stopped; an event was not recorded");
        }
    }

    /// Commits everything queued so far (on graceful shutdown).
    pub async fn flush(&self) {
        let (done, flushed) = oneshot::channel();
        if self.queue.send(Message::Flush(done)).await.is_ok() {
            let _ = flushed.await;
        }
    }

    /// Seals `events` after `head`.
    pub(super) fn seal<'e>(
        &self,
        head: &Head,
        events: impl ExactSizeIterator<Item = &'e Event>,
    ) -> SealedEvents {
        let mut previous = head.mac.clone();
        let mut entries = Vec::with_capacity(events.len());
        for (offset, event) in events.enumerate() {
            let mut entry = AuditEntry {
                id: 0,
                node: self.node.clone(),
                seq: head.seq + 1 + offset as i64,
                at: hyok_db::now_millis(),
                caller: event.caller.clone(),
                operation: event.operation.clone(),
                object_uid: event.object_uid.clone(),
                result: event.result.clone(),
                request_id: event.request_id.clone(),
                details: event.details.to_string(),
                mac: String::new(),
            };
            entry.mac = entry_mac(&self.key, &previous, &entry);
            previous = entry.mac.clone();
            entries.push(entry);
        }
        let head_record = entries
            .last()
            .map(|last| head_value(&self.key, &self.node, last.seq, &last.mac));
        SealedEvents {
            entries,
            head_name: head_setting(&self.node),
            head_record,
        }
    }
}

/// Records chain `node` as started: an empty sealed head first, then the chain in the
/// sealed registry (a registered chain without its head shows as deleted). On the first
/// start with a registry (no chain in the table has a registered head), the chains
/// already there are registered too. A registry that does not verify, or is missing
/// while registered chains exist, is left as it is, for `hyok audit verify` to report.
async fn register(db: &Db, key: &[u8; 32], node: &str) -> Result<(), hyok_db::Error> {
    db.put_setting(&head_setting(node), &head_value(key, node, 0, ""))
        .await?;
    loop {
        let current = db.setting(REGISTRY).await?;
        let mut chains = match current.as_deref() {
            None => {
                let found = db.audit_nodes().await?;
                for chain in &found {
                    let head = db.setting(&head_setting(chain)).await?;
                    if head
                        .and_then(|h| open_head(key, chain, &h))
                        .is_some_and(|h| h.registered)
                    {
                        tracing::error!("the audit chain registry is missing although registered chains exist: the audit log may have been tampered with; run `hyok audit verify`");
                        return Ok(());
                    }
                }
                found
            }
            Some(value) => match open_registry(key, value) {
                Some(chains) => chains,
                None => {
                    tracing::error!("the audit chain registry does not verify: the audit log may have been tampered with; run `hyok audit verify`");
                    return Ok(());
                }
            },
        };
        chains.push(node.to_string());
        let value = registry_value(key, &chains);
        if db
            .replace_setting(REGISTRY, current.as_deref(), &value)
            .await?
        {
            return Ok(());
        }
    }
}

/// Events sealed into the chain: their entries, and the new chain head to store with them.
pub(super) struct SealedEvents {
    pub entries: Vec<AuditEntry>,
    head_name: String,
    head_record: Option<String>,
}

impl SealedEvents {
    /// `changes`, then the one that stores the new chain head (in the same transaction).
    pub fn with_head<'a>(&'a self, changes: &[Change<'a>]) -> Vec<Change<'a>> {
        let mut all = changes.to_vec();
        all.extend(self.head_record.as_deref().map(|value| Change::PutSetting {
            name: &self.head_name,
            value,
        }));
        all
    }
}

/// Moves `head` to the last of `entries`, just committed (or found committed).
pub(super) fn advance(head: &mut Head, entries: &[AuditEntry]) {
    if let Some(last) = entries.last() {
        head.seq = last.seq;
        head.mac = last.mac.clone();
        head.in_doubt = false;
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::time::Duration;

    use hyok_db::testing::TestDatabase;

    use super::*;
    use crate::keystore::SoftwareKeystore;

    /// An audit log on `database`, its master key in `dir`.
    pub async fn started(database: &TestDatabase, dir: &std::path::Path) -> Arc<AuditLog> {
        let (keystore, _) =
            SoftwareKeystore::open_or_create(&dir.join("master.key"), None, None).unwrap();
        let handle = KeystoreHandle::new(Arc::new(keystore), 1, Duration::from_secs(5), 4);
        AuditLog::start(database.open().await, &handle, false)
            .await
            .unwrap()
    }

    /// A database of a version before the chain registry: its chains are adopted into
    /// the registry at the first start, and the log verifies.
    #[actix_web::test]
    async fn chains_of_before_the_registry_are_adopted_once() {
        use crate::audit::chain::{legacy_head_value, REGISTRY};
        use sqlx::Connection;
        let database = TestDatabase::sqlite();
        let dir = tempfile::tempdir().unwrap();
        let old = started(&database, dir.path()).await;
        old.commit(&[], &[Event::new("alice", "change", "ok")])
            .await
            .unwrap();
        let db = database.open().await;
        let last = db
            .audit_chain(old.node(), 0, 10)
            .await
            .unwrap()
            .pop()
            .unwrap();
        let legacy = legacy_head_value(old.key(), old.node(), last.seq, &last.mac);
        db.put_setting(&head_setting(old.node()), &legacy)
            .await
            .unwrap();
        sqlx::query("DELETE FROM settings WHERE name = $1")
            .bind(REGISTRY)
            .execute(
                &mut sqlx::SqliteConnection::connect(&database.url)
                    .await
                    .unwrap(),
            )
            .await
            .unwrap();

        let new = started(&database, dir.path()).await;
        let verification = new.verify().await.unwrap();
        assert!(
            verification.breaches.is_empty(),
            "{:?}",
            verification.breaches
        );
        assert_eq!((verification.chains, verification.entries), (2, 1));
    }

    /// A commit that landed although its caller never learned it (the request went away
    /// mid-commit) leaves the head in doubt; the next commit reads the chain's end first
    /// instead of sealing after a stale head.
    #[actix_web::test]
    async fn a_commit_whose_answer_was_lost_is_found_by_the_next() {
        let database = TestDatabase::sqlite();
        let dir = tempfile::tempdir().unwrap();
        let log = started(&database, dir.path()).await;
        let event = |n: usize| Event::new("alice", &format!("change-{n}"), "ok");
        log.commit(&[], &[event(1)]).await.unwrap();
        {
            // As if the commit of change-2 landed but its caller was dropped before
            // advancing the head.
            let mut head = log.head.lock().await;
            let before = (head.seq, head.mac.clone());
            let sealed = log.seal(&head, [event(2)].iter());
            log.db
                .apply(&sealed.with_head(&[]), &sealed.entries)
                .await
                .unwrap();
            (head.seq, head.mac) = before;
            head.committing();
        }
        log.commit(&[], &[event(3)]).await.unwrap();
        let verification = log.verify().await.unwrap();
        assert!(verification.breaches.is_empty(), "{verification:?}");
        assert_eq!(verification.entries, 3);
    }
}

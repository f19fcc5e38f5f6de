//! Group commit of new objects: Creates and Registers that arrive on this node while a
//! commit is under way are stored together by the next one — their objects, their audit
//! entries and the chain head in one durable transaction — so that a burst costs one
//! fsync instead of one each. A caller is answered only once the transaction holding its
//! object has committed; if a shared transaction fails, each object is retried alone so
//! that each caller gets its own outcome.

use std::sync::Arc;

use hyok_db::NewObject;
use tokio::sync::{mpsc, oneshot};

use super::event::Event;
use super::log::{advance, AuditLog, Head};

/// New objects queued at most (callers wait beyond it).
pub const QUEUE_CAPACITY: usize = 10_000;
/// New objects per transaction at most.
const MAX_BATCH: usize = 1000;

/// Runs until the log is dropped: takes whatever is queued, commits it, answers.
pub async fn run(log: Arc<AuditLog>, mut inbox: mpsc::Receiver<PendingObject>) {
    let mut batch = Vec::new();
    while inbox.recv_many(&mut batch, MAX_BATCH).await > 0 {
        match log.lock_head().await {
            Ok(mut head) => commit(&log, &mut head, std::mem::take(&mut batch)).await,
            Err(error) => {
                for pending in batch.drain(..) {
                    let _ = pending.done.send(Err(hyok_db::Error::Conflict(format!(
                        "audit chain (cannot read its end: {error})"
                    ))));
                }
            }
        }
    }
}

/// Commits `batch` in one transaction; after a failure, each object alone, so that each
/// caller gets its own outcome.
async fn commit(log: &AuditLog, head: &mut Head, batch: Vec<PendingObject>) {
    if batch.len() > 1 && insert(log, head, &batch).await.is_ok() {
        for pending in batch {
            let _ = pending.done.send(Ok(()));
        }
        return;
    }
    for pending in batch {
        let alone = insert(log, head, std::slice::from_ref(&pending)).await;
        let _ = pending.done.send(alone);
    }
}

/// Inserts the objects of `batch` with their sealed events and the new chain head.
async fn insert(
    log: &AuditLog,
    head: &mut Head,
    batch: &[PendingObject],
) -> Result<(), hyok_db::Error> {
    let sealed = log.seal(head, batch.iter().map(|p| &p.event));
    head.committing();
    let objects: Vec<NewObject<'_>> = batch.iter().map(|p| p.object.as_new()).collect();
    log.db
        .insert_objects_audited(&objects, &sealed.with_head(&[]), &sealed.entries)
        .await?;
    advance(head, &sealed.entries);
    Ok(())
}

/// A [`NewObject`] that owns its fields, so that another request's commit can store it.
pub(super) struct OwnedObject {
    uid: String,
    object_type: String,
    state: String,
    owner: String,
    wrapped: Option<Vec<u8>>,
    attributes: serde_json::Value,
    chain_id: String,
    chain_version: i64,
    wrap_key_version: i64,
    names: Vec<String>,
    tags: Vec<String>,
}

impl OwnedObject {
    pub fn of(object: &NewObject<'_>) -> OwnedObject {
        OwnedObject {
            uid: object.uid.to_string(),
            object_type: object.object_type.to_string(),
            state: object.state.to_string(),
            owner: object.owner.to_string(),
            wrapped: object.wrapped.map(<[u8]>::to_vec),
            attributes: object.attributes.clone(),
            chain_id: object.chain_id.to_string(),
            chain_version: object.chain_version,
            wrap_key_version: object.wrap_key_version,
            names: object.names.to_vec(),
            tags: object.tags.to_vec(),
        }
    }

    pub fn as_new(&self) -> NewObject<'_> {
        NewObject {
            uid: &self.uid,
            object_type: &self.object_type,
            state: &self.state,
            owner: &self.owner,
            wrapped: self.wrapped.as_deref(),
            attributes: &self.attributes,
            chain_id: &self.chain_id,
            chain_version: self.chain_version,
            wrap_key_version: self.wrap_key_version,
            names: &self.names,
            tags: &self.tags,
        }
    }
}

/// A new object waiting for a commit, and where to send the outcome.
pub(super) struct PendingObject {
    pub object: OwnedObject,
    pub event: Event,
    pub done: oneshot::Sender<Result<(), hyok_db::Error>>,
}

#[cfg(test)]
mod tests {
    use hyok_db::testing::TestDatabase;
    use serde_json::json;

    use super::*;
    use crate::audit::log::tests::started as log;

    async fn store(log: Arc<AuditLog>, uid: String) -> Result<(), hyok_db::Error> {
        let attributes = json!({});
        let object = NewObject {
            uid: &uid,
            object_type: "SecretData",
            state: "Active",
            owner: "alice",
            wrapped: None,
            attributes: &attributes,
            chain_id: &uid,
            chain_version: 1,
            wrap_key_version: 1,
            names: &[],
            tags: &[],
        };
        let event = Event::new("alice", "register", "ok").object(&uid);
        log.commit_object(&object, &[], &event).await
    }

    /// Concurrent new objects all land, each audited once, the chain unbroken; one that
    /// cannot be stored fails alone.
    #[actix_web::test]
    async fn concurrent_new_objects_share_commits_and_fail_alone() {
        let database = TestDatabase::sqlite();
        let dir = tempfile::tempdir().unwrap();
        let log = log(&database, dir.path()).await;
        store(log.clone(), "taken".into()).await.unwrap();

        let uids: Vec<String> = (0..60)
            .map(|n| match n {
                30 => "taken".to_string(),
                n => format!("k{n}"),
            })
            .collect();
        let tasks: Vec<_> = uids
            .iter()
            .map(|uid| actix_web::rt::spawn(store(log.clone(), uid.clone())))
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.unwrap());
        }
        for (uid, outcome) in uids.iter().zip(&outcomes) {
            match uid.as_str() {
                "taken" => assert!(
                    matches!(outcome, Err(hyok_db::Error::AlreadyExists(_))),
                    "{outcome:?}"
                ),
                _ => assert!(outcome.is_ok(), "{uid}: {outcome:?}"),
            }
        }
        for uid in uids.iter().filter(|uid| *uid != "taken") {
            assert!(log.db.object(uid).await.unwrap().is_some(), "{uid} stored");
        }
        let verification = log.verify().await.unwrap();
        assert!(verification.breaches.is_empty(), "{verification:?}");
        assert_eq!(verification.entries, 60, "the first object and 59 more");
    }
}

//! Batch sealing of new objects: the material of the Creates and Registers waiting at the
//! same time is wrapped by the master key in one keystore call — one trip to the blocking
//! pool per batch rather than one per key — and each object goes on to the audit log's
//! group commit, which answers its caller once the object is durable.

use std::sync::Arc;

use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use super::cache::Material;
use super::service::KeyError;
use crate::audit::{AuditLog, Event, NewObjectError, OwnedObject, PendingObject};
use crate::keystore::{KeyToWrap, KeystoreHandle};

/// New objects waiting to be wrapped at most (callers wait beyond it).
const QUEUE_CAPACITY: usize = 1024;
/// Keys wrapped in one keystore call at most (the call may take the keystore timeout
/// once per key).
const MAX_BATCH: usize = 32;

/// A new object whose material is not wrapped yet, and where its outcome goes.
struct Unwrapped {
    object: OwnedObject,
    material: Material,
    event: Event,
    done: oneshot::Sender<Result<(), NewObjectError>>,
}

impl Unwrapped {
    /// The object with its wrapped material, its event naming the master key version.
    fn wrapped(self, blob: Vec<u8>, key_version: u32) -> PendingObject {
        let mut event = self.event;
        if let Some(details) = event.details.as_object_mut() {
            details.insert("master_key_version".into(), json!(key_version));
        }
        PendingObject {
            object: self.object.wrapped(blob, key_version),
            event,
            done: self.done,
        }
    }
}

pub(super) struct Sealer {
    queue: mpsc::Sender<Unwrapped>,
}

impl Sealer {
    /// Starts the sealing task (on the current runtime) in front of `audit`'s committer.
    pub fn start(keystore: KeystoreHandle, audit: Arc<AuditLog>) -> Sealer {
        let (queue, inbox) = mpsc::channel(QUEUE_CAPACITY);
        actix_web::rt::spawn(run(keystore, audit, inbox));
        Sealer { queue }
    }

    /// Wraps `material` for `object` (which holds none yet), adds the master key version
    /// to `event`, and stores both in one transaction; answers once that has committed.
    pub async fn store(
        &self,
        object: OwnedObject,
        material: Material,
        event: Event,
    ) -> Result<(), KeyError> {
        let stopped = |uid: &str| {
            KeyError::Storage(hyok_db::Error::Conflict(format!(
                "object {uid} (the key sealer has stopped)"
            )))
        };
        let uid = object.uid().to_string();
        let (done, outcome) = oneshot::channel();
        let unwrapped = Unwrapped {
            object,
            material,
            event,
            done,
        };
        if self.queue.send(unwrapped).await.is_err() {
            return Err(stopped(&uid));
        }
        Ok(outcome.await.map_err(|_| stopped(&uid))??)
    }
}

/// Runs until the key service is dropped: takes whatever waits, wraps it in one call,
/// hands each wrapped object to the committer and answers each failure.
async fn run(keystore: KeystoreHandle, audit: Arc<AuditLog>, mut inbox: mpsc::Receiver<Unwrapped>) {
    let mut batch = Vec::new();
    while inbox.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let keys = batch
            .iter()
            .map(|new| KeyToWrap {
                uid: new.object.uid().to_string(),
                version: u64::try_from(new.object.chain_version()).unwrap_or_default(),
                material: new.material.clone(),
            })
            .collect();
        let (blobs, key_version) = keystore.wrap_each(keys).await;
        for (new, blob) in batch.drain(..).zip(blobs) {
            match blob {
                Ok(blob) => audit.queue_object(new.wrapped(blob, key_version)).await,
                Err(error) => {
                    let _ = new.done.send(Err(error.into()));
                }
            }
        }
    }
}

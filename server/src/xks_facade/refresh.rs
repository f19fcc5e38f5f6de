//! Reading the XKS keys in use again before their entries run out, in the background and
//! in batches: an entry past half of `metadata_cache_max_age_seconds` is queued by the
//! call that finds it, and a task reads the queued keys' versions and grants with one
//! query each per batch, decides again what was found allowed, and replaces the entries.
//! Calls keep using the old entries meanwhile (they are still within their age), so a
//! working set of thousands of keys costs a few queries a second instead of holding calls
//! up on two queries per key. Nothing here is trusted for longer than a call-time read
//! would be: the new entries carry the epochs read before their queries, and a key the
//! task cannot read again simply runs out and is read by the next call.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use hyok_db::{Grant, ObjectRecord};
use tokio::sync::Notify;

use super::resolved::{ResolvedKey, ResolvedKeys};
use crate::keys::{FoundBy, KeyService};

/// Keys read again together.
const BATCH: usize = 500;
/// How long the task lets a queue fill before reading it.
const GATHER: Duration = Duration::from_millis(100);

/// An entry to read again: found by `found_by` under `external_id`.
pub(super) struct Due {
    pub external_id: String,
    pub found_by: FoundBy,
    /// Weak: an entry the cache let go (and no call uses) is not read again.
    pub key: Weak<ResolvedKey>,
}

pub(super) struct DueKeys {
    queue: Mutex<VecDeque<Due>>,
    filled: Notify,
    /// At most this many keys wait to be read again (one per entry the caches can hold);
    /// beyond that, a key runs out and is read by its next call, as without read-ahead.
    most: usize,
}

impl DueKeys {
    pub fn new(most: usize) -> DueKeys {
        DueKeys {
            queue: Mutex::default(),
            filled: Notify::new(),
            most,
        }
    }

    pub fn push(&self, due: Due) {
        let mut queue = self.lock();
        if queue.len() >= self.most {
            return;
        }
        queue.push_back(due);
        if queue.len() == 1 {
            self.filled.notify_one();
        }
    }

    /// The `most` longest queued.
    fn take(&self, most: usize) -> Vec<Due> {
        let mut queue = self.lock();
        let count = most.min(queue.len());
        queue.drain(..count).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Due>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl ResolvedKeys {
    /// Reads queued keys again, for as long as the server runs.
    pub async fn refresh_ahead(&self, keys: &KeyService) {
        loop {
            self.due().filled.notified().await;
            tokio::time::sleep(GATHER).await;
            loop {
                let batch = self.due().take(BATCH);
                if batch.is_empty() {
                    break;
                }
                let count = batch.len();
                match self.refresh(keys, batch).await {
                    Ok(()) => tracing::debug!(count, "XKS keys in use read again"),
                    Err(error) => tracing::warn!(
                        %error,
                        count,
                        "could not read XKS keys in use again ahead of time \
                         (each is read by its next call once its entry runs out)"
                    ),
                }
            }
        }
    }

    /// Reads `batch` again and replaces its entries.
    pub(super) async fn refresh(
        &self,
        keys: &KeyService,
        batch: Vec<Due>,
    ) -> Result<(), hyok_db::Error> {
        let db = keys.db();
        // Read before the database is, so that a change racing the reads is not trusted,
        // and the entries' age counts from here.
        let epochs = (db.epoch(), db.names_epoch());
        let read_at = Instant::now();
        let batch: Vec<(&Due, Arc<ResolvedKey>)> = batch
            .iter()
            .filter_map(|due| Some((due, due.key.upgrade()?)))
            .collect();
        // A Name can come to name another key: found again as a call finds it.
        let mut found_again = Vec::new();
        let mut by_uid = Vec::new();
        for (due, key) in &batch {
            match due.found_by {
                FoundBy::Name => match keys.read_chain_named_by(&due.external_id).await {
                    Ok(found) => found_again.push((*due, key, found)),
                    Err(error) => tracing::warn!(
                        %error,
                        name = %due.external_id,
                        "could not find an XKS key by Name again ahead of time"
                    ),
                },
                FoundBy::Uid => by_uid.push((*due, key)),
            }
        }
        // A version's key never changes: the key's versions now are those of its id.
        let chain_ids: Vec<&str> = by_uid
            .iter()
            .map(|(_, key)| key.id())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut versions: HashMap<String, Vec<ObjectRecord>> = HashMap::new();
        for version in db.chains(&chain_ids).await? {
            versions
                .entry(version.chain_id.clone())
                .or_default()
                .push(version);
        }
        for (due, key) in by_uid {
            let members = versions
                .get(key.id())
                .filter(|members| members.iter().any(|m| m.uid == due.external_id));
            let found = members.map(|members| (members.clone().into(), FoundBy::Uid));
            found_again.push((due, key, found));
        }
        let mut granted_on: Vec<&str> = found_again
            .iter()
            .filter_map(|(_, _, found)| Some(found.as_ref()?.0[0].chain_id.as_str()))
            .collect();
        granted_on.sort_unstable();
        granted_on.dedup();
        let grants = if granted_on.is_empty() {
            Vec::new()
        } else {
            db.grants_on_any(&granted_on).await?
        };
        let mut grants_on: HashMap<&str, Vec<&Grant>> = HashMap::new();
        for grant in &grants {
            grants_on.entry(&grant.object_uid).or_default().push(grant);
        }
        let on_every_key = grants_on.remove("*").unwrap_or_default();
        // An entry found by uid stands on the records epoch, one found by Name on the
        // names epoch: if it moved meanwhile, the entry would be dropped at once anyway.
        let unchanged = |found_by: &FoundBy| match found_by {
            FoundBy::Uid => db.epoch() == epochs.0,
            FoundBy::Name => db.names_epoch() == epochs.1,
        };
        for (due, previous, found) in found_again {
            match found {
                Some((members, found_by)) if unchanged(&found_by) => {
                    let on_key = grants_on.get(members[0].chain_id.as_str());
                    let grants: Vec<&Grant> = on_key
                        .into_iter()
                        .flatten()
                        .chain(&on_every_key)
                        .copied()
                        .collect();
                    let key = ResolvedKey::refreshed(&due.external_id, members, previous, &grants);
                    let found = Some((Arc::new(key), found_by));
                    self.replace(&due.external_id, found, epochs, read_at);
                }
                Some(_) => {}
                None => self.replace(&due.external_id, None, epochs, read_at),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use hyok_db::testing::TestDatabase;
    use hyok_db::{Change, Db};

    use super::*;
    use crate::access::{Identities, Operation};
    use crate::keys::{CacheLimits, KeyCache, NewSymmetricKey};
    use crate::keystore::{KeystoreHandle, SoftwareKeystore};

    const MAX_AGE: Duration = Duration::from_secs(2);

    async fn key_service(db: Db, dir: &std::path::Path) -> KeyService {
        let (keystore, _) =
            SoftwareKeystore::open_or_create(&dir.join("master.key"), None, None).unwrap();
        let handle = KeystoreHandle::new(Arc::new(keystore), 1, Duration::from_secs(5), 4);
        let limits = CacheLimits {
            max_entries: 10,
            max_bytes: 1 << 12,
            idle: Duration::from_secs(60),
            max_age: Duration::from_secs(60),
        };
        KeyService::new(db, handle, KeyCache::new(limits))
    }

    async fn create(keys: &KeyService, names: &[&str]) -> String {
        let names: Vec<String> = names.iter().map(|name| name.to_string()).collect();
        let key = NewSymmetricKey {
            owner: "admin",
            bits: 256,
            names: &names,
        };
        keys.create_symmetric(&key).await.unwrap()
    }

    /// Another node's change: through its own handle, so this node's epochs stay put (no
    /// follower runs here) and only a read again can see it.
    async fn elsewhere(other: &Db, changes: &[Change<'_>]) {
        other.apply(changes, &[]).await.unwrap();
    }

    #[test]
    fn the_queue_holds_no_more_keys_than_the_caches() {
        let due = DueKeys::new(2);
        for id in ["a", "b", "c"] {
            due.push(Due {
                external_id: id.to_string(),
                found_by: FoundBy::Uid,
                key: Weak::new(),
            });
        }
        let queued: Vec<String> = due.take(10).into_iter().map(|d| d.external_id).collect();
        assert_eq!(queued, ["a", "b"]);
    }

    #[tokio::test]
    async fn keys_in_use_are_read_again_with_their_grants_before_they_run_out() {
        let database = TestDatabase::sqlite();
        let (db, other) = (database.open().await, database.open().await);
        let dir = tempfile::tempdir().unwrap();
        let keys = key_service(db.clone(), dir.path()).await;
        let store = Identities::of_xks_request("aws", "arn:aws:iam::1:role/app", None);
        let by_uid = create(&keys, &[]).await;
        let named = create(&keys, &["payroll"]).await;
        let successor = create(&keys, &[]).await;
        for uid in [&by_uid, &named] {
            for operation in ["encrypt", "decrypt"] {
                db.grant(uid, "xks:aws", operation, "admin").await.unwrap();
            }
        }
        let resolved = ResolvedKeys::new(10, MAX_AGE);
        let resolve = |id: &'static str| {
            let (resolved, keys) = (&resolved, &keys);
            async move { resolved.resolve(keys, id).await.unwrap().unwrap() }
        };
        let by_uid: &'static str = by_uid.leak();
        for id in [by_uid, "payroll"] {
            let key = resolve(id).await;
            assert!(!key.enabled(), "created PreActive");
            for operation in [Operation::Encrypt, Operation::Decrypt] {
                key.remember_allowed(&store.key(), operation);
            }
        }
        let first = resolve(by_uid).await;

        elsewhere(
            &other,
            &[
                Change::RevokeGrant {
                    object_uid: by_uid,
                    identity: "xks:aws",
                    operation: "decrypt",
                },
                Change::UpdateObject {
                    uid: by_uid,
                    expected_row_version: first.members[0].row_version,
                    state: "Active",
                    attributes: &first.members[0].attributes_json,
                },
                Change::RemoveName {
                    uid: &named,
                    name: "payroll",
                },
                Change::AddName {
                    uid: &successor,
                    name: "payroll",
                },
            ],
        )
        .await;
        assert!(
            Arc::ptr_eq(&resolve(by_uid).await, &first),
            "no epoch moved here: the entry stands"
        );
        assert!(resolved.due().take(BATCH).is_empty(), "not due yet");

        tokio::time::sleep(MAX_AGE / 2).await;
        let still = resolve(by_uid).await;
        assert!(Arc::ptr_eq(&still, &first), "used while it is read again");
        assert_eq!(resolve("payroll").await.members[0].uid, named);
        resolve(by_uid).await;
        let due = resolved.due().take(BATCH);
        assert_eq!(due.len(), 2, "each entry queued once");
        resolved.refresh(&keys, due).await.unwrap();

        let again = resolve(by_uid).await;
        assert!(!Arc::ptr_eq(&again, &first), "replaced");
        assert!(again.enabled(), "the other node's activation is seen");
        assert!(again.allowed(&store.key(), Operation::Encrypt));
        assert!(
            !again.allowed(&store.key(), Operation::Decrypt),
            "the revoked grant is decided again: the next call asks the access check"
        );
        let renamed = resolve("payroll").await;
        assert_eq!(
            renamed.members[0].uid, successor,
            "a Name is found again: it now names another key"
        );
        assert!(
            !renamed.allowed(&store.key(), Operation::Encrypt),
            "the other key's grants decide"
        );
    }
}

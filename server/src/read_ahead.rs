//! Reading the keys in use again before their entries run out, in the background and in
//! batches: a key record past half of `metadata_cache_max_age_seconds` is queued by the
//! call that finds it (KMIP or XKS), and this task reads the queued keys' versions and
//! grants with one query each per batch, replaces the records and decides again what each
//! set of identities asked. Calls keep using the old entries meanwhile (they are still
//! within their age), so a working set of thousands of keys costs a few queries a second
//! instead of holding calls up on two queries per key. Nothing here is kept when a change
//! to the key raced the reads, as for a read on the call path.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyok_db::{Changed, Grant, ObjectRecord};

use crate::access::Access;
use crate::keys::{chain, FoundBy, KeyRecord, KeyService};
use crate::state::AppState;

/// Keys read again together.
const BATCH: usize = 500;
/// How long the task lets a queue fill before reading it.
const GATHER: Duration = Duration::from_millis(100);

/// Reads queued keys again, for as long as the server runs.
pub async fn run(state: &AppState) {
    let due = state.keys.records().due();
    loop {
        due.filled().await;
        tokio::time::sleep(GATHER).await;
        loop {
            let batch = due.take(BATCH);
            if batch.is_empty() {
                break;
            }
            let count = batch.len();
            match read_again(&state.keys, &state.access, &batch).await {
                Ok(()) => tracing::debug!(count, "keys in use read again"),
                Err(error) => tracing::warn!(
                    %error,
                    count,
                    "could not read keys in use again ahead of time \
                     (each is read by its next use once its entry runs out)"
                ),
            }
        }
    }
}

/// Reads the key chains `chains` and their grants again and replaces what is kept of them.
pub async fn read_again(
    keys: &KeyService,
    access: &Access,
    chains: &[Arc<str>],
) -> Result<(), hyok_db::Error> {
    let db = keys.db();
    let records = keys.records();
    // Read before the database is: a change told from here on is not kept over.
    let told = db.changes_told();
    let read_at = Instant::now();
    let ids: Vec<&str> = chains.iter().map(|chain| &**chain).collect();
    let mut versions: HashMap<String, Vec<ObjectRecord>> = HashMap::new();
    for version in db.chains(&ids).await? {
        versions
            .entry(version.chain_id.clone())
            .or_default()
            .push(version);
    }
    let grants = db.grants_on_any(&ids).await?;
    let mut grants_on: HashMap<&str, Vec<&Grant>> = HashMap::new();
    for grant in &grants {
        grants_on.entry(&grant.object_uid).or_default().push(grant);
    }
    let on_every_key = grants_on.remove("*").unwrap_or_default();
    for id in ids {
        match versions.remove(id) {
            Some(members) => {
                let record = Arc::new(KeyRecord::new(chain(members), read_at));
                records.keep(db, id, FoundBy::Uid, record, told);
            }
            None => records.forget(Changed::Object { chain: id, uid: id }),
        }
        let on_key = grants_on.get(id).into_iter().flatten();
        let grants: Vec<&Grant> = on_key.chain(&on_every_key).copied().collect();
        access.decisions().refresh(db, id, &grants, told);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use hyok_db::testing::TestDatabase;
    use hyok_db::{Change, Db};

    use super::*;
    use crate::access::{Identities, Operation};
    use crate::keys::{CacheLimits, KeyCache, NewSymmetricKey, RecordCache};
    use crate::keystore::{KeystoreHandle, SoftwareKeystore};

    const MAX_AGE: Duration = Duration::from_secs(2);

    fn key_service(db: Db, dir: &std::path::Path) -> KeyService {
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
            .with_record_cache(RecordCache::new(10, MAX_AGE))
    }

    async fn create(keys: &KeyService, names: &[&str]) -> String {
        let names: Vec<String> = names.iter().map(|name| name.to_string()).collect();
        let key = NewSymmetricKey {
            algorithm: hyok_kmip::enums::CryptographicAlgorithm::AES,
            owner: "admin",
            bits: 256,
            names: &names,
        };
        keys.create_symmetric(&key).await.unwrap()
    }

    async fn record(keys: &KeyService, id: &str) -> Arc<KeyRecord> {
        keys.key_named_by(id).await.unwrap().unwrap().0
    }

    fn cached(keys: &KeyService, id: &str) -> Option<Arc<KeyRecord>> {
        keys.records().get(id).map(|(record, _)| record)
    }

    /// Another node's change to `uid`: through its own handle, which this node's caches
    /// learn of only from the feed (or when read again).
    async fn block_elsewhere(other: &Db, uid: &str) {
        let object = other.object(uid).await.unwrap().unwrap();
        let change = Change::UpdateObject {
            uid,
            chain_id: &object.chain_id,
            expected_row_version: object.row_version,
            state: &object.state,
            attributes: r#"{"x-hyok-blocked":true,"CryptographicAlgorithm":"AES","CryptographicLength":256}"#,
        };
        other.apply(&[change], &[]).await.unwrap();
    }

    /// Waits until `done` holds, at most 5 s.
    async fn until(what: &str, done: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !done() {
            assert!(Instant::now() < deadline, "{what}: not within 5 s");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn a_change_forgets_its_own_key_only_and_a_nodes_own_writes_come_back_to_nothing() {
        let database = TestDatabase::sqlite();
        let (db, other) = (database.open().await, database.open().await);
        let dir = tempfile::tempdir().unwrap();
        let keys = key_service(db.clone(), dir.path());
        let used = create(&keys, &[]).await;
        let unrelated = create(&keys, &[]).await;
        let first = record(&keys, &used).await;
        assert!(Arc::ptr_eq(&cached(&keys, &used).unwrap(), &first));

        create(&keys, &["payroll"]).await;
        keys.activate(&unrelated, &crate::audit::Actor::new("admin", None))
            .await
            .unwrap();
        assert!(
            cached(&keys, &used).is_some_and(|r| Arc::ptr_eq(&r, &first)),
            "a Create and another key's change leave the entry alone"
        );
        keys.activate(&used, &crate::audit::Actor::new("admin", None))
            .await
            .unwrap();
        assert!(
            cached(&keys, &used).is_none(),
            "its own change forgets it at once"
        );
        let active = record(&keys, &used).await;
        assert!(active.enabled());

        tokio::task::LocalSet::new()
            .run_until(async {
                let follower = {
                    let db = db.clone();
                    tokio::task::spawn_local(async move {
                        db.follow_other_writers(Duration::from_millis(20)).await
                    })
                };
                // The follower forgets everything once as it starts.
                until("the follower's start", || cached(&keys, &used).is_none()).await;
                let active = record(&keys, &used).await;
                keys.set_blocked(&unrelated, true, &crate::audit::Actor::new("admin", None))
                    .await
                    .unwrap();
                block_elsewhere(&other, &unrelated).await;
                tokio::time::sleep(Duration::from_millis(300)).await;
                assert!(
                    cached(&keys, &used).is_some_and(|r| Arc::ptr_eq(&r, &active)),
                    "this node's write and another's, to another key, come back to nothing"
                );
                block_elsewhere(&other, &used).await;
                until("another node's change to the key", || {
                    cached(&keys, &used).is_none()
                })
                .await;
                assert!(record(&keys, &used).await.blocked());
                follower.abort();
            })
            .await;
    }

    #[tokio::test]
    async fn keys_in_use_are_read_again_with_their_grants_before_they_run_out() {
        let database = TestDatabase::sqlite();
        let (db, other) = (database.open().await, database.open().await);
        let dir = tempfile::tempdir().unwrap();
        let keys = key_service(db.clone(), dir.path());
        let access = Access::new(db.clone(), None).with_decision_cache(10, MAX_AGE);
        let store = Identities::of_xks_request("aws", "arn:aws:iam::1:role/app", None);
        let uid = create(&keys, &[]).await;
        for operation in ["encrypt", "decrypt"] {
            db.grant(&uid, "xks:aws", operation, "admin").await.unwrap();
        }
        let first = record(&keys, &uid).await;
        for operation in [Operation::Encrypt, Operation::Decrypt] {
            assert!(access
                .allows(&store, &first.members[0], operation)
                .await
                .unwrap());
        }
        // Elsewhere, unseen here (no follower): the decrypt grant goes, the key is blocked.
        other
            .revoke_grant(&uid, "xks:aws", "decrypt")
            .await
            .unwrap();
        block_elsewhere(&other, &uid).await;
        assert!(
            Arc::ptr_eq(&record(&keys, &uid).await, &first),
            "the entry stands"
        );
        assert!(keys.records().due().take(10).is_empty(), "not due yet");

        tokio::time::sleep(MAX_AGE / 2).await;
        assert!(
            Arc::ptr_eq(&record(&keys, &uid).await, &first),
            "used while due"
        );
        record(&keys, &uid).await;
        let due = keys.records().due().take(10);
        assert_eq!(due.len(), 1, "queued once");
        read_again(&keys, &access, &due).await.unwrap();

        let again = record(&keys, &uid).await;
        assert!(!Arc::ptr_eq(&again, &first), "replaced");
        assert!(again.blocked(), "the other node's change is seen");
        let who = store.key();
        let decided = |operation| access.decisions().get(&uid, &who, operation);
        assert_eq!(decided(Operation::Encrypt), Some(true));
        assert_eq!(
            decided(Operation::Decrypt),
            Some(false),
            "the revoked grant is decided again"
        );
    }
}

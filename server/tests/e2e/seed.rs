//! Fixtures written straight through the key service (as KMIP operations will), on the
//! database and master key of a server's directory: keys, activation, blocks, grants.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyok_db::{Change, Db, NewObject};
use hyok_server::audit::Actor;
use hyok_server::keys::{CacheLimits, KeyCache, KeyService, NewSymmetricKey};
use hyok_server::keystore::{KeystoreHandle, SoftwareKeystore};

use crate::support::data_file;

pub struct Seeder {
    runtime: tokio::runtime::Runtime,
    db: Db,
    keys: KeyService,
}

impl Seeder {
    /// Opens the data of a server started once in `dir`, whose master key is the one
    /// `keystore` describes (an HSM, for example), as the server itself opens it.
    pub fn open_with(dir: &Path, keystore: hyok_server::config::KeystoreConfig) -> Seeder {
        Seeder::with_keystore(dir, |db| async move {
            let opener = hyok_server::keystore::MasterKeyOpener::new(keystore, db);
            let version = opener.current_version().await.unwrap();
            let (opened, created) = opener.open(version, false).await.unwrap();
            assert!(!created);
            KeystoreHandle::new(opened, version, Duration::from_secs(5), 2)
        })
    }

    /// Opens the data of a server started once in `dir` (plain software master key).
    pub fn open(dir: &Path) -> Seeder {
        let key_file = data_file(dir, "master.key");
        Seeder::with_keystore(dir, |_| async move {
            let (keystore, _) =
                SoftwareKeystore::open_or_create(&key_file, None, Some("existing")).unwrap();
            KeystoreHandle::new(Arc::new(keystore), 1, Duration::from_secs(5), 2)
        })
    }

    fn with_keystore<F, Fut>(dir: &Path, keystore: F) -> Seeder
    where
        F: FnOnce(Db) -> Fut,
        Fut: std::future::Future<Output = KeystoreHandle>,
    {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (db, keys) = runtime.block_on(async {
            let url = format!("sqlite://{}", data_file(dir, "hyok.db").display());
            let db = Db::connect(&url, &hyok_db::DbOptions::default())
                .await
                .unwrap();
            let handle = keystore(db.clone()).await;
            let limits = CacheLimits {
                max_entries: 0,
                max_bytes: 0,
                idle: Duration::from_secs(1),
                max_age: Duration::from_secs(1),
            };
            (
                db.clone(),
                KeyService::new(db, handle, KeyCache::new(limits)),
            )
        });
        Seeder { runtime, db, keys }
    }

    /// `count` AES-256 keys owned by `owner` (Pre-Active).
    pub fn keys(&self, owner: &str, count: usize) -> Vec<String> {
        self.runtime.block_on(async {
            let mut uids = Vec::new();
            for _ in 0..count {
                let key = NewSymmetricKey {
                    algorithm: hyok_kmip::enums::CryptographicAlgorithm::AES,
                    owner,
                    bits: 256,
                    names: &[],
                };
                uids.push(self.keys.create_symmetric(&key).await.unwrap());
            }
            uids
        })
    }

    /// An Active AES-256 key owned by `owner`.
    pub fn active_key(&self, owner: &str) -> String {
        let uid = self.keys(owner, 1).remove(0);
        self.runtime
            .block_on(self.keys.activate(&uid, &Actor::new(owner, None)))
            .unwrap();
        uid
    }

    /// `count` Active AES-256 keys owned by `owner`, stored in transactions of 5 000 (far
    /// faster than one Create each; for measurements with many keys). Their uids.
    pub fn bulk_active_keys(&self, owner: &str, count: usize) -> Vec<String> {
        self.runtime.block_on(async {
            let mut uids = Vec::with_capacity(count);
            let attributes = serde_json::json!({
                "CryptographicAlgorithm": "AES",
                "CryptographicLength": 256,
                "CryptographicUsageMask": 12,
            });
            while uids.len() < count {
                let mut batch = Vec::new();
                for _ in 0..(count - uids.len()).min(5000) {
                    let uid = uuid::Uuid::new_v4().to_string();
                    let mut material = zeroize::Zeroizing::new(vec![0u8; 32]);
                    getrandom::getrandom(&mut material).unwrap();
                    let (wrapped, version) =
                        self.keys.keystore().wrap(&uid, 1, material).await.unwrap();
                    batch.push((uid, wrapped, i64::from(version)));
                }
                let objects: Vec<NewObject<'_>> = batch
                    .iter()
                    .map(|(uid, wrapped, version)| NewObject {
                        uid,
                        object_type: "SymmetricKey",
                        state: "Active",
                        owner,
                        wrapped: Some(wrapped),
                        attributes: &attributes,
                        chain_id: uid,
                        chain_version: 1,
                        wrap_key_version: *version,
                        names: &[],
                        tags: &[],
                    })
                    .collect();
                self.db
                    .insert_objects_audited(&objects, &[], &[])
                    .await
                    .unwrap();
                uids.extend(batch.into_iter().map(|(uid, _, _)| uid));
            }
            uids
        })
    }

    /// Grants `operations` on each of `uids` to `identity`, in one transaction.
    pub fn bulk_grant(&self, uids: &[String], identity: &str, operations: &[&str]) {
        let changes: Vec<Change<'_>> = uids
            .iter()
            .flat_map(|uid| {
                operations.iter().map(move |operation| Change::Grant {
                    object_uid: uid,
                    identity,
                    operation,
                    granted_by: "test",
                })
            })
            .collect();
        self.runtime.block_on(self.db.apply(&changes, &[])).unwrap();
        settle();
    }

    /// ReKey: the next version of the key; returns its uid.
    pub fn rekey(&self, uid: &str) -> String {
        let new = self
            .runtime
            .block_on(self.keys.rekey(uid, &Actor::new("test", None)))
            .unwrap();
        settle();
        new
    }

    pub fn grant(&self, uid: &str, identity: &str, operations: &[&str]) {
        self.runtime.block_on(async {
            for operation in operations {
                self.db
                    .grant(uid, identity, operation, "test")
                    .await
                    .unwrap();
            }
        });
        settle();
    }

    pub fn block(&self, uid: &str, blocked: bool) {
        self.runtime
            .block_on(
                self.keys
                    .set_blocked(uid, blocked, &Actor::new("test", None)),
            )
            .unwrap();
        settle();
    }

    /// Damages a key's wrapped material in the database (one byte flipped), as a failing
    /// disk or a hand-edited row would.
    pub fn damage(&self, uid: &str) {
        self.runtime.block_on(async {
            let object = self.db.object(uid).await.unwrap().unwrap();
            let mut wrapped = object.wrapped.unwrap();
            let last = wrapped.len() - 1;
            wrapped[last] ^= 0x01;
            assert!(self
                .db
                .rewrap_object(
                    uid,
                    &object.chain_id,
                    object.row_version,
                    &wrapped,
                    object.wrap_key_version
                )
                .await
                .unwrap());
        });
        settle();
    }

    /// Sets the KMIP Cryptographic Usage Mask attribute.
    pub fn usage_mask(&self, uid: &str, mask: i64) {
        self.runtime.block_on(async {
            let object = self.db.object(uid).await.unwrap().unwrap();
            let mut attributes = object.attributes().clone();
            attributes["CryptographicUsageMask"] = mask.into();
            self.db
                .update_object(
                    uid,
                    &object.chain_id,
                    object.row_version,
                    &object.state,
                    &attributes,
                )
                .await
                .unwrap();
        });
        settle();
    }
}

/// The Seeder writes as another process would: a running server drops what it cached once
/// it reads the database's change counter (every 100 ms). Waits six of those (the
/// server may be slow to get to it on a loaded machine).
fn settle() {
    std::thread::sleep(Duration::from_millis(600));
}

impl Drop for Seeder {
    fn drop(&mut self) {
        self.runtime.block_on(self.db.close());
    }
}

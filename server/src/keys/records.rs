//! Key records for cryptographic use, read through the epoch cache so that a key in steady
//! use needs no database read: a key as XKS names it (a unique identifier of any version,
//! or a Name that exactly one object carries) resolved to its whole ReKey chain, and a
//! single object by unique identifier for KMIP Encrypt and Decrypt.

use std::sync::Arc;
use std::time::Duration;

use hyok_db::ObjectRecord;

use super::KeyService;
use crate::epoch_cache::EpochCache;

/// A key's versions, oldest first.
pub type Chain = Arc<[ObjectRecord]>;

pub struct RecordCache {
    /// Chains by unique identifier: trusted while the records epoch stands.
    by_uid: EpochCache<String, Chain>,
    /// Chains by name: trusted while the names epoch stands (a new key can take the name).
    by_name: EpochCache<String, Chain>,
    /// Single objects by unique identifier.
    objects: EpochCache<String, Arc<ObjectRecord>>,
}

impl RecordCache {
    /// Each of the three maps holds at most `max_entries`.
    pub fn new(max_entries: usize, max_age: Duration) -> RecordCache {
        RecordCache {
            by_uid: EpochCache::new(max_entries, max_age),
            by_name: EpochCache::new(max_entries, max_age),
            objects: EpochCache::new(max_entries, max_age),
        }
    }

    pub fn off() -> RecordCache {
        RecordCache::new(0, Duration::ZERO)
    }
}

impl KeyService {
    /// The chain of the key `id` names, or `None` when no object (or more than one, by
    /// name) matches.
    pub async fn chain_named_by(&self, id: &str) -> Result<Option<Chain>, hyok_db::Error> {
        let db = self.db();
        // Read before the database is, so that a change racing the read is not trusted.
        let (records_epoch, names_epoch) = (db.epoch(), db.names_epoch());
        let cache = self.records();
        if let Some(chain) = cache.by_uid.get(id, records_epoch) {
            return Ok(Some(chain));
        }
        if let Some(chain) = cache.by_name.get(id, names_epoch) {
            return Ok(Some(chain));
        }
        let members = db.chain_of(id).await?;
        if !members.is_empty() {
            let chain: Chain = members.into();
            cache
                .by_uid
                .insert(id.to_string(), records_epoch, chain.clone());
            return Ok(Some(chain));
        }
        let named = db.objects_named(id).await?;
        let [uid] = named.as_slice() else {
            return Ok(None);
        };
        let members = db.chain_of(uid).await?;
        if members.is_empty() {
            return Ok(None);
        }
        let chain: Chain = members.into();
        cache
            .by_name
            .insert(id.to_string(), names_epoch, chain.clone());
        Ok(Some(chain))
    }

    /// The object `uid`, for a cryptographic use (never for a change: a record from the
    /// cache may be a few milliseconds behind another node's change).
    pub async fn object_for_use(
        &self,
        uid: &str,
    ) -> Result<Option<Arc<ObjectRecord>>, hyok_db::Error> {
        let epoch = self.db().epoch();
        if let Some(object) = self.records().objects.get(uid, epoch) {
            return Ok(Some(object));
        }
        let Some(object) = self.db().object(uid).await? else {
            return Ok(None);
        };
        let object = Arc::new(object);
        self.records()
            .objects
            .insert(uid.to_string(), epoch, object.clone());
        Ok(Some(object))
    }
}

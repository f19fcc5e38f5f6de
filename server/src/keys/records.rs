//! Key records for cryptographic use: a single object by unique identifier for KMIP
//! Encrypt and Decrypt, read through the epoch cache so that a key in steady use needs no
//! database read; and a key as XKS names it (a unique identifier of any version, or a Name
//! that exactly one object carries) read as its whole ReKey chain (the XKS facade caches
//! those itself, with what its checks derive from them).

use std::sync::Arc;
use std::time::Duration;

use hyok_db::ObjectRecord;

use super::KeyService;
use crate::epoch_cache::EpochCache;

/// A key's versions, oldest first.
pub type Chain = Arc<[ObjectRecord]>;

pub struct RecordCache {
    /// Single objects by unique identifier.
    objects: EpochCache<String, Arc<ObjectRecord>>,
}

impl RecordCache {
    pub fn new(max_entries: usize, max_age: Duration) -> RecordCache {
        RecordCache {
            objects: EpochCache::new(max_entries, max_age),
        }
    }

    pub fn off() -> RecordCache {
        RecordCache::new(0, Duration::ZERO)
    }
}

/// How a key was found by [`KeyService::read_chain_named_by`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoundBy {
    /// The unique identifier of one of its versions.
    Uid,
    /// A Name that exactly one object carries.
    Name,
}

impl KeyService {
    /// The chain of the key `id` names, read from the database (callers cache it, see
    /// xks::resolved), or `None` when no object (or more than one, by name) matches.
    pub async fn read_chain_named_by(
        &self,
        id: &str,
    ) -> Result<Option<(Chain, FoundBy)>, hyok_db::Error> {
        let db = self.db();
        let members = db.chain_of(id).await?;
        if !members.is_empty() {
            return Ok(Some((members.into(), FoundBy::Uid)));
        }
        let named = db.objects_named(id).await?;
        let [uid] = named.as_slice() else {
            return Ok(None);
        };
        let members = db.chain_of(uid).await?;
        if members.is_empty() {
            return Ok(None);
        }
        Ok(Some((members.into(), FoundBy::Name)))
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

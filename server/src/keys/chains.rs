//! Keys as XKS names them, a unique identifier (of any version) or a Name that exactly one
//! object carries, resolved to the key's whole ReKey chain through the epoch cache, so
//! that a key in steady use needs no database read.

use std::sync::Arc;
use std::time::Duration;

use hyok_db::ObjectRecord;

use super::KeyService;
use crate::epoch_cache::EpochCache;

/// A key's versions, oldest first.
pub type Chain = Arc<[ObjectRecord]>;

pub struct ChainCache {
    /// By unique identifier: trusted while the records epoch stands.
    by_uid: EpochCache<String, Chain>,
    /// By name: trusted while the names epoch stands (a new key can take the name).
    by_name: EpochCache<String, Chain>,
}

impl ChainCache {
    pub fn new(max_entries: usize, max_age: Duration) -> ChainCache {
        ChainCache {
            by_uid: EpochCache::new(max_entries, max_age),
            by_name: EpochCache::new(max_entries, max_age),
        }
    }

    pub fn off() -> ChainCache {
        ChainCache::new(0, Duration::ZERO)
    }
}

impl KeyService {
    /// The chain of the key `id` names, or `None` when no object (or more than one, by
    /// name) matches.
    pub async fn chain_named_by(&self, id: &str) -> Result<Option<Chain>, hyok_db::Error> {
        let db = self.db();
        // Read before the database is, so that a change racing the read is not trusted.
        let (records_epoch, names_epoch) = (db.epoch(), db.names_epoch());
        let cache = self.chains();
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
}

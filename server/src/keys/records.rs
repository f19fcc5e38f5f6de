//! Key records for use, one cache shared by KMIP and XKS: a key's ReKey chain with what
//! the checks read from its attributes worked out once (AES-256 per version, blocked, the
//! newest version's state and usage mask), found by the unique identifier of any version
//! or by a Name that exactly one object carries. Two moka caches: chains by chain id, and
//! identifiers (unique ids and names) to chain ids.
//!
//! An entry is forgotten when its key changes, and only then: at once for this node's own
//! writes, through the change feed for other writers' ([`RecordCache::forget`]). A read
//! that a change raced (one was told while it ran) is used but not kept. Entries live at
//! most `metadata_cache_max_age_seconds` (each a random 75–100 % of it, so that keys read
//! together are not all read again at once), a backstop for a change the feed could not
//! tell; an entry in use past half of that age is queued, and the read-ahead task
//! ([`crate::read_ahead`]) reads it again in the background, so that calls do not wait on
//! the database.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyok_db::{Changed, Db, ObjectRecord};
use hyok_kmip::enums::{ObjectType, State};
use moka::sync::Cache;
use serde_json::Value;
use tokio::sync::Notify;

use super::kinds::RecordKinds;
use super::lifecycle::BLOCKED;
use super::KeyService;
use crate::cache_expiry::Jittered;

/// A key's versions, oldest first.
pub type Chain = Arc<[Arc<ObjectRecord>]>;

/// KMIP Cryptographic Usage Mask bits.
pub const MASK_ENCRYPT: i64 = 0x4;
pub const MASK_DECRYPT: i64 = 0x8;

/// How a key was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoundBy {
    /// The unique identifier of one of its versions.
    Uid,
    /// A Name that exactly one object carries.
    Name,
}

/// A key as its uses see it: every version, oldest first, and the facts the checks use.
pub struct KeyRecord {
    pub members: Chain,
    /// Per version: an AES-256 symmetric key.
    aes_256: Vec<bool>,
    blocked: bool,
    newest_active: bool,
    newest_version: i64,
    usage_mask: i64,
    read_at: Instant,
    /// Queued to be read again (once per entry).
    queued: AtomicBool,
}

impl KeyRecord {
    /// `members` (non-empty), read at `read_at`.
    pub fn new(members: Chain, read_at: Instant) -> KeyRecord {
        let blocked = members.first().is_some_and(|first| {
            first
                .attributes()
                .get(BLOCKED)
                .and_then(Value::as_bool)
                .unwrap_or(false)
        });
        let newest = members.last();
        let newest_active = newest.is_some_and(|newest| newest.kmip_state() == Some(State::Active));
        let newest_version = newest.map_or(0, |newest| newest.chain_version);
        let usage_mask = newest
            .and_then(|newest| {
                newest
                    .attributes()
                    .get("CryptographicUsageMask")
                    .and_then(Value::as_i64)
            })
            .unwrap_or(MASK_ENCRYPT | MASK_DECRYPT);
        KeyRecord {
            aes_256: members.iter().map(|m| is_aes_256(m)).collect(),
            members,
            blocked,
            newest_active,
            newest_version,
            usage_mask,
            read_at,
            queued: AtomicBool::new(false),
        }
    }

    /// The key's identifier (its first version's unique identifier).
    pub fn id(&self) -> &str {
        &self.members[0].chain_id
    }

    pub fn newest_version(&self) -> i64 {
        self.newest_version
    }

    /// The version numbered `version`.
    pub fn member(&self, version: i64) -> Option<&ObjectRecord> {
        self.members
            .iter()
            .find(|m| m.chain_version == version)
            .map(|m| &**m)
    }

    /// The version `uid`.
    pub fn member_by_uid(&self, uid: &str) -> Option<&Arc<ObjectRecord>> {
        self.members.iter().find(|m| m.uid == uid)
    }

    /// Whether the version `id` names (for a Name: the oldest) is an AES-256 symmetric key.
    pub fn is_aes_256(&self, id: &str) -> bool {
        let named = self.members.iter().position(|m| m.uid == id).unwrap_or(0);
        self.aes_256.get(named).copied().unwrap_or(false)
    }

    pub fn blocked(&self) -> bool {
        self.blocked
    }

    /// Neither blocked nor with a newest version other than Active.
    pub fn enabled(&self) -> bool {
        !self.blocked && self.newest_active
    }

    /// The newest version's Cryptographic Usage Mask (encrypt and decrypt when unset).
    pub fn usage_mask(&self) -> i64 {
        self.usage_mask
    }
}

fn is_aes_256(object: &ObjectRecord) -> bool {
    let attributes = object.attributes();
    object.kmip_type() == Some(ObjectType::SymmetricKey)
        && attributes
            .get("CryptographicAlgorithm")
            .and_then(Value::as_str)
            == Some("AES")
        && attributes
            .get("CryptographicLength")
            .and_then(Value::as_i64)
            == Some(256)
}

/// Cheap to clone: clones share the entries.
#[derive(Clone)]
pub struct RecordCache {
    enabled: bool,
    max_age: Duration,
    chains: Cache<String, Arc<KeyRecord>>,
    ids: Cache<String, (Arc<str>, FoundBy)>,
    due: Arc<DueChains>,
}

impl RecordCache {
    /// At most `max_entries` keys (and as many identifiers per version and name; `0`:
    /// nothing is kept), each for at most `max_age`.
    pub fn new(max_entries: usize, max_age: Duration) -> RecordCache {
        let expiry = || Jittered(max_age.max(Duration::from_millis(1)));
        RecordCache {
            enabled: max_entries > 0,
            max_age,
            chains: Cache::builder()
                .max_capacity(max_entries as u64)
                .expire_after(expiry())
                .build(),
            ids: Cache::builder()
                .max_capacity(2 * max_entries as u64)
                .expire_after(expiry())
                .build(),
            due: Arc::new(DueChains::new(max_entries)),
        }
    }

    pub fn off() -> RecordCache {
        RecordCache::new(0, Duration::ZERO)
    }

    /// The key `id` names, if kept; queues it to be read again once past half its age.
    pub fn get(&self, id: &str) -> Option<(Arc<KeyRecord>, FoundBy)> {
        let (chain, found_by) = self.ids.get(id)?;
        let record = self.chains.get(&*chain)?;
        if record.read_at.elapsed() >= self.max_age / 2
            && !record.queued.swap(true, Ordering::Relaxed)
        {
            self.due.push(chain);
        }
        Some((record, found_by))
    }

    /// Keeps `record`, found under `id`, read after the feed had told `told` changes:
    /// unless a change to it was told since (it may have raced the read).
    pub fn keep(&self, db: &Db, id: &str, found_by: FoundBy, record: Arc<KeyRecord>, told: u64) {
        if !self.enabled {
            return;
        }
        let chain: Arc<str> = record.id().into();
        for member in record.members.iter() {
            self.ids
                .insert(member.uid.clone(), (chain.clone(), FoundBy::Uid));
        }
        if found_by == FoundBy::Name {
            self.ids
                .insert(id.to_string(), (chain.clone(), FoundBy::Name));
        }
        self.chains.insert(chain.to_string(), record);
        // Checked after the insert: a change told from here on forgets it anyway.
        let raced = db.changed_since(told, |change| match change {
            Changed::Object { chain: changed, .. } => changed == &*chain,
            Changed::Name(name) => found_by == FoundBy::Name && name == id,
            Changed::Grant { .. } => false,
            Changed::Everything => true,
        });
        if raced {
            self.chains.invalidate(&*chain);
            if found_by == FoundBy::Name {
                self.ids.invalidate(id);
            }
        }
    }

    /// Forgets what `change` makes stale.
    pub fn forget(&self, change: Changed<'_>) {
        match change {
            Changed::Object { chain, .. } => self.chains.invalidate(chain),
            Changed::Name(name) => self.ids.invalidate(name),
            Changed::Grant { .. } => {}
            Changed::Everything => {
                self.chains.invalidate_all();
                self.ids.invalidate_all();
            }
        }
    }

    /// The keys queued to be read again.
    pub(crate) fn due(&self) -> &DueChains {
        &self.due
    }
}

/// Keys whose entries passed half their age in use, to read again.
pub(crate) struct DueChains {
    queue: Mutex<VecDeque<Arc<str>>>,
    filled: Notify,
    /// At most this many wait (one per entry the cache holds); beyond that, a key runs out
    /// and is read by its next use.
    most: usize,
}

impl DueChains {
    fn new(most: usize) -> DueChains {
        DueChains {
            queue: Mutex::default(),
            filled: Notify::new(),
            most,
        }
    }

    fn push(&self, chain: Arc<str>) {
        let mut queue = self.lock();
        if queue.len() >= self.most {
            return;
        }
        queue.push_back(chain);
        if queue.len() == 1 {
            self.filled.notify_one();
        }
    }

    /// Waits until something is queued.
    pub async fn filled(&self) {
        if self.lock().is_empty() {
            self.filled.notified().await;
        }
    }

    /// The `most` longest queued.
    pub fn take(&self, most: usize) -> Vec<Arc<str>> {
        let mut queue = self.lock();
        let count = most.min(queue.len());
        queue.drain(..count).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Arc<str>>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl KeyService {
    /// The key `id` names (the unique identifier of any version, or a Name that exactly
    /// one object carries), from the record cache or the database; `None` when no object
    /// (or more than one, by name) matches.
    pub async fn key_named_by(
        &self,
        id: &str,
    ) -> Result<Option<(Arc<KeyRecord>, FoundBy)>, hyok_db::Error> {
        self.key_found(id, true).await
    }

    /// The key `id` names, from the record cache, else read from the database and kept:
    /// by the unique identifier of a version, and also by Name when `by_name`.
    async fn key_found(
        &self,
        id: &str,
        by_name: bool,
    ) -> Result<Option<(Arc<KeyRecord>, FoundBy)>, hyok_db::Error> {
        let cached = self.records().get(id);
        if let Some(found) = cached.filter(|(_, found_by)| by_name || *found_by == FoundBy::Uid) {
            return Ok(Some(found));
        }
        let told = self.db().changes_told();
        let read_at = Instant::now();
        let found = if by_name {
            self.read_chain_named_by(id).await?
        } else {
            let members = self.db().chain_of(id).await?;
            (!members.is_empty()).then(|| (chain(members), FoundBy::Uid))
        };
        let Some((members, found_by)) = found else {
            return Ok(None);
        };
        let record = Arc::new(KeyRecord::new(members, read_at));
        self.records()
            .keep(self.db(), id, found_by, record.clone(), told);
        Ok(Some((record, found_by)))
    }

    /// The chain of the key `id` names, read from the database, or `None` when no object
    /// (or more than one, by name) matches.
    pub async fn read_chain_named_by(
        &self,
        id: &str,
    ) -> Result<Option<(Chain, FoundBy)>, hyok_db::Error> {
        let db = self.db();
        let members = db.chain_of(id).await?;
        if !members.is_empty() {
            return Ok(Some((chain(members), FoundBy::Uid)));
        }
        let Some(uid) = db.object_named(id).await? else {
            return Ok(None);
        };
        let members = db.chain_of(&uid).await?;
        if members.is_empty() {
            return Ok(None);
        }
        Ok(Some((chain(members), FoundBy::Name)))
    }

    /// The object `uid`, for a cryptographic use (never for a change: a record from the
    /// cache may be a few milliseconds behind another node's change).
    pub async fn object_for_use(
        &self,
        uid: &str,
    ) -> Result<Option<Arc<ObjectRecord>>, hyok_db::Error> {
        let found = self.key_found(uid, false).await?;
        Ok(found.and_then(|(record, _)| record.member_by_uid(uid).cloned()))
    }
}

/// Records, as a chain.
pub fn chain(members: Vec<ObjectRecord>) -> Chain {
    members.into_iter().map(Arc::new).collect()
}

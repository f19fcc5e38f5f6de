//! XKS keys as calls use them, found with one cache look-up per call: a key's ReKey chain
//! with what the checks read from its attributes worked out once (AES-256, blocked, state,
//! usage mask), which operations each set of identities was found allowed, and a lease of
//! the material last used (taken from the key cache and reused for as long as the cache
//! allows, [`KeyCache::reuse_for`]; the lease does not keep the material alive: once the
//! key cache and the requests using it let go, it is zeroized and the lease is void).
//! An entry is trusted while the metadata epoch read before it was built stands (the
//! names epoch for a key found by Name), and for at most `metadata_cache_max_age_seconds`:
//! a change to objects, names or grants on this node drops every entry at once. An entry in
//! use is read again, with others, in the background once it has passed half that age
//! ([`super::refresh`]), so that calls do not wait on the database. Keeping the derived
//! facts next to the key keeps a call's memory reads few, which is what holds throughput
//! up when thousands of keys are in use.

use crate::keys::RecordKinds;
use hyok_kmip::enums::{ObjectType, State};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use hyok_db::{Grant, ObjectRecord};
use serde_json::Value;
use zeroize::Zeroizing;

use super::refresh::{Due, DueKeys};
use crate::access::{Access, IdentitiesKey, Operation};
use crate::epoch_cache::EpochCache;
#[cfg(doc)]
use crate::keys::KeyCache;
use crate::keys::{self, FoundBy, KeyService, Material, BLOCKED};

/// KMIP Cryptographic Usage Mask bits.
pub const MASK_ENCRYPT: i64 = 0x4;
pub const MASK_DECRYPT: i64 = 0x8;

/// How many sets of identities an entry remembers decisions for (beyond that, the oldest
/// is forgotten and its next call asks the access check again).
const IDENTITY_SETS_PER_KEY: usize = 8;

pub struct ResolvedKeys {
    /// Keys by the unique identifier of one of their versions: trusted while the records
    /// epoch stands.
    by_uid: EpochCache<String, Arc<ResolvedKey>>,
    /// Keys by Name: trusted while the names epoch stands (a new key can take the name).
    by_name: EpochCache<String, Arc<ResolvedKey>>,
    /// Entries in use past half their age, to read again.
    due: DueKeys,
}

impl ResolvedKeys {
    /// Each of the two maps holds at most `max_entries` (`0`: nothing is kept).
    pub fn new(max_entries: usize, max_age: Duration) -> ResolvedKeys {
        ResolvedKeys {
            by_uid: EpochCache::new(max_entries, max_age),
            by_name: EpochCache::new(max_entries, max_age),
            due: DueKeys::new(2 * max_entries),
        }
    }

    /// The key `external_id` names, or `None` when no object (or more than one, by name)
    /// matches.
    pub async fn resolve(
        &self,
        keys: &KeyService,
        external_id: &str,
    ) -> Result<Option<Arc<ResolvedKey>>, hyok_db::Error> {
        // Read before the database is, so that a change racing the read is not trusted.
        let (records_epoch, names_epoch) = (keys.db().epoch(), keys.db().names_epoch());
        let found = match self.by_uid.look_up(external_id, records_epoch) {
            Some(hit) => Some((hit, FoundBy::Uid)),
            None => self
                .by_name
                .look_up(external_id, names_epoch)
                .map(|hit| (hit, FoundBy::Name)),
        };
        if let Some((hit, found_by)) = found {
            if hit.refresh_due {
                self.due.push(Due {
                    external_id: external_id.to_string(),
                    found_by,
                    key: Arc::downgrade(&hit.value),
                });
            }
            return Ok(Some(hit.value));
        }
        // The entry's age counts from before the read (a hit never needs the clock).
        let read_at = Instant::now();
        let Some((members, found_by)) = keys.read_chain_named_by(external_id).await? else {
            return Ok(None);
        };
        let key = Arc::new(ResolvedKey::new(external_id, members));
        let epochs = (records_epoch, names_epoch);
        self.replace(external_id, Some((key.clone(), found_by)), epochs, read_at);
        Ok(Some(key))
    }

    /// The entries waiting to be read again.
    pub(super) fn due(&self) -> &DueKeys {
        &self.due
    }

    /// Keeps `key`, whose reads started at `read_at`, after the epochs were read (`None`:
    /// `external_id` names no key any more).
    pub(super) fn replace(
        &self,
        external_id: &str,
        found: Option<(Arc<ResolvedKey>, FoundBy)>,
        (records_epoch, names_epoch): (u64, u64),
        read_at: Instant,
    ) {
        let id = external_id.to_string();
        match found {
            Some((key, FoundBy::Uid)) => {
                self.by_uid.insert_read_at(id, records_epoch, read_at, key)
            }
            Some((key, FoundBy::Name)) => {
                self.by_name.insert_read_at(id, names_epoch, read_at, key)
            }
            None => {
                self.by_uid.remove(external_id);
                self.by_name.remove(external_id);
            }
        }
    }
}

/// A key as XKS sees it: every version, oldest first, and the facts its checks use.
pub struct ResolvedKey {
    pub members: keys::Chain,
    /// Whether the version the external id names (for a Name: the oldest) is an AES-256
    /// symmetric key.
    aes_256: bool,
    blocked: bool,
    newest_active: bool,
    newest_version: i64,
    usage_mask: i64,
    /// Operations found allowed, by set of identities.
    allowed: Mutex<Vec<Allowed>>,
    /// The material last taken from the key cache.
    lease: Mutex<Option<Lease>>,
}

struct Allowed {
    who: IdentitiesKey,
    /// Bits of `1 << Operation`.
    operations: u32,
}

struct Lease {
    version: i64,
    /// Weak: only the key cache and the requests using the material keep it.
    material: Weak<Zeroizing<Vec<u8>>>,
    until: Instant,
}

impl ResolvedKey {
    /// `members` read again for `previous`: what was found allowed to whom is decided
    /// again with `grants` (those on the key and on `*`, read with it).
    pub(super) fn refreshed(
        external_id: &str,
        members: keys::Chain,
        previous: &ResolvedKey,
        grants: &[&Grant],
    ) -> ResolvedKey {
        let key = ResolvedKey::new(external_id, members);
        let still_allowed: Vec<Allowed> = previous
            .allowed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter_map(|was| {
                let identities = was.who.identities();
                let operations = Operation::ALL
                    .into_iter()
                    .filter(|operation| was.operations & bit(*operation) != 0)
                    .filter(|operation| {
                        Access::allows_by(grants, &identities, &key.members[0], *operation)
                    })
                    .fold(0, |bits, operation| bits | bit(operation));
                (operations != 0).then(|| Allowed {
                    who: was.who.clone(),
                    operations,
                })
            })
            .collect();
        *key.allowed.lock().unwrap_or_else(|p| p.into_inner()) = still_allowed;
        key
    }

    fn new(external_id: &str, members: keys::Chain) -> ResolvedKey {
        let named = members
            .iter()
            .find(|m| m.uid == external_id)
            .or_else(|| members.first());
        let aes_256 = named.is_some_and(is_aes_256);
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
        ResolvedKey {
            members,
            aes_256,
            blocked,
            newest_active,
            newest_version,
            usage_mask,
            allowed: Mutex::new(Vec::new()),
            lease: Mutex::new(None),
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
        self.members.iter().find(|m| m.chain_version == version)
    }

    pub fn is_aes_256(&self) -> bool {
        self.aes_256
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

    /// Whether `operation` was found allowed to `who` while this entry stood.
    pub fn allowed(&self, who: &IdentitiesKey, operation: Operation) -> bool {
        let allowed = self.allowed.lock().unwrap_or_else(|p| p.into_inner());
        allowed
            .iter()
            .any(|known| known.who == *who && known.operations & bit(operation) != 0)
    }

    /// Remembers that the access check allowed `operation` to `who`.
    pub fn remember_allowed(&self, who: &IdentitiesKey, operation: Operation) {
        let mut allowed = self.allowed.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(known) = allowed.iter_mut().find(|known| known.who == *who) {
            known.operations |= bit(operation);
            return;
        }
        if allowed.len() == IDENTITY_SETS_PER_KEY {
            allowed.remove(0);
        }
        allowed.push(Allowed {
            who: who.clone(),
            operations: bit(operation),
        });
    }

    /// The material of version `version` if its lease has not run out and it is still
    /// held by the key cache (or by a request using it).
    pub fn leased(&self, version: i64) -> Option<Material> {
        let lease = self.lease.lock().unwrap_or_else(|p| p.into_inner());
        match &*lease {
            Some(lease) if lease.version == version && Instant::now() < lease.until => {
                lease.material.upgrade()
            }
            _ => None,
        }
    }

    /// Reuses `material` of `version`, just taken from the key cache, for `reuse_for`
    /// ([`KeyCache::reuse_for`]; zero: not at all).
    pub fn lease(&self, version: i64, material: &Material, reuse_for: Duration) {
        if reuse_for.is_zero() {
            return;
        }
        *self.lease.lock().unwrap_or_else(|p| p.into_inner()) = Some(Lease {
            version,
            material: Arc::downgrade(material),
            until: Instant::now() + reuse_for,
        });
    }
}

const _: () = assert!(Operation::ALL.len() <= 32, "an operation is a bit of a u32");

fn bit(operation: Operation) -> u32 {
    1 << operation as u32
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Identities;

    fn who(principal: &str) -> IdentitiesKey {
        Identities::of_xks_request("aws", principal, None).key()
    }

    #[test]
    fn remembers_what_was_allowed_to_whom() {
        let key = ResolvedKey::new("k", Arc::from(Vec::new()));
        let app = who("arn:aws:iam::111122223333:role/app");
        assert!(!key.allowed(&app, Operation::Encrypt));
        key.remember_allowed(&app, Operation::Encrypt);
        assert!(key.allowed(&app, Operation::Encrypt));
        assert!(!key.allowed(&app, Operation::Decrypt), "per operation");
        assert!(
            !key.allowed(
                &who("arn:aws:iam::111122223333:role/other"),
                Operation::Encrypt
            ),
            "per set of identities"
        );
        for n in 0..IDENTITY_SETS_PER_KEY {
            key.remember_allowed(&who(&format!("arn:{n}")), Operation::Encrypt);
        }
        assert!(
            !key.allowed(&app, Operation::Encrypt),
            "bounded: the oldest set is forgotten"
        );
        assert!(key.allowed(&who("arn:7"), Operation::Encrypt));
    }

    #[test]
    fn a_lease_is_of_one_version_short_and_keeps_nothing_alive() {
        let key = ResolvedKey::new("k", Arc::from(Vec::new()));
        let material: Material = Arc::new(Zeroizing::new(vec![7; 32]));
        let second = Duration::from_secs(1);
        assert!(key.leased(2).is_none());
        key.lease(2, &material, second);
        assert_eq!(key.leased(2).as_deref(), Some(&material).map(|m| &**m));
        assert!(key.leased(1).is_none(), "another version");
        key.lease(2, &material, Duration::from_millis(20));
        std::thread::sleep(Duration::from_millis(40));
        assert!(key.leased(2).is_none(), "run out");
        let off = ResolvedKey::new("k", Arc::from(Vec::new()));
        off.lease(2, &material, Duration::ZERO);
        assert!(off.leased(2).is_none(), "the key cache allows no reuse");
        key.lease(2, &material, second);
        let weak = Arc::downgrade(&material);
        drop(material);
        assert!(
            weak.upgrade().is_none(),
            "the lease does not hold the material"
        );
        assert!(key.leased(2).is_none(), "let go by the cache: void");
    }
}

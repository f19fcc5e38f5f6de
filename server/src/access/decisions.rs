//! Grant decisions, one cache shared by KMIP and XKS: per key chain, which operations a
//! grant gives (and does not give) to each set of identities that asked, for up to
//! [`IDENTITY_SETS_PER_KEY`] sets. Forgotten per key when a grant on it changes, at once
//! for this node's own changes and through the change feed for other writers'
//! ([`DecisionCache::forget`]); a change to a grant on `*` forgets all. A decision that
//! a change raced is used but not kept. Entries live at most
//! `metadata_cache_max_age_seconds` (a random 75–100 % of it); the read-ahead task
//! decides the keys in use again with the grants it reads ([`DecisionCache::refresh`]).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyok_db::{Changed, Db, Grant};
use moka::sync::Cache;

use super::identities::{Identities, IdentitiesKey};
use super::operation::Operation;
use crate::cache_expiry::Jittered;

/// How many sets of identities a key remembers decisions for (beyond that, the oldest is
/// forgotten and its next call asks the database again).
const IDENTITY_SETS_PER_KEY: usize = 8;

const _: () = assert!(Operation::ALL.len() <= 32, "an operation is a bit of a u32");

fn bit(operation: Operation) -> u32 {
    1 << operation as u32
}

/// What is known of one set of identities on one key.
#[derive(Clone)]
struct Known {
    who: IdentitiesKey,
    /// Bits of `1 << Operation` a grant gives.
    granted: u32,
    /// Bits no grant gives.
    refused: u32,
}

#[derive(Default)]
struct Decisions {
    known: Mutex<Vec<Known>>,
}

impl Decisions {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Known>> {
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Cheap to clone: clones share the entries.
#[derive(Clone)]
pub struct DecisionCache {
    enabled: bool,
    entries: Cache<String, Arc<Decisions>>,
}

impl DecisionCache {
    /// At most `max_entries` keys (`0`: nothing is kept), each for at most `max_age`.
    pub fn new(max_entries: usize, max_age: Duration) -> DecisionCache {
        DecisionCache {
            enabled: max_entries > 0,
            entries: Cache::builder()
                .max_capacity(max_entries as u64)
                .expire_after(Jittered(max_age.max(Duration::from_millis(1))))
                .build(),
        }
    }

    /// Whether a grant on `chain` gives `operation` to `who`, if known.
    pub fn get(&self, chain: &str, who: &IdentitiesKey, operation: Operation) -> Option<bool> {
        let decisions = self.entries.get(chain)?;
        let known = decisions.lock();
        let entry = known.iter().find(|known| known.who == *who)?;
        let bit = bit(operation);
        if entry.granted & bit != 0 {
            Some(true)
        } else if entry.refused & bit != 0 {
            Some(false)
        } else {
            None
        }
    }

    /// Keeps what the database said, read after the feed had told `told` changes: unless a
    /// change to a grant on `chain` was told since (it may have raced the read).
    pub fn keep(
        &self,
        db: &Db,
        chain: &str,
        who: &IdentitiesKey,
        operation: Operation,
        granted: bool,
        told: u64,
    ) {
        if !self.enabled {
            return;
        }
        let decisions = self
            .entries
            .get_with_by_ref(chain, || Arc::new(Decisions::default()));
        {
            let mut known = decisions.lock();
            let at = match known.iter().position(|known| known.who == *who) {
                Some(at) => at,
                None => {
                    if known.len() == IDENTITY_SETS_PER_KEY {
                        known.remove(0);
                    }
                    known.push(Known {
                        who: who.clone(),
                        granted: 0,
                        refused: 0,
                    });
                    known.len() - 1
                }
            };
            let entry = &mut known[at];
            if granted {
                entry.granted |= bit(operation);
                entry.refused &= !bit(operation);
            } else {
                entry.refused |= bit(operation);
                entry.granted &= !bit(operation);
            }
        }
        // Checked after the change: a change told from here on forgets it anyway.
        if raced(db, chain, told) {
            self.entries.invalidate(chain);
        }
    }

    /// Decides again, with `grants` (those on `chain` and on `*`, read after the feed had
    /// told `told` changes), what each set of identities known on `chain` asked.
    pub fn refresh(&self, db: &Db, chain: &str, grants: &[&Grant], told: u64) {
        let Some(decisions) = self.entries.get(chain) else {
            return;
        };
        let known: Vec<Known> = decisions
            .lock()
            .iter()
            .map(|was| {
                let identities = was.who.identities();
                let asked = was.granted | was.refused;
                let granted = Operation::ALL
                    .into_iter()
                    .filter(|operation| asked & bit(*operation) != 0)
                    .filter(|operation| granted_by(grants, chain, &identities, *operation))
                    .fold(0, |bits, operation| bits | bit(operation));
                Known {
                    who: was.who.clone(),
                    granted,
                    refused: asked & !granted,
                }
            })
            .collect();
        self.entries.insert(
            chain.to_string(),
            Arc::new(Decisions {
                known: Mutex::new(known),
            }),
        );
        if raced(db, chain, told) {
            self.entries.invalidate(chain);
        }
    }

    /// Forgets what `change` makes stale.
    pub fn forget(&self, change: Changed<'_>) {
        match change {
            Changed::Grant { on: "*" } | Changed::Everything => self.entries.invalidate_all(),
            Changed::Grant { on } => self.entries.invalidate(on),
            Changed::Object { .. } | Changed::Name(_) => {}
        }
    }
}

/// Whether a grant on `chain` (or on `*`) changed after `told`.
fn raced(db: &Db, chain: &str, told: u64) -> bool {
    db.changed_since(told, |change| match change {
        Changed::Grant { on } => on == chain || on == "*",
        Changed::Everything => true,
        Changed::Object { .. } | Changed::Name(_) => false,
    })
}

/// Whether one of `grants` (read for `chain`: on it and on `*`) gives `operation` to one
/// of `identities` (or to `*`).
pub fn granted_by(
    grants: &[&Grant],
    chain: &str,
    identities: &Identities,
    operation: Operation,
) -> bool {
    grants.iter().any(|grant| {
        (grant.object_uid == chain || grant.object_uid == "*")
            && grant.operation == operation.as_str()
            && (grant.identity == "*" || identities.named_by(&grant.identity))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(principal: &str) -> IdentitiesKey {
        Identities::of_xks_request("aws", principal, None).key()
    }

    #[tokio::test]
    async fn remembers_per_key_and_identities_and_forgets_per_key() {
        let database = hyok_db::testing::TestDatabase::sqlite();
        let db = database.open().await;
        let cache = DecisionCache::new(100, Duration::from_secs(60));
        let app = who("arn:aws:iam::111122223333:role/app");
        let told = db.changes_told();
        assert_eq!(cache.get("k", &app, Operation::Encrypt), None);
        cache.keep(&db, "k", &app, Operation::Encrypt, true, told);
        cache.keep(&db, "k", &app, Operation::Decrypt, false, told);
        cache.keep(&db, "other", &app, Operation::Encrypt, true, told);
        assert_eq!(cache.get("k", &app, Operation::Encrypt), Some(true));
        assert_eq!(cache.get("k", &app, Operation::Decrypt), Some(false));
        assert_eq!(cache.get("k", &app, Operation::GetAttributes), None);
        let other = who("arn:aws:iam::111122223333:role/other");
        assert_eq!(cache.get("k", &other, Operation::Encrypt), None, "per set");
        for n in 0..IDENTITY_SETS_PER_KEY {
            cache.keep(
                &db,
                "k",
                &who(&format!("arn:{n}")),
                Operation::Encrypt,
                true,
                told,
            );
        }
        assert_eq!(
            cache.get("k", &app, Operation::Encrypt),
            None,
            "bounded: the oldest set is forgotten"
        );
        cache.forget(Changed::Grant { on: "k" });
        assert_eq!(cache.get("k", &who("arn:7"), Operation::Encrypt), None);
        assert_eq!(
            cache.get("other", &app, Operation::Encrypt),
            Some(true),
            "only k"
        );
        cache.forget(Changed::Object {
            chain: "other",
            uid: "other",
        });
        assert_eq!(
            cache.get("other", &app, Operation::Encrypt),
            Some(true),
            "not a grant"
        );
        cache.forget(Changed::Grant { on: "*" });
        assert_eq!(
            cache.get("other", &app, Operation::Encrypt),
            None,
            "a grant on *"
        );
    }

    #[tokio::test]
    async fn a_decision_a_change_raced_is_not_kept() {
        let database = hyok_db::testing::TestDatabase::sqlite();
        let db = database.open().await;
        let cache = DecisionCache::new(100, Duration::from_secs(60));
        let app = who("arn:aws:iam::111122223333:role/app");
        let told = db.changes_told();
        db.grant("k", "*", "encrypt", "admin").await.unwrap();
        cache.keep(&db, "k", &app, Operation::Encrypt, false, told);
        assert_eq!(cache.get("k", &app, Operation::Encrypt), None);
    }
}

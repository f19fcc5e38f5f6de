//! A cache of what was read from the database about objects and grants (key records,
//! grant decisions). Each entry keeps the database's metadata epoch read *before* the read
//! that produced it, and is trusted only while that epoch stands: any change to objects,
//! names or grants moves the epoch (at once on the node that made it, within the follow
//! interval on the others), so a revoked grant or a blocked key is never served from
//! here after the change. `max_age` bounds how long an entry is trusted in any case, a
//! backstop should another node's change go unnoticed; each entry is trusted for a random
//! three quarters to all of it, so that entries read together (a working set of keys
//! first used in the same second) are not all read again in the same instant, which would
//! hold every request up on the database at once. A cache whose owner reads entries again
//! ahead of time ([`EpochCache::look_up`]) learns when an entry in use has passed half of
//! `max_age`, once per entry, so that it can be replaced before it runs out. Bounded in
//! entries, least recently used first; `max_entries = 0` turns it off. An entry moves to
//! the front on its first use and then at most once per [`PROMOTE_EVERY`]: moving it
//! touches its neighbours in the list, which with thousands of keys in use cost more than
//! the rest of a look-up.

use std::borrow::Borrow;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lru::LruCache;

/// The grain of the least-recently-used order.
const PROMOTE_EVERY: Duration = Duration::from_secs(1);

struct Entry<V> {
    epoch: u64,
    /// From then on, the next look-up says a refresh is due (once).
    refresh_from: Option<Instant>,
    trusted_until: Instant,
    /// When a use last moved it to the front (`None`: not used yet).
    promoted_at: Option<Instant>,
    value: V,
}

pub struct EpochCache<K: Hash + Eq, V> {
    max_entries: usize,
    max_age: Duration,
    entries: Mutex<LruCache<K, Entry<V>>>,
}

/// A value found by [`EpochCache::look_up`].
pub struct Hit<V> {
    pub value: V,
    /// This is the first look-up since the entry passed half of `max_age`: read it again
    /// now and [`EpochCache::insert`] it, and it is never found stale while in use.
    pub refresh_due: bool,
}

impl<K: Hash + Eq, V: Clone> EpochCache<K, V> {
    pub fn new(max_entries: usize, max_age: Duration) -> EpochCache<K, V> {
        EpochCache {
            max_entries,
            max_age,
            entries: Mutex::new(LruCache::unbounded()),
        }
    }

    /// The value kept for `key`, if it was read at `epoch` (the current one) and is not
    /// older than its share of `max_age`.
    pub fn get<Q>(&self, key: &Q, epoch: u64) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.look_up(key, epoch).map(|hit| hit.value)
    }

    /// [`EpochCache::get`], saying also whether the entry is due to be read again.
    pub fn look_up<Q>(&self, key: &Q, epoch: u64) -> Option<Hit<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut entries = self.lock();
        let now = Instant::now();
        let entry = entries.peek_mut(key)?;
        if entry.epoch == epoch && now < entry.trusted_until {
            let value = entry.value.clone();
            let refresh_due = entry.refresh_from.is_some_and(|from| now >= from);
            if refresh_due {
                entry.refresh_from = None;
            }
            let promote = entry
                .promoted_at
                .is_none_or(|at| now.duration_since(at) >= PROMOTE_EVERY);
            if promote {
                entry.promoted_at = Some(now);
                entries.promote(key);
            }
            return Some(Hit { value, refresh_due });
        }
        entries.pop(key);
        None
    }

    /// Drops what is kept for `key`.
    pub fn remove<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.lock().pop(key);
    }

    /// Keeps `value`, read from the database after `epoch` was read.
    pub fn insert(&self, key: K, epoch: u64, value: V) {
        self.insert_read_at(key, epoch, Instant::now(), value);
    }

    /// [`EpochCache::insert`] for a value whose database reads started at `read_at`: its
    /// age counts from then.
    pub fn insert_read_at(&self, key: K, epoch: u64, read_at: Instant, value: V) {
        if self.max_entries == 0 {
            return;
        }
        let trusted_until = read_at + trusted_for(self.max_age);
        let mut entries = self.lock();
        entries.put(
            key,
            Entry {
                epoch,
                refresh_from: Some(read_at + self.max_age / 2),
                trusted_until,
                promoted_at: None,
                value,
            },
        );
        while entries.len() > self.max_entries {
            entries.pop_lru();
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<K, Entry<V>>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A random share of `max_age`, from three quarters of it to all of it.
fn trusted_for(max_age: Duration) -> Duration {
    max_age - max_age.mul_f64(fastrand::f64() / 4.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_only_at_the_epoch_it_was_read() {
        let cache = EpochCache::new(10, Duration::from_secs(60));
        cache.insert("k".to_string(), 7, "blocked: false");
        assert_eq!(cache.get("k", 7), Some("blocked: false"));
        assert_eq!(cache.get("k", 8), None, "the epoch moved: read again");
        assert!(cache.is_empty(), "a stale entry is dropped");
        cache.insert("k".to_string(), 7, "read at 7, kept after 8");
        assert_eq!(
            cache.get("k", 8),
            None,
            "a read that raced a change is not trusted"
        );
    }

    #[test]
    fn bounded_in_entries_and_age() {
        let cache = EpochCache::new(2, Duration::from_millis(500));
        cache.insert(1, 0, 'a');
        cache.insert(2, 0, 'b');
        assert_eq!(cache.get(&1, 0), Some('a'));
        cache.insert(3, 0, 'c');
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get(&2, 0), None, "least recently used goes first");
        assert_eq!(cache.get(&1, 0), Some('a'), "used again within the grain");
        cache.insert(4, 0, 'd');
        assert_eq!(
            cache.get(&1, 0),
            None,
            "moved to the front only once per PROMOTE_EVERY: 3 was inserted later"
        );
        cache.insert(1, 0, 'a');
        std::thread::sleep(Duration::from_millis(600));
        assert_eq!(cache.get(&1, 0), None, "older than max_age");
        let young = EpochCache::new(1, Duration::from_secs(60));
        young.insert(1, 0, 'a');
        assert_eq!(
            young.get(&1, 0),
            Some('a'),
            "younger than three quarters of max_age"
        );

        let off = EpochCache::new(0, Duration::from_secs(60));
        off.insert(1, 0, 'a');
        assert_eq!(off.get(&1, 0), None, "max_entries = 0 turns it off");
    }

    #[test]
    fn a_refresh_is_due_once_past_half_the_age() {
        let cache = EpochCache::new(10, Duration::from_secs(1));
        cache.insert(1, 0, 'a');
        assert!(!cache.look_up(&1, 0).unwrap().refresh_due, "young");
        std::thread::sleep(Duration::from_millis(520));
        let hit = cache.look_up(&1, 0).unwrap();
        assert_eq!((hit.value, hit.refresh_due), ('a', true));
        assert!(!cache.look_up(&1, 0).unwrap().refresh_due, "said once");
        cache.insert(1, 0, 'b');
        assert!(
            !cache.look_up(&1, 0).unwrap().refresh_due,
            "read again: young again"
        );
        let long_ago = Instant::now() - Duration::from_secs(2);
        cache.insert_read_at(2, 0, long_ago, 'c');
        assert_eq!(cache.get(&2, 0), None, "its age counts from its read");
        cache.remove(&1);
        assert!(cache.is_empty());
    }

    #[test]
    fn entries_read_together_are_trusted_for_different_times() {
        let max_age = Duration::from_secs(40);
        let shares: Vec<Duration> = (0..1000).map(|_| trusted_for(max_age)).collect();
        let (shortest, longest) = (shares.iter().min().unwrap(), shares.iter().max().unwrap());
        assert!(*shortest >= Duration::from_secs(30), "{shortest:?}");
        assert!(*longest <= max_age, "{longest:?}");
        assert!(
            *longest - *shortest >= Duration::from_secs(9),
            "spread over the last quarter: {shortest:?} to {longest:?}"
        );
    }
}

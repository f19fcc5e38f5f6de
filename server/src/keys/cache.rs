//! The unwrapped-key cache, on moka: bounded in entries and bytes, with idle and absolute
//! expiry; evicted material is zeroized once the last request using it lets go. What it
//! holds is forgotten per key when the key changes: by the key service's own changes at
//! once ([`KeyCache::invalidate`]) and by other writers' through the change feed
//! ([`KeyCache::forget`]).

use std::sync::Arc;
use std::time::Duration;

use hyok_db::Changed;
use moka::sync::Cache;
use zeroize::Zeroizing;

/// Unwrapped key material, shared by the cache and the requests using it.
pub type Material = Arc<Zeroizing<Vec<u8>>>;

#[derive(Debug, Clone, Copy)]
pub struct CacheLimits {
    pub max_entries: usize,
    pub max_bytes: usize,
    pub idle: Duration,
    pub max_age: Duration,
}

/// Cheap to clone: clones share the entries.
#[derive(Clone)]
pub struct KeyCache {
    limits: CacheLimits,
    entries: Cache<String, Material>,
}

impl KeyCache {
    pub fn new(limits: CacheLimits) -> KeyCache {
        // Each entry weighs its bytes, and at least its share of `max_bytes` per
        // `max_entries`: so neither bound is passed.
        let share = u32::try_from(limits.max_bytes / limits.max_entries.max(1)).unwrap_or(u32::MAX);
        let entries = Cache::builder()
            .max_capacity(limits.max_bytes as u64)
            .weigher(move |_, material: &Material| {
                u32::try_from(material.len()).unwrap_or(u32::MAX).max(share)
            })
            .time_to_idle(limits.idle.max(Duration::from_millis(1)))
            .time_to_live(limits.max_age.max(Duration::from_millis(1)))
            .build();
        KeyCache { limits, entries }
    }

    /// Whether anything is kept (`max_entries = 0` turns the cache off).
    pub fn enabled(&self) -> bool {
        self.limits.max_entries > 0
    }

    /// The material of `uid`, if cached and fresh.
    pub fn get(&self, uid: &str) -> Option<Material> {
        self.entries.get(uid)
    }

    pub fn insert(&self, uid: &str, material: Material) {
        if !self.enabled() || material.len() > self.limits.max_bytes {
            return;
        }
        self.entries.insert(uid.to_string(), material);
    }

    /// Forgets `uid` now (its state, attributes or grants changed).
    pub fn invalidate(&self, uid: &str) {
        self.entries.invalidate(uid);
    }

    /// Forgets what `change` makes stale.
    pub fn forget(&self, change: Changed<'_>) {
        match change {
            Changed::Object { uid, .. } => self.invalidate(uid),
            Changed::Everything => self.entries.invalidate_all(),
            Changed::Name(_) | Changed::Grant { .. } => {}
        }
    }

    /// (entries, bytes) currently held (after pending evictions).
    #[cfg(test)]
    pub fn usage(&self) -> (usize, usize) {
        self.entries.run_pending_tasks();
        let bytes = self
            .entries
            .iter()
            .map(|(_, material)| material.len())
            .sum();
        (self.entries.entry_count() as usize, bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_entries: usize, max_bytes: usize) -> CacheLimits {
        CacheLimits {
            max_entries,
            max_bytes,
            idle: Duration::from_secs(60),
            max_age: Duration::from_secs(600),
        }
    }

    fn material(byte: u8, len: usize) -> Material {
        Arc::new(Zeroizing::new(vec![byte; len]))
    }

    #[test]
    fn bounded_by_entries_and_by_bytes() {
        let cache = KeyCache::new(limits(2, 1000));
        for (n, uid) in ["a", "b", "c", "d"].into_iter().enumerate() {
            cache.insert(uid, material(n as u8, 32));
        }
        assert!(cache.usage().0 <= 2, "{:?}", cache.usage());
        let cache = KeyCache::new(limits(100, 80));
        for (n, uid) in ["a", "b", "c"].into_iter().enumerate() {
            cache.insert(uid, material(n as u8, 32));
        }
        assert!(cache.usage().1 <= 80, "{:?}", cache.usage());
        cache.insert("huge", material(4, 81));
        assert!(
            cache.get("huge").is_none(),
            "larger than the whole cache: not kept"
        );
    }

    #[test]
    fn idle_and_absolute_expiry() {
        let cache = KeyCache::new(CacheLimits {
            idle: Duration::from_millis(50),
            ..limits(10, 1000)
        });
        cache.insert("a", material(1, 32));
        std::thread::sleep(Duration::from_millis(80));
        assert!(cache.get("a").is_none(), "idle too long");
        assert_eq!(cache.usage(), (0, 0));

        let cache = KeyCache::new(CacheLimits {
            max_age: Duration::from_millis(100),
            ..limits(10, 1000)
        });
        cache.insert("a", material(1, 32));
        for _ in 0..4 {
            std::thread::sleep(Duration::from_millis(30));
            let _ = cache.get("a");
        }
        assert!(cache.get("a").is_none(), "used, but older than max_age");
    }

    #[test]
    fn forgotten_per_key_and_zeroized() {
        let cache = KeyCache::new(limits(10, 1000));
        let held = material(7, 32);
        let weak = Arc::downgrade(&held);
        cache.insert("a", held);
        cache.insert("b", material(8, 32));
        cache.forget(Changed::Grant { on: "a" });
        cache.forget(Changed::Name("a"));
        assert!(
            cache.get("a").is_some(),
            "grants and names are not material"
        );
        cache.forget(Changed::Object {
            chain: "a",
            uid: "a",
        });
        assert!(cache.get("a").is_none());
        assert!(cache.get("b").is_some(), "only the key that changed");
        cache.usage();
        assert!(
            weak.upgrade().is_none(),
            "evicted material is dropped (and so zeroized)"
        );
        cache.forget(Changed::Everything);
        assert!(cache.get("b").is_none());
        let off = KeyCache::new(limits(0, 1000));
        off.insert("a", material(1, 32));
        assert!(
            off.get("a").is_none(),
            "max_entries = 0 turns the cache off"
        );
    }
}

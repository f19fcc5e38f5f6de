//! The unwrapped-key cache: bounded in entries and bytes, with idle and absolute expiry;
//! evicted material is zeroized once the last request using it lets go. Invalidation by
//! unique id is explicit (state, attribute and grant changes call it).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lru::LruCache;
use zeroize::Zeroizing;

/// Unwrapped key material, shared by the cache and the requests using it.
pub type Material = Arc<Zeroizing<Vec<u8>>>;

/// The longest [`KeyCache::reuse_for`].
const MAX_REUSE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy)]
pub struct CacheLimits {
    pub max_entries: usize,
    pub max_bytes: usize,
    pub idle: Duration,
    pub max_age: Duration,
}

struct Entry {
    material: Material,
    unwrapped_at: Instant,
    last_used: Instant,
}

struct Inner {
    entries: LruCache<String, Entry>,
    bytes: usize,
}

pub struct KeyCache {
    limits: CacheLimits,
    inner: Mutex<Inner>,
}

impl KeyCache {
    pub fn new(limits: CacheLimits) -> KeyCache {
        let inner = Inner {
            entries: LruCache::unbounded(),
            bytes: 0,
        };
        KeyCache {
            limits,
            inner: Mutex::new(inner),
        }
    }

    /// Whether anything is kept (`max_entries = 0` turns the cache off).
    pub fn enabled(&self) -> bool {
        self.limits.max_entries > 0
    }

    /// How long a caller may reuse material it got from [`KeyCache::get`] before asking
    /// again (it must hold it weakly, so that only this cache and the requests using it
    /// keep it alive): well inside the idle and age limits, so that a key in use stays
    /// fresh here and no key is used much past its age; at most 5 s, so that the
    /// least-recently-used order still sees it; zero with the cache off.
    pub fn reuse_for(&self) -> Duration {
        if !self.enabled() {
            return Duration::ZERO;
        }
        (self.limits.idle / 2)
            .min(self.limits.max_age / 10)
            .min(MAX_REUSE)
    }

    /// The material of `uid`, if cached and fresh.
    pub fn get(&self, uid: &str) -> Option<Material> {
        let mut inner = self.lock();
        let now = Instant::now();
        let entry = inner.entries.get_mut(uid)?;
        let fresh = now.duration_since(entry.last_used) < self.limits.idle
            && now.duration_since(entry.unwrapped_at) < self.limits.max_age;
        if fresh {
            entry.last_used = now;
            return Some(entry.material.clone());
        }
        inner.remove(uid);
        None
    }

    pub fn insert(&self, uid: &str, material: Material) {
        if self.limits.max_entries == 0 || material.len() > self.limits.max_bytes {
            return;
        }
        let mut inner = self.lock();
        inner.remove(uid);
        let now = Instant::now();
        inner.bytes += material.len();
        inner.entries.put(
            uid.to_string(),
            Entry {
                material,
                unwrapped_at: now,
                last_used: now,
            },
        );
        while inner.entries.len() > self.limits.max_entries || inner.bytes > self.limits.max_bytes {
            let Some((_, evicted)) = inner.entries.pop_lru() else {
                break;
            };
            inner.bytes -= evicted.material.len();
        }
    }

    /// Forgets `uid` now (its state, attributes or grants changed).
    pub fn invalidate(&self, uid: &str) {
        self.lock().remove(uid);
    }

    /// (entries, bytes) currently held.
    pub fn usage(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.entries.len(), inner.bytes)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Inner {
    fn remove(&mut self, uid: &str) {
        if let Some(entry) = self.entries.pop(uid) {
            self.bytes -= entry.material.len();
        }
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
    fn bounded_by_entries_least_recently_used_first() {
        let cache = KeyCache::new(limits(2, 1000));
        cache.insert("a", material(1, 32));
        cache.insert("b", material(2, 32));
        assert!(cache.get("a").is_some(), "a is now the most recently used");
        cache.insert("c", material(3, 32));
        assert!(cache.get("b").is_none(), "b was the least recently used");
        assert_eq!(cache.get("a").unwrap()[0], 1);
        assert_eq!(cache.usage(), (2, 64));
    }

    #[test]
    fn bounded_by_bytes() {
        let cache = KeyCache::new(limits(100, 80));
        cache.insert("a", material(1, 32));
        cache.insert("b", material(2, 32));
        cache.insert("c", material(3, 32));
        assert_eq!(cache.usage(), (2, 64));
        assert!(cache.get("a").is_none());
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
    fn invalidation_and_zeroization() {
        let cache = KeyCache::new(limits(10, 1000));
        let held = material(7, 32);
        let weak = Arc::downgrade(&held);
        cache.insert("a", held);
        cache.invalidate("a");
        assert!(cache.get("a").is_none());
        assert!(
            weak.upgrade().is_none(),
            "evicted material is dropped (and so zeroized)"
        );
        let off = KeyCache::new(limits(0, 1000));
        off.insert("a", material(1, 32));
        assert!(
            off.get("a").is_none(),
            "max_entries = 0 turns the cache off"
        );
    }

    #[test]
    fn reuse_is_well_inside_the_limits() {
        let reuse = |idle, max_age| {
            KeyCache::new(CacheLimits {
                idle: Duration::from_secs(idle),
                max_age: Duration::from_secs(max_age),
                ..limits(10, 1000)
            })
            .reuse_for()
        };
        assert_eq!(reuse(600, 3600), Duration::from_secs(5), "the defaults");
        assert_eq!(
            reuse(1, 3600),
            Duration::from_millis(500),
            "half the idle limit"
        );
        assert_eq!(
            reuse(600, 1),
            Duration::from_millis(100),
            "a tenth of the age limit"
        );
        assert_eq!(
            KeyCache::new(limits(0, 1000)).reuse_for(),
            Duration::ZERO,
            "cache off: no reuse"
        );
    }
}

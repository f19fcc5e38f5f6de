//! How long a cache entry of key records or grant decisions lives: a random 75–100 % of
//! the maximum age, so that entries read together (a working set of keys first used in
//! the same second) are not all read again in the same instant.

use std::time::{Duration, Instant};

use moka::Expiry;

/// The expiry of an entry made now, for moka.
pub struct Jittered(pub Duration);

impl<K, V> Expiry<K, V> for Jittered {
    fn expire_after_create(&self, _: &K, _: &V, _: Instant) -> Option<Duration> {
        Some(trusted_for(self.0))
    }
}

/// A random share of `max_age`, from three quarters of it to all of it.
pub fn trusted_for(max_age: Duration) -> Duration {
    max_age - max_age.mul_f64(fastrand::f64() / 4.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_made_together_live_for_different_times() {
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

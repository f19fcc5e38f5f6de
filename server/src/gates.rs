//! Per-key gates in front of costly work that fills a cache: callers that miss the cache
//! for the same key at the same time pass one at a time, so the first does the work (an
//! HSM unwrap, an argon2id verification) and the others find its result in the cache
//! instead of each doing it again. A gate exists only while someone holds or awaits it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

type Gate = Arc<tokio::sync::Mutex<()>>;

#[derive(Default)]
pub struct Gates {
    open: Mutex<HashMap<String, Gate>>,
}

impl Gates {
    /// Runs `work` once no other caller is inside the gate of `key`. `work` should look
    /// in the cache again first: the caller before may have just filled it.
    pub async fn pass<T>(&self, key: &str, work: impl Future<Output = T>) -> T {
        let turn = self.arrive(key);
        let _inside = turn.gate.lock().await;
        work.await
    }

    /// [`Gates::pass`] for work that can hang until a time limit: a caller that has waited
    /// `wait` at the gate runs `work` without it. The callers ahead of it are slow or
    /// failing one after another (a hung HSM), and queueing behind each in turn would add
    /// up their time limits; this way no caller waits longer than `wait` plus its own work.
    pub async fn pass_within<T>(
        &self,
        key: &str,
        wait: Duration,
        work: impl Future<Output = T>,
    ) -> T {
        let turn = self.arrive(key);
        let _inside = tokio::time::timeout(wait, turn.gate.lock()).await.ok();
        work.await
    }

    fn arrive<'a>(&'a self, key: &'a str) -> Turn<'a> {
        Turn {
            gates: self,
            key,
            gate: self.open().entry(key.to_string()).or_default().clone(),
        }
    }

    fn open(&self) -> MutexGuard<'_, HashMap<String, Gate>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many gates are open.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.open().len()
    }
}

/// A caller's hold on a gate, from its arrival until it leaves (or gives up waiting):
/// the last one out removes the gate.
struct Turn<'a> {
    gates: &'a Gates,
    key: &'a str,
    gate: Gate,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut open = self.gates.open();
        // This caller's and the map's: nobody else holds or awaits the gate.
        if Arc::strong_count(&self.gate) <= 2 {
            open.remove(self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    /// Concurrent callers for one key do the work one at a time, those for another key
    /// do not wait for them, and no gate outlives its callers — also one whose caller
    /// gave up waiting.
    #[tokio::test]
    async fn one_caller_at_a_time_per_key_and_no_gate_left_behind() {
        let gates = Arc::new(Gates::default());
        let inside = Arc::new(AtomicUsize::new(0));
        let most_inside = Arc::new(AtomicUsize::new(0));
        let callers: Vec<_> = (0..8)
            .map(|_| {
                let (gates, inside, most_inside) =
                    (gates.clone(), inside.clone(), most_inside.clone());
                tokio::spawn(async move {
                    gates
                        .pass("k", async {
                            let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                            most_inside.fetch_max(now, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(2)).await;
                            inside.fetch_sub(1, Ordering::SeqCst);
                        })
                        .await
                })
            })
            .collect();
        let other = tokio::time::timeout(Duration::from_millis(10), gates.pass("other", async {}));
        assert!(other.await.is_ok(), "another key's gate is free meanwhile");
        for caller in callers {
            caller.await.unwrap();
        }
        assert_eq!(most_inside.load(Ordering::SeqCst), 1);
        assert_eq!(gates.len(), 0, "no gate left once its callers are gone");

        let holder = gates.pass("k", tokio::time::sleep(Duration::from_millis(50)));
        let gave_up = tokio::time::timeout(Duration::from_millis(5), gates.pass("k", async {}));
        let (_, gave_up) = tokio::join!(holder, gave_up);
        assert!(gave_up.is_err(), "the second caller timed out waiting");
        assert_eq!(gates.len(), 0, "nor after a caller gave up waiting");
    }

    /// Behind holders that each take their whole time limit, a caller of `pass_within`
    /// goes ahead once it has waited its `wait`, instead of after all of them.
    #[tokio::test]
    async fn a_bounded_wait_does_not_add_up_the_holders_time_limits() {
        let gates = Arc::new(Gates::default());
        let limit = Duration::from_millis(200);
        let holders: Vec<_> = (0..4)
            .map(|_| {
                let gates = gates.clone();
                tokio::spawn(async move {
                    gates
                        .pass_within("k", limit, tokio::time::sleep(limit))
                        .await
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let started = std::time::Instant::now();
        gates.pass_within("k", limit, async {}).await;
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(150) && waited < Duration::from_millis(600),
            "waited its limit, not the four holders' 800 ms: {waited:?}"
        );
        for holder in holders {
            holder.await.unwrap();
        }
        assert_eq!(gates.len(), 0);
    }
}

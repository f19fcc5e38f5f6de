//! An optional requests-per-second limit per key store: a token bucket refilled
//! continuously, holding at most one second's worth. Over the limit is an immediate 429,
//! never a queue.

use std::sync::Mutex;
use std::time::Instant;

pub struct Throttle {
    per_second: f64,
    state: Mutex<(f64, Instant)>,
}

impl Throttle {
    pub fn new(per_second: u32) -> Throttle {
        let per_second = f64::from(per_second.max(1));
        Throttle {
            per_second,
            state: Mutex::new((per_second, Instant::now())),
        }
    }

    /// Takes one token; false when none is left.
    pub fn admit(&self, now: Instant) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (tokens, last) = *state;
        let refilled = (tokens
            + now.saturating_duration_since(last).as_secs_f64() * self.per_second)
            .min(self.per_second);
        if refilled >= 1.0 {
            *state = (refilled - 1.0, now);
            true
        } else {
            *state = (refilled, now);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn admits_the_rate_and_refuses_the_excess() {
        let throttle = Throttle::new(10);
        let start = Instant::now();
        let admitted = (0..25).filter(|_| throttle.admit(start)).count();
        assert_eq!(admitted, 10, "a full bucket holds one second's worth");
        assert!(!throttle.admit(start + Duration::from_millis(50)));
        assert!(
            throttle.admit(start + Duration::from_millis(150)),
            "refilled at 10/s"
        );
    }
}

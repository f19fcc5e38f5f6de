//! What the connections of a run saw, and the report of it: requests/s, failures by
//! kind, latency percentiles, as text or JSON.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::json;

/// Where connection `n` of `connections` starts in a list of `count` requests (one key
/// each): spread evenly, so that the connections do not walk the keys in lockstep (which
/// would make every key's first use a burst of as many concurrent cold reads).
pub fn first_request(n: usize, connections: usize, count: usize) -> usize {
    n * count / connections.max(1)
}

/// What one connection saw.
#[derive(Default)]
pub struct Tally {
    latencies_us: Vec<u32>,
    errors: BTreeMap<String, u64>,
}

impl Tally {
    /// One more request that failed this way.
    pub fn count_error(&mut self, kind: String) {
        *self.errors.entry(kind).or_default() += 1;
    }

    /// The latency of a request that began at `started` and has just ended.
    pub fn record_since(&mut self, started: Instant) {
        let micros = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
        self.latencies_us.push(micros);
    }

    /// Adds what another connection saw.
    pub fn absorb(&mut self, other: Tally) {
        self.latencies_us.extend(other.latencies_us);
        for (kind, count) in other.errors {
            *self.errors.entry(kind).or_default() += count;
        }
    }
}

/// Prints what the connections saw: requests/s, failures by kind, latency percentiles.
pub fn report(
    operation: &str,
    connections: usize,
    items_per_request: usize,
    as_json: bool,
    mut total: Tally,
    elapsed: Duration,
) {
    total.latencies_us.sort_unstable();
    let count = total.latencies_us.len();
    let percentile = |p: f64| -> f64 {
        if count == 0 {
            return 0.0;
        }
        let index = ((count as f64 * p).ceil() as usize).clamp(1, count) - 1;
        f64::from(total.latencies_us[index]) / 1000.0
    };
    let failed: u64 = total.errors.values().sum();
    let rps = count as f64 / elapsed.as_secs_f64();
    let ops = rps * items_per_request as f64;
    let results = json!({
        "operation": operation,
        "connections": connections, "seconds": elapsed.as_secs_f64(), "requests": count, "failed": failed,
        "requests_per_second": rps,
        "operations_per_request": items_per_request, "operations_per_second": ops,
        "latency_ms": { "p50": percentile(0.50), "p99": percentile(0.99), "p99.9": percentile(0.999), "max": percentile(1.0) },
        "errors": total.errors,
    });
    if as_json {
        println!("{results}");
        return;
    }
    println!(
        "{count} requests in {:.1} s over {connections} connections: {rps:.0} requests/s, {failed} failed",
        elapsed.as_secs_f64()
    );
    if items_per_request > 1 {
        println!("{items_per_request} operations per request: {ops:.0} operations/s");
    }
    println!(
        "latency ms: p50 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}",
        percentile(0.50),
        percentile(0.99),
        percentile(0.999),
        percentile(1.0)
    );
    for (kind, n) in &total.errors {
        println!("  {n} × {kind}");
    }
}

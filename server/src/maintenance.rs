//! Background upkeep on every node: heartbeat in the node registry, follow master key
//! rotations made by other nodes, finish (or resume, after a crash) re-wrapping keys under
//! the current version, and prune audit entries past `[audit] retain_days`.

use std::time::{Duration, Instant};

use actix_web::web;

use crate::keys::KeyService;
use crate::state::AppState;

const EVERY: Duration = Duration::from_secs(10);

/// How often the audit log is pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Runs forever (until the server stops): at start, then every 10 s (audit pruning: at
/// start, then every hour).
pub async fn run(state: web::Data<AppState>) {
    let mut ticks = tokio::time::interval(EVERY);
    let mut pruned_at: Option<Instant> = None;
    loop {
        ticks.tick().await;
        if pruned_at.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
            pruned_at = Some(Instant::now());
            prune_audit(&state).await;
        }
        if let Err(error) = state.db.heartbeat(state.audit.node()).await {
            tracing::warn!(%error, "cannot record this node's heartbeat");
        }
        if let Err(error) = state.keys.keystore().refresh().await {
            tracing::warn!(%error, "cannot follow the current master key version");
        }
        let current = i64::from(state.keys.keystore().current_version());
        match state.db.any_wrapped_before(current).await {
            Ok(true) => rewrap(&state.keys).await,
            Ok(false) => {}
            Err(error) => tracing::warn!(%error, "cannot look for keys to re-wrap"),
        }
    }
}

/// Re-wraps what older master key versions still wrap, and logs the outcome.
pub async fn rewrap(keys: &KeyService) {
    match keys.rewrap_all().await {
        Ok(Some(report)) => tracing::info!(
            rewrapped = report.rewrapped,
            retried = report.retried,
            failed = report.failed.len(),
            "re-wrap under master key version {} finished",
            keys.keystore().current_version()
        ),
        Ok(None) => {}
        Err(error) => tracing::error!(%error, "re-wrap stopped; it resumes on the next round"),
    }
}

/// Deletes the audit entries older than `[audit] retain_days`, and logs how many went.
async fn prune_audit(state: &AppState) {
    let retain_days = state.config.audit.retain_days;
    match state.audit.prune(retain_days).await {
        Ok(0) => {}
        Ok(pruned) => tracing::info!(
            pruned,
            retain_days,
            "audit entries past their retention deleted"
        ),
        Err(error) => {
            tracing::warn!(%error, "cannot prune the audit log; it is tried again in an hour")
        }
    }
}

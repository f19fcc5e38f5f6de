//! Background upkeep on every node: heartbeat in the node registry, follow master key
//! rotations made by other nodes, and finish (or resume, after a crash) re-wrapping keys under the current version.

use std::time::Duration;

use actix_web::web;

use crate::keys::KeyService;
use crate::state::AppState;

const EVERY: Duration = Duration::from_secs(10);

/// Runs forever (until the server stops): at start, then every 10 s.
pub async fn run(state: web::Data<AppState>) {
    let mut ticks = tokio::time::interval(EVERY);
    loop {
        ticks.tick().await;
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

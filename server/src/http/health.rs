//! `GET /health`, for load balancers and operators, without authentication: 200 when
//! the database answers and the keystore completes a real wrap/unwrap round trip
//! (within `[keystore] timeout_ms` per call), else
//! 503. Reasons go to the log; the response says only which part is down.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::state::AppState;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let database = tokio::time::timeout(CHECK_TIMEOUT, state.db.ping()).await;
    let database_ok = match database {
        Ok(Ok(())) => true,
        Ok(Err(error)) => log_failure("database", &error),
        Err(_) => log_failure("database", &"no answer within 2 s"),
    };
    let keystore = state.keys.keystore();
    let keystore_ok = match keystore.health().await {
        Ok(()) => true,
        Err(error) => log_failure("keystore", &error),
    };
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let info = keystore.info();
    let body = json!({
        "status": word(database_ok && keystore_ok),
        "database": { "status": word(database_ok), "engine": state.db_engine() },
        "keystore": {
            "status": word(keystore_ok),
            "kind": info.kind,
            "key_id": info.key_id,
            "device": info.device,
        },
        "version": env!("CARGO_PKG_VERSION"),
    });
    if database_ok && keystore_ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

fn log_failure(part: &str, error: &dyn std::fmt::Display) -> bool {
    tracing::error!(part, %error, "health check failed");
    false
}

//! `GET /health`, for load balancers and operators, without authentication: 200 when
//! the database holds the schema this build needs and answers a read of the objects
//! table, and the keystore completes a real wrap/unwrap round trip (within
//! `[keystore] timeout_ms` per call), else 503. The answer comes from the shared probe
//! (at most a second old, one probe in flight). Reasons go to the log; the response
//! says only which part is down.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::state::AppState;

pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let keystore = state.keys.keystore();
    let probe = state.health.current(&state.db, keystore).await;
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let info = keystore.info();
    let body = json!({
        "status": word(probe.healthy()),
        "database": { "status": word(probe.database.is_ok()), "engine": state.db_engine() },
        "keystore": {
            "status": word(probe.keystore.is_ok()),
            "kind": info.kind,
            "key_id": info.key_id,
            "device": info.device,
        },
        "version": env!("CARGO_PKG_VERSION"),
    });
    if probe.healthy() {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

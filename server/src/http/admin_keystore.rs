//! `/admin/keystore`: the master key's status (versions and how many objects each one
//! wraps) and its rotation (admins only).

use std::sync::atomic::Ordering;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::admin_users::require_admin;
use super::{request_id, ApiError};
use crate::audit::Actor;
use crate::auth::Caller;
use crate::state::AppState;

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/admin/keystore/status", web::get().to(status))
        .route("/admin/keystore/rotate", web::post().to(rotate));
}

#[derive(Deserialize)]
struct RotateQuery {
    /// Answer only when every object is re-wrapped.
    #[serde(default)]
    wait: bool,
}

async fn status(
    state: web::Data<AppState>,
    caller: web::ReqData<Caller>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&caller)?;
    let keys = &state.keys;
    let current = keys.keystore().current_version();
    let counts = state.db.wrap_key_version_counts().await?;
    let count_of = |version: u32| {
        counts
            .iter()
            .find(|(v, _)| *v == i64::from(version))
            .map_or(0, |(_, n)| *n)
    };
    let versions: Vec<_> = (1..=current)
        .map(|version| {
            let objects = count_of(version);
            let state = match version {
                v if v == current => "current",
                _ if objects > 0 => "in use",
                _ => "retired",
            };
            json!({ "version": version, "objects": objects, "state": state })
        })
        .collect();
    let info = keys.keystore().info();
    Ok(HttpResponse::Ok().json(json!({
        "kind": info.kind,
        "key_id": info.key_id,
        "device": info.device,
        "current_version": current,
        "rewrap_running": keys.rewrapping().load(Ordering::SeqCst),
        "versions": versions,
    })))
}

async fn rotate(
    state: web::Data<AppState>,
    caller: web::ReqData<Caller>,
    query: web::Query<RotateQuery>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    require_admin(&caller)?;
    let version = state
        .keys
        .keystore()
        .rotate()
        .await
        .map_err(ApiError::Internal)?;
    let event = Actor::new(&caller.user, request_id(&request))
        .event("rotate-master-key")
        .details(json!({ "version": version }));
    state.audit.commit(&[], &[event]).await?;
    tracing::warn!(version, by = %caller.user, "master key rotated; re-wrapping every key");
    if query.wait {
        let report = state
            .keys
            .rewrap_all()
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        return Ok(HttpResponse::Ok().json(json!({ "version": version, "rewrap": report })));
    }
    let background = state.clone();
    actix_web::rt::spawn(async move { crate::maintenance::rewrap(&background.keys).await });
    Ok(HttpResponse::Accepted().json(json!({ "version": version, "rewrap": "started" })))
}

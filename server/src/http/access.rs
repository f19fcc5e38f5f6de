//! `/access/*`: grant, revoke and list grants; the objects I own; the grants I hold.
//! (Route names as in an existing open-source KMS; the bodies are hyok's.)

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::{request_id, ApiError};
use crate::access::{GrantChange, GrantError};
use crate::audit::Event;
use crate::auth::Caller;
use crate::state::AppState;

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/access/grant", web::post().to(grant))
        .route("/access/revoke", web::post().to(revoke))
        .route("/access/list/{id}", web::get().to(list))
        .route("/access/owned", web::get().to(owned))
        .route("/access/obtained", web::get().to(obtained));
}

impl From<GrantError> for ApiError {
    fn from(error: GrantError) -> ApiError {
        match error {
            GrantError::NotFound(uid) => ApiError::NotFound(format!("object {uid} not found")),
            GrantError::Forbidden(reason) => ApiError::Forbidden(reason),
            GrantError::Invalid(reason) => ApiError::BadRequest(reason),
            GrantError::Storage(error) => error.into(),
        }
    }
}

/// Audits a refused grant change (a denial), and passes the error on.
async fn audited(
    state: &AppState,
    caller: &Caller,
    request: &HttpRequest,
    operation: &str,
    object: &str,
    error: GrantError,
) -> ApiError {
    if let GrantError::Forbidden(reason) = &error {
        let event = Event::new(&caller.user, operation, "denied")
            .object(object)
            .request(request_id(request))
            .details(json!({ "reason": reason }));
        state.audit.record(event).await;
    }
    error.into()
}

async fn grant(
    state: web::Data<AppState>,
    caller: web::ReqData<Caller>,
    change: web::Json<GrantChange>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let target = match state
        .access
        .grant(&caller, &change, request_id(&request))
        .await
    {
        Ok(target) => target,
        Err(error) => {
            return Err(audited(&state, &caller, &request, "grant", &change.object, error).await)
        }
    };
    tracing::info!(object = %target, identity = %change.identity, operations = ?change.operations, by = %caller.user, "granted");
    Ok(HttpResponse::Ok().json(
        json!({ "object": target, "identity": change.identity, "granted": change.operations }),
    ))
}

async fn revoke(
    state: web::Data<AppState>,
    caller: web::ReqData<Caller>,
    change: web::Json<GrantChange>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let removed = match state
        .access
        .revoke(&caller, &change, request_id(&request))
        .await
    {
        Ok(removed) => removed,
        Err(error) => {
            return Err(audited(
                &state,
                &caller,
                &request,
                "revoke-grant",
                &change.object,
                error,
            )
            .await)
        }
    };
    tracing::info!(object = %change.object, identity = %change.identity, operations = ?change.operations, removed, by = %caller.user, "grants revoked");
    Ok(HttpResponse::Ok()
        .json(json!({ "object": change.object, "identity": change.identity, "removed": removed })))
}

async fn list(
    state: web::Data<AppState>,
    caller: web::ReqData<Caller>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.access.grants_on(&caller, &id).await?))
}

async fn owned(
    state: web::Data<AppState>,
    caller: web::ReqData<Caller>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.access.owned(&caller).await?))
}

async fn obtained(
    state: web::Data<AppState>,
    caller: web::ReqData<Caller>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.access.obtained(&caller).await?))
}

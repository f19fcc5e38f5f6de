//! The authentication gate in front of every route but the load balancer's health
//! check: it resolves the caller (bearer token, else client certificate) and stores it
//! in the request, or answers 401.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, ResponseError};

use super::caller::{Caller, Credential};
use super::token_format;
use super::verifier::AuthError;
use crate::access::user_name_problem;
use crate::audit::Event;
use crate::http::ApiError;
use crate::http::RequestId;
use crate::listen::PeerCommonName;
use crate::state::AppState;
use hyok_db::Role;

pub async fn require_caller(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(state) = request.app_data::<web::Data<AppState>>().cloned() else {
        return Err(actix_web::error::ErrorInternalServerError(
            "application state missing",
        ));
    };
    match identify(&request, &state).await {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            Ok(next.call(request).await?.map_into_left_body())
        }
        Err(error) => {
            record_failure(&state, &request, &error).await;
            let response = ApiError::from(error).error_response();
            Ok(request.into_response(response).map_into_right_body())
        }
    }
}

async fn identify(request: &ServiceRequest, state: &AppState) -> Result<Caller, AuthError> {
    if let Some(header) = request
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
    {
        let token = header
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or(AuthError::Rejected)?;
        return state.tokens.authenticate(token.trim()).await;
    }
    let Some(PeerCommonName(name)) = request.conn_data::<PeerCommonName>() else {
        return Err(AuthError::Missing);
    };
    let name = name
        .as_ref()
        .map_err(|why| AuthError::Certificate(why.clone()))?;
    caller_of_certificate(state, name).await
}

/// The caller a verified client certificate names (its subject CN is a user name; with
/// `[auth] auto_create_cert_users`, an unknown name becomes a new user).
pub async fn caller_of_certificate(state: &AppState, name: &str) -> Result<Caller, AuthError> {
    if let Some(problem) = user_name_problem(name) {
        tracing::warn!(certificate_cn = %name, "a client certificate whose CN {problem} is refused");
        return Err(AuthError::Certificate(format!(
            "the client certificate's CN {name:?} {problem}; no user may have it"
        )));
    }
    let user = match state.db.user(name).await? {
        Some(user) => user,
        None if state.config.auth.auto_create_cert_users => {
            match state.db.create_user(name, Role::User).await {
                Ok(user) => user,
                Err(hyok_db::Error::AlreadyExists(_)) => {
                    state.db.user(name).await?.ok_or(AuthError::Rejected)?
                }
                Err(error) => return Err(error.into()),
            }
        }
        None => {
            tracing::info!(certificate_cn = %name, "client certificate names no user");
            return Err(AuthError::Rejected);
        }
    };
    Ok(Caller {
        user: user.name,
        role: user.role,
        credential: Credential::ClientCertificate,
    })
}

/// Audits a refused authentication, summarized per second, source and reason (never the
/// secret; the token id and path only in the log, since whoever sends them chooses them).
async fn record_failure(state: &AppState, request: &ServiceRequest, error: &AuthError) {
    if matches!(error, AuthError::Storage(_) | AuthError::Hashing(_)) {
        return;
    }
    let presented = request
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let token_id = presented
        .and_then(token_format::parse)
        .map(|(id, _)| id.to_string());
    let certificate = request
        .conn_data::<PeerCommonName>()
        .and_then(|PeerCommonName(name)| name.clone().ok());
    let source = request.peer_addr().map(|address| address.ip().to_string());
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.clone());
    tracing::info!(request_id, source, token_id, path = request.path(), reason = %error, "authentication refused");
    let details = serde_json::json!({
        "reason": error.to_string(),
        "source": source,
        "certificate_cn": certificate,
    });
    let event = Event::new("-", "authenticate", "denied")
        .request(request_id)
        .details(details);
    state.audit.record_failed_authentication(event).await;
}

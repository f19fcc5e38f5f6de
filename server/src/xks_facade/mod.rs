//! The AWS XKS facade on the HTTP(S) listener: the routes under `aws_xks_uri_prefix`
//! (served only with `aws_xks_enable = true`), hyok-xks's pipeline with hyok's keys,
//! grants and keystore behind it, and one audit entry per call.

mod backend;
mod credentials;
mod gcm;

use std::time::SystemTime;

use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use serde_json::json;

pub use credentials::{reload_credentials, service_for};

use hyok_xks::ErrorKind;

use crate::access::{Identities, KEY_STORE_PREFIX};
use crate::audit::Event;
use crate::http::{request_id, LoggedCaller};
use crate::state::AppState;
use backend::HyokBackend;

/// Registers the XKS scope (call only when XKS is enabled).
pub fn routes(config: &mut web::ServiceConfig, prefix: &str) {
    config.service(web::scope(prefix).default_service(web::to(handle)));
}

async fn handle(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Some(xks) = state.xks.as_ref() else {
        return HttpResponse::NotFound().finish();
    };
    let headers: Vec<(&str, &str)> = request
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
        .collect();
    let xks_request = hyok_xks::Request {
        method: request.method().as_str(),
        path: request.path(),
        query: request.query_string(),
        headers: &headers,
        body: &body,
    };
    let backend = HyokBackend {
        state: &state,
        store: &state.config.aws_xks_config.aws_xks_store_name,
    };
    let response = xks.handle(&xks_request, &backend, SystemTime::now()).await;
    record(&state, &request, &response).await;
    HttpResponse::build(
        actix_web::http::StatusCode::from_u16(response.status)
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR),
    )
    .content_type("application/json")
    .body(response.body)
}

/// One audit entry per XKS call (a key-use event: group-committed, or summarized), naming
/// the identities the request carried: the key store, the AWS principal and the service.
async fn record(state: &AppState, request: &HttpRequest, response: &hyok_xks::Response) {
    let call = &response.call;
    let operation = call
        .operation
        .map_or("unknown", |operation| operation.as_str());
    let kind = response.error.as_ref().map(|error| error.kind);
    let result = match kind {
        None => "ok",
        Some(ErrorKind::AuthenticationFailed | ErrorKind::AccessDenied) => "denied",
        Some(_) => "failed",
    };
    // Every call whose signature verified is the key store's; the request log names it.
    let caller = if kind == Some(ErrorKind::AuthenticationFailed) {
        "-".to_string()
    } else {
        let store = &state.config.aws_xks_config.aws_xks_store_name;
        let identities = Identities::of_xks_request(
            store,
            call.aws_principal_arn.as_deref().unwrap_or_default(),
            call.kms_via_service.as_deref(),
        );
        request
            .extensions_mut()
            .insert(LoggedCaller(format!("{KEY_STORE_PREFIX}{store}")));
        identities.to_string()
    };
    let mut details = json!({ "kmsRequestId": call.kms_request_id, "status": response.status });
    if let Some(error) = &response.error {
        details["error"] = json!({ "errorName": error.kind.name(), "errorMessage": error.message });
    }
    let mut event = Event::new(&caller, &format!("xks-{operation}"), result)
        .request(request_id(request))
        .details(details);
    if let Some(key_id) = &call.key_id {
        event = event.object(key_id);
    }
    state.audit.record_key_use(event).await;
}

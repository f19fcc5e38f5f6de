//! One log line per request: id, method, path, status, caller and duration. The id is
//! also returned in `x-request-id` so that a client's report can be found in the log.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::HttpMessage;

use crate::auth::Caller;

static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

/// The request's id, for handlers that record it (audit).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Who a handler found the caller to be, on routes without a hyok user (XKS: the key
/// store's SigV4 identity), for the request's log line.
#[derive(Debug, Clone)]
pub struct LoggedCaller(pub String);

/// The id of `request`, if the request log gave it one.
pub fn request_id(request: &actix_web::HttpRequest) -> Option<String> {
    request
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.clone())
}

/// A per-process random prefix keeps ids unique across restarts and nodes.
fn process_prefix() -> &'static str {
    static PREFIX: OnceLock<String> = OnceLock::new();
    PREFIX.get_or_init(|| {
        let mut bytes = [0u8; 4];
        let _ = getrandom::getrandom(&mut bytes);
        hex::encode(bytes)
    })
}

pub async fn log_request(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let request_id = format!(
        "{}-{}",
        process_prefix(),
        NEXT_REQUEST.fetch_add(1, Ordering::Relaxed)
    );
    request
        .extensions_mut()
        .insert(RequestId(request_id.clone()));
    let method = request.method().to_string();
    let path = request.path().to_string();
    let mut response = next.call(request).await?;
    let caller = {
        let extensions = response.request().extensions();
        extensions
            .get::<Caller>()
            .map(|caller| caller.user.clone())
            .or_else(|| extensions.get::<LoggedCaller>().map(|c| c.0.clone()))
    };
    tracing::info!(
        target: "hyok::request",
        request_id = %request_id,
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        caller = caller.as_deref().unwrap_or("-"),
        // Whole microseconds, so that the line shows 2.224 rather than 2.2223949999999997.
        duration_ms = started.elapsed().as_micros() as f64 / 1000.0,
        "request"
    );
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("x-request-id"), value);
    }
    Ok(response)
}

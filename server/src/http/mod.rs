//! The HTTP(S) surface: which routes exist, which need a caller, and the JSON shapes of
//! the admin API and the health check.

mod access;
mod admin_audit;
mod admin_keystore;
mod admin_tokens;
mod admin_users;
mod early_answer;
mod error;
mod health;
mod request_log;

use actix_web::middleware::from_fn;
use actix_web::web;

pub use early_answer::answer_early_errors_in_full;
pub use error::ApiError;

/// Registers every route on an actix `App`. Under the XKS prefix: the XKS routes
/// (signed with SigV4, not authenticated by token) when XKS is enabled, else a plain 404.
pub fn routes(config: &mut web::ServiceConfig, xks_prefix: &str, xks_enabled: bool) {
    config.route("/health", web::get().to(health::health));
    if xks_enabled {
        crate::xks_facade::routes(config, xks_prefix);
    } else {
        config.service(
            web::scope(xks_prefix).default_service(web::to(actix_web::HttpResponse::NotFound)),
        );
    }
    config.service(
        web::scope("")
            .wrap(from_fn(crate::auth::require_caller))
            .configure(admin_users::routes)
            .configure(admin_tokens::routes)
            .configure(admin_keystore::routes)
            .configure(access::routes)
            .configure(admin_audit::routes)
            .configure(crate::kmip_ops::routes)
            .default_service(web::to(not_found)),
    );
}

pub use request_log::{log_request, request_id, LoggedCaller, RequestId};

async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound("no such route".into()))
}

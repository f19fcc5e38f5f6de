//! `/admin/audit`: verify every chain, read the latest entries, export a time range
//! (admins only). Entries are JSON objects, one per line in the CLI's output.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::admin_users::require_admin;
use super::ApiError;
use crate::auth::Caller;
use crate::state::AppState;

const MAX_PAGE: i64 = 10_000;

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/admin/audit/verify", web::get().to(verify))
        .route("/admin/audit/tail", web::get().to(tail))
        .route("/admin/audit/export", web::get().to(export));
}

#[derive(Deserialize)]
struct Page {
    /// Only entries with a greater id.
    after: Option<i64>,
    /// Only entries at or after this time (Unix ms).
    since: Option<i64>,
    limit: Option<i64>,
}

impl Page {
    fn limit(&self, default: i64) -> i64 {
        self.limit.unwrap_or(default).clamp(1, MAX_PAGE)
    }
}

async fn verify(
    state: web::Data<AppState>,
    caller: web::ReqData<Caller>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&caller)?;
    let verification = state.audit.verify().await?;
    let ok = verification.breaches.is_empty();
    Ok(HttpResponse::Ok().json(json!({ "ok": ok, "verification": verification })))
}

async fn tail(
    state: web::Data<AppState>,
    caller: web::ReqData<Caller>,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&caller)?;
    let entries = match page.after {
        Some(after) => state.db.audit_after(after, page.limit(1000)).await?,
        None => state.db.audit_last(page.limit(20)).await?,
    };
    Ok(HttpResponse::Ok().json(entries))
}

async fn export(
    state: web::Data<AppState>,
    caller: web::ReqData<Caller>,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&caller)?;
    let entries = state
        .db
        .audit_since(
            page.since.unwrap_or(0),
            page.after.unwrap_or(0),
            page.limit(1000),
        )
        .await?;
    Ok(HttpResponse::Ok().json(entries))
}

//! `/admin/tokens`: issue, list and revoke API tokens (admins only). A token's secret
//! appears once, in the response that issues it.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::admin_users::require_admin;
use super::{request_id, ApiError};
use crate::audit::Actor;
use crate::auth::Caller;
use crate::state::AppState;

/// Ten years: the longest lifetime a token may be given.
const MAX_LIFETIME_SECONDS: u64 = 10 * 366 * 24 * 3600;
const MAX_LABEL_CHARS: usize = 200;

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/admin/tokens", web::get().to(list))
        .route("/admin/tokens", web::post().to(create))
        .route("/admin/tokens/{id}", web::delete().to(revoke));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    user: String,
    label: Option<String>,
    expires_in_seconds: Option<u64>,
}

#[derive(Deserialize)]
struct ListQuery {
    user: Option<String>,
}

async fn list(
    state: web::Data<AppState>,
    caller: web::ReqData<Caller>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&caller)?;
    Ok(HttpResponse::Ok().json(state.db.tokens(query.user.as_deref()).await?))
}

async fn create(
    state: web::Data<AppState>,
    caller: web::ReqData<Caller>,
    body: web::Json<NewToken>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    require_admin(&caller)?;
    if body
        .label
        .as_ref()
        .is_some_and(|label| label.chars().count() > MAX_LABEL_CHARS)
    {
        return Err(ApiError::BadRequest(format!(
            "label: at most {MAX_LABEL_CHARS} characters"
        )));
    }
    let expires_at = match body.expires_in_seconds {
        Some(0) => {
            return Err(ApiError::BadRequest(
                "expires_in_seconds must be positive".into(),
            ))
        }
        Some(seconds) if seconds > MAX_LIFETIME_SECONDS => {
            return Err(ApiError::BadRequest(format!(
                "expires_in_seconds: at most {MAX_LIFETIME_SECONDS}"
            )))
        }
        Some(seconds) => {
            Some(hyok_db::now_millis() + i64::try_from(seconds * 1000).unwrap_or(i64::MAX))
        }
        None => None,
    };
    if state.db.user(&body.user).await?.is_none() {
        return Err(ApiError::NotFound(format!(
            "user {:?} not found",
            body.user
        )));
    }
    let issued = state
        .tokens
        .issue(
            &body.user,
            body.label.as_deref(),
            expires_at,
            &Actor::new(&caller.user, request_id(&request)),
        )
        .await?;
    tracing::info!(token = %issued.id, user = %body.user, by = %caller.user, "token issued");
    Ok(HttpResponse::Created().json(json!({
        "id": issued.id,
        "token": issued.token().as_str(),
        "user": body.user,
        "expires_at": expires_at,
    })))
}

async fn revoke(
    state: web::Data<AppState>,
    caller: web::ReqData<Caller>,
    id: web::Path<String>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    require_admin(&caller)?;
    state
        .tokens
        .revoke(&id, &Actor::new(&caller.user, request_id(&request)))
        .await?;
    tracing::info!(token = %id, by = %caller.user, "token revoked");
    Ok(HttpResponse::NoContent().finish())
}

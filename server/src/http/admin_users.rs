//! `/admin/users`: list and create users (admins only).

use actix_web::{web, HttpRequest, HttpResponse};
use hyok_db::{Change, Role};
use serde::Deserialize;

use super::{request_id, ApiError};
use crate::access::user_name_problem;
use crate::audit::Actor;
use crate::auth::Caller;
use crate::state::AppState;

pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/admin/users", web::get().to(list))
        .route("/admin/users", web::post().to(create));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    name: String,
    #[serde(default = "default_role")]
    role: Role,
}

fn default_role() -> Role {
    Role::User
}

/// Only admins may pass.
pub fn require_admin(caller: &Caller) -> Result<(), ApiError> {
    if caller.is_admin() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "user {:?} is not an admin; this needs the admin role",
            caller.user
        )))
    }
}

/// A user name: 1 to 128 printable characters, no surrounding spaces, not `*`, and not in
/// a namespace that XKS identities use (`xks:`, `aws-principal:`, `aws-service:`).
pub fn check_user_name(name: &str) -> Result<(), ApiError> {
    match user_name_problem(name) {
        Some(problem) => Err(ApiError::BadRequest(format!(
            "user name {name:?} {problem}"
        ))),
        None => Ok(()),
    }
}

async fn list(
    state: web::Data<AppState>,
    caller: web::ReqData<Caller>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&caller)?;
    Ok(HttpResponse::Ok().json(state.db.users().await?))
}

async fn create(
    state: web::Data<AppState>,
    caller: web::ReqData<Caller>,
    body: web::Json<NewUser>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    require_admin(&caller)?;
    check_user_name(&body.name)?;
    let event = Actor::new(&caller.user, request_id(&request))
        .event("create-user")
        .details(serde_json::json!({ "user": body.name, "role": body.role }));
    let change = Change::CreateUser {
        name: &body.name,
        role: body.role,
    };
    state.audit.commit(&[change], &[event]).await?;
    let user = state
        .db
        .user(&body.name)
        .await?
        .ok_or_else(|| ApiError::Internal("user vanished".into()))?;
    tracing::info!(user = %user.name, role = user.role.as_str(), by = %caller.user, "user created");
    Ok(HttpResponse::Created().json(user))
}

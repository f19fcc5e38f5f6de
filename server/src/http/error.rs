//! Errors as the HTTP API returns them: a status and `{"error": "..."}` with a message
//! the caller can act on. Internal details go to the log, not to the client.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::auth::AuthError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("internal error; see the server log")]
    Internal(String),
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(detail) = self {
            tracing::error!(error = %detail, "request failed");
        }
        let mut response = HttpResponse::build(self.status_code());
        if matches!(self, ApiError::Unauthorized(_)) {
            response.insert_header(("WWW-Authenticate", "Bearer"));
        }
        response.json(serde_json::json!({ "error": self.to_string() }))
    }
}

impl From<hyok_db::Error> for ApiError {
    fn from(error: hyok_db::Error) -> ApiError {
        match error {
            hyok_db::Error::AlreadyExists(what) => {
                ApiError::Conflict(format!("{what} already exists"))
            }
            hyok_db::Error::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            taken @ hyok_db::Error::NameTaken(_) => ApiError::Conflict(taken.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> ApiError {
        match error {
            AuthError::Missing | AuthError::Rejected | AuthError::Certificate(_) => {
                ApiError::Unauthorized(error.to_string())
            }
            AuthError::Storage(error) => error.into(),
            AuthError::Hashing(detail) => ApiError::Internal(detail),
        }
    }
}

//! The authenticated caller of a request, as every handler sees it.

use hyok_db::Role;
use serde::Serialize;

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Credential {
    Token { id: String },
    ClientCertificate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Caller {
    pub user: String,
    pub role: Role,
    pub credential: Credential,
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

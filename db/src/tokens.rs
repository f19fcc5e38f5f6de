//! API tokens: rows keyed by the token id, holding only an argon2id hash of the secret,
//! with expiry, revocation and last use.

use serde::Serialize;

use crate::audit::AuditEntry;
use crate::changes::Change;
use crate::error::{query_error, Error, Result};
use crate::pool::{on_pool, on_writer};
use crate::users::Role;
use crate::Db;

/// A token to store. `secret_hash` is an argon2id PHC string, never the secret.
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    pub id: &'a str,
    pub user_name: &'a str,
    pub secret_hash: &'a str,
    pub label: Option<&'a str>,
    pub expires_at: Option<i64>,
}

/// A stored token with its owner's role. Serializing it leaves the hash out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct TokenRecord {
    pub id: String,
    pub user_name: String,
    #[sqlx(rename = "role")]
    #[serde(skip)]
    pub role_text: String,
    #[serde(skip)]
    pub secret_hash: String,
    pub label: Option<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

impl TokenRecord {
    pub fn role(&self) -> Role {
        Role::parse(&self.role_text).unwrap_or(Role::User)
    }
}

const SELECT_TOKEN: &str =
    "SELECT t.id, t.user_name, u.role, t.secret_hash, t.label, t.created_at, \
     t.expires_at, t.revoked_at, t.last_used_at FROM tokens t JOIN users u ON u.name = t.user_name";

impl Db {
    pub async fn insert_token(&self, token: &NewToken<'_>) -> Result<()> {
        self.insert_token_audited(token, &[]).await
    }

    /// Stores a token together with the audit entries that record it.
    pub async fn insert_token_audited(
        &self,
        token: &NewToken<'_>,
        audit: &[AuditEntry],
    ) -> Result<()> {
        self.apply(&[Change::InsertToken(token.clone())], audit)
            .await
            .map(|_| ())
    }

    pub async fn token(&self, id: &str) -> Result<Option<TokenRecord>> {
        let sql = format!("{SELECT_TOKEN} WHERE t.id = $1");
        on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)
        .map_err(query_error("read a token"))
    }

    /// All tokens, or those of one user, newest first.
    pub async fn tokens(&self, user_name: Option<&str>) -> Result<Vec<TokenRecord>> {
        let sql = format!(
            "{SELECT_TOKEN} WHERE ($1 IS NULL OR t.user_name = $1) ORDER BY t.created_at DESC, t.id"
        );
        on_pool!(self, |pool| sqlx::query_as(&sql)
            .bind(user_name)
            .fetch_all(pool)
            .await)
        .map_err(query_error("list tokens"))
    }

    /// Marks a token revoked; revoking twice keeps the first time. `NotFound` if absent.
    pub async fn revoke_token(&self, id: &str) -> Result<()> {
        self.revoke_token_audited(id, &[]).await
    }

    /// Revokes a token together with the audit entries that record it.
    pub async fn revoke_token_audited(&self, id: &str, audit: &[AuditEntry]) -> Result<()> {
        if self.token(id).await?.is_none() {
            return Err(Error::NotFound(format!("token {id}")));
        }
        self.apply(&[Change::RevokeToken { id }], audit)
            .await
            .map(|_| ())
    }

    /// Replaces a token's stored secret hash (moving it to another hashing scheme).
    pub async fn rehash_token(&self, id: &str, secret_hash: &str) -> Result<()> {
        on_writer!(self, |pool| sqlx::query(
            "UPDATE tokens SET secret_hash = $2 WHERE id = $1"
        )
        .bind(id)
        .bind(secret_hash)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))
        .map_err(query_error("store a token's new secret hash"))?;
        Ok(())
    }

    pub async fn touch_token(&self, id: &str, at: i64) -> Result<()> {
        on_writer!(self, |pool| sqlx::query(
            "UPDATE tokens SET last_used_at = $2 WHERE id = $1"
        )
        .bind(id)
        .bind(at)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))
        .map_err(query_error("record a token's last use"))?;
        Ok(())
    }
}

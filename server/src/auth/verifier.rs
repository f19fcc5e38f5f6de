//! Verifying API tokens: the id finds the row, argon2id checks the secret once (on the
//! blocking pool), then a bounded cache keyed by id answers with a constant-time digest
//! comparison until its entry ages out or the token is revoked. Concurrent requests
//! presenting the same token when its entry has aged out wait for one verification
//! instead of each running argon2id (which stalled a busy client's every connection).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use hyok_db::{Change, Db, NewToken, Role};
use serde_json::json;

use crate::access::user_name_problem;
use crate::audit::{Actor, AuditLog};
use crate::gates::Gates;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::caller::{Caller, Credential};
use super::token_format::{self, IssuedToken};

/// At most this many verified tokens are remembered.
const CACHE_CAPACITY: usize = 10_000;
/// `last_used_at` is written at most this often per token.
const LAST_USED_RESOLUTION: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("missing credentials: send `Authorization: Bearer <token>` or a client certificate")]
    Missing,
    #[error("invalid, expired or revoked token")]
    Rejected,
    #[error("{0}")]
    Certificate(String),
    #[error("{0}")]
    Storage(#[from] hyok_db::Error),
    #[error("token hashing failed: {0}")]
    Hashing(String),
}

struct Verified {
    secret_digest: [u8; 32],
    user: String,
    role: Role,
    expires_at: Option<i64>,
    verified_at: Instant,
    last_recorded_use: Instant,
}

pub struct TokenVerifier {
    db: Db,
    audit: Option<Arc<AuditLog>>,
    cache_ttl: Duration,
    cache: Mutex<HashMap<String, Verified>>,
    /// Per presented token (id and secret digest) being verified, the gate its
    /// concurrent requests queue at.
    verifying: Gates,
}

impl TokenVerifier {
    pub fn new(db: Db, cache_ttl: Duration) -> TokenVerifier {
        TokenVerifier {
            db,
            audit: None,
            cache_ttl,
            cache: Mutex::new(HashMap::new()),
            verifying: Gates::default(),
        }
    }

    /// Issues a token for `user_name`; returns it (the only time the secret exists).
    pub async fn issue(
        &self,
        user_name: &str,
        label: Option<&str>,
        expires_at: Option<i64>,
        by: &Actor,
    ) -> Result<IssuedToken, AuthError> {
        let issued = IssuedToken::generate().map_err(|e| AuthError::Hashing(e.to_string()))?;
        let secret = issued.secret.clone();
        let hash = actix_web::rt::task::spawn_blocking(move || hash_secret(&secret))
            .await
            .map_err(|e| AuthError::Hashing(e.to_string()))??;
        let token = NewToken {
            id: &issued.id,
            user_name,
            secret_hash: &hash,
            label,
            expires_at,
        };
        match &self.audit {
            Some(audit) => {
                let details = json!({ "token_id": issued.id, "user": user_name, "label": label, "expires_at": expires_at });
                let event = by.event("issue-token").details(details);
                audit
                    .commit(&[Change::InsertToken(token)], &[event])
                    .await?;
            }
            None => self.db.insert_token(&token).await?,
        }
        Ok(issued)
    }

    /// Revokes a token everywhere this process looks, at once.
    pub async fn revoke(&self, id: &str, by: &Actor) -> Result<(), AuthError> {
        match &self.audit {
            Some(audit) => {
                if self.db.token(id).await?.is_none() {
                    return Err(hyok_db::Error::NotFound(format!("token {id}")).into());
                }
                let event = by.event("revoke-token").details(json!({ "token_id": id }));
                audit
                    .commit(&[Change::RevokeToken { id }], &[event])
                    .await?;
            }
            None => self.db.revoke_token(id).await?,
        }
        self.lock().remove(id);
        Ok(())
    }

    /// Records token issue and revocation in `audit`, in the same transaction.
    pub fn with_audit(mut self, audit: Arc<AuditLog>) -> TokenVerifier {
        self.audit = Some(audit);
        self
    }

    /// The caller a presented token stands for.
    pub async fn authenticate(&self, presented: &str) -> Result<Caller, AuthError> {
        let (id, secret) = token_format::parse(presented).ok_or(AuthError::Rejected)?;
        let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        let now = hyok_db::now_millis();
        if let Some(caller) = self.cached_caller(id, &digest, now).await {
            return Ok(caller);
        }
        let gate = format!("{id}:{}", hex::encode(digest));
        let verify_once = async {
            match self.cached_caller(id, &digest, now).await {
                Some(caller) => Ok(caller),
                None => self.verify(id, secret, digest, now).await,
            }
        };
        self.verifying.pass(&gate, verify_once).await
    }

    /// Checks `secret` against the stored hash of token `id` and caches the outcome.
    async fn verify(
        &self,
        id: &str,
        secret: &str,
        digest: [u8; 32],
        now: i64,
    ) -> Result<Caller, AuthError> {
        let record = self.db.token(id).await?.ok_or(AuthError::Rejected)?;
        if record.revoked_at.is_some() || record.expires_at.is_some_and(|at| at <= now) {
            return Err(AuthError::Rejected);
        }
        let (secret, hash) = (
            zeroize::Zeroizing::new(secret.to_string()),
            record.secret_hash.clone(),
        );
        let matches = actix_web::rt::task::spawn_blocking(move || verify_secret(&secret, &hash))
            .await
            .map_err(|e| AuthError::Hashing(e.to_string()))?;
        if !matches {
            return Err(AuthError::Rejected);
        }
        if let Some(problem) = user_name_problem(&record.user_name) {
            // Made before such names were reserved: it must not act as an XKS identity.
            tracing::warn!(token = id, user = %record.user_name, "a token of a user whose name {problem} is refused; create a user with another name");
            return Err(AuthError::Rejected);
        }
        self.record_use(id, now).await;
        let role = record.role();
        if !self.cache_ttl.is_zero() {
            let mut cache = self.lock();
            if cache.len() >= CACHE_CAPACITY {
                let ttl = self.cache_ttl;
                cache.retain(|_, entry| entry.verified_at.elapsed() < ttl);
                if cache.len() >= CACHE_CAPACITY {
                    cache.clear();
                }
            }
            let entry = Verified {
                secret_digest: digest,
                user: record.user_name.clone(),
                role,
                expires_at: record.expires_at,
                verified_at: Instant::now(),
                last_recorded_use: Instant::now(),
            };
            cache.insert(id.to_string(), entry);
        }
        Ok(token_caller(id, record.user_name, role))
    }

    async fn cached_caller(&self, id: &str, digest: &[u8; 32], now: i64) -> Option<Caller> {
        let (caller, record_use) = {
            let mut cache = self.lock();
            let entry = cache.get_mut(id)?;
            let fresh = entry.verified_at.elapsed() < self.cache_ttl
                && entry.expires_at.is_none_or(|at| at > now);
            if !fresh || !bool::from(entry.secret_digest.ct_eq(digest)) {
                return None;
            }
            let record_use = entry.last_recorded_use.elapsed() >= LAST_USED_RESOLUTION;
            if record_use {
                entry.last_recorded_use = Instant::now();
            }
            (token_caller(id, entry.user.clone(), entry.role), record_use)
        };
        if record_use {
            self.record_use(id, now).await;
        }
        Some(caller)
    }

    /// Writes the token's last use. Not part of the check: a busy writer must not fail
    /// (and, behind the gate, serialize) the requests of a valid token.
    async fn record_use(&self, id: &str, now: i64) {
        if let Err(error) = self.db.touch_token(id, now).await {
            tracing::warn!(token = id, %error, "could not record a token's last use");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Verified>> {
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn token_caller(id: &str, user: String, role: Role) -> Caller {
    Caller {
        user,
        role,
        credential: Credential::Token { id: id.to_string() },
    }
}

/// An argon2id PHC string for `secret` (default parameters: 19 MiB, 2 passes).
fn hash_secret(secret: &str) -> Result<String, AuthError> {
    let mut salt_bytes = [0u8; 16];
    getrandom::getrandom(&mut salt_bytes).map_err(|e| AuthError::Hashing(e.to_string()))?;
    let salt =
        SaltString::encode_b64(&salt_bytes).map_err(|e| AuthError::Hashing(e.to_string()))?;
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| AuthError::Hashing(e.to_string()))
}

fn verify_secret(secret: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(secret.as_bytes(), &hash)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use hyok_db::testing::TestDatabase;

    use super::*;

    /// Many requests presenting a token at once while nothing is cached (as when its
    /// entry ages out under load) are all answered from one verification, and a wrong
    /// secret for the same token id among them is still refused.
    #[actix_web::test]
    async fn concurrent_requests_with_one_token_share_its_verification() {
        let database = TestDatabase::sqlite();
        let db = database.open().await;
        db.create_user("alice", Role::User).await.unwrap();
        let verifier = Arc::new(TokenVerifier::new(db, Duration::from_secs(60)));
        let issued = verifier
            .issue("alice", None, None, &Actor::new("admin", None))
            .await
            .unwrap();
        let token = issued.token().to_string();
        let (id_part, secret) = token.rsplit_once('_').unwrap();
        let forged = format!("{id_part}_{}", "0".repeat(secret.len()));
        let requests: Vec<_> = (0..17)
            .map(|n| {
                let (verifier, presented) = (
                    verifier.clone(),
                    if n == 8 {
                        forged.clone()
                    } else {
                        token.clone()
                    },
                );
                actix_web::rt::spawn(async move { verifier.authenticate(&presented).await })
            })
            .collect();
        for (n, request) in requests.into_iter().enumerate() {
            match (n, request.await.unwrap()) {
                (8, outcome) => assert!(matches!(outcome, Err(AuthError::Rejected)), "{n}"),
                (_, outcome) => assert_eq!(outcome.unwrap().user, "alice", "{n}"),
            }
        }
        assert_eq!(verifier.verifying.len(), 0, "no gate left behind");
    }
}

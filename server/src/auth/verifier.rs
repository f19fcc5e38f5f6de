//! Verifying API tokens: the id finds the row, and the secret (256 random bits) is checked
//! against its HMAC-SHA-256 under the token key (a key of hyok's own that the keystore
//! protects), compared in constant time. Tokens issued before that are stored as argon2id
//! hashes: they are verified at most two at a time (on the blocking pool), and moved to
//! the keyed hash on their first successful use. A bounded cache keyed by id then answers
//! until its entry ages out or the token is revoked; concurrent requests presenting the
//! same token wait for one verification.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use argon2::Argon2;
use hmac::{Hmac, Mac};
use hyok_db::{Change, Db, NewToken, Role};
use serde_json::json;

use crate::access::user_name_problem;
use crate::audit::{Actor, AuditLog};
use crate::gates::Gates;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

use super::caller::{Caller, Credential};
use super::token_format::{self, IssuedToken};

/// At most this many verified tokens are remembered.
const CACHE_CAPACITY: usize = 10_000;
/// `last_used_at` is written at most this often per token.
const LAST_USED_RESOLUTION: Duration = Duration::from_secs(60);
/// How a keyed hash is stored: this prefix, then the MAC in hex.
const KEYED: &str = "hmac-sha256$";
/// Argon2id verifications of tokens issued before the keyed hash, at once.
const LEGACY_AT_ONCE: usize = 2;
/// The longest a request waits for one of them.
const LEGACY_WAIT: Duration = Duration::from_secs(2);

/// The key of the token hashes: a key of hyok's own, bound to `hyok-token-key`.
pub const TOKEN_KEY: crate::keystore::ProtectedKey = crate::keystore::ProtectedKey {
    setting: "token_key",
    binding: "hyok-token-key",
    what: "the token key",
};

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
    key: Zeroizing<[u8; 32]>,
    legacy: Semaphore,
    audit: Option<Arc<AuditLog>>,
    cache_ttl: Duration,
    cache: Mutex<HashMap<String, Verified>>,
    /// Per presented token (id and secret digest) being verified, the gate its
    /// concurrent requests queue at.
    verifying: Gates,
}

impl TokenVerifier {
    pub fn new(db: Db, key: Zeroizing<[u8; 32]>, cache_ttl: Duration) -> TokenVerifier {
        TokenVerifier {
            db,
            key,
            legacy: Semaphore::new(LEGACY_AT_ONCE),
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
        let hash = self.keyed_hash(&issued.id, &issued.secret);
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
        let matches = if record.secret_hash.starts_with(KEYED) {
            let expected = self.keyed_hash(id, secret);
            bool::from(expected.as_bytes().ct_eq(record.secret_hash.as_bytes()))
        } else {
            self.verify_legacy(id, secret, &record.secret_hash).await?
        };
        if !matches {
            return Err(AuthError::Rejected);
        }
        if let Some(problem) = user_name_problem(&record.user_name) {
            // Made before such names were reserved: it must not act as an XKS identity.
            tracing::warn!(token = id, user = %record.user_name, "a token of a user whose name {problem} is refused; create a user with another name");
            return Err(AuthError::Rejected);
        }
        self.record_token_use(id, now).await;
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

    /// What is stored for token `id` with `secret`.
    fn keyed_hash(&self, id: &str, secret: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&*self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(b"hyok-token\0");
        mac.update(id.as_bytes());
        mac.update(b"\0");
        mac.update(secret.as_bytes());
        format!("{KEYED}{}", hex::encode(mac.finalize().into_bytes()))
    }

    /// Checks `secret` against an argon2id hash of before the keyed hash, at most
    /// [`LEGACY_AT_ONCE`] at a time, and on success stores the keyed hash instead.
    async fn verify_legacy(&self, id: &str, secret: &str, phc: &str) -> Result<bool, AuthError> {
        let Ok(Ok(_permit)) = tokio::time::timeout(LEGACY_WAIT, self.legacy.acquire()).await else {
            tracing::warn!(
                token = id,
                "too many verifications of argon2id-hashed tokens at once; refused"
            );
            return Err(AuthError::Rejected);
        };
        let (owned, hash) = (Zeroizing::new(secret.to_string()), phc.to_string());
        let matches = actix_web::rt::task::spawn_blocking(move || verify_argon2(&owned, &hash))
            .await
            .map_err(|e| AuthError::Hashing(e.to_string()))?;
        if matches {
            let keyed = self.keyed_hash(id, secret);
            match self.db.rehash_token(id, &keyed).await {
                Ok(()) => tracing::info!(token = id, "token moved from argon2id to the keyed hash"),
                Err(error) => {
                    tracing::warn!(token = id, %error, "could not store a token's keyed hash; it stays argon2id for now")
                }
            }
        }
        Ok(matches)
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
            self.record_token_use(id, now).await;
        }
        Some(caller)
    }

    /// Writes the token's last use. Not part of the check: a busy writer must not fail
    /// (and, behind the gate, serialize) the requests of a valid token.
    async fn record_token_use(&self, id: &str, now: i64) {
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

/// Whether `secret` matches an argon2id PHC string (tokens issued before the keyed hash).
fn verify_argon2(secret: &str, phc: &str) -> bool {
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
        let verifier = Arc::new(TokenVerifier::new(
            db,
            Zeroizing::new([7; 32]),
            Duration::from_secs(60),
        ));
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

    /// Tokens are stored as an HMAC under the token key: the row alone, or another
    /// key, verifies nothing.
    #[actix_web::test]
    async fn secrets_are_stored_as_a_keyed_hash() {
        let database = TestDatabase::sqlite();
        let db = database.open().await;
        db.create_user("alice", Role::User).await.unwrap();
        let verifier = TokenVerifier::new(db.clone(), Zeroizing::new([1; 32]), Duration::ZERO);
        let issued = verifier
            .issue("alice", None, None, &Actor::new("admin", None))
            .await
            .unwrap();
        let stored = db.token(&issued.id).await.unwrap().unwrap().secret_hash;
        assert!(
            stored.starts_with(KEYED) && stored.len() == KEYED.len() + 64,
            "{stored}"
        );
        let token = issued.token().to_string();
        assert_eq!(verifier.authenticate(&token).await.unwrap().user, "alice");
        let other_key = TokenVerifier::new(db, Zeroizing::new([2; 32]), Duration::ZERO);
        assert!(matches!(
            other_key.authenticate(&token).await,
            Err(AuthError::Rejected)
        ));
    }

    /// A token stored as argon2id (issued by an earlier version) still works, and its
    /// first successful use moves it to the keyed hash; a wrong secret moves nothing.
    #[actix_web::test]
    async fn argon2id_tokens_move_to_the_keyed_hash_on_first_use() {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let database = TestDatabase::sqlite();
        let db = database.open().await;
        db.create_user("alice", Role::User).await.unwrap();
        let issued = IssuedToken::generate().unwrap();
        let salt = SaltString::encode_b64(b"sixteen byte salt").unwrap();
        let phc = Argon2::default()
            .hash_password(issued.secret.as_bytes(), &salt)
            .unwrap()
            .to_string();
        let token = hyok_db::NewToken {
            id: &issued.id,
            user_name: "alice",
            secret_hash: &phc,
            label: None,
            expires_at: None,
        };
        db.insert_token(&token).await.unwrap();
        let verifier = TokenVerifier::new(db.clone(), Zeroizing::new([1; 32]), Duration::ZERO);
        let presented = issued.token().to_string();
        let (id_part, secret) = presented.rsplit_once('_').unwrap();
        let forged = format!("{id_part}_{}", "0".repeat(secret.len()));
        assert!(matches!(
            verifier.authenticate(&forged).await,
            Err(AuthError::Rejected)
        ));
        assert_eq!(
            db.token(&issued.id).await.unwrap().unwrap().secret_hash,
            phc
        );
        assert_eq!(
            verifier.authenticate(&presented).await.unwrap().user,
            "alice"
        );
        let moved = db.token(&issued.id).await.unwrap().unwrap().secret_hash;
        assert!(moved.starts_with(KEYED), "{moved}");
        assert_eq!(
            verifier.authenticate(&presented).await.unwrap().user,
            "alice"
        );
        assert!(matches!(
            verifier.authenticate(&forged).await,
            Err(AuthError::Rejected)
        ));
    }
}

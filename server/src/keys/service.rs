//! The key service: create a key (random material from the OS generator, wrapped by the
//! master key for its unique id and version, then stored), and fetch a key's material
//! (cache first, else one keystore unwrap).

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use hyok_db::{Changed, Db, NewObject};
use hyok_kmip::enums::{CryptographicAlgorithm, ObjectType, State};
use serde_json::json;
use zeroize::Zeroizing;

use super::cache::{KeyCache, Material};
use super::records::RecordCache;
use crate::audit::{AuditLog, Event};
use crate::gates::Gates;
use crate::keystore::{KeystoreError, KeystoreHandle};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("object {0} not found")]
    NotFound(String),
    #[error("object {0} holds no key material")]
    NoMaterial(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    WrongState(String),
    /// A change the caller asked for and may not have, with the KMIP Result Reason that
    /// says why.
    #[error("{message}")]
    Refused {
        reason: hyok_kmip::enums::ResultReason,
        message: String,
    },
    #[error(transparent)]
    Keystore(#[from] KeystoreError),
    #[error(transparent)]
    Storage(#[from] hyok_db::Error),
}

/// A symmetric key to create.
pub struct NewSymmetricKey<'a> {
    pub owner: &'a str,
    pub algorithm: CryptographicAlgorithm,
    /// Its Cryptographic Length (see [`symmetric_key_bytes`]).
    pub bits: u32,
    pub names: &'a [String],
}

/// The bytes of key material a symmetric key of `algorithm` and Cryptographic Length
/// `bits` holds, or why there is no such key: AES, Camellia, ARIA and Twofish are 128,
/// 192 or 256 bits; Triple DES 112 or 168 (16 or 24 bytes with parity bits; 128 and 192
/// are taken as the same); DES 56 (8 bytes); ChaCha20 256; any other symmetric algorithm
/// (HMAC keys, Blowfish, IDEA, RC4, ...) a whole number of bytes from 8 to 4096 bits.
pub fn symmetric_key_bytes(algorithm: CryptographicAlgorithm, bits: u32) -> Result<usize, String> {
    use CryptographicAlgorithm as A;
    let fixed = |lengths: &[(u32, usize)]| {
        lengths
            .iter()
            .find(|(length, _)| *length == bits)
            .map(|(_, bytes)| *bytes)
            .ok_or_else(|| {
                let allowed: Vec<String> = lengths.iter().map(|(l, _)| l.to_string()).collect();
                format!(
                    "{algorithm} keys are {} bits, not {bits}",
                    allowed.join(", ")
                )
            })
    };
    match algorithm {
        A::AES | A::Camellia | A::ARIA | A::Twofish => fixed(&[(128, 16), (192, 24), (256, 32)]),
        A::DES3 => fixed(&[(112, 16), (128, 16), (168, 24), (192, 24)]),
        A::DES => fixed(&[(56, 8), (64, 8)]),
        A::ChaCha20 | A::ChaCha20Poly1305 => fixed(&[(256, 32)]),
        A::RSA
        | A::DSA
        | A::ECDSA
        | A::ECDH
        | A::ECMQV
        | A::DH
        | A::EC
        | A::Ed25519
        | A::Ed448
        | A::SM2
        | A::GOSTR34_10_2012
        | A::XMSS
        | A::SPHINCS_256
        | A::McEliece
        | A::McEliece_6960119
        | A::McEliece_8192128 => Err(format!(
            "{algorithm} is not a symmetric algorithm: create its keys with Create Key Pair"
        )),
        _ if bits.is_multiple_of(8) && (8..=4096).contains(&bits) => Ok(bits as usize / 8),
        _ => Err(format!(
            "{algorithm} keys are a whole number of bytes from 8 to 4096 bits, not {bits}"
        )),
    }
}

/// The KMIP Digest of key material: SHA-256 over the Raw key, in hex. (It identifies a
/// key without revealing it.)
pub fn digest(material: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(material))
}

pub struct KeyService {
    db: Db,
    keystore: KeystoreHandle,
    cache: KeyCache,
    /// Per key being unwrapped, the gate its concurrent callers queue at.
    unwrapping: Gates,
    records: RecordCache,
    rewrapping: AtomicBool,
    audit: Option<Arc<AuditLog>>,
}

impl KeyService {
    /// `cache` forgets a key's material when the key changes (the change feed of `db`).
    pub fn new(db: Db, keystore: KeystoreHandle, cache: KeyCache) -> KeyService {
        let forgetting = cache.clone();
        db.on_change(Arc::new(move |change| forgetting.forget(change)));
        KeyService {
            db,
            keystore,
            cache,
            unwrapping: Default::default(),
            records: RecordCache::off(),
            rewrapping: AtomicBool::new(false),
            audit: None,
        }
    }

    /// Records key creation in `audit`, in the same transaction.
    pub fn with_audit(mut self, audit: Arc<AuditLog>) -> KeyService {
        self.audit = Some(audit);
        self
    }

    /// Keeps the key records read for use (off unless set), forgotten when a key changes.
    pub fn with_record_cache(mut self, records: RecordCache) -> KeyService {
        let forgetting = records.clone();
        self.db
            .on_change(Arc::new(move |change| forgetting.forget(change)));
        self.records = records;
        self
    }

    /// The key records kept.
    pub fn records(&self) -> &RecordCache {
        &self.records
    }

    pub(super) fn audit(&self) -> Option<&AuditLog> {
        self.audit.as_deref()
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Set while a re-wrap after rotation runs in this process.
    pub fn rewrapping(&self) -> &AtomicBool {
        &self.rewrapping
    }

    pub fn keystore(&self) -> &KeystoreHandle {
        &self.keystore
    }

    pub fn cache(&self) -> &KeyCache {
        &self.cache
    }

    /// Creates an AES key (state PreActive) and returns its unique id.
    pub async fn create_symmetric(&self, key: &NewSymmetricKey<'_>) -> Result<String, KeyError> {
        self.create_symmetric_with(key, serde_json::Map::new())
            .await
    }

    /// [`KeyService::create_symmetric`], with more attributes to store (by attribute name).
    pub async fn create_symmetric_with(
        &self,
        key: &NewSymmetricKey<'_>,
        extra: serde_json::Map<String, serde_json::Value>,
    ) -> Result<String, KeyError> {
        let bytes = symmetric_key_bytes(key.algorithm, key.bits).map_err(KeyError::Invalid)?;
        let mut material = Zeroizing::new(vec![0u8; bytes]);
        getrandom::getrandom(&mut material)
            .map_err(|_| KeystoreError::Crypto("random generator"))?;
        let mut extra = extra;
        // The operating system's generator, which KMIP has no name for.
        extra.insert("RandomNumberGenerator".into(), json!("Unspecified"));
        self.store(key, material, extra, "create").await
    }

    /// Stores a symmetric key the client brings (KMIP Register); state PreActive.
    pub async fn register_symmetric(
        &self,
        key: &NewSymmetricKey<'_>,
        material: Zeroizing<Vec<u8>>,
        extra: serde_json::Map<String, serde_json::Value>,
    ) -> Result<String, KeyError> {
        let bytes = symmetric_key_bytes(key.algorithm, key.bits).map_err(KeyError::Invalid)?;
        if material.len() != bytes {
            return Err(KeyError::Invalid(format!(
                "a {}-bit {} key is {bytes} bytes; this one is {}",
                key.bits,
                key.algorithm,
                material.len()
            )));
        }
        self.store(key, material, extra, "register").await
    }

    async fn store(
        &self,
        key: &NewSymmetricKey<'_>,
        material: Zeroizing<Vec<u8>>,
        extra: serde_json::Map<String, serde_json::Value>,
        operation: &str,
    ) -> Result<String, KeyError> {
        let uid = super::new_uid();
        let material: Material = Arc::new(material);
        let (wrapped, key_version) = self
            .keystore
            .wrap(&uid, 1, Zeroizing::new(material.to_vec()))
            .await?;
        let mut attributes = json!({
            "CryptographicAlgorithm": key.algorithm.name(),
            "CryptographicLength": key.bits,
            "Digest": digest(&material),
        });
        for (name, value) in extra {
            attributes[name] = value;
        }
        let object = NewObject {
            uid: &uid,
            object_type: ObjectType::SymmetricKey.name(),
            state: State::PreActive.name(),
            owner: key.owner,
            wrapped: Some(&wrapped),
            attributes: &attributes,
            chain_id: &uid,
            chain_version: 1,
            wrap_key_version: i64::from(key_version),
            names: key.names,
            tags: &[],
        };
        let details =
            json!({ "algorithm": "AES", "length": key.bits, "master_key_version": key_version });
        let event = Event::new(key.owner, operation, "ok")
            .object(&uid)
            .details(details);
        self.insert_audited(&object, &[], &event).await?;
        self.cache.insert(&uid, material);
        Ok(uid)
    }

    /// The unwrapped material of `uid`: from the cache, else unwrapped once and cached.
    /// Callers that miss the same key together wait for the first one's unwrap and take
    /// what it cached: a cold key under load costs one keystore call, not one per caller
    /// (which could also queue them past the keystore timeout). Behind a hung keystore no
    /// caller waits at that gate longer than two time limits.
    pub async fn material(&self, uid: &str) -> Result<Material, KeyError> {
        if let Some(material) = self.cache.get(uid) {
            return Ok(material);
        }
        if !self.cache.enabled() {
            return self.unwrap_stored(uid).await;
        }
        let unwrap_once = async {
            match self.cache.get(uid) {
                Some(material) => Ok(material),
                None => self.unwrap_stored(uid).await,
            }
        };
        // Each unwrap takes at most the keystore's time limit twice over (a free session,
        // then the call); a caller that has waited that long stops queueing behind a
        // failing keystore and tries on its own.
        let wait = self.keystore.timeout() * 2;
        self.unwrapping.pass_within(uid, wait, unwrap_once).await
    }

    /// Reads `uid`, unwraps its material with the keystore and caches it.
    async fn unwrap_stored(&self, uid: &str) -> Result<Material, KeyError> {
        let told = self.db.changes_told();
        let object = self
            .db
            .object(uid)
            .await?
            .ok_or_else(|| KeyError::NotFound(uid.to_string()))?;
        let wrapped = object
            .wrapped
            .ok_or_else(|| KeyError::NoMaterial(uid.to_string()))?;
        let version = u64::try_from(object.chain_version).unwrap_or_default();
        let material: Material = Arc::new(self.keystore.unwrap(uid, version, wrapped).await?);
        self.cache.insert(uid, material.clone());
        // Checked after the insert: a change told from here on forgets it anyway.
        let raced = self.db.changed_since(told, |change| match change {
            Changed::Object { uid: changed, .. } => changed == uid,
            Changed::Everything => true,
            Changed::Name(_) | Changed::Grant { .. } => false,
        });
        if raced {
            self.cache.invalidate(uid);
        }
        Ok(material)
    }
}

//! Private and public keys parsed once, and MAC keys made once: OpenSSL takes far longer
//! to read a DER key than to sign with an EC key, and longer to make an HMAC key than to
//! compute a short HMAC, so each is kept beside the unwrapped material it came from and
//! reused while the key cache hands out that same material. A key changed,
//! destroyed or evicted from the key cache comes back as other material and is parsed
//! again; entries obey the key cache's bounds (entries, idle time, age), so a key leaves
//! process memory here no later than there.

use std::sync::Arc;

use moka::sync::Cache;
use openssl::pkey::{PKey, Private, Public};

use crate::keys::{CacheLimits, Material};
use crate::kmip_ops::asymmetric_keys::{private_key, public_key};
use crate::kmip_ops::error::KmipError;

struct Parsed<T> {
    source: Material,
    key: Arc<PKey<T>>,
}

impl<T> Clone for Parsed<T> {
    fn clone(&self) -> Self {
        Parsed {
            source: self.source.clone(),
            key: self.key.clone(),
        }
    }
}

pub struct ParsedKeys {
    private: Cache<String, Parsed<Private>>,
    public: Cache<String, Parsed<Public>>,
    hmac: Cache<String, Parsed<Private>>,
    cmac: Cache<String, Parsed<Private>>,
}

/// The two MACs a symmetric key computes; a key may serve both, each with its own
/// OpenSSL key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum MacKind {
    Hmac,
    Cmac,
}

fn cache<T: Send + Sync + 'static>(limits: &CacheLimits) -> Cache<String, Parsed<T>> {
    Cache::builder()
        .max_capacity(limits.max_entries as u64)
        .time_to_idle(limits.idle.max(std::time::Duration::from_millis(1)))
        .time_to_live(limits.max_age.max(std::time::Duration::from_millis(1)))
        .build()
}

fn reuse<T: Send + Sync + 'static>(
    entries: &Cache<String, Parsed<T>>,
    uid: &str,
    material: &Material,
    parse: impl FnOnce() -> Result<PKey<T>, KmipError>,
) -> Result<Arc<PKey<T>>, KmipError> {
    if let Some(parsed) = entries.get(uid) {
        if Arc::ptr_eq(&parsed.source, material) {
            return Ok(parsed.key);
        }
    }
    let key = Arc::new(parse()?);
    entries.insert(
        uid.to_string(),
        Parsed {
            source: material.clone(),
            key: key.clone(),
        },
    );
    Ok(key)
}

impl ParsedKeys {
    pub fn new(limits: &CacheLimits) -> ParsedKeys {
        ParsedKeys {
            private: cache(limits),
            public: cache(limits),
            hmac: cache(limits),
            cmac: cache(limits),
        }
    }

    /// The private key `uid` whose stored object is `material`.
    pub fn private(&self, uid: &str, material: &Material) -> Result<Arc<PKey<Private>>, KmipError> {
        reuse(&self.private, uid, material, || private_key(uid, material))
    }

    /// The public key `uid` whose stored object is `material`.
    pub fn public(&self, uid: &str, material: &Material) -> Result<Arc<PKey<Public>>, KmipError> {
        reuse(&self.public, uid, material, || public_key(uid, material))
    }

    /// The `kind` MAC key of the symmetric key `uid` whose material is `material`, made
    /// by `make` when not kept.
    pub fn mac(
        &self,
        kind: MacKind,
        uid: &str,
        material: &Material,
        make: impl FnOnce() -> Result<PKey<Private>, KmipError>,
    ) -> Result<Arc<PKey<Private>>, KmipError> {
        let entries = match kind {
            MacKind::Hmac => &self.hmac,
            MacKind::Cmac => &self.cmac,
        };
        reuse(entries, uid, material, make)
    }
}

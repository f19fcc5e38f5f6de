//! The key store's SigV4 credentials: one or several (two live at once while rotating),
//! with each credential's signing key derived once per day and cached.

use std::sync::Mutex;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::canonical::hex;

type HmacSha256 = Hmac<Sha256>;

/// The HMAC-SHA256 under `key` of the concatenation of `pieces`.
fn hmac(key: &[u8], pieces: &[&[u8]]) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    for piece in pieces {
        mac.update(piece);
    }
    mac.finalize().into_bytes().into()
}

/// A signing key and the (date, region, service) it was derived for.
struct SigningKey {
    scope: (String, String, String),
    key: Zeroizing<[u8; 32]>,
}

pub struct Credential {
    access_key_id: String,
    secret: Zeroizing<String>,
    signing_key: Mutex<Option<SigningKey>>,
}

impl Credential {
    pub fn new(access_key_id: &str, secret: &str) -> Credential {
        Credential {
            access_key_id: access_key_id.to_string(),
            secret: Zeroizing::new(secret.to_string()),
            signing_key: Mutex::new(None),
        }
    }

    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The signature of the string to sign (given as the pieces it is made of) for this
    /// credential and scope.
    pub(super) fn signature(
        &self,
        date: &str,
        region: &str,
        service: &str,
        to_sign: &[&[u8]],
    ) -> [u8; 32] {
        let key = self.signing_key(date, region, service);
        hmac(key.as_ref(), to_sign)
    }

    /// Compares `signature` (lowercase hex, as SigV4 writes it) with the one this
    /// credential makes, in constant time.
    pub(super) fn signature_matches(
        &self,
        date: &str,
        region: &str,
        service: &str,
        to_sign: &[&[u8]],
        signature: &str,
    ) -> bool {
        let expected = hex(self.signature(date, region, service, to_sign));
        expected.len() == signature.len() && bool::from(expected.ct_eq(signature.as_bytes()))
    }

    fn signing_key(&self, date: &str, region: &str, service: &str) -> Zeroizing<[u8; 32]> {
        let mut cached = self.signing_key.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(cached) = cached.as_ref() {
            let (d, r, s) = &cached.scope;
            if (d.as_str(), r.as_str(), s.as_str()) == (date, region, service) {
                return cached.key.clone();
            }
        }
        let secret = Zeroizing::new(format!("AWS4{}", self.secret.as_str()));
        let k_date = Zeroizing::new(hmac(secret.as_bytes(), &[date.as_bytes()]));
        let k_region = Zeroizing::new(hmac(k_date.as_ref(), &[region.as_bytes()]));
        let k_service = Zeroizing::new(hmac(k_region.as_ref(), &[service.as_bytes()]));
        let key = Zeroizing::new(hmac(k_service.as_ref(), &[b"aws4_request"]));
        let scope = (date.to_string(), region.to_string(), service.to_string());
        *cached = Some(SigningKey {
            scope,
            key: key.clone(),
        });
        key
    }
}

/// Every credential that may sign requests now.
#[derive(Default)]
pub struct Credentials(Vec<Credential>);

impl Credentials {
    pub fn new(credentials: Vec<Credential>) -> Credentials {
        Credentials(credentials)
    }

    pub fn find(&self, access_key_id: &str) -> Option<&Credential> {
        self.0
            .iter()
            .find(|credential| credential.access_key_id == access_key_id)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

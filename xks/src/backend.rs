//! What the XKS facade needs from the key manager behind it, for an authenticated
//! request. The server implements it; this crate never sees a database or an HSM.

use std::future::Future;

use zeroize::Zeroizing;

use crate::api::{EkmFleetMember, RequestMetadata};
use crate::error::XksError;

/// Who is asking: the SigV4 credential and what AWS says about the request.
pub struct Requester<'a> {
    pub access_key_id: &'a str,
    pub metadata: &'a RequestMetadata,
}

pub struct KeyMetadata {
    pub key_spec: String,
    pub key_usage: Vec<String>,
    pub key_status: String,
}

pub struct EncryptInput {
    pub plaintext: Zeroizing<Vec<u8>>,
    /// The request's AAD (raw; framing with ciphertextMetadata is the backend's, since
    /// it chooses the metadata).
    pub aad: Vec<u8>,
    /// AWS asked for a CDIV: the backend must also check that the result decrypts
    /// (and that the requester may decrypt).
    pub verify_decrypt: bool,
}

pub struct EncryptOutput {
    pub ciphertext: Vec<u8>,
    pub iv: Vec<u8>,
    pub tag: Vec<u8>,
    pub ciphertext_metadata: Option<Vec<u8>>,
}

pub struct DecryptInput {
    pub ciphertext: Vec<u8>,
    pub iv: Vec<u8>,
    pub tag: Vec<u8>,
    pub aad: Vec<u8>,
    pub ciphertext_metadata: Option<Vec<u8>>,
}

pub struct HealthReport {
    pub fleet_size: u32,
    pub ekm_vendor: String,
    pub ekm_fleet: Vec<EkmFleetMember>,
}

pub trait Backend {
    fn metadata(
        &self,
        requester: &Requester<'_>,
        key_id: &str,
    ) -> impl Future<Output = Result<KeyMetadata, XksError>>;
    fn encrypt(
        &self,
        requester: &Requester<'_>,
        key_id: &str,
        input: EncryptInput,
    ) -> impl Future<Output = Result<EncryptOutput, XksError>>;
    fn decrypt(
        &self,
        requester: &Requester<'_>,
        key_id: &str,
        input: DecryptInput,
    ) -> impl Future<Output = Result<Zeroizing<Vec<u8>>, XksError>>;
    fn health(
        &self,
        requester: &Requester<'_>,
    ) -> impl Future<Output = Result<HealthReport, XksError>>;
}

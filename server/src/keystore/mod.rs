//! The master key: the `Keystore` trait every keystore implements (a software file, or
//! a PKCS#11 HSM), the one wrapping format both use (`blob`), the async handle that
//! keeps their blocking calls off the executor and bounded in time (`handle`), and the
//! master key versions, bound to the database (`open`).

mod blob;
mod error;
mod handle;
mod open;
pub mod pkcs11;
mod protected_key;
mod software;
mod software_db;
pub mod software_file;

use zeroize::Zeroizing;

pub use blob::{Binding, BlobHeader};
pub use error::KeystoreError;
pub use handle::KeystoreHandle;
pub use open::MasterKeyOpener;
pub use protected_key::ProtectedKey;
pub use software::SoftwareKeystore;

/// Where a master key lives and which one it is; safe to log and to show.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeystoreInfo {
    /// `software` or `pkcs11`.
    pub kind: &'static str,
    /// Identifies the master key (not secret).
    pub key_id: String,
    /// Whether the key is protected at rest (sealed file or HSM).
    pub protected: bool,
    /// For an HSM: manufacturer, model and serial number of the token.
    pub device: Option<String>,
}

/// How a blob's material was encrypted under the master key (recorded in the blob).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    /// Software keystore: AES-256-GCM-SIV in process.
    AesGcmSiv = 1,
    /// PKCS#11: CKM_AES_GCM in the token, with the blob's AAD.
    Pkcs11AesGcm = 2,
    /// PKCS#11, for tokens (or proxies) that offer no AES-GCM: a fresh 256-bit data key
    /// encrypted by the token with CKM_AES_ECB (two blocks of random data), and the
    /// material sealed with it by AES-256-GCM-SIV in process, with the blob's AAD.
    Pkcs11EcbDataKey = 3,
}

impl Mechanism {
    pub fn from_code(code: u8) -> Option<Mechanism> {
        match code {
            1 => Some(Mechanism::AesGcmSiv),
            2 => Some(Mechanism::Pkcs11AesGcm),
            3 => Some(Mechanism::Pkcs11EcbDataKey),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mechanism::AesGcmSiv => "AES-256-GCM-SIV",
            Mechanism::Pkcs11AesGcm => "CKM_AES_GCM",
            Mechanism::Pkcs11EcbDataKey => "CKM_AES_ECB data key + AES-256-GCM-SIV",
        }
    }
}

/// Material encrypted under the master key, before framing into a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub mechanism: Mechanism,
    /// Nonce, IV, or encrypted data key: whatever `open` needs besides the ciphertext.
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

/// A holder of the master key. Calls may block (an HSM round trip, a KDF): go through
/// [`KeystoreHandle`], which runs them on the blocking pool with a time limit.
pub trait Keystore: Send + Sync {
    fn info(&self) -> KeystoreInfo;

    /// The mechanism [`Keystore::seal`] uses.
    fn preferred_mechanism(&self) -> Mechanism;

    /// Encrypts `plaintext` under the master key, authenticated together with `aad`.
    fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Sealed, KeystoreError>;

    /// Reverses [`Keystore::seal`]; fails unless `aad` is the one given to seal.
    fn open(&self, sealed: &Sealed, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeystoreError>;

    /// A value that identifies the master key without revealing it (key check value).
    fn check_value(&self) -> Result<String, KeystoreError>;
}

/// Runs blocking keystore work (a KDF, an HSM session) on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, KeystoreError> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| format!("the keystore task failed: {e}"))?
        .map_err(|e| e.to_string())
}

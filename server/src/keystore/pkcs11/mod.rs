//! The PKCS#11 keystore (cryptoki): the master key is an AES-256 secret key object in
//! an HSM token, sensitive and never extractable, created at first start and found by
//! its label afterwards. Sessions are pooled; a session or token lost mid-run is
//! re-opened on the next call, so the server recovers without a restart.

mod connection;
mod errors;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::Mechanism as CkMechanism;
use cryptoki::object::ObjectHandle;
use cryptoki::session::Session;
use zeroize::Zeroizing;

use super::{Keystore, KeystoreError, KeystoreInfo, Mechanism, Sealed};
use connection::Connection;
pub use connection::TokenSelector;
use errors::{is_connection_lost, pkcs11_error};

const GCM_IV_LEN: usize = 12;
const GCM_TAG_BITS: u64 = 128;
/// The wait after the first failed reconnection; it doubles with each further failure.
const FIRST_RETRY: Duration = Duration::from_millis(100);
/// The longest wait between two reconnection attempts.
const LONGEST_RETRY: Duration = Duration::from_secs(2);

/// What the operator configured.
pub struct Pkcs11Settings {
    pub module: PathBuf,
    pub token: TokenSelector,
    pub pin: Zeroizing<String>,
    pub key_label: String,
}

pub struct Pkcs11Keystore {
    settings: Pkcs11Settings,
    connection: Mutex<Option<Arc<Connection>>>,
    /// Failed reconnections in a row, and when the next may be tried.
    retry: Mutex<Retry>,
    info: KeystoreInfo,
    mechanism: Mechanism,
    check_value: String,
}

impl Pkcs11Keystore {
    /// Loads the module, logs into the token and finds the master key, creating it when
    /// `may_create` (no data protected by a master key yet). Returns whether it was created.
    pub fn open(
        settings: Pkcs11Settings,
        may_create: bool,
    ) -> Result<(Pkcs11Keystore, bool), KeystoreError> {
        let (connection, created) = Connection::establish(&settings, may_create)?;
        let mechanism = if connection.supports_gcm()? {
            Mechanism::Pkcs11AesGcm
        } else {
            Mechanism::Pkcs11EcbDataKey
        };
        let check_value = connection.check_value()?;
        let info = KeystoreInfo {
            kind: "pkcs11",
            key_id: settings.key_label.clone(),
            protected: true,
            device: Some(connection.device().to_string()),
        };
        let keystore = Pkcs11Keystore {
            settings,
            connection: Mutex::new(Some(Arc::new(connection))),
            retry: Mutex::new(Retry::default()),
            info,
            mechanism,
            check_value,
        };
        Ok((keystore, created))
    }

    /// Runs `work` on a pooled session, re-establishing the connection when it was lost.
    fn with_session<T>(
        &self,
        work: impl FnOnce(&Session, ObjectHandle) -> Result<T, KeystoreError>,
    ) -> Result<T, KeystoreError> {
        let connection = self.connection()?;
        let session = connection.take_session()?;
        let result = work(&session, connection.key());
        match &result {
            Err(error) if is_connection_lost(error) => {
                drop(session);
                self.forget(&connection);
            }
            _ => connection.return_session(session),
        }
        result
    }

    fn connection(&self) -> Result<Arc<Connection>, KeystoreError> {
        let mut current = self.connection.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(connection) = current.as_ref() {
            return Ok(connection.clone());
        }
        let mut retry = self.retry.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if let Some(not_before) = retry.not_before.filter(|at| *at > now) {
            return Err(KeystoreError::Unavailable {
                reason: format!(
                    "{}; the next reconnection attempt is in {} ms",
                    retry.last_error,
                    (not_before - now).as_millis()
                ),
                connection_lost: false,
            });
        }
        match Connection::establish(&self.settings, false) {
            Ok((connection, _)) => {
                let connection = Arc::new(connection);
                tracing::info!(device = %connection.device(), attempts = retry.failures + 1, "PKCS#11 token reconnected");
                *retry = Retry::default();
                *current = Some(connection.clone());
                Ok(connection)
            }
            Err(error) => {
                retry.failures += 1;
                let wait = FIRST_RETRY
                    .saturating_mul(1 << retry.failures.min(16).saturating_sub(1))
                    .min(LONGEST_RETRY);
                retry.not_before = Some(now + wait);
                retry.last_error = format!("reconnecting to the token failed: {error}");
                tracing::warn!(
                    %error,
                    attempt = retry.failures,
                    next_attempt_ms = wait.as_millis() as u64,
                    "PKCS#11 token reconnection failed"
                );
                // Whatever the token said, for a caller it is an HSM that is not there.
                Err(KeystoreError::Unavailable {
                    reason: retry.last_error.clone(),
                    connection_lost: false,
                })
            }
        }
    }

    fn forget(&self, lost: &Arc<Connection>) {
        let mut current = self.connection.lock().unwrap_or_else(|p| p.into_inner());
        if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, lost)) {
            tracing::warn!("PKCS#11 token connection lost; it will be re-opened on the next call");
            *current = None;
        }
    }
}

/// The reconnection backoff.
#[derive(Default)]
struct Retry {
    failures: u32,
    not_before: Option<Instant>,
    last_error: String,
}

fn random<const N: usize>() -> Result<[u8; N], KeystoreError> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).map_err(|_| KeystoreError::Crypto("random generator"))?;
    Ok(bytes)
}

impl Keystore for Pkcs11Keystore {
    fn info(&self) -> KeystoreInfo {
        self.info.clone()
    }

    fn preferred_mechanism(&self) -> Mechanism {
        self.mechanism
    }

    fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Sealed, KeystoreError> {
        match self.mechanism {
            Mechanism::Pkcs11AesGcm => {
                let mut iv = random::<GCM_IV_LEN>()?;
                let ciphertext = self.with_session(|session, key| {
                    let params = GcmParams::new(&mut iv, aad, GCM_TAG_BITS.into())
                        .map_err(|e| pkcs11_error("AES-GCM parameters", e))?;
                    session
                        .encrypt(&CkMechanism::AesGcm(params), key, plaintext)
                        .map_err(|e| pkcs11_error("encrypt", e))
                })?;
                Ok(Sealed {
                    mechanism: Mechanism::Pkcs11AesGcm,
                    nonce: iv.to_vec(),
                    ciphertext,
                })
            }
            _ => {
                let data_key = Zeroizing::new(random::<32>()?);
                let encrypted_key = self.with_session(|session, key| {
                    session
                        .encrypt(&CkMechanism::AesEcb, key, data_key.as_ref())
                        .map_err(|e| pkcs11_error("encrypt", e))
                })?;
                let ciphertext = data_key_cipher::seal(data_key.as_ref(), aad, plaintext)?;
                Ok(Sealed {
                    mechanism: Mechanism::Pkcs11EcbDataKey,
                    nonce: encrypted_key,
                    ciphertext,
                })
            }
        }
    }

    fn open(&self, sealed: &Sealed, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
        match sealed.mechanism {
            Mechanism::Pkcs11AesGcm => {
                let mut iv = sealed.nonce.clone();
                let plaintext = self.with_session(|session, key| {
                    let params = GcmParams::new(&mut iv, aad, GCM_TAG_BITS.into()).map_err(|e| pkcs11_error("AES-GCM parameters", e))?;
                    session
                        .decrypt(&CkMechanism::AesGcm(params), key, &sealed.ciphertext)
                        .map_err(|e| match pkcs11_error("decrypt", e) {
                            lost if is_connection_lost(&lost) => lost,
                            _ => KeystoreError::Crypto("unwrap: the blob does not verify under this master key and binding"),
                        })
                })?;
                Ok(Zeroizing::new(plaintext))
            }
            Mechanism::Pkcs11EcbDataKey => {
                if sealed.nonce.len() != 32 {
                    return Err(KeystoreError::BadBlob("bad encrypted data key"));
                }
                let data_key = self.with_session(|session, key| {
                    session
                        .decrypt(&CkMechanism::AesEcb, key, &sealed.nonce)
                        .map_err(|e| pkcs11_error("decrypt", e))
                })?;
                data_key_cipher::open(&Zeroizing::new(data_key), aad, &sealed.ciphertext)
            }
            Mechanism::AesGcmSiv => Err(KeystoreError::BadBlob("not a PKCS#11 keystore blob")),
        }
    }

    fn check_value(&self) -> Result<String, KeystoreError> {
        Ok(self.check_value.clone())
    }
}

/// AES-256-GCM-SIV with a one-time data key (so a fixed nonce is safe).
mod data_key_cipher {
    use aes_gcm_siv::aead::{Aead, KeyInit, Payload};
    use aes_gcm_siv::{Aes256GcmSiv, Nonce};
    use zeroize::Zeroizing;

    use crate::keystore::KeystoreError;

    const NONCE: [u8; 12] = [0; 12];

    fn cipher(key: &[u8]) -> Result<Aes256GcmSiv, KeystoreError> {
        Aes256GcmSiv::new_from_slice(key).map_err(|_| KeystoreError::Crypto("data key length"))
    }

    pub fn seal(key: &[u8], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, KeystoreError> {
        cipher(key)?
            .encrypt(
                Nonce::from_slice(&NONCE),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| KeystoreError::Crypto("wrap"))
    }

    pub fn open(
        key: &[u8],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
        cipher(key)?
            .decrypt(
                Nonce::from_slice(&NONCE),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| {
                KeystoreError::Crypto(
                    "unwrap: the blob does not verify under this master key and binding",
                )
            })
    }
}

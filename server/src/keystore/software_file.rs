//! The software master key file: a small JSON document, either plain (0600) or sealed
//! with a key derived by argon2id from the operator's passphrase (AES-256-GCM-SIV, the
//! KDF parameters stored beside the sealed key). Created once, atomically, never
//! overwritten.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use aes_gcm_siv::aead::{Aead, KeyInit, Payload};
use aes_gcm_siv::{Aes256GcmSiv, Nonce};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::error::KeystoreError;

const FORMAT: &str = "hyok-master-key";
const VERSION: u32 = 1;
const CIPHER: &str = "AES-256-GCM-SIV";
/// Key derivation cost for new files: 64 MiB, 3 passes (above OWASP's argon2id floor).
const NEW_KDF: KdfParams = KdfParams {
    algorithm: String::new(),
    memory_kib: 65536,
    iterations: 3,
    parallelism: 1,
    salt: String::new(),
};
pub const MIN_PASSPHRASE_CHARS: usize = 12;

pub type MasterKey = Zeroizing<[u8; 32]>;

#[derive(Debug, Serialize, Deserialize)]
struct MasterKeyFile {
    format: String,
    version: u32,
    key_id: String,
    #[serde(flatten)]
    protection: Protection,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "protection", rename_all = "lowercase")]
enum Protection {
    Plain {
        key: String,
    },
    Sealed {
        kdf: KdfParams,
        cipher: String,
        nonce: String,
        sealed_key: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct KdfParams {
    algorithm: String,
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
    salt: String,
}

/// A master key read from, or written to, its file.
pub struct Opened {
    pub key: MasterKey,
    pub key_id: String,
    pub sealed: bool,
}

/// Reads and opens the file at `path`. `Ok(None)` when there is no file.
pub fn read(path: &Path, passphrase: Option<&str>) -> Result<Option<Opened>, KeystoreError> {
    let text = match std::fs::read(path) {
        Ok(text) => Zeroizing::new(text),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(io_error("read", path, source)),
    };
    open_document(&text, passphrase, &file_origin(path)).map(Some)
}

/// How messages name a master key file.
pub fn file_origin(path: &Path) -> String {
    format!("file {}", path.display())
}

/// Opens a master key document (as stored in a file or in the database); `origin` says
/// where it came from, for messages.
pub fn open_document(
    text: &[u8],
    passphrase: Option<&str>,
    origin: &str,
) -> Result<Opened, KeystoreError> {
    let origin = origin.to_string();
    let corrupted = |reason: &str| KeystoreError::Corrupted {
        origin: origin.clone(),
        reason: reason.to_string(),
    };
    let file: MasterKeyFile =
        serde_json::from_slice(text).map_err(|_| corrupted("not a hyok master key document"))?;
    if file.format != FORMAT || file.version != VERSION {
        return Err(corrupted("unknown format or version"));
    }
    let key = match (&file.protection, passphrase) {
        (Protection::Plain { .. }, Some(_)) => return Err(KeystoreError::NotSealed { origin }),
        (Protection::Sealed { .. }, None) => {
            return Err(KeystoreError::PassphraseRequired { origin })
        }
        (Protection::Plain { key }, None) => {
            decode_key(key).ok_or_else(|| corrupted("bad key encoding"))?
        }
        (
            Protection::Sealed {
                kdf,
                cipher,
                nonce,
                sealed_key,
            },
            Some(passphrase),
        ) => {
            if cipher != CIPHER || kdf.algorithm != "argon2id" {
                return Err(corrupted("unknown cipher or key derivation"));
            }
            let salt = BASE64
                .decode(&kdf.salt)
                .map_err(|_| corrupted("bad salt encoding"))?;
            let nonce = BASE64
                .decode(nonce)
                .map_err(|_| corrupted("bad nonce encoding"))?;
            let sealed = BASE64
                .decode(sealed_key)
                .map_err(|_| corrupted("bad sealed key encoding"))?;
            if nonce.len() != 12 {
                return Err(corrupted("bad nonce length"));
            }
            let kek = derive(passphrase, &salt, kdf)
                .map_err(|_| corrupted("bad key derivation parameters"))?;
            let cipher = Aes256GcmSiv::new_from_slice(kek.as_ref())
                .map_err(|_| KeystoreError::Crypto("cipher setup"))?;
            let aad = binding(&file.key_id);
            let opened = cipher
                .decrypt(
                    Nonce::from_slice(&nonce),
                    Payload {
                        msg: &sealed,
                        aad: &aad,
                    },
                )
                .map_err(|_| KeystoreError::WrongPassphrase {
                    origin: origin.clone(),
                })?;
            let opened = Zeroizing::new(opened);
            let mut key = Zeroizing::new([0u8; 32]);
            if opened.len() != 32 {
                return Err(corrupted("bad key length"));
            }
            key.copy_from_slice(&opened);
            key
        }
    };
    Ok(Opened {
        key,
        key_id: file.key_id,
        sealed: passphrase.is_some(),
    })
}

/// Creates a new master key and writes it to `path`, which must not exist.
pub fn create(path: &Path, passphrase: Option<&str>) -> Result<Opened, KeystoreError> {
    let (opened, text) = new_document(passphrase)?;
    write_new(path, &text)?;
    Ok(opened)
}

/// A new master key and its document (sealed when a passphrase is given).
pub fn new_document(
    passphrase: Option<&str>,
) -> Result<(Opened, Zeroizing<Vec<u8>>), KeystoreError> {
    if passphrase.is_some_and(|p| p.chars().count() < MIN_PASSPHRASE_CHARS) {
        return Err(KeystoreError::BadPassphrase("use at least 12 characters"));
    }
    let mut key = Zeroizing::new([0u8; 32]);
    random(key.as_mut())?;
    let key_id = hex::encode(random_array::<8>()?);
    let protection = match passphrase {
        None => Protection::Plain {
            key: BASE64.encode(key.as_ref()),
        },
        Some(passphrase) => {
            let kdf = KdfParams {
                algorithm: "argon2id".into(),
                salt: BASE64.encode(random_array::<16>()?),
                ..NEW_KDF
            };
            let salt = BASE64
                .decode(&kdf.salt)
                .map_err(|_| KeystoreError::Crypto("salt"))?;
            let kek = derive(passphrase, &salt, &kdf)
                .map_err(|_| KeystoreError::Crypto("key derivation"))?;
            let cipher = Aes256GcmSiv::new_from_slice(kek.as_ref())
                .map_err(|_| KeystoreError::Crypto("cipher setup"))?;
            let nonce = random_array::<12>()?;
            let aad = binding(&key_id);
            let sealed = cipher
                .encrypt(
                    Nonce::from_slice(&nonce),
                    Payload {
                        msg: key.as_ref(),
                        aad: &aad,
                    },
                )
                .map_err(|_| KeystoreError::Crypto("sealing"))?;
            Protection::Sealed {
                kdf,
                cipher: CIPHER.into(),
                nonce: BASE64.encode(nonce),
                sealed_key: BASE64.encode(sealed),
            }
        }
    };
    let file = MasterKeyFile {
        format: FORMAT.into(),
        version: VERSION,
        key_id: key_id.clone(),
        protection,
    };
    let text = Zeroizing::new(
        serde_json::to_vec_pretty(&file).map_err(|_| KeystoreError::Crypto("encoding"))?,
    );
    let opened = Opened {
        key,
        key_id,
        sealed: passphrase.is_some(),
    };
    Ok((opened, text))
}

/// What the sealing authenticates besides the key: the format and the key id.
fn binding(key_id: &str) -> Vec<u8> {
    format!("{FORMAT}|{VERSION}|{key_id}").into_bytes()
}

fn derive(
    passphrase: &str,
    salt: &[u8],
    kdf: &KdfParams,
) -> Result<Zeroizing<[u8; 32]>, argon2::Error> {
    let params = Params::new(kdf.memory_kib, kdf.iterations, kdf.parallelism, Some(32))?;
    let mut kek = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params).hash_password_into(
        passphrase.as_bytes(),
        salt,
        kek.as_mut(),
    )?;
    Ok(kek)
}

fn decode_key(encoded: &str) -> Option<MasterKey> {
    let bytes = Zeroizing::new(BASE64.decode(encoded).ok()?);
    let mut key = Zeroizing::new([0u8; 32]);
    (bytes.len() == 32).then(|| {
        key.copy_from_slice(&bytes);
        key
    })
}

fn random(buffer: &mut [u8]) -> Result<(), KeystoreError> {
    getrandom::getrandom(buffer).map_err(|_| KeystoreError::Crypto("random generator"))
}

fn random_array<const N: usize>() -> Result<[u8; N], KeystoreError> {
    let mut bytes = [0u8; N];
    random(&mut bytes)?;
    Ok(bytes)
}

fn io_error(action: &'static str, path: &Path, source: std::io::Error) -> KeystoreError {
    KeystoreError::Io {
        action,
        origin: file_origin(path),
        source,
    }
}

/// Writes `bytes` to a new 0600 file at `path` durably; fails if `path` exists.
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), KeystoreError> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(directory)
        .map_err(|e| io_error("create the directory of", path, e))?;
    let temporary = directory.join(format!(
        ".master-key-{}.tmp",
        hex::encode(random_array::<6>()?)
    ));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        // A hard link, unlike a rename, fails when the target exists: never overwrite.
        std::fs::hard_link(&temporary, path)?;
        std::fs::File::open(directory)?.sync_all()
    })();
    let _ = std::fs::remove_file(&temporary);
    written.map_err(|e| io_error("create", path, e))
}

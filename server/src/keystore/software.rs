//! The software keystore, hyok's embedded default: the master key in a file (see
//! `software_file`), used in process with AES-256-GCM-SIV.

use std::path::Path;

use aes_gcm_siv::aead::{Aead, KeyInit, Payload};
use aes_gcm_siv::{Aes256GcmSiv, Nonce};
use zeroize::Zeroizing;

use super::error::KeystoreError;
use super::software_file;
use super::{Keystore, KeystoreInfo, Mechanism, Sealed};

const NONCE_LEN: usize = 12;

pub struct SoftwareKeystore {
    cipher: Aes256GcmSiv,
    key_id: String,
    sealed: bool,
}

impl SoftwareKeystore {
    /// A keystore over an opened master key document (from a file or the database).
    pub fn from_opened(opened: software_file::Opened) -> Result<SoftwareKeystore, KeystoreError> {
        let cipher = Aes256GcmSiv::new_from_slice(opened.key.as_ref())
            .map_err(|_| KeystoreError::Crypto("cipher setup"))?;
        Ok(SoftwareKeystore {
            cipher,
            key_id: opened.key_id,
            sealed: opened.sealed,
        })
    }

    /// Opens the master key file at `path`, or creates it when it does not exist and
    /// `database_key_check` is `None` (no data protected by a master key yet).
    pub fn open_or_create(
        path: &Path,
        passphrase: Option<&str>,
        database_key_check: Option<&str>,
    ) -> Result<(SoftwareKeystore, bool), KeystoreError> {
        let (opened, created) = match software_file::read(path, passphrase)? {
            Some(opened) => (opened, false),
            None => match database_key_check {
                Some(key_check) => {
                    return Err(KeystoreError::Missing {
                        origin: software_file::file_origin(path),
                        key_check: key_check.to_string(),
                    })
                }
                None => (software_file::create(path, passphrase)?, true),
            },
        };
        Ok((SoftwareKeystore::from_opened(opened)?, created))
    }
}

impl Keystore for SoftwareKeystore {
    fn info(&self) -> KeystoreInfo {
        KeystoreInfo {
            kind: "software",
            key_id: self.key_id.clone(),
            protected: self.sealed,
            device: None,
        }
    }

    fn preferred_mechanism(&self) -> Mechanism {
        Mechanism::AesGcmSiv
    }

    fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Sealed, KeystoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::getrandom(&mut nonce).map_err(|_| KeystoreError::Crypto("random generator"))?;
        let ciphertext = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| KeystoreError::Crypto("wrap"))?;
        Ok(Sealed {
            mechanism: Mechanism::AesGcmSiv,
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    fn open(&self, sealed: &Sealed, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
        if sealed.mechanism != Mechanism::AesGcmSiv || sealed.nonce.len() != NONCE_LEN {
            return Err(KeystoreError::BadBlob("not a software keystore blob"));
        }
        self.cipher
            .decrypt(
                Nonce::from_slice(&sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
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

    fn check_value(&self) -> Result<String, KeystoreError> {
        // AES-GCM-SIV is deterministic for a fixed nonce: the tag identifies the key.
        let probe = self
            .cipher
            .encrypt(
                Nonce::from_slice(&[0u8; NONCE_LEN]),
                Payload {
                    msg: &[0u8; 16],
                    aad: b"hyok key check value",
                },
            )
            .map_err(|_| KeystoreError::Crypto("key check value"))?;
        Ok(hex::encode(&probe[probe.len() - 8..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keystore(dir: &Path, passphrase: Option<&str>) -> SoftwareKeystore {
        SoftwareKeystore::open_or_create(&dir.join("master.key"), passphrase, None)
            .unwrap()
            .0
    }

    #[test]
    fn seals_bound_to_aad() {
        let dir = tempfile::tempdir().unwrap();
        let keystore = keystore(dir.path(), None);
        let sealed = keystore.seal(b"object-1", b"secret material").unwrap();
        assert!(
            !sealed.ciphertext.windows(6).any(|w| w == b"secret"),
            "no plaintext"
        );
        assert_eq!(
            keystore.open(&sealed, b"object-1").unwrap().as_slice(),
            b"secret material"
        );
        assert!(
            keystore.open(&sealed, b"object-2").is_err(),
            "another binding fails"
        );
        let mut tampered = sealed.clone();
        *tampered.ciphertext.last_mut().unwrap() ^= 1;
        assert!(keystore.open(&tampered, b"object-1").is_err());
        let truncated = Sealed {
            nonce: sealed.nonce[..5].to_vec(),
            ..sealed.clone()
        };
        assert!(keystore.open(&truncated, b"object-1").is_err());
    }

    #[test]
    fn reopening_gives_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let (first, created) =
            SoftwareKeystore::open_or_create(&path, Some("correct horse battery"), None).unwrap();
        assert!(created);
        let sealed = first.seal(b"x", b"data").unwrap();
        let (again, created) =
            SoftwareKeystore::open_or_create(&path, Some("correct horse battery"), None).unwrap();
        assert!(!created);
        assert_eq!(again.open(&sealed, b"x").unwrap().as_slice(), b"data");
        assert_eq!(first.check_value().unwrap(), again.check_value().unwrap());
        assert_eq!(first.info(), again.info());
        assert!(first.info().protected);
        let other = keystore(&dir.path().join("other"), None);
        assert_ne!(first.check_value().unwrap(), other.check_value().unwrap());
    }

    #[test]
    fn sealed_file_needs_the_right_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        SoftwareKeystore::open_or_create(&path, Some("correct horse battery"), None).unwrap();
        let before = std::fs::read(&path).unwrap();
        let wrong = SoftwareKeystore::open_or_create(&path, Some("wrong horse battery"), None)
            .err()
            .unwrap();
        assert!(
            matches!(wrong, KeystoreError::WrongPassphrase { .. }),
            "{wrong}"
        );
        let missing = SoftwareKeystore::open_or_create(&path, None, None)
            .err()
            .unwrap();
        assert!(
            matches!(missing, KeystoreError::PassphraseRequired { .. }),
            "{missing}"
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "failures never touch the file"
        );
        let text = String::from_utf8(before).unwrap();
        assert!(
            text.contains("\"memory_kib\": 65536") && text.contains("argon2id"),
            "{text}"
        );
    }

    #[test]
    fn plain_file_is_private_and_refuses_a_passphrase() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data/master.key");
        keystore(&dir.path().join("data"), None);
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let error = SoftwareKeystore::open_or_create(&path, Some("correct horse battery"), None)
            .err()
            .unwrap();
        assert!(matches!(error, KeystoreError::NotSealed { .. }), "{error}");
    }

    #[test]
    fn short_passphrases_are_refused_for_new_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        assert!(SoftwareKeystore::open_or_create(&path, Some("short"), None).is_err());
        assert!(!path.exists());
    }

    #[test]
    fn corrupted_or_missing_files_are_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        std::fs::write(&path, b"{ not json").unwrap();
        let error = SoftwareKeystore::open_or_create(&path, None, None)
            .err()
            .unwrap();
        assert!(matches!(error, KeystoreError::Corrupted { .. }), "{error}");
        assert_eq!(std::fs::read(&path).unwrap(), b"{ not json");
        let absent = dir.path().join("absent.key");
        let error = SoftwareKeystore::open_or_create(&absent, None, Some("00ff"))
            .err()
            .unwrap();
        assert!(matches!(error, KeystoreError::Missing { .. }), "{error}");
        assert!(!absent.exists());
    }
}

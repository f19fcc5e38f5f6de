//! What can go wrong with the master key, said so that an operator knows what to do.
//! No variant ever carries key material or a passphrase.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    #[error("cannot {action} the master key {origin}: {source}")]
    Io {
        action: &'static str,
        origin: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the master key {origin} is corrupted ({reason}); restore it from backup — hyok will not replace it")]
    Corrupted { origin: String, reason: String },
    #[error(
        "wrong master passphrase for the master key {origin} (HYOK_MASTER_PASSPHRASE), or it was altered"
    )]
    WrongPassphrase { origin: String },
    #[error("the master key {origin} is sealed: set HYOK_MASTER_PASSPHRASE (or HYOK_MASTER_PASSPHRASE_FILE)")]
    PassphraseRequired { origin: String },
    #[error("HYOK_MASTER_PASSPHRASE is set but the master key {origin} is not sealed; unset the variable (sealing an existing key is not supported yet)")]
    NotSealed { origin: String },
    #[error("the master key {origin} is missing, but the database holds data protected by master key {key_check}; restore it — hyok will not create a new master key over existing data")]
    Missing { origin: String, key_check: String },
    #[error("this master key (check value {actual}) is not the one that protects this database (check value {expected}); point [keystore] at the right key")]
    WrongMasterKey { expected: String, actual: String },
    #[error("a wrapped key is damaged: {0}")]
    BadBlob(&'static str),
    #[error("a key was wrapped by the {blob_keystore} keystore's master key {blob_key}, but this server holds the {this_keystore} keystore's master key {this_key}")]
    ForeignBlob {
        blob_keystore: &'static str,
        blob_key: String,
        this_keystore: &'static str,
        this_key: String,
    },
    #[error("a key was wrapped by master key version {0}, which this server cannot load")]
    UnknownVersion(u32),
    #[error("cannot load an older master key version: {0}")]
    VersionUnavailable(String),
    #[error("the keystore did not answer within {0} ms")]
    Timeout(u64),
    #[error("the HSM is unavailable: {reason}")]
    Unavailable {
        reason: String,
        /// The session or token is gone: the connection must be re-established.
        connection_lost: bool,
    },
    #[error("PKCS#11 module {path}: {reason}")]
    Module { path: PathBuf, reason: String },
    #[error("PKCS#11 token: {0}")]
    Token(String),
    #[error("PKCS#11 login refused: {0} (check HYOK_PKCS11_PIN)")]
    Login(String),
    #[error("the master passphrase is invalid: {0}")]
    BadPassphrase(&'static str),
    #[error("master key operation failed: {0}")]
    Crypto(&'static str),
    #[error("{0}")]
    Database(#[from] hyok_db::Error),
}

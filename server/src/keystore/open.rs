//! Opening master key versions as `[keystore]` says: version 1 is the configured key
//! (the file, the database document, or the HSM key labelled `key_label`); version n > 1
//! lives beside it (`FILE.vN`, document `.vN`, label `KEY_LABEL.vN`). Each version's
//! check value is recorded in the database, which also names the current version, so
//! every node opens the same keys and none creates a key over existing data.

use std::path::PathBuf;
use std::sync::Arc;

use hyok_db::Db;

use super::pkcs11::{Pkcs11Keystore, Pkcs11Settings, TokenSelector};
use super::{blocking, software_db, Keystore, KeystoreError, SoftwareKeystore};
use crate::config::{secret_from_env, KeystoreConfig, KeystoreKind, SoftwareLocation};

/// The setting naming the current master key version (absent: 1).
const CURRENT_VERSION_SETTING: &str = "master_key_version";

/// The setting holding version `version`'s check value.
fn check_setting(version: u32) -> String {
    versioned("master_key_check", version)
}

/// `name` for version 1, `name.vN` after.
pub fn versioned(name: &str, version: u32) -> String {
    match version {
        1 => name.to_string(),
        n => format!("{name}.v{n}"),
    }
}

pub struct MasterKeyOpener {
    config: KeystoreConfig,
    db: Db,
}

impl MasterKeyOpener {
    pub fn new(config: KeystoreConfig, db: Db) -> MasterKeyOpener {
        MasterKeyOpener { config, db }
    }

    /// The version the database names current.
    pub async fn current_version(&self) -> Result<u32, String> {
        let stored = self
            .db
            .setting(CURRENT_VERSION_SETTING)
            .await
            .map_err(|e| e.to_string())?;
        match stored {
            None => Ok(1),
            Some(text) => text.parse().map_err(|_| {
                format!("setting {CURRENT_VERSION_SETTING} is not a number: {text:?}")
            }),
        }
    }

    pub async fn set_current(&self, version: u32) -> Result<(), String> {
        self.db
            .put_setting(CURRENT_VERSION_SETTING, &version.to_string())
            .await
            .map_err(|e| e.to_string())
    }

    /// Opens master key `version`; creates it when `may_create` and the database has no
    /// check value for it yet. Returns whether it was created.
    pub async fn open(
        &self,
        version: u32,
        may_create: bool,
    ) -> Result<(Arc<dyn Keystore>, bool), String> {
        let recorded = self
            .db
            .setting(&check_setting(version))
            .await
            .map_err(|e| e.to_string())?;
        let may_create = may_create && recorded.is_none();
        let (keystore, created) = self.open_kind(version, recorded, may_create).await?;
        let actual = keystore.check_value().map_err(|e| e.to_string())?;
        let expected = self
            .db
            .setting_or_insert(&check_setting(version), &actual)
            .await
            .map_err(|e| e.to_string())?;
        if expected != actual {
            return Err(KeystoreError::WrongMasterKey { expected, actual }.to_string());
        }
        Ok((keystore, created))
    }

    async fn open_kind(
        &self,
        version: u32,
        recorded: Option<String>,
        may_create: bool,
    ) -> Result<(Arc<dyn Keystore>, bool), String> {
        let config = &self.config;
        match config.kind {
            KeystoreKind::Software if config.location == SoftwareLocation::Database => {
                let passphrase = secret_from_env("HYOK_MASTER_PASSPHRASE")?;
                let recorded = if may_create {
                    None
                } else {
                    Some(recorded.unwrap_or_default())
                };
                let (opened, created) =
                    software_db::open_or_create(&self.db, version, passphrase, recorded).await?;
                Ok((Arc::new(opened), created))
            }
            KeystoreKind::Software => {
                let passphrase = secret_from_env("HYOK_MASTER_PASSPHRASE")?;
                let path = PathBuf::from(versioned(&config.file.to_string_lossy(), version));
                let refuse_creation = (!may_create).then(|| recorded.unwrap_or_default());
                blocking(move || {
                    let passphrase = passphrase.as_ref().map(|p| p.expose());
                    SoftwareKeystore::open_or_create(&path, passphrase, refuse_creation.as_deref())
                        .map(|(keystore, created)| {
                            (Arc::new(keystore) as Arc<dyn Keystore>, created)
                        })
                })
                .await
            }
            KeystoreKind::Pkcs11 => {
                let settings = self.pkcs11_settings(version)?;
                blocking(move || {
                    Pkcs11Keystore::open(settings, may_create).map(|(keystore, created)| {
                        (Arc::new(keystore) as Arc<dyn Keystore>, created)
                    })
                })
                .await
            }
        }
    }

    fn pkcs11_settings(&self, version: u32) -> Result<Pkcs11Settings, String> {
        let config = &self.config;
        let pin = secret_from_env("HYOK_PKCS11_PIN")?
            .ok_or("keystore.kind = \"pkcs11\" needs the token PIN in HYOK_PKCS11_PIN (or HYOK_PKCS11_PIN_FILE)")?;
        let token = match (&config.token_label, config.slot) {
            (Some(label), _) => TokenSelector::Label(label.clone()),
            (None, Some(slot)) => TokenSelector::Slot(slot),
            (None, None) => return Err("keystore.token_label or keystore.slot is required".into()),
        };
        Ok(Pkcs11Settings {
            module: config.module.clone().ok_or("keystore.module is required")?,
            token,
            pin: zeroize::Zeroizing::new(pin.expose().to_string()),
            key_label: versioned(&config.key_label, version),
        })
    }
}

//! The software master key kept in the database, sealed, so that several nodes sharing
//! one PostgreSQL share one master key (`[keystore] location = "database"`). The first
//! node to start stores it; the others open the same document with the passphrase.

use hyok_db::Db;
use zeroize::Zeroizing;

use super::open::versioned;
use super::software::SoftwareKeystore;
use super::software_file::{new_document, open_document};
use super::{blocking, KeystoreError};
use crate::config::Secret;

/// The setting that holds the sealed master key document (`.vN` for version N > 1).
const DOCUMENT_SETTING: &str = "master_key_document";
const ORIGIN: &str = "stored in the database";

/// Opens the shared master key `version`, or creates it when the database holds none and
/// `recorded` (the database's check value for it, if any) is `None`. Returns whether it
/// created it.
pub async fn open_or_create(
    db: &Db,
    version: u32,
    passphrase: Option<Secret>,
    recorded: Option<String>,
) -> Result<(SoftwareKeystore, bool), String> {
    let setting = versioned(DOCUMENT_SETTING, version);
    let passphrase = passphrase.ok_or(
        "keystore.location = \"database\" needs HYOK_MASTER_PASSPHRASE: the master key is stored there only sealed",
    )?;
    if let Some(document) = db.setting(&setting).await.map_err(|e| e.to_string())? {
        return open(document, passphrase)
            .await
            .map(|keystore| (keystore, false));
    }
    if let Some(key_check) = recorded {
        return Err(KeystoreError::Missing {
            origin: ORIGIN.into(),
            key_check,
        }
        .to_string());
    }
    let secret = passphrase.clone();
    let (opened, document) = blocking(move || new_document(Some(secret.expose()))).await?;
    let document =
        String::from_utf8(document.to_vec()).map_err(|_| "master key document encoding")?;
    let stored = db
        .setting_or_insert(&setting, &document)
        .await
        .map_err(|e| e.to_string())?;
    if stored != document {
        // Another node stored its master key first: everyone uses that one.
        return open(stored, passphrase)
            .await
            .map(|keystore| (keystore, false));
    }
    let keystore = SoftwareKeystore::from_opened(opened).map_err(|e| e.to_string())?;
    Ok((keystore, true))
}

async fn open(document: String, passphrase: Secret) -> Result<SoftwareKeystore, String> {
    let document = Zeroizing::new(document);
    let opened =
        blocking(move || open_document(document.as_bytes(), Some(passphrase.expose()), ORIGIN))
            .await?;
    SoftwareKeystore::from_opened(opened).map_err(|e| e.to_string())
}

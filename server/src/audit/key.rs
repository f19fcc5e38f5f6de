//! The audit key: 32 random bytes, stored in the database only wrapped by the master
//! key (bound to the name `hyok-audit-key`), created by the first node to start.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hyok_db::Db;
use zeroize::Zeroizing;

use crate::keystore::KeystoreHandle;

const SETTING: &str = "audit_key";
const BINDING: &str = "hyok-audit-key";

pub async fn load_or_create(
    db: &Db,
    keystore: &KeystoreHandle,
) -> Result<Zeroizing<[u8; 32]>, String> {
    let stored = match db.setting(SETTING).await.map_err(|e| e.to_string())? {
        Some(stored) => stored,
        None => {
            let mut fresh = Zeroizing::new(vec![0u8; 32]);
            getrandom::getrandom(&mut fresh).map_err(|e| e.to_string())?;
            let (wrapped, _) = keystore
                .wrap(BINDING, 0, fresh)
                .await
                .map_err(|e| e.to_string())?;
            // Concurrent first starts agree on whichever key was stored first.
            db.setting_or_insert(SETTING, &BASE64.encode(wrapped))
                .await
                .map_err(|e| e.to_string())?
        }
    };
    let wrapped = BASE64
        .decode(stored)
        .map_err(|_| "the stored audit key is not base64".to_string())?;
    let unwrapped = keystore
        .unwrap(BINDING, 0, wrapped)
        .await
        .map_err(|e| format!("cannot unwrap the audit key: {e}"))?;
    let mut key = Zeroizing::new([0u8; 32]);
    if unwrapped.len() != 32 {
        return Err("the stored audit key has the wrong length".into());
    }
    key.copy_from_slice(&unwrapped);
    Ok(key)
}

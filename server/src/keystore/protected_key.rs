//! Keys of hyok's own (the audit key, the token key): 32 random bytes each, stored in the
//! database only wrapped by the master key (bound to the key's name), created by the
//! first node to start.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hyok_db::Db;
use zeroize::Zeroizing;

use super::KeystoreHandle;

/// Which key: the setting that stores it and the name its wrapping is bound to.
pub struct ProtectedKey {
    pub setting: &'static str,
    pub binding: &'static str,
    /// For messages: "the audit key".
    pub what: &'static str,
}

impl ProtectedKey {
    /// The key, unwrapped; created (and stored wrapped) when there is none yet.
    pub async fn load_or_create(
        &self,
        db: &Db,
        keystore: &KeystoreHandle,
    ) -> Result<Zeroizing<[u8; 32]>, String> {
        let what = self.what;
        let stored = match db.setting(self.setting).await.map_err(|e| e.to_string())? {
            Some(stored) => stored,
            None => {
                let mut fresh = Zeroizing::new(vec![0u8; 32]);
                getrandom::getrandom(&mut fresh).map_err(|e| e.to_string())?;
                let (wrapped, _) = keystore
                    .wrap(self.binding, 0, fresh)
                    .await
                    .map_err(|e| format!("cannot wrap {what}: {e}"))?;
                // Concurrent first starts agree on whichever key was stored first.
                db.setting_or_insert(self.setting, &BASE64.encode(wrapped))
                    .await
                    .map_err(|e| e.to_string())?
            }
        };
        let wrapped = BASE64
            .decode(stored)
            .map_err(|_| format!("the stored {what} is not base64"))?;
        let unwrapped = keystore
            .unwrap(self.binding, 0, wrapped)
            .await
            .map_err(|e| format!("cannot unwrap {what}: {e}"))?;
        if unwrapped.len() != 32 {
            return Err(format!("the stored {what} has the wrong length"));
        }
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(&unwrapped);
        Ok(key)
    }
}

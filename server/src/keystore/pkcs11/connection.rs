//! One live connection to the token: the module's context (initialized once per
//! process), the slot, the logged-in session pool, and the master key's handle.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};
use cryptoki::mechanism::{Mechanism as CkMechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;

use super::errors::pkcs11_error;
use super::Pkcs11Settings;
use crate::keystore::KeystoreError;

/// Which token holds the master key.
#[derive(Debug, Clone)]
pub enum TokenSelector {
    Label(String),
    Slot(u64),
}

pub struct Connection {
    context: Pkcs11,
    slot: Slot,
    key: ObjectHandle,
    pin: AuthPin,
    idle: Mutex<Vec<Session>>,
    device: String,
}

/// Modules are initialized once per process and kept: PKCS#11 allows one
/// C_Initialize per module and process, whatever number of connections come and go.
fn context(module: &Path) -> Result<Pkcs11, KeystoreError> {
    static CONTEXTS: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let mut contexts = CONTEXTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(context) = contexts.get(module) {
        return Ok(context.clone());
    }
    let module_error = |reason: String| KeystoreError::Module {
        path: module.to_path_buf(),
        reason,
    };
    if !module.is_file() {
        return Err(module_error("no such file (keystore.module)".into()));
    }
    let context = Pkcs11::new(module).map_err(|e| module_error(format!("cannot load: {e}")))?;
    initialize(&context).map_err(|e| module_error(format!("C_Initialize failed: {e}")))?;
    contexts.insert(module.to_path_buf(), context.clone());
    Ok(context)
}

fn initialize(context: &Pkcs11) -> Result<(), Error> {
    match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Err(Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => Ok(()),
        other => other,
    }
}

impl Connection {
    /// Finds the token, logs in and finds (or, if `may_create`, creates) the master key.
    pub fn establish(
        settings: &Pkcs11Settings,
        may_create: bool,
    ) -> Result<(Connection, bool), KeystoreError> {
        let context = context(&settings.module)?;
        let slot = match find_slot(&context, &settings.token) {
            // A module whose peer went away (or came back: p11-kit's client lists no token
            // until it is initialized again) needs a fresh C_Initialize.
            Err(
                KeystoreError::Unavailable {
                    connection_lost: true,
                    ..
                }
                | KeystoreError::Token(_),
            ) => {
                let _ = context.clone().finalize();
                initialize(&context).map_err(|e| pkcs11_error("C_Initialize", e))?;
                find_slot(&context, &settings.token)?
            }
            other => other?,
        };
        let pin = AuthPin::from(settings.pin.as_str());
        let session = context
            .open_rw_session(slot)
            .map_err(|e| pkcs11_error("open a session", e))?;
        login(&session, &pin)?;
        let (key, created) = find_or_create_key(&session, &settings.key_label, may_create)?;
        let token = context
            .get_token_info(slot)
            .map_err(|e| pkcs11_error("read token information", e))?;
        let device = format!(
            "{} {} (serial {}, token {:?})",
            token.manufacturer_id().trim(),
            token.model().trim(),
            token.serial_number().trim(),
            token.label().trim()
        );
        let connection = Connection {
            context,
            slot,
            key,
            pin,
            idle: Mutex::new(vec![session]),
            device,
        };
        Ok((connection, created))
    }

    pub fn key(&self) -> ObjectHandle {
        self.key
    }

    pub fn device(&self) -> &str {
        &self.device
    }

    /// An idle logged-in session, or a new one.
    pub fn take_session(&self) -> Result<Session, KeystoreError> {
        if let Some(session) = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop() {
            return Ok(session);
        }
        let session = self
            .context
            .open_ro_session(self.slot)
            .map_err(|e| pkcs11_error("open a session", e))?;
        login(&session, &self.pin)?;
        Ok(session)
    }

    pub fn return_session(&self, session: Session) {
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(session);
    }

    pub fn supports_gcm(&self) -> Result<bool, KeystoreError> {
        if self.offers(MechanismType::AES_GCM)? {
            Ok(true)
        } else if self.offers(MechanismType::AES_ECB)? {
            tracing::warn!("the PKCS#11 token offers no CKM_AES_GCM; wrapping with CKM_AES_ECB-encrypted data keys");
            Ok(false)
        } else {
            Err(KeystoreError::Token(
                "the token offers neither CKM_AES_GCM nor CKM_AES_ECB".into(),
            ))
        }
    }

    /// Whether the token offers `mechanism`. Asked one mechanism at a time: listing them
    /// all makes cryptoki log an ERROR line for each type it has no name for (SoftHSM2
    /// offers fifteen such), at every start.
    fn offers(&self, mechanism: MechanismType) -> Result<bool, KeystoreError> {
        match self.context.get_mechanism_info(self.slot, mechanism) {
            Ok(_) => Ok(true),
            Err(Error::Pkcs11(RvError::MechanismInvalid, _)) => Ok(false),
            Err(error) => Err(pkcs11_error("ask the token about a mechanism", error)),
        }
    }

    /// The key's CKA_CHECK_VALUE, or an AES-ECB encryption of a zero block.
    pub fn check_value(&self) -> Result<String, KeystoreError> {
        let session = self.take_session()?;
        let attributes = session.get_attributes(self.key, &[AttributeType::CheckValue]);
        let value = match attributes.as_deref() {
            Ok([Attribute::CheckValue(value)]) if !value.is_empty() => value.clone(),
            _ => session
                .encrypt(&CkMechanism::AesEcb, self.key, &[0u8; 16])
                .map(|block| block[..3].to_vec())
                .map_err(|e| pkcs11_error("compute the key check value", e))?,
        };
        self.return_session(session);
        Ok(format!("pkcs11-{}", hex::encode(value)))
    }
}

fn find_slot(context: &Pkcs11, token: &TokenSelector) -> Result<Slot, KeystoreError> {
    let slots = context
        .get_slots_with_token()
        .map_err(|e| pkcs11_error("list slots", e))?;
    let mut labels = Vec::new();
    for slot in slots {
        let matches = match token {
            TokenSelector::Slot(id) => slot.id() == *id,
            TokenSelector::Label(label) => {
                let info = context
                    .get_token_info(slot)
                    .map_err(|e| pkcs11_error("read token information", e))?;
                labels.push(format!("{:?}", info.label().trim()));
                info.label().trim() == label
            }
        };
        if matches {
            return Ok(slot);
        }
    }
    Err(KeystoreError::Token(match token {
        TokenSelector::Slot(id) => format!("no token in slot {id} (keystore.slot)"),
        TokenSelector::Label(label) => format!(
            "no token labelled {label:?} (keystore.token_label); tokens present: {}",
            if labels.is_empty() {
                "none".to_string()
            } else {
                labels.join(", ")
            }
        ),
    }))
}

fn login(session: &Session, pin: &AuthPin) -> Result<(), KeystoreError> {
    match session.login(UserType::User, Some(pin)) {
        Ok(()) | Err(Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
        Err(Error::Pkcs11(RvError::PinIncorrect, _)) => {
            Err(KeystoreError::Login("wrong PIN".into()))
        }
        Err(Error::Pkcs11(RvError::PinLocked, _)) => {
            Err(KeystoreError::Login("the PIN is locked".into()))
        }
        Err(
            error @ Error::Pkcs11(
                RvError::PinLenRange | RvError::PinInvalid | RvError::PinExpired,
                _,
            ),
        ) => Err(KeystoreError::Login(error.to_string())),
        Err(error) => Err(pkcs11_error("log in", error)),
    }
}

fn find_or_create_key(
    session: &Session,
    label: &str,
    may_create: bool,
) -> Result<(ObjectHandle, bool), KeystoreError> {
    let template = [
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::Label(label.as_bytes().to_vec()),
    ];
    let found = session
        .find_objects(&template)
        .map_err(|e| pkcs11_error("find the master key", e))?;
    match found.as_slice() {
        [key] => Ok((*key, false)),
        [] if may_create => {
            let mut id = [0u8; 8];
            getrandom::getrandom(&mut id).map_err(|_| KeystoreError::Crypto("random generator"))?;
            // Token-object creation is serialized within the process: SoftHSM2's file
            // object store fails concurrent creations with CKR_GENERAL_ERROR
            // (softhsm/SoftHSMv2#573), and a master key is created rarely enough for
            // the lock to cost nothing elsewhere.
            static CREATING: Mutex<()> = Mutex::new(());
            let _creating = CREATING.lock().unwrap_or_else(|p| p.into_inner());
            let key = session
                .generate_key(
                    &CkMechanism::AesKeyGen,
                    &[
                        Attribute::Token(true),
                        Attribute::Private(true),
                        Attribute::Sensitive(true),
                        Attribute::Extractable(false),
                        Attribute::Encrypt(true),
                        Attribute::Decrypt(true),
                        Attribute::ValueLen(32.into()),
                        Attribute::Label(label.as_bytes().to_vec()),
                        Attribute::Id(id.to_vec()),
                    ],
                )
                .map_err(|e| pkcs11_error("create the master key", e))?;
            Ok((key, true))
        }
        [] => Err(KeystoreError::Token(format!(
            "no AES master key labelled {label:?} in the token, but the database holds data protected by one; \
             point keystore.key_label at it — hyok will not create a new master key over existing data"
        ))),
        _ => Err(KeystoreError::Token(format!(
            "{} AES keys are labelled {label:?}; the master key label must be unique",
            found.len()
        ))),
    }
}

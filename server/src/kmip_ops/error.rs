//! A failed KMIP batch item: the Result Reason (by its registry name) and a message that
//! says what to change. Never key material.

use crate::access::AccessError;
use crate::keys::KeyError;
use crate::keystore::KeystoreError;
use hyok_kmip::enums::ResultReason;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmipError {
    pub reason: ResultReason,
    pub message: String,
}

impl KmipError {
    pub fn new(reason: ResultReason, message: impl Into<String>) -> KmipError {
        KmipError {
            reason,
            message: message.into(),
        }
    }

    pub fn invalid_field(message: impl Into<String>) -> KmipError {
        KmipError::new(ResultReason::InvalidField, message)
    }

    pub fn not_supported(message: impl Into<String>) -> KmipError {
        KmipError::new(ResultReason::FeatureNotSupported, message)
    }
}

impl From<AccessError> for KmipError {
    fn from(error: AccessError) -> KmipError {
        match error {
            AccessError::NotFound(uid) => {
                KmipError::new(ResultReason::ObjectNotFound, format!("no object {uid}"))
            }
            AccessError::Denied(reason) => KmipError::new(ResultReason::PermissionDenied, reason),
            AccessError::Storage(error) => storage(error),
        }
    }
}

impl From<KeyError> for KmipError {
    fn from(error: KeyError) -> KmipError {
        match error {
            KeyError::NotFound(uid) => {
                KmipError::new(ResultReason::ObjectNotFound, format!("no object {uid}"))
            }
            KeyError::NoMaterial(uid) => KmipError::new(
                ResultReason::ObjectDestroyed,
                format!("the key of {uid} was destroyed"),
            ),
            KeyError::Invalid(reason) => KmipError::invalid_field(reason),
            KeyError::WrongState(reason) => {
                KmipError::new(ResultReason::WrongKeyLifecycleState, reason)
            }
            KeyError::Refused { reason, message } => KmipError::new(reason, message),
            KeyError::Keystore(error) => keystore(error),
            KeyError::Storage(error) => storage(error),
        }
    }
}

fn keystore(error: KeystoreError) -> KmipError {
    tracing::warn!("KMIP request failed in the keystore: {error}");
    KmipError::new(
        ResultReason::GeneralFailure,
        "the master key is not usable right now; the server log says why",
    )
}

fn storage(error: hyok_db::Error) -> KmipError {
    if let hyok_db::Error::NameTaken(_) = error {
        return KmipError::new(ResultReason::NonUniqueNameAttribute, error.to_string());
    }
    tracing::error!("KMIP request failed in storage: {error}");
    KmipError::new(
        ResultReason::GeneralFailure,
        "the server's storage failed; try again",
    )
}

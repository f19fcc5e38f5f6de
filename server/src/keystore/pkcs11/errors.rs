//! PKCS#11 return values as keystore errors, marking those after which the session or
//! the token is gone (so the connection must be re-established).

use cryptoki::error::{Error, RvError};

use crate::keystore::KeystoreError;

pub fn pkcs11_error(action: &str, error: Error) -> KeystoreError {
    let connection_lost = match &error {
        Error::Pkcs11(rv, _) => matches!(
            rv,
            RvError::DeviceError
                | RvError::DeviceMemory
                | RvError::DeviceRemoved
                | RvError::TokenNotPresent
                | RvError::TokenNotRecognized
                | RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::CryptokiNotInitialized
                | RvError::GeneralError
                | RvError::UserNotLoggedIn
                | RvError::KeyHandleInvalid
                | RvError::ObjectHandleInvalid
        ),
        Error::LibraryLoading(_) => true,
        _ => false,
    };
    KeystoreError::Unavailable {
        reason: format!("{action}: {error}"),
        connection_lost,
    }
}

/// Whether `error` means the connection to the token must be re-established.
pub fn is_connection_lost(error: &KeystoreError) -> bool {
    matches!(
        error,
        KeystoreError::Unavailable {
            connection_lost: true,
            ..
        }
    )
}

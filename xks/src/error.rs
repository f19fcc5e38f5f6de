//! The XKS error names and their HTTP statuses, as the specification fixes them.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Validation,
    InvalidState,
    InvalidCiphertext,
    InvalidKeyUsage,
    AuthenticationFailed,
    AccessDenied,
    KeyNotFound,
    InvalidUriPath,
    MethodNotAllowed,
    Throttling,
    UnsupportedOperation,
    DependencyTimeout,
    Internal,
}

impl ErrorKind {
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::Validation
            | ErrorKind::InvalidState
            | ErrorKind::InvalidCiphertext
            | ErrorKind::InvalidKeyUsage => 400,
            ErrorKind::AuthenticationFailed => 401,
            ErrorKind::AccessDenied => 403,
            ErrorKind::KeyNotFound | ErrorKind::InvalidUriPath => 404,
            ErrorKind::MethodNotAllowed => 405,
            ErrorKind::Throttling => 429,
            ErrorKind::UnsupportedOperation => 501,
            ErrorKind::DependencyTimeout => 503,
            ErrorKind::Internal => 500,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Validation => "ValidationException",
            ErrorKind::InvalidState => "InvalidStateException",
            ErrorKind::InvalidCiphertext => "InvalidCiphertextException",
            ErrorKind::InvalidKeyUsage => "InvalidKeyUsageException",
            ErrorKind::AuthenticationFailed => "AuthenticationFailedException",
            ErrorKind::AccessDenied => "AccessDeniedException",
            ErrorKind::KeyNotFound => "KeyNotFoundException",
            ErrorKind::InvalidUriPath => "InvalidUriPathException",
            ErrorKind::MethodNotAllowed => "MethodNotAllowedException",
            ErrorKind::Throttling => "ThrottlingException",
            ErrorKind::UnsupportedOperation => "UnsupportedOperationException",
            ErrorKind::DependencyTimeout => "DependencyTimeoutException",
            ErrorKind::Internal => "InternalException",
        }
    }
}

/// An XKS error: its kind and a message for the caller (never key material).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", kind.name())]
pub struct XksError {
    pub kind: ErrorKind,
    pub message: String,
}

impl XksError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> XksError {
        XksError {
            kind,
            message: message.into(),
        }
    }

    /// The JSON body: `{"errorName": …, "errorMessage": …}`, the message cut to fewer
    /// than 512 printable ASCII characters.
    pub fn body(&self) -> String {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            error_name: &'a str,
            error_message: String,
        }
        let printable: String = self
            .message
            .chars()
            .map(|c| if (' '..='~').contains(&c) { c } else { '?' })
            .take(500)
            .collect();
        serde_json::to_string(&Body {
            error_name: self.kind.name(),
            error_message: printable,
        })
        .unwrap_or_else(|_| format!("{{\"errorName\":\"{}\"}}", self.kind.name()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_bounded_printable_ascii() {
        let error = XksError::new(
            ErrorKind::Validation,
            format!("bad\u{7}input é {}", "x".repeat(600)),
        );
        let body: serde_json::Value = serde_json::from_str(&error.body()).unwrap();
        assert_eq!(body["errorName"], "ValidationException");
        let message = body["errorMessage"].as_str().unwrap();
        assert!(
            message.len() < 512 && message.chars().all(|c| (' '..='~').contains(&c)),
            "{message}"
        );
        assert_eq!(ErrorKind::Throttling.status(), 429);
        assert_eq!(ErrorKind::UnsupportedOperation.status(), 501);
    }
}

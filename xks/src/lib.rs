//! hyok-xks: the AWS External Key Store (XKS) proxy API, with no I/O: SigV4 request
//! authentication, the four routes and their JSON, validation and limits, the error
//! names, AAD framing and the ciphertext data integrity value. The server supplies a
//! [`Backend`] (key lookup, authorization, cryptography) and the HTTP listener.

#![forbid(unsafe_code)]

mod aad;
pub mod api;
mod backend;
mod error;
mod names;
mod service;
mod shapes;
pub mod sigv4;
mod throttle;

pub use aad::{cdiv, gcm_aad};
pub use backend::{
    Backend, DecryptInput, EncryptInput, EncryptOutput, HealthReport, KeyMetadata, Requester,
};
pub use error::{ErrorKind, XksError};
pub use names::{API_PATH, SIGV4_SERVICE};
pub use service::{Call, Operation, Request, Response, Settings, XksService, VENDOR};
pub use shapes::{
    is_access_key_id_shape, is_secret_access_key_shape, validate_uri_prefix, PrefixError,
};

//! The KMIP server: the HTTP endpoints (`/kmip`, `/kmip/2_1`), the dispatcher that turns
//! one request message into one response message, and the operations it serves. The
//! codec, the registry and the 1.x ↔ 2.x translation are hyok-kmip's.

mod asymmetric_keys;
mod attributes;
mod context;
mod derivation;
mod dispatch;
mod error;
mod fields;
mod hashing;
mod http;
mod key_formats;
pub(crate) mod key_use;
mod ops;
mod parsed_keys;
mod rsa_cipher;
mod signatures;
pub(crate) mod stored;
mod stored_search;
mod streams;
pub(crate) mod symmetric;
mod undo;
mod usage_limits;

pub use dispatch::{handle, unauthenticated, unreadable};
pub use http::routes;
pub use parsed_keys::{MacKind, ParsedKeys};
pub use streams::Streams;

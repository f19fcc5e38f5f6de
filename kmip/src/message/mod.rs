//! Typed KMIP messages: the envelope ([`RequestMessage`], [`ResponseMessage`], headers,
//! batch items) and the request and response payload of every KMIP 2.1 operation
//! ([`RequestPayload`], [`ResponsePayload`]), generated from the specification's payload
//! tables. Payloads are in the 2.x form; [`crate::translate`] converts 1.x payloads.
//! Structures inside payloads (key blocks, attributes, cryptographic parameters) stay
//! [`crate::Item`]s.

pub(crate) mod fields;

mod envelope;
mod payloads;

pub use envelope::*;
pub use fields::ShapeError;
pub use payloads::*;

//! hyok-kmip: the KMIP protocol (1.0 to 2.1) as data, with no I/O and no crypto.
//!
//! - [`Item`], [`Value`]: the TTLV tree every encoding reads into and writes from;
//! - [`registry`]: tags, enumerations and masks of every version, generated from the
//!   OASIS specifications;
//! - [`decode`]/[`encode`]: binary TTLV; [`text`]: XML, JSON and JSON-TTLV.
//!
//! Every decoder is total and bounded by [`Limits`].

#![forbid(unsafe_code)]

mod error;
mod item;
mod limits;
pub mod message;
pub mod registry;
pub mod text;
pub mod translate;
mod ttlv;

pub use error::Error;
pub use item::{Item, ItemType, Value};
pub use limits::Limits;
pub use registry::enums;
pub use ttlv::{decode, encode};

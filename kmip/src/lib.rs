//! hyok-kmip: the KMIP protocol (1.0 to 2.1) as data, with no I/O and no crypto.
//!
//! So far: the TTLV tree ([`Item`], [`Value`]) and its binary encoding, with a total,
//! bounded decoder ([`decode`], [`Limits`]). The tag registry, the XML/JSON encodings and
//! typed messages build on these.

mod error;
mod item;
mod limits;
mod ttlv;

pub use error::Error;
pub use item::{Item, ItemType, Value};
pub use limits::Limits;
pub use ttlv::{decode, encode};

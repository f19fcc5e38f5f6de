//! Managed keys and their material: creating keys (material wrapped by the master key
//! before it reaches the database), unwrapping them on use through a bounded cache, and
//! re-wrapping them all after a master key rotation.
//! KMIP and XKS operations reach key material only through this service.

mod attributes;
mod cache;
mod kinds;
mod lifecycle;
mod objects;
mod records;
mod rekey;
mod rewrap;
mod service;
mod uid;
mod writes;

pub use attributes::Snapshot;
pub use cache::{CacheLimits, KeyCache, Material};
pub use kinds::RecordKinds;
pub use lifecycle::BLOCKED;
pub use objects::{NewManagedObject, KEPT_WRAPPED, OBJECT_ITEM};
pub use records::{chain, Chain, FoundBy, KeyRecord, RecordCache, MASK_DECRYPT, MASK_ENCRYPT};
pub use rewrap::RewrapReport;
pub use service::{digest, symmetric_key_bytes, KeyError, KeyService, NewSymmetricKey};
pub use uid::new_uid;

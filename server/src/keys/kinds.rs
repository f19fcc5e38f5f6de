//! An object record's state and object type as KMIP values. The database stores their
//! registry names; a name that is not one (a damaged row) reads as `None`, which every
//! caller treats as "not usable", never as a panic.

use hyok_db::ObjectRecord;
use hyok_kmip::enums::{ObjectType, State};

pub trait RecordKinds {
    /// The object's KMIP state, if the stored name is one.
    fn kmip_state(&self) -> Option<State>;
    /// The object's KMIP type, if the stored name is one.
    fn kmip_type(&self) -> Option<ObjectType>;
    /// Destroyed or Destroyed Compromised: its key material is gone.
    fn is_destroyed(&self) -> bool {
        matches!(
            self.kmip_state(),
            Some(State::Destroyed | State::DestroyedCompromised)
        )
    }
}

impl RecordKinds for ObjectRecord {
    fn kmip_state(&self) -> Option<State> {
        State::from_name(&self.state)
    }

    fn kmip_type(&self) -> Option<ObjectType> {
        ObjectType::from_name(&self.object_type)
    }
}

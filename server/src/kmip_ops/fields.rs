//! One field of a structure a request carries (Cryptographic Parameters, a Key Block,
//! Derivation Parameters, ...), read by its tag when it has the expected type.

use hyok_kmip::{Item, Value};

/// The Enumeration value of `field` in `item`.
pub fn enumeration(item: Option<&Item>, field: u32) -> Option<u32> {
    match item.and_then(|i| i.child(field)).map(|f| &f.value) {
        Some(Value::Enumeration(v)) => Some(*v),
        _ => None,
    }
}

/// The Integer value of `field` in `item`.
pub fn integer(item: Option<&Item>, field: u32) -> Option<i32> {
    match item.and_then(|i| i.child(field)).map(|f| &f.value) {
        Some(Value::Integer(v)) => Some(*v),
        _ => None,
    }
}

/// The Byte String value of `field` in `item`.
pub fn bytes(item: Option<&Item>, field: u32) -> Option<&[u8]> {
    match item.and_then(|i| i.child(field)).map(|f| &f.value) {
        Some(Value::ByteString(v)) => Some(v),
        _ => None,
    }
}

//! Enumeration names the database stores (an object's type and algorithm, its links,
//! its revocation reason...) read back as KMIP values without trusting them: a name the
//! registry lacks is logged and left out of the answer, never a panic; and the KMIP
//! object kept whole for an object that is not a plain symmetric key, decoded.

use hyok_kmip::enums::{CryptographicAlgorithm, ResultReason};
use hyok_kmip::registry::KmipEnum;
use hyok_kmip::{Item, Limits};

use crate::kmip_ops::error::KmipError;

/// The value `name` stands for in `E`, if it is one.
pub fn from_stored<E: KmipEnum>(name: &str) -> Option<E> {
    let value = E::from_name(name);
    if value.is_none() {
        tracing::warn!(
            enumeration = E::ENUMERATION,
            name,
            "a stored value is not a KMIP name; it is left out of the answer"
        );
    }
    value
}

/// The Cryptographic Algorithm an attribute map stores, if it names one.
pub fn stored_algorithm(stored: &serde_json::Value) -> Option<CryptographicAlgorithm> {
    stored["CryptographicAlgorithm"]
        .as_str()
        .and_then(from_stored::<CryptographicAlgorithm>)
}

/// An Enumeration item of `tag` holding the value `name` stands for in `E`, if it is one.
pub fn stored_item<E: KmipEnum>(tag: u32, name: &str) -> Option<Item> {
    from_stored::<E>(name).map(|value| Item::enumeration(tag, value.value()))
}

/// The error of a stored object of `uid` that does not read back.
pub fn damaged(uid: &str) -> KmipError {
    KmipError::new(
        ResultReason::GeneralFailure,
        format!("the stored form of {uid} is damaged"),
    )
}

/// The KMIP object kept whole for `uid` (its unwrapped material), decoded.
pub fn stored_object(uid: &str, material: &[u8]) -> Result<Item, KmipError> {
    hyok_kmip::decode(material, &Limits::default()).map_err(|_| damaged(uid))
}

#[cfg(test)]
mod tests {
    use hyok_kmip::enums::{LinkType, State};
    use hyok_kmip::registry::tag;
    use hyok_kmip::Value;

    use super::*;

    #[test]
    fn a_stored_name_becomes_its_value_and_a_damaged_one_nothing() {
        let item = stored_item::<State>(tag::STATE, "Active").expect("a state");
        assert_eq!(item.value, Value::Enumeration(State::Active.value()));
        assert_eq!(from_stored::<State>("Activ"), None);
        assert!(stored_item::<LinkType>(tag::LINK_TYPE, "").is_none());
    }
}

//! The Locate conditions the database can answer, as SQL filters on how attributes are
//! stored ([`crate::kmip_ops::attributes`]): the object's columns, its names, and the
//! searchable rows of its stored attributes. A condition on an attribute hyok derives
//! rather than stores (Fresh, Lease Time, Short Unique Identifier, ...) has no filter;
//! Locate checks every condition on the object itself afterwards, so a filter only ever
//! narrows the objects read. The stored fields these filters name are the ones migration
//! 0009 indexes; a filter on another field would find nothing.

use hyok_db::Filter;
use hyok_kmip::enums;
use hyok_kmip::registry::tag;
use hyok_kmip::registry::KmipEnum;
use hyok_kmip::{Item, Value};

use super::attributes::{is_blocked_attribute, kept_json, stored_date_key, KEPT};

/// Attributes of_object renders from something other than the kept attributes.
const DERIVED: [u32; 23] = [
    tag::UNIQUE_IDENTIFIER,
    tag::OBJECT_TYPE,
    tag::CRYPTOGRAPHIC_ALGORITHM,
    tag::CRYPTOGRAPHIC_LENGTH,
    tag::CRYPTOGRAPHIC_USAGE_MASK,
    tag::STATE,
    tag::DIGEST,
    tag::NAME,
    tag::INITIAL_DATE,
    tag::LAST_CHANGE_DATE,
    tag::ORIGINAL_CREATION_DATE,
    tag::SHORT_UNIQUE_IDENTIFIER,
    tag::KEY_FORMAT_TYPE,
    tag::SENSITIVE,
    tag::ALWAYS_SENSITIVE,
    tag::EXTRACTABLE,
    tag::NEVER_EXTRACTABLE,
    tag::FRESH,
    tag::LEASE_TIME,
    tag::PROTECTION_STORAGE_MASK,
    tag::RANDOM_NUMBER_GENERATOR,
    tag::REVOCATION_REASON,
    tag::LINK,
];

fn name_of<E: KmipEnum>(value: &Value) -> Option<String> {
    match value {
        Value::Enumeration(v) => E::from_value(*v).map(|e| e.name().to_string()),
        _ => None,
    }
}

/// The filter that finds the objects carrying `attribute`, if the database can tell.
pub fn equals(attribute: &Item) -> Option<Filter> {
    let text = |field: &str, text: String| Filter::Text {
        field: field.into(),
        text,
    };
    match (attribute.tag, &attribute.value) {
        (tag::UNIQUE_IDENTIFIER, Value::TextString(uid)) => Some(Filter::Uid(uid.clone())),
        (tag::OBJECT_TYPE, v) => name_of::<enums::ObjectType>(v).map(Filter::ObjectType),
        (tag::STATE, v) => name_of::<enums::State>(v).map(Filter::State),
        (tag::CRYPTOGRAPHIC_ALGORITHM, v) => name_of::<enums::CryptographicAlgorithm>(v)
            .map(|name| text("CryptographicAlgorithm", name)),
        (tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(bits)) => Some(Filter::NumberBetween {
            field: "CryptographicLength".into(),
            from: i64::from(*bits),
            to: i64::from(*bits),
        }),
        (tag::ATTRIBUTE, _) if is_blocked_attribute(attribute) => None,
        (t, _) if DERIVED.contains(&t) || stored_date_key(t).is_some() => None,
        _ => kept_json(attribute).map(|json| Filter::Json {
            field: KEPT.into(),
            json,
        }),
    }
}

/// The filter for a date attribute within [from, to] (seconds), if the database can tell.
pub fn date_between(date_tag: u32, from: i64, to: i64) -> Option<Filter> {
    let (from, to) = (
        from.saturating_mul(1000),
        to.saturating_mul(1000).saturating_add(999),
    );
    match date_tag {
        tag::INITIAL_DATE | tag::ORIGINAL_CREATION_DATE => Some(Filter::CreatedBetween(from, to)),
        tag::LAST_CHANGE_DATE => Some(Filter::ChangedBetween(from, to)),
        other => stored_date_key(other).map(|key| Filter::NumberBetween {
            field: key.into(),
            from,
            to,
        }),
    }
}

/// The filter for a usage mask with every bit of `bits`.
pub fn mask_includes(bits: i32) -> Filter {
    Filter::BitsSet {
        field: "CryptographicUsageMask".into(),
        bits: i64::from(bits),
    }
}

/// The filter for a name; `destroyed_too`: also one a destroyed object left.
pub fn named(name: &str, destroyed_too: bool) -> Filter {
    Filter::Named {
        name: name.into(),
        live_only: !destroyed_too,
    }
}

//! KMIP attributes (2.x form) and how an object stores them.
//!
//! The attributes the server acts on live under their own names in the object's
//! attribute map (`CryptographicAlgorithm` as its enumeration name, lengths and masks as
//! numbers, dates in Unix milliseconds, `Links`); names live in the object's name index;
//! every other attribute a client sets (Description, Object Group, vendor attributes, ...)
//! is kept as it came, in JSON-TTLV, under `kmip`.

use hyok_db::ObjectRecord;
use hyok_kmip::enums;
use hyok_kmip::enums::ResultReason;
use hyok_kmip::registry::tag;
use hyok_kmip::text::{from_json, to_json_ttlv};
use hyok_kmip::{Item, Limits, Value};
use serde_json::{json, Map, Value as Json};

use super::error::KmipError;
use super::stored::stored_item;

/// The name of the block attribute under vendor `x` (the map key is `x-hyok-blocked`).
const BLOCKED_NAME: &str = "hyok-blocked";

/// The Lease Time hyok reports (seconds).
const LEASE_SECONDS: u32 = 3600;

/// The map key of attributes kept as they came.
pub const KEPT: &str = "kmip";

/// Dates the server sets, by tag and map key.
const DATES: [(u32, &str); 5] = [
    (tag::ACTIVATION_DATE, "ActivationDate"),
    (tag::DEACTIVATION_DATE, "DeactivationDate"),
    (tag::COMPROMISE_DATE, "CompromiseDate"),
    (tag::COMPROMISE_OCCURRENCE_DATE, "CompromiseOccurrenceDate"),
    (tag::DESTROY_DATE, "DestroyDate"),
];

/// Attributes only the server sets.
const SERVER_SET: [u32; 12] = [
    tag::UNIQUE_IDENTIFIER,
    tag::STATE,
    tag::INITIAL_DATE,
    tag::LAST_CHANGE_DATE,
    tag::CERTIFICATE_LENGTH,
    tag::CERTIFICATE_SUBJECT_CN,
    tag::CERTIFICATE_ISSUER_CN,
    tag::CERTIFICATE_SUBJECT_O,
    tag::COMPROMISE_DATE,
    tag::DESTROY_DATE,
    tag::DIGEST,
    tag::ORIGINAL_CREATION_DATE,
];

/// The attributes of a Create request, sorted into what the server acts on.
#[derive(Debug, Default)]
pub struct Requested {
    pub algorithm: Option<u32>,
    pub length: Option<i32>,
    pub names: Vec<String>,
    /// Seconds.
    pub activation_date: Option<i64>,
    /// Stored as they are (usage mask, kept attributes).
    pub stored: Map<String, Json>,
}

pub fn requested(attributes: &[Item]) -> Result<Requested, KmipError> {
    let mut out = Requested::default();
    let mut kept = Vec::new();
    for attribute in attributes {
        let name = hyok_kmip::registry::tag_name(attribute.tag).unwrap_or("an unknown attribute");
        match (attribute.tag, &attribute.value) {
            (tag::CRYPTOGRAPHIC_ALGORITHM, Value::Enumeration(v)) => out.algorithm = Some(*v),
            (tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(v)) => out.length = Some(*v),
            (tag::CRYPTOGRAPHIC_USAGE_MASK, Value::Integer(v)) => {
                out.stored.insert("CryptographicUsageMask".into(), json!(v));
            }
            (tag::NAME, Value::Structure(_)) => match attribute.child(tag::NAME_VALUE) {
                Some(Item {
                    value: Value::TextString(text),
                    ..
                }) => out.names.push(text.clone()),
                _ => return Err(KmipError::invalid_field("a Name needs a Name Value")),
            },
            (tag::ACTIVATION_DATE, Value::DateTime(seconds)) => {
                out.activation_date = Some(*seconds)
            }
            // A planned end of use (hyok records it; revoking is still the client's call).
            (tag::DEACTIVATION_DATE, Value::DateTime(seconds)) => {
                out.stored.insert(
                    "DeactivationDate".into(),
                    json!(seconds.saturating_mul(1000)),
                );
            }
            (tag::OBJECT_TYPE, Value::Enumeration(_)) => {}
            // Kept as the client gave it; Always Sensitive starts true with it.
            (tag::SENSITIVE, Value::Boolean(sensitive)) => {
                out.stored.insert(ALWAYS_SENSITIVE.into(), json!(sensitive));
                kept.push(keep(attribute)?);
            }
            (t, _) if SERVER_SET.contains(&t) => {
                return Err(KmipError::new(
                    ResultReason::AttributeReadOnly,
                    format!("{name} is set by the server, not by the client"),
                ))
            }
            (
                tag::CRYPTOGRAPHIC_ALGORITHM
                | tag::CRYPTOGRAPHIC_LENGTH
                | tag::CRYPTOGRAPHIC_USAGE_MASK
                | tag::ACTIVATION_DATE,
                _,
            ) => {
                return Err(KmipError::new(
                    ResultReason::InvalidAttributeValue,
                    format!("{name} has the wrong type"),
                ))
            }
            _ => kept.push(keep(attribute)?),
        }
    }
    if !kept.is_empty() {
        out.stored.insert(KEPT.into(), Json::Array(kept));
    }
    Ok(out)
}

/// `attribute` as kept in the stored map (TTLV-JSON text), as Locate compares it.
pub fn kept_json(attribute: &Item) -> Option<String> {
    keep(attribute).ok().map(|json| json.to_string())
}

/// The stored map's key of a date attribute kept in milliseconds.
pub fn stored_date_key(date_tag: u32) -> Option<&'static str> {
    DATES
        .iter()
        .find(|(t, _)| *t == date_tag)
        .map(|(_, key)| *key)
}

/// Whether `attribute` is hyok's block attribute (derived from the stored block flag).
pub fn is_blocked_attribute(attribute: &Item) -> bool {
    matches_reference(attribute, &blocked_reference())
}

fn keep(attribute: &Item) -> Result<Json, KmipError> {
    serde_json::from_str(&to_json_ttlv(attribute)).map_err(|_| {
        KmipError::new(
            ResultReason::GeneralFailure,
            "an attribute could not be stored",
        )
    })
}

fn millis_to_seconds(value: &Json) -> Option<i64> {
    value.as_i64().map(|millis| millis.div_euclid(1000))
}

/// Every attribute of an object, in the 2.x form.
pub fn of_object(object: &ObjectRecord, object_names: &[String]) -> Vec<Item> {
    let stored = object.attributes();
    let mut out = vec![Item::text(tag::UNIQUE_IDENTIFIER, &object.uid)];
    out.extend(stored_item::<enums::ObjectType>(
        tag::OBJECT_TYPE,
        &object.object_type,
    ));
    if let Some(algorithm) = stored["CryptographicAlgorithm"].as_str() {
        out.extend(stored_item::<enums::CryptographicAlgorithm>(
            tag::CRYPTOGRAPHIC_ALGORITHM,
            algorithm,
        ));
    }
    if let Some(length) = stored["CryptographicLength"].as_i64() {
        out.push(Item::integer(tag::CRYPTOGRAPHIC_LENGTH, length as i32));
    }
    if let Some(mask) = stored["CryptographicUsageMask"].as_i64() {
        out.push(Item::integer(tag::CRYPTOGRAPHIC_USAGE_MASK, mask as i32));
    }
    out.extend(stored_item::<enums::State>(tag::STATE, &object.state));
    if let Some(digest) = stored["Digest"].as_str().and_then(|d| hex::decode(d).ok()) {
        let mut parts = vec![
            Item::enumeration(
                tag::HASHING_ALGORITHM,
                enums::HashingAlgorithm::SHA_256.value(),
            ),
            Item::bytes(tag::DIGEST_VALUE, digest),
        ];
        parts.extend(key_format_type(stored));
        out.push(Item::structure(tag::DIGEST, parts));
    }
    for name in object_names {
        out.push(Item::structure(
            tag::NAME,
            vec![
                Item::text(tag::NAME_VALUE, name),
                Item::enumeration(
                    tag::NAME_TYPE,
                    enums::NameType::UninterpretedTextString.value(),
                ),
            ],
        ));
    }
    out.push(Item::date_time(
        tag::INITIAL_DATE,
        object.created_at.div_euclid(1000),
    ));
    out.push(Item::date_time(
        tag::LAST_CHANGE_DATE,
        object.updated_at.div_euclid(1000),
    ));
    out.push(Item::date_time(
        tag::ORIGINAL_CREATION_DATE,
        object.created_at.div_euclid(1000),
    ));
    out.extend(protection(object, stored));
    for (tag, key) in DATES {
        if let Some(seconds) = millis_to_seconds(&stored[key]) {
            out.push(Item::date_time(tag, seconds));
        }
    }
    if let Some(links) = stored["Links"].as_object() {
        for (link_type, target) in links {
            if let Some(target) = target.as_str() {
                if let Some(link_type) = stored_item::<enums::LinkType>(tag::LINK_TYPE, link_type) {
                    out.push(Item::structure(
                        tag::LINK,
                        vec![link_type, Item::text(tag::LINKED_OBJECT_IDENTIFIER, target)],
                    ));
                }
            }
        }
    }
    for kept in stored[KEPT].as_array().into_iter().flatten() {
        if let Ok(item) = from_json(&kept.to_string(), &Limits::default()) {
            out.push(item);
        }
    }
    out
}

/// What the server knows about how a key is held: its short identifier, format,
/// sensitivity (hyok keys can be exported with Get by who may), freshness (true until
/// first returned by Get), the generator that drew it, its storage, its revocation.
fn protection(object: &ObjectRecord, stored: &Json) -> Vec<Item> {
    use sha2::Digest as _;
    let mut out = vec![Item::bytes(
        tag::SHORT_UNIQUE_IDENTIFIER,
        sha2::Sha256::digest(object.uid.as_bytes()).to_vec(),
    )];
    out.extend(key_format_type(stored));
    if kept_tagged(stored, tag::SENSITIVE).is_empty() {
        out.push(Item::boolean(tag::SENSITIVE, false));
    }
    out.extend([
        Item::boolean(
            tag::ALWAYS_SENSITIVE,
            stored[ALWAYS_SENSITIVE].as_bool() == Some(true),
        ),
        Item::boolean(tag::EXTRACTABLE, true),
        Item::boolean(tag::NEVER_EXTRACTABLE, false),
        Item::boolean(tag::FRESH, stored["Fresh"].as_bool() != Some(false)),
        // How long a client may keep using a key it holds before checking back: an hour.
        // (hyok checks state and grants on every use it serves itself.)
        Item::new(tag::LEASE_TIME, Value::Interval(LEASE_SECONDS)),
        Item::integer(
            tag::PROTECTION_STORAGE_MASK,
            enums::ProtectionStorageMask::Software.value() as i32,
        ),
    ]);
    if let Some(generator) = stored["RandomNumberGenerator"].as_str() {
        if let Some(algorithm) = stored_item::<enums::RNGAlgorithm>(tag::RNG_ALGORITHM, generator) {
            out.push(Item::structure(
                tag::RANDOM_NUMBER_GENERATOR,
                vec![algorithm],
            ));
        }
    }
    if stored[crate::keys::BLOCKED].as_bool() == Some(true) {
        out.push(blocked_attribute(true));
    }
    if let Some(code) = stored["RevocationReason"].as_str() {
        if let Some(code) =
            stored_item::<enums::RevocationReasonCode>(tag::REVOCATION_REASON_CODE, code)
        {
            out.push(Item::structure(tag::REVOCATION_REASON, vec![code]));
        }
    }
    out
}

/// The Key Format Type an object is stored in (Raw unless it says otherwise).
fn key_format_type(stored: &Json) -> Option<Item> {
    let format = stored["KeyFormatType"].as_str().unwrap_or("Raw");
    stored_item::<enums::KeyFormatType>(tag::KEY_FORMAT_TYPE, format)
}

/// The Attribute Reference of hyok's block attribute.
pub fn blocked_reference() -> Item {
    Item::structure(
        tag::ATTRIBUTE_REFERENCE,
        vec![
            Item::text(tag::VENDOR_IDENTIFICATION, "x"),
            Item::text(tag::ATTRIBUTE_NAME, BLOCKED_NAME),
        ],
    )
}

/// hyok's block attribute, as a vendor attribute.
fn blocked_attribute(blocked: bool) -> Item {
    Item::structure(
        tag::ATTRIBUTE,
        vec![
            Item::text(tag::VENDOR_IDENTIFICATION, "x"),
            Item::text(tag::ATTRIBUTE_NAME, BLOCKED_NAME),
            Item::boolean(tag::ATTRIBUTE_VALUE, blocked),
        ],
    )
}

/// Whether an attribute item answers an Attribute Reference (a tag, or a vendor
/// attribute's identification and name).
pub fn matches_reference(attribute: &Item, reference: &Item) -> bool {
    match &reference.value {
        Value::Enumeration(tag) => attribute.tag == *tag,
        Value::Structure(_) => {
            let text = |item: &Item, wanted: u32| match item.child(wanted) {
                Some(Item {
                    value: Value::TextString(s),
                    ..
                }) => Some(s.clone()),
                _ => None,
            };
            attribute.tag == tag::ATTRIBUTE
                && text(attribute, tag::VENDOR_IDENTIFICATION)
                    == text(reference, tag::VENDOR_IDENTIFICATION)
                && text(attribute, tag::ATTRIBUTE_NAME) == text(reference, tag::ATTRIBUTE_NAME)
        }
        _ => false,
    }
}

/// The Attribute Reference of an attribute item.
pub fn reference_of(attribute: &Item) -> Item {
    if attribute.tag == tag::ATTRIBUTE {
        let pick = |wanted: u32| attribute.child(wanted).cloned();
        Item::structure(
            tag::ATTRIBUTE_REFERENCE,
            [pick(tag::VENDOR_IDENTIFICATION), pick(tag::ATTRIBUTE_NAME)]
                .into_iter()
                .flatten()
                .collect(),
        )
    } else {
        Item::enumeration(tag::ATTRIBUTE_REFERENCE, attribute.tag)
    }
}

/// Whether two attribute items are instances of the same attribute (same tag; for vendor
/// attributes, same vendor and name).
pub fn same_attribute(a: &Item, b: &Item) -> bool {
    a.tag == b.tag && (a.tag != tag::ATTRIBUTE || matches_reference(a, &reference_of(b)))
}

/// What a client may change with Add, Set, Modify and Delete Attribute.
pub enum Changeable {
    /// hyok's reversible block (vendor attribute `x` / `hyok-blocked`, 1.x `x-hyok-blocked`).
    Blocked(bool),
    /// The Activation Date of a Pre-Active object (seconds).
    ActivationDate(i64),
    /// A name (multi-valued; in the name index).
    Name(String),
    /// The usage mask (single-valued; in the attribute map).
    UsageMask(i32),
    /// A link a client may set (not the key-pair and re-key links the server keeps): its
    /// type's name and the linked object.
    Link(&'static str, String),
    /// Any other client attribute, kept as it came.
    Kept,
}

/// The link types the server sets itself (Create Key Pair, Re-key).
const SERVER_LINKS: [enums::LinkType; 4] = [
    enums::LinkType::PublicKeyLink,
    enums::LinkType::PrivateKeyLink,
    enums::LinkType::ReplacementObjectLink,
    enums::LinkType::ReplacedObjectLink,
];

/// Sorts an attribute a client wants to change; refuses what only the server sets.
pub fn changeable(attribute: &Item) -> Result<Changeable, KmipError> {
    if matches_reference(attribute, &blocked_reference()) {
        return match attribute.child(tag::ATTRIBUTE_VALUE).map(|v| &v.value) {
            Some(Value::Boolean(blocked)) => Ok(Changeable::Blocked(*blocked)),
            _ => Err(KmipError::new(
                ResultReason::InvalidAttributeValue,
                "x-hyok-blocked is a Boolean",
            )),
        };
    }
    let name = hyok_kmip::registry::tag_name(attribute.tag).unwrap_or("an unknown attribute");
    match (attribute.tag, &attribute.value) {
        (tag::NAME, _) => match attribute.child(tag::NAME_VALUE).map(|v| &v.value) {
            Some(Value::TextString(text)) => Ok(Changeable::Name(text.clone())),
            _ => Err(KmipError::invalid_field("a Name needs a Name Value")),
        },
        (tag::CRYPTOGRAPHIC_USAGE_MASK, Value::Integer(mask)) => Ok(Changeable::UsageMask(*mask)),
        (tag::LINK, _) => {
            let link_type = match attribute.child(tag::LINK_TYPE).map(|t| &t.value) {
                Some(Value::Enumeration(value)) => enums::LinkType::from_value(*value),
                _ => None,
            };
            let target = match attribute
                .child(tag::LINKED_OBJECT_IDENTIFIER)
                .map(|t| &t.value)
            {
                Some(Value::TextString(target)) => Some(target.clone()),
                _ => None,
            };
            match (link_type, target) {
                (Some(link_type), _) if SERVER_LINKS.contains(&link_type) => Err(KmipError::new(
                    ResultReason::AttributeReadOnly,
                    format!(
                        "a {link_type} is set by Create Key Pair and Re-key, not by the client"
                    ),
                )),
                (Some(link_type), Some(target)) => Ok(Changeable::Link(link_type.name(), target)),
                _ => Err(KmipError::invalid_field(
                    "a Link needs a Link Type KMIP names and a Linked Object Identifier",
                )),
            }
        }
        (tag::ACTIVATION_DATE, Value::DateTime(seconds)) => {
            Ok(Changeable::ActivationDate(*seconds))
        }
        (
            tag::OBJECT_TYPE
            | tag::CRYPTOGRAPHIC_ALGORITHM
            | tag::CRYPTOGRAPHIC_LENGTH
            | tag::CRYPTOGRAPHIC_USAGE_MASK
            | tag::ACTIVATION_DATE
            | tag::COMPROMISE_OCCURRENCE_DATE,
            _,
        ) => Err(KmipError::new(
            ResultReason::AttributeReadOnly,
            format!("{name} cannot be changed this way (lifecycle operations and Re-key set it)"),
        )),
        (t, _) if SERVER_SET.contains(&t) => Err(KmipError::new(
            ResultReason::AttributeReadOnly,
            format!("{name} is set by the server, not by the client"),
        )),
        _ => Ok(Changeable::Kept),
    }
}

/// Adds attributes the server derived (certificate fields, ...) to those kept in `map`.
pub fn keep_more(map: &mut Map<String, Json>, items: &[Item]) -> Result<(), KmipError> {
    let mut all = match map.remove(KEPT) {
        Some(Json::Array(kept)) => kept,
        _ => Vec::new(),
    };
    for item in items {
        all.push(keep(item)?);
    }
    map.insert(KEPT.into(), Json::Array(all));
    Ok(())
}

/// The Cryptographic Parameters of one use of `object`: each field the request gives, and
/// the fields of the object's own Cryptographic Parameters attribute it does not.
pub fn cryptographic_parameters(requested: Option<&Item>, object: &ObjectRecord) -> Option<Item> {
    let own = kept_tagged(object.attributes(), tag::CRYPTOGRAPHIC_PARAMETERS)
        .into_iter()
        .next();
    match (requested, own) {
        (None, own) => own,
        (Some(requested), None) => Some(requested.clone()),
        (Some(requested), Some(own)) => {
            let mut fields = requested.children().unwrap_or_default().to_vec();
            for field in own.children().unwrap_or_default() {
                if !fields.iter().any(|f| f.tag == field.tag) {
                    fields.push(field.clone());
                }
            }
            Some(Item::structure(tag::CRYPTOGRAPHIC_PARAMETERS, fields))
        }
    }
}

/// The kept attributes of tag `wanted`, as items: only those entries are decoded (a
/// cryptographic operation reads one or two kept attributes, not all of them).
pub fn kept_tagged(stored: &Json, wanted: u32) -> Vec<Item> {
    let Some(name) = hyok_kmip::registry::tag_name(wanted) else {
        return Vec::new();
    };
    stored[KEPT]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|kept| kept["tag"].as_str() == Some(name))
        .filter_map(|kept| from_json(&kept.to_string(), &Limits::default()).ok())
        .collect()
}

/// Sets the `link_type` Link (a LinkType name) of an attribute map to `target`.
pub fn set_link(stored: &mut Json, link_type: &str, target: &str) {
    if !stored["Links"].is_object() {
        stored["Links"] = json!({});
    }
    stored["Links"][link_type] = json!(target);
}

/// The kept attributes of an attribute map, as items.
pub fn kept(stored: &Json) -> Vec<Item> {
    stored[KEPT]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|kept| from_json(&kept.to_string(), &Limits::default()).ok())
        .collect()
}

/// Replaces the kept attributes of an attribute map (a key no longer Sensitive is no
/// longer Always Sensitive, for good).
pub fn set_kept(stored: &mut Json, items: &[Item]) -> Result<(), KmipError> {
    let kept = items.iter().map(keep).collect::<Result<Vec<_>, _>>()?;
    stored[KEPT] = Json::Array(kept);
    if !is_sensitive(items) {
        stored[ALWAYS_SENSITIVE] = json!(false);
    }
    Ok(())
}

/// Whether kept attributes say Sensitive: true (Get then refuses to return the key).
pub fn is_sensitive(items: &[Item]) -> bool {
    items
        .iter()
        .any(|a| a.tag == tag::SENSITIVE && a.value == Value::Boolean(true))
}

/// The stored mark of a key that has been Sensitive since it was made.
const ALWAYS_SENSITIVE: &str = "AlwaysSensitive";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_tagged_finds_what_kept_finds() {
        let attributes = [
            Item::structure(
                tag::CRYPTOGRAPHIC_PARAMETERS,
                vec![Item::enumeration(
                    tag::PADDING_METHOD,
                    enums::PaddingMethod::OAEP.value(),
                )],
            ),
            Item::new(tag::PROTECT_STOP_DATE, Value::DateTime(1_700_000_000)),
            Item::new(tag::PROCESS_START_DATE, Value::DateTime(1_600_000_000)),
            Item::boolean(tag::SENSITIVE, true),
            Item::structure(
                tag::USAGE_LIMITS,
                vec![Item::new(tag::USAGE_LIMITS_TOTAL, Value::LongInteger(16))],
            ),
        ];
        let mut stored = json!({});
        set_kept(&mut stored, &attributes).unwrap();
        let all = kept(&stored);
        for attribute in &attributes {
            let one: Vec<Item> = all
                .iter()
                .filter(|a| a.tag == attribute.tag)
                .cloned()
                .collect();
            assert_eq!(kept_tagged(&stored, attribute.tag), one);
            assert_eq!(one, vec![attribute.clone()]);
        }
        assert!(kept_tagged(&stored, tag::NAME).is_empty());
    }
}

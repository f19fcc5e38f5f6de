//! The JSON encodings of KMIP: each item is `{"tag": ..., "type": ..., "value": ...}`.
//!
//! - [`to_json`]: the JSON encoding of Additional Message Encodings 1.0, section 4.1
//!   (type omitted for structures, masks as `"Encrypt|Decrypt"`).
//! - [`to_json_ttlv`]: the JSON-TTLV flavour that existing KMIP 2.1 HTTP clients send to
//!   `/kmip/2_1` (type always present, masks as numbers).
//!
//! [`from_json`] reads both, with every value form the specification allows (numbers or
//! hex strings, enumeration names, mask names, ISO 8601 or hex date-times).

use serde_json::{json, Map, Value as Json};

use super::values::{self, Naming};
use super::{message_version, Limits};
use crate::error::Error;
use crate::item::{Item, ItemType, Value};
use crate::registry::{tag, Version};

fn error(reason: impl std::fmt::Display) -> Error {
    Error::Text(format!("JSON: {reason}"))
}

/// Reads one item from JSON (either flavour).
pub fn from_json(text: &str, limits: &Limits) -> Result<Item, Error> {
    if text.len() > limits.max_message_bytes {
        return Err(Error::Limit("message size"));
    }
    // serde_json bounds its own recursion (128 levels); ours is checked below.
    let json: Json = serde_json::from_str(text).map_err(error)?;
    let mut count = 0usize;
    read(&json, None, 0, limits, &mut count)
}

fn read(
    json: &Json,
    attribute_name: Option<&str>,
    depth: usize,
    limits: &Limits,
    count: &mut usize,
) -> Result<Item, Error> {
    *count += 1;
    if *count > limits.max_items {
        return Err(Error::Limit("items"));
    }
    if depth >= limits.max_depth {
        return Err(Error::Limit("depth"));
    }
    let object = json
        .as_object()
        .ok_or_else(|| error("an item must be an object with tag, type and value"))?;
    let tag_text = object
        .get("tag")
        .and_then(Json::as_str)
        .ok_or_else(|| error("an item needs a string \"tag\""))?;
    let tag = values::parse_tag(tag_text).map_err(error)?;
    let item_type = match object.get("type") {
        None => ItemType::Structure,
        Some(Json::String(name)) => values::item_type(name)
            .ok_or_else(|| error(format!("{tag_text}: unknown type {name:?}")))?,
        Some(other) => return Err(error(format!("{tag_text}: type {other} is not a string"))),
    };
    let value = object.get("value").unwrap_or(&Json::Null);
    let naming = Naming::of(tag, attribute_name, None);
    let parsed = match (item_type, value) {
        (ItemType::Structure, Json::Null) => Value::Structure(Vec::new()),
        (ItemType::Structure, Json::Array(children)) => {
            let mut items = Vec::with_capacity(children.len().min(limits.max_items));
            let mut attribute_name: Option<String> = None;
            for child in children {
                let item = read(child, attribute_name.as_deref(), depth + 1, limits, count)?;
                if let (tag::ATTRIBUTE_NAME, Value::TextString(name)) = (item.tag, &item.value) {
                    attribute_name = Some(name.clone());
                }
                items.push(item);
            }
            Value::Structure(items)
        }
        (ItemType::Structure, _) => {
            return Err(error(format!(
                "{tag_text}: a Structure's value is an array"
            )))
        }
        (ItemType::Boolean, Json::Bool(b)) => Value::Boolean(*b),
        (ItemType::TextString, Json::String(text)) => Value::TextString(text.clone()),
        (ItemType::TextString, _) => {
            return Err(error(format!(
                "{tag_text}: a Text String's value is a string"
            )))
        }
        (ItemType::BigInteger, Json::Number(n)) => {
            let v = n
                .as_i64()
                .ok_or_else(|| error(format!("{tag_text}: {n} is not an integer")))?;
            Value::BigInteger(v.to_be_bytes().to_vec())
        }
        (_, Json::Number(n)) => {
            let text = n.to_string();
            values::parse_leaf(item_type, &text, &naming)
                .map_err(|reason| error(format!("{tag_text}: {reason}")))?
        }
        (_, Json::String(text)) => values::parse_leaf(item_type, text, &naming)
            .map_err(|reason| error(format!("{tag_text}: {reason}")))?,
        (_, other) => {
            return Err(error(format!(
                "{tag_text}: {other} is not a value of type {item_type:?}"
            )))
        }
    };
    Ok(Item { tag, value: parsed })
}

#[derive(Clone, Copy, PartialEq)]
enum Flavour {
    MessageEncodings,
    Ttlv,
}

/// Writes an item in the JSON encoding of Additional Message Encodings 1.0.
pub fn to_json(item: &Item) -> String {
    write(item, message_version(item), None, Flavour::MessageEncodings).to_string()
}

/// Writes an item in the JSON-TTLV flavour.
pub fn to_json_ttlv(item: &Item) -> String {
    write(item, message_version(item), None, Flavour::Ttlv).to_string()
}

/// Numbers a JSON reader may hold exactly (AME 4.1.6.5: below 2^52).
const EXACT: i64 = 1 << 52;

fn write(
    item: &Item,
    version: Option<Version>,
    attribute_name: Option<&str>,
    flavour: Flavour,
) -> Json {
    let naming = Naming::of(item.tag, attribute_name, version);
    let value = match &item.value {
        Value::Structure(children) => {
            let mut attribute_name: Option<&str> = None;
            let mut out = Vec::with_capacity(children.len());
            for child in children {
                out.push(write(child, version, attribute_name, flavour));
                if let (tag::ATTRIBUTE_NAME, Value::TextString(name)) = (child.tag, &child.value) {
                    attribute_name = Some(name);
                }
            }
            Json::Array(out)
        }
        Value::Integer(v) => match naming.enumeration.filter(|e| e.mask) {
            Some(_) if flavour == Flavour::MessageEncodings && *v != 0 => {
                json!(values::integer_text(*v, &naming, "|"))
            }
            _ => json!(v),
        },
        Value::LongInteger(v) if (-EXACT..EXACT).contains(v) => json!(v),
        Value::LongInteger(v) => json!(format!("0x{:016x}", *v as u64)),
        Value::BigInteger(bytes) => json!(format!("0x{}", hex::encode_upper(bytes))),
        Value::Enumeration(v) => json!(values::enumeration_text(*v, &naming)),
        Value::Boolean(v) => json!(v),
        Value::TextString(text) => json!(text),
        Value::ByteString(bytes) => json!(hex::encode_upper(bytes)),
        Value::DateTime(v) => json!(values::date_time_text(*v)),
        Value::Interval(v) => json!(v),
        Value::DateTimeExtended(v) => json!(values::date_time_extended_text(*v)),
    };
    let mut object = Map::new();
    object.insert("tag".into(), json!(values::tag_text(item.tag)));
    if flavour == Flavour::Ttlv || !matches!(item.value, Value::Structure(_)) {
        object.insert(
            "type".into(),
            json!(values::type_name(item.value.item_type())),
        );
    }
    object.insert("value".into(), value);
    Json::Object(object)
}

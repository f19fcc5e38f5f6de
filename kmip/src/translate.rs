//! KMIP 1.x ↔ 2.x payload translation, done here once so that the rest of hyok speaks
//! only the 2.x form.
//!
//! 1.x carries attributes as `Attribute` triples (Attribute Name as text, optional
//! Attribute Index, Attribute Value tagged `AttributeValue`) inside `TemplateAttribute`
//! structures; 2.x carries them as typed items (the value's tag is the attribute) inside
//! `Attributes`, names attributes by `AttributeReference` (a tag), drops templates and
//! Operation Policy Name, and turns 1.x custom attributes (`x-Name`, `y-Name`) into
//! vendor attributes (Vendor Identification `x` / `y`, Attribute Name `Name`).
//!
//! [`upgrade`] turns a 1.x payload into the 2.x form; [`downgrade`] turns a 2.x payload
//! into the form of a 1.x version, leaving out attributes that version does not define,
//! and numbering the attributes a response lists (Attribute Index 0, 1, … per name).

use std::collections::HashMap;

use crate::item::{Item, Value};
use crate::registry::{self, tag, Version};

/// Why a payload cannot be expressed in the other form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranslateError {
    #[error("templates are not supported (a Template Attribute names template {0:?})")]
    Template(String),
    #[error("unknown attribute {0:?}")]
    UnknownAttribute(String),
    #[error("malformed attribute: {0}")]
    Malformed(&'static str),
    #[error("an Attribute Index other than 0 has no KMIP 2 equivalent")]
    AttributeIndex,
}

/// The 1.x container of each 2.x attribute structure.
const CONTAINERS: [(u32, u32); 4] = [
    (tag::TEMPLATE_ATTRIBUTE, tag::ATTRIBUTES),
    (tag::COMMON_TEMPLATE_ATTRIBUTE, tag::COMMON_ATTRIBUTES),
    (
        tag::PRIVATE_KEY_TEMPLATE_ATTRIBUTE,
        tag::PRIVATE_KEY_ATTRIBUTES,
    ),
    (
        tag::PUBLIC_KEY_TEMPLATE_ATTRIBUTE,
        tag::PUBLIC_KEY_ATTRIBUTES,
    ),
];

/// A 1.x Attribute structure → the 2.x attribute item. `None` for attributes 2.x dropped.
pub fn attribute_from_v1(attribute: &Item) -> Result<Option<Item>, TranslateError> {
    let children = attribute
        .children()
        .ok_or(TranslateError::Malformed("an Attribute is a structure"))?;
    let mut name = None;
    let mut value = None;
    for child in children {
        match (child.tag, &child.value) {
            (tag::ATTRIBUTE_NAME, Value::TextString(text)) => name = Some(text.as_str()),
            (tag::ATTRIBUTE_INDEX, Value::Integer(0)) => {}
            (tag::ATTRIBUTE_INDEX, Value::Integer(_)) => {
                return Err(TranslateError::AttributeIndex)
            }
            (tag::ATTRIBUTE_VALUE, v) => value = Some(v.clone()),
            _ => return Err(TranslateError::Malformed("unexpected item in an Attribute")),
        }
    }
    let name = name.ok_or(TranslateError::Malformed(
        "an Attribute needs an Attribute Name",
    ))?;
    let value = value.ok_or(TranslateError::Malformed(
        "an Attribute needs an Attribute Value",
    ))?;
    match reference_from_v1(name)? {
        Reference::Dropped => Ok(None),
        Reference::Tag(tag) => Ok(Some(Item::new(tag, value))),
        Reference::Vendor { vendor, name } => Ok(Some(Item::new(
            tag::ATTRIBUTE,
            Value::Structure(vec![
                Item::new(tag::VENDOR_IDENTIFICATION, Value::TextString(vendor)),
                Item::new(tag::ATTRIBUTE_NAME, Value::TextString(name)),
                Item::new(tag::ATTRIBUTE_VALUE, value),
            ]),
        ))),
    }
}

/// Attributes of 2.x that 1.x carries as fields of other structures, not as attributes.
const FIELDS_BEFORE_V2: [u32; 1] = [tag::KEY_FORMAT_TYPE];

/// A 2.x attribute item → the 1.x Attribute structure. `None` when `version` does not
/// define the attribute.
pub fn attribute_to_v1(attribute: &Item, version: Version) -> Result<Option<Item>, TranslateError> {
    let (name, value) = if attribute.tag == tag::ATTRIBUTE {
        let (vendor, name, value) = vendor_parts(attribute)?;
        (format!("{vendor}-{name}"), value.clone())
    } else {
        match registry::tag_entry(attribute.tag) {
            Some(entry) if !entry.exists_in(version) => return Ok(None),
            _ if FIELDS_BEFORE_V2.contains(&attribute.tag) && version < Version::V2_0 => {
                return Ok(None)
            }
            _ => {}
        }
        let name = registry::tag_text(attribute.tag)
            .ok_or_else(|| TranslateError::UnknownAttribute(format!("0x{:06x}", attribute.tag)))?;
        (name.to_string(), attribute.value.clone())
    };
    Ok(Some(Item::new(
        tag::ATTRIBUTE,
        Value::Structure(vec![
            Item::new(tag::ATTRIBUTE_NAME, Value::TextString(name)),
            Item::new(tag::ATTRIBUTE_VALUE, value),
        ]),
    )))
}

fn vendor_parts(attribute: &Item) -> Result<(&str, &str, &Value), TranslateError> {
    let children = attribute.children().ok_or(TranslateError::Malformed(
        "a vendor attribute is a structure",
    ))?;
    let text = |wanted: u32| {
        children.iter().find_map(|c| match (c.tag, &c.value) {
            (t, Value::TextString(s)) if t == wanted => Some(s.as_str()),
            _ => None,
        })
    };
    let vendor = text(tag::VENDOR_IDENTIFICATION).ok_or(TranslateError::Malformed(
        "a vendor attribute needs a Vendor Identification",
    ))?;
    let name = text(tag::ATTRIBUTE_NAME).ok_or(TranslateError::Malformed(
        "a vendor attribute needs an Attribute Name",
    ))?;
    let value = children
        .iter()
        .find(|c| c.tag == tag::ATTRIBUTE_VALUE)
        .map(|c| &c.value)
        .ok_or(TranslateError::Malformed(
            "a vendor attribute needs an Attribute Value",
        ))?;
    Ok((vendor, name, value))
}

enum Reference {
    Tag(u32),
    Vendor { vendor: String, name: String },
    Dropped,
}

/// A 1.x attribute name: a standard attribute, a custom one (`x-Name`, `y-Name`, or
/// `Vendor-Name`), or one 2.x dropped.
fn reference_from_v1(name: &str) -> Result<Reference, TranslateError> {
    if let Some(tag) = registry::tag_value(&registry::normalize(name)) {
        return Ok(if tag == tag::OPERATION_POLICY_NAME {
            Reference::Dropped
        } else {
            Reference::Tag(tag)
        });
    }
    match name.split_once('-') {
        Some((vendor, rest))
            if !vendor.is_empty()
                && !rest.is_empty()
                && vendor
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') =>
        {
            Ok(Reference::Vendor {
                vendor: vendor.to_string(),
                name: rest.to_string(),
            })
        }
        _ => Err(TranslateError::UnknownAttribute(name.to_string())),
    }
}

/// A 1.x Attribute Name (as in Get Attributes) → a 2.x Attribute Reference: a tag, or a
/// structure of Vendor Identification and Attribute Name.
fn attribute_reference_from_v1(name: &str) -> Result<Option<Item>, TranslateError> {
    Ok(match reference_from_v1(name)? {
        Reference::Dropped => None,
        Reference::Tag(tag) => Some(Item::new(tag::ATTRIBUTE_REFERENCE, Value::Enumeration(tag))),
        Reference::Vendor { vendor, name } => Some(Item::new(
            tag::ATTRIBUTE_REFERENCE,
            Value::Structure(vec![
                Item::new(tag::VENDOR_IDENTIFICATION, Value::TextString(vendor)),
                Item::new(tag::ATTRIBUTE_NAME, Value::TextString(name)),
            ]),
        )),
    })
}

/// A Locate condition on the 1.x Operation Policy Name, kept as the item of that tag so
/// that Locate can answer it (2.x dropped the attribute; every object has the server's
/// default policy).
fn located_policy(attribute: &Item) -> Option<Item> {
    let parts = attribute.children()?;
    let named = parts.iter().any(|p| {
        p.tag == tag::ATTRIBUTE_NAME
            && matches!(&p.value, Value::TextString(n) if registry::normalize(n) == "OperationPolicyName")
    });
    let value = parts.iter().find(|p| p.tag == tag::ATTRIBUTE_VALUE)?;
    named.then(|| Item::new(tag::OPERATION_POLICY_NAME, value.value.clone()))
}

fn attributes_from_v1(container_tag: u32, container: &Item) -> Result<Item, TranslateError> {
    let mut attributes = Vec::new();
    for child in container.children().unwrap_or_default() {
        match (child.tag, &child.value) {
            (tag::ATTRIBUTE, _) => attributes.extend(attribute_from_v1(child)?),
            (tag::NAME, value) => {
                let name = match value {
                    Value::Structure(parts) => parts.iter().find_map(|p| match &p.value {
                        Value::TextString(s) => Some(s.clone()),
                        _ => None,
                    }),
                    _ => None,
                };
                return Err(TranslateError::Template(name.unwrap_or_default()));
            }
            _ => {
                return Err(TranslateError::Malformed(
                    "unexpected item in a Template Attribute",
                ))
            }
        }
    }
    Ok(Item::new(container_tag, Value::Structure(attributes)))
}

/// A 1.x request or response payload of `operation` in the 2.x form.
pub fn upgrade(operation: u32, payload: &Item) -> Result<Item, TranslateError> {
    let operations = registry::enumeration("Operation").expect("the registry has Operation");
    let op = operations.name_of(operation, None).unwrap_or("");
    let Some(children) = payload.children() else {
        return Ok(payload.clone());
    };
    let mut out = Vec::with_capacity(children.len());
    let mut loose_attributes = Vec::new();
    let mut loose_at = None;
    for child in children {
        if let Some((_, v2)) = CONTAINERS.iter().find(|(v1, _)| *v1 == child.tag) {
            out.push(attributes_from_v1(*v2, child)?);
            continue;
        }
        match child.tag {
            tag::ATTRIBUTE => {
                loose_at.get_or_insert(out.len());
                match (op == "Locate").then(|| located_policy(child)).flatten() {
                    Some(condition) => loose_attributes.push(condition),
                    None => loose_attributes.extend(attribute_from_v1(child)?),
                }
            }
            // Get Attributes, Get Attribute List (response), Delete Attribute.
            tag::ATTRIBUTE_NAME => {
                if let Value::TextString(name) = &child.value {
                    out.extend(attribute_reference_from_v1(name)?);
                }
            }
            tag::ATTRIBUTE_INDEX if op == "DeleteAttribute" => match child.value {
                Value::Integer(0) => {}
                _ => return Err(TranslateError::AttributeIndex),
            },
            _ => out.push(child.clone()),
        }
    }
    let response = payload.tag == tag::RESPONSE_PAYLOAD;
    if response && matches!(op, "AddAttribute" | "ModifyAttribute" | "DeleteAttribute") {
        // 1.x echoes the attribute; 2.x answers with the Unique Identifier alone.
        loose_at = None;
    }
    if let Some(at) = loose_at {
        // Locate and Get Attributes gather attributes in one Attributes structure; Add and
        // Modify Attribute name the one they change New Attribute.
        let wrapped = match op {
            "AddAttribute" | "ModifyAttribute" | "SetAttribute" => loose_attributes
                .into_iter()
                .map(|a| Item::new(tag::NEW_ATTRIBUTE, Value::Structure(vec![a])))
                .collect(),
            _ => vec![Item::new(
                tag::ATTRIBUTES,
                Value::Structure(loose_attributes),
            )],
        };
        out.splice(at..at, wrapped);
    }
    Ok(Item::new(payload.tag, Value::Structure(out)))
}

/// A 2.x request or response payload of `operation` in the form of 1.x `version`.
pub fn downgrade(operation: u32, payload: &Item, version: Version) -> Result<Item, TranslateError> {
    let operations = registry::enumeration("Operation").expect("the registry has Operation");
    let op = operations.name_of(operation, None).unwrap_or("");
    let Some(children) = payload.children() else {
        return Ok(payload.clone());
    };
    let mut out = Vec::with_capacity(children.len());
    let response = payload.tag == tag::RESPONSE_PAYLOAD;
    let mut indices = AttributeIndices::default();
    for child in children {
        if let Some((v1, _)) = CONTAINERS.iter().find(|(_, v2)| *v2 == child.tag) {
            let mut attributes = Vec::new();
            for attribute in child.children().unwrap_or_default() {
                attributes.extend(attribute_to_v1(attribute, version)?);
            }
            // Locate and the Get Attributes response list attributes bare in 1.x.
            if child.tag == tag::ATTRIBUTES && matches!(op, "Locate" | "GetAttributes") {
                if response {
                    attributes = attributes.into_iter().map(|a| indices.number(a)).collect();
                }
                out.extend(attributes);
            } else {
                out.push(Item::new(*v1, Value::Structure(attributes)));
            }
            continue;
        }
        match (child.tag, &child.value) {
            (tag::NEW_ATTRIBUTE | tag::CURRENT_ATTRIBUTE, Value::Structure(inner)) => {
                if child.tag == tag::CURRENT_ATTRIBUTE && op == "ModifyAttribute" {
                    continue;
                }
                for attribute in inner {
                    let attribute = attribute_to_v1(attribute, version)?;
                    out.extend(attribute.map(|a| match response {
                        true => indices.number(a),
                        false => a,
                    }));
                }
            }
            (tag::ATTRIBUTE_REFERENCE, Value::Enumeration(tag)) => {
                if let Some(entry) = registry::tag_entry(*tag) {
                    if !entry.exists_in(version) {
                        continue;
                    }
                }
                let name = registry::tag_text(*tag)
                    .ok_or_else(|| TranslateError::UnknownAttribute(format!("0x{tag:06x}")))?;
                out.push(Item::new(
                    tag::ATTRIBUTE_NAME,
                    Value::TextString(name.to_string()),
                ));
            }
            (tag::ATTRIBUTE_REFERENCE, Value::Structure(parts)) => {
                let text = |wanted: u32| {
                    parts.iter().find_map(|c| match (c.tag, &c.value) {
                        (t, Value::TextString(s)) if t == wanted => Some(s.clone()),
                        _ => None,
                    })
                };
                let (Some(vendor), Some(name)) =
                    (text(tag::VENDOR_IDENTIFICATION), text(tag::ATTRIBUTE_NAME))
                else {
                    return Err(TranslateError::Malformed("a vendor Attribute Reference needs a Vendor Identification and an Attribute Name"));
                };
                out.push(Item::new(
                    tag::ATTRIBUTE_NAME,
                    Value::TextString(format!("{vendor}-{name}")),
                ));
            }
            _ => out.push(child.clone()),
        }
    }
    Ok(Item::new(payload.tag, Value::Structure(out)))
}

/// The Attribute Index of each instance a response lists: 0 for the first of its name,
/// then 1, 2, … (1.x §2.1.1: indices start at 0; hyok accepts only index 0 in requests,
/// so the instance a Modify or Delete Attribute answers with is always the first).
#[derive(Default)]
struct AttributeIndices(HashMap<String, i32>);

impl AttributeIndices {
    /// `attribute` (a 1.x Attribute) with its Attribute Index after its name.
    fn number(&mut self, attribute: Item) -> Item {
        let Value::Structure(mut parts) = attribute.value else {
            return attribute;
        };
        let name = parts.iter().find_map(|p| match (&p.tag, &p.value) {
            (&tag::ATTRIBUTE_NAME, Value::TextString(name)) => Some(name.clone()),
            _ => None,
        });
        if let Some(name) = name {
            let next = self.0.entry(name).or_insert(0);
            parts.insert(1, Item::new(tag::ATTRIBUTE_INDEX, Value::Integer(*next)));
            *next += 1;
        }
        Item::new(attribute.tag, Value::Structure(parts))
    }
}

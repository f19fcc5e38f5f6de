//! The text encodings of KMIP: XML and JSON (Additional Message Encodings 1.0) and the
//! JSON-TTLV flavour. All read into and write from the same [`Item`] tree as binary TTLV,
//! so each can read what the others write.

mod json;
mod values;
mod xml;

pub use json::{from_json, to_json, to_json_ttlv};
pub use xml::{from_xml, from_xml_document, to_xml};

use crate::item::{Item, Value};
use crate::limits::Limits;
use crate::registry::{tag, Version};

/// The protocol version a Request or Response Message declares in its header.
pub fn message_version(message: &Item) -> Option<Version> {
    let header = message
        .children()?
        .iter()
        .find(|i| i.tag == tag::REQUEST_HEADER || i.tag == tag::RESPONSE_HEADER)?;
    let version = header
        .children()?
        .iter()
        .find(|i| i.tag == tag::PROTOCOL_VERSION)?;
    let part = |wanted: u32| {
        version
            .children()?
            .iter()
            .find_map(|i| match (i.tag, &i.value) {
                (t, Value::Integer(v)) if t == wanted => Some(*v),
                _ => None,
            })
    };
    Version::from_protocol(
        part(tag::PROTOCOL_VERSION_MAJOR)?,
        part(tag::PROTOCOL_VERSION_MINOR)?,
    )
}

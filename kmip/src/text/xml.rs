//! The XML encoding of KMIP (Additional Message Encodings 1.0, section 6.1), as the OASIS
//! test cases write it: `<ActivationDate type="DateTime" value="..."/>`, structures as
//! nested elements without a type, and `<TTLV tag="0x54xxxx" type=... value=.../>` for
//! tags the registry does not name.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::values::{self, Naming};
use super::{message_version, Limits};
use crate::error::Error;
use crate::item::{Item, ItemType, Value};
use crate::registry::{tag, Version};

/// One element as read, before its value is interpreted.
struct Element {
    name: String,
    tag: Option<String>,
    item_type: Option<String>,
    value: Option<String>,
    children: Vec<Element>,
}

fn error(reason: impl std::fmt::Display) -> Error {
    Error::Text(format!("XML: {reason}"))
}

fn read_elements(text: &str, limits: &Limits) -> Result<Vec<Element>, Error> {
    if text.len() > limits.max_message_bytes {
        return Err(Error::Limit("message size"));
    }
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut roots = Vec::new();
    let mut count = 0usize;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| error(format!("at byte {}: {e}", reader.buffer_position())))?;
        let (start, empty) = match &event {
            Event::Start(start) => (start, false),
            Event::Empty(start) => (start, true),
            Event::End(_) => {
                let element = stack.pop().ok_or_else(|| error("unbalanced end tag"))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => roots.push(element),
                }
                continue;
            }
            Event::Text(text) => {
                let text = text.unescape().map_err(error)?;
                if !text.trim().is_empty() {
                    return Err(error(format!("unexpected text {:?}", text.trim())));
                }
                continue;
            }
            Event::Eof => break,
            // Declarations, comments, processing instructions, doctypes: no content.
            _ => continue,
        };
        count += 1;
        if count > limits.max_items {
            return Err(Error::Limit("items"));
        }
        if stack.len() >= limits.max_depth {
            return Err(Error::Limit("depth"));
        }
        let element = element(start)?;
        if empty {
            match stack.last_mut() {
                Some(parent) => parent.children.push(element),
                None => roots.push(element),
            }
        } else {
            stack.push(element);
        }
    }
    if !stack.is_empty() {
        return Err(error("unclosed element"));
    }
    Ok(roots)
}

fn element(start: &BytesStart) -> Result<Element, Error> {
    let name = std::str::from_utf8(start.name().as_ref())
        .map_err(|_| error("element name is not UTF-8"))?
        .to_string();
    let mut element = Element {
        name,
        tag: None,
        item_type: None,
        value: None,
        children: Vec::new(),
    };
    for attribute in start.attributes() {
        let attribute = attribute.map_err(error)?;
        let value = attribute.unescape_value().map_err(error)?.into_owned();
        if value.contains('\0') {
            // XML 1.0 has no way to write U+0000, not even as a character reference.
            return Err(error("U+0000 cannot appear in XML"));
        }
        match attribute.key.as_ref() {
            b"tag" => element.tag = Some(value),
            b"type" => element.item_type = Some(value),
            b"value" => element.value = Some(value),
            // `name` (informative in the TTLV form) and namespaces carry no data.
            _ => {}
        }
    }
    Ok(element)
}

fn to_item(element: &Element, attribute_name: Option<&str>) -> Result<Item, Error> {
    let tag = match (&element.tag, element.name.as_str()) {
        (Some(tag), "TTLV") => values::parse_tag(tag),
        (None, "TTLV") => Err("a TTLV element needs a tag attribute".to_string()),
        // `<x540001 .../>`: the element-name form of an unnamed tag.
        (_, name) if name.len() == 7 && name.starts_with('x') => {
            values::parse_tag(&format!("0{name}"))
        }
        (_, name) => values::parse_tag(name),
    }
    .map_err(error)?;
    let item_type = match element.item_type.as_deref() {
        None => ItemType::Structure,
        Some(name) => values::item_type(name)
            .ok_or_else(|| error(format!("<{}>: unknown type {name:?}", element.name)))?,
    };
    let value = if item_type == ItemType::Structure {
        if element.value.is_some() {
            return Err(error(format!(
                "<{}>: a Structure has no value",
                element.name
            )));
        }
        Value::Structure(children(&element.children)?)
    } else {
        if !element.children.is_empty() {
            return Err(error(format!(
                "<{}>: only a Structure has children",
                element.name
            )));
        }
        let text = element
            .value
            .as_deref()
            .ok_or_else(|| error(format!("<{}>: no value attribute", element.name)))?;
        let naming = Naming::of(tag, attribute_name, None);
        values::parse_leaf(item_type, text, &naming)
            .map_err(|reason| error(format!("<{}>: {reason}", element.name)))?
    };
    Ok(Item { tag, value })
}

fn children(elements: &[Element]) -> Result<Vec<Item>, Error> {
    let mut items = Vec::with_capacity(elements.len());
    let mut attribute_name: Option<String> = None;
    for element in elements {
        let item = to_item(element, attribute_name.as_deref())?;
        if let (tag::ATTRIBUTE_NAME, Value::TextString(name)) = (item.tag, &item.value) {
            attribute_name = Some(name.clone());
        }
        items.push(item);
    }
    Ok(items)
}

/// Reads one item (usually a Request or Response Message) from XML.
pub fn from_xml(text: &str, limits: &Limits) -> Result<Item, Error> {
    match read_elements(text, limits)?.as_slice() {
        [root] => to_item(root, None),
        [] => Err(error("no element")),
        _ => Err(error("more than one root element")),
    }
}

/// Reads the messages of a test-case document: the children of a `<KMIP>` root, in order
/// (or the single root element when it is not `<KMIP>`).
pub fn from_xml_document(text: &str, limits: &Limits) -> Result<Vec<Item>, Error> {
    match read_elements(text, limits)?.as_slice() {
        [root] if root.name == "KMIP" => root.children.iter().map(|e| to_item(e, None)).collect(),
        [root] => Ok(vec![to_item(root, None)?]),
        [] => Err(error("no element")),
        _ => Err(error("more than one root element")),
    }
}

/// Writes an item as indented XML; enumeration and mask names are those of the message's
/// protocol version when it carries one. XML cannot carry U+0000: a Text String holding
/// one is written as `&#x0;`, which XML readers (this one included) refuse.
pub fn to_xml(item: &Item) -> String {
    let mut out = String::new();
    write(item, message_version(item), None, 0, &mut out);
    out
}

/// Escapes markup characters, and control characters as character references so that no
/// XML reader normalizes them away.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => out.push_str(&format!("&#x{:x};", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

fn write(
    item: &Item,
    version: Option<Version>,
    attribute_name: Option<&str>,
    depth: usize,
    out: &mut String,
) {
    let indent = "  ".repeat(depth);
    let (open, close) = match crate::registry::tag_name(item.tag) {
        Some(name) => (name.to_string(), name.to_string()),
        None => (
            format!("TTLV tag=\"0x{:06x}\"", item.tag),
            "TTLV".to_string(),
        ),
    };
    let naming = Naming::of(item.tag, attribute_name, version);
    let text = match &item.value {
        Value::Structure(children) => {
            if children.is_empty() {
                out.push_str(&format!("{indent}<{open}/>\n"));
                return;
            }
            out.push_str(&format!("{indent}<{open}>\n"));
            let mut attribute_name: Option<&str> = None;
            for child in children {
                write(child, version, attribute_name, depth + 1, out);
                if let (tag::ATTRIBUTE_NAME, Value::TextString(name)) = (child.tag, &child.value) {
                    attribute_name = Some(name);
                }
            }
            out.push_str(&format!("{indent}</{close}>\n"));
            return;
        }
        Value::Integer(v) => values::integer_text(*v, &naming, " "),
        Value::LongInteger(v) => v.to_string(),
        Value::BigInteger(bytes) => hex::encode(bytes),
        Value::Enumeration(v) => values::enumeration_text(*v, &naming),
        Value::Boolean(v) => v.to_string(),
        Value::TextString(text) => escape(text),
        Value::ByteString(bytes) => hex::encode(bytes),
        Value::DateTime(v) => values::date_time_text(*v),
        Value::Interval(v) => v.to_string(),
        Value::DateTimeExtended(v) => values::date_time_extended_text(*v),
    };
    let item_type = values::type_name(item.value.item_type());
    out.push_str(&format!(
        "{indent}<{open} type=\"{item_type}\" value=\"{text}\"/>\n"
    ));
}

//! The OASIS KMIP 1.4 and 2.1 test cases (`tests/oasis`, XML) through every
//! encoding: each request and response, placeholders replaced by concrete values, reads
//! from XML, converts to binary TTLV and back to the same XML tree (bit order inside a
//! mask, hex letter case and date-time offsets aside), and TTLV → JSON → XML → TTLV and
//! TTLV → JSON-TTLV → TTLV give the same bytes.

mod common;

use std::path::Path;

use common::{substitute, vector_files};

use hyok_kmip::text::{from_json, from_xml, from_xml_document, to_json, to_json_ttlv, to_xml};
use hyok_kmip::{decode, encode, Limits};
use quick_xml::events::Event;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// An XML element as a plain tree, to compare documents.
#[derive(Debug)]
struct Node {
    name: String,
    attributes: Vec<(String, String)>,
    children: Vec<Node>,
}

impl Node {
    fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn parse_nodes(text: &str) -> Vec<Node> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut stack: Vec<Node> = Vec::new();
    let mut roots = Vec::new();
    loop {
        let (start, empty) = match reader.read_event().unwrap() {
            Event::Start(s) => (s.into_owned(), false),
            Event::Empty(s) => (s.into_owned(), true),
            Event::End(_) => {
                let node = stack.pop().unwrap();
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => roots.push(node),
                }
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let node = Node {
            name: String::from_utf8(start.name().as_ref().to_vec()).unwrap(),
            attributes: start
                .attributes()
                .map(|a| {
                    let a = a.unwrap();
                    (
                        String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                        a.unescape_value().unwrap().into_owned(),
                    )
                })
                .collect(),
            children: Vec::new(),
        };
        if empty {
            match stack.last_mut() {
                Some(parent) => parent.children.push(node),
                None => roots.push(node),
            }
        } else {
            stack.push(node);
        }
    }
    roots
}

fn same_value(item_type: &str, expected: &str, actual: &str) -> bool {
    if expected == actual {
        return true;
    }
    match item_type {
        "ByteString" | "BigInteger" => expected.eq_ignore_ascii_case(actual),
        "Enumeration" => expected.starts_with("0x") && expected.eq_ignore_ascii_case(actual),
        "DateTime" => {
            let instant = |s: &str| OffsetDateTime::parse(s, &Rfc3339).ok();
            instant(expected).is_some() && instant(expected) == instant(actual)
        }
        // A mask: the same bits, in any order.
        "Integer" => {
            let mut a: Vec<&str> = expected.split_whitespace().collect();
            let mut b: Vec<&str> = actual.split_whitespace().collect();
            a.sort_unstable();
            b.sort_unstable();
            a == b
        }
        _ => false,
    }
}

/// The first difference between two element trees, as a path and a reason.
fn difference(expected: &Node, actual: &Node, path: &str) -> Option<String> {
    let path = format!("{path}/{}", expected.name);
    if expected.name != actual.name {
        return Some(format!(
            "{path}: element {} became {}",
            expected.name, actual.name
        ));
    }
    let item_type = expected.attribute("type").unwrap_or("Structure");
    if item_type != actual.attribute("type").unwrap_or("Structure") {
        return Some(format!(
            "{path}: type {item_type} became {:?}",
            actual.attribute("type")
        ));
    }
    if item_type != "Structure" {
        let (e, a) = (
            expected.attribute("value").unwrap_or(""),
            actual.attribute("value").unwrap_or(""),
        );
        if !same_value(item_type, e, a) {
            return Some(format!("{path}: {item_type} {e:?} became {a:?}"));
        }
    }
    if expected.children.len() != actual.children.len() {
        return Some(format!(
            "{path}: {} children became {}",
            expected.children.len(),
            actual.children.len()
        ));
    }
    expected
        .children
        .iter()
        .zip(&actual.children)
        .find_map(|(e, a)| difference(e, a, &path))
}

/// Every message of one file through every encoding; the first problem, if any.
fn check_file(path: &Path) -> Result<usize, String> {
    let text = substitute(&std::fs::read_to_string(path).map_err(|e| e.to_string())?);
    let limits = Limits::default();
    let messages = from_xml_document(&text, &limits).map_err(|e| format!("parse: {e}"))?;
    let expected = parse_nodes(&text);
    let expected: Vec<&Node> = match expected.as_slice() {
        [root] if root.name == "KMIP" => root.children.iter().collect(),
        roots => roots.iter().collect(),
    };
    if messages.len() != expected.len() || messages.is_empty() {
        return Err(format!(
            "{} messages read, {} in the file",
            messages.len(),
            expected.len()
        ));
    }
    for (n, (message, element)) in messages.iter().zip(expected).enumerate() {
        let at = |what: &str| format!("message {n}: {what}");
        let bytes = encode(message).map_err(|e| at(&format!("encode: {e}")))?;
        let decoded = decode(&bytes, &limits).map_err(|e| at(&format!("decode: {e}")))?;
        if &decoded != message {
            return Err(at("TTLV round trip changed the message"));
        }
        let xml = to_xml(&decoded);
        let written = parse_nodes(&xml);
        if let Some(reason) = difference(element, &written[0], "") {
            return Err(at(&reason));
        }
        // TTLV -> JSON -> XML -> TTLV, and TTLV -> JSON-TTLV -> TTLV: the same bytes.
        let via_json =
            from_json(&to_json(&decoded), &limits).map_err(|e| at(&format!("JSON: {e}")))?;
        let via_xml =
            from_xml(&to_xml(&via_json), &limits).map_err(|e| at(&format!("XML: {e}")))?;
        if encode(&via_xml).unwrap() != bytes {
            return Err(at("TTLV -> JSON -> XML -> TTLV changed the bytes"));
        }
        let via_json_ttlv = from_json(&to_json_ttlv(&decoded), &limits)
            .map_err(|e| at(&format!("JSON-TTLV: {e}")))?;
        if encode(&via_json_ttlv).unwrap() != bytes {
            return Err(at("TTLV -> JSON-TTLV -> TTLV changed the bytes"));
        }
    }
    Ok(messages.len())
}

#[test]
fn every_oasis_vector_round_trips_through_every_encoding() {
    let files = vector_files();
    assert!(
        files.len() >= 160,
        "only {} vector files found",
        files.len()
    );
    let mut failures = Vec::new();
    let mut messages = 0;
    for file in &files {
        match check_file(file) {
            Ok(n) => messages += n,
            Err(reason) => failures.push(format!("{}: {reason}", file.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} files failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    assert!(messages > 1000, "only {messages} messages checked");
}

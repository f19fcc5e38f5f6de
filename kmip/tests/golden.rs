//! Golden vectors from an independent encoder (PyKMIP, `tests/golden/generate.py`):
//! twelve request messages in KMIP 1.2, 1.4 and 2.0. Our decoder reads them, the registry
//! names every tag and enumeration value in them and says each exists in the message's
//! version, and our encoder — directly and through XML and JSON — gives the same bytes.

use std::path::Path;

use hyok_kmip::registry::{self, Version};
use hyok_kmip::text::{from_json, from_xml, message_version, to_json, to_json_ttlv, to_xml};
use hyok_kmip::{decode, encode, Item, Limits, Value};

const OPERATIONS: [&str; 12] = [
    "DiscoverVersions",
    "Query",
    "Create",
    "Register",
    "Get",
    "GetAttributes",
    "Locate",
    "Activate",
    "Revoke",
    "Destroy",
    "Encrypt",
    "Decrypt",
];
const VERSIONS: [(&str, Version); 3] = [
    ("1.2", Version::V1_2),
    ("1.4", Version::V1_4),
    ("2.0", Version::V2_0),
];

fn golden(version: &str, operation: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(version)
        .join(format!("{operation}.hex"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    hex::decode(text.trim()).unwrap()
}

/// Every tag and enumeration value of `item` is in the registry and exists in `version`.
fn check_names(
    item: &Item,
    version: Version,
    attribute_name: Option<&str>,
    problems: &mut Vec<String>,
) {
    match registry::tag_entry(item.tag) {
        Some(entry) if entry.exists_in(version) => {}
        Some(entry) => problems.push(format!("tag {} is not defined in {version:?}", entry.name)),
        None => problems.push(format!("tag 0x{:06x} is not in the registry", item.tag)),
    }
    let enumeration = match (item.tag, attribute_name) {
        (registry::tag::ATTRIBUTE_VALUE, Some(name)) => {
            registry::tag_value(&registry::normalize(name)).and_then(registry::enumeration_of_tag)
        }
        _ => registry::enumeration_of_tag(item.tag),
    };
    match &item.value {
        Value::Enumeration(v) => match enumeration {
            Some(e) if e.defined_in(*v, version) => {}
            Some(e) => problems.push(format!(
                "{} value 0x{v:08x} is not defined in {version:?}",
                e.name
            )),
            None => problems.push(format!("tag 0x{:06x} has no enumeration", item.tag)),
        },
        Value::Structure(children) => {
            let mut name = None;
            for child in children {
                check_names(child, version, name, problems);
                if let (registry::tag::ATTRIBUTE_NAME, Value::TextString(text)) =
                    (child.tag, &child.value)
                {
                    name = Some(text.as_str());
                }
            }
        }
        _ => {}
    }
}

#[test]
fn pykmip_requests_decode_name_and_re_encode_to_the_same_bytes() {
    let limits = Limits::default();
    for (version_text, version) in VERSIONS {
        for operation in OPERATIONS {
            let what = format!("{operation} {version_text}");
            let bytes = golden(version_text, operation);
            let message = decode(&bytes, &limits).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(encode(&message).unwrap(), bytes, "{what}: re-encoded");
            assert_eq!(message_version(&message), Some(version), "{what}: version");

            let xml = to_xml(&message);
            let operation_line = format!("<Operation type=\"Enumeration\" value=\"{operation}\"/>");
            assert!(
                xml.contains(&operation_line),
                "{what}: no {operation_line} in\n{xml}"
            );
            let mut problems = Vec::new();
            check_names(&message, version, None, &mut problems);
            assert!(problems.is_empty(), "{what}: {problems:?}\n{xml}");

            let via_xml = from_xml(&xml, &limits).unwrap_or_else(|e| panic!("{what}: {e}\n{xml}"));
            assert_eq!(encode(&via_xml).unwrap(), bytes, "{what}: through XML");
            let via_json = from_json(&to_json(&message), &limits).unwrap();
            assert_eq!(encode(&via_json).unwrap(), bytes, "{what}: through JSON");
            let via_json_ttlv = from_json(&to_json_ttlv(&message), &limits).unwrap();
            assert_eq!(
                encode(&via_json_ttlv).unwrap(),
                bytes,
                "{what}: through JSON-TTLV"
            );
        }
    }
}

#[test]
fn version_two_requests_use_attributes_and_one_x_ones_template_attributes() {
    let limits = Limits::default();
    let create_12 = to_xml(&decode(&golden("1.2", "Create"), &limits).unwrap());
    let create_20 = to_xml(&decode(&golden("2.0", "Create"), &limits).unwrap());
    assert!(create_12.contains("<TemplateAttribute>"), "{create_12}");
    assert!(
        create_12.contains("<AttributeValue type=\"Enumeration\" value=\"AES\"/>"),
        "{create_12}"
    );
    assert!(
        create_12.contains("<AttributeValue type=\"Integer\" value=\"Encrypt Decrypt\"/>"),
        "{create_12}"
    );
    assert!(create_20.contains("<Attributes>"), "{create_20}");
    assert!(
        create_20.contains("<CryptographicAlgorithm type=\"Enumeration\" value=\"AES\"/>"),
        "{create_20}"
    );
    assert!(
        create_20.contains("<CryptographicUsageMask type=\"Integer\" value=\"Encrypt Decrypt\"/>"),
        "{create_20}"
    );
}

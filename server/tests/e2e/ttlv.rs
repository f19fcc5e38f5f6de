//! `hyok ttlv`: a message PyKMIP encoded (the codec's golden vectors) converts to
//! XML, JSON and JSON-TTLV and back to the same bytes through the command line.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::support::HYOK;

fn convert(input: &[u8], args: &[&str]) -> Result<Vec<u8>, String> {
    let mut child = Command::new(HYOK)
        .args(["ttlv"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let output = child.wait_with_output().unwrap();
    if output.status.success() {
        Ok(output.stdout)
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

#[test]
fn converts_between_every_encoding_and_back_to_the_same_bytes() {
    let golden = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../kmip/tests/golden/1.4/Encrypt.hex"
    );
    let hex = std::fs::read_to_string(golden).unwrap();
    let xml = convert(hex.as_bytes(), &["--to", "xml"]).unwrap();
    let xml_text = String::from_utf8(xml.clone()).unwrap();
    assert!(
        xml_text.contains(r#"<Operation type="Enumeration" value="Encrypt"/>"#),
        "{xml_text}"
    );
    assert!(
        xml_text.contains(r#"<BlockCipherMode type="Enumeration" value="CBC"/>"#),
        "{xml_text}"
    );
    for to in ["json", "json-ttlv", "ttlv"] {
        let converted = convert(&xml, &["--to", to]).unwrap();
        let back = convert(&converted, &["--to", "hex"]).unwrap();
        assert_eq!(
            String::from_utf8(back).unwrap().trim(),
            hex.trim(),
            "through {to}"
        );
    }
}

#[test]
fn a_malformed_message_is_a_clear_error() {
    let error = convert(
        b"<BatchCount type=\"Integer\" value=\"ten\"/>",
        &["--to", "hex"],
    )
    .unwrap_err();
    assert!(
        error.contains("standard input") && error.contains("ten"),
        "{error}"
    );
    let error = convert(
        &[0x42, 0x00, 0x78, 0x01, 0xff, 0xff, 0xff, 0xff],
        &["--from", "ttlv"],
    )
    .unwrap_err();
    assert!(
        error.contains("truncated") || error.contains("limit"),
        "{error}"
    );
}

#[test]
fn a_document_of_several_messages_converts_message_by_message() {
    // An OASIS test case without placeholders: Query requests and responses.
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../kmip/tests/oasis/v2.1/XML/mandatory/QS-M-1-21.xml"
    );
    let text = std::fs::read_to_string(file).unwrap();
    let messages =
        text.matches("<RequestMessage>").count() + text.matches("<ResponseMessage>").count();
    let document = text.replace("$NOW", "2024-01-01T00:00:00+00:00");
    let hex = String::from_utf8(convert(document.as_bytes(), &["--to", "hex"]).unwrap()).unwrap();
    let lines: Vec<&str> = hex.lines().collect();
    assert_eq!(lines.len(), messages, "{hex}");
    for line in lines {
        let xml = String::from_utf8(convert(line.as_bytes(), &["--to", "xml"]).unwrap()).unwrap();
        assert!(
            xml.starts_with("<RequestMessage>") || xml.starts_with("<ResponseMessage>"),
            "{xml}"
        );
    }
}

//! Typed messages against the OASIS test cases: every request and response of every file
//! reads into the typed envelope, every payload (1.4 ones upgraded to the 2.x form) into
//! the typed payload of its operation with every item named, and both write back the
//! same items.

mod common;

use hyok_kmip::message::{RequestMessage, RequestPayload, ResponseMessage, ResponsePayload};
use hyok_kmip::registry::{self, tag, Version};
use hyok_kmip::text::from_xml_document;
use hyok_kmip::translate::upgrade;
use hyok_kmip::{Item, Limits};

fn operation_name(operation: u32) -> &'static str {
    registry::enumeration("Operation")
        .unwrap()
        .name_of(operation, None)
        .unwrap()
}

/// The payload in the 2.x form: 1.x payloads upgraded.
fn two_x(version: Version, operation: u32, payload: &Item) -> Result<Item, String> {
    if version >= Version::V2_0 {
        Ok(payload.clone())
    } else {
        upgrade(operation, payload).map_err(|e| e.to_string())
    }
}

fn check_message(message: &Item) -> Result<usize, String> {
    let mut payloads = 0;
    if message.tag == tag::REQUEST_MESSAGE {
        let typed = RequestMessage::from_item(message).map_err(|e| e.to_string())?;
        if typed.to_item(tag::REQUEST_MESSAGE) != *message || !typed.extensions.is_empty() {
            return Err("the request envelope does not write back the same items".into());
        }
        let header = &typed.request_header;
        if !header.extensions.is_empty() {
            return Err(format!("unnamed header items {:?}", header.extensions));
        }
        let version = header.protocol_version.version().ok_or("unknown version")?;
        for item in &typed.batch_item {
            let op = operation_name(item.operation);
            let payload = two_x(version, item.operation, &item.request_payload)?;
            let typed = RequestPayload::from_item(op, &payload)
                .map_err(|e| format!("{op}: {e}"))?
                .ok_or_else(|| format!("{op}: no typed request payload"))?;
            if typed.to_item() != payload || !typed.extensions().is_empty() {
                return Err(format!(
                    "{op} request: unnamed items {:?}",
                    typed.extensions()
                ));
            }
            payloads += 1;
        }
    } else {
        let typed = ResponseMessage::from_item(message).map_err(|e| e.to_string())?;
        if typed.to_item(tag::RESPONSE_MESSAGE) != *message || !typed.extensions.is_empty() {
            return Err("the response envelope does not write back the same items".into());
        }
        let version = typed
            .response_header
            .protocol_version
            .version()
            .ok_or("unknown version")?;
        for item in &typed.batch_item {
            let (Some(operation), Some(payload)) = (item.operation, &item.response_payload) else {
                continue;
            };
            let op = operation_name(operation);
            let payload = two_x(version, operation, payload)?;
            let typed = ResponsePayload::from_item(op, &payload)
                .map_err(|e| format!("{op}: {e}"))?
                .ok_or_else(|| format!("{op}: no typed response payload"))?;
            if typed.to_item() != payload || !typed.extensions().is_empty() {
                return Err(format!(
                    "{op} response: unnamed items {:?}",
                    typed.extensions()
                ));
            }
            payloads += 1;
        }
    }
    Ok(payloads)
}

#[test]
fn every_oasis_message_reads_into_typed_messages_and_payloads() {
    let mut failures = Vec::new();
    let mut payloads = 0;
    for file in common::vector_files() {
        let text = common::substitute(&std::fs::read_to_string(&file).unwrap());
        let messages = from_xml_document(&text, &Limits::default()).unwrap();
        for (n, message) in messages.iter().enumerate() {
            match check_message(message) {
                Ok(count) => payloads += count,
                Err(reason) => failures.push(format!("{} message {n}: {reason}", file.display())),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(payloads >= 2177, "only {payloads} payloads checked");
}

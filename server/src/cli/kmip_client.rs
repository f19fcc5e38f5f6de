//! The CLI's KMIP client: one KMIP 2.1 request of one batch item, sent as TTLV to the
//! server's `/kmip`, and its answer (the response payload, or the server's reason).

use hyok_kmip::enums;
use hyok_kmip::message::{RequestMessage, ResponseMessage};
use hyok_kmip::registry::{self, tag, Version};
use hyok_kmip::{decode, encode, Item, Limits};

use super::client::ApiClient;

pub fn enumeration(enumeration: &str, name: &str) -> Result<u32, String> {
    registry::enumeration(enumeration)
        .and_then(|e| e.value_of(name))
        .ok_or_else(|| format!("{name:?} is not a KMIP {enumeration}"))
}

/// Runs `operation` with the payload `children`; the response payload.
pub fn call(api: &ApiClient, operation: &str, children: Vec<Item>) -> Result<Item, String> {
    let request = RequestMessage::single(
        Version::V2_1,
        enumeration("Operation", operation)?,
        children,
    );
    let bytes = encode(&request.to_item(tag::REQUEST_MESSAGE)).map_err(|e| e.to_string())?;
    let answer = api.post_bytes(&["kmip"], "application/octet-stream", bytes)?;
    let response =
        decode(&answer, &Limits::default()).map_err(|e| format!("the server's answer: {e}"))?;
    let response =
        ResponseMessage::from_item(&response).map_err(|e| format!("the server's answer: {e}"))?;
    let item = response
        .batch_item
        .into_iter()
        .next()
        .ok_or("the server answered no batch item")?;
    if item.result_status != enums::ResultStatus::Success.value() {
        let reason = item
            .result_reason
            .and_then(|r| registry::enumeration("ResultReason")?.name_of(r, None))
            .unwrap_or("failed");
        return Err(format!(
            "{operation}: {reason}: {}",
            item.result_message.unwrap_or_default()
        ));
    }
    Ok(item
        .response_payload
        .unwrap_or_else(|| Item::structure(tag::RESPONSE_PAYLOAD, Vec::new())))
}

pub fn uid_item(uid: &str) -> Item {
    Item::text(tag::UNIQUE_IDENTIFIER, uid)
}

/// The text of a payload's child.
pub fn text_of(payload: &Item, wanted: u32) -> Option<String> {
    match &payload.child(wanted)?.value {
        hyok_kmip::Value::TextString(text) => Some(text.clone()),
        _ => None,
    }
}

/// The bytes of a payload's child.
pub fn bytes_of(payload: &Item, wanted: u32) -> Option<Vec<u8>> {
    match &payload.child(wanted)?.value {
        hyok_kmip::Value::ByteString(bytes) => Some(bytes.clone()),
        _ => None,
    }
}

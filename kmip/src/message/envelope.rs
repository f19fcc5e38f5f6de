//! The message envelope: request and response messages, their headers and batch items
//! (KMIP 2.1 section 8; the 1.x envelope has the same shape). Payloads stay items here;
//! [`super::RequestPayload`] and [`super::ResponsePayload`] type them by operation.

use super::fields::*;
use crate::registry::Version;
use crate::Item;

payload! {
    /// Protocol Version.
    ProtocolVersion {
        protocol_version_major: one Int (PROTOCOL_VERSION_MAJOR),
        protocol_version_minor: one Int (PROTOCOL_VERSION_MINOR),
    }
}

impl ProtocolVersion {
    pub fn of(version: Version) -> ProtocolVersion {
        let (major, minor) = version.protocol();
        ProtocolVersion {
            protocol_version_major: major,
            protocol_version_minor: minor,
            extensions: Vec::new(),
        }
    }

    /// The version, if it is one hyok knows.
    pub fn version(&self) -> Option<Version> {
        Version::from_protocol(self.protocol_version_major, self.protocol_version_minor)
    }
}

payload! {
    /// Request Header. (Asynchronous Indicator is a Boolean in 1.x, an Enumeration in 2.x.)
    RequestHeader {
        protocol_version: one ProtocolVersion (PROTOCOL_VERSION),
        maximum_response_size: opt Int (MAXIMUM_RESPONSE_SIZE),
        client_correlation_value: opt Text (CLIENT_CORRELATION_VALUE),
        server_correlation_value: opt Text (SERVER_CORRELATION_VALUE),
        asynchronous_indicator: opt Item (ASYNCHRONOUS_INDICATOR),
        attestation_capable_indicator: opt Bool (ATTESTATION_CAPABLE_INDICATOR),
        attestation_type: many Enum (ATTESTATION_TYPE),
        authentication: opt Item (AUTHENTICATION),
        batch_error_continuation_option: opt Enum (BATCH_ERROR_CONTINUATION_OPTION),
        batch_order_option: opt Bool (BATCH_ORDER_OPTION),
        time_stamp: opt Date (TIME_STAMP),
        batch_count: one Int (BATCH_COUNT),
    }
}

payload! {
    /// Response Header.
    ResponseHeader {
        protocol_version: one ProtocolVersion (PROTOCOL_VERSION),
        time_stamp: one Date (TIME_STAMP),
        nonce: opt Item (NONCE),
        server_hashed_password: opt Bytes (SERVER_HASHED_PASSWORD),
        attestation_type: many Enum (ATTESTATION_TYPE),
        client_correlation_value: opt Text (CLIENT_CORRELATION_VALUE),
        server_correlation_value: opt Text (SERVER_CORRELATION_VALUE),
        batch_count: one Int (BATCH_COUNT),
    }
}

payload! {
    /// A request Batch Item.
    RequestBatchItem {
        operation: one Enum (OPERATION),
        ephemeral: opt Bool (EPHEMERAL),
        unique_batch_item_id: opt Bytes (UNIQUE_BATCH_ITEM_ID),
        request_payload: one Item (REQUEST_PAYLOAD),
        message_extension: many Item (MESSAGE_EXTENSION),
    }
}

payload! {
    /// A response Batch Item.
    ResponseBatchItem {
        operation: opt Enum (OPERATION),
        unique_batch_item_id: opt Bytes (UNIQUE_BATCH_ITEM_ID),
        result_status: one Enum (RESULT_STATUS),
        result_reason: opt Enum (RESULT_REASON),
        result_message: opt Text (RESULT_MESSAGE),
        asynchronous_correlation_value: opt Bytes (ASYNCHRONOUS_CORRELATION_VALUE),
        response_payload: opt Item (RESPONSE_PAYLOAD),
        message_extension: many Item (MESSAGE_EXTENSION),
    }
}

payload! {
    /// Request Message.
    RequestMessage {
        request_header: one RequestHeader (REQUEST_HEADER),
        batch_item: many RequestBatchItem (BATCH_ITEM),
    }
}

payload! {
    /// Response Message.
    ResponseMessage {
        response_header: one ResponseHeader (RESPONSE_HEADER),
        batch_item: many ResponseBatchItem (BATCH_ITEM),
    }
}

impl RequestMessage {
    /// A request of one batch item: `operation` with `payload` (the Request Payload's
    /// children), in `version`, with no optional header field.
    pub fn single(version: Version, operation: u32, payload: Vec<Item>) -> RequestMessage {
        RequestMessage {
            request_header: RequestHeader {
                protocol_version: ProtocolVersion::of(version),
                maximum_response_size: None,
                client_correlation_value: None,
                server_correlation_value: None,
                asynchronous_indicator: None,
                attestation_capable_indicator: None,
                attestation_type: Vec::new(),
                authentication: None,
                batch_error_continuation_option: None,
                batch_order_option: None,
                time_stamp: None,
                batch_count: 1,
                extensions: Vec::new(),
            },
            batch_item: vec![RequestBatchItem {
                operation,
                ephemeral: None,
                unique_batch_item_id: None,
                request_payload: Item::structure(crate::registry::tag::REQUEST_PAYLOAD, payload),
                message_extension: Vec::new(),
                extensions: Vec::new(),
            }],
            extensions: Vec::new(),
        }
    }
}

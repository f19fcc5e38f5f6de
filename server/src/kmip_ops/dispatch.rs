//! One KMIP request message in, one response message out: the version check, the batch
//! (Unique Batch Item IDs echoed, Batch Error Continuation Option honoured: Continue goes
//! on after a failed item, Stop stops there, Undo also puts back what the earlier items
//! changed), the ID Placeholder, the 1.x ↔ 2.x translation at the edge, and the typed
//! payload of each operation.

use hyok_kmip::enums::{self, Operation, ResultReason};
use hyok_kmip::message::{
    ProtocolVersion, RequestBatchItem, RequestMessage, RequestPayload, ResponseBatchItem,
    ResponseHeader, ResponseMessage,
};
use hyok_kmip::registry::{self, tag, Version};
use hyok_kmip::text::message_version;
use hyok_kmip::translate::{downgrade, upgrade};
use hyok_kmip::Item;

use super::context::Context;
use super::error::KmipError;
use super::{ops, undo};
use crate::access::Identities;
use crate::auth::Caller;
use crate::state::AppState;

/// Answers one request message (already decoded from its encoding).
pub async fn handle(
    state: &AppState,
    caller: &Caller,
    request_id: Option<String>,
    message: &Item,
) -> Item {
    let request = match request_message(message) {
        Ok(request) => request,
        Err(problem) => {
            let version = message_version(message).unwrap_or(Version::V1_0);
            return refusal(
                version,
                KmipError::new(ResultReason::InvalidMessage, problem),
            );
        }
    };
    let header = &request.request_header;
    let Some(version) = header.protocol_version.version() else {
        let asked = &header.protocol_version;
        let answer = if asked.protocol_version_major >= 2 {
            Version::V2_1
        } else {
            Version::V1_4
        };
        return refusal(
            answer,
            KmipError::new(ResultReason::InvalidMessage,
                format!(
                    "protocol version {}.{} is not supported; hyok speaks 1.0 to 2.1 (Discover Versions lists them)",
                    asked.protocol_version_major, asked.protocol_version_minor
                ),
            ),
        );
    };
    let option = header.batch_error_continuation_option;
    let keep_going = option == Some(enums::BatchErrorContinuationOption::Continue.value());
    let undo = option == Some(enums::BatchErrorContinuationOption::Undo.value());
    let context = Context {
        state,
        caller,
        identities: Identities::of_caller(caller),
        request_id,
        version,
    };
    let mut items = Vec::with_capacity(request.batch_item.len());
    // The ID Placeholder: the Unique Identifier the last item returned, for later items of
    // the batch that name none.
    let mut placeholder: Option<String> = None;
    let mut journal = Vec::new();
    for item in &request.batch_item {
        let before = match undo {
            true => undo::before(&context, item, placeholder.as_deref()).await,
            false => None,
        };
        let result = run(&context, item, placeholder.as_deref()).await;
        if let Ok(payload) = &result {
            if let Some(hyok_kmip::Value::TextString(uid)) =
                payload.child(tag::UNIQUE_IDENTIFIER).map(|u| &u.value)
            {
                placeholder = Some(uid.clone());
            }
            if undo {
                journal.push(undo::entry(item, payload, before));
            }
        }
        let failed = result.is_err();
        items.push(answer(version, item, result));
        if failed && undo {
            undo::roll_back(&context, journal, &mut items).await;
            break;
        }
        if failed && !keep_going {
            break;
        }
    }
    let client_correlation = header
        .client_correlation_value
        .clone()
        .filter(|_| version >= Version::V1_4);
    let answer = response(version, client_correlation, items);
    match header.maximum_response_size {
        Some(maximum) if maximum > 0 => bounded(version, answer, maximum),
        _ => answer,
    }
}

/// The message as a Request Message: its tag says so and its Batch Count is the number
/// of its batch items (at least one).
fn request_message(message: &Item) -> Result<RequestMessage, String> {
    if message.tag != tag::REQUEST_MESSAGE {
        return Err(format!(
            "a request must be a Request Message (tag 0x{:06X}), not tag 0x{:06X}",
            tag::REQUEST_MESSAGE,
            message.tag
        ));
    }
    let request = RequestMessage::from_item(message).map_err(|error| error.to_string())?;
    let items = request.batch_item.len();
    let count = request.request_header.batch_count;
    if items == 0 {
        return Err("the request has no Batch Item".into());
    }
    if usize::try_from(count).ok() != Some(items) {
        return Err(format!(
            "the Batch Count says {count} but the request holds {items} Batch Item(s)"
        ));
    }
    Ok(request)
}

/// The response, or Response Too Large when its TTLV encoding exceeds the request's
/// Maximum Response Size.
fn bounded(version: Version, response: Item, maximum: i32) -> Item {
    match hyok_kmip::encode(&response) {
        Ok(bytes) if bytes.len() > maximum as usize => refusal(
            version,
            KmipError::new(ResultReason::ResponseTooLarge,
                format!(
                    "the response is {} bytes, over the request's Maximum Response Size of {maximum}",
                    bytes.len()
                ),
            ),
        ),
        _ => response,
    }
}

/// Operations whose Unique Identifier, when left out, is the ID Placeholder.
pub(super) const TAKES_PLACEHOLDER: [Operation; 16] = [
    Operation::Get,
    Operation::Export,
    Operation::GetAttributes,
    Operation::GetAttributeList,
    Operation::AddAttribute,
    Operation::SetAttribute,
    Operation::ModifyAttribute,
    Operation::DeleteAttribute,
    Operation::Activate,
    Operation::Revoke,
    Operation::Destroy,
    Operation::ReKey,
    Operation::Check,
    Operation::Encrypt,
    Operation::Decrypt,
    Operation::GetUsageAllocation,
];

async fn run(
    context: &Context<'_>,
    item: &RequestBatchItem,
    placeholder: Option<&str>,
) -> Result<Item, KmipError> {
    let operations = registry::enumeration("Operation").expect("Operation");
    let name = operations
        .name_of(item.operation, None)
        .filter(|_| operations.defined_in(item.operation, context.version))
        .ok_or_else(|| {
            KmipError::new(
                ResultReason::OperationNotSupported,
                format!(
                    "operation 0x{:08x} is not a KMIP {:?} operation",
                    item.operation, context.version
                ),
            )
        })?;
    let payload = if context.version < Version::V2_0 {
        upgrade(item.operation, &item.request_payload)
            .map_err(|e| KmipError::invalid_field(e.to_string()))?
    } else {
        item.request_payload.clone()
    };
    let payload = match placeholder {
        Some(uid)
            if Operation::from_value(item.operation)
                .is_some_and(|o| TAKES_PLACEHOLDER.contains(&o))
                && payload.child(tag::UNIQUE_IDENTIFIER).is_none() =>
        {
            let mut children = vec![Item::text(tag::UNIQUE_IDENTIFIER, uid)];
            children.extend(payload.children().unwrap_or_default().iter().cloned());
            Item::structure(payload.tag, children)
        }
        _ => payload,
    };
    let typed = RequestPayload::from_item(name, &payload)
        .map_err(|e| KmipError::invalid_field(e.to_string()))?
        .ok_or_else(|| {
            KmipError::new(
                ResultReason::OperationNotSupported,
                format!("{name} is not supported"),
            )
        })?;
    let children = ops::run(context, typed).await?;
    let payload = Item::structure(tag::RESPONSE_PAYLOAD, children);
    if context.version < Version::V2_0 {
        downgrade(item.operation, &payload, context.version)
            .map_err(|e| KmipError::new(ResultReason::GeneralFailure, e.to_string()))
    } else {
        Ok(payload)
    }
}

fn answer(
    version: Version,
    item: &RequestBatchItem,
    result: Result<Item, KmipError>,
) -> ResponseBatchItem {
    let (status, reason, message, payload) = match result {
        Ok(payload) => (enums::ResultStatus::Success, None, None, Some(payload)),
        Err(error) => (
            enums::ResultStatus::OperationFailed,
            Some(reason_in(error.reason, version)),
            Some(error.message),
            None,
        ),
    };
    ResponseBatchItem {
        operation: Some(item.operation),
        unique_batch_item_id: item.unique_batch_item_id.clone(),
        result_status: status.value(),
        result_reason: reason,
        result_message: message,
        asynchronous_correlation_value: None,
        response_payload: payload,
        message_extension: Vec::new(),
        extensions: Vec::new(),
    }
}

/// A Result Reason the version defines: 2.x reasons are told to 1.x clients as the
/// nearest 1.x reason.
fn reason_in(reason: ResultReason, version: Version) -> u32 {
    let reasons = registry::enumeration("ResultReason").expect("ResultReason");
    if reasons.defined_in(reason.value(), version) {
        return reason.value();
    }
    let name = reason.name();
    let nearest = match reason {
        ResultReason::WrongKeyLifecycleState
        | ResultReason::IncompatibleCryptographicUsageMask
        | ResultReason::AttributeReadOnly => ResultReason::PermissionDenied,
        ResultReason::ObjectDestroyed | ResultReason::ObjectNotFound => ResultReason::ItemNotFound,
        ResultReason::MissingInitializationVector => ResultReason::MissingData,
        _ if name.starts_with("Invalid")
            || name.starts_with("Attribute")
            || name.starts_with("Bad")
            || name.starts_with("Unsupported")
            || name.starts_with("NonUnique") =>
        {
            ResultReason::InvalidField
        }
        _ => ResultReason::GeneralFailure,
    };
    nearest.value()
}

/// A response with a single failed batch item and no operation.
fn refusal(version: Version, error: KmipError) -> Item {
    let item = ResponseBatchItem {
        operation: None,
        unique_batch_item_id: None,
        result_status: enums::ResultStatus::OperationFailed.value(),
        result_reason: Some(reason_in(error.reason, version)),
        result_message: Some(error.message),
        asynchronous_correlation_value: None,
        response_payload: None,
        message_extension: Vec::new(),
        extensions: Vec::new(),
    };
    response(version, None, vec![item])
}

fn response(
    version: Version,
    client_correlation: Option<String>,
    items: Vec<ResponseBatchItem>,
) -> Item {
    let message = ResponseMessage {
        response_header: ResponseHeader {
            protocol_version: ProtocolVersion::of(version),
            time_stamp: hyok_db::now_millis().div_euclid(1000),
            nonce: None,
            server_hashed_password: None,
            attestation_type: Vec::new(),
            client_correlation_value: client_correlation,
            server_correlation_value: None,
            batch_count: items.len() as i32,
            extensions: Vec::new(),
        },
        batch_item: items,
        extensions: Vec::new(),
    };
    message.to_item(tag::RESPONSE_MESSAGE)
}

/// The answer to bytes that are not a KMIP message at all.
pub fn unreadable(reason: &str) -> Item {
    refusal(
        Version::V1_0,
        KmipError::new(ResultReason::InvalidMessage, reason),
    )
}

/// The answer to a request from a client whose certificate names no hyok user.
pub fn unauthenticated(version: Version, reason: &str) -> Item {
    refusal(
        version,
        KmipError::new(ResultReason::AuthenticationNotSuccessful, reason),
    )
}

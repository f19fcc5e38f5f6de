//! Create: a symmetric key (AES 128, 192 or 256), wrapped by the master key and owned by
//! the caller. Pre-Active unless the request's Activation Date has come.

use hyok_kmip::enums;
use hyok_kmip::enums::ResultReason;
use hyok_kmip::message::CreateRequest;
use hyok_kmip::registry::tag;
use hyok_kmip::Item;

use crate::keys::NewSymmetricKey;
use crate::kmip_ops::attributes;
use crate::kmip_ops::context::Context;
use crate::kmip_ops::error::KmipError;

pub async fn create(
    context: &Context<'_>,
    request: &CreateRequest,
) -> Result<Vec<Item>, KmipError> {
    context.state.access.may_create(context.caller)?;
    let symmetric_key = enums::ObjectType::SymmetricKey.value();
    if request.object_type != symmetric_key {
        return Err(KmipError::new(
            ResultReason::InvalidObjectType,
            "Create makes Symmetric Keys; other objects are registered or made by Create Key Pair",
        ));
    }
    let requested = attributes::requested(request.attributes.children().unwrap_or_default())?;
    if requested.algorithm != Some(enums::CryptographicAlgorithm::AES.value()) {
        return Err(KmipError::not_supported(
            "Create needs Cryptographic Algorithm AES (the one symmetric algorithm hyok creates)",
        ));
    }
    let bits = match requested.length {
        Some(bits @ (128 | 192 | 256)) => bits as u32,
        Some(other) => {
            return Err(KmipError::new(
                ResultReason::InvalidAttributeValue,
                format!("Cryptographic Length {other}: AES keys are 128, 192 or 256 bits"),
            ))
        }
        None => {
            return Err(KmipError::new(
                ResultReason::MissingData,
                "Create needs a Cryptographic Length",
            ))
        }
    };
    let quantum_safe = request
        .attributes
        .child(tag::QUANTUM_SAFE)
        .is_some_and(|q| q.value == hyok_kmip::Value::Boolean(true));
    if quantum_safe && bits < 256 {
        // (General Failure, as the OASIS test case QS-M-2 expects.)
        return Err(KmipError::new(
            ResultReason::GeneralFailure,
            format!("not quantum safe: AES-{bits} is not; ask for a 256-bit key"),
        ));
    }
    for name in &requested.names {
        context.ensure_name_free(name).await?;
    }
    let key = NewSymmetricKey {
        owner: &context.caller.user,
        bits,
        names: &requested.names,
    };
    let uid = context
        .state
        .keys
        .create_symmetric_with(&key, requested.stored)
        .await?;
    if let Some(at) = requested.activation_date {
        if at.saturating_mul(1000) <= hyok_db::now_millis() {
            context.state.keys.activate(&uid, &context.actor()).await?;
        }
    }
    Ok(vec![
        Item::enumeration(tag::OBJECT_TYPE, symmetric_key),
        Item::text(tag::UNIQUE_IDENTIFIER, uid),
    ])
}

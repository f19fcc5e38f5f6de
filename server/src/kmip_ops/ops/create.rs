//! Create: a symmetric key of any symmetric algorithm KMIP names (AES, Triple DES,
//! ChaCha20, HMAC keys, Camellia, Blowfish, IDEA, ...; lengths as
//! [`crate::keys::symmetric_key_bytes`] says), wrapped by the master key and owned by the
//! caller. Pre-Active unless the request's Activation Date has come.

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
    let algorithm = requested
        .algorithm
        .map(|value| {
            enums::CryptographicAlgorithm::from_value(value).ok_or_else(|| {
                KmipError::new(
                    ResultReason::InvalidAttributeValue,
                    format!("Cryptographic Algorithm 0x{value:08x} is not one KMIP names"),
                )
            })
        })
        .transpose()?
        .ok_or_else(|| {
            KmipError::new(
                ResultReason::MissingData,
                "Create needs a Cryptographic Algorithm",
            )
        })?;
    let bits = requested.length.ok_or_else(|| {
        KmipError::new(
            ResultReason::MissingData,
            "Create needs a Cryptographic Length",
        )
    })?;
    let bits = u32::try_from(bits).unwrap_or(0);
    crate::keys::symmetric_key_bytes(algorithm, bits)
        .map_err(|problem| KmipError::new(ResultReason::InvalidAttributeValue, problem))?;
    let quantum_safe = request
        .attributes
        .child(tag::QUANTUM_SAFE)
        .is_some_and(|q| q.value == hyok_kmip::Value::Boolean(true));
    if quantum_safe && (algorithm != enums::CryptographicAlgorithm::AES || bits < 256) {
        // (General Failure, as the OASIS test case QS-M-2 expects.)
        return Err(KmipError::new(
            ResultReason::GeneralFailure,
            format!("not quantum safe: {algorithm}-{bits} is not; ask for a 256-bit AES key"),
        ));
    }
    for name in &requested.names {
        context.ensure_name_free(name).await?;
    }
    let key = NewSymmetricKey {
        algorithm,
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

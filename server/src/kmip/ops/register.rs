//! Register: a symmetric key the client brings (Raw key material, AES), wrapped by the
//! master key on arrival and owned by the caller.

use hyok_kmip::message::RegisterRequest;
use hyok_kmip::registry::tag;
use hyok_kmip::{Item, Value};
use zeroize::Zeroizing;

use crate::keys::NewSymmetricKey;
use crate::kmip::attributes;
use crate::kmip::context::Context;
use crate::kmip::error::KmipError;
use crate::kmip::names;

pub async fn register(
    context: &Context<'_>,
    request: &RegisterRequest,
) -> Result<Vec<Item>, KmipError> {
    context.state.access.may_create(context.caller)?;
    if request.object_type != names::value("ObjectType", "SymmetricKey")
        || request.object.tag != tag::SYMMETRIC_KEY
    {
        return Err(KmipError::new(
            "InvalidObjectType",
            "hyok registers Symmetric Keys so far",
        ));
    }
    let block = request
        .object
        .child(tag::KEY_BLOCK)
        .ok_or_else(|| KmipError::invalid_field("a Symmetric Key needs a Key Block"))?;
    let raw = names::value("KeyFormatType", "Raw");
    if !matches!(block.child(tag::KEY_FORMAT_TYPE).map(|f| &f.value), Some(Value::Enumeration(f)) if *f == raw)
    {
        return Err(KmipError::new(
            "KeyFormatTypeNotSupported",
            "register the key in Raw format",
        ));
    }
    if block.child(tag::KEY_WRAPPING_DATA).is_some() {
        return Err(KmipError::not_supported(
            "register the key unwrapped (over TLS)",
        ));
    }
    let material = match block
        .child(tag::KEY_VALUE)
        .and_then(|v| v.child(tag::KEY_MATERIAL))
        .map(|m| &m.value)
    {
        Some(Value::ByteString(bytes)) => Zeroizing::new(bytes.clone()),
        _ => {
            return Err(KmipError::invalid_field(
                "the Key Value needs Key Material as bytes",
            ))
        }
    };
    let mut requested = attributes::requested(request.attributes.children().unwrap_or_default())?;
    if let Some(Item {
        value: Value::Enumeration(algorithm),
        ..
    }) = block.child(tag::CRYPTOGRAPHIC_ALGORITHM)
    {
        requested.algorithm.get_or_insert(*algorithm);
    }
    if let Some(Item {
        value: Value::Integer(bits),
        ..
    }) = block.child(tag::CRYPTOGRAPHIC_LENGTH)
    {
        requested.length.get_or_insert(*bits);
    }
    if requested.algorithm != Some(names::value("CryptographicAlgorithm", "AES")) {
        return Err(KmipError::not_supported("hyok registers AES keys so far"));
    }
    let bits = requested.length.unwrap_or(material.len() as i32 * 8);
    for name in &requested.names {
        context.ensure_name_free(name).await?;
    }
    let key = NewSymmetricKey {
        owner: &context.caller.user,
        bits: u32::try_from(bits).unwrap_or(0),
        names: &requested.names,
    };
    let uid = context
        .state
        .keys
        .register_symmetric(&key, material, requested.stored)
        .await?;
    if let Some(at) = requested.activation_date {
        if at.saturating_mul(1000) <= hyok_db::now_millis() {
            context.state.keys.activate(&uid, &context.actor()).await?;
        }
    }
    Ok(vec![Item::text(tag::UNIQUE_IDENTIFIER, uid)])
}

//! Register: an object the client brings, wrapped by the master key on arrival and owned
//! by the caller. Wrapped key material is first unwrapped with the wrapping key it names
//! when hyok holds that key ([`super::key_unwrapping`]). A symmetric key in Raw or
//! Transparent Symmetric Key format becomes a key hyok computes with (an AES-256 one, a
//! key AWS XKS can use); every other object (key pairs' halves, secret data, opaque
//! objects, certificates, split keys, keys wrapped under a key hyok does not hold, ...) is
//! kept whole, and Get returns it as it came.

use hyok_kmip::enums;
use hyok_kmip::enums::ResultReason;
use hyok_kmip::message::RegisterRequest;
use hyok_kmip::registry::tag;
use hyok_kmip::{Item, Value};
use zeroize::Zeroizing;

use hyok_kmip::encode;
use serde_json::json;

use super::key_unwrapping::{self, Arrival};
use crate::keys::{digest, NewManagedObject, NewSymmetricKey, KEPT_WRAPPED};
use crate::kmip_ops::asymmetric_keys::check_registered;
use crate::kmip_ops::attributes;
use crate::kmip_ops::context::Context;
use crate::kmip_ops::error::KmipError;
use crate::kmip_ops::fields;

pub async fn register(
    context: &Context<'_>,
    request: &RegisterRequest,
) -> Result<Vec<Item>, KmipError> {
    context.state.access.may_create(context.caller)?;
    let object_type = enums::ObjectType::from_value(request.object_type).map_or("?", |t| t.name());
    if hyok_kmip::registry::tag_name(request.object.tag) != Some(object_type) {
        return Err(KmipError::new(
            ResultReason::InvalidObjectType,
            format!("the Object Type is {object_type}, but the object is not"),
        ));
    }
    let unwrapped;
    let object = match key_unwrapping::wrapping_data(&request.object) {
        None => &request.object,
        Some(wrapping) => match key_unwrapping::unwrap(context, &request.object, wrapping).await? {
            Arrival::Unwrapped(object) => {
                unwrapped = object;
                &unwrapped
            }
            Arrival::KeptWrapped => {
                return register_whole(context, request, &request.object, object_type, true).await
            }
        },
    };
    let raw = enums::KeyFormatType::Raw.value();
    let block = object.child(tag::KEY_BLOCK);
    let format = block
        .and_then(|b| b.child(tag::KEY_FORMAT_TYPE))
        .map(|f| &f.value);
    let transparent = enums::KeyFormatType::TransparentSymmetricKey.value();
    let raw_symmetric = object.tag == tag::SYMMETRIC_KEY
        && matches!(format, Some(Value::Enumeration(f)) if *f == raw || *f == transparent);
    if !raw_symmetric {
        return register_whole(context, request, object, object_type, false).await;
    }
    let block =
        block.ok_or_else(|| KmipError::invalid_field("a Symmetric Key needs a Key Block"))?;
    let key_material = block
        .child(tag::KEY_VALUE)
        .and_then(|v| v.child(tag::KEY_MATERIAL));
    // (Transparent Symmetric Key: the Key inside the Key Material.)
    let material = match key_material
        .and_then(|m| m.child(tag::KEY).or(Some(m)))
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
    if matches!(format, Some(Value::Enumeration(f)) if *f == transparent) {
        // Get answers in the format the key came in.
        requested.stored.insert(
            "KeyFormatType".into(),
            json!(enums::KeyFormatType::TransparentSymmetricKey.name()),
        );
    }
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
    let algorithm = requested
        .algorithm
        .and_then(enums::CryptographicAlgorithm::from_value)
        .ok_or_else(|| {
            KmipError::new(
                ResultReason::MissingData,
                "a Symmetric Key needs the Cryptographic Algorithm KMIP names for it",
            )
        })?;
    let bits = requested.length.unwrap_or(material.len() as i32 * 8);
    for name in &requested.names {
        context.ensure_name_free(name).await?;
    }
    let key = NewSymmetricKey {
        algorithm,
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

/// Keeps any other object whole (its encoded structure, wrapped by the master key);
/// `kept_wrapped`: one wrapped under a key hyok does not hold.
async fn register_whole(
    context: &Context<'_>,
    request: &RegisterRequest,
    object: &Item,
    object_type: &str,
    kept_wrapped: bool,
) -> Result<Vec<Item>, KmipError> {
    if let Some(kind) = enums::ObjectType::from_value(request.object_type).filter(|_| !kept_wrapped)
    {
        check_registered(kind, object)?;
    }
    let requested = attributes::requested(request.attributes.children().unwrap_or_default())?;
    for name in &requested.names {
        context.ensure_name_free(name).await?;
    }
    let mut map = requested.stored;
    if kept_wrapped {
        map.insert(KEPT_WRAPPED.into(), json!(true));
    }
    let block = object.child(tag::KEY_BLOCK);
    let enumeration = |wanted: u32| fields::enumeration(block, wanted);
    if let Some(name) = enumeration(tag::CRYPTOGRAPHIC_ALGORITHM)
        .or(requested.algorithm)
        .and_then(enums::CryptographicAlgorithm::from_value)
        .map(|a| a.name())
    {
        map.insert("CryptographicAlgorithm".into(), json!(name));
    }
    let length = match block
        .and_then(|b| b.child(tag::CRYPTOGRAPHIC_LENGTH))
        .map(|i| &i.value)
    {
        Some(Value::Integer(bits)) => Some(*bits),
        _ => requested.length,
    };
    if let Some(bits) = length {
        map.insert("CryptographicLength".into(), json!(bits));
    }
    if let Some(format) =
        enumeration(tag::KEY_FORMAT_TYPE).and_then(enums::KeyFormatType::from_value)
    {
        map.insert("KeyFormatType".into(), json!(format.name()));
    }
    // The digest of what the object protects: its key material, or its value (not of
    // wrapped material, which hyok does not see).
    let material = block
        .and_then(|b| b.child(tag::KEY_VALUE))
        .and_then(|v| v.child(tag::KEY_MATERIAL))
        .or_else(|| object.child(tag::OPAQUE_DATA_VALUE))
        .or_else(|| object.child(tag::CERTIFICATE_VALUE))
        .filter(|_| !kept_wrapped);
    if let Some(Item {
        value: Value::ByteString(bytes),
        ..
    }) = material
    {
        map.insert("Digest".into(), json!(digest(bytes)));
    }
    if let Some(Item {
        value: Value::ByteString(der),
        ..
    }) = object.child(tag::CERTIFICATE_VALUE)
    {
        attributes::keep_more(&mut map, &certificate_attributes(der)?)?;
    }
    let encoded = Zeroizing::new(
        encode(object).map_err(|e| KmipError::new(ResultReason::InvalidMessage, e.to_string()))?,
    );
    let uid = crate::keys::new_uid();
    let new = NewManagedObject {
        uid: uid.clone(),
        owner: &context.caller.user,
        object_type,
        names: &requested.names,
        attributes: map,
    };
    context
        .state
        .keys
        .store_object(new, encoded, &context.actor(), "register")
        .await?;
    if let Some(at) = requested.activation_date {
        if at.saturating_mul(1000) <= hyok_db::now_millis() {
            context.state.keys.activate(&uid, &context.actor()).await?;
        }
    }
    Ok(vec![Item::text(tag::UNIQUE_IDENTIFIER, uid)])
}

/// What the server reads from an X.509 certificate: its type and length, and the common
/// name and organization of its subject and issuer.
fn certificate_attributes(der: &[u8]) -> Result<Vec<Item>, KmipError> {
    let certificate = openssl::x509::X509::from_der(der).map_err(|_| {
        KmipError::new(
            ResultReason::InvalidField,
            "the Certificate Value is not a DER X.509 certificate",
        )
    })?;
    let mut out = vec![
        Item::enumeration(tag::CERTIFICATE_TYPE, enums::CertificateType::X_509.value()),
        Item::integer(tag::CERTIFICATE_LENGTH, der.len() as i32),
    ];
    let fields = [
        (
            certificate.subject_name(),
            openssl::nid::Nid::COMMONNAME,
            tag::CERTIFICATE_SUBJECT_CN,
        ),
        (
            certificate.subject_name(),
            openssl::nid::Nid::ORGANIZATIONNAME,
            tag::CERTIFICATE_SUBJECT_O,
        ),
        (
            certificate.issuer_name(),
            openssl::nid::Nid::COMMONNAME,
            tag::CERTIFICATE_ISSUER_CN,
        ),
    ];
    for (name, nid, field) in fields {
        if let Some(entry) = name.entries_by_nid(nid).next() {
            if let Ok(text) = std::str::from_utf8(entry.data().as_slice()) {
                out.push(Item::text(field, text));
            }
        }
    }
    Ok(out)
}

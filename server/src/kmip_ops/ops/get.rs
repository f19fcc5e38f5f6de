//! Get (a key in the Key Format Type asked for, else in the one it was created or
//! registered in, converted by [`crate::kmip_ops::key_formats`]; any other object as it
//! came), wrapped under another key when a Key Wrapping Specification asks
//! ([`super::key_wrapping`]), Get Attributes and Get Attribute List.

use hyok_kmip::enums;
use hyok_kmip::enums::ResultReason;
use hyok_kmip::message::{GetAttributeListRequest, GetAttributesRequest, GetRequest};
use hyok_kmip::registry::tag;
use hyok_kmip::{Item, Value};

use super::key_wrapping;
use crate::access::Operation;
use crate::keys::{RecordKinds, OBJECT_ITEM};
use crate::kmip_ops::attributes;
use crate::kmip_ops::context::{required_uid, Context};
use crate::kmip_ops::error::KmipError;
use crate::kmip_ops::key_formats;
use crate::kmip_ops::stored::{damaged, from_stored, stored_algorithm, stored_item, stored_object};

pub async fn get(context: &Context<'_>, request: &GetRequest) -> Result<Vec<Item>, KmipError> {
    object_as(context, request, Operation::Get).await
}

/// The object `request` names (Object Type, Unique Identifier, the object) as Get returns
/// it, for `operation` (Get, or Export), checked and audited as that operation.
pub async fn object_as(
    context: &Context<'_>,
    request: &GetRequest,
    operation: Operation,
) -> Result<Vec<Item>, KmipError> {
    let uid = required_uid(&request.unique_identifier)?;
    if request.key_compression_type.is_some() {
        return Err(KmipError::new(
            ResultReason::KeyCompressionTypeNotSupported,
            "hyok returns keys uncompressed",
        ));
    }
    let object = context.object(uid, operation).await?;
    let stored = object.attributes();
    let wrapping = request.key_wrapping_specification.as_ref();
    if wrapping.is_none()
        && attributes::is_sensitive(&attributes::kept_tagged(stored, tag::SENSITIVE))
    {
        return Err(KmipError::new(
            ResultReason::Sensitive,
            format!("{uid} is Sensitive: hyok does not return it in the clear"),
        ));
    }
    let own_format = stored["KeyFormatType"]
        .as_str()
        .and_then(from_stored::<enums::KeyFormatType>)
        .unwrap_or(enums::KeyFormatType::Raw);
    let format = match request.key_format_type {
        Some(asked) => enums::KeyFormatType::from_value(asked).ok_or_else(|| {
            KmipError::new(
                ResultReason::KeyFormatTypeNotSupported,
                "unknown Key Format Type",
            )
        })?,
        None => own_format,
    };
    let material = context.state.keys.material(uid).await?;
    let answer = if stored[OBJECT_ITEM].as_bool() == Some(true) {
        let item = stored_object(uid, &material)?;
        let object_type = stored_item::<enums::ObjectType>(tag::OBJECT_TYPE, &object.object_type)
            .ok_or_else(|| damaged(uid))?;
        let item = if format == own_format {
            item
        } else {
            let converted = match object.kmip_type() {
                Some(enums::ObjectType::PrivateKey) => key_formats::private(
                    format,
                    &**context.state.parsed_keys.private(uid, &material)?,
                )?,
                Some(enums::ObjectType::PublicKey) => key_formats::public(
                    format,
                    &**context.state.parsed_keys.public(uid, &material)?,
                )?,
                _ => {
                    return Err(KmipError::new(
                        ResultReason::KeyFormatTypeNotSupported,
                        format!("hyok returns this object in its own format, {own_format}"),
                    ))
                }
            };
            in_format(item, format, converted)
        };
        vec![object_type, Item::text(tag::UNIQUE_IDENTIFIER, uid), item]
    } else {
        symmetric_key(uid, stored, format, &material)?
    };
    let answer = match (wrapping, answer.as_slice()) {
        (Some(specification), [object_type, id, object]) => vec![
            object_type.clone(),
            id.clone(),
            key_wrapping::wrapped(context, object.clone(), specification).await?,
        ],
        _ => answer,
    };
    context.audit_key_use(operation, uid).await;
    if stored["Fresh"].as_bool() != Some(false) {
        // Fresh: true until the object has left the server once.
        context
            .state
            .keys
            .change_attributes(uid, &context.actor(), "get", |_, attributes, _| {
                attributes["Fresh"] = serde_json::json!(false);
                Ok(())
            })
            .await?;
    }
    Ok(answer)
}

/// `object` (a Private Key or Public Key structure) with its Key Block in `format`,
/// holding `material`.
fn in_format(mut object: Item, format: enums::KeyFormatType, material: Item) -> Item {
    if let Value::Structure(children) = &mut object.value {
        for child in children.iter_mut().filter(|c| c.tag == tag::KEY_BLOCK) {
            if let Value::Structure(fields) = &mut child.value {
                for field in fields.iter_mut() {
                    match field.tag {
                        tag::KEY_FORMAT_TYPE => {
                            *field = Item::enumeration(tag::KEY_FORMAT_TYPE, format.value())
                        }
                        tag::KEY_VALUE => {
                            *field = Item::structure(tag::KEY_VALUE, vec![material.clone()])
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    object
}

fn symmetric_key(
    uid: &str,
    stored: &serde_json::Value,
    format: enums::KeyFormatType,
    material: &[u8],
) -> Result<Vec<Item>, KmipError> {
    let algorithm = stored_algorithm(stored).unwrap_or(enums::CryptographicAlgorithm::AES);
    let length = stored["CryptographicLength"]
        .as_i64()
        .unwrap_or(material.len() as i64 * 8);
    Ok(vec![
        Item::enumeration(tag::OBJECT_TYPE, enums::ObjectType::SymmetricKey.value()),
        Item::text(tag::UNIQUE_IDENTIFIER, uid),
        Item::structure(
            tag::SYMMETRIC_KEY,
            vec![Item::structure(
                tag::KEY_BLOCK,
                vec![
                    Item::enumeration(tag::KEY_FORMAT_TYPE, format.value()),
                    Item::structure(
                        tag::KEY_VALUE,
                        vec![key_formats::symmetric(format, material)?],
                    ),
                    Item::enumeration(tag::CRYPTOGRAPHIC_ALGORITHM, algorithm.value()),
                    Item::integer(tag::CRYPTOGRAPHIC_LENGTH, length as i32),
                ],
            )],
        ),
    ])
}

pub async fn all_attributes(
    context: &Context<'_>,
    uid: &str,
    operation: Operation,
) -> Result<Vec<Item>, KmipError> {
    let object = context.object(uid, operation).await?;
    let object_names = context
        .state
        .db
        .names_of(uid)
        .await
        .map_err(crate::access::AccessError::from)?;
    Ok(attributes::of_object(&object, &object_names))
}

pub async fn get_attributes(
    context: &Context<'_>,
    request: &GetAttributesRequest,
) -> Result<Vec<Item>, KmipError> {
    let uid = required_uid(&request.unique_identifier)?;
    let all = all_attributes(context, uid, Operation::GetAttributes).await?;
    let chosen = if request.attribute_reference.is_empty() {
        all
    } else {
        all.into_iter()
            .filter(|a| {
                request
                    .attribute_reference
                    .iter()
                    .any(|r| attributes::matches_reference(a, r))
            })
            .collect()
    };
    Ok(vec![
        Item::text(tag::UNIQUE_IDENTIFIER, uid),
        Item::structure(tag::ATTRIBUTES, chosen),
    ])
}

pub async fn get_attribute_list(
    context: &Context<'_>,
    request: &GetAttributeListRequest,
) -> Result<Vec<Item>, KmipError> {
    let uid = required_uid(&request.unique_identifier)?;
    let all = all_attributes(context, uid, Operation::GetAttributeList).await?;
    let mut out = vec![Item::text(tag::UNIQUE_IDENTIFIER, uid)];
    for attribute in &all {
        let reference = attributes::reference_of(attribute);
        if !out.contains(&reference) {
            out.push(reference);
        }
    }
    Ok(out)
}

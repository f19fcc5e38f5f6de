//! Get (a symmetric key in Raw format; any other object as it was created or
//! registered), Get Attributes and Get Attribute List.

use hyok_kmip::enums;
use hyok_kmip::enums::ResultReason;
use hyok_kmip::message::{GetAttributeListRequest, GetAttributesRequest, GetRequest};
use hyok_kmip::registry::tag;
use hyok_kmip::Item;

use super::key_pair::key_block;
use crate::access::Operation;
use crate::keys::OBJECT_ITEM;
use crate::kmip_ops::attributes;
use crate::kmip_ops::context::{required_uid, Context};
use crate::kmip_ops::error::KmipError;
use crate::kmip_ops::stored::{from_stored, stored_algorithm, stored_item};

pub async fn get(context: &Context<'_>, request: &GetRequest) -> Result<Vec<Item>, KmipError> {
    let uid = required_uid(&request.unique_identifier)?;
    if request.key_wrapping_specification.is_some() || request.key_compression_type.is_some() {
        return Err(KmipError::new(
            ResultReason::KeyFormatTypeNotSupported,
            "hyok returns keys unwrapped (over TLS) and uncompressed",
        ));
    }
    let object = context.object(uid, Operation::Get).await?;
    let stored = object.attributes();
    let format = stored["KeyFormatType"].as_str().unwrap_or("Raw");
    if request.key_format_type.is_some_and(|wanted| {
        Some(wanted) != from_stored::<enums::KeyFormatType>(format).map(|f| f.value())
    }) {
        return Err(KmipError::new(
            ResultReason::KeyFormatTypeNotSupported,
            format!("hyok returns this object in its own format, {format}"),
        ));
    }
    let material = context.state.keys.material(uid).await?;
    let answer = if stored[OBJECT_ITEM].as_bool() == Some(true) {
        let item = hyok_kmip::decode(&material, &hyok_kmip::Limits::default()).map_err(|_| {
            KmipError::new(
                ResultReason::GeneralFailure,
                format!("the stored form of {uid} is damaged"),
            )
        })?;
        let object_type = stored_item::<enums::ObjectType>(tag::OBJECT_TYPE, &object.object_type)
            .ok_or_else(|| {
            KmipError::new(
                ResultReason::GeneralFailure,
                format!("the stored object type of {uid} is damaged"),
            )
        })?;
        vec![object_type, Item::text(tag::UNIQUE_IDENTIFIER, uid), item]
    } else {
        symmetric_key(uid, stored, &material)
    };
    context.audit_key_use(Operation::Get, uid).await;
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

fn symmetric_key(uid: &str, stored: &serde_json::Value, material: &[u8]) -> Vec<Item> {
    let algorithm = stored_algorithm(stored).unwrap_or(enums::CryptographicAlgorithm::AES);
    let length = stored["CryptographicLength"]
        .as_i64()
        .unwrap_or(material.len() as i64 * 8);
    vec![
        Item::enumeration(tag::OBJECT_TYPE, enums::ObjectType::SymmetricKey.value()),
        Item::text(tag::UNIQUE_IDENTIFIER, uid),
        Item::structure(
            tag::SYMMETRIC_KEY,
            vec![key_block(
                enums::KeyFormatType::Raw,
                material,
                algorithm,
                length as i32,
            )],
        ),
    ]
}

async fn all_attributes(
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

//! Get (the key in Raw format), Get Attributes and Get Attribute List.

use hyok_kmip::message::{GetAttributeListRequest, GetAttributesRequest, GetRequest};
use hyok_kmip::registry::tag;
use hyok_kmip::Item;

use crate::access::Operation;
use crate::kmip::attributes;
use crate::kmip::context::{required_uid, Context};
use crate::kmip::error::KmipError;
use crate::kmip::names;

pub async fn get(context: &Context<'_>, request: &GetRequest) -> Result<Vec<Item>, KmipError> {
    let uid = required_uid(&request.unique_identifier)?;
    let raw = names::value("KeyFormatType", "Raw");
    if request.key_format_type.is_some_and(|format| format != raw)
        || request.key_wrapping_specification.is_some()
        || request.key_compression_type.is_some()
    {
        return Err(KmipError::new(
            "KeyFormatTypeNotSupported",
            "hyok returns symmetric keys in Raw format, unwrapped (over TLS)",
        ));
    }
    let object = context.object(uid, Operation::Get).await?;
    if object.object_type != "SymmetricKey" {
        return Err(KmipError::not_supported(
            "Get returns symmetric keys only, so far",
        ));
    }
    let material = context.state.keys.material(uid).await?;
    let stored = object.attributes();
    let algorithm = stored["CryptographicAlgorithm"].as_str().unwrap_or("AES");
    let length = stored["CryptographicLength"]
        .as_i64()
        .unwrap_or(material.len() as i64 * 8);
    context.record_use(Operation::Get, uid).await;
    if stored["Fresh"].as_bool() != Some(false) {
        // Fresh: true until the key has left the server once.
        context
            .state
            .keys
            .change_attributes(uid, &context.actor(), "get", |_, attributes, _| {
                attributes["Fresh"] = serde_json::json!(false);
                Ok(())
            })
            .await?;
    }
    Ok(vec![
        Item::enumeration(tag::OBJECT_TYPE, names::value("ObjectType", "SymmetricKey")),
        Item::text(tag::UNIQUE_IDENTIFIER, uid),
        Item::structure(
            tag::SYMMETRIC_KEY,
            vec![Item::structure(
                tag::KEY_BLOCK,
                vec![
                    Item::enumeration(tag::KEY_FORMAT_TYPE, raw),
                    Item::structure(
                        tag::KEY_VALUE,
                        vec![Item::bytes(tag::KEY_MATERIAL, material.to_vec())],
                    ),
                    Item::enumeration(
                        tag::CRYPTOGRAPHIC_ALGORITHM,
                        names::value("CryptographicAlgorithm", algorithm),
                    ),
                    Item::integer(tag::CRYPTOGRAPHIC_LENGTH, length as i32),
                ],
            )],
        ),
    ])
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

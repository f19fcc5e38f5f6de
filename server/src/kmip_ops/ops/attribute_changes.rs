//! Add, Set, Modify and Delete Attribute: names, the usage mask, and every other client
//! attribute (vendor attributes such as vSphere's x-Vendor among them).

use crate::keys::RecordKinds;
use hyok_kmip::enums;
use hyok_kmip::enums::ResultReason;
use hyok_kmip::enums::State;
use hyok_kmip::message::{
    AddAttributeRequest, DeleteAttributeRequest, ModifyAttributeRequest, SetAttributeRequest,
};
use hyok_kmip::registry::{tag, Version};
use hyok_kmip::Item;
use serde_json::json;

use crate::access::Operation;
use crate::keys::KeyError;
use crate::kmip_ops::attributes::{self, changeable, Changeable};
use crate::kmip_ops::context::{required_uid, Context};
use crate::kmip_ops::error::KmipError;

/// The attribute inside a New Attribute or Current Attribute structure.
fn inner(wrapper: &Item) -> Result<&Item, KmipError> {
    match wrapper.children() {
        Some([attribute]) => Ok(attribute),
        _ => Err(KmipError::invalid_field(
            "New / Current Attribute holds exactly one attribute",
        )),
    }
}

/// The response: the Unique Identifier, and for KMIP 1.x clients the attribute as it now
/// is (1.x responses echo it; the translation writes it as an Attribute).
fn answer(context: &Context<'_>, uid: &str, attribute: &Item) -> Vec<Item> {
    let mut out = vec![Item::text(tag::UNIQUE_IDENTIFIER, uid)];
    if context.version < Version::V2_0 {
        out.push(Item::structure(tag::NEW_ATTRIBUTE, vec![attribute.clone()]));
    }
    out
}

/// A refusal from inside the storage closure.
fn refuse(error: KmipError) -> KeyError {
    KeyError::Refused {
        reason: error.reason,
        message: error.message,
    }
}

/// Blocks or unblocks a key (the `block` right).
async fn change_blocked(context: &Context<'_>, uid: &str, blocked: bool) -> Result<(), KmipError> {
    context.object(uid, Operation::Block).await?;
    context
        .state
        .keys
        .set_blocked(uid, blocked, &context.actor())
        .await?;
    Ok(())
}

/// A new Activation Date: only for a Pre-Active object; a date that has come activates it
/// (a later one is kept, and the object stays Pre-Active until activated).
async fn change_activation_date(
    context: &Context<'_>,
    uid: &str,
    seconds: i64,
    operation: Operation,
) -> Result<(), KmipError> {
    let object = context.object(uid, operation).await?;
    if object.kmip_state() != Some(State::PreActive) {
        return Err(KmipError::new(
            ResultReason::WrongKeyLifecycleState,
            format!(
                "{uid} is {}: only a Pre-Active object's Activation Date can change",
                object.state
            ),
        ));
    }
    if seconds.saturating_mul(1000) <= hyok_db::now_millis() {
        context.state.keys.activate(uid, &context.actor()).await?;
    } else {
        context
            .state
            .keys
            .change_attributes(uid, &context.actor(), operation.as_str(), |_, stored, _| {
                stored["ActivationDate"] = json!(seconds.saturating_mul(1000));
                Ok(())
            })
            .await?;
    }
    Ok(())
}

pub async fn add(
    context: &Context<'_>,
    request: &AddAttributeRequest,
) -> Result<Vec<Item>, KmipError> {
    let uid = required_uid(&request.unique_identifier)?;
    let attribute = inner(&request.new_attribute)?;
    let kind = changeable(attribute)?;
    if let Changeable::ActivationDate(seconds) = kind {
        change_activation_date(context, uid, seconds, Operation::AddAttribute).await?;
        return Ok(answer(context, uid, attribute));
    }
    if let Changeable::Blocked(blocked) = kind {
        change_blocked(context, uid, blocked).await?;
        return Ok(answer(context, uid, attribute));
    }
    context.object(uid, Operation::AddAttribute).await?;
    if let Changeable::Name(name) = &kind {
        context.ensure_name_free(name).await?;
    }
    context
        .state
        .keys
        .change_attributes(uid, &context.actor(), "add-attribute", |_, stored, names| {
            match &kind {
                Changeable::Name(name) => names.push(name.clone()),
                Changeable::UsageMask(mask) => {
                    if stored.get("CryptographicUsageMask").is_some() {
                        return Err(refuse(KmipError::new(ResultReason::AttributeSingleValued,
                            "the object has a Cryptographic Usage Mask; use Set or Modify Attribute",
                        )));
                    }
                    stored["CryptographicUsageMask"] = json!(mask);
                }
                Changeable::ActivationDate(_) | Changeable::Blocked(_) => {}
                Changeable::Link(link_type, target) => {
                    if stored["Links"].get(*link_type).is_some() {
                        return Err(refuse(KmipError::new(ResultReason::AttributeSingleValued,
                            format!("the object has a {link_type} already: use Set or Modify Attribute"),
                        )));
                    }
                    attributes::set_link(stored, link_type, target);
                }
                Changeable::Kept => {
                    let mut kept = attributes::kept(stored);
                    let single = attribute.tag != tag::ATTRIBUTE && !hyok_kmip::registry::multi_valued(attribute.tag);
                    if single && kept.iter().any(|k| k.tag == attribute.tag) {
                        return Err(refuse(KmipError::new(ResultReason::AttributeSingleValued,
                            "the object has this attribute already and it takes one value: use Set or Modify Attribute",
                        )));
                    }
                    kept.push(attribute.clone());
                    attributes::set_kept(stored, &kept).map_err(refuse)?;
                }
            }
            Ok(())
        })
        .await
        ?;
    Ok(answer(context, uid, attribute))
}

pub async fn set(
    context: &Context<'_>,
    request: &SetAttributeRequest,
) -> Result<Vec<Item>, KmipError> {
    let uid = required_uid(&request.unique_identifier)?;
    let attribute = inner(&request.new_attribute)?;
    let kind = changeable(attribute)?;
    if let Changeable::Name(_) = kind {
        return Err(KmipError::new(
            ResultReason::MultiValuedAttribute,
            "Name has many values: use Add or Modify Attribute",
        ));
    }
    if let Changeable::ActivationDate(seconds) = kind {
        change_activation_date(context, uid, seconds, Operation::SetAttribute).await?;
        return Ok(answer(context, uid, attribute));
    }
    if let Changeable::Blocked(blocked) = kind {
        change_blocked(context, uid, blocked).await?;
        return Ok(answer(context, uid, attribute));
    }
    context.object(uid, Operation::SetAttribute).await?;
    context
        .state
        .keys
        .change_attributes(uid, &context.actor(), "set-attribute", |_, stored, _| {
            match &kind {
                Changeable::UsageMask(mask) => stored["CryptographicUsageMask"] = json!(mask),
                Changeable::Link(link_type, target) => {
                    attributes::set_link(stored, link_type, target);
                }
                _ => {
                    let mut kept = attributes::kept(stored);
                    kept.retain(|k| !attributes::same_attribute(k, attribute));
                    kept.push(attribute.clone());
                    attributes::set_kept(stored, &kept).map_err(refuse)?;
                }
            }
            Ok(())
        })
        .await?;
    Ok(answer(context, uid, attribute))
}

pub async fn modify(
    context: &Context<'_>,
    request: &ModifyAttributeRequest,
) -> Result<Vec<Item>, KmipError> {
    let uid = required_uid(&request.unique_identifier)?;
    let new = inner(&request.new_attribute)?;
    let current = request.current_attribute.as_ref().map(inner).transpose()?;
    let kind = changeable(new)?;
    if let Changeable::ActivationDate(seconds) = kind {
        change_activation_date(context, uid, seconds, Operation::ModifyAttribute).await?;
        return Ok(answer(context, uid, new));
    }
    if let Changeable::Blocked(blocked) = kind {
        change_blocked(context, uid, blocked).await?;
        return Ok(answer(context, uid, new));
    }
    context.object(uid, Operation::ModifyAttribute).await?;
    if let Changeable::Name(name) = &kind {
        context.ensure_name_free(name).await?;
    }
    let current_name = match current.map(changeable).transpose()? {
        Some(Changeable::Name(name)) => Some(name),
        _ => None,
    };
    context
        .state
        .keys
        .change_attributes(
            uid,
            &context.actor(),
            "modify-attribute",
            |_, stored, names| {
                let not_found = || {
                    refuse(KmipError::new(
                        ResultReason::AttributeNotFound,
                        "the object has no such attribute to modify",
                    ))
                };
                match &kind {
                    Changeable::Name(name) => {
                        let at = match &current_name {
                            Some(old) => names.iter().position(|n| n == old),
                            None => (!names.is_empty()).then_some(0),
                        }
                        .ok_or_else(not_found)?;
                        names[at] = name.clone();
                    }
                    Changeable::UsageMask(mask) => {
                        if stored.get("CryptographicUsageMask").is_none() {
                            return Err(not_found());
                        }
                        stored["CryptographicUsageMask"] = json!(mask);
                    }
                    Changeable::ActivationDate(_) | Changeable::Blocked(_) => {}
                    Changeable::Link(link_type, target) => {
                        if stored["Links"].get(*link_type).is_none() {
                            return Err(not_found());
                        }
                        stored["Links"][*link_type] = json!(target);
                    }
                    Changeable::Kept => {
                        let mut kept = attributes::kept(stored);
                        let at = kept
                            .iter()
                            .position(|k| match current {
                                Some(current) => k == current,
                                None => attributes::same_attribute(k, new),
                            })
                            .ok_or_else(not_found)?;
                        kept[at] = new.clone();
                        attributes::set_kept(stored, &kept).map_err(refuse)?;
                    }
                }
                Ok(())
            },
        )
        .await?;
    Ok(answer(context, uid, new))
}

pub async fn delete(
    context: &Context<'_>,
    request: &DeleteAttributeRequest,
) -> Result<Vec<Item>, KmipError> {
    let uid = required_uid(&request.unique_identifier)?;
    let current = request.current_attribute.as_ref().map(inner).transpose()?;
    let reference = request.attribute_reference.as_ref();
    if current.is_none() && reference.is_none() {
        return Err(KmipError::new(
            ResultReason::MissingData,
            "name the attribute: Current Attribute or Attribute Reference",
        ));
    }
    let unblock = match (current, reference) {
        (Some(current), _) => matches!(changeable(current)?, Changeable::Blocked(_)),
        (None, Some(reference)) => reference == &attributes::blocked_reference(),
        (None, None) => false,
    };
    if unblock {
        change_blocked(context, uid, false).await?;
        return Ok(vec![Item::text(tag::UNIQUE_IDENTIFIER, uid)]);
    }
    context.object(uid, Operation::DeleteAttribute).await?;
    let deleted = std::sync::Mutex::new(None);
    context
        .state
        .keys
        .change_attributes(
            uid,
            &context.actor(),
            "delete-attribute",
            |_, stored, names| {
                let matches = |item: &Item| match (current, reference) {
                    (Some(current), _) => item == current,
                    (None, Some(reference)) => attributes::matches_reference(item, reference),
                    (None, None) => false,
                };
                let name_item = |name: &String| {
                    Item::structure(
                        tag::NAME,
                        vec![
                            Item::text(tag::NAME_VALUE, name),
                            Item::enumeration(
                                tag::NAME_TYPE,
                                enums::NameType::UninterpretedTextString.value(),
                            ),
                        ],
                    )
                };
                let mut kept = attributes::kept(stored);
                let mask_item = stored["CryptographicUsageMask"]
                    .as_i64()
                    .map(|m| Item::integer(tag::CRYPTOGRAPHIC_USAGE_MASK, m as i32));
                let removed = if let Some(at) = kept.iter().position(&matches) {
                    let removed = kept.remove(at);
                    attributes::set_kept(stored, &kept).map_err(refuse)?;
                    removed
                } else if let Some(at) = names.iter().position(|n| matches(&name_item(n))) {
                    name_item(&names.remove(at))
                } else if let Some(mask) = mask_item.filter(&matches) {
                    if let Some(map) = stored.as_object_mut() {
                        map.remove("CryptographicUsageMask");
                    }
                    mask
                } else {
                    return Err(refuse(KmipError::new(
                        ResultReason::AttributeNotFound,
                        "the object has no such attribute that a client may delete",
                    )));
                };
                *deleted.lock().unwrap_or_else(|p| p.into_inner()) = Some(removed);
                Ok(())
            },
        )
        .await?;
    let deleted = deleted.into_inner().unwrap_or_else(|p| p.into_inner());
    Ok(match deleted {
        Some(attribute) => answer(context, uid, &attribute),
        None => vec![Item::text(tag::UNIQUE_IDENTIFIER, uid)],
    })
}

//! Activate, Revoke and Destroy.

use hyok_kmip::message::{ActivateRequest, DestroyRequest, RevokeRequest};
use hyok_kmip::registry::tag;
use hyok_kmip::{Item, Value};

use crate::access::Operation;
use crate::kmip::context::{required_uid, Context};
use crate::kmip::error::KmipError;
use crate::kmip::names;

fn answer(uid: &str) -> Vec<Item> {
    vec![Item::text(tag::UNIQUE_IDENTIFIER, uid)]
}

pub async fn activate(
    context: &Context<'_>,
    request: &ActivateRequest,
) -> Result<Vec<Item>, KmipError> {
    let uid = required_uid(&request.unique_identifier)?;
    context.object(uid, Operation::Activate).await?;
    context.state.keys.activate(uid, &context.actor()).await?;
    Ok(answer(uid))
}

pub async fn revoke(
    context: &Context<'_>,
    request: &RevokeRequest,
) -> Result<Vec<Item>, KmipError> {
    let uid = required_uid(&request.unique_identifier)?;
    let code = match request.revocation_reason.child(tag::REVOCATION_REASON_CODE) {
        Some(Item {
            value: Value::Enumeration(code),
            ..
        }) => *code,
        _ => {
            return Err(KmipError::invalid_field(
                "Revocation Reason needs a Revocation Reason Code",
            ))
        }
    };
    let compromised = [
        names::value("RevocationReasonCode", "KeyCompromise"),
        names::value("RevocationReasonCode", "CACompromise"),
    ]
    .contains(&code);
    context.object(uid, Operation::Revoke).await?;
    let compromised_at = compromised.then_some(request.compromise_occurrence_date);
    context
        .state
        .keys
        .revoke(uid, compromised_at, &context.actor())
        .await?;
    Ok(answer(uid))
}

pub async fn destroy(
    context: &Context<'_>,
    request: &DestroyRequest,
) -> Result<Vec<Item>, KmipError> {
    let uid = required_uid(&request.unique_identifier)?;
    context.object(uid, Operation::Destroy).await?;
    context.state.keys.destroy(uid, &context.actor()).await?;
    Ok(answer(uid))
}

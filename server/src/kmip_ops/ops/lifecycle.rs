//! Activate, Revoke and Destroy.

use hyok_kmip::enums;
use hyok_kmip::enums::ResultReason;
use hyok_kmip::message::{ActivateRequest, DestroyRequest, RevokeRequest};
use hyok_kmip::registry::tag;
use hyok_kmip::{Item, Value};

use crate::access::Operation;
use crate::kmip_ops::context::{required_uid, Context};
use crate::kmip_ops::error::KmipError;

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
        enums::RevocationReasonCode::KeyCompromise.value(),
        enums::RevocationReasonCode::CACompromise.value(),
    ]
    .contains(&code);
    context.object(uid, Operation::Revoke).await?;
    let compromised_at = compromised.then_some(request.compromise_occurrence_date);
    let reason = enums::RevocationReasonCode::from_value(code)
        .unwrap_or(enums::RevocationReasonCode::Unspecified)
        .name();
    context
        .state
        .keys
        .revoke(uid, reason, compromised_at, &context.actor())
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

/// Check: whether the object could be used with the given usage mask (hyok sets no usage
/// limits or leases, so those always pass).
pub async fn check(
    context: &Context<'_>,
    request: &hyok_kmip::message::CheckRequest,
) -> Result<Vec<Item>, KmipError> {
    let uid = required_uid(&request.unique_identifier)?;
    let object = context.object(uid, Operation::GetAttributes).await?;
    if let (Some(wanted), Some(mask)) = (
        request.cryptographic_usage_mask,
        object.attributes()["CryptographicUsageMask"].as_i64(),
    ) {
        if mask & i64::from(wanted) != i64::from(wanted) {
            return Err(KmipError::new(
                ResultReason::IncompatibleCryptographicUsageMask,
                format!("the usage mask of {uid} does not allow every use asked for"),
            ));
        }
    }
    Ok(answer(uid))
}

pub async fn rekey(
    context: &Context<'_>,
    request: &hyok_kmip::message::ReKeyRequest,
) -> Result<Vec<Item>, KmipError> {
    let uid = required_uid(&request.unique_identifier)?;
    if request.offset.is_some()
        || request
            .attributes
            .as_ref()
            .is_some_and(|a| !a.children().unwrap_or_default().is_empty())
    {
        return Err(KmipError::not_supported(
            "Re-key takes no Offset or Attributes yet",
        ));
    }
    context.object(uid, Operation::Rekey).await?;
    let new_uid = context.state.keys.rekey(uid, &context.actor()).await?;
    Ok(answer(&new_uid))
}

//! Sign (with a private key) and Signature Verify (with a public key), single-part, on
//! Data or Digested Data, in the schemes of [`crate::kmip_ops::signatures`]. Sign needs an
//! Active key whose usage mask allows Sign; Signature Verify also takes Deactivated and
//! Compromised keys and answers Valid or Invalid, never an error, for a signature that
//! does not verify.

use hyok_db::ObjectRecord;
use hyok_kmip::enums::{CryptographicUsageMask, ObjectType, ResultReason};
use hyok_kmip::message::{SignRequest, SignatureVerifyRequest};
use hyok_kmip::registry::tag;
use hyok_kmip::Item;
use openssl::pkey::{HasPublic, PKeyRef};

use crate::access::Operation;
use crate::kmip_ops::attributes::cryptographic_parameters;
use crate::kmip_ops::context::{required_uid, Context};
use crate::kmip_ops::error::KmipError;
use crate::kmip_ops::key_use::{self, Direction};
use crate::kmip_ops::signatures::{Input, Scheme};

/// The Data or Digested Data of a single-part `operation`.
fn input<'a>(
    operation: &str,
    multi_part: bool,
    data: Option<&'a [u8]>,
    digested: Option<&'a [u8]>,
) -> Result<Input<'a>, KmipError> {
    if multi_part {
        return Err(KmipError::not_supported(format!(
            "multi-part {operation} is not supported"
        )));
    }
    match (data, digested) {
        (Some(data), None) => Ok(Input::Data(data)),
        (None, Some(digest)) => Ok(Input::Digested(digest)),
        (Some(_), Some(_)) => Err(KmipError::invalid_field(format!(
            "{operation} takes Data or Digested Data, not both"
        ))),
        (None, None) => Err(KmipError::new(
            ResultReason::MissingData,
            format!("{operation} needs Data or Digested Data"),
        )),
    }
}

fn scheme<T: HasPublic>(
    key: &PKeyRef<T>,
    requested: Option<&Item>,
    object: &ObjectRecord,
) -> Result<Scheme, KmipError> {
    Scheme::choose(
        key.id(),
        cryptographic_parameters(requested, object).as_ref(),
    )
}

pub async fn sign(context: &Context<'_>, request: &SignRequest) -> Result<Vec<Item>, KmipError> {
    let uid = required_uid(&request.unique_identifier)?;
    let input = input(
        "Sign",
        request.correlation_value.is_some() || request.init_indicator.is_some(),
        request.data.as_deref(),
        request.digested_data.as_deref(),
    )?;
    let object = context.key_for_use(uid, Operation::Sign).await?;
    key_use::check(
        &object,
        &[ObjectType::PrivateKey],
        Operation::Sign,
        Direction::Protect,
        CryptographicUsageMask::Sign,
    )?;
    let stored = context.state.keys.material(uid).await?;
    let key = context.state.parsed_keys.private(uid, &stored)?;
    let signature =
        scheme(&key, request.cryptographic_parameters.as_ref(), &object)?.sign(&key, input)?;
    context.audit_key_use(Operation::Sign, uid).await;
    Ok(vec![
        Item::text(tag::UNIQUE_IDENTIFIER, uid),
        Item::bytes(tag::SIGNATURE_DATA, signature),
    ])
}

pub async fn signature_verify(
    context: &Context<'_>,
    request: &SignatureVerifyRequest,
) -> Result<Vec<Item>, KmipError> {
    let uid = required_uid(&request.unique_identifier)?;
    let input = input(
        "Signature Verify",
        request.correlation_value.is_some() || request.init_indicator.is_some(),
        request.data.as_deref(),
        request.digested_data.as_deref(),
    )?;
    let signature = request.signature_data.as_deref().ok_or_else(|| {
        KmipError::new(
            ResultReason::MissingData,
            "Signature Verify needs the Signature Data",
        )
    })?;
    let object = context.key_for_use(uid, Operation::SignatureVerify).await?;
    key_use::check(
        &object,
        &[ObjectType::PublicKey],
        Operation::SignatureVerify,
        Direction::Process,
        CryptographicUsageMask::Verify,
    )?;
    let stored = context.state.keys.material(uid).await?;
    let key = context.state.parsed_keys.public(uid, &stored)?;
    let valid = scheme(&key, request.cryptographic_parameters.as_ref(), &object)?
        .verify(&key, input, signature)?;
    context.audit_key_use(Operation::SignatureVerify, uid).await;
    Ok(key_use::verdict(uid, valid))
}

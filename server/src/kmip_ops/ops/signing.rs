//! Sign (with a private key) and Signature Verify (with a public key), on Data (in one
//! request or several) or Digested Data, in the schemes of [`crate::kmip_ops::signatures`]. Sign needs an
//! Active key whose usage mask allows Sign; Signature Verify also takes Deactivated and
//! Compromised keys and answers Valid or Invalid, never an error, for a signature that
//! does not verify.

use hyok_db::ObjectRecord;
use hyok_kmip::enums::{CryptographicUsageMask, ObjectType, ResultReason};
use hyok_kmip::message::{SignRequest, SignatureVerifyRequest};
use hyok_kmip::registry::tag;
use hyok_kmip::Item;
use openssl::pkey::{HasPublic, PKeyRef};

use zeroize::Zeroizing;

use super::parts::{continued, gathered, part, Gathered, Part};
use crate::access::Operation;
use crate::kmip_ops::attributes::cryptographic_parameters;
use crate::kmip_ops::context::{required_uid, Context};
use crate::kmip_ops::error::KmipError;
use crate::kmip_ops::key_use::{self, Direction};
use crate::kmip_ops::signatures::{Input, Scheme};
use crate::kmip_ops::usage_limits;

/// The Data of a request that signs or verifies, all its parts gathered (nothing when it
/// brings Digested Data, single-part only), or the Correlation Value of a kept part.
async fn gathered_data(
    context: &Context<'_>,
    uid: &str,
    operation: Operation,
    part: Part<'_>,
    data: Option<&[u8]>,
    digested: Option<&[u8]>,
) -> Result<Gathered, KmipError> {
    match (data, digested) {
        (Some(_), Some(_)) => Err(KmipError::invalid_field(format!(
            "{operation} takes Data or Digested Data, not both"
        ))),
        (None, Some(_)) if !matches!(part, Part::Single) => Err(KmipError::invalid_field(
            "Digested Data comes in one request, not in parts",
        )),
        (None, Some(_)) => Ok(Gathered::All(Zeroizing::new(Vec::new()))),
        (data, None) => gathered(context, &part, uid, operation, data).await,
    }
}

/// What is signed or verified: the Digested Data when given, else the Data.
fn input<'a>(digested: Option<&'a [u8]>, data: &'a [u8]) -> Input<'a> {
    match digested {
        Some(digest) => Input::Digested(digest),
        None => Input::Data(data),
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
    let part = part(
        request.init_indicator,
        request.final_indicator,
        request.correlation_value.as_deref(),
    )?;
    let (data, digested) = (request.data.as_deref(), request.digested_data.as_deref());
    let data = match gathered_data(context, uid, Operation::Sign, part, data, digested).await? {
        Gathered::All(data) => data,
        Gathered::Kept(correlation) => return Ok(continued(uid, correlation)),
    };
    let input = input(digested, &data);
    let object = context.key_for_use(uid, Operation::Sign).await?;
    key_use::check(
        &object,
        &[ObjectType::PrivateKey],
        Operation::Sign,
        Direction::Protect,
        CryptographicUsageMask::Sign,
    )?;
    let signed_bytes = digested.map_or(data.len(), <[u8]>::len);
    usage_limits::take(context, &object, signed_bytes).await?;
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
    let part = part(
        request.init_indicator,
        request.final_indicator,
        request.correlation_value.as_deref(),
    )?;
    let operation = Operation::SignatureVerify;
    let (data, digested) = (request.data.as_deref(), request.digested_data.as_deref());
    let data = match gathered_data(context, uid, operation, part, data, digested).await? {
        Gathered::All(data) => data,
        Gathered::Kept(correlation) => return Ok(continued(uid, correlation)),
    };
    let input = input(digested, &data);
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

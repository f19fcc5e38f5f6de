//! Encrypt and Decrypt with symmetric keys (the ciphers and modes of
//! [`crate::kmip_ops::symmetric`]). Encrypt needs an Active key; Decrypt also accepts
//! Deactivated and Compromised keys (to read old data); a blocked key does neither.

use hyok_db::ObjectRecord;
use hyok_kmip::enums;
use hyok_kmip::enums::ResultReason;
use hyok_kmip::message::{DecryptRequest, EncryptRequest};
use hyok_kmip::registry::tag;
use hyok_kmip::{Item, Value};

use crate::access::Operation;
use crate::kmip_ops::attributes::cryptographic_parameters;
use crate::kmip_ops::context::{required_uid, Context};
use crate::kmip_ops::error::KmipError;
use crate::kmip_ops::key_use::{self, single_part_data, Direction};
use crate::kmip_ops::stored::stored_algorithm;
use crate::kmip_ops::symmetric::Spec;

/// The cipher for `object`'s algorithm, as `requested` (or the key's own parameters) ask.
fn spec(requested: Option<&Item>, object: &ObjectRecord) -> Result<Spec, KmipError> {
    let algorithm =
        stored_algorithm(object.attributes()).unwrap_or(enums::CryptographicAlgorithm::AES);
    Spec::choose(
        algorithm,
        cryptographic_parameters(requested, object).as_ref(),
    )
}

/// The state and usage checks of a cryptographic operation.
fn usable(object: &ObjectRecord, operation: Operation) -> Result<(), KmipError> {
    let (direction, bit) = match operation {
        Operation::Encrypt => (Direction::Protect, enums::CryptographicUsageMask::Encrypt),
        _ => (Direction::Process, enums::CryptographicUsageMask::Decrypt),
    };
    key_use::check(object, operation, direction, bit)?;
    let stored = object.attributes();
    // Protect Stop Date ends encryption; Process Start Date starts decryption.
    let (date_tag, refused_when, what) = match operation {
        Operation::Encrypt => (
            tag::PROTECT_STOP_DATE,
            true,
            "its Protect Stop Date has passed",
        ),
        _ => (
            tag::PROCESS_START_DATE,
            false,
            "its Process Start Date has not come",
        ),
    };
    let now = hyok_db::now_millis().div_euclid(1000);
    let dated = crate::kmip_ops::attributes::kept(stored)
        .into_iter()
        .find_map(|item| match item.value {
            Value::DateTime(seconds) if item.tag == date_tag => Some(seconds),
            _ => None,
        });
    if dated.is_some_and(|seconds| (seconds <= now) == refused_when) {
        return Err(KmipError::new(
            ResultReason::WrongKeyLifecycleState,
            format!("{} may not {operation}: {what}", object.uid),
        ));
    }
    Ok(())
}

pub async fn encrypt(
    context: &Context<'_>,
    request: &EncryptRequest,
) -> Result<Vec<Item>, KmipError> {
    let uid = required_uid(&request.unique_identifier)?;
    let data = single_part_data(
        "Encrypt",
        request.correlation_value.is_some() || request.init_indicator.is_some(),
        request.data.as_deref(),
    )?;
    let object = context.key_for_use(uid, Operation::Encrypt).await?;
    usable(&object, Operation::Encrypt)?;
    let spec = spec(request.cryptographic_parameters.as_ref(), &object)?;
    let key = context.state.keys.material(uid).await?;
    let aad = request
        .authenticated_encryption_additional_data
        .as_deref()
        .unwrap_or_default();
    let sealed = spec.encrypt(&key, request.iv_counter_nonce.as_deref(), aad, data)?;
    let mut out = vec![
        Item::text(tag::UNIQUE_IDENTIFIER, uid),
        Item::bytes(tag::DATA, sealed.data),
    ];
    if let Some(iv) = sealed.generated_iv {
        out.push(Item::bytes(tag::IV_COUNTER_NONCE, iv));
    }
    if let Some(auth_tag) = sealed.tag {
        out.push(Item::bytes(tag::AUTHENTICATED_ENCRYPTION_TAG, auth_tag));
    }
    context.audit_key_use(Operation::Encrypt, uid).await;
    Ok(out)
}

pub async fn decrypt(
    context: &Context<'_>,
    request: &DecryptRequest,
) -> Result<Vec<Item>, KmipError> {
    let uid = required_uid(&request.unique_identifier)?;
    let data = single_part_data(
        "Decrypt",
        request.correlation_value.is_some() || request.init_indicator.is_some(),
        request.data.as_deref(),
    )?;
    let object = context.key_for_use(uid, Operation::Decrypt).await?;
    usable(&object, Operation::Decrypt)?;
    let spec = spec(request.cryptographic_parameters.as_ref(), &object)?;
    // (Invalid Message, as the OASIS test cases CS-BC-M-11 to 13 expect.)
    let iv = match request.iv_counter_nonce.as_deref() {
        Some(iv) => iv,
        None if spec.needs_iv() => {
            return Err(KmipError::new(
                ResultReason::InvalidMessage,
                "missing IV: Decrypt needs the IV/Counter/Nonce",
            ))
        }
        None => &[],
    };
    let key = context.state.keys.material(uid).await?;
    let aad = request
        .authenticated_encryption_additional_data
        .as_deref()
        .unwrap_or_default();
    let plaintext = spec.decrypt(
        &key,
        iv,
        aad,
        request.authenticated_encryption_tag.as_deref(),
        data,
    )?;
    context.audit_key_use(Operation::Decrypt, uid).await;
    Ok(vec![
        Item::text(tag::UNIQUE_IDENTIFIER, uid),
        Item::bytes(tag::DATA, plaintext.to_vec()),
    ])
}

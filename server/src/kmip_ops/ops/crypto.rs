//! Encrypt and Decrypt with symmetric keys (the ciphers and modes of
//! [`crate::kmip_ops::symmetric`]) and with RSA keys (a public key encrypts, a private
//! key decrypts: [`crate::kmip_ops::rsa_cipher`]). Encrypt needs an Active key; Decrypt
//! also accepts Deactivated and Compromised keys (to read old data); a blocked key does
//! neither.

use hyok_db::ObjectRecord;
use hyok_kmip::enums;
use hyok_kmip::enums::{ObjectType, ResultReason};
use hyok_kmip::message::{DecryptRequest, EncryptRequest};
use hyok_kmip::registry::tag;
use hyok_kmip::Item;

use crate::access::Operation;
use crate::keys::RecordKinds;
use crate::kmip_ops::attributes::cryptographic_parameters;
use crate::kmip_ops::context::{required_uid, Context};
use crate::kmip_ops::error::KmipError;
use crate::kmip_ops::key_use::{self, single_part_data, Direction};
use crate::kmip_ops::rsa_cipher::RsaCipher;
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

/// The state, usage and date checks of a cryptographic operation.
fn usable(object: &ObjectRecord, operation: Operation) -> Result<(), KmipError> {
    let (kinds, direction, bit) = match operation {
        Operation::Encrypt => (
            [ObjectType::SymmetricKey, ObjectType::PublicKey],
            Direction::Protect,
            enums::CryptographicUsageMask::Encrypt,
        ),
        _ => (
            [ObjectType::SymmetricKey, ObjectType::PrivateKey],
            Direction::Process,
            enums::CryptographicUsageMask::Decrypt,
        ),
    };
    key_use::check(object, &kinds, operation, direction, bit)
}

fn asymmetric(object: &ObjectRecord) -> bool {
    object.kmip_type() != Some(ObjectType::SymmetricKey)
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
    if asymmetric(&object) {
        let cipher = RsaCipher::choose(
            cryptographic_parameters(request.cryptographic_parameters.as_ref(), &object).as_ref(),
        )?;
        let stored = context.state.keys.material(uid).await?;
        let sealed = cipher.encrypt(&*context.state.parsed_keys.public(uid, &stored)?, data)?;
        context.audit_key_use(Operation::Encrypt, uid).await;
        return Ok(vec![
            Item::text(tag::UNIQUE_IDENTIFIER, uid),
            Item::bytes(tag::DATA, sealed),
        ]);
    }
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
    if asymmetric(&object) {
        let cipher = RsaCipher::choose(
            cryptographic_parameters(request.cryptographic_parameters.as_ref(), &object).as_ref(),
        )?;
        let stored = context.state.keys.material(uid).await?;
        let plaintext = cipher.decrypt(&*context.state.parsed_keys.private(uid, &stored)?, data)?;
        context.audit_key_use(Operation::Decrypt, uid).await;
        return Ok(vec![
            Item::text(tag::UNIQUE_IDENTIFIER, uid),
            Item::bytes(tag::DATA, plaintext.to_vec()),
        ]);
    }
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

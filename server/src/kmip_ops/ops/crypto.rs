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

use super::cipher_parts::{cipher_part, CipherPart};
use super::parts::{part, Part};
use crate::access::Operation;
use crate::keys::RecordKinds;
use crate::kmip_ops::attributes::cryptographic_parameters;
use crate::kmip_ops::context::{required_uid, Context};
use crate::kmip_ops::error::KmipError;
use crate::kmip_ops::key_use::{self, needed_data, Direction};
use crate::kmip_ops::rsa_cipher::RsaCipher;
use crate::kmip_ops::stored::stored_algorithm;
use crate::kmip_ops::symmetric::Spec;
use crate::kmip_ops::usage_limits;

/// The cipher for `object`'s algorithm, as `requested` (or the key's own parameters) ask.
pub(super) fn spec(requested: Option<&Item>, object: &ObjectRecord) -> Result<Spec, KmipError> {
    let algorithm =
        stored_algorithm(object.attributes()).unwrap_or(enums::CryptographicAlgorithm::AES);
    Spec::choose(
        algorithm,
        cryptographic_parameters(requested, object).as_ref(),
    )
}

/// The state, usage and date checks of a cryptographic operation.
pub(super) fn usable(object: &ObjectRecord, operation: Operation) -> Result<(), KmipError> {
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

pub(super) fn asymmetric(object: &ObjectRecord) -> bool {
    object.kmip_type() != Some(ObjectType::SymmetricKey)
}

pub async fn encrypt(
    context: &Context<'_>,
    request: &EncryptRequest,
) -> Result<Vec<Item>, KmipError> {
    let uid = required_uid(&request.unique_identifier)?;
    let part = part(
        request.init_indicator,
        request.final_indicator,
        request.correlation_value.as_deref(),
    )?;
    let aad = request
        .authenticated_encryption_additional_data
        .as_deref()
        .unwrap_or_default();
    if !matches!(part, Part::Single) {
        let given = CipherPart {
            parameters: request.cryptographic_parameters.as_ref(),
            iv: request.iv_counter_nonce.as_deref(),
            aad,
            tag: None,
        };
        let data = request.data.as_deref().unwrap_or_default();
        return cipher_part(context, uid, Operation::Encrypt, part, data, given).await;
    }
    let data = needed_data("Encrypt", request.data.as_deref())?;
    let object = context.key_for_use(uid, Operation::Encrypt).await?;
    usable(&object, Operation::Encrypt)?;
    usage_limits::take(context, &object, data.len()).await?;
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
    let part = part(
        request.init_indicator,
        request.final_indicator,
        request.correlation_value.as_deref(),
    )?;
    if !matches!(part, Part::Single) {
        let given = CipherPart {
            parameters: request.cryptographic_parameters.as_ref(),
            iv: request.iv_counter_nonce.as_deref(),
            aad: request
                .authenticated_encryption_additional_data
                .as_deref()
                .unwrap_or_default(),
            tag: request.authenticated_encryption_tag.as_deref(),
        };
        let data = request.data.as_deref().unwrap_or_default();
        return cipher_part(context, uid, Operation::Decrypt, part, data, given).await;
    }
    let data = needed_data("Decrypt", request.data.as_deref())?;
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

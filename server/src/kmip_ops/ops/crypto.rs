//! Encrypt and Decrypt with AES: GCM (12-byte IV, tag of 12 to 16 bytes, additional data)
//! and CBC (PKCS#5 padding, or none). IVs the client leaves out are drawn at random and
//! returned. Encrypt needs an Active key; Decrypt also accepts Deactivated and
//! Compromised keys (to read old data); a blocked key does neither.

use crate::keys::RecordKinds;
use hyok_db::ObjectRecord;
use hyok_kmip::enums;
use hyok_kmip::enums::ResultReason;
use hyok_kmip::enums::State;
use hyok_kmip::message::{DecryptRequest, EncryptRequest};
use hyok_kmip::registry::tag;
use hyok_kmip::{Item, Value};
use openssl::symm::{decrypt_aead, encrypt_aead, Cipher, Crypter, Mode as Direction};

use crate::access::Operation;
use crate::keys::BLOCKED;
use crate::kmip_ops::context::{required_uid, Context};
use crate::kmip_ops::error::KmipError;

enum Mode {
    Gcm { tag_length: usize },
    Cbc { padding: bool },
}

fn mode(parameters: Option<&Item>) -> Result<Mode, KmipError> {
    let enumeration = |wanted: u32| match parameters.and_then(|p| p.child(wanted)) {
        Some(Item {
            value: Value::Enumeration(v),
            ..
        }) => Some(*v),
        _ => None,
    };
    if let Some(algorithm) = enumeration(tag::CRYPTOGRAPHIC_ALGORITHM) {
        if algorithm != enums::CryptographicAlgorithm::AES.value() {
            return Err(KmipError::new(
                ResultReason::BadCryptographicParameters,
                "the key is an AES key",
            ));
        }
    }
    let block_mode = enumeration(tag::BLOCK_CIPHER_MODE).ok_or_else(|| {
        KmipError::new(
            ResultReason::MissingData,
            "give Cryptographic Parameters with a Block Cipher Mode (GCM or CBC)",
        )
    })?;
    if block_mode == enums::BlockCipherMode::GCM.value() {
        let tag_length = match parameters.and_then(|p| p.child(tag::TAG_LENGTH)) {
            None => 16,
            Some(Item {
                value: Value::Integer(n @ 12..=16),
                ..
            }) => *n as usize,
            // (General Failure, as the OASIS test case CS-BC-M-GCM-1 expects.)
            Some(_) => {
                return Err(KmipError::new(
                    ResultReason::GeneralFailure,
                    "invalid tag length: AES-GCM tags are 12 to 16 bytes",
                ))
            }
        };
        Ok(Mode::Gcm { tag_length })
    } else if block_mode == enums::BlockCipherMode::CBC.value() {
        let padding = match enumeration(tag::PADDING_METHOD) {
            None => true,
            Some(p) if p == enums::PaddingMethod::PKCS5.value() => true,
            Some(p) if p == enums::PaddingMethod::None.value() => false,
            Some(_) => {
                return Err(KmipError::new(
                    ResultReason::UnsupportedCryptographicParameters,
                    "CBC pads with PKCS5 or not at all",
                ))
            }
        };
        Ok(Mode::Cbc { padding })
    } else {
        Err(KmipError::new(
            ResultReason::UnsupportedCryptographicParameters,
            "hyok encrypts with AES in GCM or CBC mode",
        ))
    }
}

/// The request's Cryptographic Parameters, else the key's own attribute.
fn parameters(requested: Option<&Item>, object: &ObjectRecord) -> Option<Item> {
    requested.cloned().or_else(|| {
        crate::kmip_ops::attributes::kept(object.attributes())
            .into_iter()
            .find(|a| a.tag == tag::CRYPTOGRAPHIC_PARAMETERS)
    })
}

fn cipher(mode: &Mode, key_length: usize) -> Result<Cipher, KmipError> {
    Ok(match (mode, key_length) {
        (Mode::Gcm { .. }, 16) => Cipher::aes_128_gcm(),
        (Mode::Gcm { .. }, 24) => Cipher::aes_192_gcm(),
        (Mode::Gcm { .. }, 32) => Cipher::aes_256_gcm(),
        (Mode::Cbc { .. }, 16) => Cipher::aes_128_cbc(),
        (Mode::Cbc { .. }, 24) => Cipher::aes_192_cbc(),
        (Mode::Cbc { .. }, 32) => Cipher::aes_256_cbc(),
        _ => {
            return Err(KmipError::new(
                ResultReason::CryptographicFailure,
                "the key is not an AES key",
            ))
        }
    })
}

/// The state and usage checks of a cryptographic operation.
fn usable(object: &ObjectRecord, operation: Operation) -> Result<(), KmipError> {
    if object.kmip_type() != Some(enums::ObjectType::SymmetricKey) {
        return Err(KmipError::new(
            ResultReason::IllegalObjectType,
            format!(
                "{} is a {}: hyok encrypts and decrypts with symmetric keys",
                object.uid, object.object_type
            ),
        ));
    }
    let stored = object.attributes();
    if stored[BLOCKED].as_bool() == Some(true) {
        return Err(KmipError::new(
            ResultReason::WrongKeyLifecycleState,
            format!("{} is blocked by an administrator", object.uid),
        ));
    }
    let states: &[State] = match operation {
        Operation::Encrypt => &[State::Active],
        _ => &[State::Active, State::Deactivated, State::Compromised],
    };
    if !object
        .kmip_state()
        .is_some_and(|state| states.contains(&state))
    {
        return Err(KmipError::new(
            ResultReason::WrongKeyLifecycleState,
            format!(
                "{} is {}; {} needs it {}",
                object.uid,
                object.state,
                operation,
                states
                    .iter()
                    .map(|s| s.name())
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        ));
    }
    let bit = match operation {
        Operation::Encrypt => enums::CryptographicUsageMask::Encrypt,
        _ => enums::CryptographicUsageMask::Decrypt,
    };
    if let Some(mask) = stored["CryptographicUsageMask"].as_i64() {
        let wanted = i64::from(bit.value());
        if mask & wanted == 0 {
            return Err(KmipError::new(
                ResultReason::IncompatibleCryptographicUsageMask,
                format!("the usage mask of {} does not allow {bit}", object.uid),
            ));
        }
    }
    Ok(())
}

fn random(length: usize) -> Result<Vec<u8>, KmipError> {
    let mut bytes = vec![0u8; length];
    openssl::rand::rand_bytes(&mut bytes).map_err(|_| {
        KmipError::new(
            ResultReason::CryptographicFailure,
            "the random generator failed",
        )
    })?;
    Ok(bytes)
}

fn failure(what: &str) -> KmipError {
    KmipError::new(ResultReason::CryptographicFailure, what.to_string())
}

/// The Data of a single-part Encrypt or Decrypt (`operation`); `multi_part`: whether the
/// request carries a Correlation Value or an Init Indicator (not supported).
fn single_part_data<'a>(
    operation: &str,
    multi_part: bool,
    data: Option<&'a [u8]>,
) -> Result<&'a [u8], KmipError> {
    if multi_part {
        return Err(KmipError::not_supported(format!(
            "multi-part {operation} is not supported"
        )));
    }
    data.ok_or_else(|| KmipError::new(ResultReason::MissingData, format!("{operation} needs Data")))
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
    let mode = mode(parameters(request.cryptographic_parameters.as_ref(), &object).as_ref())?;
    let key = context.state.keys.material(uid).await?;
    let cipher = cipher(&mode, key.len())?;
    let generated = request.iv_counter_nonce.is_none();
    let iv = match &request.iv_counter_nonce {
        Some(iv) => iv.clone(),
        None => random(match mode {
            Mode::Gcm { .. } => 12,
            Mode::Cbc { .. } => 16,
        })?,
    };
    let mut out = vec![Item::text(tag::UNIQUE_IDENTIFIER, uid)];
    match mode {
        Mode::Gcm { tag_length } => {
            let aad = request
                .authenticated_encryption_additional_data
                .as_deref()
                .unwrap_or_default();
            let mut auth_tag = vec![0u8; tag_length];
            let ciphertext = encrypt_aead(cipher, &key, Some(&iv), aad, data, &mut auth_tag)
                .map_err(|_| failure("AES-GCM encryption failed (is the IV 12 bytes?)"))?;
            out.push(Item::bytes(tag::DATA, ciphertext));
            if generated {
                out.push(Item::bytes(tag::IV_COUNTER_NONCE, iv));
            }
            out.push(Item::bytes(tag::AUTHENTICATED_ENCRYPTION_TAG, auth_tag));
        }
        Mode::Cbc { padding } => {
            let ciphertext = cbc(cipher, Direction::Encrypt, &key, &iv, padding, data)?;
            out.push(Item::bytes(tag::DATA, ciphertext));
            if generated {
                out.push(Item::bytes(tag::IV_COUNTER_NONCE, iv));
            }
        }
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
    // (Invalid Message, as the OASIS test cases CS-BC-M-11 to 13 expect.)
    let iv = request.iv_counter_nonce.as_deref().ok_or_else(|| {
        KmipError::new(
            ResultReason::InvalidMessage,
            "missing IV: Decrypt needs the IV/Counter/Nonce",
        )
    })?;
    let object = context.key_for_use(uid, Operation::Decrypt).await?;
    usable(&object, Operation::Decrypt)?;
    let mode = mode(parameters(request.cryptographic_parameters.as_ref(), &object).as_ref())?;
    let key = context.state.keys.material(uid).await?;
    let cipher = cipher(&mode, key.len())?;
    let plaintext = match mode {
        Mode::Gcm { .. } => {
            let auth_tag = request
                .authenticated_encryption_tag
                .as_deref()
                .ok_or_else(|| {
                    KmipError::new(
                        ResultReason::MissingData,
                        "AES-GCM Decrypt needs the Authenticated Encryption Tag",
                    )
                })?;
            let aad = request
                .authenticated_encryption_additional_data
                .as_deref()
                .unwrap_or_default();
            decrypt_aead(cipher, &key, Some(iv), aad, data, auth_tag).map_err(|_| {
                failure(
                    "AES-GCM authentication failed: wrong key, IV, data, additional data or tag",
                )
            })?
        }
        Mode::Cbc { padding } => cbc(cipher, Direction::Decrypt, &key, iv, padding, data)?,
    };
    context.audit_key_use(Operation::Decrypt, uid).await;
    Ok(vec![
        Item::text(tag::UNIQUE_IDENTIFIER, uid),
        Item::bytes(tag::DATA, plaintext),
    ])
}

fn cbc(
    cipher: Cipher,
    direction: Direction,
    key: &[u8],
    iv: &[u8],
    padding: bool,
    data: &[u8],
) -> Result<Vec<u8>, KmipError> {
    if iv.len() != 16 {
        return Err(KmipError::new(
            ResultReason::BadCryptographicParameters,
            "AES-CBC needs a 16-byte IV",
        ));
    }
    let mut crypter = Crypter::new(cipher, direction, key, Some(iv))
        .map_err(|_| failure("AES-CBC setup failed"))?;
    crypter.pad(padding);
    let mut out = vec![0u8; data.len() + 16];
    let mut written = crypter
        .update(data, &mut out)
        .map_err(|_| failure("AES-CBC failed"))?;
    written += crypter.finalize(&mut out[written..]).map_err(|_| {
        failure(if padding {
            "AES-CBC failed: bad padding (wrong key or IV?)"
        } else {
            "AES-CBC without padding needs whole 16-byte blocks"
        })
    })?;
    out.truncate(written);
    Ok(out)
}

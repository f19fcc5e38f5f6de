//! Hash (SHA-1, SHA-2, SHA-3, MD5), MAC and MAC Verify with CMAC (an AES key) or HMAC (SHA-1, SHA-2, SHA-3:
//! the HMAC algorithm the Cryptographic Parameters name, else the key's own algorithm), and RNG Retrieve (at most
//! [`MAX_RANDOM_BYTES`] from OpenSSL's generator), single-part. MAC needs an Active key
//! whose usage mask allows MAC Generate; MAC Verify also takes Deactivated and
//! Compromised keys, compares in constant time and answers Valid or Invalid. RNG Seed
//! is accepted and not used (see [`rng_seed`]).

use hyok_db::ObjectRecord;
use hyok_kmip::enums::{
    CryptographicAlgorithm, CryptographicUsageMask, HashingAlgorithm, ObjectType, ResultReason,
};
use hyok_kmip::message::{
    HashRequest, MACRequest, MACVerifyRequest, RNGRetrieveRequest, RNGSeedRequest,
};
use hyok_kmip::registry::tag;
use hyok_kmip::{Item, Value};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, PKeyRef, Private};
use openssl::sign::Signer;

use super::parts::{continued, gathered, part, Gathered};
use crate::access::Operation;
use crate::kmip_ops::attributes::cryptographic_parameters;
use crate::kmip_ops::context::{required_uid, Context};
use crate::kmip_ops::error::KmipError;
use crate::kmip_ops::hashing::{digest_of, requested_hash};
use crate::kmip_ops::key_use::{self, single_part_data, Direction};
use crate::kmip_ops::stored::stored_algorithm;
use crate::kmip_ops::symmetric::random;
use crate::kmip_ops::usage_limits;
use crate::kmip_ops::MacKind;

/// The most bytes one RNG Retrieve returns.
pub const MAX_RANDOM_BYTES: i32 = 1 << 20;

/// The hash an HMAC key of `algorithm` uses.
fn hmac_digest(algorithm: CryptographicAlgorithm) -> Result<MessageDigest, KmipError> {
    use CryptographicAlgorithm as A;
    use HashingAlgorithm as H;
    digest_of(match algorithm {
        A::HMAC_MD5 => H::MD5,
        A::HMAC_SHA1 => H::SHA_1,
        A::HMAC_SHA224 => H::SHA_224,
        A::HMAC_SHA256 => H::SHA_256,
        A::HMAC_SHA384 => H::SHA_384,
        A::HMAC_SHA512 => H::SHA_512,
        A::HMAC_SHA3_224 => H::SHA3_224,
        A::HMAC_SHA3_256 => H::SHA3_256,
        A::HMAC_SHA3_384 => H::SHA3_384,
        A::HMAC_SHA3_512 => H::SHA3_512,
        other => {
            return Err(KmipError::new(
                ResultReason::CryptographicFailure,
                format!("hyok computes MACs with HMAC and AES (CMAC) keys, not with {other} keys"),
            ))
        }
    })
}

pub fn hash(request: &HashRequest) -> Result<Vec<Item>, KmipError> {
    let data = single_part_data(
        "Hash",
        request.correlation_value.is_some() || request.init_indicator.is_some(),
        request.data.as_deref(),
    )?;
    let algorithm = requested_hash(Some(&request.cryptographic_parameters)).ok_or_else(|| {
        KmipError::new(
            ResultReason::MissingData,
            "Hash needs Cryptographic Parameters with a Hashing Algorithm",
        )
    })?;
    let digest = openssl::hash::hash(digest_of(algorithm)?, data)
        .map_err(|_| KmipError::new(ResultReason::CryptographicFailure, "hashing failed"))?;
    Ok(vec![Item::bytes(tag::DATA, digest.to_vec())])
}

pub fn rng_retrieve(request: &RNGRetrieveRequest) -> Result<Vec<Item>, KmipError> {
    if !(1..=MAX_RANDOM_BYTES).contains(&request.data_length) {
        return Err(KmipError::new(
            ResultReason::InvalidField,
            format!(
                "Data Length {}: RNG Retrieve returns 1 to {MAX_RANDOM_BYTES} bytes",
                request.data_length
            ),
        ));
    }
    Ok(vec![Item::bytes(
        tag::DATA,
        random(request.data_length as usize)?,
    )])
}

/// RNG Seed: the seed is read (at most one message's worth) and not used. hyok's
/// generator is OpenSSL's DRBG, seeded and reseeded from the operating system; mixing in
/// what a client sends would add nothing a client could rely on, so the answer says so:
/// Data Length 0, the amount of seed the server accepted.
pub fn rng_seed(request: &RNGSeedRequest) -> Result<Vec<Item>, KmipError> {
    if request.data.is_empty() {
        return Err(KmipError::new(
            ResultReason::MissingData,
            "RNG Seed needs Data",
        ));
    }
    Ok(vec![Item::integer(tag::DATA_LENGTH, 0)])
}

/// The key's state, block and usage checks for `operation` (Mac or MacVerify); the MAC
/// algorithm: as the request's Cryptographic Parameters (else the key's own) name it, else
/// the key's algorithm.
fn usable(
    object: &ObjectRecord,
    operation: Operation,
    requested: Option<&Item>,
) -> Result<CryptographicAlgorithm, KmipError> {
    let (direction, bit) = match operation {
        Operation::Mac => (Direction::Protect, CryptographicUsageMask::MACGenerate),
        _ => (Direction::Process, CryptographicUsageMask::MACVerify),
    };
    key_use::check(
        object,
        &[ObjectType::SymmetricKey],
        operation,
        direction,
        bit,
    )?;
    let stored = object.attributes();
    let named = cryptographic_parameters(requested, object).and_then(|parameters| match parameters
        .child(tag::CRYPTOGRAPHIC_ALGORITHM)
        .map(|a| &a.value)
    {
        Some(Value::Enumeration(value)) => CryptographicAlgorithm::from_value(*value),
        _ => None,
    });
    named.or_else(|| stored_algorithm(stored)).ok_or_else(|| {
        KmipError::new(
            ResultReason::CryptographicFailure,
            format!("{} has no Cryptographic Algorithm", object.uid),
        )
    })
}

fn mac_failed(_: openssl::error::ErrorStack) -> KmipError {
    KmipError::new(
        ResultReason::CryptographicFailure,
        "the MAC computation failed",
    )
}

/// OpenSSL's CMAC (NIST SP 800-38B) key for the AES key `key`.
fn cmac_key(key: &[u8]) -> Result<PKey<Private>, KmipError> {
    let cipher = match key.len() {
        16 => openssl::symm::Cipher::aes_128_cbc(),
        24 => openssl::symm::Cipher::aes_192_cbc(),
        32 => openssl::symm::Cipher::aes_256_cbc(),
        other => {
            return Err(KmipError::new(
                ResultReason::CryptographicFailure,
                format!("CMAC-AES takes a 16, 24 or 32-byte key, not {other} bytes"),
            ))
        }
    };
    PKey::cmac(&cipher, key).map_err(mac_failed)
}

/// The MAC of `data` under `key`: CMAC for `algorithm` AES, else HMAC with the hash of
/// HMAC `algorithm`.
fn mac_with(
    algorithm: CryptographicAlgorithm,
    key: &PKeyRef<Private>,
    data: &[u8],
) -> Result<Vec<u8>, KmipError> {
    let mut signer = match algorithm {
        CryptographicAlgorithm::AES => Signer::new_without_digest(key),
        other => Signer::new(hmac_digest(other)?, key),
    }
    .map_err(mac_failed)?;
    signer.update(data).map_err(mac_failed)?;
    signer.sign_to_vec().map_err(mac_failed)
}

/// The MAC of `data` under the key `uid` (CMAC for an AES key, else HMAC), for
/// `operation` (checked and audited).
async fn mac_of(
    context: &Context<'_>,
    uid: &str,
    operation: Operation,
    parameters: Option<&Item>,
    data: &[u8],
) -> Result<Vec<u8>, KmipError> {
    let object = context.key_for_use(uid, operation).await?;
    let algorithm = usable(&object, operation, parameters)?;
    if operation == Operation::Mac {
        usage_limits::take(context, &object, data.len()).await?;
    }
    let material = context.state.keys.material(uid).await?;
    let keys = &context.state.parsed_keys;
    let key = match algorithm {
        CryptographicAlgorithm::AES => {
            keys.mac(MacKind::Cmac, uid, &material, || cmac_key(&material))?
        }
        _ => keys.mac(MacKind::Hmac, uid, &material, || {
            PKey::hmac(&material).map_err(mac_failed)
        })?,
    };
    let mac = mac_with(algorithm, &key, data)?;
    context.audit_key_use(operation, uid).await;
    Ok(mac)
}

pub async fn mac(context: &Context<'_>, request: &MACRequest) -> Result<Vec<Item>, KmipError> {
    let uid = required_uid(&request.unique_identifier)?;
    let part = part(
        request.init_indicator,
        request.final_indicator,
        request.correlation_value.as_deref(),
    )?;
    let data = match gathered(context, &part, uid, Operation::Mac, request.data.as_deref()).await? {
        Gathered::All(data) => data,
        Gathered::Kept(correlation) => return Ok(continued(uid, correlation)),
    };
    let parameters = request.cryptographic_parameters.as_ref();
    let mac = mac_of(context, uid, Operation::Mac, parameters, &data).await?;
    Ok(vec![
        Item::text(tag::UNIQUE_IDENTIFIER, uid),
        Item::bytes(tag::MAC_DATA, mac),
    ])
}

pub async fn mac_verify(
    context: &Context<'_>,
    request: &MACVerifyRequest,
) -> Result<Vec<Item>, KmipError> {
    let uid = required_uid(&request.unique_identifier)?;
    let part = part(
        request.init_indicator,
        request.final_indicator,
        request.correlation_value.as_deref(),
    )?;
    let operation = Operation::MacVerify;
    let data = match gathered(context, &part, uid, operation, request.data.as_deref()).await? {
        Gathered::All(data) => data,
        Gathered::Kept(correlation) => return Ok(continued(uid, correlation)),
    };
    let given = request.mac_data.as_deref().ok_or_else(|| {
        KmipError::new(ResultReason::MissingData, "MAC Verify needs the MAC Data")
    })?;
    let parameters = request.cryptographic_parameters.as_ref();
    let mac = mac_of(context, uid, operation, parameters, &data).await?;
    let valid = mac.len() == given.len() && openssl::memcmp::eq(&mac, given);
    Ok(key_use::verdict(uid, valid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmac_aes_128_gives_the_sp800_38b_example() {
        // NIST SP 800-38B, D.1 Example 2 (AES-128, one block).
        let key = hex("2b7e151628aed2a6abf7158809cf4f3c");
        let message = hex("6bc1bee22e409f96e93d7e117393172a");
        let aes = CryptographicAlgorithm::AES;
        assert_eq!(
            mac_with(aes, &cmac_key(&key).unwrap(), &message).unwrap(),
            hex("070a16b46b4d4144f79bdd9dd04a287c")
        );
        assert!(cmac_key(&key[..10]).is_err());
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }
}

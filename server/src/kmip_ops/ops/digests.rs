//! Hash (SHA-1, SHA-2, SHA-3, MD5), MAC and MAC Verify with HMAC (SHA-1, SHA-2, SHA-3:
//! the HMAC algorithm the Cryptographic Parameters name, else the key's own algorithm), and RNG Retrieve (at most
//! [`MAX_RANDOM_BYTES`] from OpenSSL's generator), single-part. MAC needs an Active key
//! whose usage mask allows MAC Generate; MAC Verify also takes Deactivated and
//! Compromised keys, compares in constant time and answers Valid or Invalid.

use hyok_db::ObjectRecord;
use hyok_kmip::enums::{
    CryptographicAlgorithm, CryptographicUsageMask, HashingAlgorithm, ResultReason,
    ValidityIndicator,
};
use hyok_kmip::message::{HashRequest, MACRequest, MACVerifyRequest, RNGRetrieveRequest};
use hyok_kmip::registry::tag;
use hyok_kmip::{Item, Value};
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;

use crate::access::Operation;
use crate::kmip_ops::attributes::cryptographic_parameters;
use crate::kmip_ops::context::{required_uid, Context};
use crate::kmip_ops::error::KmipError;
use crate::kmip_ops::key_use::{self, single_part_data, Direction};
use crate::kmip_ops::stored::stored_algorithm;
use crate::kmip_ops::symmetric::random;

/// The most bytes one RNG Retrieve returns.
pub const MAX_RANDOM_BYTES: i32 = 1 << 20;

fn digest_of(algorithm: HashingAlgorithm) -> Result<MessageDigest, KmipError> {
    use HashingAlgorithm as H;
    Ok(match algorithm {
        H::MD5 => MessageDigest::md5(),
        H::SHA_1 => MessageDigest::sha1(),
        H::SHA_224 => MessageDigest::sha224(),
        H::SHA_256 => MessageDigest::sha256(),
        H::SHA_384 => MessageDigest::sha384(),
        H::SHA_512 => MessageDigest::sha512(),
        H::SHA3_224 | H::SHA_3_224 => MessageDigest::sha3_224(),
        H::SHA3_256 | H::SHA_3_256 => MessageDigest::sha3_256(),
        H::SHA3_384 | H::SHA_3_384 => MessageDigest::sha3_384(),
        H::SHA3_512 | H::SHA_3_512 => MessageDigest::sha3_512(),
        other => {
            return Err(KmipError::new(
                ResultReason::CryptographicFailure,
                format!("hyok does not compute {other}"),
            ))
        }
    })
}

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
                format!("hyok computes MACs with HMAC keys, not with {other} keys"),
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
    let algorithm = match request
        .cryptographic_parameters
        .child(tag::HASHING_ALGORITHM)
        .map(|a| &a.value)
    {
        Some(Value::Enumeration(value)) => HashingAlgorithm::from_value(*value),
        _ => None,
    }
    .ok_or_else(|| {
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
    key_use::check(object, operation, direction, bit)?;
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

/// The HMAC of `data` under the key `uid`, for `operation` (checked and audited).
async fn hmac(
    context: &Context<'_>,
    uid: &str,
    operation: Operation,
    parameters: Option<&Item>,
    data: &[u8],
) -> Result<Vec<u8>, KmipError> {
    let object = context.key_for_use(uid, operation).await?;
    let algorithm = usable(&object, operation, parameters)?;
    let digest = hmac_digest(algorithm)?;
    let key = context.state.keys.material(uid).await?;
    let failed = |_| KmipError::new(ResultReason::CryptographicFailure, "HMAC failed");
    let key = PKey::hmac(&key).map_err(failed)?;
    let mut signer = Signer::new(digest, &key).map_err(failed)?;
    signer.update(data).map_err(failed)?;
    let mac = signer.sign_to_vec().map_err(failed)?;
    context.audit_key_use(operation, uid).await;
    Ok(mac)
}

pub async fn mac(context: &Context<'_>, request: &MACRequest) -> Result<Vec<Item>, KmipError> {
    let uid = required_uid(&request.unique_identifier)?;
    let data = single_part_data(
        "MAC",
        request.correlation_value.is_some() || request.init_indicator.is_some(),
        request.data.as_deref(),
    )?;
    let parameters = request.cryptographic_parameters.as_ref();
    let mac = hmac(context, uid, Operation::Mac, parameters, data).await?;
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
    let data = single_part_data(
        "MAC Verify",
        request.correlation_value.is_some() || request.init_indicator.is_some(),
        request.data.as_deref(),
    )?;
    let given = request.mac_data.as_deref().ok_or_else(|| {
        KmipError::new(ResultReason::MissingData, "MAC Verify needs the MAC Data")
    })?;
    let parameters = request.cryptographic_parameters.as_ref();
    let mac = hmac(context, uid, Operation::MacVerify, parameters, data).await?;
    let valid = mac.len() == given.len() && openssl::memcmp::eq(&mac, given);
    let validity = if valid {
        ValidityIndicator::Valid
    } else {
        ValidityIndicator::Invalid
    };
    Ok(vec![
        Item::text(tag::UNIQUE_IDENTIFIER, uid),
        Item::enumeration(tag::VALIDITY_INDICATOR, validity.value()),
    ])
}

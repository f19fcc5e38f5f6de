//! The hash functions KMIP's Hashing Algorithm names that hyok computes (SHA-1, SHA-2,
//! SHA-3, MD5), as OpenSSL digests, and the one a request's parameters name.

use hyok_kmip::enums::{HashingAlgorithm, ResultReason};
use hyok_kmip::registry::tag;
use hyok_kmip::Item;
use openssl::hash::MessageDigest;

use crate::kmip_ops::error::KmipError;
use crate::kmip_ops::fields;

pub fn digest_of(algorithm: HashingAlgorithm) -> Result<MessageDigest, KmipError> {
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

/// The Hashing Algorithm of tag `field` (Hashing Algorithm, Mask Generator Hashing
/// Algorithm) in `parameters`, if there is one.
pub fn named_hash(parameters: Option<&Item>, field: u32) -> Option<HashingAlgorithm> {
    fields::enumeration(parameters, field).and_then(HashingAlgorithm::from_value)
}

/// The Hashing Algorithm `parameters` name, if any.
pub fn requested_hash(parameters: Option<&Item>) -> Option<HashingAlgorithm> {
    named_hash(parameters, tag::HASHING_ALGORITHM)
}

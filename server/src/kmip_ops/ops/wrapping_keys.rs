//! What wrapping a key on Get and unwrapping one on Register share: the wrapping key an
//! Encryption Key Information names, the Encoding Option, and the symmetric key-wrap
//! modes (NIST key wrap, RFC 3394, and key wrap with padding, RFC 5649).

use hyok_db::ObjectRecord;
use hyok_kmip::enums::{BlockCipherMode, CryptographicAlgorithm, EncodingOption, ResultReason};
use hyok_kmip::registry::tag;
use hyok_kmip::{Item, Value};

use crate::kmip_ops::error::KmipError;
use crate::kmip_ops::fields::enumeration;
use crate::kmip_ops::stored::stored_algorithm;
use crate::kmip_ops::symmetric::Spec;

/// The Unique Identifier of the wrapping key `information` names.
pub fn wrapping_key_uid(information: &Item) -> Result<&str, KmipError> {
    match information.child(tag::UNIQUE_IDENTIFIER).map(|u| &u.value) {
        Some(Value::TextString(uid)) => Ok(uid.as_str()),
        _ => Err(KmipError::invalid_field(
            "the Encryption Key Information needs the wrapping key's Unique Identifier",
        )),
    }
}

/// The Encoding Option of a Key Wrapping Specification or Key Wrapping Data (TTLV
/// Encoding unless it says otherwise).
pub fn encoding_option(wrapping: &Item) -> EncodingOption {
    enumeration(Some(wrapping), tag::ENCODING_OPTION)
        .and_then(EncodingOption::from_value)
        .unwrap_or(EncodingOption::TTLVEncoding)
}

/// The cipher of the symmetric wrapping key `kek` under `parameters`, which must name a
/// key-wrap mode; `verb` is "wraps" or "unwraps".
pub fn key_wrap_spec(
    kek: &ObjectRecord,
    parameters: Option<&Item>,
    verb: &str,
) -> Result<Spec, KmipError> {
    let algorithm = stored_algorithm(kek.attributes()).unwrap_or(CryptographicAlgorithm::AES);
    let mode = enumeration(parameters, tag::BLOCK_CIPHER_MODE);
    let key_wrap = [
        BlockCipherMode::NISTKeyWrap.value(),
        BlockCipherMode::AESKeyWrapPadding.value(),
    ];
    if !mode.is_some_and(|m| key_wrap.contains(&m)) {
        return Err(KmipError::new(
            ResultReason::BadCryptographicParameters,
            format!("a symmetric wrapping key {verb} with Block Cipher Mode NISTKeyWrap or AESKeyWrapPadding"),
        ));
    }
    Spec::choose(algorithm, parameters)
}

//! Register of wrapped key material: a Key Block with Key Wrapping Data is unwrapped with
//! the wrapping key it names when hyok holds that key, and the key is then registered
//! like one that came in the clear (wrapped at rest by the master key). Wrapping Method
//! Encrypt; a symmetric wrapping key with NIST key wrap (RFC 3394) or key wrap with
//! padding (RFC 5649), or an RSA private key with OAEP or PKCS#1 v1.5 — the reverse of
//! Get with a Key Wrapping Specification. The wrapping key must be Active, Deactivated or
//! Compromised, allow Unwrap Key in its usage mask (when it has one) and be granted
//! `decrypt` to the caller. A key wrapped under a key hyok does not hold is kept as it
//! came: Get returns it wrapped, and hyok computes nothing with it.

use hyok_kmip::enums::{
    CryptographicUsageMask, EncodingOption, ObjectType, ResultReason, WrappingMethod,
};
use hyok_kmip::registry::tag;
use hyok_kmip::{decode, Item, Limits, Value};

use crate::access::Operation;
use crate::keys::RecordKinds;
use crate::kmip_ops::attributes::cryptographic_parameters;
use crate::kmip_ops::context::Context;
use crate::kmip_ops::error::KmipError;
use crate::kmip_ops::fields::enumeration;
use crate::kmip_ops::key_use::{self, Direction};
use crate::kmip_ops::rsa_cipher::RsaCipher;

use super::wrapping_keys::{encoding_option, key_wrap_spec, wrapping_key_uid};

/// What became of a registered object whose Key Block carries Key Wrapping Data.
pub enum Arrival {
    /// Unwrapped with a wrapping key hyok holds: the object in the clear.
    Unwrapped(Item),
    /// Wrapped under a key hyok does not hold: kept as it came.
    KeptWrapped,
}

/// The Key Wrapping Data of `object`'s Key Block, if it has one.
pub fn wrapping_data(object: &Item) -> Option<&Item> {
    object
        .child(tag::KEY_BLOCK)
        .and_then(|block| block.child(tag::KEY_WRAPPING_DATA))
}

/// `object`, whose Key Block carries `wrapping` (its Key Wrapping Data), unwrapped.
pub async fn unwrap(
    context: &Context<'_>,
    object: &Item,
    wrapping: &Item,
) -> Result<Arrival, KmipError> {
    let method = enumeration(Some(wrapping), tag::WRAPPING_METHOD)
        .and_then(WrappingMethod::from_value)
        .ok_or_else(|| KmipError::invalid_field("the Key Wrapping Data needs a Wrapping Method"))?;
    if method != WrappingMethod::Encrypt
        || wrapping.child(tag::MAC_SIGNATURE_KEY_INFORMATION).is_some()
    {
        return Err(KmipError::new(
            ResultReason::KeyWrapTypeNotSupported,
            "hyok unwraps keys wrapped with Wrapping Method Encrypt only",
        ));
    }
    let information = wrapping
        .child(tag::ENCRYPTION_KEY_INFORMATION)
        .ok_or_else(|| {
            KmipError::invalid_field("the Key Wrapping Data needs the Encryption Key Information")
        })?;
    let kek_uid = wrapping_key_uid(information)?;
    let held = context
        .state
        .keys
        .object_for_use(kek_uid)
        .await
        .map_err(crate::access::AccessError::from)?
        .is_some();
    if !held {
        return Ok(Arrival::KeptWrapped);
    }
    let kek = context.key_for_use(kek_uid, Operation::Decrypt).await?;
    key_use::check(
        &kek,
        &[ObjectType::SymmetricKey, ObjectType::PrivateKey],
        Operation::Decrypt,
        Direction::Process,
        CryptographicUsageMask::UnwrapKey,
    )?;
    let parameters =
        cryptographic_parameters(information.child(tag::CRYPTOGRAPHIC_PARAMETERS), &kek);
    let encoding = encoding_option(wrapping);
    let sealed = wrapped_bytes(object, encoding)?;
    let material = context.state.keys.material(kek_uid).await?;
    let plaintext = if kek.kmip_type() == Some(ObjectType::PrivateKey) {
        let key = context.state.parsed_keys.private(kek_uid, &material)?;
        RsaCipher::choose(parameters.as_ref())?.decrypt(&*key, sealed)
    } else {
        key_wrap_spec(&kek, parameters.as_ref(), "unwraps")?.decrypt(
            &material,
            &[],
            &[],
            None,
            sealed,
        )
    }
    .map_err(|_| {
        KmipError::new(
            ResultReason::CryptographicFailure,
            format!("the Key Value does not unwrap under {kek_uid} with these parameters"),
        )
    })?;
    let key_value = match encoding {
        EncodingOption::TTLVEncoding => {
            let value = decode(&plaintext, &Limits::default()).map_err(|e| {
                KmipError::new(
                    ResultReason::EncodingOptionError,
                    format!("the unwrapped Key Value is not TTLV: {e}"),
                )
            })?;
            if value.tag != tag::KEY_VALUE {
                return Err(KmipError::new(
                    ResultReason::EncodingOptionError,
                    "the unwrapped TTLV is not a Key Value",
                ));
            }
            value
        }
        EncodingOption::NoEncoding => Item::structure(
            tag::KEY_VALUE,
            vec![Item::bytes(tag::KEY_MATERIAL, plaintext.to_vec())],
        ),
    };
    context.audit_key_use(Operation::Decrypt, kek_uid).await;
    Ok(Arrival::Unwrapped(in_the_clear(object, key_value)))
}

/// The wrapped bytes: the Key Value itself (a Byte String, as KMIP encodes a wrapped Key
/// Value), or with No Encoding the Key Material inside a Key Value structure, as some
/// clients send it.
fn wrapped_bytes(object: &Item, encoding: EncodingOption) -> Result<&[u8], KmipError> {
    let key_value = object
        .child(tag::KEY_BLOCK)
        .and_then(|block| block.child(tag::KEY_VALUE));
    let bytes = match key_value.map(|v| &v.value) {
        Some(Value::ByteString(bytes)) => Some(bytes),
        Some(Value::Structure(_)) if encoding == EncodingOption::NoEncoding => key_value
            .and_then(|v| v.child(tag::KEY_MATERIAL))
            .and_then(|m| match &m.value {
                Value::ByteString(bytes) => Some(bytes),
                _ => None,
            }),
        _ => None,
    };
    bytes.map(Vec::as_slice).ok_or_else(|| {
        KmipError::new(
            ResultReason::KeyValueNotPresent,
            "a wrapped Key Block needs its wrapped Key Value as bytes",
        )
    })
}

/// `object` with `key_value` in place of its wrapped Key Value and no Key Wrapping Data.
fn in_the_clear(object: &Item, key_value: Item) -> Item {
    let mut key_value = Some(key_value);
    let children = object
        .children()
        .unwrap_or_default()
        .iter()
        .map(|child| match (child.tag, &child.value) {
            (tag::KEY_BLOCK, Value::Structure(fields)) => Item::structure(
                tag::KEY_BLOCK,
                fields
                    .iter()
                    .filter(|f| f.tag != tag::KEY_WRAPPING_DATA)
                    .map(|f| match f.tag {
                        tag::KEY_VALUE => key_value.take().unwrap_or_else(|| f.clone()),
                        _ => f.clone(),
                    })
                    .collect(),
            ),
            _ => child.clone(),
        })
        .collect();
    Item::structure(object.tag, children)
}

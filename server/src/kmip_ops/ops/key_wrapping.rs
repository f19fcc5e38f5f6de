//! Get with a Key Wrapping Specification: the object's Key Value encrypted under a
//! wrapping key held in hyok, with Key Wrapping Data saying how. Wrapping Method Encrypt;
//! a symmetric wrapping key with NIST key wrap (RFC 3394) or key wrap with padding
//! (RFC 5649), or an RSA public key with OAEP or PKCS#1 v1.5. The wrapping key must be
//! Active, allow Wrap Key in its usage mask (when it has one) and be granted `encrypt`
//! to the caller. Encoding Option TTLV Encoding (the default) wraps the encoded Key Value
//! structure, No Encoding the Key Material bytes alone.

use hyok_kmip::enums::{
    CryptographicUsageMask, EncodingOption, ObjectType, ResultReason, WrappingMethod,
};
use hyok_kmip::registry::tag;
use hyok_kmip::{encode, Item, Value};
use zeroize::Zeroizing;

use crate::access::Operation;
use crate::keys::RecordKinds;
use crate::kmip_ops::attributes::cryptographic_parameters;
use crate::kmip_ops::context::Context;
use crate::kmip_ops::error::KmipError;
use crate::kmip_ops::fields::enumeration;
use crate::kmip_ops::key_use::{self, Direction};
use crate::kmip_ops::rsa_cipher::RsaCipher;

use super::wrapping_keys::{encoding_option, key_wrap_spec, wrapping_key_uid};

/// `object` (the Symmetric Key, Private Key, ... structure Get returns) with its Key Value
/// wrapped as `specification` asks.
pub async fn wrapped(
    context: &Context<'_>,
    object: Item,
    specification: &Item,
) -> Result<Item, KmipError> {
    let method = enumeration(Some(specification), tag::WRAPPING_METHOD)
        .and_then(WrappingMethod::from_value)
        .ok_or_else(|| {
            KmipError::invalid_field("the Key Wrapping Specification needs a Wrapping Method")
        })?;
    if method != WrappingMethod::Encrypt
        || specification
            .child(tag::MAC_SIGNATURE_KEY_INFORMATION)
            .is_some()
    {
        return Err(KmipError::not_supported(
            "hyok wraps keys with Wrapping Method Encrypt only",
        ));
    }
    if specification.child(tag::ATTRIBUTE_NAME).is_some() {
        return Err(KmipError::not_supported(
            "hyok does not wrap attributes with the key yet",
        ));
    }
    let information = specification
        .child(tag::ENCRYPTION_KEY_INFORMATION)
        .ok_or_else(|| KmipError::invalid_field("give the Encryption Key Information"))?;
    let kek_uid = wrapping_key_uid(information)?;
    let encoding = encoding_option(specification);
    let kek = context.key_for_use(kek_uid, Operation::Encrypt).await?;
    key_use::check(
        &kek,
        &[ObjectType::SymmetricKey, ObjectType::PublicKey],
        Operation::Encrypt,
        Direction::Protect,
        CryptographicUsageMask::WrapKey,
    )?;
    let parameters =
        cryptographic_parameters(information.child(tag::CRYPTOGRAPHIC_PARAMETERS), &kek);
    let Value::Structure(mut children) = object.value else {
        return Err(KmipError::invalid_field(
            "this object has no Key Block to wrap",
        ));
    };
    let block = children
        .iter_mut()
        .find(|c| c.tag == tag::KEY_BLOCK)
        .ok_or_else(|| KmipError::invalid_field("this object has no Key Block to wrap"))?;
    let Value::Structure(fields) = &mut block.value else {
        return Err(KmipError::invalid_field("the Key Block is not a structure"));
    };
    let key_value = fields
        .iter_mut()
        .find(|f| f.tag == tag::KEY_VALUE)
        .ok_or_else(|| KmipError::invalid_field("the Key Block has no Key Value"))?;
    let plaintext = Zeroizing::new(match encoding {
        EncodingOption::TTLVEncoding => encode(key_value)
            .map_err(|e| KmipError::new(ResultReason::GeneralFailure, e.to_string()))?,
        EncodingOption::NoEncoding => match key_value.child(tag::KEY_MATERIAL).map(|m| &m.value) {
            Some(Value::ByteString(bytes)) => bytes.clone(),
            _ => {
                return Err(KmipError::invalid_field(
                    "No Encoding wraps Key Material bytes; this key's are a structure",
                ))
            }
        },
    });
    let material = context.state.keys.material(kek_uid).await?;
    let sealed = if kek.kmip_type() == Some(ObjectType::PublicKey) {
        let key = context.state.parsed_keys.public(kek_uid, &material)?;
        RsaCipher::choose(parameters.as_ref())?.encrypt(&*key, &plaintext)?
    } else {
        let spec = key_wrap_spec(&kek, parameters.as_ref(), "wraps")?;
        spec.encrypt(&material, None, &[], &plaintext)?.data
    };
    *key_value = Item::bytes(tag::KEY_VALUE, sealed);
    let mut wrapping = vec![
        Item::enumeration(tag::WRAPPING_METHOD, method.value()),
        information.clone(),
    ];
    if encoding != EncodingOption::TTLVEncoding {
        wrapping.push(Item::enumeration(tag::ENCODING_OPTION, encoding.value()));
    }
    fields.push(Item::structure(tag::KEY_WRAPPING_DATA, wrapping));
    context.audit_key_use(Operation::Encrypt, kek_uid).await;
    Ok(Item::structure(object.tag, children))
}

//! Derive Key: a new Symmetric Key or Secret Data object from one Active symmetric key or
//! Secret Data object whose usage mask allows Derive Key (grant `derive-key`), by the
//! methods of [`crate::kmip_ops::derivation`] or Encrypt. The new object is stored like
//! any other (wrapped by the master key, owned by the caller); it links to its base
//! (Derivation Base Object Link) and the base to it (Derived Key Link, the newest).

use hyok_kmip::enums::{
    CryptographicAlgorithm, CryptographicUsageMask, DerivationMethod, HashingAlgorithm,
    KeyFormatType, ObjectType, ResultReason, SecretDataType,
};
use hyok_kmip::message::DeriveKeyRequest;
use hyok_kmip::registry::tag;
use hyok_kmip::{encode, Item, Value};
use serde_json::json;
use zeroize::Zeroizing;

use crate::access::Operation;
use crate::keys::{digest, NewManagedObject, NewSymmetricKey, OBJECT_ITEM};
use crate::kmip_ops::attributes;
use crate::kmip_ops::context::Context;
use crate::kmip_ops::derivation::{self, longer_than_output, Inputs};
use crate::kmip_ops::error::KmipError;
use crate::kmip_ops::fields;
use crate::kmip_ops::hashing::requested_hash;
use crate::kmip_ops::key_use::{self, Direction};
use crate::kmip_ops::stored::{stored_algorithm, stored_object};
use crate::kmip_ops::symmetric::Spec;

fn bytes_of(parameters: Option<&Item>, field: u32) -> &[u8] {
    fields::bytes(parameters, field).unwrap_or_default()
}

/// The key material of the base object: a symmetric key's own, or the Key Material in
/// the Key Block of an object kept whole (Secret Data).
fn base_material(
    uid: &str,
    stored: &serde_json::Value,
    material: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KmipError> {
    if stored[OBJECT_ITEM].as_bool() != Some(true) {
        return Ok(Zeroizing::new(material.to_vec()));
    }
    let object = stored_object(uid, material)?;
    match object
        .child(tag::KEY_BLOCK)
        .and_then(|b| b.child(tag::KEY_VALUE))
        .and_then(|v| v.child(tag::KEY_MATERIAL))
        .map(|m| &m.value)
    {
        Some(Value::ByteString(bytes)) => Ok(Zeroizing::new(bytes.clone())),
        _ => Err(KmipError::new(
            ResultReason::KeyValueNotPresent,
            format!("{uid} holds no key material as bytes to derive from"),
        )),
    }
}

pub async fn derive_key(
    context: &Context<'_>,
    request: &DeriveKeyRequest,
) -> Result<Vec<Item>, KmipError> {
    context.state.access.may_create(context.caller)?;
    let kind = ObjectType::from_value(request.object_type)
        .filter(|k| matches!(k, ObjectType::SymmetricKey | ObjectType::SecretData))
        .ok_or_else(|| {
            KmipError::new(
                ResultReason::InvalidObjectType,
                "Derive Key makes a Symmetric Key or Secret Data",
            )
        })?;
    let [base] = request.unique_identifier.as_slice() else {
        return Err(KmipError::invalid_field(
            "hyok derives from exactly one Unique Identifier",
        ));
    };
    let method = DerivationMethod::from_value(request.derivation_method)
        .ok_or_else(|| KmipError::invalid_field("unknown Derivation Method"))?;
    let requested = attributes::requested(request.attributes.children().unwrap_or_default())?;
    let bits = requested
        .length
        .filter(|b| *b > 0 && b % 8 == 0)
        .ok_or_else(|| {
            KmipError::invalid_field(
                "give the Cryptographic Length of the new object (a whole number of bytes)",
            )
        })?;
    let length = bits as usize / 8;
    let algorithm = requested
        .algorithm
        .and_then(CryptographicAlgorithm::from_value);
    if kind == ObjectType::SymmetricKey && algorithm.is_none() {
        return Err(KmipError::invalid_field(
            "give the Cryptographic Algorithm of the new key",
        ));
    }

    let object = context.key_for_use(base, Operation::DeriveKey).await?;
    key_use::check(
        &object,
        &[ObjectType::SymmetricKey, ObjectType::SecretData],
        Operation::DeriveKey,
        Direction::Protect,
        CryptographicUsageMask::DeriveKey,
    )?;
    let material = context.state.keys.material(base).await?;
    let key = base_material(base, object.attributes(), &material)?;
    let parameters = Some(&request.derivation_parameters);
    let cryptographic = parameters.and_then(|p| p.child(tag::CRYPTOGRAPHIC_PARAMETERS));
    let data = bytes_of(parameters, tag::DERIVATION_DATA);
    let derived = if method == DerivationMethod::ENCRYPT {
        let base_algorithm =
            stored_algorithm(object.attributes()).unwrap_or(CryptographicAlgorithm::AES);
        let spec = Spec::choose(base_algorithm, cryptographic)?;
        let iv = match bytes_of(parameters, tag::INITIALIZATION_VECTOR) {
            [] => None,
            iv => Some(iv),
        };
        let sealed = spec.encrypt(&key, iv, &[], data)?;
        longer_than_output(length, sealed.data.len())?;
        Zeroizing::new(sealed.data[..length].to_vec())
    } else {
        let iterations = fields::integer(parameters, tag::ITERATION_COUNT);
        let inputs = Inputs {
            hash: requested_hash(cryptographic).unwrap_or(HashingAlgorithm::SHA_256),
            salt: bytes_of(parameters, tag::SALT),
            data,
            iterations,
        };
        derivation::derive(method, &key, &inputs, length)?
    };

    for name in &requested.names {
        context.ensure_name_free(name).await?;
    }
    let mut map = requested.stored;
    map.insert("Links".into(), json!({ "DerivationBaseObjectLink": base }));
    let uid = match (kind, algorithm) {
        (ObjectType::SymmetricKey, Some(algorithm)) => {
            let new = NewSymmetricKey {
                algorithm,
                owner: &context.caller.user,
                bits: bits as u32,
                names: &requested.names,
            };
            context
                .state
                .keys
                .register_symmetric(&new, derived, map)
                .await?
        }
        _ => store_secret_data(context, derived, bits, &requested.names, map).await?,
    };
    if let Some(at) = requested.activation_date {
        if at.saturating_mul(1000) <= hyok_db::now_millis() {
            context.state.keys.activate(&uid, &context.actor()).await?;
        }
    }
    let derived_uid = uid.clone();
    context
        .state
        .keys
        .change_attributes(base, &context.actor(), "derive-key", move |_, stored, _| {
            attributes::set_link(stored, "DerivedKeyLink", &derived_uid);
            Ok(())
        })
        .await?;
    context.audit_key_use(Operation::DeriveKey, base).await;
    Ok(vec![Item::text(tag::UNIQUE_IDENTIFIER, uid)])
}

/// Stores derived bytes as a Secret Data object (a Seed, in Opaque format).
async fn store_secret_data(
    context: &Context<'_>,
    derived: Zeroizing<Vec<u8>>,
    bits: i32,
    names: &[String],
    mut map: serde_json::Map<String, serde_json::Value>,
) -> Result<String, KmipError> {
    map.insert("CryptographicLength".into(), json!(bits));
    map.insert("KeyFormatType".into(), json!(KeyFormatType::Opaque.name()));
    map.insert("Digest".into(), json!(digest(&derived)));
    let object = Item::structure(
        tag::SECRET_DATA,
        vec![
            Item::enumeration(tag::SECRET_DATA_TYPE, SecretDataType::Seed.value()),
            Item::structure(
                tag::KEY_BLOCK,
                vec![
                    Item::enumeration(tag::KEY_FORMAT_TYPE, KeyFormatType::Opaque.value()),
                    Item::structure(
                        tag::KEY_VALUE,
                        vec![Item::bytes(tag::KEY_MATERIAL, derived.to_vec())],
                    ),
                ],
            ),
        ],
    );
    let encoded = Zeroizing::new(
        encode(&object).map_err(|e| KmipError::new(ResultReason::GeneralFailure, e.to_string()))?,
    );
    let new = NewManagedObject {
        uid: crate::keys::new_uid(),
        owner: &context.caller.user,
        object_type: ObjectType::SecretData.name(),
        names,
        attributes: map,
    };
    Ok(context
        .state
        .keys
        .store_object(new, encoded, &context.actor(), "derive-key")
        .await?)
}

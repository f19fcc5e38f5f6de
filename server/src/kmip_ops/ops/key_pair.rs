//! Create Key Pair: RSA (2048 to 8192 bits), EC (P-256, P-384, P-521) or EdDSA (Ed25519,
//! Ed448), generated with OpenSSL, stored as two objects linked both ways (Public Key
//! Link, Private Key Link), each wrapped by the master key. RSA keys are kept in PKCS#1,
//! other private keys in PKCS#8 and other public keys as X.509 SubjectPublicKeyInfo.
//! Re-key Key Pair replaces a pair with a new one of the same kind.

use hyok_kmip::enums::{
    CryptographicAlgorithm, KeyFormatType, ObjectType, RecommendedCurve, ResultReason, State,
};
use hyok_kmip::message::{CreateKeyPairRequest, ReKeyKeyPairRequest};
use hyok_kmip::registry::tag;
use hyok_kmip::{encode, Item, Value};
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use serde_json::json;
use zeroize::Zeroizing;

use crate::access::Operation;
use crate::keys::{digest, NewManagedObject, RecordKinds};
use crate::kmip_ops::attributes::{self, Requested};
use crate::kmip_ops::context::{required_uid, Context};
use crate::kmip_ops::error::KmipError;
use crate::kmip_ops::stored::stored_algorithm;

/// One half of the pair, ready to store.
struct Half {
    object_type: ObjectType,
    format: KeyFormatType,
    material: Zeroizing<Vec<u8>>,
}

fn generate(
    algorithm: CryptographicAlgorithm,
    bits: i32,
    curve: Option<RecommendedCurve>,
) -> Result<(PKey<Private>, i32, CryptographicAlgorithm), KmipError> {
    let failed = |_| {
        KmipError::new(
            ResultReason::CryptographicFailure,
            "key pair generation failed",
        )
    };
    match algorithm {
        CryptographicAlgorithm::RSA => {
            if !(2048..=8192).contains(&bits) || bits % 8 != 0 {
                return Err(KmipError::new(
                    ResultReason::InvalidAttributeValue,
                    format!("RSA keys are 2048 to 8192 bits (a multiple of 8), not {bits}"),
                ));
            }
            let rsa = Rsa::generate(bits as u32).map_err(failed)?;
            Ok((
                PKey::from_rsa(rsa).map_err(failed)?,
                bits,
                CryptographicAlgorithm::RSA,
            ))
        }
        CryptographicAlgorithm::EC
        | CryptographicAlgorithm::ECDSA
        | CryptographicAlgorithm::ECDH => {
            let (nid, bits) = match (curve, bits) {
                (Some(RecommendedCurve::P_256), _) | (None, 256) => (Nid::X9_62_PRIME256V1, 256),
                (Some(RecommendedCurve::P_384), _) | (None, 384) => (Nid::SECP384R1, 384),
                (Some(RecommendedCurve::P_521), _) | (None, 521) => (Nid::SECP521R1, 521),
                _ => {
                    return Err(KmipError::new(ResultReason::InvalidAttributeValue,
                        "EC keys are on P-256, P-384 or P-521 (Recommended Curve, or Cryptographic Length 256, 384 or 521)",
                    ))
                }
            };
            let group = EcGroup::from_curve_name(nid).map_err(failed)?;
            let key = EcKey::generate(&group).map_err(failed)?;
            Ok((
                PKey::from_ec_key(key).map_err(failed)?,
                bits,
                CryptographicAlgorithm::EC,
            ))
        }
        CryptographicAlgorithm::Ed25519 => Ok((
            PKey::generate_ed25519().map_err(failed)?,
            256,
            CryptographicAlgorithm::Ed25519,
        )),
        CryptographicAlgorithm::Ed448 => Ok((
            PKey::generate_ed448().map_err(failed)?,
            456,
            CryptographicAlgorithm::Ed448,
        )),
        other => Err(KmipError::not_supported(format!(
            "Create Key Pair makes RSA, EC, Ed25519 and Ed448 keys, not {other}"
        ))),
    }
}

fn halves(key: &PKey<Private>, kind: CryptographicAlgorithm) -> Result<(Half, Half), KmipError> {
    let failed = |_| {
        KmipError::new(
            ResultReason::CryptographicFailure,
            "key pair encoding failed",
        )
    };
    Ok(if kind == CryptographicAlgorithm::RSA {
        let rsa = key.rsa().map_err(failed)?;
        (
            Half {
                object_type: ObjectType::PrivateKey,
                format: KeyFormatType::PKCS_1,
                material: Zeroizing::new(rsa.private_key_to_der().map_err(failed)?),
            },
            Half {
                object_type: ObjectType::PublicKey,
                format: KeyFormatType::PKCS_1,
                material: Zeroizing::new(rsa.public_key_to_der_pkcs1().map_err(failed)?),
            },
        )
    } else {
        (
            Half {
                object_type: ObjectType::PrivateKey,
                format: KeyFormatType::PKCS_8,
                material: Zeroizing::new(key.private_key_to_pkcs8().map_err(failed)?),
            },
            Half {
                object_type: ObjectType::PublicKey,
                format: KeyFormatType::X_509,
                material: Zeroizing::new(key.public_key_to_der().map_err(failed)?),
            },
        )
    })
}

/// The common attributes, overridden by those of one half.
fn merged(common: Option<&Item>, own: Option<&Item>) -> Result<Requested, KmipError> {
    let mut all: Vec<Item> = common.and_then(Item::children).unwrap_or_default().to_vec();
    for attribute in own.and_then(Item::children).unwrap_or_default() {
        all.retain(|a| !attributes::same_attribute(a, attribute) || a.tag == tag::NAME);
        all.push(attribute.clone());
    }
    attributes::requested(&all)
}

fn enumeration_of(items: &[Option<&Item>], wanted: u32) -> Option<u32> {
    items.iter().flatten().find_map(|group| {
        group
            .children()?
            .iter()
            .find_map(|a| match (a.tag, &a.value) {
                (t, Value::Enumeration(v)) if t == wanted => Some(*v),
                _ => None,
            })
    })
}

fn curve_of(items: &[Option<&Item>]) -> Option<RecommendedCurve> {
    items.iter().flatten().find_map(|group| {
        let parameters = group.child(tag::CRYPTOGRAPHIC_DOMAIN_PARAMETERS)?;
        match parameters.child(tag::RECOMMENDED_CURVE)?.value {
            Value::Enumeration(curve) => RecommendedCurve::from_value(curve),
            _ => None,
        }
    })
}

pub async fn create_key_pair(
    context: &Context<'_>,
    request: &CreateKeyPairRequest,
) -> Result<Vec<Item>, KmipError> {
    context.state.access.may_create(context.caller)?;
    let groups = [
        request.common_attributes.as_ref(),
        request.private_key_attributes.as_ref(),
        request.public_key_attributes.as_ref(),
    ];
    let private = merged(groups[0], groups[1])?;
    let public = merged(groups[0], groups[2])?;
    let algorithm = enumeration_of(&groups, tag::CRYPTOGRAPHIC_ALGORITHM)
        .and_then(CryptographicAlgorithm::from_value)
        .ok_or_else(|| {
            KmipError::new(
                ResultReason::MissingData,
                "Create Key Pair needs a Cryptographic Algorithm",
            )
        })?;
    let bits = private.length.or(public.length).unwrap_or(0);
    let (key, bits, kind) = generate(algorithm, bits, curve_of(&groups))?;
    let (private_half, public_half) = halves(&key, kind)?;
    for name in private.names.iter().chain(&public.names) {
        context.ensure_name_free(name).await?;
    }
    let private_uid = crate::keys::new_uid();
    let public_uid = crate::keys::new_uid();
    let pair = NewPair {
        algorithm,
        bits,
        private: (&private_uid, private_half, private.stored, &private.names),
        public: (&public_uid, public_half, public.stored, &public.names),
    };
    store_pair(context, pair, "create-key-pair").await?;
    Ok(vec![
        Item::text(tag::PRIVATE_KEY_UNIQUE_IDENTIFIER, private_uid),
        Item::text(tag::PUBLIC_KEY_UNIQUE_IDENTIFIER, public_uid),
    ])
}

/// One half to store: its uid, material, attributes and names.
type NewHalf<'a> = (
    &'a String,
    Half,
    serde_json::Map<String, serde_json::Value>,
    &'a [String],
);

/// Both halves of a new pair.
struct NewPair<'a> {
    algorithm: CryptographicAlgorithm,
    bits: i32,
    private: NewHalf<'a>,
    public: NewHalf<'a>,
}

/// Stores both halves, each linked to the other (and keeping the Links already in its
/// attributes), wrapped by the master key.
async fn store_pair(
    context: &Context<'_>,
    pair: NewPair<'_>,
    operation: &str,
) -> Result<(), KmipError> {
    let (private_uid, public_uid) = (pair.private.0.clone(), pair.public.0.clone());
    let stored = [
        (pair.private, ("PublicKeyLink", public_uid)),
        (pair.public, ("PrivateKeyLink", private_uid)),
    ];
    for ((uid, half, mut map, names), (link_type, other)) in stored {
        map.insert(
            "CryptographicAlgorithm".into(),
            json!(pair.algorithm.name()),
        );
        map.insert("CryptographicLength".into(), json!(pair.bits));
        map.insert("KeyFormatType".into(), json!(half.format.name()));
        map.insert("Digest".into(), json!(digest(&half.material)));
        map.insert("RandomNumberGenerator".into(), json!("Unspecified"));
        let mut links = match map.remove("Links") {
            Some(serde_json::Value::Object(links)) => links,
            _ => serde_json::Map::new(),
        };
        links.insert(link_type.into(), json!(other));
        map.insert("Links".into(), serde_json::Value::Object(links));
        let object = Item::structure(
            names_tag(half.object_type),
            vec![key_block(
                half.format,
                &half.material,
                pair.algorithm,
                pair.bits,
            )],
        );
        let encoded = Zeroizing::new(
            encode(&object)
                .map_err(|e| KmipError::new(ResultReason::GeneralFailure, e.to_string()))?,
        );
        let new = NewManagedObject {
            uid: uid.clone(),
            owner: &context.caller.user,
            object_type: half.object_type.name(),
            names,
            attributes: map,
        };
        context
            .state
            .keys
            .store_object(new, encoded, &context.actor(), operation)
            .await?;
    }
    Ok(())
}

/// Attributes a replacement does not inherit from the object it replaces: its own dates,
/// state, digest and links are new.
const NOT_INHERITED: [&str; 9] = [
    "Links",
    "Digest",
    "Fresh",
    "ActivationDate",
    "DeactivationDate",
    "CompromiseDate",
    "DestroyDate",
    "RevocationReason",
    crate::keys::OBJECT_ITEM,
];

fn inherited(
    stored: &serde_json::Value,
    replaced: &str,
) -> serde_json::Map<String, serde_json::Value> {
    let mut map = stored.as_object().cloned().unwrap_or_default();
    for name in NOT_INHERITED {
        map.remove(name);
    }
    map.insert("Links".into(), json!({ "ReplacedObjectLink": replaced }));
    map
}

/// Re-key Key Pair: a new pair of the same algorithm and length, inheriting the old
/// halves' attributes (names stay with the old pair); each old half links to its
/// replacement (Replacement Object Link) and each new half to the old one (Replaced
/// Object Link). The new pair is Active when the old private key is. Grant `rekey`.
pub async fn rekey_key_pair(
    context: &Context<'_>,
    request: &ReKeyKeyPairRequest,
) -> Result<Vec<Item>, KmipError> {
    let old_private = required_uid(&request.private_key_unique_identifier)?;
    let given = [
        request.common_attributes.as_ref(),
        request.private_key_attributes.as_ref(),
        request.public_key_attributes.as_ref(),
    ];
    if request.offset.is_some()
        || given
            .iter()
            .flatten()
            .any(|a| !a.children().unwrap_or_default().is_empty())
    {
        return Err(KmipError::not_supported(
            "Re-key Key Pair takes no Offset or new attributes yet",
        ));
    }
    let private_object = context.object(old_private, Operation::Rekey).await?;
    if private_object.kmip_type() != Some(ObjectType::PrivateKey) {
        return Err(KmipError::new(
            ResultReason::IllegalObjectType,
            format!(
                "{old_private} is a {}, not a Private Key",
                private_object.object_type
            ),
        ));
    }
    let stored = private_object.attributes();
    let old_public = stored["Links"]["PublicKeyLink"]
        .as_str()
        .ok_or_else(|| {
            KmipError::new(
                ResultReason::InvalidField,
                format!("{old_private} has no Public Key Link to re-key with"),
            )
        })?
        .to_string();
    let public_object = context.object(&old_public, Operation::Rekey).await?;
    let algorithm = stored_algorithm(stored).ok_or_else(|| {
        KmipError::new(
            ResultReason::InvalidField,
            format!("{old_private} has no Cryptographic Algorithm"),
        )
    })?;
    let bits = stored["CryptographicLength"].as_i64().unwrap_or(0) as i32;
    let (key, bits, kind) = generate(algorithm, bits, None)?;
    let (private_half, public_half) = halves(&key, kind)?;
    let private_uid = crate::keys::new_uid();
    let public_uid = crate::keys::new_uid();
    let pair = NewPair {
        algorithm,
        bits,
        private: (
            &private_uid,
            private_half,
            inherited(stored, old_private),
            &[],
        ),
        public: (
            &public_uid,
            public_half,
            inherited(public_object.attributes(), &old_public),
            &[],
        ),
    };
    store_pair(context, pair, "rekey-key-pair").await?;
    for (old, new) in [
        (old_private, &private_uid),
        (old_public.as_str(), &public_uid),
    ] {
        let new = new.clone();
        context
            .state
            .keys
            .change_attributes(
                old,
                &context.actor(),
                "rekey-key-pair",
                move |_, stored, _| {
                    attributes::set_link(stored, "ReplacementObjectLink", &new);
                    Ok(())
                },
            )
            .await?;
    }
    if private_object.kmip_state() == Some(State::Active) {
        for uid in [&private_uid, &public_uid] {
            context.state.keys.activate(uid, &context.actor()).await?;
        }
    }
    Ok(vec![
        Item::text(tag::PRIVATE_KEY_UNIQUE_IDENTIFIER, private_uid),
        Item::text(tag::PUBLIC_KEY_UNIQUE_IDENTIFIER, public_uid),
    ])
}

fn names_tag(object_type: ObjectType) -> u32 {
    match object_type {
        ObjectType::PrivateKey => tag::PRIVATE_KEY,
        _ => tag::PUBLIC_KEY,
    }
}

/// A Key Block holding `material` in `format`.
pub fn key_block(
    format: KeyFormatType,
    material: &[u8],
    algorithm: CryptographicAlgorithm,
    bits: i32,
) -> Item {
    Item::structure(
        tag::KEY_BLOCK,
        vec![
            Item::enumeration(tag::KEY_FORMAT_TYPE, format.value()),
            Item::structure(
                tag::KEY_VALUE,
                vec![Item::bytes(tag::KEY_MATERIAL, material.to_vec())],
            ),
            Item::enumeration(tag::CRYPTOGRAPHIC_ALGORITHM, algorithm.value()),
            Item::integer(tag::CRYPTOGRAPHIC_LENGTH, bits),
        ],
    )
}

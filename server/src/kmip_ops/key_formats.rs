//! Keys written in the Key Format Type a client asks Get for: symmetric keys as Raw or
//! Transparent Symmetric Key; private keys as PKCS#1 (RSA), PKCS#8, ECPrivateKey (EC),
//! Transparent RSA/EC Private Key or Raw (Ed25519, Ed448); public keys as PKCS#1 (RSA),
//! X.509 SubjectPublicKeyInfo, Transparent RSA/EC Public Key or Raw (Ed25519, Ed448).
//! Any other pairing answers Key Format Type Not Supported.

use hyok_kmip::enums::{KeyFormatType, RecommendedCurve, ResultReason};
use hyok_kmip::registry::tag;
use hyok_kmip::Item;
use openssl::bn::{BigNumContext, BigNumRef};
use openssl::ec::{EcGroupRef, PointConversionForm};
use openssl::nid::Nid;
use openssl::pkey::{Id, PKeyRef, Private, Public};

use crate::kmip_ops::error::KmipError;

fn not_supported(format: KeyFormatType, what: &str) -> KmipError {
    KmipError::new(
        ResultReason::KeyFormatTypeNotSupported,
        format!("hyok does not return {what} in {format}"),
    )
}

fn failed(_: openssl::error::ErrorStack) -> KmipError {
    KmipError::new(
        ResultReason::CryptographicFailure,
        "the key could not be converted",
    )
}

/// A KMIP Big Integer: big-endian two's complement, padded to a multiple of 8 bytes.
fn big(field: u32, number: &BigNumRef) -> Item {
    let mut bytes = number.to_vec();
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        bytes.insert(0, 0);
    }
    let padding = (8 - bytes.len() % 8) % 8;
    let mut padded = vec![0u8; padding];
    padded.extend_from_slice(&bytes);
    Item::new(field, hyok_kmip::Value::BigInteger(padded))
}

fn material(children: Vec<Item>) -> Item {
    Item::structure(tag::KEY_MATERIAL, children)
}

fn curve(group: &EcGroupRef) -> Result<Item, KmipError> {
    let curve = match group.curve_name() {
        Some(Nid::X9_62_PRIME256V1) => RecommendedCurve::P_256,
        Some(Nid::SECP384R1) => RecommendedCurve::P_384,
        Some(Nid::SECP521R1) => RecommendedCurve::P_521,
        _ => {
            return Err(not_supported(
                KeyFormatType::TransparentECPrivateKey,
                "this curve",
            ))
        }
    };
    Ok(Item::enumeration(tag::RECOMMENDED_CURVE, curve.value()))
}

/// A symmetric key's Key Material in `format`.
pub fn symmetric(format: KeyFormatType, key: &[u8]) -> Result<Item, KmipError> {
    match format {
        KeyFormatType::Raw => Ok(Item::bytes(tag::KEY_MATERIAL, key.to_vec())),
        KeyFormatType::TransparentSymmetricKey => {
            Ok(material(vec![Item::bytes(tag::KEY, key.to_vec())]))
        }
        other => Err(not_supported(other, "symmetric keys")),
    }
}

/// A private key's Key Material in `format`.
pub fn private(format: KeyFormatType, key: &PKeyRef<Private>) -> Result<Item, KmipError> {
    let bytes = |der: Vec<u8>| Ok(Item::bytes(tag::KEY_MATERIAL, der));
    match (format, key.id()) {
        (KeyFormatType::PKCS_8, _) => bytes(key.private_key_to_pkcs8().map_err(failed)?),
        (KeyFormatType::PKCS_1, Id::RSA) => bytes(
            key.rsa()
                .and_then(|r| r.private_key_to_der())
                .map_err(failed)?,
        ),
        (KeyFormatType::ECPrivateKey, Id::EC) => bytes(
            key.ec_key()
                .and_then(|k| k.private_key_to_der())
                .map_err(failed)?,
        ),
        (KeyFormatType::Raw, Id::ED25519 | Id::ED448) => {
            bytes(key.raw_private_key().map_err(failed)?)
        }
        (KeyFormatType::TransparentRSAPrivateKey, Id::RSA) => {
            let rsa = key.rsa().map_err(failed)?;
            let (Some(p), Some(q), Some(dp), Some(dq), Some(qi)) =
                (rsa.p(), rsa.q(), rsa.dmp1(), rsa.dmq1(), rsa.iqmp())
            else {
                return Err(not_supported(format, "an RSA key without its primes"));
            };
            Ok(material(vec![
                big(tag::MODULUS, rsa.n()),
                big(tag::PRIVATE_EXPONENT, rsa.d()),
                big(tag::PUBLIC_EXPONENT, rsa.e()),
                big(tag::P, p),
                big(tag::Q, q),
                big(tag::PRIME_EXPONENT_P, dp),
                big(tag::PRIME_EXPONENT_Q, dq),
                big(tag::CRT_COEFFICIENT, qi),
            ]))
        }
        (KeyFormatType::TransparentECPrivateKey, Id::EC) => {
            let ec = key.ec_key().map_err(failed)?;
            Ok(material(vec![
                curve(ec.group())?,
                big(tag::D, ec.private_key()),
            ]))
        }
        (other, _) => Err(not_supported(other, "this private key")),
    }
}

/// A public key's Key Material in `format`.
pub fn public(format: KeyFormatType, key: &PKeyRef<Public>) -> Result<Item, KmipError> {
    let bytes = |der: Vec<u8>| Ok(Item::bytes(tag::KEY_MATERIAL, der));
    match (format, key.id()) {
        (KeyFormatType::X_509, _) => bytes(key.public_key_to_der().map_err(failed)?),
        (KeyFormatType::PKCS_1, Id::RSA) => bytes(
            key.rsa()
                .and_then(|r| r.public_key_to_der_pkcs1())
                .map_err(failed)?,
        ),
        (KeyFormatType::Raw, Id::ED25519 | Id::ED448) => {
            bytes(key.raw_public_key().map_err(failed)?)
        }
        (KeyFormatType::TransparentRSAPublicKey, Id::RSA) => {
            let rsa = key.rsa().map_err(failed)?;
            Ok(material(vec![
                big(tag::MODULUS, rsa.n()),
                big(tag::PUBLIC_EXPONENT, rsa.e()),
            ]))
        }
        (KeyFormatType::TransparentECPublicKey, Id::EC) => {
            let ec = key.ec_key().map_err(failed)?;
            let mut context = BigNumContext::new().map_err(failed)?;
            let q = ec
                .public_key()
                .to_bytes(ec.group(), PointConversionForm::UNCOMPRESSED, &mut context)
                .map_err(failed)?;
            Ok(material(vec![
                curve(ec.group())?,
                Item::bytes(tag::Q_STRING, q),
            ]))
        }
        (other, _) => Err(not_supported(other, "this public key")),
    }
}

#[cfg(test)]
mod tests {
    use openssl::ec::{EcGroup, EcKey};
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;

    use super::*;
    use crate::kmip_ops::asymmetric_keys::tests::with_material;
    use crate::kmip_ops::asymmetric_keys::{private_key, public_key};

    fn stored(object_tag: u32, format: KeyFormatType, material: Item) -> Vec<u8> {
        hyok_kmip::encode(&with_material(object_tag, format, material)).unwrap()
    }

    #[test]
    fn every_format_written_reads_back_as_the_same_key() {
        use KeyFormatType as F;
        let rsa = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let ec = PKey::from_ec_key(
            EcKey::generate(&EcGroup::from_curve_name(Nid::SECP521R1).unwrap()).unwrap(),
        )
        .unwrap();
        let ed = PKey::generate_ed448().unwrap();
        let cases: [(&PKey<Private>, &[F], &[F]); 3] = [
            (
                &rsa,
                &[F::PKCS_1, F::PKCS_8, F::TransparentRSAPrivateKey],
                &[F::PKCS_1, F::X_509, F::TransparentRSAPublicKey],
            ),
            (
                &ec,
                &[F::PKCS_8, F::ECPrivateKey, F::TransparentECPrivateKey],
                &[F::X_509, F::TransparentECPublicKey],
            ),
            (&ed, &[F::PKCS_8], &[F::X_509]),
        ];
        for (key, private_formats, public_formats) in cases {
            let spki = key.public_key_to_der().unwrap();
            for format in private_formats {
                let written = stored(tag::PRIVATE_KEY, *format, private(*format, key).unwrap());
                let read = private_key("k", &written).unwrap();
                assert_eq!(read.public_key_to_der().unwrap(), spki, "{format}");
            }
            let public_key_of = PKey::public_key_from_der(&spki).unwrap();
            for format in public_formats {
                let written = stored(
                    tag::PUBLIC_KEY,
                    *format,
                    public(*format, &public_key_of).unwrap(),
                );
                let read = public_key("k", &written).unwrap();
                assert_eq!(read.public_key_to_der().unwrap(), spki, "{format}");
            }
        }
        let refused = private(F::ECPrivateKey, &rsa).unwrap_err();
        assert_eq!(refused.reason, ResultReason::KeyFormatTypeNotSupported);
        assert_eq!(
            symmetric(F::TransparentSymmetricKey, &[7; 16])
                .unwrap()
                .child(tag::KEY),
            Some(&Item::bytes(tag::KEY, vec![7; 16]))
        );
    }
}

//! Digital signatures for KMIP Sign and Signature Verify, on OpenSSL: RSA with PKCS#1 v1.5
//! or PSS padding (MGF1, salt as the parameters say), ECDSA (DER signatures) and EdDSA
//! (Ed25519, Ed448), over Data (hashed here) or Digested Data (hashed by the client;
//! EdDSA signs the message itself and takes Data only).
//!
//! The scheme comes from the Digital Signature Algorithm when the parameters name one,
//! else from the Padding Method (PKCS#1 v1.5 unless PSS) and Hashing Algorithm (SHA-256
//! unless named). The Mask Generator Hashing Algorithm defaults to the Hashing Algorithm,
//! as the OASIS test cases and PyKMIP use it (the specification's table says SHA-1), and
//! the PSS salt to the length of the hash when signing; verifying takes any salt length
//! unless the parameters name one.

use hyok_kmip::enums::{DigitalSignatureAlgorithm, HashingAlgorithm, PaddingMethod, ResultReason};
use hyok_kmip::registry::tag;
use hyok_kmip::{Item, Value};
use openssl::hash::MessageDigest;
use openssl::md::{Md, MdRef};
use openssl::pkey::{HasPublic, Id, PKey, PKeyRef, Private, Public};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Signer, Verifier};

use crate::kmip_ops::error::KmipError;
use crate::kmip_ops::fields::enumeration;
use crate::kmip_ops::hashing::{digest_of, named_hash, requested_hash};

/// What is signed: the message, or its digest.
#[derive(Clone, Copy)]
pub enum Input<'a> {
    Data(&'a [u8]),
    Digested(&'a [u8]),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    RsaPkcs1,
    RsaPss,
    Ecdsa,
    EdDsa,
}

/// How to sign or verify with one key.
#[derive(Clone, Copy)]
pub struct Scheme {
    kind: Kind,
    digest: Option<MessageDigest>,
    mgf1: Option<MessageDigest>,
    salt: Option<i32>,
}

fn bad(message: impl Into<String>) -> KmipError {
    KmipError::new(ResultReason::BadCryptographicParameters, message)
}

fn failure(message: &str) -> KmipError {
    KmipError::new(ResultReason::CryptographicFailure, message)
}

/// The EVP form of a digest.
pub fn md_of(digest: MessageDigest) -> Result<&'static MdRef, KmipError> {
    Md::from_nid(digest.type_()).ok_or_else(|| failure("the hash has no EVP form"))
}

/// The padding and hash a Digital Signature Algorithm stands for.
fn named_scheme(
    algorithm: DigitalSignatureAlgorithm,
) -> Result<(Kind, HashingAlgorithm), KmipError> {
    use DigitalSignatureAlgorithm as D;
    use HashingAlgorithm as H;
    Ok(match algorithm {
        D::MD5WithRSAEncryption => (Kind::RsaPkcs1, H::MD5),
        D::SHA_1WithRSAEncryption => (Kind::RsaPkcs1, H::SHA_1),
        D::SHA_224WithRSAEncryption => (Kind::RsaPkcs1, H::SHA_224),
        D::SHA_256WithRSAEncryption => (Kind::RsaPkcs1, H::SHA_256),
        D::SHA_384WithRSAEncryption => (Kind::RsaPkcs1, H::SHA_384),
        D::SHA_512WithRSAEncryption => (Kind::RsaPkcs1, H::SHA_512),
        D::SHA3_256WithRSAEncryption => (Kind::RsaPkcs1, H::SHA3_256),
        D::SHA3_384WithRSAEncryption => (Kind::RsaPkcs1, H::SHA3_384),
        D::SHA3_512WithRSAEncryption => (Kind::RsaPkcs1, H::SHA3_512),
        D::RSASSA_PSS => (Kind::RsaPss, H::SHA_256),
        D::ECDSAWithSHA_1 => (Kind::Ecdsa, H::SHA_1),
        D::ECDSAWithSHA224 => (Kind::Ecdsa, H::SHA_224),
        D::ECDSAWithSHA256 => (Kind::Ecdsa, H::SHA_256),
        D::ECDSAWithSHA384 => (Kind::Ecdsa, H::SHA_384),
        D::ECDSAWithSHA512 => (Kind::Ecdsa, H::SHA_512),
        other => {
            return Err(KmipError::new(
                ResultReason::UnsupportedCryptographicParameters,
                format!("hyok does not sign with {other}"),
            ))
        }
    })
}

impl Scheme {
    /// The scheme for a key of type `key` as `parameters` (the request's, completed by the
    /// key's own) ask.
    pub fn choose(key: Id, parameters: Option<&Item>) -> Result<Scheme, KmipError> {
        let named = enumeration(parameters, tag::DIGITAL_SIGNATURE_ALGORITHM)
            .map(|value| {
                DigitalSignatureAlgorithm::from_value(value)
                    .ok_or_else(|| bad("unknown Digital Signature Algorithm"))
                    .and_then(named_scheme)
            })
            .transpose()?;
        let padding = enumeration(parameters, tag::PADDING_METHOD).map(PaddingMethod::from_value);
        let kind = match (key, named, padding) {
            (Id::ED25519 | Id::ED448, _, _) => Kind::EdDsa,
            (Id::EC, Some((Kind::Ecdsa, _)) | None, _) => Kind::Ecdsa,
            (Id::RSA, Some((kind @ (Kind::RsaPkcs1 | Kind::RsaPss), _)), _) => kind,
            (Id::RSA, None, Some(Some(PaddingMethod::PSS))) => Kind::RsaPss,
            (Id::RSA, None, None | Some(Some(PaddingMethod::PKCS1V1_5))) => Kind::RsaPkcs1,
            (Id::RSA, None, Some(other)) => {
                return Err(bad(format!(
                    "RSA signatures are padded with PKCS1V1_5 or PSS, not {}",
                    other.map_or("an unknown method", |p| p.name())
                )))
            }
            (_, Some(_), _) => {
                return Err(bad("the Digital Signature Algorithm does not fit the key"))
            }
            _ => {
                return Err(KmipError::new(
                    ResultReason::IllegalObjectType,
                    "hyok signs with RSA, EC and EdDSA keys",
                ))
            }
        };
        let hash = requested_hash(parameters).or(named.map(|(_, hash)| hash));
        let digest = match kind {
            Kind::EdDsa => None,
            _ => Some(digest_of(hash.unwrap_or(HashingAlgorithm::SHA_256))?),
        };
        let mgf1 = named_hash(parameters, tag::MASK_GENERATOR_HASHING_ALGORITHM)
            .map(digest_of)
            .transpose()?;
        let salt = match parameters
            .and_then(|p| p.child(tag::SALT_LENGTH))
            .map(|s| &s.value)
        {
            Some(Value::Integer(length)) if *length >= 0 => Some(*length),
            Some(_) => return Err(bad("the Salt Length is a length in bytes")),
            None => None,
        };
        Ok(Scheme {
            kind,
            digest,
            mgf1,
            salt,
        })
    }

    /// The digest to sign: Digested Data as given (its length checked), or Data hashed.
    fn digest_input(&self, input: Input<'_>) -> Result<Vec<u8>, KmipError> {
        let digest = self
            .digest
            .ok_or_else(|| bad("EdDSA signs the Data itself, not Digested Data"))?;
        match input {
            Input::Digested(bytes) if bytes.len() == digest.size() => Ok(bytes.to_vec()),
            Input::Digested(bytes) => Err(KmipError::invalid_field(format!(
                "the Digested Data is {} bytes; the hash gives {}",
                bytes.len(),
                digest.size()
            ))),
            Input::Data(data) => openssl::hash::hash(digest, data)
                .map(|d| d.to_vec())
                .map_err(|_| failure("hashing failed")),
        }
    }

    /// `signing`: whether the context signs (else it verifies).
    fn prepare<T>(&self, ctx: &mut PkeyCtx<T>, signing: bool) -> Result<(), KmipError> {
        let failed = |_| failure("the signature parameters were refused");
        if let Some(digest) = self.digest {
            ctx.set_signature_md(md_of(digest)?).map_err(failed)?;
        }
        match self.kind {
            Kind::RsaPkcs1 => ctx.set_rsa_padding(Padding::PKCS1).map_err(failed),
            Kind::RsaPss => {
                ctx.set_rsa_padding(Padding::PKCS1_PSS).map_err(failed)?;
                if let Some(mgf1) = self.mgf1.or(self.digest) {
                    ctx.set_rsa_mgf1_md(md_of(mgf1)?).map_err(failed)?;
                }
                let salt = match (self.salt, signing) {
                    (Some(length), _) => RsaPssSaltlen::custom(length),
                    (None, true) => RsaPssSaltlen::DIGEST_LENGTH,
                    // (When verifying, OpenSSL reads "maximum" as "any length".)
                    (None, false) => RsaPssSaltlen::MAXIMUM_LENGTH,
                };
                ctx.set_rsa_pss_saltlen(salt).map_err(failed)
            }
            Kind::Ecdsa | Kind::EdDsa => Ok(()),
        }
    }

    pub fn sign(&self, key: &PKey<Private>, input: Input<'_>) -> Result<Vec<u8>, KmipError> {
        let failed = |_| failure("signing failed");
        if self.kind == Kind::EdDsa {
            let Input::Data(data) = input else {
                return Err(bad("EdDSA signs the Data itself, not Digested Data"));
            };
            let mut signer = Signer::new_without_digest(key).map_err(failed)?;
            return signer.sign_oneshot_to_vec(data).map_err(failed);
        }
        let digest = self.digest_input(input)?;
        let mut ctx = PkeyCtx::new(key).map_err(failed)?;
        ctx.sign_init().map_err(failed)?;
        self.prepare(&mut ctx, true)?;
        let mut signature = Vec::new();
        ctx.sign_to_vec(&digest, &mut signature).map_err(failed)?;
        Ok(signature)
    }

    /// Whether `signature` is good; a malformed signature is simply not good.
    pub fn verify(
        &self,
        key: &PKey<Public>,
        input: Input<'_>,
        signature: &[u8],
    ) -> Result<bool, KmipError> {
        verify_with(self, key, input, signature)
    }
}

fn verify_with<T: HasPublic>(
    scheme: &Scheme,
    key: &PKeyRef<T>,
    input: Input<'_>,
    signature: &[u8],
) -> Result<bool, KmipError> {
    let failed = |_| failure("signature verification failed to run");
    if scheme.kind == Kind::EdDsa {
        let Input::Data(data) = input else {
            return Err(bad("EdDSA verifies the Data itself, not Digested Data"));
        };
        let mut verifier = Verifier::new_without_digest(key).map_err(failed)?;
        return Ok(verifier.verify_oneshot(signature, data).unwrap_or(false));
    }
    let digest = scheme.digest_input(input)?;
    let mut ctx = PkeyCtx::new(key).map_err(failed)?;
    ctx.verify_init().map_err(failed)?;
    scheme.prepare(&mut ctx, false)?;
    Ok(ctx.verify(&digest, signature).unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use openssl::ec::{EcGroup, EcKey};
    use openssl::nid::Nid;
    use openssl::rsa::Rsa;

    use super::*;

    fn parameters(fields: Vec<Item>) -> Item {
        Item::structure(tag::CRYPTOGRAPHIC_PARAMETERS, fields)
    }

    fn public_of(key: &PKey<Private>) -> PKey<Public> {
        PKey::public_key_from_der(&key.public_key_to_der().unwrap()).unwrap()
    }

    #[test]
    fn each_scheme_verifies_its_own_signature_and_refuses_a_changed_one() {
        let rsa = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let ec = PKey::from_ec_key(
            EcKey::generate(&EcGroup::from_curve_name(Nid::SECP384R1).unwrap()).unwrap(),
        )
        .unwrap();
        let ed = PKey::generate_ed25519().unwrap();
        let pss = parameters(vec![
            Item::enumeration(tag::PADDING_METHOD, PaddingMethod::PSS.value()),
            Item::enumeration(tag::HASHING_ALGORITHM, HashingAlgorithm::SHA_384.value()),
        ]);
        let ecdsa = parameters(vec![Item::enumeration(
            tag::DIGITAL_SIGNATURE_ALGORITHM,
            DigitalSignatureAlgorithm::ECDSAWithSHA384.value(),
        )]);
        let cases = [
            (&rsa, None),
            (&rsa, Some(&pss)),
            (&ec, Some(&ecdsa)),
            (&ed, None),
        ];
        for (key, parameters) in cases {
            let scheme = Scheme::choose(key.id(), parameters).unwrap();
            let signature = scheme.sign(key, Input::Data(b"message")).unwrap();
            let public = public_of(key);
            assert!(scheme
                .verify(&public, Input::Data(b"message"), &signature)
                .unwrap());
            assert!(!scheme
                .verify(&public, Input::Data(b"messagE"), &signature)
                .unwrap());
            let mut changed = signature.clone();
            changed[4] ^= 1;
            assert!(!scheme
                .verify(&public, Input::Data(b"message"), &changed)
                .unwrap());
        }
    }

    #[test]
    fn a_digest_signs_as_its_message_does() {
        let rsa = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let scheme = Scheme::choose(Id::RSA, None).unwrap();
        let digest = openssl::sha::sha256(b"message");
        let from_data = scheme.sign(&rsa, Input::Data(b"message")).unwrap();
        let from_digest = scheme.sign(&rsa, Input::Digested(&digest)).unwrap();
        assert_eq!(from_data, from_digest, "PKCS#1 v1.5 is deterministic");
        let short = scheme
            .sign(&rsa, Input::Digested(&digest[..20]))
            .unwrap_err();
        assert_eq!(short.reason, ResultReason::InvalidField);
    }
}

//! RSA encryption for KMIP Encrypt (with a public key) and Decrypt (with a private key),
//! on OpenSSL: OAEP (Hashing Algorithm SHA-1 unless named; MGF1 with the Mask Generator
//! Hashing Algorithm, else the Hashing Algorithm, as PyKMIP uses it; P Source as the
//! label) or PKCS#1 v1.5. The Padding Method defaults to OAEP.

use hyok_kmip::enums::{HashingAlgorithm, MaskGenerator, PaddingMethod, ResultReason};
use hyok_kmip::registry::tag;
use hyok_kmip::Item;
use openssl::md::MdRef;
use openssl::pkey::{HasPrivate, HasPublic, Id, PKeyRef};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Padding;
use zeroize::Zeroizing;

use crate::kmip_ops::error::KmipError;
use crate::kmip_ops::fields;
use crate::kmip_ops::hashing::{digest_of, named_hash, requested_hash};
use crate::kmip_ops::signatures::md_of;

/// How to encrypt or decrypt with one RSA key.
pub struct RsaCipher {
    oaep: Option<(&'static MdRef, &'static MdRef, Vec<u8>)>,
}

fn bad(message: impl Into<String>) -> KmipError {
    KmipError::new(ResultReason::BadCryptographicParameters, message)
}

fn failure(message: &str) -> KmipError {
    KmipError::new(ResultReason::CryptographicFailure, message)
}

impl RsaCipher {
    /// The padding `parameters` (the request's, completed by the key's own) ask for.
    pub fn choose(parameters: Option<&Item>) -> Result<RsaCipher, KmipError> {
        let enumeration = |field: u32| fields::enumeration(parameters, field);
        if enumeration(tag::MASK_GENERATOR).is_some_and(|m| m != MaskGenerator::MGF1.value()) {
            return Err(bad("OAEP masks with MGF1"));
        }
        match enumeration(tag::PADDING_METHOD).map(PaddingMethod::from_value) {
            None | Some(Some(PaddingMethod::OAEP)) => {
                let hash = requested_hash(parameters).unwrap_or(HashingAlgorithm::SHA_1);
                let mgf1 =
                    named_hash(parameters, tag::MASK_GENERATOR_HASHING_ALGORITHM).unwrap_or(hash);
                let label = fields::bytes(parameters, tag::P_SOURCE)
                    .unwrap_or_default()
                    .to_vec();
                Ok(RsaCipher {
                    oaep: Some((md_of(digest_of(hash)?)?, md_of(digest_of(mgf1)?)?, label)),
                })
            }
            Some(Some(PaddingMethod::PKCS1V1_5)) => Ok(RsaCipher { oaep: None }),
            Some(other) => Err(bad(format!(
                "RSA encryption pads with OAEP or PKCS1V1_5, not {}",
                other.map_or("an unknown method", |p| p.name())
            ))),
        }
    }

    fn prepare<T>(&self, ctx: &mut PkeyCtx<T>) -> Result<(), openssl::error::ErrorStack> {
        match &self.oaep {
            Some((hash, mgf1, label)) => {
                ctx.set_rsa_padding(Padding::PKCS1_OAEP)?;
                ctx.set_rsa_oaep_md(hash)?;
                ctx.set_rsa_mgf1_md(mgf1)?;
                if !label.is_empty() {
                    ctx.set_rsa_oaep_label(label)?;
                }
                Ok(())
            }
            None => ctx.set_rsa_padding(Padding::PKCS1),
        }
    }

    pub fn encrypt<T: HasPublic>(
        &self,
        key: &PKeyRef<T>,
        data: &[u8],
    ) -> Result<Vec<u8>, KmipError> {
        rsa_only(key.id())?;
        let mut ctx = PkeyCtx::new(key).map_err(|_| failure("RSA encryption failed"))?;
        ctx.encrypt_init()
            .and_then(|()| self.prepare(&mut ctx))
            .map_err(|_| failure("RSA encryption failed"))?;
        let mut out = Vec::new();
        ctx.encrypt_to_vec(data, &mut out).map_err(|_| {
            KmipError::invalid_field(
                "the Data is too long for this key and padding (RSA encrypts at most the modulus less the padding)",
            )
        })?;
        Ok(out)
    }

    pub fn decrypt<T: HasPrivate>(
        &self,
        key: &PKeyRef<T>,
        data: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KmipError> {
        rsa_only(key.id())?;
        let mut ctx = PkeyCtx::new(key).map_err(|_| failure("RSA decryption failed"))?;
        ctx.decrypt_init()
            .and_then(|()| self.prepare(&mut ctx))
            .map_err(|_| failure("RSA decryption failed"))?;
        let mut out = Zeroizing::new(Vec::new());
        ctx.decrypt_to_vec(data, &mut out)
            .map_err(|_| failure("RSA decryption failed: wrong key, padding or data"))?;
        Ok(out)
    }
}

fn rsa_only(id: Id) -> Result<(), KmipError> {
    if id == Id::RSA {
        Ok(())
    } else {
        Err(KmipError::new(
            ResultReason::IllegalObjectType,
            "hyok encrypts with asymmetric keys of RSA only",
        ))
    }
}

#[cfg(test)]
mod tests {
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;

    use super::*;

    #[test]
    fn each_padding_round_trips_and_oaep_hashes_must_match() {
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let oaep_256 = Item::structure(
            tag::CRYPTOGRAPHIC_PARAMETERS,
            vec![
                Item::enumeration(tag::PADDING_METHOD, PaddingMethod::OAEP.value()),
                Item::enumeration(tag::HASHING_ALGORITHM, HashingAlgorithm::SHA_256.value()),
                Item::enumeration(
                    tag::MASK_GENERATOR_HASHING_ALGORITHM,
                    HashingAlgorithm::SHA_256.value(),
                ),
            ],
        );
        let pkcs1 = Item::structure(
            tag::CRYPTOGRAPHIC_PARAMETERS,
            vec![Item::enumeration(
                tag::PADDING_METHOD,
                PaddingMethod::PKCS1V1_5.value(),
            )],
        );
        for parameters in [None, Some(&oaep_256), Some(&pkcs1)] {
            let cipher = RsaCipher::choose(parameters).unwrap();
            let sealed = cipher.encrypt(&key, b"secret").unwrap();
            assert_eq!(sealed.len(), 256);
            assert_eq!(cipher.decrypt(&key, &sealed).unwrap().as_slice(), b"secret");
        }
        let sealed = RsaCipher::choose(Some(&oaep_256))
            .unwrap()
            .encrypt(&key, b"secret")
            .unwrap();
        let wrong = RsaCipher::choose(None).unwrap().decrypt(&key, &sealed);
        assert_eq!(
            wrong.unwrap_err().reason,
            ResultReason::CryptographicFailure
        );
    }
}

//! The key derivation functions of KMIP Derive Key, on OpenSSL: PBKDF2 (HMAC with the
//! Hashing Algorithm, the Salt and Iteration Count), HMAC and HKDF (RFC 5869: HKDF with
//! the Salt, and the Derivation Data as info, as PyKMIP reads the HMAC method), Hash (the
//! base key's material followed by the Derivation Data, hashed), Encrypt (the Derivation
//! Data encrypted under the base key) and NIST SP 800-108 in counter mode (HMAC as the
//! PRF, a 32-bit big-endian counter before the Derivation Data as fixed input).
//!
//! SP 800-108 is built here from OpenSSL's HMAC: the `openssl` crate has no binding for
//! OpenSSL's KBKDF, and the construction is the loop below, checked against the NIST
//! CAVP vector in the tests.

use hyok_kmip::enums::{DerivationMethod, HashingAlgorithm, ResultReason};
use openssl::hash::MessageDigest;
use openssl::pkey::{Id, PKey};
use openssl::pkey_ctx::PkeyCtx;
use openssl::sign::Signer;
use zeroize::Zeroizing;

use crate::kmip_ops::error::KmipError;
use crate::kmip_ops::hashing::digest_of;
use crate::kmip_ops::signatures::md_of;

/// The most iterations a PBKDF2 derivation may ask for (bounding one request's work).
pub const MAX_ITERATIONS: i32 = 10_000_000;
/// The most bytes one derivation returns.
pub const MAX_OUTPUT_BYTES: usize = 1024;

/// What a hash-based derivation takes besides the base key.
pub struct Inputs<'a> {
    pub hash: HashingAlgorithm,
    pub salt: &'a [u8],
    pub data: &'a [u8],
    pub iterations: Option<i32>,
}

fn failure(what: &str) -> KmipError {
    KmipError::new(ResultReason::CryptographicFailure, format!("{what} failed"))
}

/// `length` bytes derived from `key` by `method` (any method but Encrypt).
pub fn derive(
    method: DerivationMethod,
    key: &[u8],
    inputs: &Inputs<'_>,
    length: usize,
) -> Result<Zeroizing<Vec<u8>>, KmipError> {
    if length == 0 || length > MAX_OUTPUT_BYTES {
        return Err(KmipError::invalid_field(format!(
            "a derived object is 1 to {MAX_OUTPUT_BYTES} bytes, not {length}"
        )));
    }
    let digest = digest_of(inputs.hash)?;
    let mut out = Zeroizing::new(vec![0u8; length]);
    match method {
        DerivationMethod::PBKDF2 => {
            let iterations = inputs
                .iterations
                .ok_or_else(|| KmipError::invalid_field("PBKDF2 needs an Iteration Count"))?;
            if !(1..=MAX_ITERATIONS).contains(&iterations) {
                return Err(KmipError::invalid_field(format!(
                    "the Iteration Count is 1 to {MAX_ITERATIONS}, not {iterations}"
                )));
            }
            openssl::pkcs5::pbkdf2_hmac(key, inputs.salt, iterations as usize, digest, &mut out)
                .map_err(|_| failure("PBKDF2"))?;
        }
        DerivationMethod::HMAC | DerivationMethod::HKDF => hkdf(digest, key, inputs, &mut out)?,
        DerivationMethod::HASH => {
            let mut hasher = openssl::hash::Hasher::new(digest).map_err(|_| failure("hashing"))?;
            hasher.update(key).map_err(|_| failure("hashing"))?;
            hasher.update(inputs.data).map_err(|_| failure("hashing"))?;
            let hashed = hasher.finish().map_err(|_| failure("hashing"))?;
            longer_than_output(length, hashed.len())?;
            out.copy_from_slice(&hashed[..length]);
        }
        DerivationMethod::NIST800_108_C => counter_mode(digest, key, inputs.data, &mut out)?,
        other => {
            return Err(KmipError::new(
                ResultReason::UnsupportedCryptographicParameters,
                format!("hyok does not derive with {other}"),
            ))
        }
    }
    Ok(out)
}

/// An error when `length` bytes are asked of a method that gives `output`.
pub fn longer_than_output(length: usize, output: usize) -> Result<(), KmipError> {
    if length > output {
        return Err(KmipError::invalid_field(format!(
            "the Cryptographic Length asks for {length} bytes; the derivation gives {output}"
        )));
    }
    Ok(())
}

fn hkdf(
    digest: MessageDigest,
    key: &[u8],
    inputs: &Inputs<'_>,
    out: &mut [u8],
) -> Result<(), KmipError> {
    let failed = |_| failure("HKDF");
    longer_than_output(out.len(), 255 * digest.size())?;
    let mut ctx = PkeyCtx::new_id(Id::HKDF).map_err(failed)?;
    ctx.derive_init().map_err(failed)?;
    ctx.set_hkdf_md(md_of(digest)?).map_err(failed)?;
    ctx.set_hkdf_key(key).map_err(failed)?;
    if !inputs.salt.is_empty() {
        ctx.set_hkdf_salt(inputs.salt).map_err(failed)?;
    }
    if !inputs.data.is_empty() {
        ctx.add_hkdf_info(inputs.data).map_err(failed)?;
    }
    ctx.derive(Some(out)).map_err(failed)?;
    Ok(())
}

/// SP 800-108 counter mode: K(i) = HMAC(key, [i]_32 || fixed), concatenated.
fn counter_mode(
    digest: MessageDigest,
    key: &[u8],
    fixed: &[u8],
    out: &mut [u8],
) -> Result<(), KmipError> {
    let failed = |_| failure("SP 800-108 derivation");
    let key = PKey::hmac(key).map_err(failed)?;
    for (counter, chunk) in (1u32..).zip(out.chunks_mut(digest.size())) {
        let mut signer = Signer::new(digest, &key).map_err(failed)?;
        signer.update(&counter.to_be_bytes()).map_err(failed)?;
        signer.update(fixed).map_err(failed)?;
        let block = Zeroizing::new(signer.sign_to_vec().map_err(failed)?);
        chunk.copy_from_slice(&block[..chunk.len()]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    fn inputs<'a>(hash: HashingAlgorithm, salt: &'a [u8], data: &'a [u8]) -> Inputs<'a> {
        Inputs {
            hash,
            salt,
            data,
            iterations: None,
        }
    }

    #[test]
    fn hkdf_gives_rfc_5869_test_case_1() {
        let key = hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
        let salt = hex("000102030405060708090a0b0c");
        let info = hex("f0f1f2f3f4f5f6f7f8f9");
        let okm = derive(
            DerivationMethod::HKDF,
            &key,
            &inputs(HashingAlgorithm::SHA_256, &salt, &info),
            42,
        )
        .unwrap();
        assert_eq!(
            okm.as_slice(),
            hex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865").as_slice()
        );
    }

    #[test]
    fn pbkdf2_gives_rfc_6070_test_case_2_and_bounds_its_work() {
        let mut asked = inputs(HashingAlgorithm::SHA_1, b"salt", b"");
        asked.iterations = Some(2);
        let key = derive(DerivationMethod::PBKDF2, b"password", &asked, 20).unwrap();
        assert_eq!(
            key.as_slice(),
            hex("ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957").as_slice()
        );
        asked.iterations = Some(MAX_ITERATIONS + 1);
        assert!(derive(DerivationMethod::PBKDF2, b"password", &asked, 20).is_err());
    }

    #[test]
    fn counter_mode_gives_the_nist_cavp_vector() {
        // NIST SP 800-108 CAVP, KDFCTR, PRF=HMAC_SHA256, CTRLOCATION=BEFORE_FIXED,
        // RLEN=32_BITS, COUNT=0.
        let key = hex("dd1d91b7d90b2bd3138533ce92b272fbf8a369316aefe242e659cc0ae238afe0");
        let fixed = hex("01322b96b30acd197979444e468e1c5c6859bf1b1cf951b7e725303e237e46b864a145fab25e517b08f8683d0315bb2911d80a0e8aba17f3b413faac");
        let derived = derive(
            DerivationMethod::NIST800_108_C,
            &key,
            &inputs(HashingAlgorithm::SHA_256, b"", &fixed),
            16,
        )
        .unwrap();
        assert_eq!(
            derived.as_slice(),
            hex("10621342bfb0fd40046c0e29f2cfdbf0").as_slice()
        );
    }

    #[test]
    fn a_hash_gives_no_more_than_its_length() {
        let asked = inputs(HashingAlgorithm::SHA_256, b"", b"data");
        let derived = derive(DerivationMethod::HASH, b"key", &asked, 32).unwrap();
        assert_eq!(
            derived.as_slice(),
            openssl::sha::sha256(b"keydata").as_slice()
        );
        assert!(derive(DerivationMethod::HASH, b"key", &asked, 33).is_err());
    }
}

//! Symmetric encryption for KMIP Encrypt and Decrypt, on OpenSSL: AES in ECB, CBC, CTR,
//! GCM, CCM, XTS and NIST key wrap (RFC 3394, and RFC 5649 with padding), Triple DES in
//! ECB and CBC, ChaCha20 and ChaCha20-Poly1305. ECB and CBC pad with PKCS#5 or not at all
//! (CBC pads unless told not to, ECB does not unless told to). An IV, counter or nonce the
//! client leaves out is drawn at random and returned (ECB and key wrap take none).

use hyok_kmip::enums::{BlockCipherMode, CryptographicAlgorithm, PaddingMethod, ResultReason};
use hyok_kmip::registry::tag;
use hyok_kmip::Item;
use openssl::cipher::{Cipher, CipherRef};
use openssl::cipher_ctx::{CipherCtx, CipherCtxFlags};
use zeroize::Zeroizing;

use crate::kmip_ops::error::KmipError;
use crate::kmip_ops::fields;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Ecb,
    Cbc,
    Ctr,
    Gcm,
    Ccm,
    Xts,
    KeyWrap,
    KeyWrapPadded,
    /// ChaCha20.
    Stream,
    /// ChaCha20-Poly1305.
    Aead,
}

/// How to encrypt or decrypt with one key.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    algorithm: CryptographicAlgorithm,
    mode: Mode,
    padding: bool,
    tag_length: usize,
    /// ChaCha20's Initial Counter Value.
    counter: u32,
}

/// What Encrypt returns.
#[derive(Debug)]
pub struct Sealed {
    pub data: Vec<u8>,
    /// The IV, counter or nonce the server drew (none when the client gave one).
    pub generated_iv: Option<Vec<u8>>,
    pub tag: Option<Vec<u8>>,
}

fn bad(message: impl Into<String>) -> KmipError {
    KmipError::new(ResultReason::BadCryptographicParameters, message)
}

fn unsupported(message: impl Into<String>) -> KmipError {
    KmipError::new(ResultReason::UnsupportedCryptographicParameters, message)
}

fn failure(message: impl Into<String>) -> KmipError {
    KmipError::new(ResultReason::CryptographicFailure, message)
}

impl Spec {
    /// The cipher for a key of `algorithm`, as `parameters` (the request's Cryptographic
    /// Parameters, else the key's own) ask.
    pub fn choose(
        algorithm: CryptographicAlgorithm,
        parameters: Option<&Item>,
    ) -> Result<Spec, KmipError> {
        let enumeration = |wanted: u32| fields::enumeration(parameters, wanted);
        let integer = |wanted: u32| fields::integer(parameters, wanted);
        if let Some(asked) = enumeration(tag::CRYPTOGRAPHIC_ALGORITHM) {
            if asked != algorithm.value() {
                return Err(bad(format!("the key is a {algorithm} key")));
            }
        }
        let block_mode = enumeration(tag::BLOCK_CIPHER_MODE).map(BlockCipherMode::from_value);
        let mode = match (algorithm, block_mode) {
            (CryptographicAlgorithm::ChaCha20, _) => Mode::Stream,
            (CryptographicAlgorithm::ChaCha20Poly1305, _) => Mode::Aead,
            (CryptographicAlgorithm::AES | CryptographicAlgorithm::DES3, None) => {
                return Err(KmipError::new(
                    ResultReason::MissingData,
                    "give Cryptographic Parameters with a Block Cipher Mode",
                ))
            }
            (CryptographicAlgorithm::AES, Some(Some(mode))) => match mode {
                BlockCipherMode::ECB => Mode::Ecb,
                BlockCipherMode::CBC => Mode::Cbc,
                BlockCipherMode::CTR => Mode::Ctr,
                BlockCipherMode::GCM => Mode::Gcm,
                BlockCipherMode::CCM => Mode::Ccm,
                BlockCipherMode::XTS => Mode::Xts,
                BlockCipherMode::NISTKeyWrap => Mode::KeyWrap,
                BlockCipherMode::AESKeyWrapPadding => Mode::KeyWrapPadded,
                other => {
                    return Err(unsupported(format!(
                        "hyok does not compute AES in {other} mode"
                    )))
                }
            },
            (CryptographicAlgorithm::DES3, Some(Some(mode))) => match mode {
                BlockCipherMode::ECB => Mode::Ecb,
                BlockCipherMode::CBC => Mode::Cbc,
                other => {
                    return Err(unsupported(format!(
                        "hyok computes Triple DES in ECB and CBC, not {other}"
                    )))
                }
            },
            (CryptographicAlgorithm::AES | CryptographicAlgorithm::DES3, Some(None)) => {
                return Err(unsupported("that Block Cipher Mode is not one KMIP names"))
            }
            (other, _) => {
                return Err(failure(format!(
                    "hyok stores {other} keys but does not encrypt with them"
                )))
            }
        };
        let padding = match enumeration(tag::PADDING_METHOD).map(PaddingMethod::from_value) {
            None => mode == Mode::Cbc,
            Some(Some(PaddingMethod::PKCS5)) if matches!(mode, Mode::Ecb | Mode::Cbc) => true,
            Some(Some(PaddingMethod::None)) => false,
            Some(_) if matches!(mode, Mode::Ecb | Mode::Cbc) => {
                return Err(unsupported("ECB and CBC pad with PKCS5 or not at all"))
            }
            Some(_) => false,
        };
        let tag_length = match (mode, integer(tag::TAG_LENGTH)) {
            (Mode::Gcm, None) | (Mode::Ccm, None) | (Mode::Aead, None) => 16,
            (Mode::Gcm | Mode::Aead, Some(n @ 12..=16)) => n as usize,
            (Mode::Ccm, Some(n @ 4..=16)) if n % 2 == 0 => n as usize,
            // (General Failure, as the OASIS test cases CS-BC-M-GCM-1 and
            // CS-BC-M-CHACHA20POLY1305-1 expect.)
            (Mode::Gcm | Mode::Ccm | Mode::Aead, Some(_)) => {
                return Err(KmipError::new(
                    ResultReason::GeneralFailure,
                    "invalid tag length for this mode (GCM and ChaCha20-Poly1305: 12 to 16 bytes, CCM: 4 to 16 even)",
                ))
            }
            _ => 0,
        };
        let counter = integer(tag::INITIAL_COUNTER_VALUE)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0);
        Ok(Spec {
            algorithm,
            mode,
            padding,
            tag_length,
            counter,
        })
    }

    /// The IV length drawn when the client gives none (0: the mode takes none).
    fn iv_to_draw(&self) -> usize {
        match (self.algorithm, self.mode) {
            (_, Mode::Ecb | Mode::KeyWrap | Mode::KeyWrapPadded) => 0,
            (CryptographicAlgorithm::DES3, _) => 8,
            (_, Mode::Gcm | Mode::Ccm | Mode::Stream | Mode::Aead) => 12,
            _ => 16,
        }
    }

    /// Whether Decrypt needs the IV from the client.
    pub fn needs_iv(&self) -> bool {
        self.iv_to_draw() > 0
    }

    fn cipher(&self, key: &[u8]) -> Result<&'static CipherRef, KmipError> {
        if self.mode == Mode::Xts && key[..key.len() / 2] == key[key.len() / 2..] {
            return Err(failure(
                "an AES-XTS key is two different AES keys; its halves are equal",
            ));
        }
        let wrong = || {
            failure(format!(
                "a {}-byte key does not fit {} in this mode",
                key.len(),
                self.algorithm
            ))
        };
        Ok(match (self.algorithm, self.mode, key.len()) {
            (CryptographicAlgorithm::AES, mode, length) => match (mode, length) {
                (Mode::Ecb, 16) => Cipher::aes_128_ecb(),
                (Mode::Ecb, 24) => Cipher::aes_192_ecb(),
                (Mode::Ecb, 32) => Cipher::aes_256_ecb(),
                (Mode::Cbc, 16) => Cipher::aes_128_cbc(),
                (Mode::Cbc, 24) => Cipher::aes_192_cbc(),
                (Mode::Cbc, 32) => Cipher::aes_256_cbc(),
                (Mode::Ctr, 16) => Cipher::aes_128_ctr(),
                (Mode::Ctr, 24) => Cipher::aes_192_ctr(),
                (Mode::Ctr, 32) => Cipher::aes_256_ctr(),
                (Mode::Gcm, 16) => Cipher::aes_128_gcm(),
                (Mode::Gcm, 24) => Cipher::aes_192_gcm(),
                (Mode::Gcm, 32) => Cipher::aes_256_gcm(),
                (Mode::Ccm, 16) => Cipher::aes_128_ccm(),
                (Mode::Ccm, 24) => Cipher::aes_192_ccm(),
                (Mode::Ccm, 32) => Cipher::aes_256_ccm(),
                (Mode::Xts, 32) => Cipher::aes_128_xts(),
                (Mode::Xts, 64) => Cipher::aes_256_xts(),
                (Mode::KeyWrap, 16) => Cipher::aes_128_wrap(),
                (Mode::KeyWrap, 24) => Cipher::aes_192_wrap(),
                (Mode::KeyWrap, 32) => Cipher::aes_256_wrap(),
                (Mode::KeyWrapPadded, 16) => Cipher::aes_128_wrap_pad(),
                (Mode::KeyWrapPadded, 24) => Cipher::aes_192_wrap_pad(),
                (Mode::KeyWrapPadded, 32) => Cipher::aes_256_wrap_pad(),
                _ => return Err(wrong()),
            },
            (CryptographicAlgorithm::DES3, Mode::Ecb, 16 | 24) => Cipher::des_ede3_ecb(),
            (CryptographicAlgorithm::DES3, Mode::Cbc, 16 | 24) => Cipher::des_ede3_cbc(),
            (CryptographicAlgorithm::ChaCha20, Mode::Stream, 32) => Cipher::chacha20(),
            (CryptographicAlgorithm::ChaCha20Poly1305, Mode::Aead, 32) => {
                Cipher::chacha20_poly1305()
            }
            _ => return Err(wrong()),
        })
    }

    /// The key as OpenSSL takes it (two-key Triple DES: K1 K2 K1).
    fn key_bytes(&self, key: &[u8]) -> Zeroizing<Vec<u8>> {
        let mut bytes = Zeroizing::new(key.to_vec());
        if self.algorithm == CryptographicAlgorithm::DES3 && key.len() == 16 {
            bytes.extend_from_slice(&key[..8]);
        }
        bytes
    }

    /// The IV as OpenSSL takes it (ChaCha20: counter then nonce, 16 bytes).
    fn iv_bytes(&self, iv: &[u8]) -> Result<Vec<u8>, KmipError> {
        let expected = |lengths: &[usize], what: &str| {
            if lengths.contains(&iv.len()) {
                Ok(iv.to_vec())
            } else {
                Err(bad(format!(
                    "{what} needs an IV/Counter/Nonce of {lengths:?} bytes, not {}",
                    iv.len()
                )))
            }
        };
        match (self.algorithm, self.mode) {
            (_, Mode::Stream) => {
                let counter = self.counter.to_le_bytes();
                match iv.len() {
                    // The original ChaCha20: a 64-bit counter and a 64-bit nonce.
                    8 => Ok([&counter[..], &[0; 4], iv].concat()),
                    12 => Ok([&counter[..], iv].concat()),
                    16 => Ok(iv.to_vec()),
                    n => Err(bad(format!(
                        "ChaCha20 takes an 8- or 12-byte nonce, not {n} bytes"
                    ))),
                }
            }
            (_, Mode::Aead) => expected(&[12], "ChaCha20-Poly1305"),
            (_, Mode::Gcm) => {
                if iv.is_empty() || iv.len() > 128 {
                    Err(bad("AES-GCM needs an IV of 1 to 128 bytes (12 is usual)"))
                } else {
                    Ok(iv.to_vec())
                }
            }
            (_, Mode::Ccm) => expected(&[7, 8, 9, 10, 11, 12, 13], "AES-CCM"),
            (CryptographicAlgorithm::DES3, Mode::Cbc) => expected(&[8], "Triple DES CBC"),
            (_, Mode::Cbc | Mode::Ctr | Mode::Xts) => expected(&[16], "this AES mode"),
            _ => Ok(Vec::new()),
        }
    }

    fn context(&self, cipher: &CipherRef, encrypting: bool) -> Result<CipherCtx, KmipError> {
        let setup = |_| failure("the cipher could not be set up");
        let mut ctx = CipherCtx::new().map_err(setup)?;
        if matches!(self.mode, Mode::KeyWrap | Mode::KeyWrapPadded) {
            ctx.set_flags(CipherCtxFlags::FLAG_WRAP_ALLOW);
        }
        if encrypting {
            ctx.encrypt_init(Some(cipher), None, None).map_err(setup)?;
        } else {
            ctx.decrypt_init(Some(cipher), None, None).map_err(setup)?;
        }
        Ok(ctx)
    }

    pub fn encrypt(
        &self,
        key: &[u8],
        iv: Option<&[u8]>,
        aad: &[u8],
        data: &[u8],
    ) -> Result<Sealed, KmipError> {
        let cipher = self.cipher(key)?;
        let draw = self.iv_to_draw();
        let generated_iv = match iv {
            None if draw > 0 => Some(random(draw)?),
            _ => None,
        };
        let iv = iv.or(generated_iv.as_deref()).unwrap_or_default();
        let openssl_iv = self.iv_bytes(iv)?;
        let failed = |_| failure(format!("{} encryption failed", self.algorithm));
        let mut ctx = self.context(cipher, true)?;
        self.set_lengths(&mut ctx, openssl_iv.len())?;
        let key = self.key_bytes(key);
        ctx.encrypt_init(
            None,
            Some(&key),
            (!openssl_iv.is_empty()).then_some(&openssl_iv[..]),
        )
        .map_err(failed)?;
        ctx.set_padding(self.padding);
        if self.mode == Mode::Ccm {
            ctx.set_data_len(data.len()).map_err(failed)?;
        }
        if self.authenticates() && !aad.is_empty() {
            ctx.cipher_update(aad, None).map_err(failed)?;
        }
        let mut out = Vec::new();
        ctx.cipher_update_vec(data, &mut out)
            .map_err(|_| self.data_problem(data))?;
        ctx.cipher_final_vec(&mut out)
            .map_err(|_| self.data_problem(data))?;
        let tag = if self.authenticates() {
            let mut tag = vec![0; self.tag_length];
            ctx.tag(&mut tag).map_err(failed)?;
            Some(tag)
        } else {
            None
        };
        Ok(Sealed {
            data: out,
            generated_iv,
            tag,
        })
    }

    pub fn decrypt(
        &self,
        key: &[u8],
        iv: &[u8],
        aad: &[u8],
        tag: Option<&[u8]>,
        data: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KmipError> {
        let cipher = self.cipher(key)?;
        let openssl_iv = self.iv_bytes(iv)?;
        let rejected = || {
            failure(format!(
                "{} decryption failed: wrong key, IV, data, additional data or tag",
                self.algorithm
            ))
        };
        let mut ctx = self.context(cipher, false)?;
        self.set_lengths(&mut ctx, openssl_iv.len())?;
        let tag = if self.authenticates() {
            Some(tag.ok_or_else(|| {
                KmipError::new(
                    ResultReason::MissingData,
                    "authenticated decryption needs the Authenticated Encryption Tag",
                )
            })?)
        } else {
            None
        };
        if let (Mode::Ccm, Some(tag)) = (self.mode, tag) {
            ctx.set_tag(tag).map_err(|_| rejected())?;
        }
        let key = self.key_bytes(key);
        ctx.decrypt_init(
            None,
            Some(&key),
            (!openssl_iv.is_empty()).then_some(&openssl_iv[..]),
        )
        .map_err(|_| rejected())?;
        ctx.set_padding(self.padding);
        if self.mode == Mode::Ccm {
            ctx.set_data_len(data.len()).map_err(|_| rejected())?;
        }
        if self.authenticates() && !aad.is_empty() {
            ctx.cipher_update(aad, None).map_err(|_| rejected())?;
        }
        let mut out = Zeroizing::new(Vec::new());
        ctx.cipher_update_vec(data, &mut out)
            .map_err(|_| rejected())?;
        if let (Mode::Gcm | Mode::Aead, Some(tag)) = (self.mode, tag) {
            ctx.set_tag(tag).map_err(|_| rejected())?;
        }
        if self.mode != Mode::Ccm {
            ctx.cipher_final_vec(&mut out).map_err(|_| rejected())?;
        }
        Ok(out)
    }

    /// Starts a multi-part encryption (`encrypting`) or decryption with `iv` (drawn when
    /// absent, for encryption) and the additional data `aad`. CCM, XTS and key wrap need
    /// all the data at once and refuse.
    pub fn start(
        &self,
        key: &[u8],
        iv: Option<&[u8]>,
        aad: &[u8],
        encrypting: bool,
    ) -> Result<(Streaming, Option<Vec<u8>>), KmipError> {
        if matches!(
            self.mode,
            Mode::Ccm | Mode::Xts | Mode::KeyWrap | Mode::KeyWrapPadded
        ) {
            return Err(KmipError::not_supported(format!(
                "{:?} mode takes all its data in one request, not in parts",
                self.mode
            )));
        }
        let cipher = self.cipher(key)?;
        let draw = self.iv_to_draw();
        let generated_iv = match iv {
            None if draw > 0 && encrypting => Some(random(draw)?),
            None if draw > 0 => {
                return Err(KmipError::new(
                    ResultReason::InvalidMessage,
                    "missing IV: Decrypt needs the IV/Counter/Nonce",
                ))
            }
            _ => None,
        };
        let openssl_iv = self.iv_bytes(iv.or(generated_iv.as_deref()).unwrap_or_default())?;
        let failed = |_| failure(format!("{} could not start", self.algorithm));
        let mut ctx = self.context(cipher, encrypting)?;
        self.set_lengths(&mut ctx, openssl_iv.len())?;
        let key = self.key_bytes(key);
        let iv = (!openssl_iv.is_empty()).then_some(&openssl_iv[..]);
        if encrypting {
            ctx.encrypt_init(None, Some(&key), iv).map_err(failed)?;
        } else {
            ctx.decrypt_init(None, Some(&key), iv).map_err(failed)?;
        }
        ctx.set_padding(self.padding);
        if self.authenticates() && !aad.is_empty() {
            ctx.cipher_update(aad, None).map_err(failed)?;
        }
        Ok((Streaming { ctx, spec: *self }, generated_iv))
    }

    fn authenticates(&self) -> bool {
        matches!(self.mode, Mode::Gcm | Mode::Ccm | Mode::Aead)
    }

    /// IV and tag lengths, before the key goes in.
    fn set_lengths(&self, ctx: &mut CipherCtx, iv_length: usize) -> Result<(), KmipError> {
        let failed = |_| bad("this IV or tag length does not fit the mode");
        if matches!(self.mode, Mode::Gcm | Mode::Ccm | Mode::Aead) {
            ctx.set_iv_length(iv_length).map_err(failed)?;
        }
        if self.mode == Mode::Ccm {
            ctx.set_tag_length(self.tag_length).map_err(failed)?;
        }
        Ok(())
    }

    /// Why `data` could not be processed, as the client can act on it.
    fn data_problem(&self, data: &[u8]) -> KmipError {
        let block = if self.algorithm == CryptographicAlgorithm::DES3 {
            8
        } else {
            16
        };
        match self.mode {
            Mode::Ecb | Mode::Cbc if !self.padding && !data.len().is_multiple_of(block) => failure(format!(
                "without padding the data must be whole {block}-byte blocks ({} bytes given)",
                data.len()
            )),
            Mode::KeyWrap if data.len() < 16 || !data.len().is_multiple_of(8) => failure(
                "NIST key wrap (RFC 3394) wraps 16 bytes or more in 8-byte blocks; use AESKeyWrapPadding for other lengths",
            ),
            Mode::Xts if data.len() < 16 => failure("AES-XTS needs at least 16 bytes of data"),
            _ => failure(format!("{} encryption failed", self.algorithm)),
        }
    }
}

pub fn random(length: usize) -> Result<Vec<u8>, KmipError> {
    let mut bytes = vec![0u8; length];
    openssl::rand::rand_bytes(&mut bytes).map_err(|_| failure("the random generator failed"))?;
    Ok(bytes)
}

/// An encryption or decryption under way across several requests.
pub struct Streaming {
    ctx: CipherCtx,
    spec: Spec,
}

impl Streaming {
    /// The output for the next part.
    pub fn update(&mut self, data: &[u8]) -> Result<Zeroizing<Vec<u8>>, KmipError> {
        let mut out = Zeroizing::new(Vec::new());
        self.ctx
            .cipher_update_vec(data, &mut out)
            .map_err(|_| failure(format!("{} failed on this part", self.spec.algorithm)))?;
        Ok(out)
    }

    /// Ends an encryption: the last output and, for an authenticated mode, the tag.
    pub fn finish_encrypt(mut self) -> Result<(Vec<u8>, Option<Vec<u8>>), KmipError> {
        let mut out = Vec::new();
        self.ctx
            .cipher_final_vec(&mut out)
            .map_err(|_| self.spec.data_problem(&[]))?;
        let tag = if self.spec.authenticates() {
            let mut tag = vec![0; self.spec.tag_length];
            self.ctx
                .tag(&mut tag)
                .map_err(|_| failure("the tag could not be computed"))?;
            Some(tag)
        } else {
            None
        };
        Ok((out, tag))
    }

    /// Ends a decryption, checking `tag` for an authenticated mode.
    pub fn finish_decrypt(mut self, tag: Option<&[u8]>) -> Result<Zeroizing<Vec<u8>>, KmipError> {
        let rejected = |_| {
            failure(format!(
                "{} decryption failed: wrong key, IV, data, additional data or tag",
                self.spec.algorithm
            ))
        };
        if self.spec.authenticates() {
            let tag = tag.ok_or_else(|| {
                KmipError::new(
                    ResultReason::MissingData,
                    "the last part of an authenticated decryption needs the Authenticated Encryption Tag",
                )
            })?;
            self.ctx.set_tag(tag).map_err(rejected)?;
        }
        let mut out = Zeroizing::new(Vec::new());
        self.ctx.cipher_final_vec(&mut out).map_err(rejected)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(
        algorithm: CryptographicAlgorithm,
        mode: Option<BlockCipherMode>,
        padding: Option<PaddingMethod>,
    ) -> Spec {
        let mut children = Vec::new();
        if let Some(mode) = mode {
            children.push(Item::enumeration(tag::BLOCK_CIPHER_MODE, mode.value()));
        }
        if let Some(padding) = padding {
            children.push(Item::enumeration(tag::PADDING_METHOD, padding.value()));
        }
        let parameters = Item::structure(tag::CRYPTOGRAPHIC_PARAMETERS, children);
        Spec::choose(algorithm, Some(&parameters)).unwrap()
    }

    fn hex(text: &str) -> Vec<u8> {
        hex::decode(text).unwrap()
    }

    #[test]
    fn known_answers() {
        use BlockCipherMode as M;
        use CryptographicAlgorithm as A;
        // FIPS 197 appendix C.1 (AES-128 ECB).
        let ecb = spec(A::AES, Some(M::ECB), None);
        let sealed = ecb
            .encrypt(
                &hex("000102030405060708090a0b0c0d0e0f"),
                None,
                &[],
                &hex("00112233445566778899aabbccddeeff"),
            )
            .unwrap();
        assert_eq!(sealed.data, hex("69c4e0d86a7b0430d8cdb78070b4c55a"));
        assert!(sealed.generated_iv.is_none(), "ECB takes no IV");
        // RFC 3394 section 4.1: 128 bits of key data wrapped with a 128-bit KEK.
        let wrap = spec(A::AES, Some(M::NISTKeyWrap), None);
        let kek = hex("000102030405060708090A0B0C0D0E0F");
        let wrapped = wrap
            .encrypt(&kek, None, &[], &hex("00112233445566778899AABBCCDDEEFF"))
            .unwrap();
        assert_eq!(
            wrapped.data,
            hex("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5")
        );
        assert_eq!(
            wrap.decrypt(&kek, &[], &[], None, &wrapped.data)
                .unwrap()
                .as_slice(),
            hex("00112233445566778899AABBCCDDEEFF")
        );
        // RFC 5649 section 6: 20 octets wrapped with a 192-bit KEK.
        let padded = spec(A::AES, Some(M::AESKeyWrapPadding), None);
        let kek = hex("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8");
        let wrapped = padded
            .encrypt(
                &kek,
                None,
                &[],
                &hex("c37b7e6492584340bed12207808941155068f738"),
            )
            .unwrap();
        assert_eq!(
            wrapped.data,
            hex("138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a")
        );
        // RFC 7539 section 2.4.2 (ChaCha20, counter 1).
        let mut chacha = spec(A::ChaCha20, None, None);
        chacha.counter = 1;
        let key = hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
        let sealed = chacha
            .encrypt(&key, Some(&hex("000000000000004a00000000")), &[], b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.")
            .unwrap();
        assert_eq!(
            &sealed.data[..16],
            &hex("6e2e359a2568f98041ba0728dd0d6981")[..]
        );
        // NIST SP 800-67 style: Triple DES round trip with a two-key key.
        let des3 = spec(A::DES3, Some(M::CBC), None);
        let key = hex("0123456789abcdef23456789abcdef01");
        let sealed = des3
            .encrypt(&key, None, &[], b"seven bytes and more")
            .unwrap();
        let iv = sealed.generated_iv.clone().unwrap();
        assert_eq!(iv.len(), 8);
        assert_eq!(
            des3.decrypt(&key, &iv, &[], None, &sealed.data)
                .unwrap()
                .as_slice(),
            b"seven bytes and more"
        );
    }

    #[test]
    fn authenticated_modes_round_trip_and_refuse_a_changed_tag() {
        use BlockCipherMode as M;
        use CryptographicAlgorithm as A;
        let key = [7u8; 32];
        for spec in [
            spec(A::AES, Some(M::GCM), None),
            spec(A::AES, Some(M::CCM), None),
            spec(A::ChaCha20Poly1305, None, None),
        ] {
            let sealed = spec.encrypt(&key, None, b"header", b"secret").unwrap();
            let iv = sealed.generated_iv.unwrap();
            let tag = sealed.tag.unwrap();
            assert_eq!(
                spec.decrypt(&key, &iv, b"header", Some(&tag), &sealed.data)
                    .unwrap()
                    .as_slice(),
                b"secret",
                "{spec:?}"
            );
            let mut changed = tag.clone();
            changed[0] ^= 1;
            let refused = spec.decrypt(&key, &iv, b"header", Some(&changed), &sealed.data);
            assert!(refused.is_err(), "{spec:?}");
        }
        let ctr = spec(A::AES, Some(M::CTR), None);
        let sealed = ctr.encrypt(&key[..16], None, &[], b"any length").unwrap();
        assert_eq!(sealed.data.len(), 10);
        let xts = spec(A::AES, Some(M::XTS), None);
        let two_keys: Vec<u8> = (0..64).collect();
        assert!(
            xts.encrypt(&[1; 64], None, &[], &[9; 40]).is_err(),
            "equal halves"
        );
        let sealed = xts.encrypt(&two_keys, None, &[], &[9; 40]).unwrap();
        let iv = sealed.generated_iv.unwrap();
        assert_eq!(
            xts.decrypt(&two_keys, &iv, &[], None, &sealed.data)
                .unwrap()
                .as_slice(),
            &[9; 40]
        );
    }

    #[test]
    fn what_cannot_be_computed_is_refused_with_a_reason() {
        let hmac = Spec::choose(CryptographicAlgorithm::HMAC_SHA256, None).unwrap_err();
        assert_eq!(hmac.reason, ResultReason::CryptographicFailure);
        let ofb = Item::structure(
            tag::CRYPTOGRAPHIC_PARAMETERS,
            vec![Item::enumeration(
                tag::BLOCK_CIPHER_MODE,
                BlockCipherMode::OFB.value(),
            )],
        );
        let ofb = Spec::choose(CryptographicAlgorithm::DES3, Some(&ofb)).unwrap_err();
        assert_eq!(ofb.reason, ResultReason::UnsupportedCryptographicParameters);
        let ecb = spec(
            CryptographicAlgorithm::AES,
            Some(BlockCipherMode::ECB),
            None,
        );
        let ragged = ecb.encrypt(&[0; 16], None, &[], &[0; 15]).unwrap_err();
        assert!(
            ragged.message.contains("whole 16-byte blocks"),
            "{}",
            ragged.message
        );
    }
}
